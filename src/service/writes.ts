/**
 * The write path: memories, documents and deletes. Every change commits to the store first, under the
 * namespace's write lock, and is then applied to the namespace's cached search state in commit order; the
 * answer carries the namespace's change sequence after the write. Texts are embedded before the lock is taken,
 * so a slow embedder never holds up other writers.
 */
import { randomUUID } from 'node:crypto';
import type { ChunkingInput, DocumentInput, MemoryInput, OnDuplicate } from '../api/schemas.js';
import { chunkText, DEFAULT_CHUNKING } from '../core/chunking.js';
import { MembankError } from '../core/errors.js';
import { cosineSimilarity, normalizeText } from '../core/normalize.js';
import type { TableRow } from '../core/table/index.js';
import { asLabel, type Label, type MemoryWrite, type Metadata, type NamespaceRecord } from '../core/types.js';
import type { DeleteOutcome, MemoryPatch, RemovalReason, WriteOutcome } from '../ports/memory-store.js';
import type { Store } from '../ports/store.js';
import type { Embedding } from './embedding.js';
import { DELETE_BATCH, lifetime, yieldToQueries } from './forgetting.js';
import type { NamespaceState } from './namespace-state.js';
import type { NamespaceRegistry } from './namespaces.js';
import type { IndexCache } from './residents/index-cache.js';
import { autoExactThreshold } from './residents/resident.js';

/** A write folded into a live memory (or an earlier memory of the same write): which input, into what, how similar. */
export interface DuplicateView {
  index: number;
  id: string;
  similarity: number;
}

/** Nearest neighbours compared for a `near` duplicate (the nearest by the space's distance need not be the most cosine-similar). */
const NEAR_CANDIDATES = 8;

/** A committed change, as `onChange` listeners hear of it. */
export type ChangeEvent =
  | { kind: 'memories'; namespace: string; op: 'written' | 'deleted'; ids: string[]; seq: number }
  | { kind: 'namespace'; namespace: string; op: 'created' | 'updated' | 'deleted' };

export interface WritePathOptions {
  store: Store;
  registry: NamespaceRegistry;
  cache: IndexCache;
  embedding: Embedding;
  now: () => number;
  isClosing: () => boolean;
  emit: (event: ChangeEvent) => void;
}

function rowsOf(writes: MemoryWrite[], outcome: WriteOutcome): TableRow[] {
  return writes.flatMap((w, i): TableRow[] => {
    const duplicate = outcome.written[i]!.duplicate;
    return duplicate ? (duplicate.row ? [duplicate.row] : []) : [rowOf(w, outcome.written[i]!)];
  });
}

function rowOf(w: MemoryWrite, written: { label: Label; seq: number }): TableRow {
  return {
    label: written.label,
    seq: written.seq,
    vector: w.vector,
    eventAt: w.timestamp,
    expiresAt: w.expiresAt,
    documentId: w.documentId,
    chunkIndex: w.chunkIndex,
    text: w.text,
    metadata: w.metadata,
  };
}

function documentRows(writes: MemoryWrite[], outcome: WriteOutcome): TableRow[] {
  return writes.map((w, i) => rowOf(w, outcome.written[i]!));
}

export function createWritePath(options: WritePathOptions) {
  const { store, registry, cache, embedding, now } = options;

  /** Runs a store write under the namespace's lock and applies what it committed to the cache. */
  async function commit<T extends WriteOutcome | DeleteOutcome>(
    state: NamespaceState,
    write: () => Promise<T | undefined>,
    rows: (outcome: T) => TableRow[],
    basis?: NamespaceRecord,
  ): Promise<T | undefined> {
    if (options.isClosing()) throw new MembankError('SHUTTING_DOWN');
    return state.lock.run(async () => {
      if (state.deleted) throw new MembankError('NAMESPACE_NOT_FOUND', `Namespace "${state.record.name}" does not exist.`);
      if (basis && state.record.generation !== basis.generation) {
        throw new MembankError(
          'EMBEDDER_MISMATCH',
          `Namespace "${basis.name}" was re-embedded with ${state.record.embedder} while this write was being embedded; it was not written. Send it again.`,
        );
      }
      const outcome = await write();
      if (!outcome) return undefined;
      await cache.applied(state, { firstSeq: outcome.firstSeq, seq: outcome.seq, rows: rows(outcome), removed: outcome.removed });
      return outcome;
    });
  }

  const noRows = (): TableRow[] => [];

  /**
   * Marks writes whose vector is at least `threshold` cosine-similar to an earlier write of the batch (folded)
   * or to a live memory outside documents in the namespace's index (the store then folds them). Called under
   * the namespace's lock; without a loaded index (evicted meanwhile) only exact duplicates fold.
   */
  function nearDuplicates(
    state: NamespaceState,
    writes: MemoryWrite[],
    folded: Map<number, unknown>,
    fold: (i: number, into: number, similarity: number) => void,
    threshold: number,
    at: number,
  ): void {
    const resident = state.resident;
    const exactThreshold = autoExactThreshold(state.record.dimensions);
    const kept: number[] = [];
    writes.forEach((w, i) => {
      if (folded.has(i)) return;
      if (!w.dedupe) {
        kept.push(i);
        return;
      }
      let best: { into: number; similarity: number } | undefined;
      for (const j of kept) {
        const similarity = cosineSimilarity(w.vector, writes[j]!.vector);
        if (similarity >= threshold && similarity > (best?.similarity ?? -Infinity)) best = { into: j, similarity };
      }
      if (best) return fold(i, best.into, best.similarity);
      kept.push(i);
      if (!resident) return;
      let near: { label: Label; similarity: number } | undefined;
      for (const n of resident.nearest(w.vector, NEAR_CANDIDATES, { visibleAt: at }, state.record.hnsw.efSearch, exactThreshold)) {
        const vector = resident.table.vectorOf(n.label);
        if (!vector || resident.table.inDocument(n.label)) continue;
        const similarity = cosineSimilarity(w.vector, vector);
        if (similarity >= threshold && similarity > (near?.similarity ?? -Infinity)) near = { label: asLabel(n.label), similarity };
      }
      if (near) w.dedupe = { ...w.dedupe, near };
    });
  }

  /** Deletes by label as one change (forgetting and erase), with the reason the change log records. */
  async function removeLabels(state: NamespaceState, labels: Label[], reason: RemovalReason): Promise<DeleteOutcome | undefined> {
    const outcome = await commit(state, () => store.memories.deleteLabels(state.record.id, labels, reason, now()), noRows);
    if (outcome) options.emit({ kind: 'memories', namespace: state.record.name, op: 'deleted', ids: outcome.ids, seq: outcome.seq });
    return outcome;
  }

  return {
    removeLabels,

    /**
     * Changes given fields of existing memories (text, metadata, vector), keeping their strength, recalls,
     * times and expiry. A new text without a vector is embedded when the namespace has an embedder (its old
     * vector would no longer match it); without one, the vector stays. Ids that do not exist are answered in
     * `missing`, not created.
     */
    async updateMemories(
      name: string,
      patches: { id: string; text?: string; metadata?: Metadata; vector?: number[]; pinned?: boolean }[],
    ): Promise<{ updated: string[]; missing: string[]; seq: number }> {
      const state = await registry.get(name, true);
      const basis = state.record;
      const reembed = basis.embedder !== null;
      const embedTexts = patches.filter((p) => p.vector === undefined && p.text !== undefined && reembed);
      const embedded = await embedding.embed(basis, embedTexts.map((p) => p.text!), 'ingest');
      const given = await embedding.vectorsFor(
        basis,
        patches.filter((p) => p.vector !== undefined).map((p) => ({ vector: p.vector })),
        'memories',
      );
      let e = 0;
      let g = 0;
      const changes: MemoryPatch[] = patches.map((p) => ({
        id: p.id,
        ...(p.text !== undefined && { text: p.text }),
        ...(p.metadata !== undefined && { metadata: p.metadata }),
        ...(p.pinned !== undefined && { pinned: p.pinned }),
        ...(p.vector !== undefined ? { vector: given[g++]! } : p.text !== undefined && reembed ? { vector: embedded[e++]! } : {}),
      }));
      let result: { missing: string[]; rows: TableRow[] } = { missing: [], rows: [] };
      const outcome = await commit(
        state,
        async () => {
          const updated = await store.memories.update(basis.id, changes, {
            now: now(),
            generation: basis.generation,
            maxVersions: basis.settings.history.maxVersions,
          });
          result = updated;
          return updated.written.length > 0 ? updated : undefined;
        },
        () => result.rows,
        basis,
      );
      const missing = new Set(result.missing);
      const updated = patches.map((p) => p.id).filter((id) => !missing.has(id));
      if (outcome) options.emit({ kind: 'memories', namespace: name, op: 'written', ids: updated, seq: outcome.seq });
      return { updated, missing: result.missing, seq: outcome?.seq ?? state.head };
    },

    /** Deletes memories by label in batches (a delete by filter, text or ids resolved to labels). */
    async deleteLabels(name: string, labels: Label[]): Promise<{ deleted: number; seq: number }> {
      const state = await registry.get(name, true);
      let deleted = 0;
      for (let i = 0; i < labels.length; i += DELETE_BATCH) {
        deleted += (await removeLabels(state, labels.slice(i, i + DELETE_BATCH), 'deleted'))?.removed.length ?? 0;
        await yieldToQueries();
      }
      return { deleted, seq: state.head };
    },

    /**
     * Writes memories. Unless the namespace's dedupe mode is `off`, a memory without an explicit id that
     * duplicates a live memory (equal normalized text; with `near`, also a cosine similarity at or above the
     * threshold) or an earlier memory of the same write is not stored again: it reinforces that memory and,
     * with `onDuplicate: merge`, merges its metadata into it. `ids` has one id per input (the existing one for
     * a duplicate), `duplicates` says which inputs folded.
     */
    async writeMemories(
      name: string,
      inputs: MemoryInput[],
      choices: { onDuplicate?: OnDuplicate } = {},
    ): Promise<{ ids: string[]; seq: number; duplicates: DuplicateView[] }> {
      const state = await registry.get(name, true);
      const first = inputs.find((input) => input.vector !== undefined)?.vector;
      // A namespace created with `dimensions: null` takes those of its first vector.
      const basis = state.record.dimensionsOpen && first ? await registry.settleDimensions(state, first.length) : state.record;
      const vectors = await embedding.vectorsFor(basis, inputs, 'memories');
      const at = now();
      const dedupe = basis.settings.dedupe;
      const writes: MemoryWrite[] = inputs.map((input, i) => ({
        id: input.id ?? randomUUID(),
        text: input.text ?? null,
        metadata: input.metadata ?? {},
        vector: vectors[i]!,
        timestamp: input.timestamp ?? at,
        documentId: null,
        chunkIndex: null,
        ...lifetime(input, at),
        pinned: input.pinned ?? false,
        ...(dedupe.mode !== 'off' && input.id === undefined && { dedupe: { onDuplicate: input.onDuplicate ?? choices.onDuplicate ?? 'skip' } }),
      }));
      // Inputs that repeat an earlier one of this write fold into it here; the store folds the rest into live memories.
      const folded = new Map<number, { into: number; similarity: number }>();
      const fold = (i: number, into: number, similarity: number): void => {
        folded.set(i, { into, similarity });
        const target = writes[into]!;
        if (writes[i]!.dedupe!.onDuplicate === 'merge') target.metadata = { ...target.metadata, ...writes[i]!.metadata };
        if (writes[i]!.pinned) target.pinned = true;
      };
      const firstOfText = new Map<string, number>();
      writes.forEach((w, i) => {
        if (w.text === null) return;
        const key = normalizeText(w.text);
        const earlier = firstOfText.get(key);
        if (w.dedupe && earlier !== undefined) fold(i, earlier, 1);
        else if (earlier === undefined) firstOfText.set(key, i);
      });
      if (dedupe.mode === 'near') await cache.acquire(state);
      let stored: number[] = [];
      const outcome = (await commit(
        state,
        async () => {
          // Under the write lock, so that the index holds every memory committed before this write (in cluster
          // mode, caught up with the other nodes' writes first).
          if (dedupe.mode === 'near') {
            await cache.catchUp(state, state.head);
            nearDuplicates(state, writes, folded, fold, dedupe.threshold, at);
          }
          stored = writes.map((_, i) => i).filter((i) => !folded.has(i));
          return store.memories.write(
            basis.id,
            stored.map((i) => writes[i]!),
            { now: at, generation: basis.generation, maxVersions: basis.settings.history.maxVersions },
          );
        },
        (o) => rowsOf(stored.map((i) => writes[i]!), o),
        basis,
      ))!;
      const ids: string[] = [];
      const duplicates: DuplicateView[] = [];
      const resultOf = new Map<number, WriteOutcome['written'][number]>(stored.map((i, n) => [i, outcome.written[n]!]));
      writes.forEach((_, i) => {
        const fold = folded.get(i);
        const target = resultOf.get(fold ? fold.into : i)!;
        const id = target.duplicate?.id ?? writes[fold ? fold.into : i]!.id;
        ids.push(id);
        if (fold) duplicates.push({ index: i, id, similarity: Math.min(fold.similarity, target.duplicate?.similarity ?? 1) });
        else if (target.duplicate) duplicates.push({ index: i, id, similarity: target.duplicate.similarity });
      });
      options.emit({ kind: 'memories', namespace: name, op: 'written', ids: [...new Set(ids)], seq: outcome.seq });
      return { ids, seq: outcome.seq, duplicates };
    },

    async writeDocuments(name: string, documents: DocumentInput[], chunking: ChunkingInput = {}) {
      const state = await registry.get(name, true);
      const settings = { ...DEFAULT_CHUNKING, ...chunking };
      const at = now();
      const chunked = documents.map((doc) => ({ doc, documentId: doc.id ?? randomUUID(), texts: chunkText(doc.text, settings) }));
      const basis = state.record;
      const vectors = await embedding.embed(basis, chunked.flatMap((c) => c.texts), 'ingest');
      let offset = 0;
      let seq = state.head;
      const results: { id: string; chunks: string[] }[] = [];
      for (const { doc, documentId, texts } of chunked) {
        const docVectors = vectors.slice(offset, offset + texts.length);
        offset += texts.length;
        const writes: MemoryWrite[] = texts.map((text, i) => ({
          id: `${documentId}#${i}`,
          text,
          metadata: doc.metadata ?? {},
          vector: docVectors[i]!,
          timestamp: doc.timestamp ?? at,
          documentId,
          chunkIndex: i,
          ...lifetime(doc, at),
          pinned: doc.pinned ?? false,
        }));
        const outcome = (await commit(
          state,
          () =>
            store.memories.write(basis.id, writes, {
              replaceDocument: documentId,
              now: at,
              generation: basis.generation,
              maxVersions: basis.settings.history.maxVersions,
            }),
          (o) => documentRows(writes, o),
          basis,
        ))!;
        seq = outcome.seq;
        options.emit({ kind: 'memories', namespace: name, op: 'written', ids: writes.map((w) => w.id), seq });
        results.push({ id: documentId, chunks: writes.map((w) => w.id) });
      }
      return { documents: results, seq };
    },

    async deleteMemory(name: string, id: string): Promise<number> {
      const state = await registry.get(name, true);
      const outcome = await commit(state, () => store.memories.deleteById(state.record.id, id, now()), noRows);
      if (!outcome) throw new MembankError('MEMORY_NOT_FOUND', `No memory "${id}" in namespace "${name}".`);
      options.emit({ kind: 'memories', namespace: name, op: 'deleted', ids: outcome.ids, seq: outcome.seq });
      return outcome.seq;
    },

    async deleteDocument(name: string, documentId: string): Promise<number> {
      const state = await registry.get(name, true);
      const outcome = await commit(state, () => store.memories.deleteDocument(state.record.id, documentId, now()), noRows);
      if (!outcome) throw new MembankError('DOCUMENT_NOT_FOUND', `No document "${documentId}" in namespace "${name}".`);
      options.emit({ kind: 'memories', namespace: name, op: 'deleted', ids: outcome.ids, seq: outcome.seq });
      return outcome.seq;
    },
  };
}

export type WritePath = ReturnType<typeof createWritePath>;
