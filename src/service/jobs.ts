/**
 * Background jobs: re-embedding a namespace with another embedder. The job embeds every memory's text into
 * staged vectors (and, for a namespace large enough to have one, a new graph) while the namespace keeps
 * serving its current vectors, catches up with writes made meanwhile, then, under the namespace's write lock,
 * catches up once more and swaps vectors, embedder and graph in one step. A job cut short by a restart is
 * marked failed and changes nothing.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { checkVector } from '../core/distance.js';
import { MembankError, unwrap } from '../core/errors.js';
import type { JobRecord, LabeledVector } from '../core/types.js';
import type { EmbedderProvider } from '../ports/embedder.js';
import type { Store } from '../ports/store.js';
import type { VectorIndexFactory } from '../ports/vector-index.js';
import type { NamespaceState } from './namespace-state.js';
import { FACT_INDEX_PREFIX, type NamespaceRegistry } from './namespaces.js';
import type { GraphFiles } from './residents/graph-files.js';
import type { IndexCache } from './residents/index-cache.js';

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

export interface JobsOptions {
  store: Store;
  registry: NamespaceRegistry;
  cache: IndexCache;
  files: GraphFiles;
  embedders: EmbedderProvider;
  factory: VectorIndexFactory;
  logger: Logger;
  /** Told when a swap gave a namespace new vectors. */
  onSwapped: (name: string) => void;
}

const BATCH = 256;

export function createJobs(options: JobsOptions) {
  const { store, registry, cache, files, embedders, logger } = options;
  const jobs = new Map<string, { record: JobRecord; startedAt: number; namespace: string }>();

  function view({ record, startedAt, namespace }: { record: JobRecord; startedAt: number; namespace: string | null }): JobView {
    const seconds = Math.max(1e-3, (performance.now() - startedAt) / 1000);
    const rate = record.done / seconds;
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

  async function start(name: string, embedderName: string): Promise<JobView> {
    const state = await registry.get(name, true);
    if ([...jobs.values()].some((j) => j.record.namespaceId === state.record.id && j.record.status === 'running')) {
      throw new MembankError('JOB_CONFLICT', `Namespace "${name}" is already being re-embedded.`);
    }
    if (!(await embedders.describe(embedderName))) {
      throw new MembankError('UNKNOWN_EMBEDDER', `Unknown embedder "${embedderName}". Available: ${embedders.names().join(', ')}.`);
    }
    const vectorOnly = await store.memories.countWithoutText(state.record.id);
    if (vectorOnly > 0) {
      throw new MembankError('VALIDATION_FAILED', `${vectorOnly} memories of "${name}" have no text to re-embed (caller-supplied vectors only).`);
    }
    const at = Date.now();
    const record: JobRecord = {
      id: randomUUID(),
      kind: 'reembed',
      namespaceId: state.record.id,
      status: 'running',
      done: 0,
      total: await store.memories.count(state.record.id),
      params: { embedder: embedderName },
      error: null,
      createdAt: at,
      updatedAt: at,
    };
    await store.jobs.create(record);
    const job = { record, startedAt: performance.now(), namespace: name };
    jobs.set(record.id, job);
    logger.info({ job: record.id, namespace: name, embedder: embedderName, memories: record.total }, 're-embedding started');
    run(state, record).then(
      async () => {
        logger.info({ job: record.id, namespace: name, memories: record.done }, 're-embedding done');
        // The namespace's facts follow it to the new embedder, in a job of their own.
        const facts = `${FACT_INDEX_PREFIX}${state.record.id}`;
        if (await registry.find(facts)) {
          start(facts, embedderName).catch((error: unknown) => logger.error({ err: error, namespace: facts }, 're-embedding facts failed'));
        }
      },
      async (error: unknown) => {
        record.status = 'failed';
        record.error = error instanceof Error ? error.message : String(error);
        logger.error({ job: record.id, namespace: name, err: error }, 're-embedding failed');
        await store.jobs.update(record.id, record).catch((e: unknown) => logger.error({ err: e }, 'could not record the failed job'));
      },
    );
    return view(job);
  }

  async function run(state: NamespaceState, record: JobRecord): Promise<void> {
    const embedder = await embedders.get(record.params.embedder);
    const shape = { space: state.record.space, dimensions: embedder.dimensions, hnsw: state.record.hnsw };
    const graph = record.total >= cache.thresholdOf(state) ? options.factory.create(shape, Math.ceil(record.total * 1.1)) : null;
    const namespaceId = state.record.id;

    const embedSince = async (seq: number): Promise<number> => {
      let processed = 0;
      for (let after = 0; ; ) {
        if (state.deleted) throw new Error('the namespace was deleted');
        const rows = await store.memories.textsSince(namespaceId, seq, after, BATCH);
        if (rows.length === 0) return processed;
        if (rows.some((row) => row.text === null)) throw new Error('a memory without text was written during the job; it cannot be re-embedded');
        const vectors = await embedder.embed(rows.map((row) => row.text!), 'ingest');
        const staged: LabeledVector[] = rows.map((row, i) => ({ label: row.label, vector: unwrap(checkVector(shape.space, shape.dimensions, vectors[i]!)) }));
        await store.jobs.stage(record.id, staged);
        for (const { label, vector } of staged) graph?.upsert(label, vector);
        processed += rows.length;
        if (seq >= 0) record.total += rows.length; // catch-up work beyond the first pass
        record.done += rows.length;
        await store.jobs.update(record.id, record);
        after = rows[rows.length - 1]!.label;
      }
    };
    const removeSince = async (seq: number): Promise<void> => {
      for (const label of await store.changes.removedSince(namespaceId, seq)) graph?.remove(label);
    };
    const headNow = async (): Promise<number> => (await store.namespaces.head(namespaceId))?.seq ?? 0;

    let mark = await headNow();
    await embedSince(-1);
    // Catch up outside the lock while writes keep coming, until little is left.
    for (let round = 0; round < 5; round++) {
      const from = mark;
      mark = await headNow();
      await removeSince(from);
      if ((await embedSince(from)) < BATCH) break;
    }
    await state.lock.run(async () => {
      if (state.deleted) throw new Error('the namespace was deleted');
      await removeSince(mark);
      await embedSince(mark);
      const swapped = await store.jobs.swap(namespaceId, record.id, {
        embedder: record.params.embedder,
        dimensions: embedder.dimensions,
        revision: embedder.revision,
      });
      state.record = swapped.namespace;
      state.head = swapped.seq;
      // The namespace reloads on its next use with its new vectors, and the graph built here.
      await cache.replaced(state, null);
      if (graph) await files.write(swapped.namespace, graph, swapped.seq);
      record.status = 'done';
      record.total = record.done;
      await store.jobs.update(record.id, record);
    });
    options.onSwapped(state.record.name);
  }

  return {
    /** Re-embeds a namespace with another embedder in a background job. */
    reembed: start,

    async get(id: string): Promise<JobView> {
      const live = jobs.get(id);
      if (live) return view(live);
      const record = await store.jobs.get(id);
      if (!record) throw new MembankError('JOB_NOT_FOUND', `No job "${id}".`);
      const namespace = (await store.namespaces.byId(record.namespaceId))?.name ?? null;
      return view({ record, startedAt: performance.now() - (record.updatedAt - record.createdAt), namespace });
    },
  };
}

export type Jobs = ReturnType<typeof createJobs>;
