/** Shared vocabulary of the core: spaces, namespaces, memories, labels. */

export type Space = 'cosine' | 'l2' | 'ip';
export const SPACES: readonly Space[] = ['cosine', 'l2', 'ip'];

/**
 * A memory's position in its namespace's vector index: the integer row id of its SQLite row. Branded so that
 * it never mixes with the public, caller-chosen string id.
 */
export type Label = number & { readonly __brand: 'Label' };
export const asLabel = (n: number): Label => n as Label;

export type MetadataValue = string | number | boolean | null | MetadataValue[] | { [key: string]: MetadataValue };
export type Metadata = { [key: string]: MetadataValue };

export interface HnswSettings {
  /** Graph degree: links per node. Higher improves recall and costs memory and insert time. */
  m: number;
  /** Candidate list size while inserting. Higher builds a better graph, slower. */
  efConstruction: number;
  /**
   * The least candidate list size while searching: raised to k when k is larger, and with the size of the
   * graph (see the README's storage section). Higher improves recall, slower.
   */
  efSearch: number;
  /**
   * Vectors above which the namespace gets an HNSW graph; below, it is answered by exact search. Null: the
   * service's default.
   */
  threshold: number | null;
}

export const DEFAULT_HNSW: HnswSettings = { m: 16, efConstruction: 200, efSearch: 64, threshold: null };

export interface NamespaceRecord {
  /** Internal integer id; index files are named after it, never after the caller's name. */
  id: number;
  /** Public, stable identity (a UUID): it stays with the namespace through a rename. */
  uid: string;
  name: string;
  space: Space;
  dimensions: number;
  /** True while a namespace without embedder waits for its first write to decide its dimensions. */
  dimensionsOpen: boolean;
  /** The caller's description of the namespace. */
  metadata: Metadata;
  /** Embedder name, or null when the caller always supplies vectors. */
  embedder: string | null;
  /** The embedder's revision when the namespace was created or last re-embedded. */
  embedderRevision: string | null;
  hnsw: HnswSettings;
  settings: NamespaceSettings;
  createdAt: number;
  /** Advances when every vector is replaced at once (a re-embedding swap). */
  generation: number;
}

export interface ForgettingSettings {
  /** Whether scheduled runs forget memories whose retention fell below `threshold` (expired ones go always). */
  enabled: boolean;
  /** τ of the retention curve, in seconds. */
  timescale: number;
  /** Retention below which a memory is forgotten. */
  threshold: number;
  /** Cron expression of the pruning runs. */
  schedule: string;
  /** A `Where` filter (as given) of memories never forgotten by retention or expiry. */
  protect: Record<string, unknown> | null;
}

/**
 * How writes without an explicit id fold into a live memory: `exact` when the normalized texts are equal,
 * `near` also when the cosine similarity of the vectors is at least `threshold`.
 */
export interface DedupeSettings {
  mode: 'off' | 'exact' | 'near';
  threshold: number;
}

export interface HistorySettings {
  /** Earlier versions (text and metadata) kept per memory. */
  maxVersions: number;
}

export interface NamespaceSettings {
  /** Predicates (normalized) for which a new object supersedes the old one, e.g. lives_in, works_at. */
  facts: { singleValued: string[] };
  forgetting: ForgettingSettings;
  dedupe: DedupeSettings;
  history: HistorySettings;
  /** Hybrid search options this namespace's queries default to (as the API's `hybrid` takes them); absent: none. */
  hybrid?: Record<string, unknown>;
}

export const DEFAULT_FORGETTING: ForgettingSettings = { enabled: false, timescale: 86_400, threshold: 0.05, schedule: '0 * * * *', protect: null };

export const DEFAULT_DEDUPE: DedupeSettings = { mode: 'exact', threshold: 0.95 };
export const DEFAULT_HISTORY: HistorySettings = { maxVersions: 10 };

export const DEFAULT_SETTINGS: NamespaceSettings = {
  facts: { singleValued: [] },
  forgetting: DEFAULT_FORGETTING,
  dedupe: DEFAULT_DEDUPE,
  history: DEFAULT_HISTORY,
};

export interface FactRecord {
  id: string;
  subject: string;
  predicate: string;
  object: string;
  confidence: number | null;
  source: string | null;
  /** When the fact started to hold in the world (epoch ms), if known. */
  validFrom: number | null;
  /** When it stopped holding in the world, if it did. */
  validTo: number | null;
  /** When membank learned it. */
  createdAt: number;
  /** When membank stopped believing it (superseded or retired). */
  invalidatedAt: number | null;
  supersededBy: string | null;
  metadata: Metadata;
  sightings: number;
  lastSeenAt: number;
}

export interface FactPattern {
  subject?: string;
  predicate?: string;
  object?: string;
}

export type JobStatus = 'running' | 'done' | 'failed';

export interface JobRecord {
  id: string;
  kind: 'reembed';
  namespaceId: number;
  status: JobStatus;
  done: number;
  total: number;
  params: { embedder: string };
  error: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface MemoryRecord {
  label: Label;
  id: string;
  text: string | null;
  metadata: Metadata;
  /** When the remembered event happened (epoch ms). */
  timestamp: number;
  createdAt: number;
  updatedAt: number;
  documentId: string | null;
  chunkIndex: number | null;
  /** In [0, 1], given at write time; null when not given. */
  importance: number | null;
  /** S of the retention curve: starts at 1 (more with importance), +1 per recall. */
  strength: number;
  recallCount: number;
  lastRecalledAt: number | null;
  /** When it expires (epoch ms), or null. */
  expiresAt: number | null;
  /** Never forgotten by retention or a forgetting policy; first in a context. */
  pinned: boolean;
  vector?: Float32Array;
}

/** A memory ready to be written: embedded, validated, with its id decided. */
export interface MemoryWrite {
  id: string;
  text: string | null;
  metadata: Metadata;
  vector: Float32Array;
  timestamp: number;
  documentId: string | null;
  chunkIndex: number | null;
  importance: number | null;
  strength: number;
  expiresAt: number | null;
  /** Absent: false. */
  pinned?: boolean;
  /** Present when the write may fold into a live duplicate (written without an explicit id). */
  dedupe?: DedupeIntent;
}

/** What a write does with a duplicate: `skip` leaves the memory as it is, `merge` merges the metadata into it. */
export type OnDuplicate = 'skip' | 'merge';

export interface DedupeIntent {
  onDuplicate: OnDuplicate;
  /** A near duplicate the service found in the namespace's index (under the write lock). */
  near?: { label: Label; similarity: number };
}

export interface LabeledVector {
  label: Label;
  vector: Float32Array;
}

export interface Neighbor {
  label: Label;
  /** The space's own distance: cosine 1 − cos, l2 Euclidean (not squared), ip 1 − dot. */
  distance: number;
}
