/**
 * MembankEmbeddings: LangChain's `Embeddings` over membank's OpenAI-shaped `/v1/embeddings`. Given to a
 * MembankVectorStore whose namespace embeds on the server, it also says "let the server embed": texts then
 * travel as text and are embedded once, there.
 */
import { Embeddings, type EmbeddingsParams } from '@langchain/core/embeddings';
import { type Connection, MembankClient, MembankError, type NamespaceSettings } from '../../client/index.js';

export type MembankEmbeddingsFields = Connection &
  EmbeddingsParams & {
    /**
     * The embedder to use, by name (`GET /v1/models` lists them).
     * @example 'use-lite'
     */
    model?: string;
    /** Or: the embedder of this namespace, looked up once. One of `model` or `namespace` is needed. */
    namespace?: string;
    /**
     * With `namespace`: settings to create it with when it does not exist yet (the server's default embedder
     * unless they name one). By default it must exist already.
     */
    create?: false | NamespaceSettings;
  };

export class MembankEmbeddings extends Embeddings {
  readonly client: MembankClient;
  /** The embedder named at construction; undefined when it is the namespace's, until first use. */
  readonly model: string | undefined;
  readonly namespace: string | undefined;
  readonly #create: false | NamespaceSettings;
  #resolved: Promise<string> | undefined;

  constructor(fields: MembankEmbeddingsFields) {
    super(fields);
    if (fields.model === undefined && fields.namespace === undefined) {
      throw new MembankError(0, 'VALIDATION_FAILED', 'MembankEmbeddings needs a model (an embedder name) or a namespace whose embedder to use.');
    }
    this.client = MembankClient.from(fields);
    this.model = fields.model;
    this.namespace = fields.namespace;
    this.#create = fields.create ?? false;
  }

  /** The embedder's name: the one given, or the namespace's. */
  embedder(): Promise<string> {
    this.#resolved ??= this.#lookUp().catch((error: unknown) => {
      this.#resolved = undefined;
      throw error;
    });
    return this.#resolved;
  }

  async #lookUp(): Promise<string> {
    if (this.model !== undefined) return this.model;
    const ns = this.#create === false ? await this.client.getNamespace(this.namespace!) : await this.client.ensureNamespace(this.namespace!, this.#create);
    if (ns.embedder === null) {
      throw new MembankError(0, 'NO_EMBEDDER', `Namespace "${ns.name}" has no embedder (embedder: null), so MembankEmbeddings cannot embed with it: give a model.`);
    }
    return ns.embedder;
  }

  async embedDocuments(texts: string[]): Promise<number[][]> {
    if (texts.length === 0) return [];
    return this.client.embed(texts, await this.embedder());
  }

  async embedQuery(text: string): Promise<number[]> {
    return (await this.client.embed([text], await this.embedder()))[0]!;
  }
}
