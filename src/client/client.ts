/**
 * MembankClient: one typed method per REST endpoint, on plain `fetch` (Node 18+ and browsers). Failures are
 * MembankError with the HTTP status and the server's error code; 429 and 503 answers are retried with
 * exponential backoff (honouring Retry-After), since both mean "try again later".
 */
import type {
  ApiKey,
  ChangePage,
  CreateWebhookRequest,
  HistoryEvent,
  Webhook,
  ChunkingRequest,
  Context,
  ContextRequest,
  CreatedApiKey,
  CreateKeyRequest,
  CreateNamespaceRequest,
  EraseRequest,
  ForgetRequest,
  ForgetResult,
  MultiQueryRequest,
  PatchNamespaceRequest,
  DocumentRequest,
  EmbeddingsRequest,
  EmbeddingsResponse,
  EntityGraph,
  ErrorCode,
  Fact,
  FieldValue,
  FindMemoriesRequest,
  FactCommandResult,
  FactPatternRequest,
  FactRequest,
  Health,
  Job,
  Memory,
  MemoryPage,
  MemoryPatchRequest,
  MemoryRequest,
  MemoryUpdateRequest,
  ModelList,
  Namespace,
  NamespaceSettings,
  NamespaceStats,
  QueryRequest,
  QueryResult,
  ReadFactsRequest,
  ScoredFact,
  SearchFactsRequest,
  Selection,
  UpdateResult,
  Where,
} from './types.js';

/**
 * A failed call. `code` is the server's error code, or NETWORK_ERROR / TIMEOUT when no answer came. The framework
 * integrations throw it too, with one of the server's codes, for what they refuse before sending anything.
 */
export class MembankError extends Error {
  override readonly name = 'MembankError';
  constructor(
    /** HTTP status; 0 when no answer came (the server could not be reached, or the request was refused before sending). */
    readonly status: number,
    readonly code: ErrorCode | 'NETWORK_ERROR' | 'TIMEOUT' | 'UNEXPECTED_RESPONSE',
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export interface ClientOptions {
  /**
   * The service's base URL.
   * @example 'http://127.0.0.1:8420'
   */
  url?: string;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /**
   * Retries after a 429 or 503 answer (and after a network error on reads). 0 disables them.
   * @example { retries: 5, backoffMs: 100 }
   */
  retries?: number;
  /** First backoff delay; each retry doubles it, with jitter, up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /**
   * Gives up on one attempt after this long (0: never). Large writes embed their texts before answering.
   * @example { timeoutMs: 120_000 }
   */
  timeoutMs?: number;
  /** Another fetch (a proxy-aware one, or a test double). Defaults to the global fetch. */
  fetch?: typeof fetch;
}

/**
 * How the framework integrations reach membank: a client of your own, or the options to build one.
 * @example { url: 'http://127.0.0.1:8420', apiKey: 'mbk_…' }   or   { client: new MembankClient({ retries: 5 }) }
 */
export type Connection = { client: MembankClient } | ClientOptions;

const RETRYABLE = new Set([429, 503]);
/** Ids per request of the routes that take a list of ids (the server's page size). */
const MAX_IDS = 1000;
const SELECTION_KEYS = new Set(['filter', 'textFilter', 'ids', 'compact']);
const FIELD_OPERATORS = new Set(['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin']);

/**
 * Whether erase was given a selection (`{ filter?, textFilter?, ids? }`) rather than a bare `Where`. A `Where`
 * whose only fields are named filter, textFilter or ids is one when each of them holds a scalar or an operator
 * object (`{ ids: { $in: […] } }`), since a selection's are a list of ids and filters.
 */
function isSelection(value: Selection | Where): value is Selection {
  const entries = Object.entries(value);
  if (entries.length === 0 || !entries.every(([key]) => SELECTION_KEYS.has(key))) return false;
  return entries.every(([key, v]) => {
    if (key === 'ids') return Array.isArray(v);
    if (key === 'compact') return typeof v === 'boolean';
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
    const ops = Object.keys(v);
    return ops.length === 0 || !ops.every((op) => FIELD_OPERATORS.has(op));
  });
}
/** OpenAI's limit on texts per embeddings request, which POST /v1/embeddings keeps. */
const MAX_EMBEDDING_INPUTS = 2048;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seg = encodeURIComponent;

type QueryValue = string | number | boolean | undefined;

export class MembankClient {
  readonly url: string;
  readonly #options: Required<Omit<ClientOptions, 'apiKey' | 'url'>> & { apiKey?: string };

  constructor(options: ClientOptions = {}) {
    this.url = (options.url ?? 'http://127.0.0.1:8420').replace(/\/+$/, '');
    this.#options = {
      retries: options.retries ?? 3,
      backoffMs: options.backoffMs ?? 200,
      maxBackoffMs: options.maxBackoffMs ?? 5000,
      timeoutMs: options.timeoutMs ?? 300_000,
      fetch: options.fetch ?? ((...args) => fetch(...args)),
      ...(options.apiKey !== undefined && { apiKey: options.apiKey }),
    };
  }

  /** The connection's client: the one given, or a new one built from the options. */
  static from(connection: Connection): MembankClient {
    return 'client' in connection ? connection.client : new MembankClient(connection);
  }

  /** Sends one request; resolves with the parsed JSON answer (undefined for 204). */
  async request<T>(method: string, path: string, options: { body?: unknown; query?: Record<string, QueryValue> } = {}): Promise<T> {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(options.query ?? {})) if (value !== undefined) search.set(key, String(value));
    const qs = search.toString();
    const target = `${this.url}${path}${qs ? `?${qs}` : ''}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (this.#options.apiKey) headers.authorization = `Bearer ${this.#options.apiKey}`;
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);

    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        const signal = this.#options.timeoutMs > 0 ? AbortSignal.timeout(this.#options.timeoutMs) : undefined;
        response = await this.#options.fetch(target, { method, headers, body, signal });
      } catch (error) {
        if ((error as Error).name === 'TimeoutError') {
          throw new MembankError(0, 'TIMEOUT', `membank at ${this.url} did not answer ${method} ${path} within ${this.#options.timeoutMs} ms.`);
        }
        // A write may have reached the server before the connection broke, so only reads are retried.
        if (method === 'GET' && attempt < this.#options.retries) {
          await sleep(this.#delay(attempt, null));
          continue;
        }
        throw new MembankError(0, 'NETWORK_ERROR', `Could not reach membank at ${this.url}: ${(error as Error).message}`);
      }
      if (RETRYABLE.has(response.status) && attempt < this.#options.retries) {
        await response.body?.cancel();
        await sleep(this.#delay(attempt, response.headers.get('retry-after')));
        continue;
      }
      return this.#read<T>(response);
    }
  }

  #delay(attempt: number, retryAfter: string | null): number {
    const seconds = retryAfter === null ? NaN : Number(retryAfter);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, this.#options.maxBackoffMs);
    const base = Math.min(this.#options.backoffMs * 2 ** attempt, this.#options.maxBackoffMs);
    return base / 2 + Math.random() * (base / 2);
  }

  async #read<T>(response: Response): Promise<T> {
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new MembankError(response.status, 'UNEXPECTED_RESPONSE', `Expected JSON from membank, got: ${text.slice(0, 200)}`);
    }
    if (response.ok) return json as T;
    const error = (json as { error?: { code?: ErrorCode; message?: string; details?: unknown } } | undefined)?.error;
    if (error?.code) throw new MembankError(response.status, error.code, error.message ?? error.code, error.details);
    throw new MembankError(response.status, 'UNEXPECTED_RESPONSE', `HTTP ${response.status}: ${text.slice(0, 200)}`);
  }

  // Service

  health(): Promise<Health> {
    return this.request('GET', '/healthz');
  }

  models(): Promise<ModelList> {
    return this.request('GET', '/v1/models');
  }

  embeddings(body: EmbeddingsRequest): Promise<EmbeddingsResponse> {
    return this.request('POST', '/v1/embeddings', { body });
  }

  /** One vector per text, in order, from one of the server's embedders (POST /v1/embeddings, as many calls as it takes). */
  async embed(texts: string[], model: string): Promise<number[][]> {
    const vectors: number[][] = [];
    for (let start = 0; start < texts.length; start += MAX_EMBEDDING_INPUTS) {
      const input = texts.slice(start, start + MAX_EMBEDDING_INPUTS);
      const answer = await this.embeddings({ model, input, encoding_format: 'float' });
      const ordered = [...answer.data].sort((a, b) => a.index - b.index);
      if (ordered.length !== input.length || ordered.some((d) => typeof d.embedding === 'string')) {
        throw new MembankError(200, 'UNEXPECTED_RESPONSE', `Expected ${input.length} float embeddings from membank, got ${ordered.length}.`);
      }
      for (const item of ordered) vectors.push(item.embedding as number[]);
    }
    return vectors;
  }

  getJob(id: string): Promise<Job> {
    return this.request('GET', `/v1/jobs/${seg(id)}`);
  }

  // Namespaces

  createNamespace(body: CreateNamespaceRequest): Promise<Namespace> {
    return this.request('POST', '/v1/namespaces', { body });
  }

  async listNamespaces(): Promise<Namespace[]> {
    return (await this.request<{ namespaces: Namespace[] }>('GET', '/v1/namespaces')).namespaces;
  }

  getNamespace(ns: string): Promise<NamespaceStats> {
    return this.request('GET', `/v1/namespaces/${seg(ns)}`);
  }

  /**
   * The namespace, created first with these settings when it does not exist (which needs a key allowed to create
   * it). An existing namespace is answered as it is, whatever its settings: compare them yourself if they matter.
   */
  async ensureNamespace(ns: string, settings: NamespaceSettings = {}): Promise<Namespace> {
    try {
      return await this.getNamespace(ns);
    } catch (error) {
      if (!(error instanceof MembankError) || error.code !== 'NAMESPACE_NOT_FOUND') throw error;
    }
    try {
      return await this.createNamespace({ ...settings, name: ns });
    } catch (error) {
      // Another caller created it between the two requests, with other settings: theirs stand.
      if (error instanceof MembankError && error.code === 'NAMESPACE_CONFLICT') return this.getNamespace(ns);
      throw error;
    }
  }

  deleteNamespace(ns: string): Promise<void> {
    return this.request('DELETE', `/v1/namespaces/${seg(ns)}`);
  }

  /**
   * Changes a namespace: its name (it keeps its id, memories and indexes), metadata (replaced whole), forgetting
   * settings or search settings (`hnsw.efSearch`, `hnsw.threshold`).
   * @example mb.patchNamespace('notes', { name: 'notes-2024', metadata: { team: 'a' }, hnsw: { efSearch: 128 } })
   */
  patchNamespace(ns: string, body: PatchNamespaceRequest): Promise<Namespace> {
    return this.request('PATCH', `/v1/namespaces/${seg(ns)}`, { body });
  }

  // Forgetting

  /** Runs a forgetting policy now (or, with dryRun, lists what it would remove). */
  forget(ns: string, body: ForgetRequest): Promise<ForgetResult> {
    return this.request('POST', `/v1/namespaces/${seg(ns)}/forget`, { body });
  }

  /**
   * Erases memories for good (protected ones too), then compacts the store (unless `compact: false`); resolves with how many. Given a
   * `Where`, every memory it matches with whole documents; given a selection, exactly the memories matching its
   * `filter`, `textFilter` and `ids` together (more than 1000 ids take several requests).
   * @example mb.erase('notes', { user: 'bob' })   mb.erase('notes', { ids: ['a', 'b'] })   mb.erase('notes', { textFilter: { $contains: 'secret' } })
   */
  async erase(ns: string, selection: EraseRequest): Promise<number>;
  async erase(ns: string, filter: Where): Promise<number>;
  async erase(ns: string, what: EraseRequest | Where): Promise<number> {
    const erase = async (body: EraseRequest) =>
      (await this.request<{ deleted: number }>('POST', `/v1/namespaces/${seg(ns)}/memories/delete`, { body })).deleted;
    if (!isSelection(what)) return erase({ filter: what });
    const { ids, ...rest } = what;
    if (ids === undefined || ids.length <= MAX_IDS) return erase(what);
    let erased = 0;
    for (let start = 0; start < ids.length; start += MAX_IDS) erased += await erase({ ...rest, ids: ids.slice(start, start + MAX_IDS) });
    return erased;
  }

  // API keys (admin keys)

  createKey(body: CreateKeyRequest): Promise<CreatedApiKey> {
    return this.request('POST', '/v1/keys', { body });
  }

  async listKeys(): Promise<ApiKey[]> {
    return (await this.request<{ keys: ApiKey[] }>('GET', '/v1/keys')).keys;
  }

  revokeKey(id: string): Promise<void> {
    return this.request('DELETE', `/v1/keys/${seg(id)}`);
  }

  // Webhooks (admin keys)

  createWebhook(body: CreateWebhookRequest): Promise<Webhook> {
    return this.request('POST', '/v1/webhooks', { body });
  }

  async listWebhooks(): Promise<Webhook[]> {
    return (await this.request<{ webhooks: Webhook[] }>('GET', '/v1/webhooks')).webhooks;
  }

  getWebhook(id: string): Promise<Webhook> {
    return this.request('GET', `/v1/webhooks/${seg(id)}`);
  }

  deleteWebhook(id: string): Promise<void> {
    return this.request('DELETE', `/v1/webhooks/${seg(id)}`);
  }

  async reembed(ns: string, embedder: string): Promise<Job> {
    return (await this.request<{ job: Job }>('POST', `/v1/namespaces/${seg(ns)}/reembed`, { body: { embedder } })).job;
  }

  // Memories and documents

  async writeMemories(ns: string, memories: MemoryRequest[]): Promise<string[]> {
    return (await this.request<{ ids: string[] }>('POST', `/v1/namespaces/${seg(ns)}/memories`, { body: { memories } })).ids;
  }

  listMemories(ns: string, options: { limit?: number; cursor?: string; vector?: boolean } = {}): Promise<MemoryPage> {
    const query = { limit: options.limit, cursor: options.cursor, include: options.vector ? 'vector' : undefined };
    return this.request('GET', `/v1/namespaces/${seg(ns)}/memories`, { query });
  }

  /**
   * One page of the memories matching a selection (metadata filter, text filter, ids; none: every memory), in
   * insertion order. Pass the answer's `nextCursor` as `cursor` for the next page.
   * @example mb.findMemories('notes', { filter: { user: 'ann' }, textFilter: { $contains: 'tea' }, limit: 50 })
   */
  findMemories(ns: string, request: FindMemoriesRequest = {}): Promise<MemoryPage> {
    const { vector, ...body } = request;
    return this.request('POST', `/v1/namespaces/${seg(ns)}/memories/list`, { body: { ...body, ...(vector && { include: ['vector'] }) } });
  }

  /**
   * Every memory of a namespace, or every one a selection matches, page by page in insertion order.
   * @example for await (const m of mb.memories('notes', { filter: { user: 'ann' } })) console.log(m.id)
   */
  async *memories(ns: string, options: Selection & { pageSize?: number; vector?: boolean; offset?: number } = {}): AsyncGenerator<Memory> {
    const { pageSize = 500, vector, offset, ...selection } = options;
    const selects = selection.filter !== undefined || selection.textFilter !== undefined || selection.ids !== undefined || offset !== undefined;
    let cursor: string | undefined;
    let first = true;
    do {
      const page = selects
        ? await this.findMemories(ns, { ...selection, limit: pageSize, vector, ...(cursor === undefined ? first && offset !== undefined && { offset } : { cursor }) })
        : await this.listMemories(ns, { limit: pageSize, cursor, vector });
      first = false;
      yield* page.memories;
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
  }

  /**
   * Changes given fields of existing memories (text, metadata, vector); their strength, recalls and times stay.
   * A new text without a vector is embedded again in a namespace with an embedder. Ids that do not exist come
   * back in `missing`; nothing is created.
   */
  updateMemories(ns: string, memories: MemoryUpdateRequest[]): Promise<UpdateResult> {
    return this.request('POST', `/v1/namespaces/${seg(ns)}/memories/update`, { body: { memories } });
  }

  /** Changes given fields of one memory (see updateMemories); MEMORY_NOT_FOUND when it does not exist. */
  patchMemory(ns: string, id: string, patch: MemoryPatchRequest): Promise<Memory & { seq: number }> {
    return this.request('PATCH', `/v1/namespaces/${seg(ns)}/memories/${seg(id)}`, { body: patch });
  }

  /**
   * The distinct values of a metadata field (a dotted path) with how many memories hold each, most held first:
   * up to `limit` (default 1000, at most 10,000).
   * @example await mb.fieldValues('notes', 'user')   // [{ value: 'ann', count: 12 }, { value: 'bob', count: 3 }]
   */
  async fieldValues(ns: string, field: string, limit?: number): Promise<FieldValue[]> {
    return (await this.request<{ values: FieldValue[] }>('GET', `/v1/namespaces/${seg(ns)}/values`, { query: { field, limit } })).values;
  }

  /**
   * A memory's history, oldest first (created, updated with the version replaced, deduplicated, and once it is
   * gone, its tombstone alone).
   */
  async memoryHistory(ns: string, id: string): Promise<HistoryEvent[]> {
    return (await this.request<{ events: HistoryEvent[] }>('GET', `/v1/namespaces/${seg(ns)}/memories/${seg(id)}/history`)).events;
  }

  /**
   * The namespace's changes after `since` (default: the oldest the log holds), at most `limit`; with `wait`
   * (seconds, up to 60) an empty answer waits for the next change. Ask again with `since: next`.
   * @example let page = await mb.changes('notes', { since: 0 }); page = await mb.changes('notes', { since: page.next, wait: 30 });
   */
  changes(ns: string, options: { since?: number; limit?: number; wait?: number } = {}): Promise<ChangePage> {
    return this.request('GET', `/v1/namespaces/${seg(ns)}/changes`, { query: { since: options.since, limit: options.limit, wait: options.wait } });
  }

  getMemory(ns: string, id: string, options: { vector?: boolean } = {}): Promise<Memory> {
    return this.request('GET', `/v1/namespaces/${seg(ns)}/memories/${seg(id)}`, { query: { include: options.vector ? 'vector' : undefined } });
  }

  deleteMemory(ns: string, id: string): Promise<void> {
    return this.request('DELETE', `/v1/namespaces/${seg(ns)}/memories/${seg(id)}`);
  }

  async writeDocuments(ns: string, documents: DocumentRequest[], chunking?: ChunkingRequest): Promise<{ id: string; chunks: string[] }[]> {
    const body = chunking === undefined ? { documents } : { documents, chunking };
    return (await this.request<{ documents: { id: string; chunks: string[] }[] }>('POST', `/v1/namespaces/${seg(ns)}/documents`, { body })).documents;
  }

  deleteDocument(ns: string, id: string): Promise<void> {
    return this.request('DELETE', `/v1/namespaces/${seg(ns)}/documents/${seg(id)}`);
  }

  async query(ns: string, body: QueryRequest): Promise<QueryResult[]> {
    return (await this.request<{ results: QueryResult[] }>('POST', `/v1/namespaces/${seg(ns)}/query`, { body })).results;
  }

  /** One search over several namespaces that share an embedder; each result names its namespace. */
  async queryMany(body: MultiQueryRequest): Promise<(QueryResult & { namespace: string })[]> {
    return (await this.request<{ results: (QueryResult & { namespace: string })[] }>('POST', '/v1/query', { body })).results;
  }

  /** The memories (and facts) for a prompt, as text within a token budget. */
  context(ns: string, body: ContextRequest): Promise<Context> {
    return this.request('POST', `/v1/namespaces/${seg(ns)}/context`, { body });
  }

  // Facts

  async writeFacts(ns: string, facts: FactRequest[]): Promise<string[]> {
    return (await this.request<{ ids: string[] }>('POST', `/v1/namespaces/${seg(ns)}/facts`, { body: { facts } })).ids;
  }

  async readFacts(ns: string, query: ReadFactsRequest = {}): Promise<Fact[]> {
    return (await this.request<{ facts: Fact[] }>('GET', `/v1/namespaces/${seg(ns)}/facts`, { query: { ...query } })).facts;
  }

  async searchFacts(ns: string, body: SearchFactsRequest): Promise<ScoredFact[]> {
    return (await this.request<{ results: ScoredFact[] }>('POST', `/v1/namespaces/${seg(ns)}/facts/search`, { body })).results;
  }

  deleteFact(ns: string, id: string): Promise<void> {
    return this.request('DELETE', `/v1/namespaces/${seg(ns)}/facts/${seg(id)}`);
  }

  /** Deletes every fact matching the pattern; resolves with how many. */
  async deleteFacts(ns: string, pattern: FactPatternRequest): Promise<number> {
    return (await this.request<{ deleted: number }>('POST', `/v1/namespaces/${seg(ns)}/facts/delete`, { body: pattern })).deleted;
  }

  entity(ns: string, name: string, depth?: number): Promise<EntityGraph> {
    return this.request('GET', `/v1/namespaces/${seg(ns)}/entities/${seg(name)}`, { query: { depth } });
  }

  async factCommands(ns: string, text: string): Promise<FactCommandResult[]> {
    return (await this.request<{ results: FactCommandResult[] }>('POST', `/v1/namespaces/${seg(ns)}/facts/commands`, { body: { text } })).results;
  }
}
