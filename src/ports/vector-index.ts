/** The port for an approximate (or exact) nearest-neighbour index over one namespace's vectors. */
import type { HnswSettings, Label, Neighbor, Space } from '../core/types.js';

export interface SearchOptions {
  /** Candidate list size; raised to k when smaller. */
  ef?: number;
  /** Only labels for which this returns true are results. */
  accept?: (label: Label) => boolean;
}

export interface IndexStats {
  /** Live vectors. */
  elements: number;
  /** Slots marked deleted and not yet reused. */
  deleted: number;
  /** Slots allocated; grows by itself. */
  capacity: number;
}

export interface VectorIndex {
  readonly space: Space;
  readonly dimensions: number;
  /** Adds the vector under the label, or replaces the vector already there. */
  upsert(label: Label, vector: Float32Array): void;
  /** Removes the label; false when it was not in the index. */
  remove(label: Label): boolean;
  /** The k nearest labels, best first, with the space's own distance. */
  search(query: Float32Array, k: number, options?: SearchOptions): Neighbor[];
  stats(): IndexStats;
}

/** An index that can be written to one file and read back. */
export interface PersistentVectorIndex extends VectorIndex {
  /** Writes the index to a file; the index must not change until this resolves. */
  save(file: string): Promise<void>;
  /**
   * Every live label, and, after a load, possibly labels the file still lists as marked deleted (removing
   * those is a no-op): what a cache compares against its store to find removals it missed.
   */
  labels(): Label[];
  /** Bytes of memory the index holds, estimated. */
  bytes(): number;
}

export interface IndexShape {
  space: Space;
  dimensions: number;
  hnsw: HnswSettings;
}

export interface VectorIndexFactory {
  /** A short name written beside saved files, so that a file is never read by the wrong implementation. */
  readonly kind: string;
  create(shape: IndexShape, capacity: number): PersistentVectorIndex;
  /** Reads a saved index off the event loop; rejects when the file is unreadable. */
  load(file: string, shape: IndexShape, deleted: number): Promise<PersistentVectorIndex>;
  /**
   * Builds an index over `labels[i]` ↦ vector i of `vectors` (row-major) off the event loop (a worker thread,
   * where the implementation has one), using `scratch` for a temporary file.
   */
  build(shape: IndexShape, labels: Float64Array, vectors: Float32Array, scratch: string): Promise<PersistentVectorIndex>;
}
