/**
 * Worker thread that runs a sentence-embedding model through @huggingface/transformers (transformers.js, on
 * onnxruntime-node). Models load from the local models directory; the hub is used only when allowed.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import type { FromWorker, ToWorker } from '../worker-protocol.js';
import type { TransformersSpec } from './spec.js';

const port = parentPort!;
const post = (message: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);
const { spec, modelsDir, allowRemote } = workerData.options as { spec: TransformersSpec; modelsDir: string; allowRemote: boolean };

try {
  const { pipeline, env } = await import('@huggingface/transformers');
  let modelId = spec.model;
  let root = modelsDir;
  if (isAbsolute(modelId)) {
    root = dirname(modelId);
    modelId = basename(modelId);
  }
  env.allowLocalModels = true;
  env.allowRemoteModels = allowRemote;
  env.localModelPath = root;
  env.cacheDir = root; // downloads, where allowed, land where local loading looks
  if (!allowRemote && !existsSync(join(root, modelId, 'config.json'))) {
    const weights = spec.dtype === 'q8' ? 'onnx/model_quantized.onnx' : spec.dtype === 'fp16' ? 'onnx/model_fp16.onnx' : 'onnx/model.onnx';
    throw new Error(
      `model "${spec.model}" is not in ${join(root, modelId)}: put config.json, tokenizer.json, tokenizer_config.json and ${weights} there (MEMBANK_MODELS_DIR), or set MEMBANK_ALLOW_REMOTE_MODELS=true where the Hugging Face hub is reachable.`,
    );
  }

  const devices = spec.device === 'auto' ? (['cuda', 'cpu'] as const) : ([spec.device] as const);
  let extractor;
  let device = '';
  let notice: string | undefined;
  for (const candidate of devices) {
    try {
      // Where CUDA's libraries are missing, onnxruntime also prints its own error line to stderr.
      extractor = await pipeline('feature-extraction', modelId, { device: candidate, dtype: spec.dtype });
      device = candidate;
      break;
    } catch (error) {
      const reason = String(error).split('\n')[0]!.slice(0, 300);
      if (candidate === devices[devices.length - 1]) throw new Error(`cannot run on ${candidate}: ${reason}`);
      notice = `transformers:${spec.model}: no usable GPU (${reason}); running on the CPU`;
    }
  }
  if (spec.maxLength !== undefined) {
    // The pipeline truncates at the tokenizer's model_max_length; shadow it, never beyond the model's own.
    const limit = Math.min(spec.maxLength, Number(extractor!.tokenizer.model_max_length) || Infinity);
    Object.defineProperty(extractor!.tokenizer, 'model_max_length', { value: limit });
  }

  const embed = async (texts: string[]): Promise<{ data: Float32Array<ArrayBuffer>; dimensions: number }> => {
    const output = await extractor!(texts, { pooling: spec.pooling, normalize: spec.normalize });
    return { data: new Float32Array(output.data as Float32Array), dimensions: output.dims[output.dims.length - 1]! };
  };
  const probe = await embed(['ready']);
  const weightsFile = join(root, modelId, 'onnx', spec.dtype === 'q8' ? 'model_quantized.onnx' : spec.dtype === 'fp16' ? 'model_fp16.onnx' : 'model.onnx');
  const revision = existsSync(weightsFile)
    ? `sha256:${createHash('sha256').update(readFileSync(weightsFile)).digest('hex').slice(0, 16)}`
    : `${spec.model}/${spec.dtype}`;
  post({ type: 'ready', dimensions: probe.dimensions, device, revision, ...(notice && { notice }) });

  port.on('message', (message: ToWorker) => {
    embed(message.texts).then(
      ({ data, dimensions }) => post({ type: 'vectors', id: message.id, data, dimensions }, [data.buffer]),
      (error: unknown) => post({ type: 'error', id: message.id, message: String(error) }),
    );
  });
} catch (error) {
  post({ type: 'fatal', message: error instanceof Error ? error.message : String(error) });
}
