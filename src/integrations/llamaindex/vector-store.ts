/**
 * MembankVectorStore: LlamaIndex.TS's `BaseVectorStore` on one membank namespace. It stores each node's text
 * (`storesText`), so it can back a `vectorBlock` memory, and keeps the node itself in the memory's metadata
 * (`_node_content`, as LlamaIndex's other stores do) so queries give back whole nodes.
 *
 * With no `embedModel` (or a `MembankEmbedding`), the namespace's server-side embedder embeds: nodes and query
 * strings travel as text. With another `embedModel`, vectors are made here and the namespace takes them
 * (`embedder: null`). Modes: `default` (vector), `hybrid` (vector and BM25 fused, needs the server to embed;
 * `alpha` is the vector side's weight), `sparse` (BM25 alone) and `mmr` (`mmrThreshold` is λ).
 */
import type { BaseEmbedding } from '@llamaindex/core/embeddings';
import { type BaseNode, MetadataMode } from '@llamaindex/core/schema';
import {
  BaseVectorStore,
  metadataDictToNode,
  nodeToMetadata,
  type VectorStoreQuery,
  type VectorStoreQueryResult,
} from '@llamaindex/core/vector-store';
import {
  type Connection,
  MembankClient,
  MembankError,
  type MemoryRequest,
  type Namespace,
  type NamespaceSettings,
  type QueryRequest,
  type QueryResult,
  type Where,
} from '../../client/index.js';
import { MembankEmbedding } from './embedding.js';
import { toWhere } from './filters.js';

export type MembankVectorStoreOptions = Connection & {
  namespace: string;
  /** Embeds in this process when given (and not a MembankEmbedding); by default the server embeds. */
  embedModel?: BaseEmbedding;
  /** Settings for the namespace when it does not exist yet, or `false` to never create it. */
  create?: false | NamespaceSettings;
  /** Whether results count as recalled (membank's forgetting); the server's default is true. */
  reinforce?: boolean;
  /** Nodes per write request; a failed request throws, and the ones before it stay written. */
  batchSize?: number;
};

interface Target {
  namespace: Namespace;
  serverEmbeds: boolean;
}

const hasText = (text: string) => text.trim().length > 0;

export class MembankVectorStore extends BaseVectorStore<MembankClient> {
  storesText = true;
  readonly namespace: string;
  readonly #client: MembankClient;
  readonly #options: MembankVectorStoreOptions;
  #target: Promise<Target> | undefined;

  constructor(options: MembankVectorStoreOptions) {
    const client = MembankClient.from(options);
    super({ embedModel: options.embedModel ?? new MembankEmbedding({ client, namespace: options.namespace, create: options.create ?? {} }) });
    this.#client = client;
    this.namespace = options.namespace;
    this.#options = options;
  }

  client(): MembankClient {
    return this.#client;
  }

  #resolve(dimensions: () => Promise<number>): Promise<Target> {
    this.#target ??= this.#connect(dimensions).catch((error: unknown) => {
      this.#target = undefined;
      throw error;
    });
    return this.#target;
  }

  async #connect(dimensions: () => Promise<number>): Promise<Target> {
    const { create } = this.#options;
    const model = this.embedModel;
    let namespace: Namespace;
    if (create === false) {
      namespace = await this.#client.getNamespace(this.namespace);
    } else if (model instanceof MembankEmbedding) {
      const own = model.model === undefined && model.namespace === this.namespace;
      namespace = await this.#client.ensureNamespace(this.namespace, { ...(!own && { embedder: await model.embedder() }), ...create });
    } else {
      namespace = await this.#client.ensureNamespace(this.namespace, { embedder: null, dimensions: await dimensions(), ...create });
    }
    if (namespace.embedder === null) return { namespace, serverEmbeds: false };
    if (model instanceof MembankEmbedding && (await model.embedder()) === namespace.embedder) return { namespace, serverEmbeds: true };
    throw new MembankError(
      0,
      'EMBEDDER_MISMATCH',
      `Namespace "${namespace.name}" embeds with ${namespace.embedder} on the server, so vectors from this embedModel would not be comparable with its own. ` +
        'Leave embedModel out (or give a MembankEmbedding), or use a namespace created with embedder: null.',
    );
  }

  async add(nodes: BaseNode[]): Promise<string[]> {
    if (nodes.length === 0) return [];
    const texts = nodes.map((node) => node.getContent(MetadataMode.NONE));
    const local = !(this.embedModel instanceof MembankEmbedding);
    let vectors = local ? await this.#vectorsOf(nodes, texts) : undefined;
    const target = await this.#resolve(async () => (vectors ??= await this.#vectorsOf(nodes, texts))[0]!.length);
    if (!target.serverEmbeds) vectors ??= await this.#vectorsOf(nodes, texts);
    const memories: MemoryRequest[] = nodes.map((node, i) => ({
      id: node.id_,
      ...(hasText(texts[i]!) && { text: texts[i] }),
      ...(!target.serverEmbeds && { vector: vectors![i] }),
      // The node without its text, which the memory holds already.
      metadata: nodeToMetadata(node, true, 'text', false),
    }));
    const size = this.#options.batchSize ?? 500;
    const ids: string[] = [];
    for (let start = 0; start < memories.length; start += size) {
      ids.push(...(await this.#client.writeMemories(this.namespace, memories.slice(start, start + size))));
    }
    return ids;
  }

  /** The nodes' own embeddings, and the embed model's for those that have none. */
  async #vectorsOf(nodes: BaseNode[], texts: string[]): Promise<number[][]> {
    const missing = nodes.flatMap((node, i) => (node.embedding === undefined ? [i] : []));
    const made = missing.length > 0 ? await this.embedModel.getTextEmbeddingsBatch(missing.map((i) => texts[i]!)) : [];
    const vectors = nodes.map((node) => node.embedding);
    missing.forEach((i, j) => (vectors[i] = made[j]));
    return vectors as number[][];
  }

  /** Deletes every node of a source document (its `ref_doc_id`). */
  async delete(refDocId: string): Promise<void> {
    try {
      await this.#client.erase(this.namespace, { filter: { ref_doc_id: refDocId } });
    } catch (error) {
      if (!(error instanceof MembankError && error.code === 'NAMESPACE_NOT_FOUND')) throw error;
    }
  }

  async query(query: VectorStoreQuery): Promise<VectorStoreQueryResult> {
    const where = this.#where(query);
    const text = query.queryStr?.trim() ? query.queryStr : undefined;
    const vectorDims = async () => (query.queryEmbedding ?? (await this.#embedQuery(text))).length;
    const target = await this.#resolve(vectorDims);
    const body = await this.#searchBody(query, text, target);
    const { reinforce } = this.#options;
    const hits = await this.#client.query(this.namespace, {
      ...body,
      k: query.similarityTopK,
      include: ['text', 'metadata'],
      ...(where && { filter: where }),
      ...(reinforce !== undefined && { reinforce }),
    });
    return { nodes: hits.map(toNode), similarities: hits.map((hit) => hit.score), ids: hits.map((hit) => hit.id) };
  }

  #where(query: VectorStoreQuery): Where | undefined {
    const filters = toWhere(query.filters);
    const docs: Where | undefined = query.docIds && query.docIds.length > 0 ? { ref_doc_id: { $in: query.docIds } } : undefined;
    return filters && docs ? { $and: [filters, docs] } : (filters ?? docs);
  }

  async #embedQuery(text: string | undefined): Promise<number[]> {
    if (text === undefined) throw new MembankError(0, 'VALIDATION_FAILED', 'A query needs a queryStr or a queryEmbedding.');
    return this.embedModel.getTextEmbedding(text);
  }

  async #searchBody(query: VectorStoreQuery, text: string | undefined, target: Target): Promise<QueryRequest> {
    const vectorSearch = async (): Promise<QueryRequest> => {
      if (target.serverEmbeds && text !== undefined) return { query: text, mode: 'vector' };
      return { vector: query.queryEmbedding ?? (await this.#embedQuery(text)) };
    };
    switch (query.mode) {
      case 'default':
        return vectorSearch();
      case 'mmr':
        return { ...(await vectorSearch()), mmr: { lambda: query.mmrThreshold ?? 0.5 } };
      case 'sparse':
        if (text === undefined) throw new MembankError(0, 'VALIDATION_FAILED', 'A sparse (keyword) query needs a queryStr.');
        return { query: text, mode: 'keyword' };
      case 'hybrid':
        if (text === undefined) throw new MembankError(0, 'VALIDATION_FAILED', 'A hybrid query needs a queryStr.');
        if (!target.serverEmbeds) {
          throw new MembankError(
            0,
            'NO_EMBEDDER',
            `Hybrid search sends the query text to be embedded on the server, so it needs a namespace with a server-side embedder; "${this.namespace}" ` +
              `${target.namespace.embedder === null ? 'has none (embedder: null)' : 'is searched here with vectors from another embedModel'}. Use mode "default" or "sparse".`,
          );
        }
        return { query: text, mode: 'hybrid', ...(query.alpha !== undefined && { hybrid: { vectorWeight: query.alpha } }) };
      default:
        throw new MembankError(0, 'VALIDATION_FAILED', `membank does not support the "${query.mode}" query mode (it has default, hybrid, sparse and mmr).`);
    }
  }
}

/** A result as the node it was written from, its text put back; a memory written otherwise becomes a TextNode. */
function toNode(hit: QueryResult): BaseNode {
  const metadata = hit.metadata ?? {};
  const fallback = '_node_content' in metadata ? { id_: hit.id } : { id_: hit.id, text: hit.text ?? '', metadata };
  const node = metadataDictToNode(metadata, { fallback });
  node.setContent(hit.text ?? '');
  return node;
}
