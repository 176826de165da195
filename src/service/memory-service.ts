/**
 * The membank service: namespaces, writes, reads, queries and deletes, over a Store (the system of record),
 * one vector index per namespace (a cache of the store), and the embedders. Every write commits to the store
 * first and then updates the index, under the namespace's write lock, so the index applies changes in commit
 * order; reads take no lock.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Cron } from 'croner';
import {
  type ChunkingInput,
  type CreateNamespaceInput,
  type DocumentInput,
  type ForgetInput,
  type ForgettingInput,
  HYBRID_DEFAULTS,
  type IncludeField,
  type MemoryInput,
  type QueryInput,
} from '../api/schemas.js';
import { chunkText, DEFAULT_CHUNKING } from '../core/chunking.js';
import { checkVector, exactSearch } from '../core/distance.js';
import { MembankError, unwrap } from '../core/errors.js';
import type { FilterNode } from '../core/filter.js';
import { retention } from '../core/retention.js';
import { isUnscoped, type Scope } from '../core/scope.js';
import { normalizeKey } from '../core/facts.js';
import {
  DEFAULT_HNSW,
  DEFAULT_SETTINGS,
  type JobRecord,
  type Label,
  type LabeledVector,
  type MemoryRecord,
  type MemoryWrite,
  type NamespaceRecord,
  type Neighbor,
} from '../core/types.js';
import type { EmbedderProvider } from '../ports/embedder.js';
import type { DeleteOutcome, ForgetRun, Store, WriteOutcome } from '../ports/store.js';
import type { VectorIndexFactory } from '../ports/vector-index.js';
import { createIndexManager, type LiveIndex } from './index-manager.js';
import { Mutex } from './mutex.js';
import { compact, DELETE_BATCH, type ForgetOutcome, lifetime, mergeForgetting, runForgetting, yieldToQueries } from './forgetting.js';
import { createRecallRecorder } from './recalls.js';

export type { ForgetOutcome };
import { search, type SearchHit, type SearchMode } from './search.js';

export interface ServiceOptions {
  dataDir: string;
  store: Store;
  embedders: EmbedderProvider;
  indexFactory: VectorIndexFactory;
  logger: Logger;
  /** Embedder of namespaces created without one. */
  defaultEmbedder: string;
  /** A filtered query with at most this many matches is answered by exact search over them. */
  exactSearchThreshold: number;
  /** Epoch ms now; tests advance it. Default: the wall clock. */
  clock?: () => number;
}

interface NamespaceState {
  record: NamespaceRecord;
  live: LiveIndex;
  lock: Mutex;
  deleted: boolean;
  /** The namespace's scheduled pruning. */
  pruning?: Cron;
  /** Expiry of each memory that has one: the index path keeps expired ones out of results until pruned. */
  expiring: Map<number, number>;
}

/** A query as the service takes it: the API's query body, over one or several namespaces. */
export type QueryRequest = Omit<QueryInput, 'hybrid' | 'reinforce'> & {
  hybrid?: QueryInput['hybrid'];
  /** Whether the results count as recalled (default true). */
  reinforce?: boolean;
};

/**
 * A committed change, told to `onChange` listeners (MCP subscriptions, metrics). `ids` are the memories written
 * or deleted; a delete by label (forgetting, erase) may not know them, and then lists none.
 */
export type ChangeEvent =
  | { kind: 'memories'; namespace: string; op: 'written' | 'deleted'; ids: string[] }
  | { kind: 'namespace'; namespace: string; op: 'created' | 'updated' | 'deleted' };

export interface NamespaceStats {
  namespace: NamespaceRecord;
  /** Latest forgetting runs, most recent first. */
  forgetRuns: ForgetRun[];
  count: number;
  /** Facts, current and past. */
  facts: number;
  /** Where the namespace's embedder runs, once it is loaded. */
  embedderDevice: string | null;
  index: {
    elements: number;
    deleted: number;
    capacity: number;
    pendingChanges: number;
    lastCheckpoint: { seq: number; at: number } | null;
  };
}

/** Names of the hidden namespaces that index fact sentences; the API's names cannot start with it. */
export const FACT_INDEX_PREFIX = '~facts.';

/** Index inserts applied between two yields to the event loop. */
const INDEX_SLICE = 32;

/** Forgetting runs shown with a namespace. */
const RUNS_SHOWN = 10;

const encodeCursor = (label: Label): string => Buffer.from(String(label)).toString('base64url');

function decodeCursor(cursor: string): Label {
  const decoded = /^[A-Za-z0-9_-]+$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString() : '';
  const label = /^\d{1,15}$/.test(decoded) ? Number(decoded) : Number.NaN;
  if (!Number.isSafeInteger(label)) {
    throw new MembankError('VALIDATION_FAILED', 'The cursor is not one this service returned.', { path: 'cursor' });
  }
  return label as Label;
}

export async function createMemoryService(options: ServiceOptions) {
  const { store, embedders, logger } = options;
  const indexes = createIndexManager({
    dir: join(options.dataDir, 'indexes'),
    store,
    factory: options.indexFactory,
    logger,
  });
  const namespaces = new Map<string, NamespaceState>();
  const namespaceLock = new Mutex(); // serializes creating and deleting namespaces
  const jobs = new Map<string, { record: JobRecord; startedAt: number }>();
  const now = options.clock ?? Date.now;
  const forgetListeners: ((namespace: string, run: ForgetRun) => void)[] = [];
  const changeListeners = new Set<(event: ChangeEvent) => void>();
  /** Tells listeners about a committed change; a listener that throws is logged, never fails the write. */
  const emit = (event: ChangeEvent): void => {
    if (event.namespace.startsWith(FACT_INDEX_PREFIX)) return;
    for (const listener of changeListeners) {
      try {
        listener(event);
      } catch (error) {
        logger.error({ err: error, namespace: event.namespace }, 'a change listener failed');
      }
    }
  };
  let closing = false;

  const recalls = createRecallRecorder({ store, logger, now });

  const interrupted = await store.failInterruptedJobs('interrupted: the service stopped before the job finished');
  if (interrupted > 0) logger.warn({ jobs: interrupted }, 'marked interrupted jobs as failed');

  let records = await store.listNamespaces();
  // Deleting a namespace deletes the hidden one of its facts' sentences in a second transaction: a crash between
  // the two leaves sentences of erased facts behind, which no API call could reach or delete. Finish the erase.
  const ids = new Set(records.map((r) => r.id));
  for (const orphan of records.filter((r) => r.name.startsWith(FACT_INDEX_PREFIX) && !ids.has(Number(r.name.slice(FACT_INDEX_PREFIX.length))))) {
    await store.deleteNamespace(orphan.id);
    logger.warn({ namespace: orphan.name }, 'deleted the fact index of a namespace deleted before a crash');
  }
  records = await store.listNamespaces();
  indexes.removeOrphans(new Set(records.map((r) => r.id)));
  for (const record of records) {
    const { live, report } = await indexes.open(record);
    logger.info({ namespace: record.name, elements: live.index.stats().elements, ...report }, 'index ready');
    const expiring = new Map((await store.expiringLabels(record.id)).map((e) => [e.label as number, e.expiresAt]));
    const state: NamespaceState = { record, live, lock: new Mutex(), deleted: false, expiring };
    namespaces.set(record.name, state);
    schedulePruning(state);
  }

  function stateOf(name: string): NamespaceState {
    const state = namespaces.get(name);
    if (!state) throw new MembankError('NAMESPACE_NOT_FOUND', `Namespace "${name}" does not exist.`);
    return state;
  }

  /**
   * Runs a write under the namespace's lock, then applies the outcome to its index in commit order. `basis` is
   * the namespace record the write's vectors were made for: if a re-embedding swapped the namespace's embedder
   * since, the vectors no longer fit and nothing is written.
   */
  async function commit(
    state: NamespaceState,
    write: () => Promise<WriteOutcome | undefined>,
    vectors?: Float32Array[],
    basis?: NamespaceRecord,
  ) {
    if (closing) throw new MembankError('SHUTTING_DOWN');
    return state.lock.run(async () => {
      if (state.deleted) throw new MembankError('NAMESPACE_NOT_FOUND', `Namespace "${state.record.name}" does not exist.`);
      if (basis && state.record !== basis) {
        throw new MembankError(
          'EMBEDDER_MISMATCH',
          `Namespace "${basis.name}" was re-embedded with ${state.record.embedder} while this write was being embedded; it was not written. Send it again.`,
        );
      }
      const outcome = await write();
      if (!outcome) return undefined;
      for (const label of outcome.removed) state.expiring.delete(label);
      try {
        for (const label of outcome.removed) state.live.index.remove(label);
        for (let i = 0; i < outcome.labels.length; i++) {
          // HNSW inserts are CPU work on the event loop: let queries through between slices of a large write.
          if (i > 0 && i % INDEX_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
          state.live.index.upsert(outcome.labels[i]!, vectors![i]!);
        }
        state.live.pending += outcome.removed.length + outcome.labels.length;
      } catch (error) {
        // The write is committed and stays acknowledged; the index is a cache, so rebuild it from the store.
        logger.error({ err: error, namespace: state.record.name }, 'index update failed; rebuilding index from SQLite');
        state.live = await indexes.rebuild(state.record);
      }
      return outcome;
    });
  }

  async function describeEmbedder(name: string): Promise<{ dimensions: number; revision: string }> {
    const known = await embedders.describe(name);
    if (!known) throw new MembankError('UNKNOWN_EMBEDDER', `Unknown embedder "${name}". Available: ${embedders.names().join(', ')}.`);
    return known;
  }

  /** A delete through `commit`; false when there was nothing to delete. */
  async function commitDelete(state: NamespaceState, remove: () => Promise<DeleteOutcome | undefined>): Promise<boolean> {
    const outcome = await commit(state, async () => {
      const deleted = await remove();
      return deleted && { ...deleted, labels: [] };
    });
    return outcome !== undefined;
  }

  async function embed(record: NamespaceRecord, texts: string[], priority: 'query' | 'ingest'): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    if (record.embedder === null) {
      throw new MembankError('NO_EMBEDDER', `Namespace "${record.name}" has no embedder: supply vectors with the texts.`);
    }
    const embedder = await embedders.get(record.embedder);
    if (record.embedderRevision !== null && embedder.revision !== record.embedderRevision) {
      throw new MembankError(
        'EMBEDDER_MISMATCH',
        `Namespace "${record.name}" was embedded with ${record.embedder} at revision ${record.embedderRevision}, but that embedder is now at ${embedder.revision}: its vectors would not be comparable. Re-embed the namespace (POST /v1/namespaces/${record.name}/reembed).`,
      );
    }
    const vectors = await embedder.embed(texts, priority);
    return vectors.map((v) => unwrap(checkVector(record.space, record.dimensions, v)));
  }

  /** Vectors for inputs: the caller's where given (checked), else embedded. */
  async function vectorsFor(record: NamespaceRecord, inputs: { text?: string; vector?: number[] }[], at: string) {
    const vectors = new Array<Float32Array>(inputs.length);
    const toEmbed: number[] = [];
    inputs.forEach((input, i) => {
      if (input.vector) {
        const checked = checkVector(record.space, record.dimensions, input.vector);
        if (!checked.ok) throw new MembankError(checked.code, `${at}[${i}].vector: ${checked.message}`, checked.details);
        vectors[i] = checked.value;
      } else {
        toEmbed.push(i);
      }
    });
    const embedded = await embed(record, toEmbed.map((i) => inputs[i]!.text!), 'ingest');
    toEmbed.forEach((inputIndex, j) => (vectors[inputIndex] = embedded[j]!));
    return vectors;
  }

  return {
    async createNamespace(input: CreateNamespaceInput): Promise<{ namespace: NamespaceRecord; created: boolean }> {
      return namespaceLock.run(async () => {
        const existing = namespaces.get(input.name);
        if (existing) {
          const r = existing.record;
          const differs = [
            input.space !== undefined && input.space !== r.space && 'space',
            input.embedder !== undefined && input.embedder !== r.embedder && 'embedder',
            input.dimensions !== undefined && input.dimensions !== r.dimensions && 'dimensions',
            input.hnsw?.m !== undefined && input.hnsw.m !== r.hnsw.m && 'hnsw.m',
            input.hnsw?.efConstruction !== undefined && input.hnsw.efConstruction !== r.hnsw.efConstruction && 'hnsw.efConstruction',
            input.hnsw?.efSearch !== undefined && input.hnsw.efSearch !== r.hnsw.efSearch && 'hnsw.efSearch',
            input.facts !== undefined &&
              JSON.stringify([...input.facts.singleValued.map(normalizeKey)].sort()) !==
                JSON.stringify([...r.settings.facts.singleValued].sort()) &&
              'facts.singleValued',
            input.forgetting !== undefined &&
              JSON.stringify(mergeForgetting(r.settings.forgetting, input.forgetting)) !== JSON.stringify(r.settings.forgetting) &&
              'forgetting',
          ].filter((field): field is string => Boolean(field));
          if (differs.length > 0) {
            throw new MembankError('NAMESPACE_CONFLICT', `Namespace "${input.name}" exists with other ${differs.join(', ')}.`, {
              differs,
              existing: r,
            });
          }
          return { namespace: r, created: false };
        }
        const embedder = input.embedder === undefined ? options.defaultEmbedder : input.embedder;
        let dimensions: number;
        let embedderRevision: string | null = null;
        if (embedder === null) {
          if (input.dimensions === undefined) {
            throw new MembankError('VALIDATION_FAILED', 'dimensions is required when embedder is null.', { path: 'dimensions' });
          }
          dimensions = input.dimensions;
        } else {
          const known = await describeEmbedder(embedder);
          if (input.dimensions !== undefined && input.dimensions !== known.dimensions) {
            throw new MembankError('DIMENSION_MISMATCH', `Embedder "${embedder}" makes ${known.dimensions}-dimensional vectors, not ${input.dimensions}.`);
          }
          dimensions = known.dimensions;
          embedderRevision = known.revision;
        }
        const record = await store.createNamespace({
          name: input.name,
          space: input.space ?? 'cosine',
          dimensions,
          embedder,
          embedderRevision,
          hnsw: { ...DEFAULT_HNSW, ...input.hnsw },
          settings: {
            ...DEFAULT_SETTINGS,
            facts: { singleValued: (input.facts?.singleValued ?? []).map(normalizeKey) },
            forgetting: mergeForgetting(DEFAULT_SETTINGS.forgetting, input.forgetting ?? {}),
          },
        });
        let live: LiveIndex;
        try {
          ({ live } = await indexes.open(record));
        } catch (error) {
          // Its first checkpoint failed (a full disk): a namespace half-created would appear only after a restart.
          await store.deleteNamespace(record.id);
          indexes.removeFiles(record.id);
          throw error;
        }
        const state: NamespaceState = { record, live, lock: new Mutex(), deleted: false, expiring: new Map() };
        namespaces.set(record.name, state);
        schedulePruning(state);
        logger.info({ namespace: record.name, space: record.space, dimensions, embedder }, 'namespace created');
        emit({ kind: 'namespace', namespace: record.name, op: 'created' });
        return { namespace: record, created: true };
      });
    },

    listNamespaces(): NamespaceRecord[] {
      return [...namespaces.values()]
        .map((s) => s.record)
        .filter((r) => !r.name.startsWith(FACT_INDEX_PREFIX))
        .sort((a, b) => a.name.localeCompare(b.name));
    },

    /** The namespace's record, for the services built beside this one (facts). */
    namespace(name: string): NamespaceRecord {
      return stateOf(name).record;
    },

    /**
     * The hidden namespace that holds a namespace's fact sentences, so that facts get their own HNSW index
     * under the same durability rules as memories; created on first use. Null when the namespace has no
     * embedder.
     */
    async factIndex(name: string): Promise<string | null> {
      const parent = stateOf(name).record;
      if (parent.embedder === null) return null;
      const hidden = `${FACT_INDEX_PREFIX}${parent.id}`;
      if (namespaces.has(hidden)) return hidden;
      return namespaceLock.run(async () => {
        if (namespaces.has(hidden)) return hidden;
        const record = await store.createNamespace({
          name: hidden,
          space: 'cosine',
          dimensions: parent.dimensions,
          embedder: parent.embedder,
          embedderRevision: parent.embedderRevision,
          hnsw: parent.hnsw,
          settings: DEFAULT_SETTINGS,
        });
        const { live } = await indexes.open(record);
        namespaces.set(hidden, { record, live, lock: new Mutex(), deleted: false, expiring: new Map() });
        return hidden;
      });
    },

    async describeNamespace(name: string): Promise<NamespaceStats> {
      const state = stateOf(name);
      const stats = state.live.index.stats();
      return {
        namespace: state.record,
        forgetRuns: await store.forgetRuns(state.record.id, RUNS_SHOWN),
        count: await store.countMemories(state.record.id),
        facts: await store.facts.count(state.record.id),
        embedderDevice: embedders.loaded().find((e) => e.name === state.record.embedder)?.device ?? null,
        index: {
          ...stats,
          pendingChanges: state.live.pending,
          lastCheckpoint: state.live.checkpointAt === null ? null : { seq: state.live.checkpointSeq, at: state.live.checkpointAt },
        },
      };
    },

    async deleteNamespace(name: string): Promise<void> {
      await namespaceLock.run(async () => {
        const state = stateOf(name);
        // The namespace and the hidden one of its facts' sentences go together.
        for (const doomed of [state, namespaces.get(`${FACT_INDEX_PREFIX}${state.record.id}`)]) {
          if (!doomed) continue;
          await doomed.lock.run(async () => {
            await store.deleteNamespace(doomed.record.id);
            doomed.deleted = true;
            doomed.pruning?.stop();
            namespaces.delete(doomed.record.name);
            indexes.removeFiles(doomed.record.id);
          });
        }
        logger.info({ namespace: name }, 'namespace deleted');
        emit({ kind: 'namespace', namespace: name, op: 'deleted' });
      });
    },

    async writeMemories(name: string, inputs: MemoryInput[]): Promise<string[]> {
      const state = stateOf(name);
      const basis = state.record;
      const vectors = await vectorsFor(basis, inputs, 'memories');
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
      const outcome = await commit(state, () => store.writeMemories(basis.id, writes, undefined, at), vectors, basis);
      noteExpiry(state, outcome, writes);
      emit({ kind: 'memories', namespace: name, op: 'written', ids: writes.map((w) => w.id) });
      return writes.map((w) => w.id);
    },

    async writeDocuments(name: string, documents: DocumentInput[], chunking: ChunkingInput = {}) {
      const state = stateOf(name);
      const options = { ...DEFAULT_CHUNKING, ...chunking };
      const at = now();
      const chunked = documents.map((doc) => {
        const documentId = doc.id ?? randomUUID();
        const texts = chunkText(doc.text, options);
        return { doc, documentId, texts };
      });
      const basis = state.record;
      const vectors = await embed(basis, chunked.flatMap((c) => c.texts), 'ingest');
      let offset = 0;
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
        const outcome = await commit(state, () => store.writeMemories(basis.id, writes, documentId, at), docVectors, basis);
        noteExpiry(state, outcome, writes);
        emit({ kind: 'memories', namespace: name, op: 'written', ids: writes.map((w) => w.id) });
        results.push({ id: documentId, chunks: writes.map((w) => w.id) });
      }
      return results;
    },

    async getMemory(name: string, id: string, withVector: boolean): Promise<MemoryRecord> {
      const state = stateOf(name);
      const memory = await store.getMemory(state.record.id, id, withVector, now());
      if (!memory) throw new MembankError('MEMORY_NOT_FOUND', `No memory "${id}" in namespace "${name}".`);
      return memory;
    },

    async hasMemory(name: string, id: string): Promise<boolean> {
      return (await store.getMemory(stateOf(name).record.id, id, false, now())) !== undefined;
    },

    async listMemories(name: string, page: { limit: number; cursor?: string; withVector: boolean }) {
      const state = stateOf(name);
      const after = page.cursor === undefined ? null : decodeCursor(page.cursor);
      const result = await store.listMemories(state.record.id, after, page.limit, page.withVector, now());
      return { memories: result.memories, nextCursor: result.next === null ? null : encodeCursor(result.next) };
    },

    async deleteMemory(name: string, id: string): Promise<void> {
      const state = stateOf(name);
      if (!(await commitDelete(state, () => store.deleteMemory(state.record.id, id)))) {
        throw new MembankError('MEMORY_NOT_FOUND', `No memory "${id}" in namespace "${name}".`);
      }
      emit({ kind: 'memories', namespace: name, op: 'deleted', ids: [id] });
    },

    async deleteDocument(name: string, documentId: string): Promise<void> {
      const state = stateOf(name);
      if (!(await commitDelete(state, () => store.deleteDocument(state.record.id, documentId)))) {
        throw new MembankError('DOCUMENT_NOT_FOUND', `No document "${documentId}" in namespace "${name}".`);
      }
      emit({ kind: 'memories', namespace: name, op: 'deleted', ids: [] });
    },

    /** A memory's retention now, on its namespace's curve. */
    retentionOf(name: string, memory: MemoryRecord): number {
      return retentionNow(stateOf(name).record, memory);
    },

    /** Changes a namespace's settings (forgetting); the new schedule applies at once. */
    async patchNamespace(name: string, patch: { forgetting?: ForgettingInput }): Promise<NamespaceRecord> {
      const state = stateOf(name);
      return state.lock.run(async () => {
        const settings = { ...state.record.settings };
        if (patch.forgetting) settings.forgetting = mergeForgetting(settings.forgetting, patch.forgetting);
        state.record = await store.updateSettings(state.record.id, settings);
        schedulePruning(state);
        logger.info({ namespace: name, forgetting: settings.forgetting }, 'namespace settings changed');
        emit({ kind: 'namespace', namespace: name, op: 'updated' });
        return state.record;
      });
    },

    /** Calls `listener` after every forgetting run but dry runs (metrics). */
    onForgetRun(listener: (namespace: string, run: ForgetRun) => void): void {
      forgetListeners.push(listener);
    },

    /** Calls `listener` after every committed change; returns a function that stops it. */
    onChange(listener: (event: ChangeEvent) => void): () => void {
      changeListeners.add(listener);
      return () => changeListeners.delete(listener);
    },

    /** Runs a forgetting policy now (see forget). */
    forget: (name: string, input: ForgetInput): Promise<ForgetOutcome> => forget(stateOf(name), input, 'manual'),

    /**
     * Erases every memory matching a filter, whole documents included, protected or not (erase means erase),
     * then compacts the database so that their text does not linger in free pages.
     */
    async erase(name: string, filter: FilterNode): Promise<number> {
      const state = stateOf(name);
      const labels = await store.eraseLabels(state.record.id, filter);
      for (let i = 0; i < labels.length; i += DELETE_BATCH) {
        const batch = labels.slice(i, i + DELETE_BATCH);
        await commitDelete(state, () => store.deleteLabels(state.record.id, batch));
        emit({ kind: 'memories', namespace: name, op: 'deleted', ids: [] });
        await yieldToQueries();
      }
      await compact(store);
      await store.truncateLog();
      logger.info({ namespace: name, erased: labels.length }, 'memories erased');
      return labels.length;
    },

    /** Searches one namespace (see search.ts for the modes). */
    query: (name: string, input: QueryRequest): Promise<SearchHit[]> => searchNamespaces([name], input),

    /** One search over several namespaces that share an embedder, merged by score. */
    queryMany: (names: string[], input: QueryRequest): Promise<SearchHit[]> => searchNamespaces(names, input),

    /** Embeds texts with a named embedder, as the OpenAI-shaped /v1/embeddings endpoint serves them. */
    async embedTexts(model: string, texts: string[]): Promise<Float32Array[]> {
      const embedder = await embedders.get(model);
      return embedder.embed(texts, texts.length === 1 ? 'query' : 'ingest');
    },

    embedderNames(): string[] {
      return embedders.names();
    },

    /** Re-embeds a namespace with another embedder in a background job (see startReembed). */
    reembed: (name: string, embedderName: string): Promise<JobView> => startReembed(name, embedderName),

    async getJob(id: string): Promise<JobView> {
      const live = jobs.get(id);
      if (live) return jobView(live);
      const record = await store.getJob(id);
      if (!record) throw new MembankError('JOB_NOT_FOUND', `No job "${id}".`);
      return jobView({ record, startedAt: performance.now() - (record.updatedAt - record.createdAt) });
    },

    health() {
      return {
        status: closing ? 'shutting_down' : 'ok',
        namespaces: [...namespaces.keys()].filter((name) => !name.startsWith(FACT_INDEX_PREFIX)).length,
        embedders: embedders.loaded().map((e) => ({ name: e.name, device: e.device, dimensions: e.dimensions })),
      };
    },

    /** Checkpoints every index with changes since its last checkpoint. */
    async checkpoint(): Promise<void> {
      await recalls.flush();
      for (const state of namespaces.values()) {
        if (state.live.pending === 0) continue;
        await state.lock.run(async () => {
          if (state.deleted || state.live.pending === 0) return;
          const started = performance.now();
          await indexes.checkpoint(state.record, state.live, await store.currentSeq());
          logger.debug({ namespace: state.record.name, ms: Math.round(performance.now() - started) }, 'index checkpointed');
        });
      }
    },

    /** Stops taking writes, checkpoints every index and closes the store and embedders. */
    async close(): Promise<void> {
      if (closing) return;
      closing = true;
      for (const state of namespaces.values()) state.pruning?.stop();
      await recalls.close();
      // A checkpoint that fails (a full disk) must not keep SQLite open: the changes are in SQLite, and the
      // next start replays them from the last good checkpoint.
      let failure: unknown;
      await namespaceLock.run(async () => {
        for (const state of namespaces.values()) {
          await state.lock.run(async () => {
            if (state.live.pending > 0) await indexes.checkpoint(state.record, state.live, await store.currentSeq());
          }).catch((error: unknown) => {
            logger.error({ err: error, namespace: state.record.name }, 'checkpoint at shutdown failed; the next start replays');
            failure ??= error;
          });
        }
      });
      await embedders.close();
      await store.close();
      if (failure !== undefined) throw failure;
    },
  };

  /**
   * Starts re-embedding every memory of a namespace with another embedder, as a background job. The
   * namespace serves its current vectors until the job swaps the new ones in, atomically, at the end.
   */
  async function startReembed(name: string, embedderName: string): Promise<JobView> {
    const state = stateOf(name);
    if ([...jobs.values()].some((j) => j.record.namespaceId === state.record.id && j.record.status === 'running')) {
      throw new MembankError('JOB_CONFLICT', `Namespace "${name}" is already being re-embedded.`);
    }
    await describeEmbedder(embedderName);
    const vectorOnly = await store.countWithoutText(state.record.id);
    if (vectorOnly > 0) {
      throw new MembankError('VALIDATION_FAILED', `${vectorOnly} memories of "${name}" have no text to re-embed (caller-supplied vectors only).`);
    }
    const now = Date.now();
    const record: JobRecord = {
      id: randomUUID(),
      kind: 'reembed',
      namespaceId: state.record.id,
      status: 'running',
      done: 0,
      total: await store.countMemories(state.record.id),
      params: { embedder: embedderName },
      error: null,
      createdAt: now,
      updatedAt: now,
    };
    await store.createJob(record);
    const job = { record, startedAt: performance.now() };
    jobs.set(record.id, job);
    logger.info({ job: record.id, namespace: name, embedder: embedderName, memories: record.total }, 're-embedding started');
    runReembed(state, job).then(
      () => {
        logger.info({ job: record.id, namespace: name, memories: record.done }, 're-embedding done');
        // The namespace's facts follow it to the new embedder, in a job of their own.
        const facts = `${FACT_INDEX_PREFIX}${state.record.id}`;
        if (namespaces.has(facts)) {
          startReembed(facts, embedderName).catch((error: unknown) => logger.error({ err: error, namespace: facts }, 're-embedding facts failed'));
        }
      },
      async (error: unknown) => {
        record.status = 'failed';
        record.error = error instanceof Error ? error.message : String(error);
        logger.error({ job: record.id, namespace: name, err: error }, 're-embedding failed');
        await store.updateJob(record.id, record).catch((e: unknown) => logger.error({ err: e }, 'could not record the failed job'));
      },
    );
    return jobView(job);
  }

  function jobView({ record, startedAt }: { record: JobRecord; startedAt: number }): JobView {
    const seconds = Math.max(1e-3, (performance.now() - startedAt) / 1000);
    const rate = record.done / seconds;
    const namespace = [...namespaces.values()].find((s) => s.record.id === record.namespaceId)?.record.name ?? null;
    return {
      id: record.id,
      namespace,
      status: record.status,
      done: record.done,
      total: record.total,
      rate: Math.round(rate * 10) / 10,
      eta: record.status === 'running' && rate > 0 ? Math.round(Math.max(0, record.total - record.done) / rate) : null,
      ...(record.error !== null && { error: record.error }),
    };
  }

  /**
   * The re-embedding job: embeds every memory's text with the new embedder into staged vectors and a new
   * index, catches up with writes made meanwhile, and finally, under the namespace's write lock, catches up
   * once more and swaps vectors, embedder and index in one step.
   */
  async function runReembed(state: NamespaceState, job: { record: JobRecord }): Promise<void> {
    const { record } = job;
    const embedder = await embedders.get(record.params.embedder);
    const shape = { space: state.record.space, dimensions: embedder.dimensions, hnsw: state.record.hnsw };
    const index = options.indexFactory.create(shape, Math.ceil(record.total * 1.1));
    const BATCH = 256;

    const embedSince = async (seq: number): Promise<number> => {
      let processed = 0;
      for (let after = 0; ; ) {
        if (state.deleted) throw new Error('the namespace was deleted');
        const rows = await store.textsSince(state.record.id, seq, after, BATCH);
        if (rows.length === 0) return processed;
        const missing = rows.find((row) => row.text === null);
        if (missing) throw new Error('a memory without text was written during the job; it cannot be re-embedded');
        const vectors = await embedder.embed(rows.map((row) => row.text!), 'ingest');
        const staged: LabeledVector[] = rows.map((row, i) => ({
          label: row.label,
          vector: unwrap(checkVector(shape.space, shape.dimensions, vectors[i]!)),
        }));
        await store.stageVectors(record.id, staged);
        for (const { label, vector } of staged) index.upsert(label, vector);
        processed += rows.length;
        if (seq >= 0) record.total += rows.length; // catch-up work beyond the first pass
        record.done += rows.length;
        await store.updateJob(record.id, record);
        after = rows[rows.length - 1]!.label;
      }
    };
    const removeSince = async (seq: number): Promise<void> => {
      for (const label of (await store.changesSince(state.record.id, seq)).removed) index.remove(label);
    };

    let mark = await store.currentSeq();
    await embedSince(-1);
    // Catch up outside the lock while writes keep coming, until little is left.
    for (let round = 0; round < 5; round++) {
      const from = mark;
      mark = await store.currentSeq();
      await removeSince(from);
      if ((await embedSince(from)) < BATCH) break;
    }
    await state.lock.run(async () => {
      if (state.deleted) throw new Error('the namespace was deleted');
      await removeSince(mark);
      await embedSince(mark);
      const swapped = await store.swapEmbedding(state.record.id, record.id, {
        embedder: record.params.embedder,
        dimensions: embedder.dimensions,
        revision: embedder.revision,
      });
      state.record = swapped.namespace;
      state.live = { index, checkpointSeq: 0, checkpointAt: null, pending: index.stats().elements };
      await indexes.checkpoint(state.record, state.live, swapped.seq);
      record.status = 'done';
      record.total = record.done;
      await store.updateJob(record.id, record);
    });
  }

  async function searchNamespaces(names: string[], input: QueryRequest): Promise<SearchHit[]> {
    const states = [...new Set(names)].map(stateOf);
    const first = states[0]!.record;
    const other = states.find(
      (s) => s.record.embedder !== first.embedder || s.record.embedderRevision !== first.embedderRevision || s.record.space !== first.space,
    );
    if (other) {
      throw new MembankError(
        'EMBEDDER_MISMATCH',
        `Namespaces "${first.name}" and "${other.record.name}" hold vectors of different embedders or spaces, so their scores cannot be merged.`,
      );
    }
    if (input.embedder !== undefined && input.embedder !== first.embedder) {
      throw new MembankError(
        'EMBEDDER_MISMATCH',
        `Namespace "${first.name}" holds vectors of ${first.embedder ?? 'the caller (embedder null)'}, not ${input.embedder}.`,
      );
    }
    const mode: SearchMode = input.mode ?? (input.vector ? 'vector' : first.embedder === null ? 'keyword' : 'hybrid');
    const vector =
      mode === 'keyword'
        ? undefined
        : input.vector
          ? unwrap(checkVector(first.space, first.dimensions, input.vector))
          : (await embed(first, [input.query!], 'query'))[0]!;
    const include = new Set<IncludeField>(input.include ?? ['text', 'metadata']);
    const at = now();
    const hits = await search(
      store,
      states.map((state) => ({ record: state.record, nearest: (v, k, scope) => nearest(state, v, k, scope) })),
      {
        mode,
        text: input.query,
        vector,
        k: input.k,
        scope: { filter: input.filter, after: input.after, before: input.before, visibleAt: at },
        hybrid: input.hybrid ?? HYBRID_DEFAULTS,
        mmr: input.mmr,
        minScore: input.minScore,
        recency: input.recency,
        expand: input.expand,
        retentionWeight: input.rank?.retention,
        retentionOf: (namespace, memory) => retentionNow(namespace, memory, at),
        fields: { text: include.has('text'), metadata: include.has('metadata'), vector: include.has('vector') },
        now: at,
      },
    );
    if (input.reinforce !== false) recalls.note(hits.map((hit) => hit.memory.label));
    return hits;
  }

  function noteExpiry(state: NamespaceState, outcome: WriteOutcome | undefined, writes: MemoryWrite[]): void {
    outcome?.labels.forEach((label, i) => {
      const expiresAt = writes[i]!.expiresAt;
      if (expiresAt === null) state.expiring.delete(label);
      else state.expiring.set(label, expiresAt);
    });
  }

  function retentionNow(record: NamespaceRecord, memory: MemoryRecord, at = now()): number {
    const touched = memory.lastRecalledAt ?? memory.createdAt;
    return retention({ strength: memory.strength, lastTouchedAt: touched }, at, record.settings.forgetting.timescale);
  }

  /** Starts, replaces or stops the namespace's pruning schedule after its settings. */
  function schedulePruning(state: NamespaceState): void {
    state.pruning?.stop();
    state.pruning = undefined;
    if (state.record.name.startsWith(FACT_INDEX_PREFIX) || state.deleted) return;
    const { schedule } = state.record.settings.forgetting;
    state.pruning = new Cron(schedule, { protect: true, unref: true, name: undefined }, async () => {
      if (closing || state.deleted) return;
      await forget(state, { expired: true, dryRun: false }, 'scheduled').catch((error: unknown) =>
        logger.error({ err: error, namespace: state.record.name }, 'scheduled forgetting failed'),
      );
    });
  }

  /** A forgetting run (see forgetting.ts) over a namespace, deleting through its write lock and index. */
  function forget(state: NamespaceState, input: ForgetInput, trigger: ForgetRun['trigger']): Promise<ForgetOutcome> {
    const target = {
      get record() {
        return state.record;
      },
      get deleted() {
        return state.deleted;
      },
      remove: async (labels: Label[]) => {
        if (await commitDelete(state, () => store.deleteLabels(state.record.id, labels))) {
          emit({ kind: 'memories', namespace: state.record.name, op: 'deleted', ids: [] });
        }
      },
    };
    return runForgetting({ store, logger, now, onRun: (name, run) => forgetListeners.forEach((listener) => listener(name, run)) }, target, input, trigger);
  }

  /** The namespace's nearest memories in scope: its index, or exact search when the scope is small. */
  async function nearest(state: NamespaceState, query: Float32Array, k: number, scope: Scope): Promise<Neighbor[]> {
    if (isUnscoped(scope)) {
      // Expired memories stay in the index until pruned; keep them out of the results meanwhile.
      const at = scope.visibleAt;
      if (at === undefined || state.expiring.size === 0) return state.live.index.search(query, k);
      const { expiring } = state;
      return state.live.index.search(query, k, { accept: (label) => !((expiring.get(label) ?? Infinity) <= at) });
    }
    const { record } = state;
    const threshold = options.exactSearchThreshold;
    const few = await store.matchingLabels(record.id, scope, threshold + 1);
    if (few.length <= threshold) {
      return exactSearch(record.space, query, await store.vectorsByLabels(record.id, few), k);
    }
    const all = await store.matchingLabels(record.id, scope, Number.MAX_SAFE_INTEGER);
    const allowed = new Set<number>(all);
    const hits = state.live.index.search(query, k, { accept: (label) => allowed.has(label) });
    if (hits.length >= Math.min(k, all.length)) return hits;
    // HNSW ran out of candidates under the filter: fall back to exact search over the matching set.
    return exactSearch(record.space, query, await store.vectorsByLabels(record.id, all), k);
  }
}

export type MemoryService = Awaited<ReturnType<typeof createMemoryService>>;

export interface JobView {
  id: string;
  namespace: string | null;
  status: JobRecord['status'];
  done: number;
  total: number;
  /** Memories per second so far. */
  rate: number;
  /** Seconds left at that rate (null when not running). */
  eta: number | null;
  error?: string;
}
