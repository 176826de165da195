/**
 * MembankRetriever: a LangChain retriever that sends the query text to membank, which embeds it and searches in
 * any mode (hybrid by default for a namespace with an embedder), or builds a prompt context within a token
 * budget (`context`). For vectors made in the client, use `MembankVectorStore.asRetriever()` instead.
 */
import type { CallbackManagerForRetrieverRun } from '@langchain/core/callbacks/manager';
import type { Document } from '@langchain/core/documents';
import { BaseRetriever, type BaseRetrieverInput } from '@langchain/core/retrievers';
import { type Connection, type ContextRequest, MembankClient, type NamespaceSettings, type QueryRequest, type Where } from '../../client/index.js';
import { contextToDocuments, hitToDocument, type SearchMode } from './documents.js';

export type MembankRetrieverFields = Connection &
  BaseRetrieverInput & {
    namespace: string;
    /** Settings for the namespace when it does not exist yet (the server's default embedder), or `false`. */
    create?: false | NamespaceSettings;
    /** Results per query (default 4, as LangChain's retrievers); for `context`, candidates before the budget (default 20). */
    k?: number;
    filter?: Where;
    /**
     * `hybrid` (vector and BM25 fused, the namespace's default when it has an embedder), `vector` or `keyword`.
     * @example 'hybrid'
     */
    mode?: SearchMode;
    hybrid?: QueryRequest['hybrid'];
    mmr?: QueryRequest['mmr'];
    minScore?: number;
    recency?: QueryRequest['recency'];
    /** Event-time window: at or after `after`, before `before` (ISO 8601 or epoch ms). */
    after?: string | number;
    before?: string | number;
    reinforce?: boolean;
    /**
     * Answer with one document: membank's prompt context (`POST …/context`), the best memories as dated lines
     * (and facts, with includeFacts) within `maxTokens`. Its metadata lists the memory and fact ids used.
     * @example { maxTokens: 500, includeFacts: true }
     */
    context?: Pick<ContextRequest, 'maxTokens' | 'order' | 'includeFacts'>;
  };

export class MembankRetriever extends BaseRetriever {
  static override lc_name(): string {
    return 'MembankRetriever';
  }

  lc_namespace = ['membank', 'retrievers'];
  readonly client: MembankClient;
  readonly namespace: string;
  readonly #fields: MembankRetrieverFields;
  #ready: Promise<unknown> | undefined;

  constructor(fields: MembankRetrieverFields) {
    super(fields);
    this.client = MembankClient.from(fields);
    this.namespace = fields.namespace;
    this.#fields = fields;
  }

  override get lc_secrets(): Record<string, string> {
    return { apiKey: 'MEMBANK_API_KEY' };
  }

  #ensure(): Promise<unknown> {
    const { create } = this.#fields;
    if (create === false) return Promise.resolve();
    this.#ready ??= this.client.ensureNamespace(this.namespace, create).catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  override async _getRelevantDocuments(query: string, _runManager?: CallbackManagerForRetrieverRun): Promise<Document[]> {
    await this.#ensure();
    const f = this.#fields;
    const common = {
      ...(f.mode && { mode: f.mode }),
      ...(f.filter && { filter: f.filter }),
      ...(f.after !== undefined && { after: f.after }),
      ...(f.before !== undefined && { before: f.before }),
      ...(f.reinforce !== undefined && { reinforce: f.reinforce }),
    };
    if (f.context) {
      const context = await this.client.context(this.namespace, { query, ...common, ...f.context, ...(f.k !== undefined && { k: f.k }) });
      return contextToDocuments(context);
    }
    const hits = await this.client.query(this.namespace, {
      query,
      k: f.k ?? 4,
      include: ['text', 'metadata'],
      ...common,
      ...(f.hybrid && { hybrid: f.hybrid }),
      ...(f.mmr && { mmr: f.mmr }),
      ...(f.minScore !== undefined && { minScore: f.minScore }),
      ...(f.recency && { recency: f.recency }),
    });
    return hits.map(hitToDocument);
  }
}
