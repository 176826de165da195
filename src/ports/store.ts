/**
 * The port for the system of record. Methods are async so that a networked store (PostgreSQL, planned) fits the
 * same shape; the SQLite adapter answers synchronously inside them. Every write is one transaction that also
 * advances the change sequence, which is what index checkpoints are measured against.
 */
import type { Scope } from '../core/scope.js';
import type { FactStore } from './fact-store.js';
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

  createNamespace(input: NewNamespace): Promise<NamespaceRecord>;
  getNamespace(name: string): Promise<NamespaceRecord | undefined>;
  listNamespaces(): Promise<NamespaceRecord[]>;
  /** Deletes the namespace and everything in it; false when it did not exist. */
  deleteNamespace(id: number): Promise<boolean>;

  countMemories(namespaceId: number): Promise<number>;
  /** Memories stored with a vector only, no text. */
  countWithoutText(namespaceId: number): Promise<number>;
  /** Upserts memories by id; when `documentId` is given, first removes that document's chunks not rewritten. */
  writeMemories(namespaceId: number, memories: MemoryWrite[], replaceDocument?: string): Promise<WriteOutcome>;
  deleteMemory(namespaceId: number, id: string): Promise<DeleteOutcome | undefined>;
  deleteDocument(namespaceId: number, documentId: string): Promise<DeleteOutcome | undefined>;

  getMemory(namespaceId: number, id: string, withVector: boolean): Promise<MemoryRecord | undefined>;
  listMemories(namespaceId: number, after: Label | null, limit: number, withVector: boolean): Promise<MemoryPage>;
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
