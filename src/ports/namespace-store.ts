/** The port for namespaces: their records, settings, and the head of each one's change sequence. */
import type { HnswSettings, Metadata, NamespaceRecord, NamespaceSettings, Space } from '../core/types.js';

export interface NewNamespace {
  name: string;
  space: Space;
  /** For a namespace without embedder, null: the first write decides. */
  dimensions: number | null;
  metadata?: Metadata;
  embedder: string | null;
  embedderRevision: string | null;
  hnsw: HnswSettings;
  settings: NamespaceSettings;
}

export interface NamespacePatch {
  name?: string;
  metadata?: Metadata;
  settings?: NamespaceSettings;
  hnsw?: Pick<HnswSettings, 'efSearch' | 'threshold'>;
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
  byUid(uid: string): Promise<NamespaceRecord | undefined>;
  /**
   * Namespaces in name order, after `after` (exclusive), at most `limit`. Internal namespaces (names starting
   * with `~`, which the API cannot create) only when `internal` is true.
   */
  list(options?: { after?: string; limit?: number; internal?: boolean }): Promise<NamespaceRecord[]>;
  /** How many namespaces the API can name. */
  count(): Promise<number>;
  /** Deletes the namespace and everything in it; false when it did not exist. */
  delete(id: number): Promise<boolean>;
  /**
   * Changes what a namespace's cached search state does not depend on: its name (NAMESPACE_CONFLICT when
   * taken), metadata, settings, and search-time HNSW options; undefined when it no longer exists.
   */
  update(id: number, patch: NamespacePatch): Promise<NamespaceRecord | undefined>;
  /**
   * Sets the dimensions of a namespace whose first write decides them; answers the record as it is after
   * (another writer may have decided first: then its dimensions stand).
   */
  settleDimensions(id: number, dimensions: number): Promise<NamespaceRecord | undefined>;
  head(id: number): Promise<NamespaceHead | undefined>;
  /** The forgetting schedules (cron expressions) that some namespace runs on. */
  schedules(): Promise<string[]>;
  /** Names of the namespaces on a schedule that have something to forget at `now`: expired memories, or forgetting enabled. */
  dueOn(schedule: string, now: number): Promise<string[]>;
}
