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
  save(file: string): void;
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
  /** Reads a saved index; throws when the file is unreadable. */
  load(file: string, shape: IndexShape, deleted: number): PersistentVectorIndex;
}
