/**
 * Runs an embedding model in a worker thread, so that embedding never blocks the event loop. Requests queue
 * here: queries go ahead of ingest work, and small requests from concurrent callers share one batch.
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
  /** Most texts the worker embeds in one call. */
  maxBatch: number;
  /** Passed to the worker as `workerData.options`. */
  options?: Record<string, unknown>;
  /** Told what the worker reports about its start, such as a fallback from the GPU to the CPU. */
  onNotice?: (message: string) => void;
}

export async function createWorkerEmbedder(options: WorkerEmbedderOptions): Promise<Embedder> {
  const worker = new Worker(BOOTSTRAP, { workerData: { entry: options.entry.href, options: options.options ?? {} } });
  const queue: Job[] = [];
  const inFlight = new Map<number, Job[]>();
  let nextId = 1;
  let busy = false;
  let closed = false;

  const ready = await new Promise<{ dimensions: number; device: string }>((resolve, reject) => {
    const onMessage = (message: FromWorker): void => {
      worker.off('error', onError);
      worker.off('message', onMessage);
      if (message.type === 'ready') {
        if (message.notice) options.onNotice?.(message.notice);
        resolve(message);
      }
      else {
        const reason = message.type === 'fatal' || message.type === 'error' ? message.message : `unexpected ${message.type} message`;
        reject(new MembankError('EMBEDDER_FAILED', `${options.name} failed to load: ${reason}`));
      }
    };
    const onError = (error: Error): void => {
      worker.off('message', onMessage);
      reject(new MembankError('EMBEDDER_FAILED', `${options.name} failed to load: ${error.message}`));
    };
    worker.on('message', onMessage);
    worker.once('error', onError);
  });

  const failAll = (error: Error): void => {
    for (const jobs of inFlight.values()) for (const job of jobs) job.reject(error);
    inFlight.clear();
    for (const job of queue.splice(0)) job.reject(error);
  };

  const pump = (): void => {
    if (busy || closed || queue.length === 0) return;
    // Queries first; then fill the batch in arrival order.
    queue.sort((a, b) => (a.priority === b.priority ? 0 : a.priority === 'query' ? -1 : 1));
    const batch: Job[] = [];
    let size = 0;
    while (queue.length > 0 && (batch.length === 0 || size + queue[0]!.texts.length <= options.maxBatch)) {
      const job = queue.shift()!;
      batch.push(job);
      size += job.texts.length;
    }
    const id = nextId++;
    inFlight.set(id, batch);
    busy = true;
    worker.postMessage({ type: 'embed', id, texts: batch.flatMap((job) => job.texts) } satisfies ToWorker);
  };

  worker.on('message', (message: FromWorker) => {
    if (message.type !== 'vectors' && message.type !== 'error') return;
    const batch = inFlight.get(message.id);
    inFlight.delete(message.id);
    busy = false;
    if (batch) {
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
    }
    pump();
  });
  worker.on('error', (error) => failAll(new MembankError('EMBEDDER_FAILED', `${options.name} crashed: ${error.message}`)));
  worker.on('exit', (code) => {
    if (!closed) failAll(new MembankError('EMBEDDER_FAILED', `${options.name} worker exited with code ${code}`));
  });

  const enqueue = (texts: string[], priority: EmbedPriority): Promise<Float32Array[]> =>
    new Promise((resolve, reject) => {
      if (closed) return reject(new MembankError('SHUTTING_DOWN'));
      queue.push({ texts, priority, resolve, reject });
      pump();
    });

  return {
    name: options.name,
    dimensions: ready.dimensions,
    device: ready.device,
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
      await worker.terminate();
    },
  };
}

