/**
 * The namespace registry: creating, finding, changing and deleting namespaces. Nothing is read at start: a
 * namespace's record is read from the store the first time a request names it and kept with its write lock
 * (see NamespaceState); listings read the store. With a shared store (several nodes), `resolve(name, fresh)`
 * re-reads the record, so that settings, deletions and re-embeddings made by other nodes are seen.
 */
import type { Logger } from 'pino';
import type { CreateNamespaceInput, PatchNamespaceInput } from '../api/schemas.js';
import { MembankError } from '../core/errors.js';
import { normalizeKey } from '../core/facts.js';
import { DEFAULT_HNSW, DEFAULT_SETTINGS, type Metadata, type NamespaceRecord } from '../core/types.js';
import type { EmbedderProvider } from '../ports/embedder.js';
import type { Store } from '../ports/store.js';
import { mergeForgetting } from './forgetting.js';
import { Mutex } from './mutex.js';
import { newState, type NamespaceState } from './namespace-state.js';
import type { IndexCache } from './residents/index-cache.js';

/** Names of the hidden namespaces that index fact sentences; the API's names cannot start with `~`. */
export const FACT_INDEX_PREFIX = '~facts.';

export interface RegistryOptions {
  store: Store;
  cache: IndexCache;
  embedders: EmbedderProvider;
  logger: Logger;
  /** Embedder of namespaces created without one. */
  defaultEmbedder: string;
  /** Other nodes write the same store: records are re-read when freshness matters. */
  shared: boolean;
  /** Told after a namespace is created, changed or deleted. */
  onNamespace: (name: string, op: 'created' | 'updated' | 'deleted', record: NamespaceRecord) => void;
}

export function createNamespaceRegistry(options: RegistryOptions) {
  const { store, cache, embedders, logger } = options;
  const states = new Map<string, NamespaceState>();
  /** Serializes creating and deleting namespaces on this node. */
  const lifecycle = new Mutex();

  const notFound = (name: string) => new MembankError('NAMESPACE_NOT_FOUND', `Namespace "${name}" does not exist.`);

  async function describeEmbedder(name: string): Promise<{ dimensions: number; revision: string }> {
    const known = await embedders.describe(name);
    if (!known) throw new MembankError('UNKNOWN_EMBEDDER', `Unknown embedder "${name}". Available: ${embedders.names().join(', ')}.`);
    return known;
  }

  /** The state of a namespace, read from the store on first use; undefined when it does not exist. */
  async function find(name: string, fresh = false): Promise<NamespaceState | undefined> {
    const known = states.get(name);
    if (known && !(fresh && options.shared)) return known;
    // A namespace known here: its record and head are read together (one round trip on a networked store).
    const [record, knownHead] = await Promise.all([store.namespaces.byName(name), known ? store.namespaces.head(known.record.id) : undefined]);
    if (!record) {
      if (known) forget(known);
      return undefined;
    }
    if (known && known.record.id === record.id) {
      known.record = record;
      known.head = Math.max(known.head, knownHead?.seq ?? 0);
      return known;
    }
    if (known) forget(known); // deleted and created again elsewhere: a new namespace
    const head = (await store.namespaces.head(record.id))?.seq ?? 0;
    const state = states.get(name) ?? newState(record, head);
    states.set(name, state);
    return state;
  }

  function forget(state: NamespaceState): void {
    state.deleted = true;
    cache.dropped(state);
    if (states.get(state.record.name) === state) states.delete(state.record.name);
  }

  function conflicts(input: CreateNamespaceInput, r: NamespaceRecord): string[] {
    return [
      input.space !== undefined && input.space !== r.space && 'space',
      input.embedder !== undefined && input.embedder !== r.embedder && 'embedder',
      input.dimensions !== undefined && (input.dimensions === null ? !r.dimensionsOpen : r.dimensionsOpen || input.dimensions !== r.dimensions) && 'dimensions',
      input.metadata !== undefined && JSON.stringify(input.metadata) !== JSON.stringify(r.metadata) && 'metadata',
      input.hnsw?.m !== undefined && input.hnsw.m !== r.hnsw.m && 'hnsw.m',
      input.hnsw?.efConstruction !== undefined && input.hnsw.efConstruction !== r.hnsw.efConstruction && 'hnsw.efConstruction',
      input.hnsw?.efSearch !== undefined && input.hnsw.efSearch !== r.hnsw.efSearch && 'hnsw.efSearch',
      input.hnsw?.threshold !== undefined && input.hnsw.threshold !== r.hnsw.threshold && 'hnsw.threshold',
      input.facts !== undefined &&
        JSON.stringify([...input.facts.singleValued.map(normalizeKey)].sort()) !== JSON.stringify([...r.settings.facts.singleValued].sort()) &&
        'facts.singleValued',
      input.forgetting !== undefined &&
        JSON.stringify(mergeForgetting(r.settings.forgetting, input.forgetting)) !== JSON.stringify(r.settings.forgetting) &&
        'forgetting',
      input.hybrid !== undefined && JSON.stringify(input.hybrid) !== JSON.stringify(r.settings.hybrid ?? {}) && 'hybrid',
    ].filter((field): field is string => Boolean(field));
  }

  async function createRecord(input: CreateNamespaceInput): Promise<NamespaceRecord> {
    const embedder = input.embedder === undefined ? options.defaultEmbedder : input.embedder;
    let dimensions: number | null;
    let embedderRevision: string | null = null;
    if (embedder === null) {
      if (input.dimensions === undefined) {
        throw new MembankError('VALIDATION_FAILED', 'dimensions is required when embedder is null (null: the first write decides).', {
          path: 'dimensions',
        });
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
    return store.namespaces.create({
      name: input.name,
      space: input.space ?? 'cosine',
      dimensions,
      embedder,
      embedderRevision,
      hnsw: { ...DEFAULT_HNSW, ...input.hnsw },
      metadata: (input.metadata ?? {}) as Metadata,
      settings: {
        ...DEFAULT_SETTINGS,
        facts: { singleValued: (input.facts?.singleValued ?? []).map(normalizeKey) },
        forgetting: mergeForgetting(DEFAULT_SETTINGS.forgetting, input.forgetting ?? {}),
        dedupe: { ...DEFAULT_SETTINGS.dedupe, ...input.dedupe },
        history: { ...DEFAULT_SETTINGS.history, ...input.history },
        ...(input.hybrid && Object.keys(input.hybrid).length > 0 && { hybrid: input.hybrid }),
      },
    });
  }

  const isUniqueViolation = (error: unknown): boolean =>
    /UNIQUE|unique|duplicate key/.test(String((error as { message?: unknown })?.message ?? '')) ||
    ['SQLITE_CONSTRAINT_UNIQUE', '23505'].includes(String((error as { code?: unknown })?.code));

  /** The namespace's state; NAMESPACE_NOT_FOUND when there is none. `fresh`: re-read it on a shared store. */
  async function get(name: string, fresh = false): Promise<NamespaceState> {
    const state = await find(name, fresh);
    if (!state) throw notFound(name);
    return state;
  }

  return {
    get,
    find,

    /** Namespaces the API can name, in name order. */
    async list(options: { after?: string; limit?: number } = {}): Promise<NamespaceRecord[]> {
      return store.namespaces.list(options);
    },

    async create(input: CreateNamespaceInput): Promise<{ namespace: NamespaceRecord; created: boolean }> {
      return lifecycle.run(async () => {
        const existing = await find(input.name, true);
        if (existing) {
          const differs = conflicts(input, existing.record);
          if (differs.length > 0) {
            throw new MembankError('NAMESPACE_CONFLICT', `Namespace "${input.name}" exists with other ${differs.join(', ')}.`, {
              differs,
              existing: existing.record,
            });
          }
          return { namespace: existing.record, created: false };
        }
        let record: NamespaceRecord;
        try {
          record = await createRecord(input);
        } catch (error) {
          // Another node created it first: answer as if it had existed.
          if (!isUniqueViolation(error)) throw error;
          const raced = await find(input.name, true);
          if (!raced) throw error;
          const differs = conflicts(input, raced.record);
          if (differs.length > 0) throw new MembankError('NAMESPACE_CONFLICT', `Namespace "${input.name}" exists with other ${differs.join(', ')}.`, { differs, existing: raced.record });
          return { namespace: raced.record, created: false };
        }
        states.set(record.name, newState(record, 0));
        logger.info({ namespace: record.name, space: record.space, dimensions: record.dimensions, embedder: record.embedder }, 'namespace created');
        options.onNamespace(record.name, 'created', record);
        return { namespace: record, created: true };
      });
    },

    /** Deletes a namespace with the hidden namespace of its facts' sentences. */
    async remove(name: string): Promise<void> {
      await lifecycle.run(async () => {
        const state = await find(name, true);
        if (!state) throw notFound(name);
        const hidden = await find(`${FACT_INDEX_PREFIX}${state.record.id}`, true);
        for (const doomed of [state, hidden]) {
          if (!doomed) continue;
          await doomed.lock.run(async () => {
            await store.namespaces.delete(doomed.record.id);
            forget(doomed);
          });
        }
        logger.info({ namespace: name }, 'namespace deleted');
        options.onNamespace(name, 'deleted', state.record);
      });
    },

    /** Changes a namespace's name, metadata, forgetting, dedupe or history settings, or search-time HNSW settings. */
    async patch(name: string, patch: PatchNamespaceInput): Promise<NamespaceRecord> {
      const state = await find(name, true);
      if (!state) throw notFound(name);
      return lifecycle.run(() =>
        state.lock.run(async () => {
          if (state.deleted) throw notFound(name);
          const settings = { ...state.record.settings };
          if (patch.forgetting) settings.forgetting = mergeForgetting(settings.forgetting, patch.forgetting);
          // A new mode without a threshold goes back to the default threshold.
          if (patch.dedupe) settings.dedupe = { ...DEFAULT_SETTINGS.dedupe, ...patch.dedupe };
          if (patch.history) settings.history = { ...settings.history, ...patch.history };
          if (patch.hybrid) settings.hybrid = { ...settings.hybrid, ...patch.hybrid };
          const settingsChanged = patch.forgetting !== undefined || patch.dedupe !== undefined || patch.history !== undefined || patch.hybrid !== undefined;
          const renamed = patch.name !== undefined && patch.name !== name ? patch.name : undefined;
          if (renamed && (await find(renamed, true))) {
            throw new MembankError('NAMESPACE_CONFLICT', `A namespace named "${renamed}" exists already.`);
          }
          const hnsw = patch.hnsw && { efSearch: patch.hnsw.efSearch, ...('threshold' in patch.hnsw && { threshold: patch.hnsw.threshold ?? null }) };
          const updated = await store.namespaces.update(state.record.id, {
            name: renamed,
            metadata: patch.metadata as Metadata | undefined,
            settings: settingsChanged ? settings : undefined,
            hnsw: hnsw as { efSearch: number; threshold: number | null } | undefined,
          });
          if (!updated) throw notFound(name);
          state.record = updated;
          if (renamed) {
            states.delete(name);
            states.set(renamed, state);
            logger.info({ namespace: renamed, was: name }, 'namespace renamed');
            options.onNamespace(name, 'deleted', updated);
            options.onNamespace(renamed, 'created', updated);
          } else {
            logger.info({ namespace: name, patch: Object.keys(patch) }, 'namespace settings changed');
            options.onNamespace(name, 'updated', updated);
          }
          return updated;
        }),
      );
    },

    /** The namespace with this public id (uid), if any. */
    async byUid(uid: string): Promise<NamespaceRecord | undefined> {
      return store.namespaces.byUid(uid);
    },

    /**
     * Gives a namespace whose first write decides its dimensions those of the write (under its lock); its empty
     * cached state is dropped, to be loaded again at the right size. A namespace decided already keeps its own.
     */
    async settleDimensions(state: NamespaceState, dimensions: number): Promise<NamespaceRecord> {
      return state.lock.run(async () => {
        if (!state.record.dimensionsOpen) return state.record;
        const record = await store.namespaces.settleDimensions(state.record.id, dimensions);
        if (!record) throw notFound(state.record.name);
        state.record = record;
        cache.dropped(state);
        logger.info({ namespace: record.name, dimensions: record.dimensions }, 'namespace dimensions set by its first write');
        return record;
      });
    },

    /**
     * The hidden namespace that holds a namespace's fact sentences, so that facts get their own index under
     * the same durability rules as memories; created on first use. Null when the namespace has no embedder.
     */
    async factIndex(name: string): Promise<string | null> {
      const parent = (await get(name)).record;
      if (parent.embedder === null) return null;
      const hidden = `${FACT_INDEX_PREFIX}${parent.id}`;
      if (await find(hidden)) return hidden;
      return lifecycle.run(async () => {
        if (await find(hidden, true)) return hidden;
        try {
          const record = await store.namespaces.create({
            name: hidden,
            space: 'cosine',
            dimensions: parent.dimensions,
            embedder: parent.embedder,
            embedderRevision: parent.embedderRevision,
            hnsw: parent.hnsw,
            settings: DEFAULT_SETTINGS,
          });
          states.set(hidden, newState(record, 0));
        } catch (error) {
          if (!isUniqueViolation(error) || !(await find(hidden, true))) throw error;
        }
        return hidden;
      });
    },

    /**
     * At start: finishes deletes a crash cut short. Deleting a namespace deletes the hidden one of its facts'
     * sentences in a second transaction: a crash between the two leaves sentences of erased facts behind, which
     * no API call could reach or delete.
     */
    async removeOrphans(): Promise<void> {
      const hidden = await store.namespaces.list({ after: '~', internal: true });
      for (const record of hidden.filter((r) => r.name.startsWith(FACT_INDEX_PREFIX))) {
        const parentId = Number(record.name.slice(FACT_INDEX_PREFIX.length));
        if ((await store.namespaces.head(parentId)) !== undefined) continue;
        await store.namespaces.delete(record.id);
        logger.warn({ namespace: record.name }, 'deleted the fact index of a namespace deleted before a crash');
      }
    },

    /** States of the namespaces touched so far (for checkpoints and shutdown). */
    touched(): IterableIterator<NamespaceState> {
      return states.values();
    },
  };
}

export type NamespaceRegistry = ReturnType<typeof createNamespaceRegistry>;
