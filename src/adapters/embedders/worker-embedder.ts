/**
 * Runs an embedding model in a pool of worker threads, so that embedding never blocks the event loop.
 * Requests queue here: queries go ahead of ingest work, small requests from concurrent callers share a batch,
 * and long ingest requests are cut into length-sorted batches (less padding) that idle workers take in turn.
 */
import { Worker } from 'node:worker_threads';
import { MembankError } from '../../core/errors.js';
import type { EmbedPriority, Embedder } from '../../ports/embedder.js';
import type { FromWorker, ToWorker } from './worker-protocol.js';

const BOOTSTRAP = new URL('./worker-bootstrap.mjs', import.meta.url);

interface Job {
  texts: string[];
  priority: EmbedPriority;
  resolve: (vectors: Float32Array[]) => void;
  reject: (error: Error) => void;
}

export interface WorkerEmbedderOptions {
  name: string;
  /** URL of the worker module (TypeScript or JavaScript). */
  entry: URL;
  /** Most texts one worker embeds in one call. */
  maxBatch: number;
  /** Worker threads in the pool (default 1). */
  workers?: number;
  /** Passed to each worker as `workerData.options`. */
  options?: Record<string, unknown>;
  /** Told what the worker reports about its start, such as a fallback from the GPU to the CPU. */
  onNotice?: (message: string) => void;
  /** The model's revision, when the worker does not report one. */
  revision?: string;
}

interface PoolMember {
  worker: Worker;
  batch: Job[] | undefined;
}

function startWorker(
  options: WorkerEmbedderOptions,
): Promise<{ worker: Worker; dimensions: number; device: string; notice?: string; revision?: string }> {
  const worker = new Worker(BOOTSTRAP, { workerData: { entry: options.entry.href, options: options.options ?? {} } });
  return new Promise((resolve, reject) => {
    const onMessage = (message: FromWorker): void => {
      worker.off('error', onError);
      worker.off('message', onMessage);
      if (message.type === 'ready') return resolve({ worker, ...message });
      const reason = message.type === 'fatal' || message.type === 'error' ? message.message : `unexpected ${message.type} message`;
      void worker.terminate();
      reject(new MembankError('EMBEDDER_FAILED', `${options.name} failed to load: ${reason}`));
    };
    const onError = (error: Error): void => {
      worker.off('message', onMessage);
      reject(new MembankError('EMBEDDER_FAILED', `${options.name} failed to load: ${error.message}`));
    };
    worker.on('message', onMessage);
    worker.once('error', onError);
  });
}

export async function createWorkerEmbedder(options: WorkerEmbedderOptions): Promise<Embedder> {
  const started = await Promise.allSettled(Array.from({ length: Math.max(1, options.workers ?? 1) }, () => startWorker(options)));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  const ready = started.filter((s) => s.status === 'fulfilled').map((s) => s.value);
  if (failed) {
    await Promise.all(ready.map((r) => r.worker.terminate()));
    throw failed.reason;
  }
  const first = ready[0]!;
  if (first.notice) options.onNotice?.(first.notice);

  const pool: PoolMember[] = ready.map(({ worker }) => ({ worker, batch: undefined }));
  const queue: Job[] = [];
  let closed = false;

  const failAll = (error: Error): void => {
    for (const member of pool) {
      for (const job of member.batch ?? []) job.reject(error);
      member.batch = undefined;
    }
    for (const job of queue.splice(0)) job.reject(error);
  };

  const pump = (): void => {
    for (const member of pool) {
      if (closed || queue.length === 0) return;
      if (member.batch) continue;
      // Queries first; then fill the batch in arrival order (sort is stable).
      queue.sort((a, b) => (a.priority === b.priority ? 0 : a.priority === 'query' ? -1 : 1));
      const batch: Job[] = [];
      let size = 0;
      while (queue.length > 0 && (batch.length === 0 || size + queue[0]!.texts.length <= options.maxBatch)) {
        const job = queue.shift()!;
        batch.push(job);
        size += job.texts.length;
      }
      member.batch = batch;
      member.worker.postMessage({ type: 'embed', id: 0, texts: batch.flatMap((job) => job.texts) } satisfies ToWorker);
    }
  };

  for (const member of pool) {
    member.worker.on('message', (message: FromWorker) => {
      if (message.type !== 'vectors' && message.type !== 'error') return;
      const batch = member.batch ?? [];
      member.batch = undefined;
      if (message.type === 'error') {
        for (const job of batch) job.reject(new MembankError('EMBEDDER_FAILED', `${options.name}: ${message.message}`));
      } else {
        let offset = 0;
        for (const job of batch) {
          const vectors = job.texts.map((_, i) =>
            message.data.slice((offset + i) * message.dimensions, (offset + i + 1) * message.dimensions),
          );
          offset += job.texts.length;
          job.resolve(vectors);
        }
      }
      pump();
    });
    member.worker.on('error', (error) => failAll(new MembankError('EMBEDDER_FAILED', `${options.name} crashed: ${error.message}`)));
    member.worker.on('exit', (code) => {
      if (!closed) failAll(new MembankError('EMBEDDER_FAILED', `${options.name} worker exited with code ${code}`));
    });
  }

  const enqueue = (texts: string[], priority: EmbedPriority): Promise<Float32Array[]> =>
    new Promise((resolve, reject) => {
      if (closed) return reject(new MembankError('SHUTTING_DOWN'));
      queue.push({ texts, priority, resolve, reject });
      pump();
    });

  return {
    name: options.name,
    dimensions: first.dimensions,
    revision: first.revision ?? options.revision ?? 'unknown',
    device: first.device,
    async embed(texts, priority = 'ingest') {
      if (texts.length <= options.maxBatch) return enqueue(texts, priority);
      // Batches of similar length pad less: sort by length, embed in batches, put back in order.
      const order = texts.map((_, i) => i).sort((a, b) => texts[a]!.length - texts[b]!.length);
      const batches: Promise<Float32Array[]>[] = [];
      for (let start = 0; start < order.length; start += options.maxBatch) {
        batches.push(enqueue(order.slice(start, start + options.maxBatch).map((i) => texts[i]!), priority));
      }
      const results = (await Promise.all(batches)).flat();
      const out = new Array<Float32Array>(texts.length);
      order.forEach((original, sorted) => (out[original] = results[sorted]!));
      return out;
    },
    async close() {
      closed = true;
      failAll(new MembankError('SHUTTING_DOWN'));
      await Promise.all(pool.map((member) => member.worker.terminate()));
    },
  };
}
