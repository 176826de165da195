/** The port for namespaces: their records, settings, and the head of each one's change sequence. */
import type { HnswSettings, NamespaceRecord, NamespaceSettings, Space } from '../core/types.js';

export interface NewNamespace {
  name: string;
  space: Space;
  dimensions: number;
  embedder: string | null;
  embedderRevision: string | null;
  hnsw: HnswSettings;
  settings: NamespaceSettings;
}

/** Where a namespace's change sequence stands. */
export interface NamespaceHead {
  /** The last change sequence number committed (0 before the first change). */
  seq: number;
  /** Advances when every vector is replaced at once (a re-embedding): caches of the namespace must reload. */
  generation: number;
}

export interface NamespaceStore {
  create(input: NewNamespace): Promise<NamespaceRecord>;
  byName(name: string): Promise<NamespaceRecord | undefined>;
  byId(id: number): Promise<NamespaceRecord | undefined>;
  /**
   * Namespaces in name order, after `after` (exclusive), at most `limit`. Internal namespaces (names starting
   * with `~`, which the API cannot create) only when `internal` is true.
   */
  list(options?: { after?: string; limit?: number; internal?: boolean }): Promise<NamespaceRecord[]>;
  /** Deletes the namespace and everything in it; false when it did not exist. */
  delete(id: number): Promise<boolean>;
  updateSettings(id: number, settings: NamespaceSettings): Promise<NamespaceRecord>;
  head(id: number): Promise<NamespaceHead | undefined>;
  /** The forgetting schedules (cron expressions) that some namespace runs on. */
  schedules(): Promise<string[]>;
  /** Names of the namespaces on a schedule that have something to forget at `now`: expired memories, or forgetting enabled. */
  dueOn(schedule: string, now: number): Promise<string[]>;
}
