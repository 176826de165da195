/**
 * The write path: memories, documents and deletes. Every change commits to the store first, under the
 * namespace's write lock, and is then applied to the namespace's cached search state in commit order; the
 * answer carries the namespace's change sequence after the write. Texts are embedded before the lock is taken,
 * so a slow embedder never holds up other writers.
 */
import { randomUUID } from 'node:crypto';
import type { ChunkingInput, DocumentInput, MemoryInput } from '../api/schemas.js';
import { chunkText, DEFAULT_CHUNKING } from '../core/chunking.js';
import { MembankError } from '../core/errors.js';
import type { TableRow } from '../core/table/index.js';
import type { Label, MemoryWrite, Metadata, NamespaceRecord } from '../core/types.js';
import type { DeleteOutcome, MemoryPatch, RemovalReason, WriteOutcome } from '../ports/memory-store.js';
import type { Store } from '../ports/store.js';
import type { Embedding } from './embedding.js';
import { DELETE_BATCH, lifetime, yieldToQueries } from './forgetting.js';
import type { NamespaceState } from './namespace-state.js';
import type { NamespaceRegistry } from './namespaces.js';
import type { IndexCache } from './residents/index-cache.js';

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
  return writes.map((w, i) => ({
    label: outcome.written[i]!.label,
    seq: outcome.written[i]!.seq,
    vector: w.vector,
    eventAt: w.timestamp,
    expiresAt: w.expiresAt,
    documentId: w.documentId,
    chunkIndex: w.chunkIndex,
    text: w.text,
    metadata: w.metadata,
  }));
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
      patches: { id: string; text?: string; metadata?: Metadata; vector?: number[] }[],
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
        ...(p.vector !== undefined ? { vector: given[g++]! } : p.text !== undefined && reembed ? { vector: embedded[e++]! } : {}),
      }));
      let result: { missing: string[]; rows: TableRow[] } = { missing: [], rows: [] };
      const outcome = await commit(
        state,
        async () => {
          const updated = await store.memories.update(basis.id, changes, { now: now(), generation: basis.generation });
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

    async writeMemories(name: string, inputs: MemoryInput[]): Promise<{ ids: string[]; seq: number }> {
      const state = await registry.get(name, true);
      const first = inputs.find((input) => input.vector !== undefined)?.vector;
      // A namespace created with `dimensions: null` takes those of its first vector.
      const basis = state.record.dimensionsOpen && first ? await registry.settleDimensions(state, first.length) : state.record;
      const vectors = await embedding.vectorsFor(basis, inputs, 'memories');
      const at = now();
      const writes: MemoryWrite[] = inputs.map((input, i) => ({
        id: input.id ?? randomUUID(),
        text: input.text ?? null,
        metadata: input.metadata ?? {},
        vector: vectors[i]!,
        timestamp: input.timestamp ?? at,
        documentId: null,
        chunkIndex: null,
        ...lifetime(input, at),
      }));
      const outcome = (await commit(
        state,
        () => store.memories.write(basis.id, writes, { now: at, generation: basis.generation }),
        (o) => rowsOf(writes, o),
        basis,
      ))!;
      const ids = writes.map((w) => w.id);
      options.emit({ kind: 'memories', namespace: name, op: 'written', ids, seq: outcome.seq });
      return { ids, seq: outcome.seq };
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
        }));
        const outcome = (await commit(
          state,
          () => store.memories.write(basis.id, writes, { replaceDocument: documentId, now: at, generation: basis.generation }),
          (o) => rowsOf(writes, o),
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
