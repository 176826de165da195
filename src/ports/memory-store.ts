/**
 * The port for memories, the system of record of what search caches. Every write is one transaction that
 * assigns each change the next number of its namespace's change sequence (gap-free, strictly increasing) and
 * logs it in the change log; a write is acknowledged only after its transaction commits.
 */
import type { Scalar } from '../core/filter.js';
import type { TableRow } from '../core/table/index.js';
import type { Label, MemoryRecord, MemoryWrite, Metadata } from '../core/types.js';

/** A change to one memory: only the fields given change. */
export interface MemoryPatch {
  id: string;
  text?: string | null;
  metadata?: Metadata;
  vector?: Float32Array;
  pinned?: boolean;
}

/** A write that folded into a live memory: its id, how similar (1 for equal normalized texts), and its row when merged. */
export interface Duplicate {
  id: string;
  similarity: number;
  /** The memory as it is after a metadata merge (the change a cache applies), or null when skipped. */
  row: TableRow | null;
}

export interface WriteOutcome {
  /** The namespace's change sequence after this write: the seq of its last change. */
  seq: number;
  /**
   * Labels written, in the order of the input (an upsert keeps the memory's label), with the seq of each; a
   * duplicate has the label of the memory it folded into (and seq 0 when nothing of it changed).
   */
  written: { label: Label; seq: number; duplicate?: Duplicate }[];
  /** Labels removed by the write (chunks of a replaced document that no longer exist). */
  removed: Label[];
  /** The seq of the first change of the write. */
  firstSeq: number;
}

export interface DeleteOutcome {
  seq: number;
  firstSeq: number;
  removed: Label[];
  /** The public ids of what was removed, in the order of `removed`. */
  ids: string[];
}

/** Why memories were removed, as the change log records it. */
export type RemovalReason = 'deleted' | 'expired' | 'forgotten' | 'erased';

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

export interface MemoryStore {
  /**
   * Upserts memories by id, written at `now` (epoch ms); when `replaceDocument` is given, first removes that
   * document's chunks not rewritten. `generation` is the namespace generation the vectors were made for: when
   * the namespace has moved on (re-embedded), nothing is written and EMBEDDER_MISMATCH is thrown.
   *
   * A memory with `dedupe` is not stored when a live memory of the namespace outside documents has the same
   * normalized text (decided inside the write's transaction, so concurrent writes cannot both store it), or
   * when `dedupe.near` names one: that memory is reinforced as by a recall instead, its metadata merged when
   * asked. Every change is also recorded in the memories' history, keeping at most `maxVersions` earlier
   * versions per memory (default 10).
   */
  write(
    namespaceId: number,
    memories: MemoryWrite[],
    options: { replaceDocument?: string; now: number; generation: number; maxVersions?: number },
  ): Promise<WriteOutcome>;
  deleteById(namespaceId: number, id: string, now: number): Promise<DeleteOutcome | undefined>;
  deleteDocument(namespaceId: number, documentId: string, now: number): Promise<DeleteOutcome | undefined>;
  /** Deletes memories by label, as one transaction. */
  deleteLabels(namespaceId: number, labels: Label[], reason: RemovalReason, now: number): Promise<DeleteOutcome | undefined>;

  /** A memory not expired at `now`. */
  get(namespaceId: number, id: string, withVector: boolean, now: number): Promise<MemoryRecord | undefined>;
  /** Memories not expired at `now`, in label order. */
  list(namespaceId: number, after: Label | null, limit: number, withVector: boolean, now: number): Promise<MemoryPage>;
  /**
   * Memories for labels (at most 1,000), in no particular order; labels that no longer exist are skipped.
   * Fields not asked for are left empty (text null, metadata {}, no vector).
   */
  byLabels(namespaceId: number, labels: Label[], fields: MemoryFields): Promise<MemoryRecord[]>;
  /** Memories by id (at most 1,000 ids) not expired at `now`, in label order; ids not found are skipped. */
  byIds(namespaceId: number, ids: string[], fields: MemoryFields, now: number): Promise<MemoryRecord[]>;
  /**
   * Changes fields of existing memories, in one transaction: each patch's given fields (text, metadata, vector)
   * replace the stored ones, while strength, recalls, times and expiry stay. Ids not found are skipped (and
   * listed in `missing`). `generation` as in `write`.
   */
  update(
    namespaceId: number,
    patches: MemoryPatch[],
    options: { now: number; generation: number; maxVersions?: number },
  ): Promise<WriteOutcome & { missing: string[]; rows: TableRow[] }>;
  /** Pinned memories not expired at `now`, whole, in label order, at most `limit`. */
  pinned(namespaceId: number, now: number, limit: number): Promise<MemoryRecord[]>;
  count(namespaceId: number): Promise<number>;
  /** Memories stored with a vector only, no text. */
  countWithoutText(namespaceId: number): Promise<number>;
  /** Records recalls: each memory's strength and recall count grow by `recalls`, its clock restarts at `at`. */
  reinforce(recalls: { label: Label; recalls: number; at: number }[]): Promise<void>;

  /**
   * Every memory of the namespace as a search table holds it (no text, no metadata), in label order, in
   * batches, read from one snapshot; with the namespace's change sequence at that snapshot.
   */
  tableRows(namespaceId: number): Promise<{ seq: number; rows: AsyncIterable<TableRow[]> }>;
  /** Memories written after `seq`, whole (text and metadata included), in label order, in batches. */
  rowsSince(namespaceId: number, seq: number): AsyncIterable<TableRow[]>;
  /** The scalar at a metadata path of every memory of the namespace (undefined where absent), in batches. */
  fieldValues(namespaceId: number, path: readonly string[]): AsyncIterable<[Label, Scalar | undefined][]>;
  /** The text of every memory of the namespace, in batches. */
  texts(namespaceId: number): AsyncIterable<[Label, string | null][]>;
  /** Texts of memories written after `seq` (all of them for −1), in label order, `limit` after `afterLabel`. */
  textsSince(namespaceId: number, seq: number, afterLabel: number, limit: number): Promise<{ label: Label; text: string | null }[]>;
}
