/**
 * Tenants, databases and collections over membank's namespaces (see names.ts for where each lives). A
 * collection's HNSW configuration is its namespace's settings, with Chroma's defaults (space l2, 16 neighbours,
 * ef 100 to build and to search) and its legacy `hnsw:*` metadata keys honoured. A collection made through
 * this API has no embedder unless its metadata names one (`"membank:embedder": "use-lite"`); then documents
 * sent without embeddings are embedded by membank. A collection's id is its namespace's uid, so it stays through
 * a rename (one patch of the namespace: name, metadata and `ef_search` together) and across restarts.
 */
import type { Response } from 'express';
import { type CreateNamespaceInput, LIMITS, type PatchNamespaceInput } from '../api/schemas.js';
import type { Logger } from 'pino';
import { isMembankError } from '../core/errors.js';
import type { Metadata, NamespaceRecord, Space } from '../core/types.js';
import { FACT_INDEX_PREFIX, type MemoryService } from '../service/memory-service.js';
import { assertMayCreate, visible } from './auth.js';
import { chromaError, collectionNotFound, invalidArgument } from './errors.js';
import {
  checkCollectionName,
  checkScopeName,
  collectionOf,
  type DatabaseRef,
  DEFAULT_DATABASE,
  DEFAULT_TENANT,
  namespaceOf,
  prefixOf,
  sameDatabase,
} from './names.js';
import type { CreateCollectionBody, UpdateCollectionBody } from './schemas.js';
import {
  collectionView,
  type CollectionView,
  configurationOf,
  DEFAULT_CONFIGURATION,
  DEFAULT_DATABASE_ID,
  derivedUuid,
  isDefaultDatabase,
  namespaceMetadata,
  userMetadataOf,
} from './views.js';

/** Chroma's HNSW defaults (its `configuration_json` of a collection created without settings). */
export const CHROMA_HNSW = { space: 'l2' as Space, maxNeighbors: 16, efConstruction: 100, efSearch: 100 };

/** The metadata key that gives a new collection a membank embedder. */
export const EMBEDDER_KEY = 'membank:embedder';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** membank's bounds on HNSW settings (the v1 API's). */
const BOUNDS = { max_neighbors: [2, 100], ef_construction: [10, 2000], ef_search: [1, 10_000] } as const;

export interface CollectionsOptions {
  service: MemoryService;
  logger: Logger;
}

/** A namespace's metadata is at most this big, as JSON (the v1 API's limit). */
function checkMetadataSize(metadata: Metadata): void {
  const bytes = JSON.stringify(metadata).length;
  if (bytes > LIMITS.maxMetadataBytes) throw invalidArgument(`membank keeps a collection's metadata and configuration in at most ${LIMITS.maxMetadataBytes} bytes of JSON; got ${bytes}.`);
}

/** Collection metadata keys starting with `chroma:` are membank's (see views.ts). */
function checkMetadataKeys(metadata: Record<string, unknown> | null | undefined, field: string): void {
  for (const key of Object.keys(metadata ?? {})) {
    if (key.startsWith('chroma:')) throw invalidArgument(`${field}: metadata keys starting with "chroma:" are reserved (got "${key}").`);
  }
}

export function createCollections({ service, logger }: CollectionsOptions) {
  /** Tenants and databases created in this process; others exist while some namespace lives in them. */
  const tenants = new Set<string>([DEFAULT_TENANT]);
  const databases = new Set<string>([`${DEFAULT_TENANT}/${DEFAULT_DATABASE}`]);
  const dbKey = (ref: DatabaseRef): string => `${ref.tenant}/${ref.database}`;

  async function namespaces(): Promise<NamespaceRecord[]> {
    return service.listNamespaces();
  }

  async function find(namespace: string): Promise<NamespaceRecord | undefined> {
    try {
      return await service.namespace(namespace);
    } catch (error) {
      if (isMembankError(error) && error.code === 'NAMESPACE_NOT_FOUND') return undefined;
      throw error;
    }
  }

  async function databaseExists(ref: DatabaseRef): Promise<boolean> {
    if (databases.has(dbKey(ref))) return true;
    const prefix = prefixOf(ref);
    return prefix !== '' && (await namespaces()).some((ns) => ns.name.startsWith(prefix));
  }

  async function tenantExists(tenant: string): Promise<boolean> {
    if (tenants.has(tenant) || [...databases].some((key) => key.startsWith(`${tenant}/`))) return true;
    return (await namespaces()).some((ns) => collectionOf(ns.name).tenant === tenant);
  }

  /** The namespaces of a database's collections that the request may see, in Chroma's order (by id). */
  async function collectionsIn(ref: DatabaseRef, res: Response): Promise<NamespaceRecord[]> {
    const mine = (await namespaces()).filter((ns) => sameDatabase(collectionOf(ns.name), ref) && visible(res, ns.name));
    return mine.sort((a, b) => (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0));
  }

  /** A collection by name (GET and DELETE address collections by name). */
  async function byName(ref: DatabaseRef, name: string, res: Response): Promise<NamespaceRecord> {
    const namespace = prefixOf(ref) + name;
    const record = visible(res, namespace) ? await find(namespace) : undefined;
    if (!record) throw collectionNotFound(name);
    return record;
  }

  /** A collection by id (the record routes and PUT address collections by their UUID, the namespace's uid). */
  async function byId(ref: DatabaseRef, id: string, res: Response): Promise<NamespaceRecord> {
    if (!UUID.test(id)) throw invalidArgument('Collection ID is not a valid UUIDv4');
    const record = await service.namespaceByUid(id.toLowerCase());
    // The hidden namespaces of facts' sentences have uids too, but no name the API can use.
    const usable =
      record !== undefined && !record.name.startsWith(FACT_INDEX_PREFIX) && visible(res, record.name) && sameDatabase(collectionOf(record.name), ref);
    if (!usable) throw collectionNotFound(id, true);
    return record;
  }

  function hnswSettings(body: CreateCollectionBody) {
    const legacy = body.metadata ?? {};
    const config = body.configuration?.hnsw ?? undefined;
    const legacyNumber = (key: string): number | undefined => {
      const value = legacy[key];
      if (value === undefined) return undefined;
      if (typeof value !== 'number' || !Number.isInteger(value)) throw invalidArgument(`metadata "${key}" must be an integer.`);
      return value;
    };
    const legacySpace = legacy['hnsw:space'];
    if (legacySpace !== undefined && legacySpace !== 'l2' && legacySpace !== 'cosine' && legacySpace !== 'ip') {
      throw invalidArgument(`metadata "hnsw:space" must be one of l2, cosine, ip; got ${JSON.stringify(legacySpace)}.`);
    }
    const chosen = {
      space: config?.space ?? body.configuration?.spann?.space ?? (legacySpace as Space | undefined) ?? CHROMA_HNSW.space,
      max_neighbors: config?.max_neighbors ?? legacyNumber('hnsw:M') ?? CHROMA_HNSW.maxNeighbors,
      ef_construction: config?.ef_construction ?? legacyNumber('hnsw:construction_ef') ?? CHROMA_HNSW.efConstruction,
      ef_search: config?.ef_search ?? legacyNumber('hnsw:search_ef') ?? CHROMA_HNSW.efSearch,
    };
    for (const [key, [low, high]] of Object.entries(BOUNDS)) {
      const value = chosen[key as keyof typeof BOUNDS];
      if (value < low || value > high) throw invalidArgument(`configuration.hnsw.${key} must be between ${low} and ${high} in membank; got ${value}.`);
    }
    return chosen;
  }

  return {
    byId,
    byName,

    async create(ref: DatabaseRef, body: CreateCollectionBody, res: Response): Promise<CollectionView> {
      checkCollectionName(body.name);
      if (body.metadata && Object.keys(body.metadata).length === 0) throw invalidArgument('Validation error: metadata: Metadata cannot be empty');
      checkMetadataKeys(body.metadata, 'metadata');
      const namespace = namespaceOf(ref, body.name);
      if (!(await databaseExists(ref))) throw invalidArgument(`Database [${ref.database}] does not exist`);
      assertMayCreate(res, namespace);
      const taken = () => chromaError(409, 'ChromaError', `Collection [${body.name}] already exists`);
      const existing = await find(namespace);
      if (existing) {
        if (body.get_or_create) return collectionView(existing);
        throw taken();
      }
      const hnsw = hnswSettings(body);
      const embedder = body.metadata?.[EMBEDDER_KEY];
      if (embedder !== undefined && typeof embedder !== 'string') throw invalidArgument(`metadata "${EMBEDDER_KEY}" names an embedder.`);
      const config = body.configuration?.hnsw;
      const metadata = namespaceMetadata(body.metadata ?? null, {
        embeddingFunction: body.configuration?.embedding_function ?? null,
        resizeFactor: config?.resize_factor ?? DEFAULT_CONFIGURATION.resizeFactor,
        syncThreshold: config?.sync_threshold ?? DEFAULT_CONFIGURATION.syncThreshold,
      });
      checkMetadataSize(metadata);
      let outcome: Awaited<ReturnType<MemoryService['createNamespace']>>;
      try {
        outcome = await service.createNamespace({
          name: namespace,
          space: hnsw.space,
          embedder: embedder ?? null,
          // Without an embedder, the first record's embedding decides, as in Chroma.
          dimensions: embedder === undefined ? null : undefined,
          metadata: metadata as CreateNamespaceInput['metadata'],
          hnsw: { m: hnsw.max_neighbors, efConstruction: hnsw.ef_construction, efSearch: hnsw.ef_search },
        });
      } catch (error) {
        // Another client created it meanwhile, with other settings.
        if (!(isMembankError(error) && error.code === 'NAMESPACE_CONFLICT')) throw error;
        const raced = await find(namespace);
        if (raced && body.get_or_create) return collectionView(raced);
        throw taken();
      }
      if (!outcome.created && !body.get_or_create) throw taken();
      if (outcome.created) logger.info({ namespace, space: hnsw.space, embedder: embedder ?? null }, 'collection created (Chroma API)');
      return collectionView(outcome.namespace);
    },

    async get(ref: DatabaseRef, name: string, res: Response): Promise<CollectionView> {
      return collectionView(await byName(ref, name, res));
    },

    async list(ref: DatabaseRef, page: { limit?: number; offset?: number }, res: Response): Promise<CollectionView[]> {
      const offset = page.offset ?? 0;
      return (await collectionsIn(ref, res)).slice(offset, page.limit === undefined ? undefined : offset + page.limit).map(collectionView);
    },

    async count(ref: DatabaseRef, res: Response): Promise<number> {
      return (await collectionsIn(ref, res)).length;
    },

    /** A new name, metadata or configuration, in one change of the namespace: it keeps its uid, records and indexes. */
    async modify(ref: DatabaseRef, id: string, body: UpdateCollectionBody, res: Response): Promise<void> {
      const record = await byId(ref, id, res);
      const { tenant, database } = collectionOf(record.name);
      let target = record.name;
      if (body.new_name != null) {
        checkCollectionName(body.new_name, 'new_name');
        target = namespaceOf({ tenant, database }, body.new_name);
        if (target !== record.name) {
          assertMayCreate(res, target);
          if (await find(target)) throw chromaError(409, 'ChromaError', `Collection [${body.new_name}] already exists`);
        }
      }
      if (body.new_metadata && Object.keys(body.new_metadata).length === 0) throw invalidArgument('Validation error: new_metadata: Metadata cannot be empty');
      checkMetadataKeys(body.new_metadata, 'new_metadata');
      const hnsw = body.new_configuration?.hnsw;
      const wantedM = hnsw?.max_neighbors;
      if (wantedM != null && wantedM !== record.hnsw.m) {
        throw invalidArgument(`membank cannot change configuration.hnsw.max_neighbors of an existing collection (it is ${record.hnsw.m}): the graph's degree is fixed when it is built.`);
      }
      const efSearch = hnsw?.ef_search;
      if (efSearch != null && (efSearch < BOUNDS.ef_search[0] || efSearch > BOUNDS.ef_search[1])) {
        throw invalidArgument(`configuration.hnsw.ef_search must be between ${BOUNDS.ef_search[0]} and ${BOUNDS.ef_search[1]} in membank; got ${efSearch}.`);
      }
      const kept = configurationOf(record.metadata);
      const metadata = namespaceMetadata(body.new_metadata ?? userMetadataOf(record.metadata), {
        embeddingFunction: body.new_configuration?.embedding_function ?? kept.embeddingFunction,
        resizeFactor: hnsw?.resize_factor ?? kept.resizeFactor,
        syncThreshold: hnsw?.sync_threshold ?? kept.syncThreshold,
      });
      checkMetadataSize(metadata);
      const patch: PatchNamespaceInput = {
        ...(target !== record.name && { name: target }),
        ...(JSON.stringify(metadata) !== JSON.stringify(record.metadata) && { metadata: metadata as PatchNamespaceInput['metadata'] }),
        ...(efSearch != null && efSearch !== record.hnsw.efSearch && { hnsw: { efSearch } }),
      };
      if (Object.keys(patch).length === 0) return;
      try {
        await service.patchNamespace(record.name, patch);
      } catch (error) {
        // Another client took the name between the check and the rename.
        if (isMembankError(error) && error.code === 'NAMESPACE_CONFLICT') throw chromaError(409, 'ChromaError', `Collection [${body.new_name}] already exists`);
        throw error;
      }
    },

    async remove(ref: DatabaseRef, name: string, res: Response): Promise<void> {
      const record = await byName(ref, name, res);
      await service.deleteNamespace(record.name);
    },

    async createTenant(name: string): Promise<void> {
      checkScopeName('tenant', name);
      if (await tenantExists(name)) throw chromaError(409, 'ChromaError', `Tenant [${name}] already exists`);
      tenants.add(name);
    },

    async getTenant(name: string): Promise<{ name: string }> {
      if (!(await tenantExists(name))) throw chromaError(404, 'NotFoundError', `Tenant [${name}] not found`);
      return { name };
    },

    async listDatabases(tenant: string, page: { limit?: number; offset?: number }) {
      const names = new Set<string>();
      for (const key of databases) if (key.startsWith(`${tenant}/`)) names.add(key.slice(tenant.length + 1));
      for (const ns of await namespaces()) {
        const where = collectionOf(ns.name);
        if (where.tenant === tenant) names.add(where.database);
      }
      const offset = page.offset ?? 0;
      return [...names]
        .sort()
        .slice(offset, page.limit === undefined ? undefined : offset + page.limit)
        .map((database) => databaseView({ tenant, database }));
    },

    async createDatabase(ref: DatabaseRef): Promise<void> {
      checkScopeName('database', ref.database);
      if (ref.tenant !== DEFAULT_TENANT) checkScopeName('tenant', ref.tenant);
      if (await databaseExists(ref)) throw chromaError(409, 'ChromaError', `Database [${ref.database}] already exists`);
      databases.add(dbKey(ref));
    },

    async getDatabase(ref: DatabaseRef) {
      if (!(await databaseExists(ref))) throw chromaError(404, 'NotFoundError', `Database [${ref.database}] not found. Are you sure it exists?`);
      return databaseView(ref);
    },

    /** Deletes a database and every collection in it. */
    async deleteDatabase(ref: DatabaseRef): Promise<void> {
      if (!(await databaseExists(ref))) throw chromaError(404, 'NotFoundError', `Database [${ref.database}] not found`);
      if (isDefaultDatabase(ref.tenant, ref.database)) {
        throw invalidArgument(`membank keeps the default database's collections as its plain namespaces; it cannot be deleted.`);
      }
      for (const ns of await namespaces()) {
        if (sameDatabase(collectionOf(ns.name), ref)) await service.deleteNamespace(ns.name);
      }
      databases.delete(dbKey(ref));
    },

    /** Deletes every namespace: Chroma's reset, for the operators who turned it on. */
    async reset(): Promise<void> {
      for (const ns of await namespaces()) await service.deleteNamespace(ns.name);
      tenants.clear();
      tenants.add(DEFAULT_TENANT);
      databases.clear();
      databases.add(`${DEFAULT_TENANT}/${DEFAULT_DATABASE}`);
      logger.warn('every namespace deleted (Chroma API reset)');
    },
  };
}

export type Collections = ReturnType<typeof createCollections>;

function databaseView(ref: DatabaseRef) {
  const id = isDefaultDatabase(ref.tenant, ref.database) ? DEFAULT_DATABASE_ID : derivedUuid(`membank-database:${ref.tenant}/${ref.database}`);
  return { id, name: ref.database, tenant: ref.tenant };
}
