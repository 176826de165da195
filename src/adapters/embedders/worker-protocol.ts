/** Messages between the main thread and an embedding worker. */

export type ToWorker = { type: 'embed'; id: number; texts: string[] };

export type FromWorker =
  | { type: 'ready'; dimensions: number; device: string; notice?: string; revision?: string }
  | { type: 'vectors'; id: number; data: Float32Array; dimensions: number }
  | { type: 'error'; id: number; message: string }
  | { type: 'fatal'; message: string };
