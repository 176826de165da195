/**
 * The HNSW vector index (hnswlib-node). Labels are the memories' SQLite row ids. Deleted labels are marked,
 * and their slots are reused by later inserts, so the index does not grow without bound under churn.
 */
import hnswlib from 'hnswlib-node';
import type { Label, Neighbor } from '../../core/types.js';
import { asLabel } from '../../core/types.js';
import type { IndexShape, PersistentVectorIndex, SearchOptions, VectorIndexFactory } from '../../ports/vector-index.js';

const MIN_CAPACITY = 1024;

/** hnswlib's message for a label that a loaded index still lists but had already marked deleted. */
const ALREADY_DELETED = /already deleted/i;

class HnswIndex implements PersistentVectorIndex {
  readonly space;
  readonly dimensions;
  private readonly efSearch: number;
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
      if (this.index.getCurrentCount() >= capacity) this.index.resizeIndex(Math.max(MIN_CAPACITY, capacity * 2));
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

  save(file: string): void {
    this.index.writeIndexSync(file);
  }
}

export const hnswIndexFactory: VectorIndexFactory = {
  kind: 'hnswlib-node@3',
  create(shape, capacity) {
    const index = new hnswlib.HierarchicalNSW(shape.space, shape.dimensions);
    index.initIndex({
      maxElements: Math.max(MIN_CAPACITY, capacity),
      m: shape.hnsw.m,
      efConstruction: shape.hnsw.efConstruction,
      randomSeed: 100,
      allowReplaceDeleted: true,
    });
    return new HnswIndex(index, shape, 0);
  },
  load(file, shape, deleted) {
    const index = new hnswlib.HierarchicalNSW(shape.space, shape.dimensions);
    index.readIndexSync(file, true);
    return new HnswIndex(index, shape, deleted);
  },
};
