/**
 * MembankEmbedding: LlamaIndex's `BaseEmbedding` over membank's OpenAI-shaped `/v1/embeddings`. It is also what
 * tells a MembankVectorStore to let the server embed: texts then travel as text and are embedded once, there.
 */
import { BaseEmbedding } from '@llamaindex/core/embeddings';
import { type Connection, MembankClient, MembankError, type NamespaceSettings } from '../../client/index.js';

export type MembankEmbeddingOptions = Connection & {
  /** The embedder, by name (`GET /v1/models` lists them). */
  model?: string;
  /** Or: the embedder of this namespace, looked up once. One of `model` or `namespace` is needed. */
  namespace?: string;
  /**
   * With `namespace`: settings to create it with when it does not exist yet (the server's default embedder
   * unless they name one). By default it must exist already.
   */
  create?: false | NamespaceSettings;
};

export class MembankEmbedding extends BaseEmbedding {
  readonly client: MembankClient;
  readonly model: string | undefined;
  readonly namespace: string | undefined;
  readonly #create: false | NamespaceSettings;
  #resolved: Promise<string> | undefined;

  constructor(options: MembankEmbeddingOptions) {
    super();
    if (options.model === undefined && options.namespace === undefined) {
      throw new MembankError(0, 'VALIDATION_FAILED', 'MembankEmbedding needs a model (an embedder name) or a namespace whose embedder to use.');
    }
    this.client = MembankClient.from(options);
    this.model = options.model;
    this.namespace = options.namespace;
    this.#create = options.create ?? false;
    // BaseEmbedding declares this one as an instance property, so it is replaced here rather than overridden.
    this.getTextEmbeddings = async (texts: string[]) => (texts.length === 0 ? [] : this.client.embed(texts, await this.embedder()));
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
      throw new MembankError(0, 'NO_EMBEDDER', `Namespace "${ns.name}" has no embedder (embedder: null), so MembankEmbedding cannot embed with it: give a model.`);
    }
    return ns.embedder;
  }

  async getTextEmbedding(text: string): Promise<number[]> {
    return (await this.client.embed([text], await this.embedder()))[0]!;
  }
}
