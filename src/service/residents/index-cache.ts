/**
 * The index cache: which namespaces have their search structures in memory. A namespace is loaded on first
 * use (concurrent first uses share one load), kept up to date by every write, and, when the loaded ones exceed
 * the memory budget, the least recently used are unloaded (their graphs checkpointed first when changed).
 * Loading is where recovery happens: a graph checkpoint is read and the changes made since are applied, or,
 * when the checkpoint is missing or damaged, a new graph is built off the request path while exact search
 * answers. Every mutation of a resident happens under its namespace's lock, in commit order.
 */
import type { Logger } from 'pino';
import { MembankError } from '../../core/errors.js';
import type { Scalar } from '../../core/filter.js';
import type { TableRow } from '../../core/table/index.js';
import type { Label } from '../../core/types.js';
import type { Store } from '../../ports/store.js';
import type { VectorIndexFactory } from '../../ports/vector-index.js';
import type { NamespaceState } from '../namespace-state.js';
import type { GraphFiles } from './graph-files.js';
import { shapeOf } from './graph-files.js';
import { autoThreshold, Resident } from './resident.js';

export interface IndexCacheOptions {
  store: Store;
  factory: VectorIndexFactory;
  files: GraphFiles;
  logger: Logger;
  /** Bytes the loaded namespaces may hold before the least recently used are unloaded. */
  budgetBytes: number;
  /** Vectors above which a namespace gets a graph, unless its own setting says otherwise; `auto` by dimensions. */
  defaultThreshold: number | 'auto';
  now: () => number;
}

/** A graph whose build failed is retried after this long. */
const BUILD_RETRY_MS = 60_000;

export interface IndexView {
  loaded: boolean;
  kind: 'exact' | 'hnsw' | null;
  building: boolean;
  elements: number;
  deleted: number;
  capacity: number;
  bytes: number;
  pendingChanges: number;
  lastCheckpoint: { seq: number; at: number } | null;
}

export function createIndexCache(options: IndexCacheOptions) {
  const { store, factory, files, logger } = options;
  /** Loaded namespaces, least recently used first, with the bytes last counted for each. */
  const lru = new Map<NamespaceState, number>();
  let total = 0;
  let evictions = 0;
  let evicting: Promise<void> | null = null;

  const thresholdOf = (state: NamespaceState): number =>
    state.record.hnsw.threshold ?? (options.defaultThreshold === 'auto' ? autoThreshold(state.record.dimensions) : options.defaultThreshold);

  /** Recounts a resident's bytes and marks it most recently used. */
  function account(state: NamespaceState): void {
    const resident = state.resident;
    const before = lru.get(state) ?? 0;
    lru.delete(state);
    if (!resident) {
      total -= before;
      return;
    }
    const bytes = resident.bytes();
    total += bytes - before;
    lru.set(state, bytes);
  }

  function touch(state: NamespaceState): void {
    const bytes = lru.get(state);
    if (bytes === undefined) return;
    lru.delete(state);
    lru.set(state, bytes);
  }

  /** Unloads least recently used namespaces (never `keep`) until the loaded ones fit the budget. */
  function fitBudget(keep: NamespaceState): void {
    if (total <= options.budgetBytes || evicting) return;
    evicting = (async () => {
      for (const state of [...lru.keys()]) {
        if (total <= options.budgetBytes) break;
        // A namespace loading or building its graph stays: it is in use, and its build holds a reference.
        if (state === keep || state.loading || state.resident?.build) continue;
        await evict(state).catch((error: unknown) => logger.error({ err: error, namespace: state.record.name }, 'unloading a namespace failed'));
      }
    })().finally(() => (evicting = null));
  }

  async function evict(state: NamespaceState): Promise<void> {
    await state.lock.run(async () => {
      const resident = state.resident;
      // (A build's completion takes this lock: waiting for it here would never end.)
      if (!resident || resident.build) return;
      if (resident.graph && resident.pending > 0 && !state.deleted) await checkpointResident(state, resident);
      state.resident = null;
      account(state);
      evictions++;
      logger.debug({ namespace: state.record.name }, 'namespace unloaded');
    });
  }

  async function checkpointResident(state: NamespaceState, resident: Resident): Promise<void> {
    const at = await files.write(state.record, resident.graph!, resident.seq);
    resident.checkpoint = { seq: resident.seq, at };
    resident.pending = 0;
  }

  /** Builds the resident of a namespace from the store (under its lock). */
  async function load(state: NamespaceState): Promise<Resident> {
    if (state.resident) return state.resident;
    if (state.deleted) throw new MembankError('NAMESPACE_NOT_FOUND', `Namespace "${state.record.name}" does not exist.`);
    const started = performance.now();
    const record = state.record;
    const { seq, rows } = await store.memories.tableRows(record.id);
    const resident = new Resident(record, 0, seq);
    for await (const batch of rows) resident.apply(batch, []);
    resident.table.trim();
    const report: { how: string; reason?: string; replayed: number } = { how: 'exact', replayed: 0 };
    if (resident.table.size >= thresholdOf(state) || files.exists(record.id)) {
      const saved = await files.read(record);
      if ('checkpoint' in saved) {
        const { graph } = saved.checkpoint;
        // What changed since the checkpoint: rows written after it, and labels it holds that are gone.
        let replayed = 0;
        resident.table.forEachLabel((label, rowSeq) => {
          if (rowSeq > saved.checkpoint.seq) {
            graph.upsert(label, resident.table.vectorOf(label)!);
            replayed++;
          }
        });
        for (const label of graph.labels()) if (!resident.table.has(label) && graph.remove(label)) replayed++;
        if (graph.stats().elements === resident.table.size) {
          resident.graph = graph;
          resident.checkpoint = { seq: saved.checkpoint.seq, at: saved.checkpoint.savedAt };
          resident.pending = replayed;
          Object.assign(report, { how: 'loaded', replayed });
        } else {
          report.reason = `saved index is stale (${graph.stats().elements} vectors after replay, SQLite has ${resident.table.size})`;
        }
      } else {
        report.reason = saved.problem;
      }
      if (!resident.graph) {
        if (resident.table.size >= thresholdOf(state)) {
          logger.warn({ namespace: record.name, reason: report.reason, memories: resident.table.size }, 'rebuilding index from SQLite');
          report.how = 'rebuilt';
        } else {
          files.remove(record.id); // a graph it no longer needs
        }
      }
    }
    state.resident = resident;
    state.head = Math.max(state.head, seq);
    account(state);
    maintainGraph(state, resident);
    logger.info(
      { namespace: record.name, elements: resident.table.size, ...report, ms: Math.round(performance.now() - started) },
      'index ready',
    );
    fitBudget(state);
    return resident;
  }

  /** Starts a graph build when the namespace outgrew exact search; drops the graph when it shrank far below. */
  function maintainGraph(state: NamespaceState, resident: Resident): void {
    const threshold = thresholdOf(state);
    const size = resident.table.size;
    if (resident.graph && size < threshold / 4) {
      resident.graph = null;
      resident.pending = 0;
      resident.checkpoint = null;
      files.remove(state.record.id);
      account(state);
      return;
    }
    if (resident.graph || resident.build || size < threshold || size === 0) return;
    if (options.now() - resident.buildFailedAt < BUILD_RETRY_MS) return;
    startBuild(state, resident);
  }

  function startBuild(state: NamespaceState, resident: Resident): void {
    const { table } = resident;
    const d = table.flat.dimensions;
    const labels = new Float64Array(table.size);
    const vectors = new Float32Array(table.size * d);
    let i = 0;
    table.flat.forEachLive((label, slot) => {
      labels[i] = label;
      vectors.set(table.flat.vectorAt(slot), i * d);
      i++;
    });
    const touched = new Set<number>();
    const started = performance.now();
    const promise = factory.build(shapeOf(state.record), labels, vectors, files.scratch).then(
      (graph) =>
        state.lock.run(async () => {
          resident.build = null;
          if (state.resident !== resident || state.deleted) return;
          // What was written while the graph was built, in slices with yields (the namespace's writes wait).
          let done = 0;
          for (const label of touched) {
            const vector = table.vectorOf(label as Label);
            if (vector) graph.upsert(label as Label, vector);
            else graph.remove(label as Label);
            if (++done % 256 === 0) await new Promise((resolve) => setImmediate(resolve));
          }
          resident.graph = graph;
          resident.pending = graph.stats().elements;
          account(state);
          logger.info({ namespace: state.record.name, elements: graph.stats().elements, ms: Math.round(performance.now() - started) }, 'graph built');
          fitBudget(state);
        }),
      (error: unknown) => {
        resident.build = null;
        resident.buildFailedAt = options.now();
        logger.error({ err: error, namespace: state.record.name }, 'building the graph failed; exact search answers meanwhile');
      },
    );
    resident.build = { promise, touched };
  }

  return {
    /** The namespace's resident, loading it first if needed. */
    async acquire(state: NamespaceState): Promise<Resident> {
      const resident = state.resident;
      if (resident) {
        touch(state);
        return resident;
      }
      state.loading ??= state.lock.run(() => load(state)).finally(() => (state.loading = null));
      return state.loading;
    },

    /**
     * After a committed change (the caller holds the namespace's lock): applies it to the resident, if loaded.
     * A change that does not follow the resident's sequence (another node wrote in between) makes it catch up.
     */
    async applied(state: NamespaceState, change: { firstSeq: number; seq: number; rows: TableRow[]; removed: Label[] }): Promise<void> {
      state.head = Math.max(state.head, change.seq);
      const resident = state.resident;
      if (!resident) return;
      if (resident.seq === change.firstSeq - 1) {
        await resident.applySliced(change.rows, change.removed);
        resident.seq = change.seq;
      } else if (resident.seq < change.seq) {
        await catchUp(state, resident, change.seq);
      }
      account(state);
      maintainGraph(state, resident);
      fitBudget(state);
    },

    /** Brings a loaded resident up to `head` from the store (under the namespace's lock). */
    catchUp: (state: NamespaceState, head: number) => (state.resident ? catchUp(state, state.resident, head) : Promise.resolve()),

    /** Indexes metadata fields for filters, and the texts for keyword search, when not yet (under the lock). */
    async prepare(state: NamespaceState, needs: { fields: (readonly string[])[]; keywords: boolean; texts?: boolean }): Promise<void> {
      const resident = state.resident;
      if (!resident) return;
      for (const path of needs.fields) {
        if (resident.table.hasField(path)) continue;
        const values: [Label, Scalar | undefined][] = [];
        for await (const batch of store.memories.fieldValues(state.record.id, path)) values.push(...batch);
        resident.table.addField(path, values);
      }
      const wantsKeywords = needs.keywords && !resident.table.hasKeywords;
      const wantsTexts = needs.texts === true && !resident.table.hasTexts;
      if (wantsKeywords || wantsTexts) {
        const texts: [Label, string | null][] = [];
        for await (const batch of store.memories.texts(state.record.id)) texts.push(...batch);
        if (wantsKeywords) resident.table.buildKeywords(texts);
        if (wantsTexts) resident.table.buildTexts(texts);
      }
      account(state);
      fitBudget(state);
    },

    /** Forgets a deleted namespace's resident and files. */
    dropped(state: NamespaceState): void {
      state.resident = null;
      account(state);
      files.remove(state.record.id);
    },

    /** Replaces a namespace's resident (a re-embedding swap: new vectors, new graph). */
    async replaced(state: NamespaceState, resident: Resident | null): Promise<void> {
      state.resident = resident;
      files.remove(state.record.id);
      if (resident?.graph) await checkpointResident(state, resident);
      account(state);
    },

    /** Checkpoints every loaded graph with changes since its last checkpoint. */
    async checkpoint(): Promise<void> {
      for (const state of [...lru.keys()]) {
        if (!state.resident?.graph || state.resident.pending === 0) continue;
        await state.lock.run(async () => {
          const resident = state.resident;
          if (!resident?.graph || resident.pending === 0 || state.deleted) return;
          const started = performance.now();
          await checkpointResident(state, resident);
          logger.debug({ namespace: state.record.name, ms: Math.round(performance.now() - started) }, 'index checkpointed');
        });
      }
    },

    /** Waits for graph builds in flight, then checkpoints; a failing checkpoint is logged and reported after the rest. */
    async close(): Promise<void> {
      let failure: unknown;
      for (const state of [...lru.keys()]) {
        await state.resident?.build?.promise.catch(() => undefined);
        await state.lock
          .run(async () => {
            const resident = state.resident;
            if (resident?.graph && resident.pending > 0 && !state.deleted) await checkpointResident(state, resident);
          })
          .catch((error: unknown) => {
            logger.error({ err: error, namespace: state.record.name }, 'checkpoint at shutdown failed; the next start replays');
            failure ??= error;
          });
      }
      if (failure !== undefined) throw failure;
    },

    /** Waits until the namespace's graph build in flight (if any) is done: for tests and benchmarks. */
    async settled(state: NamespaceState): Promise<void> {
      await state.resident?.build?.promise;
    },

    view(state: NamespaceState): IndexView {
      const resident = state.resident;
      if (!resident) {
        return { loaded: false, kind: null, building: false, elements: 0, deleted: 0, capacity: 0, bytes: 0, pendingChanges: 0, lastCheckpoint: null };
      }
      const stats = resident.graph?.stats() ?? resident.table.flat.stats();
      return {
        loaded: true,
        kind: resident.graph ? 'hnsw' : 'exact',
        building: resident.build !== null,
        ...stats,
        bytes: resident.bytes(),
        pendingChanges: resident.pending,
        lastCheckpoint: resident.checkpoint,
      };
    },

    /** Every loaded namespace with its index view (for metrics). */
    loaded(): { name: string; index: IndexView }[] {
      return [...lru.keys()].filter((state) => !state.record.name.startsWith('~')).map((state) => ({ name: state.record.name, index: this.view(state) }));
    },

    stats(): { loaded: number; bytes: number; evictions: number; budget: number } {
      return { loaded: lru.size, bytes: total, evictions, budget: options.budgetBytes };
    },

    thresholdOf,
  };

  async function catchUp(state: NamespaceState, resident: Resident, head: number): Promise<void> {
    if (resident.seq >= head) return;
    const current = await store.namespaces.head(state.record.id);
    // Re-embedded elsewhere, or so far behind that the log no longer covers the gap: load afresh.
    if (!current || current.generation !== resident.generation || resident.seq < (await store.changes.horizon(state.record.id))) {
      state.resident = null;
      account(state);
      return;
    }
    const removed = await store.changes.removedSince(state.record.id, resident.seq);
    const rows: TableRow[] = [];
    for await (const batch of store.memories.rowsSince(state.record.id, resident.seq)) rows.push(...batch);
    resident.apply(rows, removed);
    resident.seq = Math.max(current.seq, head);
    state.head = Math.max(state.head, resident.seq);
  }
}

export type IndexCache = ReturnType<typeof createIndexCache>;
