/**
 * A collection's records: Chroma's add, upsert, update, delete, get, query and count over a namespace's
 * memories. A record is a memory: its document is the memory's text, its embedding the memory's vector, its
 * metadata the memory's metadata, and its URI the reserved metadata key `chroma:uri`.
 *
 * Chroma's semantics, as Chroma 1.0 answers them: `add` skips ids that exist (the first of duplicate ids wins),
 * `upsert` and `update` merge metadata into the stored one (`null` removes a key in an update) and keep what
 * they are not given, `update` skips ids that do not exist, results come in insertion order, and distances are
 * Chroma's: squared L2 for `l2`, 1 − cosine for `cosine`, 1 − dot for `ip`. Selections (ids, `where`,
 * `where_document`) are the service's own (findMemories, deleteMatching, queries with a text filter), and a
 * partial update changes only what it is given: a memory keeps its recall strength, recalls and times.
 */
import type { IncludeField, MemoryInput } from '../api/schemas.js';
import { isMembankError } from '../core/errors.js';
import type { MemoryRecord, Metadata, NamespaceRecord } from '../core/types.js';
import type { MemoryService, Selection } from '../service/memory-service.js';
import { invalidArgument, unprocessable } from './errors.js';
import { type AddBody, decodeEmbeddings, type GetBody, type Include, type QueryBody, type UpdateBody } from './schemas.js';
import { f32, f32s } from './views.js';
import { parseWhere, parseWhereDocument } from './where.js';

/** Where a record's URI is kept among its memory's metadata. */
export const URI_KEY = 'chroma:uri';

/** Memories per service write or update. */
const WRITE_BATCH = 1000;

/** Results of one query, as membank's index serves at most this many at once. */
const MAX_RESULTS = 10_000;

/** A listing without a limit: every match. */
const ALL = Number.MAX_SAFE_INTEGER;

/** A change to one stored memory, as the service's updateMemories takes it: only the fields given change. */
interface MemoryPatch {
  id: string;
  text?: string;
  metadata?: Metadata;
  vector?: number[];
}

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

/**
 * What a get, delete or query selects, as the service takes it; `false` when nothing can match (a `where` or
 * `where_document` that folds to false). Both filters are parsed, so that either one's mistake is reported.
 */
function selectionOf(ids: string[] | null | undefined, where: unknown, whereDocument: unknown): Selection | false {
  const filter = parseWhere(where);
  const text = parseWhereDocument(whereDocument);
  if (filter === false || text === false) return false;
  return { ...(ids != null && { ids }), ...(filter !== true && { filter }), ...(text !== true && { textFilter: text }) };
}

export function createRecords({ service }: { service: MemoryService }) {
  /** Every vector must fit the collection: its dimensions, or those of its first vector while it has none. */
  function checkDimensions(record: NamespaceRecord, vectors: (Float32Array | null)[]): void {
    const expected = record.dimensionsOpen ? vectors.find((v) => v !== null)?.length : record.dimensions;
    for (const v of vectors) {
      if (v && v.length !== expected) throw invalidArgument(`Collection expecting embedding with dimension of ${expected}, got ${v.length}`);
    }
  }

  async function write(record: NamespaceRecord, inputs: MemoryInput[]): Promise<void> {
    try {
      for (let i = 0; i < inputs.length; i += WRITE_BATCH) await service.writeMemories(record.name, inputs.slice(i, i + WRITE_BATCH));
    } catch (error) {
      // Another client's first write decided other dimensions between our check and this write.
      if (!(isMembankError(error) && error.code === 'DIMENSION_MISMATCH')) throw error;
      const now = await service.namespace(record.name);
      const got = inputs.find((input) => input.vector !== undefined)?.vector?.length;
      throw invalidArgument(`Collection expecting embedding with dimension of ${now.dimensions}, got ${got}`);
    }
  }

  async function update(record: NamespaceRecord, patches: MemoryPatch[]): Promise<void> {
    for (let i = 0; i < patches.length; i += WRITE_BATCH) await service.updateMemories(record.name, patches.slice(i, i + WRITE_BATCH));
  }

  /** The memories a selection matches, in insertion order, `limit` of them after skipping `offset`. */
  async function matching(namespace: string, selection: Selection, page: { offset: number; limit?: number }, withVector: boolean): Promise<MemoryRecord[]> {
    const { offset, limit = ALL } = page;
    return (await service.findMemories(namespace, { ...selection, offset, limit, withVector })).memories;
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

  /**
   * The change an upsert or update makes to a stored memory: metadata merged (`null` drops a key), the rest kept
   * unless given. A new document without an embedding is embedded again by the service when the namespace has an
   * embedder; its recall strength and times stay.
   */
  function merged(
    memory: { id: string; metadata: Metadata },
    given: { vector: Float32Array | null; document?: string | null; metadata?: Record<string, unknown> | null; uri?: string | null },
  ): MemoryPatch {
    const patch: MemoryPatch = { id: memory.id };
    if (given.vector) patch.vector = Array.from(given.vector);
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
    /** `add` (existing ids skipped) or `upsert` (existing ids updated in part, the rest added). */
    async add(record: NamespaceRecord, body: AddBody, mode: 'add' | 'upsert'): Promise<void> {
      const n = checkRecords(body);
      if (n === 0) return;
      const vectors = body.embeddings ? decodeEmbeddings(body.embeddings) : new Array<Float32Array | null>(n).fill(null);
      checkDimensions(record, vectors);
      const unique = [...new Set(body.ids)];
      const stored = new Map<string, { id: string; metadata: Metadata }>();
      if (mode === 'add') for (const id of await service.existingIds(record.name, unique)) stored.set(id, { id, metadata: {} });
      else for (const m of await service.memoriesByIds(record.name, unique, false)) stored.set(m.id, m);
      const fresh: MemoryInput[] = [];
      const changes: MemoryPatch[] = [];
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
        const memory = stored.get(id);
        if (!memory) fresh.push(newMemory(record, id, vectors[i]!, document, storedMetadata(metadata, uri)));
        else if (mode === 'upsert') changes.push(merged(memory, { vector: vectors[i]!, document, metadata, uri }));
      }
      if (mode === 'upsert') fresh.reverse();
      await write(record, fresh);
      await update(record, changes);
    },

    async update(record: NamespaceRecord, body: UpdateBody): Promise<void> {
      const n = checkRecords(body);
      // A collection without records has nothing to update (and its first vectors are for add to decide).
      if (n === 0 || record.dimensionsOpen) return;
      const vectors = body.embeddings ? decodeEmbeddings(body.embeddings) : new Array<Float32Array | null>(n).fill(null);
      checkDimensions(record, vectors);
      const stored = new Map((await service.memoriesByIds(record.name, [...new Set(body.ids)], false)).map((m) => [m.id, m]));
      const changes = new Map<string, MemoryPatch>();
      for (let i = 0; i < n; i++) {
        const id = body.ids[i]!;
        const memory = stored.get(id);
        if (!memory) continue; // Chroma ignores ids it does not have
        // A later update of the same id builds on the earlier one's metadata.
        const earlier = changes.get(id);
        const basis = earlier?.metadata ? { id, metadata: earlier.metadata } : memory;
        const patch = merged(basis, { vector: vectors[i]!, document: body.documents?.[i], metadata: body.metadatas?.[i], uri: body.uris?.[i] });
        changes.set(id, { ...earlier, ...patch });
      }
      await update(record, [...changes.values()]);
    },

    async delete(record: NamespaceRecord, body: { ids?: string[] | null; where?: unknown; where_document?: unknown }): Promise<void> {
      const ids = body.ids != null && body.ids.length > 0 ? body.ids : undefined;
      const selection = selectionOf(ids, body.where, body.where_document);
      const filtered = body.where != null || body.where_document != null;
      if (!ids && !filtered) {
        if (body.ids != null) throw invalidArgument('Validation error: ids, where: Either ids or where must be specified');
        return; // Chroma 1.0 answers an empty delete with success, deleting nothing
      }
      if (selection === false) return;
      if (selection.ids || selection.filter || selection.textFilter) {
        await service.deleteMatching(record.name, selection);
        return;
      }
      // A where that folds to "everything" (`{"$and": []}`) deletes every record; deleteMatching asks for a
      // selection (deleting all is DELETE of the namespace in v1), so it gets their ids.
      const doomed = (await matching(record.name, selection, { offset: 0 }, false)).map((m) => m.id);
      if (doomed.length > 0) await service.deleteMatching(record.name, { ids: doomed });
    },

    async get(record: NamespaceRecord, body: GetBody): Promise<GetResponse> {
      const include = body.include ?? ['documents', 'metadatas'];
      const has = new Set(include);
      const selection = selectionOf(body.ids, body.where, body.where_document);
      const page = { offset: body.offset ?? 0, limit: body.limit ?? undefined };
      const memories = selection === false ? [] : await matching(record.name, selection, page, has.has('embeddings'));
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
      const selection = selectionOf(body.ids, body.where, body.where_document);
      const vectors = await queryVectors(record, body);
      // A collection whose dimensions are not decided yet has no records: any query finds nothing.
      if (!record.dimensionsOpen) checkDimensions(record, vectors);
      const square = record.space === 'l2'; // membank reports Euclidean distance; Chroma, hnswlib's squared one
      const found: { memory: MemoryRecord; distance: number }[][] = [];
      if (record.dimensionsOpen || k === 0 || selection === false) {
        for (const _ of vectors) found.push([]);
      } else {
        const fields: IncludeField[] = [];
        if (has.has('documents')) fields.push('text');
        if (has.has('metadatas') || has.has('uris')) fields.push('metadata');
        if (has.has('embeddings')) fields.push('vector');
        for (const vector of vectors) {
          const hits = await service.query(record.name, { vector: Array.from(vector), mode: 'vector', k, ...selection, include: fields });
          found.push(hits.map((hit) => ({ memory: hit.memory, distance: hit.distance! })));
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
