/**
 * The HNSW vector index (hnswlib-node). Labels are the memories' labels in the store. Deleted labels are
 * marked, and their slots are reused by later inserts, so the index does not grow without bound under churn.
 * Capacity follows the data (it starts at what it is given and grows by half); loading, saving and building a
 * whole graph run off the event loop (libuv threads, a worker thread).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import hnswlib from 'hnswlib-node';
import type { Label, Neighbor } from '../../core/types.js';
import { asLabel } from '../../core/types.js';
import type { IndexShape, PersistentVectorIndex, SearchOptions, VectorIndexFactory } from '../../ports/vector-index.js';

const MIN_CAPACITY = 64;
const GROWTH = 1.5;

/**
 * hnswlib's messages for a label a loaded index still lists but no longer holds live: marked deleted, or
 * whose slot a later insert took over.
 */
const ALREADY_DELETED = /already deleted|label not found/i;

/**
 * hnswlib allocates 65,536 label locks per index (about 2.6 MB, whatever its size): the reason small
 * namespaces get no graph at all.
 */
const FIXED_BYTES = 65_536 * 40;

const BUILD_WORKER = new URL('./build-worker.mjs', import.meta.url);

class HnswIndex implements PersistentVectorIndex {
  readonly space;
  readonly dimensions;
  private readonly efSearch: number;
  private readonly m: number;
  private deleted: number;
  private readonly present: Set<number>;

  constructor(
    private readonly index: hnswlib.HierarchicalNSW,
    shape: IndexShape,
    deleted: number,
  ) {
    this.space = shape.space;
    this.dimensions = shape.dimensions;
    this.efSearch = shape.hnsw.efSearch;
    this.m = shape.hnsw.m;
    this.deleted = deleted;
    // Labels in the graph: live ones, plus (after a load) deleted ones whose slots were not yet reused.
    this.present = new Set(index.getIdsList());
    index.setEf(this.efSearch);
  }

  upsert(label: Label, vector: Float32Array): void {
    const point = Array.from(vector);
    if (this.present.has(label)) {
      this.index.addPoint(point, label, false); // update in place
      return;
    }
    if (this.deleted > 0) {
      // Reuse a deleted slot. Only for labels not in the index: hnswlib does not look the label up on this path.
      this.index.addPoint(point, label, true);
      this.deleted--;
    } else {
      const capacity = this.index.getMaxElements();
      if (this.index.getCurrentCount() >= capacity) this.index.resizeIndex(Math.max(MIN_CAPACITY, Math.ceil(capacity * GROWTH)));
      this.index.addPoint(point, label, false);
    }
    this.present.add(label);
  }

  remove(label: Label): boolean {
    if (!this.present.has(label)) return false;
    this.present.delete(label);
    try {
      this.index.markDelete(label);
    } catch (error) {
      if (error instanceof Error && ALREADY_DELETED.test(error.message)) return false;
      throw error;
    }
    this.deleted++;
    return true;
  }

  search(query: Float32Array, k: number, options: SearchOptions = {}): Neighbor[] {
    const live = this.index.getCurrentCount() - this.deleted;
    const n = Math.min(k, live);
    if (n <= 0) return [];
    this.index.setEf(Math.max(options.ef ?? this.efSearch, n));
    const accept = options.accept;
    const result = accept
      ? this.index.searchKnn(Array.from(query), n, (label) => accept(asLabel(label)))
      : this.index.searchKnn(Array.from(query), n);
    const sqrt = this.space === 'l2'; // hnswlib's l2 is squared
    return result.neighbors.map((label, i) => ({
      label: asLabel(label),
      distance: sqrt ? Math.sqrt(result.distances[i]!) : result.distances[i]!,
    }));
  }

  stats() {
    const count = this.index.getCurrentCount();
    return { elements: count - this.deleted, deleted: this.deleted, capacity: this.index.getMaxElements() };
  }

  labels(): Label[] {
    return [...this.present].map(asLabel);
  }

  bytes(): number {
    // Per slot: level-0 links (2M + 1 ints), the vector, the label, a lock, a level and a visited mark; per
    // element, the label map and the labels set; upper levels add about 1/(M−1) of a level's links.
    const capacity = this.index.getMaxElements();
    const level0 = (2 * this.m + 1) * 4 + this.dimensions * 4 + 8 + 40 + 4 + 2;
    const upper = ((this.m + 1) * 4) / Math.max(1, this.m - 1);
    return Math.round(FIXED_BYTES + capacity * level0 + this.present.size * (48 + 24 + upper));
  }

  async save(file: string): Promise<void> {
    await this.index.writeIndex(file);
  }
}

function newGraph(shape: IndexShape, capacity: number): hnswlib.HierarchicalNSW {
  const index = new hnswlib.HierarchicalNSW(shape.space, shape.dimensions);
  index.initIndex({
    maxElements: Math.max(MIN_CAPACITY, capacity),
    m: shape.hnsw.m,
    efConstruction: shape.hnsw.efConstruction,
    randomSeed: 100,
    allowReplaceDeleted: true,
  });
  return index;
}

export const hnswIndexFactory: VectorIndexFactory = {
  kind: 'hnswlib-node@3',
  create(shape, capacity) {
    return new HnswIndex(newGraph(shape, capacity), shape, 0);
  },
  async load(file, shape, deleted) {
    const index = new hnswlib.HierarchicalNSW(shape.space, shape.dimensions);
    await index.readIndex(file, true);
    return new HnswIndex(index, shape, deleted);
  },
  async build(shape, labels, vectors, scratch) {
    const file = join(scratch, `build-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.idx`);
    try {
      await new Promise<void>((resolve, reject) => {
        const worker = new Worker(BUILD_WORKER, {
          workerData: { space: shape.space, dimensions: shape.dimensions, m: shape.hnsw.m, efConstruction: shape.hnsw.efConstruction, labels, vectors, file },
        });
        worker.once('message', (message: { ok: boolean; message?: string }) => {
          void worker.terminate();
          if (message.ok) resolve();
          else reject(new Error(`building the graph failed: ${message.message}`));
        });
        worker.once('error', reject);
        worker.once('exit', (code) => code !== 0 && reject(new Error(`the graph builder exited with ${code}`)));
      });
      return await hnswIndexFactory.load(file, shape, 0);
    } finally {
      rmSync(file, { force: true });
    }
  },
};
