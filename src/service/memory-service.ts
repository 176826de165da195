/**
 * The memory service's public face, wired from its use cases: the namespace registry (namespaces.ts), the
 * write path (writes.ts), the index cache with each loaded namespace's search state (residents/), the search
 * planner (search.ts), background jobs (jobs.ts), scheduled forgetting (scheduler.ts, forgetting.ts) and recall
 * reinforcement (recalls.ts), over the store's ports and the embedders.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { effectiveHybrid, type ForgetInput, type HybridOverrides, type IncludeField, type PatchNamespaceInput, type QueryInput } from '../api/schemas.js';
import { checkVector } from '../core/distance.js';
import { MembankError, unwrap } from '../core/errors.js';
import { filterFields } from '../core/table/field-index.js';
import type { FilterNode } from '../core/filter.js';
import type { Scope } from '../core/scope.js';
import type { TextFilter } from '../core/text-filter.js';
import { memoryRetention } from '../core/retention.js';
import type { Label, MemoryRecord, NamespaceRecord } from '../core/types.js';
import type { EmbedderProvider } from '../ports/embedder.js';
import type { ForgetRun } from '../ports/forget-store.js';
import type { HistoryEvent } from '../ports/history-store.js';
import type { Store } from '../ports/store.js';
import type { VectorIndexFactory } from '../ports/vector-index.js';
import { createChangeFeed } from './change-feed.js';
import { createEmbedding } from './embedding.js';
import { DELETE_BATCH, type ForgetOutcome, runForgetting, yieldToQueries } from './forgetting.js';
import { createJobs, type JobView } from './jobs.js';
import type { NamespaceState } from './namespace-state.js';
import { createNamespaceRegistry, FACT_INDEX_PREFIX } from './namespaces.js';
import { createRecallRecorder } from './recalls.js';
import { createGraphFiles } from './residents/graph-files.js';
import { createIndexCache, type IndexView } from './residents/index-cache.js';
import { autoExactThreshold } from './residents/resident.js';
import { createScheduler } from './scheduler.js';
import { search, type SearchHit, type SearchMode, type SearchTarget, readHybridQuery, tagPaths } from './search.js';
import { type ChangeEvent, createWritePath } from './writes.js';

export type { ChangeEvent, ForgetOutcome, IndexView, JobView };
export { FACT_INDEX_PREFIX };

export interface ServiceOptions {
  dataDir: string;
  store: Store;
  embedders: EmbedderProvider;
  indexFactory: VectorIndexFactory;
  logger: Logger;
  /** Embedder of namespaces created without one. */
  defaultEmbedder: string;
  /** A filtered query with at most this many matches is answered by exact search over them (`auto`: by dimensions). */
  exactSearchThreshold: number | 'auto';
  /** Bytes the loaded namespaces may hold before the least recently used are unloaded. */
  indexMemoryBytes: number;
  /** Vectors above which a namespace gets an HNSW graph (unless its own `hnsw.threshold` says otherwise). */
  hnswThreshold: number | 'auto';
  /** Other nodes write the same store (cluster mode): records and heads are re-read before fresh reads. */
  shared?: boolean;
  /** Cluster mode: whether this node runs a schedule's tick. */
  claimTick?: (schedule: string, tick: number) => Promise<boolean>;
  /** Epoch ms now; tests advance it. Default: the wall clock. */
  clock?: () => number;
}

/** A query as the service takes it: the API's query body, over one or several namespaces. */
export type QueryRequest = Omit<QueryInput, 'hybrid' | 'reinforce' | 'consistency'> & {
  hybrid?: QueryInput['hybrid'];
  /** Whether the results count as recalled (default true). */
  reinforce?: boolean;
  /** `eventual` skips the freshness check against the store (cluster mode). */
  consistency?: 'strong' | 'eventual';
  /** Only these memories (one namespace's ids). */
  ids?: string[];
};

export interface NamespaceStats {
  namespace: NamespaceRecord;
  /** Latest forgetting runs, most recent first. */
  forgetRuns: ForgetRun[];
  count: number;
  /** Facts, current and past. */
  facts: number;
  /** Where the namespace's embedder runs, once it is loaded. */
  embedderDevice: string | null;
  index: IndexView & { seq: number };
}

/** Which memories a listing or a delete is about: any of a metadata filter, a text filter, and ids. */
export interface Selection {
  filter?: FilterNode;
  textFilter?: TextFilter;
  ids?: string[];
  consistency?: 'strong' | 'eventual';
}

/** Forgetting runs shown with a namespace. */
const RUNS_SHOWN = 10;
/** Events of one memory's history answered (versions, duplicates and tombstones are each capped by the namespace's maxVersions). */
const HISTORY_EVENTS = 5000;

const encodeCursor = (label: number): string => Buffer.from(String(label)).toString('base64url');

function decodeCursor(cursor: string): number {
  const decoded = /^[A-Za-z0-9_-]+$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString() : '';
  const label = /^\d{1,15}$/.test(decoded) ? Number(decoded) : Number.NaN;
  if (!Number.isSafeInteger(label)) {
    throw new MembankError('VALIDATION_FAILED', 'The cursor is not one this service returned.', { path: 'cursor' });
  }
  return label;
}

export async function createMemoryService(options: ServiceOptions) {
  const { store, embedders, logger } = options;
  const now = options.clock ?? Date.now;
  const shared = options.shared ?? false;
  let closing = false;

  const changeListeners = new Set<(event: ChangeEvent) => void>();
  const forgetListeners: ((namespace: string, run: ForgetRun) => void)[] = [];
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

  const files = createGraphFiles(join(options.dataDir, 'indexes'), options.indexFactory);
  const cache = createIndexCache({
    store,
    factory: options.indexFactory,
    files,
    logger,
    budgetBytes: options.indexMemoryBytes,
    defaultThreshold: options.hnswThreshold,
    now,
  });
  const scheduler = createScheduler({
    store,
    logger,
    now,
    claim: options.claimTick,
    run: async (name) => {
      const state = await registry.find(name, true);
      if (state && !closing) await forget(state, { expired: true, dryRun: false }, 'scheduled');
    },
  });
  const registry = createNamespaceRegistry({
    store,
    cache,
    embedders,
    logger,
    defaultEmbedder: options.defaultEmbedder,
    shared,
    onNamespace: (name, op, record) => {
      if (op !== 'deleted' && !name.startsWith(FACT_INDEX_PREFIX)) scheduler.ensure(record.settings.forgetting.schedule);
      emit({ kind: 'namespace', namespace: name, op });
    },
  });
  const embedding = createEmbedding(embedders);
  const writes = createWritePath({ store, registry, cache, embedding, now, isClosing: () => closing, emit });
  const feed = createChangeFeed({
    store,
    registry,
    onChange: (listener) => {
      changeListeners.add(listener);
      return () => changeListeners.delete(listener);
    },
  });
  const jobs = createJobs({
    store,
    registry,
    cache,
    files,
    embedders,
    factory: options.indexFactory,
    logger,
    onSwapped: (name) => emit({ kind: 'namespace', namespace: name, op: 'updated' }),
  });
  const recalls = createRecallRecorder({ store, logger, now });

  const interrupted = await store.jobs.failInterrupted('interrupted: the service stopped before the job finished');
  if (interrupted > 0) logger.warn({ jobs: interrupted }, 'marked interrupted jobs as failed');
  await registry.removeOrphans();
  await scheduler.start();
  // Graph files of namespaces deleted before a crash: cleaned up after start (one lookup per namespace with
  // files), so that the start itself reads no file per namespace.
  setImmediate(() => {
    void (async () => {
      const live = new Set<number>();
      for (const id of files.namespaceIds()) if ((await store.namespaces.byId(id)) !== undefined) live.add(id);
      const removed = files.removeOrphans((id) => live.has(id));
      if (removed > 0) logger.warn({ files: removed }, 'removed index files of namespaces deleted before a crash');
    })().catch((error: unknown) => logger.warn({ err: error }, 'cleaning up orphan index files failed'));
  });

  function retentionNow(record: NamespaceRecord, memory: MemoryRecord, at = now()): number {
    return memoryRetention(memory, at, record.settings.forgetting.timescale);
  }

  /** A forgetting run (see forgetting.ts) over a namespace, deleting through the write path. */
  function forget(state: NamespaceState, input: ForgetInput, trigger: ForgetRun['trigger']): Promise<ForgetOutcome> {
    const target = {
      get record() {
        return state.record;
      },
      get deleted() {
        return state.deleted;
      },
      remove: async (labels: Label[], reason: 'expired' | 'forgotten') => {
        await writes.removeLabels(state, labels, reason);
      },
    };
    return runForgetting({ store, logger, now, onRun: (name, run) => forgetListeners.forEach((listener) => listener(name, run)) }, target, input, trigger);
  }

  /**
   * The namespace's resident, fresh: loaded if needed, caught up with what other nodes committed (shared store,
   * unless `eventual`), and with the field postings and keyword index the query needs.
   */
  async function residentFor(state: NamespaceState, needs: { filter?: FilterNode; tagFields?: string[][]; keywords: boolean; texts?: boolean }) {
    let resident = await cache.acquire(state);
    if (resident.seq < state.head || state.resident !== resident) {
      await state.lock.run(() => cache.catchUp(state, state.head));
      resident = await cache.acquire(state);
    }
    const fields = [...(needs.filter ? filterFields(needs.filter).values() : []), ...(needs.tagFields ?? [])].filter(
      (path) => !resident.table.hasField(path),
    );
    if (fields.length > 0 || (needs.keywords && !resident.table.hasKeywords) || (needs.texts && !resident.table.hasTexts)) {
      await state.lock.run(() => cache.prepare(state, { fields, keywords: needs.keywords, texts: needs.texts }));
      resident = state.resident ?? (await cache.acquire(state));
    }
    return resident;
  }

  /** The labels of the memories with these ids (expired ones left out), in chunks the store takes. */
  async function labelsOfIds(state: NamespaceState, ids: string[], at: number): Promise<Set<number>> {
    const labels = new Set<number>();
    const none = { text: false, metadata: false, vector: false };
    for (let i = 0; i < ids.length; i += 1000) {
      for (const m of await store.memories.byIds(state.record.id, ids.slice(i, i + 1000), none, at)) labels.add(m.label);
    }
    return labels;
  }

  /** The labels a selection (filter, text filter, ids) matches in a namespace, visible at `at`, in label order. */
  async function select(state: NamespaceState, selection: Selection, at: number): Promise<Label[]> {
    const resident = await residentFor(state, { filter: selection.filter, keywords: false, texts: selection.textFilter !== undefined });
    const scope: Scope = {
      filter: selection.filter,
      text: selection.textFilter,
      labels: selection.ids ? await labelsOfIds(state, selection.ids, at) : undefined,
    };
    return resident.table.labelsOf(resident.table.scope(scope), at);
  }

  async function searchNamespaces(names: string[], input: QueryRequest): Promise<SearchHit[]> {
    const fresh = input.consistency !== 'eventual';
    const states = await Promise.all([...new Set(names)].map((name) => registry.get(name, fresh)));
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
    const hybrid = effectiveHybrid(first.settings.hybrid as HybridOverrides | undefined, input.hybrid);
    const needs = {
      filter: input.filter,
      tagFields: mode === 'hybrid' && hybrid.mentionBoost > 0 ? tagPaths(hybrid) : [],
      keywords: mode !== 'vector',
      texts: input.textFilter !== undefined,
    };
    const targets: SearchTarget[] = [];
    for (const state of states) targets.push({ record: state.record, resident: await residentFor(state, needs) });
    const at = now();
    // Hybrid embeds the query without the time it names and the names it mentions: see readHybridQuery.
    const hybridQuery = mode === 'hybrid' && input.query !== undefined ? readHybridQuery(targets, input.query, hybrid, at) : undefined;
    const embedded = hybridQuery?.vectorText ?? input.query;
    const vector =
      mode === 'keyword'
        ? undefined
        : input.vector
          ? unwrap(checkVector(first.space, first.dimensions, input.vector))
          : (await embedding.embed(first, [embedded!], 'query'))[0]!;
    const include = new Set<IncludeField>(input.include ?? ['text', 'metadata']);
    const labels = input.ids ? new Set<number>() : undefined;
    if (input.ids) for (const state of states) for (const label of await labelsOfIds(state, input.ids, at)) labels!.add(label);
    const hits = await search(store, targets, {
      mode,
      text: input.query,
      vector,
      k: input.k,
      scope: { filter: input.filter, text: input.textFilter, labels, after: input.after, before: input.before, visibleAt: at },
      hybrid,
      mmr: input.mmr,
      minScore: input.minScore,
      recency: input.recency,
      expand: input.expand,
      retentionWeight: input.rank?.retention,
      retentionOf: (namespace, memory) => retentionNow(namespace, memory, at),
      fields: { text: include.has('text'), metadata: include.has('metadata'), vector: include.has('vector') },
      now: at,
      explain: include.has('explain'),
      hybridQuery,
      exactThreshold: options.exactSearchThreshold === 'auto' ? autoExactThreshold(first.dimensions) : options.exactSearchThreshold,
    });
    if (input.reinforce !== false) recalls.note(hits.map((hit) => hit.memory.label));
    return hits;
  }

  return {
    createNamespace: (input: Parameters<typeof registry.create>[0]) => registry.create(input),

    /** Namespaces the API can name, in name order. */
    listNamespaces: (): Promise<NamespaceRecord[]> => registry.list(),

    /** The namespace's record, for the services built beside this one (facts). */
    async namespace(name: string): Promise<NamespaceRecord> {
      return (await registry.get(name)).record;
    },

    /** The hidden namespace that holds a namespace's fact sentences (see NamespaceRegistry.factIndex). */
    factIndex: (name: string): Promise<string | null> => registry.factIndex(name),

    async describeNamespace(name: string): Promise<NamespaceStats> {
      const state = await registry.get(name, true);
      const count = await store.memories.count(state.record.id);
      const index = cache.view(state);
      return {
        namespace: state.record,
        forgetRuns: await store.forgetting.runs(state.record.id, RUNS_SHOWN),
        count,
        facts: await store.facts.count(state.record.id),
        embedderDevice: embedders.loaded().find((e) => e.name === state.record.embedder)?.device ?? null,
        // Not loaded: the vectors its index will hold once loaded.
        index: { ...index, elements: index.loaded ? index.elements : count, seq: state.head },
      };
    },

    deleteNamespace: (name: string): Promise<void> => registry.remove(name),

    /** Changes a namespace's name, metadata, forgetting (the new schedule applies at once) or search settings. */
    patchNamespace: (name: string, patch: PatchNamespaceInput): Promise<NamespaceRecord> => registry.patch(name, patch),

    /** The namespace with this public id, if any. */
    namespaceByUid: (uid: string): Promise<NamespaceRecord | undefined> => registry.byUid(uid),

    writeMemories: writes.writeMemories,
    writeDocuments: writes.writeDocuments,
    deleteMemory: writes.deleteMemory,
    deleteDocument: writes.deleteDocument,

    async getMemory(name: string, id: string, withVector: boolean): Promise<MemoryRecord> {
      const state = await registry.get(name);
      const memory = await store.memories.get(state.record.id, id, withVector, now());
      if (!memory) throw new MembankError('MEMORY_NOT_FOUND', `No memory "${id}" in namespace "${name}".`);
      return memory;
    },

    /**
     * A memory's history, oldest first: created, updated (with the version replaced), deduplicated, and, once
     * it is gone, its tombstone alone. MEMORY_NOT_FOUND when nothing was ever recorded of it.
     */
    async memoryHistory(name: string, id: string): Promise<HistoryEvent[]> {
      const state = await registry.get(name);
      const events = await store.history.events(state.record.id, id, HISTORY_EVENTS);
      if (events.length === 0) throw new MembankError('MEMORY_NOT_FOUND', `No memory "${id}" in namespace "${name}", and no record of one.`);
      return events;
    },

    /** The namespace's pinned memories not expired, in insertion order, at most `limit`. */
    async pinnedMemories(name: string, limit: number): Promise<MemoryRecord[]> {
      const state = await registry.get(name);
      return store.memories.pinned(state.record.id, now(), limit);
    },

    async hasMemory(name: string, id: string): Promise<boolean> {
      return (await store.memories.get((await registry.get(name)).record.id, id, false, now())) !== undefined;
    },

    async listMemories(name: string, page: { limit: number; cursor?: string; withVector: boolean }) {
      const state = await registry.get(name);
      const after = page.cursor === undefined ? null : (decodeCursor(page.cursor) as Label);
      const result = await store.memories.list(state.record.id, after, page.limit, page.withVector, now());
      return { memories: result.memories, nextCursor: result.next === null ? null : encodeCursor(result.next) };
    },

    /**
     * Memories matching a selection (metadata filter, text filter, ids; all optional), in insertion order, a page
     * at a time: after a cursor, or skipping `offset`.
     */
    async findMemories(name: string, page: Selection & { limit: number; cursor?: string; offset?: number; withVector: boolean }) {
      const state = await registry.get(name, page.consistency !== 'eventual');
      const at = now();
      const after = page.cursor === undefined ? 0 : decodeCursor(page.cursor);
      const labels = (await select(state, page, at)).filter((label) => label > after);
      const start = page.offset ?? 0;
      const chosen = labels.slice(start, start + page.limit);
      const fields = { text: true, metadata: true, vector: page.withVector };
      const read = new Map<number, MemoryRecord>();
      for (let i = 0; i < chosen.length; i += 1000) {
        for (const m of await store.memories.byLabels(state.record.id, chosen.slice(i, i + 1000), fields)) read.set(m.label, m);
      }
      const memories = chosen.filter((label) => read.has(label)).map((label) => read.get(label)!);
      const more = labels.length > start + page.limit;
      return { memories, nextCursor: more && chosen.length > 0 ? encodeCursor(chosen[chosen.length - 1]!) : null };
    },

    /** Deletes the memories a selection matches (plain deletes, as DELETE of each would). */
    async deleteMatching(name: string, selection: Selection): Promise<{ deleted: number; seq: number }> {
      const state = await registry.get(name, true);
      if (!selection.filter && !selection.textFilter && !selection.ids) {
        throw new MembankError('VALIDATION_FAILED', 'Give a filter, a textFilter or ids: deleting every memory is DELETE of the namespace.');
      }
      return writes.deleteLabels(name, await select(state, selection, Number.NEGATIVE_INFINITY));
    },

    /** Which of these ids exist in the namespace (expired ones not). */
    async existingIds(name: string, ids: string[]): Promise<Set<string>> {
      const state = await registry.get(name, true);
      const found = new Set<string>();
      const none = { text: false, metadata: false, vector: false };
      for (let i = 0; i < ids.length; i += 1000) {
        for (const m of await store.memories.byIds(state.record.id, ids.slice(i, i + 1000), none, now())) found.add(m.id);
      }
      return found;
    },

    /** Memories by id, in insertion order; ids that do not exist are left out. */
    async memoriesByIds(name: string, ids: string[], withVector: boolean): Promise<MemoryRecord[]> {
      const state = await registry.get(name, true);
      const out: MemoryRecord[] = [];
      for (let i = 0; i < ids.length; i += 1000) {
        out.push(...(await store.memories.byIds(state.record.id, ids.slice(i, i + 1000), { text: true, metadata: true, vector: withVector }, now())));
      }
      return out.sort((a, b) => a.label - b.label);
    },

    /** The distinct values of a metadata field (dotted path) with how many memories hold each, most held first. */
    async fieldValues(name: string, field: string, limit = 1000): Promise<{ value: string | number | boolean; count: number }[]> {
      const state = await registry.get(name, true);
      const path = field.split('.');
      const resident = await residentFor(state, { filter: { kind: 'compare', path, op: '$eq', value: '' }, keywords: false });
      return resident.table
        .valueCounts(path)
        .map(([value, count]) => ({ value, count }))
        .sort((a, b) => b.count - a.count || String(a.value).localeCompare(String(b.value)))
        .slice(0, limit);
    },

    updateMemories: writes.updateMemories,

    /** A memory's retention now, on its namespace's curve. */
    async retentionOf(name: string, memory: MemoryRecord): Promise<number> {
      return retentionNow((await registry.get(name)).record, memory);
    },

    /** Calls `listener` after every forgetting run but dry runs (metrics). */
    onForgetRun(listener: (namespace: string, run: ForgetRun) => void): void {
      forgetListeners.push(listener);
    },

    /** The namespaces' change feed (see change-feed.ts). */
    changes: feed,

    /** Calls `listener` after every committed change; returns a function that stops it. */
    onChange(listener: (event: ChangeEvent) => void): () => void {
      changeListeners.add(listener);
      return () => changeListeners.delete(listener);
    },

    /** Runs a forgetting policy now (see forget). */
    forget: async (name: string, input: ForgetInput): Promise<ForgetOutcome> => forget(await registry.get(name, true), input, 'manual'),

    /**
     * Erases the memories a selection matches, protected or not (erase means erase): by a metadata filter with
     * every chunk of the documents they belong to, or by a text filter or ids (exactly those). Then compacts the
     * store so that their text does not linger in free pages.
     */
    async erase(name: string, selection: (Selection & { compact?: boolean }) | FilterNode): Promise<number> {
      const chosen: Selection & { compact?: boolean } = 'kind' in selection ? { filter: selection } : selection;
      const state = await registry.get(name, true);
      const labels =
        chosen.textFilter === undefined && chosen.ids === undefined
          ? await store.forgetting.eraseLabels(state.record.id, chosen.filter!)
          : await select(state, chosen, Number.NEGATIVE_INFINITY);
      let erased = 0;
      for (let i = 0; i < labels.length; i += DELETE_BATCH) {
        erased += (await writes.removeLabels(state, labels.slice(i, i + DELETE_BATCH), 'erased'))?.removed.length ?? 0;
        await yieldToQueries();
      }
      if (chosen.compact !== false) await store.compact();
      logger.info({ namespace: name, erased }, 'memories erased');
      return erased;
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

    /** Re-embeds a namespace with another embedder in a background job (see jobs.ts). */
    reembed: (name: string, embedderName: string): Promise<JobView> => jobs.reembed(name, embedderName),

    getJob: (id: string): Promise<JobView> => jobs.get(id),

    async health() {
      return {
        status: closing ? 'shutting_down' : 'ok',
        namespaces: await store.namespaces.count(),
        embedders: embedders.loaded().map((e) => ({ name: e.name, device: e.device, dimensions: e.dimensions })),
      };
    },

    /** Loaded namespaces, their bytes and evictions so far, and the schedule timers (for /metrics). */
    cacheStats() {
      return { ...cache.stats(), scheduleTimers: scheduler.timers };
    },

    /** The loaded namespaces and their indexes (for /metrics: only these have per-namespace sizes). */
    loadedNamespaces: () => cache.loaded(),

    /** Ids of the namespaces loaded on this node (cluster mode polls their heads). */
    loadedIds(): number[] {
      return [...registry.touched()].filter((state) => state.resident !== null && !state.deleted).map((state) => state.record.id);
    },

    /**
     * Cluster mode: heads (namespace id → seq) that other nodes committed, heard by notification or polled.
     * Loaded namespaces behind them catch up at once, so that `eventual` queries see other nodes' writes soon.
     */
    async observeHeads(heads: Iterable<[number, number]>): Promise<void> {
      const byId = new Map(heads);
      for (const state of [...registry.touched()]) {
        const seq = byId.get(state.record.id);
        if (seq === undefined || state.deleted) continue;
        state.head = Math.max(state.head, seq);
        if (!state.resident || state.resident.seq >= seq || closing) continue;
        await state.lock
          .run(() => cache.catchUp(state, seq))
          .catch((error: unknown) => logger.warn({ err: error, namespace: state.record.name }, 'catching up with other nodes failed; the next query retries'));
      }
    },

    /** Waits for a namespace's graph build in flight, if any (tests and benchmarks). */
    async settled(name: string): Promise<void> {
      await cache.settled(await registry.get(name));
    },

    /** Checkpoints every graph with changes since its last checkpoint. */
    async checkpoint(): Promise<void> {
      await recalls.flush();
      await cache.checkpoint();
    },

    /** Stops taking writes, checkpoints every graph and closes the store and embedders. */
    async close(): Promise<void> {
      if (closing) return;
      closing = true;
      scheduler.stop();
      await recalls.close();
      // A checkpoint that fails (a full disk) must not keep the store open: the changes are in the store, and
      // the next start replays them from the last good checkpoint.
      let failure: unknown;
      await cache.close().catch((error: unknown) => (failure = error));
      await embedders.close();
      await store.close();
      if (failure !== undefined) throw failure;
    },
  };
}

export type MemoryService = Awaited<ReturnType<typeof createMemoryService>>;
