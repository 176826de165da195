/**
 * Exact nearest-neighbour search over every vector: the reference that the HNSW index is measured against.
 * Slow at scale (O(n) per query) and exact by construction.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { exactSearch } from '../../core/distance.js';
import { asLabel, type Label, type Neighbor } from '../../core/types.js';
import type { IndexShape, PersistentVectorIndex, SearchOptions, VectorIndexFactory } from '../../ports/vector-index.js';

class BruteForceIndex implements PersistentVectorIndex {
  readonly space;
  readonly dimensions;
  private readonly vectors = new Map<Label, Float32Array>();
  private highWater = 0;

  constructor(shape: IndexShape) {
    this.space = shape.space;
    this.dimensions = shape.dimensions;
  }

  upsert(label: Label, vector: Float32Array): void {
    this.vectors.set(label, Float32Array.from(vector));
    this.highWater = Math.max(this.highWater, this.vectors.size);
  }

  remove(label: Label): boolean {
    return this.vectors.delete(label);
  }

  search(query: Float32Array, k: number, options: SearchOptions = {}): Neighbor[] {
    const accept = options.accept;
    const candidates = function* (entries: Map<Label, Float32Array>) {
      for (const [label, vector] of entries) if (!accept || accept(label)) yield { label, vector };
    };
    return exactSearch(this.space, query, candidates(this.vectors), k);
  }

  stats() {
    return { elements: this.vectors.size, deleted: 0, capacity: this.highWater };
  }

  /** Format: a JSON array of [label, [values...]] pairs; this index exists for tests and reference runs. */
  save(file: string): void {
    writeFileSync(file, JSON.stringify([...this.vectors].map(([label, v]) => [label, Array.from(v)])));
  }

  static read(file: string, shape: IndexShape): BruteForceIndex {
    const index = new BruteForceIndex(shape);
    for (const [label, values] of JSON.parse(readFileSync(file, 'utf8')) as [number, number[]][]) {
      index.upsert(asLabel(label), Float32Array.from(values));
    }
    return index;
  }
}

export const bruteForceIndexFactory: VectorIndexFactory = {
  kind: 'brute-force',
  create: (shape) => new BruteForceIndex(shape),
  load: (file, shape) => BruteForceIndex.read(file, shape),
};
