/**
 * A collection's records: Chroma's add, upsert, update, delete, get, query and count over a namespace's
 * memories. A record is a memory: its document is the memory's text, its embedding the memory's vector, its
 * metadata the memory's metadata, and its URI the reserved metadata key `chroma:uri`.
 *
 * Chroma's semantics, as Chroma 1.0 answers them: `add` skips ids that exist (the first of duplicate ids wins),
 * `upsert` and `update` merge metadata into the stored one (`null` removes a key in an update) and keep what
 * they are not given, `update` skips ids that do not exist, results come in insertion order, and distances are
 * Chroma's: squared L2 for `l2`, 1 − cosine for `cosine`, 1 − dot for `ip`.
 */
import type { IncludeField, MemoryInput } from '../api/schemas.js';
import { exactSearch } from '../core/distance.js';
import { isMembankError } from '../core/errors.js';
import type { LabeledVector, MemoryRecord, Metadata, NamespaceRecord } from '../core/types.js';
import type { MemoryService } from '../service/memory-service.js';
import { invalidArgument, unprocessable } from './errors.js';
import type { Interim, MemoryPatch } from './interim.js';
import { type AddBody, decodeEmbeddings, type GetBody, type Include, type QueryBody, type UpdateBody } from './schemas.js';
import { f32, f32s } from './views.js';
import { keysAreSqlSafe, parseWhere, parseWhereDocument } from './where.js';

/** Where a record's URI is kept among its memory's metadata. */
export const URI_KEY = 'chroma:uri';

/** Memories per service write. */
const WRITE_BATCH = 1000;

/** Results of one query, as membank's index serves at most this many at once. */
const MAX_RESULTS = 10_000;

type ChromaMetadata = Record<string, string | number | boolean>;

export interface GetResponse {
  ids: string[];
  embeddings: number[][] | null;
  documents: (string | null)[] | null;
  uris: (string | null)[] | null;
  metadatas: (ChromaMetadata | null)[] | null;
  include: Include[];
}

export interface QueryResponse {
  ids: string[][];
  embeddings: number[][][] | null;
  documents: (string | null)[][] | null;
  uris: (string | null)[][] | null;
  metadatas: (ChromaMetadata | null)[][] | null;
  distances: number[][] | null;
  include: Include[];
}

/**
 * A record's metadata as Chroma shows it: without the URI, and null when the record has none at all (Chroma
 * keeps the URI among the metadata too, so a record with only a URI shows `{}`).
 */
function chromaMetadata(metadata: Metadata): ChromaMetadata | null {
  const out: ChromaMetadata = {};
  let any = false;
  for (const [key, value] of Object.entries(metadata)) {
    any = true;
    if (key !== URI_KEY) out[key] = value as string | number | boolean;
  }
  return any ? out : null;
}

const uriOf = (metadata: Metadata): string | null => (typeof metadata[URI_KEY] === 'string' ? (metadata[URI_KEY] as string) : null);

function checkKeys(metadata: Record<string, unknown> | null | undefined, at: string): void {
  if (!metadata) return;
  for (const key of Object.keys(metadata)) {
    if (key.startsWith('chroma:')) throw invalidArgument(`${at}: metadata keys starting with "chroma:" are reserved (got "${key}").`);
  }
}

/** The ids, checked as Chroma checks them, and every parallel list the same length. */
function checkRecords(body: AddBody | UpdateBody): number {
  const n = body.ids.length;
  for (const list of [body.embeddings, body.documents, body.metadatas, body.uris]) {
    if (list != null && list.length !== n) throw invalidArgument('Inconsistent number of IDs, embeddings, documents, URIs and metadatas');
  }
  for (const id of body.ids) {
    if (id === '') throw invalidArgument('Empty ID, ID must have at least one character');
    if (id.length > 256) throw invalidArgument(`membank ids are at most 256 characters; got one of ${id.length}.`);
  }
  body.metadatas?.forEach((m, i) => checkKeys(m, `metadatas[${i}]`));
  return n;
}

export function createRecords({ service, interim }: { service: MemoryService; interim: Interim }) {
  /** The collection, its dimensions fixed by the first vectors it gets; every vector must then fit. */
  async function fitted(record: NamespaceRecord, vectors: (Float32Array | null)[]): Promise<NamespaceRecord> {
    const first = vectors.find((v): v is Float32Array => v !== null);
    if (!first) return record;
    // fixDimensions reads the namespace again under its lock: another client's first write may have fixed it.
    const fit = first.length === record.dimensions || record.embedder !== null ? record : await interim.fixDimensions(record.name, first.length);
    for (const v of vectors) {
      if (v && v.length !== fit.dimensions) throw invalidArgument(`Collection expecting embedding with dimension of ${fit.dimensions}, got ${v.length}`);
    }
    return fit;
  }

  async function write(namespace: string, inputs: MemoryInput[]): Promise<void> {
    for (let i = 0; i < inputs.length; i += WRITE_BATCH) await service.writeMemories(namespace, inputs.slice(i, i + WRITE_BATCH));
  }

  /** A new record as a memory; without an embedding, the namespace's embedder embeds its document. */
  function newMemory(record: NamespaceRecord, id: string, vector: Float32Array | null, document: string | null, metadata: Metadata): MemoryInput {
    if (!vector && (record.embedder === null || document === null)) {
      throw invalidArgument(
        record.embedder === null
          ? `Record [${id}] has no embedding, and collection ${record.name} has no server-side embedder: send embeddings (or create the collection with metadata "membank:embedder").`
          : `Record [${id}] has neither an embedding nor a document to embed.`,
      );
    }
    return {
      id,
      ...(document !== null && { text: document }),
      ...(vector && { vector: Array.from(vector) }),
      metadata: metadata as MemoryInput['metadata'],
    };
  }

  function storedMetadata(metadata: ChromaMetadata | null | undefined, uri: string | null | undefined): Metadata {
    const out: Metadata = { ...(metadata ?? {}) };
    if (uri != null) out[URI_KEY] = uri;
    return out;
  }

  /** The change an upsert or update makes to a stored memory: metadata merged (`null` drops a key), the rest kept unless given. */
  function merged(
    memory: MemoryRecord,
    given: { vector: Float32Array | null; document?: string | null; metadata?: Record<string, unknown> | null; uri?: string | null },
  ): MemoryPatch {
    const patch: MemoryPatch = {};
    if (given.vector) patch.vector = given.vector;
    if (given.document != null) patch.text = given.document;
    if (given.metadata != null || given.uri != null) {
      const metadata: Metadata = { ...memory.metadata };
      for (const [key, value] of Object.entries(given.metadata ?? {})) {
        if (value === null) delete metadata[key];
        else metadata[key] = value as string | number | boolean;
      }
      if (given.uri != null) metadata[URI_KEY] = given.uri;
      patch.metadata = metadata;
    }
    return patch;
  }

  /** The query vectors: given, or (membank's `query_texts`) embedded by the namespace's embedder. */
  async function queryVectors(record: NamespaceRecord, body: QueryBody): Promise<Float32Array[]> {
    if (body.query_embeddings != null) {
      const vectors = decodeEmbeddings(body.query_embeddings);
      if (vectors.some((v) => v === null)) throw unprocessable('query_embeddings: null is not an embedding');
      return vectors as Float32Array[];
    }
    if (record.embedder === null) throw invalidArgument(`Collection ${record.name} has no server-side embedder: send query_embeddings.`);
    return service.embedTexts(record.embedder, body.query_texts!);
  }

  return {
    /** `add` (existing ids skipped) or `upsert` (existing ids updated, the rest added). */
    async add(collection: NamespaceRecord, body: AddBody, mode: 'add' | 'upsert'): Promise<void> {
      const n = checkRecords(body);
      if (n === 0) return;
      const vectors = body.embeddings ? decodeEmbeddings(body.embeddings) : new Array<Float32Array | null>(n).fill(null);
      const record = await fitted(collection, vectors);
      const fresh: MemoryInput[] = [];
      const changes: { memory: MemoryRecord; patch: MemoryPatch }[] = [];
      // add: the first of duplicate ids counts; upsert: the last.
      const order = [...body.ids.keys()];
      if (mode === 'upsert') order.reverse();
      const seen = new Set<string>();
      for (const i of order) {
        const id = body.ids[i]!;
        if (seen.has(id)) continue;
        seen.add(id);
        const document = body.documents?.[i] ?? null;
        const metadata = body.metadatas?.[i] ?? null;
        const uri = body.uris?.[i] ?? null;
        if (mode === 'add') {
          if (await service.hasMemory(record.name, id)) continue;
          fresh.push(newMemory(record, id, vectors[i]!, document, storedMetadata(metadata, uri)));
          continue;
        }
        const memory = await interim.getOrUndefined(record.name, id, true);
        if (memory) changes.push({ memory, patch: merged(memory, { vector: vectors[i]!, document, metadata, uri }) });
        else fresh.push(newMemory(record, id, vectors[i]!, document, storedMetadata(metadata, uri)));
      }
      if (mode === 'upsert') fresh.reverse();
      await write(record.name, fresh);
      if (changes.length > 0) await interim.patch(record.name, changes, record.embedder !== null);
    },

    async update(collection: NamespaceRecord, body: UpdateBody): Promise<void> {
      const n = checkRecords(body);
      // A collection without records has nothing to update (and its first vectors are for add to fix).
      if (n === 0 || (await interim.isDimensionless(collection))) return;
      const vectors = body.embeddings ? decodeEmbeddings(body.embeddings) : new Array<Float32Array | null>(n).fill(null);
      const record = await fitted(collection, vectors);
      const changes = new Map<string, { memory: MemoryRecord; patch: MemoryPatch }>();
      for (let i = 0; i < n; i++) {
        const id = body.ids[i]!;
        const memory = changes.get(id)?.memory ?? (await interim.getOrUndefined(record.name, id, true));
        if (!memory) continue; // Chroma ignores ids it does not have
        const patch = merged(memory, { vector: vectors[i]!, document: body.documents?.[i], metadata: body.metadatas?.[i], uri: body.uris?.[i] });
        changes.set(id, { memory, patch: { ...changes.get(id)?.patch, ...patch } });
      }
      if (changes.size > 0) await interim.patch(record.name, [...changes.values()], record.embedder !== null);
    },

    async delete(record: NamespaceRecord, body: { ids?: string[] | null; where?: unknown; where_document?: unknown }): Promise<void> {
      const filter = parseWhere(body.where);
      const document = parseWhereDocument(body.where_document);
      const ids = body.ids != null && body.ids.length > 0 ? body.ids : undefined;
      const filtered = body.where != null || body.where_document != null;
      if (!ids && !filtered) {
        if (body.ids != null) throw invalidArgument('Validation error: ids, where: Either ids or where must be specified');
        return; // Chroma 1.0 answers an empty delete with success, deleting nothing
      }
      const doomed = filtered
        ? (await interim.scan(record.name, { ids, filter, document, offset: 0, withVector: false })).map((m) => m.id)
        : [...new Set(ids)];
      // until the service deletes memories by ids, filter and text filter in one call
      for (const id of doomed) {
        try {
          await service.deleteMemory(record.name, id);
        } catch (error) {
          if (!(isMembankError(error) && error.code === 'MEMORY_NOT_FOUND')) throw error;
        }
      }
    },

    async get(record: NamespaceRecord, body: GetBody): Promise<GetResponse> {
      const include = body.include ?? ['documents', 'metadatas'];
      const has = new Set(include);
      const memories = await interim.scan(record.name, {
        ids: body.ids ?? undefined,
        filter: parseWhere(body.where),
        document: parseWhereDocument(body.where_document),
        offset: body.offset ?? 0,
        limit: body.limit ?? undefined,
        withVector: has.has('embeddings'),
      });
      return {
        ids: memories.map((m) => m.id),
        embeddings: has.has('embeddings') ? memories.map((m) => f32s(m.vector!)) : null,
        documents: has.has('documents') ? memories.map((m) => m.text) : null,
        uris: has.has('uris') ? memories.map((m) => uriOf(m.metadata)) : null,
        metadatas: has.has('metadatas') ? memories.map((m) => chromaMetadata(m.metadata)) : null,
        include,
      };
    },

    async query(record: NamespaceRecord, body: QueryBody): Promise<QueryResponse> {
      const include = body.include ?? ['documents', 'metadatas', 'distances'];
      const has = new Set(include);
      const k = body.n_results ?? 10;
      if (k > MAX_RESULTS) throw invalidArgument(`membank answers at most ${MAX_RESULTS} results per query; n_results is ${k}.`);
      const filter = parseWhere(body.where);
      const document = parseWhereDocument(body.where_document);
      const vectors = await queryVectors(record, body);
      const dimensionless = await interim.isDimensionless(record);
      for (const v of vectors) {
        if (!dimensionless && v.length !== record.dimensions) {
          throw invalidArgument(`Collection expecting embedding with dimension of ${record.dimensions}, got ${v.length}`);
        }
      }
      const square = record.space === 'l2'; // membank reports Euclidean distance; Chroma, hnswlib's squared one
      const found: { memory: MemoryRecord; distance: number }[][] = [];
      const nothing = dimensionless || k === 0 || filter === false || document === false;
      if (nothing) {
        for (const _ of vectors) found.push([]);
      } else if (document === true && body.ids == null && (filter === true || keysAreSqlSafe(filter))) {
        const fields: IncludeField[] = [];
        if (has.has('documents')) fields.push('text');
        if (has.has('metadatas') || has.has('uris')) fields.push('metadata');
        if (has.has('embeddings')) fields.push('vector');
        for (const vector of vectors) {
          const hits = await service.query(record.name, {
            vector: Array.from(vector),
            mode: 'vector',
            k,
            ...(filter !== true && { filter }),
            include: fields,
          });
          found.push(hits.map((hit) => ({ memory: hit.memory, distance: hit.distance! })));
        }
      } else {
        // until the service filters queries by text (where_document) and by ids: exact search over the matches
        const candidates = await interim.scan(record.name, { ids: body.ids ?? undefined, filter, document, offset: 0, withVector: true });
        const byLabel = new Map(candidates.map((m) => [m.label as number, m]));
        const labeled: LabeledVector[] = candidates.map((m) => ({ label: m.label, vector: m.vector! }));
        for (const vector of vectors) {
          found.push(exactSearch(record.space, vector, labeled, k).map((n) => ({ memory: byLabel.get(n.label)!, distance: n.distance })));
        }
      }
      const pick = <T>(field: Include, value: (hit: { memory: MemoryRecord; distance: number }) => T): T[][] | null =>
        has.has(field) ? found.map((hits) => hits.map(value)) : null;
      return {
        ids: found.map((hits) => hits.map((h) => h.memory.id)),
        embeddings: pick('embeddings', (h) => f32s(h.memory.vector!)),
        documents: pick('documents', (h) => h.memory.text),
        uris: pick('uris', (h) => uriOf(h.memory.metadata)),
        metadatas: pick('metadatas', (h) => chromaMetadata(h.memory.metadata)),
        distances: pick('distances', (h) => f32(square ? h.distance * h.distance : h.distance)),
        include,
      };
    },

    async count(record: NamespaceRecord): Promise<number> {
      return (await service.describeNamespace(record.name)).count;
    },
  };
}

export type Records = ReturnType<typeof createRecords>;
