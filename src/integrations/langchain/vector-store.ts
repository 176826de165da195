/**
 * MembankVectorStore: LangChain's `VectorStore` on one membank namespace.
 *
 * Two ways to embed, chosen by the embeddings it is given:
 * - `MembankEmbeddings` (or none): the namespace embeds on the server. Documents and text queries travel as text
 *   and are embedded once, there; a missing namespace is created with that embedder.
 * - any other `Embeddings`: vectors are made here and sent with the texts; a missing namespace is created with
 *   `embedder: null` and their dimensions. A namespace that embeds on the server refuses foreign vectors
 *   (EMBEDDER_MISMATCH), since they would not be comparable with its own.
 */
import type { Callbacks } from '@langchain/core/callbacks/manager';
import { Document, type DocumentInterface } from '@langchain/core/documents';
import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import { maximalMarginalRelevance } from '@langchain/core/utils/math';
import { type MaxMarginalRelevanceSearchOptions, VectorStore } from '@langchain/core/vectorstores';
import {
  type Connection,
  MembankClient,
  MembankError,
  type MemoryRequest,
  type Namespace,
  type NamespaceSettings,
  type QueryRequest,
  type Where,
} from '../../client/index.js';
import { MembankEmbeddings } from './embeddings.js';
import { hitToDocument, type SearchMode } from './documents.js';

/** Memories per write request (the server takes up to 1000). */
const DEFAULT_BATCH_SIZE = 500;

export type MembankVectorStoreFields = Connection & {
  /** The membank namespace that holds the documents. */
  namespace: string;
  /**
   * Settings for the namespace when it does not exist yet, or `false` to never create it. The embedder and
   * dimensions follow from the embeddings unless given here.
   * @example { space: 'cosine', hnsw: { efSearch: 128 } }
   */
  create?: false | NamespaceSettings;
  /**
   * How `similaritySearch` and `maxMarginalRelevanceSearch` search with a text: `vector` (the default, like every
   * LangChain store), `hybrid` (vector and BM25 fused; needs the server to embed) or `keyword` (BM25 alone).
   * @example 'hybrid'
   */
  mode?: SearchMode;
  /** Hybrid ranking options (fusion, vectorWeight, candidates...), as membank's query takes them. */
  hybrid?: QueryRequest['hybrid'];
  /** Whether results count as recalled (membank's forgetting); the server's default is true. */
  reinforce?: boolean;
  /** Memories per write request; a failed request throws, and the ones before it stay written. */
  batchSize?: number;
};

interface Target {
  namespace: Namespace;
  /** True when texts go as text and the namespace's embedder embeds them. */
  serverEmbeds: boolean;
}

const hasText = (text: string | undefined): text is string => typeof text === 'string' && text.trim().length > 0;

export class MembankVectorStore extends VectorStore {
  declare FilterType: Where;
  readonly client: MembankClient;
  readonly namespace: string;
  readonly #fields: MembankVectorStoreFields;
  #target: Promise<Target> | undefined;

  /** With no embeddings, the namespace's own embedder embeds on the server. */
  constructor(fields: MembankVectorStoreFields);
  constructor(embeddings: EmbeddingsInterface | undefined, fields: MembankVectorStoreFields);
  constructor(first: EmbeddingsInterface | MembankVectorStoreFields | undefined, second?: MembankVectorStoreFields) {
    const [embeddings, fields] = second === undefined ? [undefined, first as MembankVectorStoreFields] : [first as EmbeddingsInterface | undefined, second];
    const client = MembankClient.from(fields);
    super(embeddings ?? new MembankEmbeddings({ client, namespace: fields.namespace, create: fields.create ?? {} }), fields);
    this.client = client;
    this.namespace = fields.namespace;
    this.#fields = fields;
  }

  override get lc_secrets(): Record<string, string> {
    return { apiKey: 'MEMBANK_API_KEY' };
  }

  _vectorstoreType(): string {
    return 'membank';
  }

  /**
   * The namespace, created on first use when allowed, and whether the server embeds for it. `dimensions` is
   * asked for only when a namespace must be created for vectors made here.
   */
  #resolve(dimensions: () => Promise<number>): Promise<Target> {
    this.#target ??= this.#connect(dimensions).catch((error: unknown) => {
      this.#target = undefined;
      throw error;
    });
    return this.#target;
  }

  async #connect(dimensions: () => Promise<number>): Promise<Target> {
    const { create } = this.#fields;
    const embeddings = this.embeddings;
    let namespace: Namespace;
    if (create === false) {
      namespace = await this.client.getNamespace(this.namespace);
    } else if (embeddings instanceof MembankEmbeddings) {
      // Bound to this very namespace, the embeddings cannot name its embedder before it exists: the server's default.
      const own = embeddings.model === undefined && embeddings.namespace === this.namespace;
      namespace = await this.client.ensureNamespace(this.namespace, {
        ...(!own && { embedder: await embeddings.embedder() }),
        ...create,
      });
    } else {
      namespace = await this.client.ensureNamespace(this.namespace, { embedder: null, dimensions: await dimensions(), ...create });
    }
    if (namespace.embedder === null) return { namespace, serverEmbeds: false };
    if (embeddings instanceof MembankEmbeddings && (await embeddings.embedder()) === namespace.embedder) return { namespace, serverEmbeds: true };
    throw new MembankError(
      0,
      'EMBEDDER_MISMATCH',
      `Namespace "${namespace.name}" embeds with ${namespace.embedder} on the server, so vectors from other embeddings would not be comparable with its own. ` +
        `Give MembankEmbeddings (or no embeddings), or use a namespace created with embedder: null.`,
    );
  }

  /** Dimensions for a namespace created by a text query: the embeddings' own, found by embedding the query. */
  #dimensionsOf(text: string) {
    return async () => (await this.embeddings.embedQuery(text)).length;
  }

  async addDocuments(documents: DocumentInterface[], options?: { ids?: string[] }): Promise<string[]> {
    if (documents.length === 0) return [];
    const texts = documents.map((doc) => doc.pageContent);
    if (!(this.embeddings instanceof MembankEmbeddings)) {
      return this.addVectors(await this.embeddings.embedDocuments(texts), documents, options);
    }
    const target = await this.#resolve(async () => 0);
    if (!target.serverEmbeds) return this.addVectors(await this.embeddings.embedDocuments(texts), documents, options);
    return this.#write(documents.map((doc, i) => this.#memory(doc, options?.ids?.[i])));
  }

  async addVectors(vectors: number[][], documents: DocumentInterface[], options?: { ids?: string[] }): Promise<string[]> {
    if (vectors.length !== documents.length) {
      throw new MembankError(0, 'VALIDATION_FAILED', `addVectors got ${vectors.length} vectors for ${documents.length} documents.`);
    }
    if (documents.length === 0) return [];
    await this.#resolve(async () => vectors[0]!.length);
    return this.#write(documents.map((doc, i) => this.#memory(doc, options?.ids?.[i], vectors[i])));
  }

  #memory(doc: DocumentInterface, id: string | undefined, vector?: number[]): MemoryRequest {
    const memoryId = id ?? doc.id;
    return {
      ...(memoryId !== undefined && { id: memoryId }),
      // A blank text is not a memory's text; with a vector it is left out, without one the server says what is missing.
      ...(hasText(doc.pageContent) && { text: doc.pageContent }),
      ...(vector !== undefined && { vector }),
      metadata: doc.metadata ?? {},
    };
  }

  async #write(memories: MemoryRequest[]): Promise<string[]> {
    const size = this.#fields.batchSize ?? DEFAULT_BATCH_SIZE;
    const ids: string[] = [];
    for (let start = 0; start < memories.length; start += size) {
      ids.push(...(await this.client.writeMemories(this.namespace, memories.slice(start, start + size))));
    }
    return ids;
  }

  #query(body: QueryRequest): Promise<[DocumentInterface, number][]> {
    const { reinforce } = this.#fields;
    return this.client
      .query(this.namespace, { ...body, include: ['text', 'metadata'], ...(reinforce !== undefined && { reinforce }) })
      .then((hits) => hits.map((hit) => [hitToDocument(hit), hit.score]));
  }

  async similaritySearchVectorWithScore(query: number[], k: number, filter?: Where): Promise<[DocumentInterface, number][]> {
    await this.#resolve(async () => query.length);
    return this.#query({ vector: query, k, ...(filter && { filter }) });
  }

  /** A text query: as text when the server embeds it (or for keyword search), else embedded here. */
  async #textQuery(query: string, body: Omit<QueryRequest, 'query' | 'vector'>): Promise<[DocumentInterface, number][]> {
    const mode = this.#fields.mode ?? 'vector';
    const foreign = !(this.embeddings instanceof MembankEmbeddings);
    if (foreign && mode === 'vector') {
      const vector = await this.embeddings.embedQuery(query);
      await this.#resolve(async () => vector.length);
      return this.#query({ ...body, vector });
    }
    const target = await this.#resolve(this.#dimensionsOf(query));
    if (target.serverEmbeds || mode === 'keyword') {
      const hybrid = mode === 'hybrid' && this.#fields.hybrid;
      return this.#query({ ...body, query, mode, ...(hybrid && { hybrid }) });
    }
    if (mode === 'hybrid') {
      throw new MembankError(
        0,
        'NO_EMBEDDER',
        `Hybrid search sends the query text to be embedded on the server, but namespace "${this.namespace}" has no embedder (embedder: null). Use mode "vector" or "keyword", or a namespace with an embedder.`,
      );
    }
    return this.#query({ ...body, vector: await this.embeddings.embedQuery(query) });
  }

  override async similaritySearchWithScore(query: string, k = 4, filter?: Where, _callbacks?: Callbacks): Promise<[DocumentInterface, number][]> {
    return this.#textQuery(query, { k, ...(filter && { filter }) });
  }

  override async similaritySearch(query: string, k = 4, filter?: Where, _callbacks?: Callbacks): Promise<DocumentInterface[]> {
    return (await this.similaritySearchWithScore(query, k, filter)).map(([doc]) => doc);
  }

  /**
   * LangChain's own MMR (`maximalMarginalRelevance`, on raw cosine similarities) over the `fetchK` nearest
   * memories and their vectors, so that it picks what every LangChain store picks. (membank's server-side `mmr`
   * normalizes relevance over the candidates first, which can pick differently.) The query is embedded by the
   * server's embedder when the namespace embeds there.
   */
  override async maxMarginalRelevanceSearch(query: string, options: MaxMarginalRelevanceSearchOptions<Where>, _callbacks?: Callbacks): Promise<DocumentInterface[]> {
    const { k, fetchK = 20, lambda = 0.5, filter } = options;
    const vector = await this.embeddings.embedQuery(query);
    await this.#resolve(async () => vector.length);
    const hits = await this.client.query(this.namespace, {
      vector,
      k: fetchK,
      include: ['text', 'metadata', 'vector'],
      ...(filter && { filter }),
      ...(this.#fields.reinforce !== undefined && { reinforce: this.#fields.reinforce }),
    });
    const picked = maximalMarginalRelevance(vector, hits.map((hit) => hit.vector!), lambda, k);
    return picked.map((i) => hitToDocument(hits[i]!));
  }

  /**
   * Deletes by ids (unknown ones are ignored: one request per 1000 ids) and/or erases every memory matching a
   * `Where` filter, for good either way.
   */
  override async delete(params: { ids?: string[]; filter?: Where } = {}): Promise<void> {
    const { ids, filter } = params;
    if (ids === undefined && filter === undefined) {
      throw new MembankError(0, 'VALIDATION_FAILED', 'delete needs ids or a filter: { ids: [...] } or { filter: {...} }.');
    }
    try {
      if (ids !== undefined && ids.length > 0) await this.client.erase(this.namespace, { ids });
      if (filter) await this.client.erase(this.namespace, { filter });
    } catch (error) {
      // Nothing to delete from a namespace that was never created.
      if (!(error instanceof MembankError && error.code === 'NAMESPACE_NOT_FOUND')) throw error;
    }
  }

  static override async fromTexts(
    texts: string[],
    metadatas: object[] | object,
    embeddings: EmbeddingsInterface | undefined,
    fields: MembankVectorStoreFields,
  ): Promise<MembankVectorStore> {
    const docs = texts.map(
      (pageContent, i) => new Document({ pageContent, metadata: (Array.isArray(metadatas) ? metadatas[i] : metadatas) ?? {} }),
    );
    return MembankVectorStore.fromDocuments(docs, embeddings, fields);
  }

  static override async fromDocuments(
    docs: DocumentInterface[],
    embeddings: EmbeddingsInterface | undefined,
    fields: MembankVectorStoreFields,
  ): Promise<MembankVectorStore> {
    const store = new MembankVectorStore(embeddings, fields);
    await store.addDocuments(docs);
    return store;
  }

  /** A store on a namespace that must exist already (NAMESPACE_NOT_FOUND otherwise); it is never created. */
  static async fromExistingNamespace(embeddings: EmbeddingsInterface | undefined, fields: MembankVectorStoreFields): Promise<MembankVectorStore> {
    const store = new MembankVectorStore(embeddings, { ...fields, create: false });
    await store.#resolve(async () => 0);
    return store;
  }
}
