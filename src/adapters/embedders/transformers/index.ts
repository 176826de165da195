/**
 * `transformers:<model>`: any ONNX sentence-embedding model through @huggingface/transformers, the maintained
 * successor of @xenova/transformers (which pins a CPU-only onnxruntime and a sharp that downloads at install).
 */
import { unwrap } from '../../../core/errors.js';
import type { Embedder } from '../../../ports/embedder.js';
import { createWorkerEmbedder } from '../worker-embedder.js';
import { parseTransformersSpec, type TransformersSpec } from './spec.js';

export { parseTransformersSpec, TRANSFORMERS_PREFIX, type TransformersSpec } from './spec.js';

export interface TransformersSettings {
  /** Folder of local models, one sub-folder per model id (MEMBANK_MODELS_DIR). */
  modelsDir: string;
  /** Whether models missing locally may be fetched from the Hugging Face hub (MEMBANK_ALLOW_REMOTE_MODELS). */
  allowRemote: boolean;
  defaultDevice?: TransformersSpec['device'];
  onNotice?: (message: string) => void;
}

export function createTransformersEmbedder(name: string, settings: TransformersSettings): Promise<Embedder> {
  const spec = unwrap(parseTransformersSpec(name, settings.defaultDevice));
  return createWorkerEmbedder({
    name,
    entry: new URL('./worker.ts', import.meta.url),
    maxBatch: 32,
    options: { spec, modelsDir: settings.modelsDir, allowRemote: settings.allowRemote },
    onNotice: settings.onNotice,
  });
}
