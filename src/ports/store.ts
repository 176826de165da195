/**
 * The port for the system of record. Methods are async so that a networked store (PostgreSQL, planned) fits the
 * same shape; the SQLite adapter answers synchronously inside them. Every write is one transaction that also
 * advances the change sequence, which is what index checkpoints are measured against.
 */
import type { FilterNode } from '../core/filter.js';
import type { Scope } from '../core/scope.js';
import type { FactStore } from './fact-store.js';
import type { KeyStore } from './key-store.js';
import type { HnswSettings, JobRecord, NamespaceSettings, Label, LabeledVector, MemoryRecord, MemoryWrite, NamespaceRecord, Space } from '../core/types.js';

export interface NewNamespace {
  name: string;
  space: Space;
  dimensions: number;
  embedder: string | null;
  embedderRevision: string | null;
  hnsw: HnswSettings;
  settings: NamespaceSettings;
}

export interface WriteOutcome {
  /** The change sequence number this write committed as. */
  seq: number;
  /** Labels written, in the order of the input (an upsert keeps the memory's label). */
  labels: Label[];
  /** Labels removed by the write (chunks of a replaced document that no longer exist). */
  removed: Label[];
}

export interface DeleteOutcome {
  seq: number;
  removed: Label[];
}

export interface MemoryFields {
  text: boolean;
  metadata: boolean;
  vector: boolean;
}

export interface MemoryPage {
  memories: MemoryRecord[];
  /** The label to continue after, or null at the end. */
  next: Label | null;
}

/**
 * What a forgetting run removes: memories expired (`expired`) or whose retention fell below a threshold
 * (`retention`), or, when neither is given, any memory; always restricted by `olderThan`, `filter`, and never
 * one that `protect` matches.
 */
export interface ForgetPolicy {
  now: number;
  expired?: boolean;
  /** Retention below `threshold` on a curve of time scale `timescale` seconds. */
  retention?: { threshold: number; timescale: number };
  /** Event time before this (epoch ms). */
  olderThan?: number;
  filter?: FilterNode;
  protect?: FilterNode;
}

export interface ForgetCandidate {
  label: Label;
  id: string;
  /** Expired, as opposed to faded. */
  expired: boolean;
}

export interface ForgetRun {
  at: number;
  trigger: 'scheduled' | 'manual';
  expired: number;
  forgotten: number;
  durationMs: number;
}

export interface KeywordHit {
  label: Label;
  namespaceId: number;
  score: number;
}

export interface ChangesSince {
  upserted: AsyncIterable<LabeledVector[]>;
  removed: Label[];
}

export interface Store {
  /** Facts, in the same database and transactions' durability as memories. */
  readonly facts: FactStore;
  /** API keys. */
  readonly keys: KeyStore;

  createNamespace(input: NewNamespace): Promise<NamespaceRecord>;
  getNamespace(name: string): Promise<NamespaceRecord | undefined>;
  listNamespaces(): Promise<NamespaceRecord[]>;
  /** Deletes the namespace and everything in it; false when it did not exist. */
  deleteNamespace(id: number): Promise<boolean>;

  countMemories(namespaceId: number): Promise<number>;
  /** Memories stored with a vector only, no text. */
  countWithoutText(namespaceId: number): Promise<number>;
  /**
   * Upserts memories by id, written at `now` (epoch ms; default the wall clock); when `replaceDocument` is given,
   * first removes that document's chunks not rewritten.
   */
  writeMemories(namespaceId: number, memories: MemoryWrite[], replaceDocument?: string, now?: number): Promise<WriteOutcome>;
  deleteMemory(namespaceId: number, id: string): Promise<DeleteOutcome | undefined>;
  deleteDocument(namespaceId: number, documentId: string): Promise<DeleteOutcome | undefined>;

  /** A memory not expired at `now`. */
  getMemory(namespaceId: number, id: string, withVector: boolean, now: number): Promise<MemoryRecord | undefined>;
  /** Memories not expired at `now`, in label order. */
  listMemories(namespaceId: number, after: Label | null, limit: number, withVector: boolean, now: number): Promise<MemoryPage>;
  /** Labels and expiry times of the namespace's memories that have one. */
  expiringLabels(namespaceId: number): Promise<{ label: Label; expiresAt: number }[]>;
  /** Records recalls: each memory's strength and recall count grow by `recalls`, its clock restarts at `at`. */
  reinforce(recalls: { label: Label; recalls: number; at: number }[]): Promise<void>;
  /**
   * Memories a forgetting policy selects, among labels in (afterLabel, afterLabel + window]: bounded work per
   * call. `next` is where to go on, or null past the namespace's last label.
   */
  forgetCandidates(namespaceId: number, policy: ForgetPolicy, afterLabel: number, window: number): Promise<{ candidates: ForgetCandidate[]; next: number | null }>;
  /** Deletes memories by label, as one change. */
  deleteLabels(namespaceId: number, labels: Label[]): Promise<DeleteOutcome | undefined>;
  /** Labels of the memories matching a filter, and of every chunk of the documents they belong to. */
  eraseLabels(namespaceId: number, filter: FilterNode): Promise<Label[]>;
  /** Returns up to `pages` free pages to the file system; answers how many free pages are left. */
  vacuumStep(pages: number): Promise<number>;
  /** Copies the write-ahead log into the database file and truncates it. */
  truncateLog(): Promise<void>;
  recordForgetRun(namespaceId: number, run: ForgetRun): Promise<void>;
  /** The namespace's latest runs, most recent first. */
  forgetRuns(namespaceId: number, limit: number): Promise<ForgetRun[]>;
  updateSettings(namespaceId: number, settings: NamespaceSettings): Promise<NamespaceRecord>;
  /**
   * Memories for labels (at most 1,000), in no particular order; labels that no longer exist are skipped.
   * Fields not asked for are left empty (text null, metadata {}, no vector).
   */
  memoriesByLabels(namespaceId: number, labels: Label[], fields: MemoryFields): Promise<MemoryRecord[]>;
  /** Labels of the memories in scope, at most `limit` of them. */
  matchingLabels(namespaceId: number, scope: Scope, limit: number): Promise<Label[]>;
  /**
   * Full-text search (BM25 over the memories' texts) for memories in scope that contain any of the terms,
   * best first; a higher score is better.
   */
  keywordSearch(namespaceIds: number[], terms: string[], limit: number, scope: Scope): Promise<KeywordHit[]>;
  /** The terms that are words of some memory's tags (short metadata strings) in the namespaces. */
  taggedTerms(namespaceIds: number[], terms: string[]): Promise<string[]>;
  /**
   * The memories next to one: the `before` and `after` nearest chunks of its document, or, for a memory
   * outside documents, the nearest other such memories of its namespace in event-time order. Vectors included.
   */
  adjacentMemories(namespaceId: number, memory: MemoryRecord, before: number, after: number): Promise<{ before: MemoryRecord[]; after: MemoryRecord[] }>;
  vectorsByLabels(namespaceId: number, labels: Label[]): Promise<LabeledVector[]>;

  /** Every vector of the namespace in label order, in batches, for rebuilding its index. */
  allVectors(namespaceId: number): AsyncIterable<LabeledVector[]>;
  /** The highest change sequence number committed so far. */
  currentSeq(): Promise<number>;
  /** What changed in the namespace after `seq`: rows to (re)index and labels to remove. */
  changesSince(namespaceId: number, seq: number): Promise<ChangesSince>;
  /** Forgets removal records up to `seq`, once an index checkpoint covers them. */
  trimChanges(namespaceId: number, seq: number): Promise<void>;

  /** Texts of memories written after `seq` (all of them for −1), in label order, `limit` after `afterLabel`. */
  textsSince(namespaceId: number, seq: number, afterLabel: number, limit: number): Promise<{ label: Label; text: string | null }[]>;
  createJob(job: JobRecord): Promise<void>;
  updateJob(id: string, fields: Pick<JobRecord, 'status' | 'done' | 'total' | 'error'>): Promise<void>;
  getJob(id: string): Promise<JobRecord | undefined>;
  /** Marks jobs left running by a previous process as failed, and drops their staged vectors. */
  failInterruptedJobs(reason: string): Promise<number>;
  stageVectors(jobId: string, vectors: LabeledVector[]): Promise<void>;
  /**
   * In one transaction: every memory of the namespace takes its staged vector, and the namespace its new
   * embedder. Fails, changing nothing, when a memory has no staged vector.
   */
  swapEmbedding(
    namespaceId: number,
    jobId: string,
    embedding: { embedder: string; dimensions: number; revision: string },
  ): Promise<{ seq: number; namespace: NamespaceRecord }>;

  close(): Promise<void>;
}
