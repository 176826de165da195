/**
 * MembankStore: LangGraph's long-term memory `BaseStore` on one membank namespace (see layout.ts for how items
 * are stored). Semantic search embeds on the server (the namespace's embedder) unless `index.embeddings` is given,
 * in which case vectors are made here and the namespace takes them (`embedder: null`).
 *
 * Within one `batch`, reads see the store as it was before the batch's writes, and several puts of one item keep
 * the last, as in LangGraph's InMemoryStore.
 */
import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import {
  BaseStore,
  type GetOperation,
  type Item,
  type ListNamespacesOperation,
  type MatchCondition,
  type Operation,
  type OperationResults,
  type PutOperation,
  type SearchOperation,
} from '@langchain/langgraph';
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
import { allOf, matches, NOTHING, translateFilter } from './filter.js';
import { itemId, itemMeta, META, partId, placeholder, prefixClauses, readItem, type StoredItem } from './layout.js';
import { textsAt } from './paths.js';

type SearchItem = Item & { score: number | undefined };

/**
 * What to embed, as LangGraph.js names it. With `embeddings`, vectors are made in this process; without, the
 * namespace's server-side embedder embeds the texts (so `dims` is not needed).
 * @example { dims: 1536, embeddings: new OpenAIEmbeddings(), fields: ['text', 'tags[*]'] }
 */
export interface MembankStoreIndex {
  dims?: number;
  embeddings?: EmbeddingsInterface;
  /** Paths in each value to embed, one vector each (default `['$']`: the whole value as JSON). */
  fields?: string[];
}

export type MembankStoreOptions = Connection & {
  /** The membank namespace that holds every item of the store, whatever its LangGraph namespace tuple. */
  namespace: string;
  index?: MembankStoreIndex;
  /** Settings for the namespace when it does not exist yet, or `false` to never create it. */
  create?: false | NamespaceSettings;
  /** Search mode with a query; the namespace's default (hybrid for text with an embedder) unless given. */
  mode?: QueryRequest['mode'];
  hybrid?: QueryRequest['hybrid'];
  /** Whether search results count as recalled (membank's forgetting); the server's default is true. */
  reinforce?: boolean;
};

interface Target {
  namespace: Namespace;
  /** Vectors made here, or undefined when the server embeds texts. */
  embeddings: EmbeddingsInterface | undefined;
}

/** Memories per write request (membank takes up to 1000) and values per `$in` list (at most 1000). */
const WRITE_BATCH = 500;
const IN_LIST = 1000;
/** membank answers at most 1000 results per query. */
const MAX_K = 1000;

const chunks = <T>(items: T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/** membank's own embeddings (membank/langchain's MembankEmbeddings), known by shape: this edge does not import that one. */
const serverEmbedder = (embeddings: EmbeddingsInterface | undefined): (() => Promise<string>) | undefined => {
  const candidate = embeddings as { client?: unknown; embedder?: () => Promise<string> } | undefined;
  return candidate?.client instanceof MembankClient && typeof candidate.embedder === 'function' ? () => candidate.embedder!() : undefined;
};

function checkNamespace(namespace: unknown, what: string, allowEmpty: boolean): asserts namespace is string[] {
  const ok =
    Array.isArray(namespace) &&
    (allowEmpty || namespace.length > 0) &&
    namespace.every((label) => typeof label === 'string' && label.length > 0 && !/[.:\0]/.test(label));
  if (!ok) {
    throw new MembankError(0, 'VALIDATION_FAILED', `${what}: namespace labels are non-empty strings without ".", ":" or NUL; got ${JSON.stringify(namespace)}.`);
  }
}

const toItem = (stored: StoredItem): Item => ({
  value: stored.value,
  key: stored.meta.key,
  namespace: stored.meta.namespace,
  createdAt: new Date(stored.memory.createdAt),
  updatedAt: new Date(stored.memory.updatedAt),
});

/** Namespace by namespace, in the order of each one's oldest item, then in insertion order (InMemoryStore's order). */
function byNamespace(items: StoredItem[]): StoredItem[] {
  const groups = new Map<string, StoredItem[]>();
  for (const item of items) {
    const key = item.meta.namespace.join(':');
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return [...groups.values()].flat();
}

function matchesCondition(condition: MatchCondition, namespace: string[]): boolean {
  const { path } = condition;
  if (path.length > namespace.length) return false;
  const offset = condition.matchType === 'prefix' ? 0 : namespace.length - path.length;
  return path.every((label, i) => label === '*' || label === namespace[offset + i]);
}

export class MembankStore extends BaseStore {
  readonly client: MembankClient;
  readonly namespace: string;
  readonly #options: MembankStoreOptions;
  #target: Promise<Target> | undefined;

  constructor(options: MembankStoreOptions) {
    super();
    this.client = MembankClient.from(options);
    this.namespace = options.namespace;
    this.#options = options;
  }

  #resolve(): Promise<Target> {
    this.#target ??= this.#connect().catch((error: unknown) => {
      this.#target = undefined;
      throw error;
    });
    return this.#target;
  }

  async #connect(): Promise<Target> {
    const { index, create } = this.#options;
    const server = serverEmbedder(index?.embeddings);
    const local = server ? undefined : index?.embeddings;
    const ensure = (settings: NamespaceSettings) =>
      create === false ? this.client.getNamespace(this.namespace) : this.client.ensureNamespace(this.namespace, { ...settings, ...create });
    if (local) {
      if (index?.dims === undefined) throw new MembankError(0, 'VALIDATION_FAILED', 'index.embeddings needs index.dims, the size of its vectors.');
      const namespace = await ensure({ embedder: null, dimensions: index.dims, space: 'cosine' });
      if (namespace.embedder !== null) {
        throw new MembankError(
          0,
          'EMBEDDER_MISMATCH',
          `Namespace "${namespace.name}" embeds with ${namespace.embedder} on the server, so vectors from index.embeddings would not be comparable with its own. Leave index.embeddings out, or use a namespace created with embedder: null.`,
        );
      }
      return { namespace, embeddings: local };
    }
    const embedder = server ? await server() : undefined;
    const namespace = await ensure(embedder === undefined ? {} : { embedder });
    if (namespace.embedder === null) {
      throw new MembankError(0, 'NO_EMBEDDER', `Namespace "${namespace.name}" has no embedder (embedder: null): give index.embeddings and index.dims to make vectors here.`);
    }
    if (embedder !== undefined && namespace.embedder !== embedder) {
      throw new MembankError(0, 'EMBEDDER_MISMATCH', `Namespace "${namespace.name}" embeds with ${namespace.embedder}, not ${embedder}.`);
    }
    return { namespace, embeddings: undefined };
  }

  async batch<Op extends Operation[]>(operations: Op): Promise<OperationResults<Op>> {
    const target = await this.#resolve();
    // One listing serves every read of the batch that needs one.
    let listing: Promise<StoredItem[]> | undefined;
    const list = () => (listing ??= this.#list());
    const puts = new Map<string, PutOperation>();
    const reads: Promise<unknown>[] = operations.map((op) => {
      if ('namespace' in op) checkNamespace(op.namespace, 'LangGraph store', false);
      if ('key' in op && 'namespace' in op && !('value' in op)) return this.#get(op as GetOperation);
      if ('namespacePrefix' in op) return this.#search(op as SearchOperation, target, list);
      if ('value' in op) {
        const put = op as PutOperation;
        puts.set(JSON.stringify([put.namespace, put.key]), put);
        return Promise.resolve(null);
      }
      if ('matchConditions' in op || 'maxDepth' in op) return list().then((items) => this.#namespaces(op as ListNamespacesOperation, items));
      throw new MembankError(0, 'VALIDATION_FAILED', `Unknown store operation: ${JSON.stringify(op)}.`);
    });
    const results = await Promise.all(reads);
    await this.#write([...puts.values()], target);
    return results as OperationResults<Op>;
  }

  async #get(op: GetOperation): Promise<Item | null> {
    try {
      const stored = readItem(await this.client.getMemory(this.namespace, await itemId(op.namespace, op.key)));
      return stored ? toItem(stored) : null;
    } catch (error) {
      if (error instanceof MembankError && error.code === 'MEMORY_NOT_FOUND') return null;
      throw error;
    }
  }

  // Workaround: membank lists memories only in full (no filter, no offset), so listings without a query and
  // namespace listings read every item and filter here. Wanted from the server: a filtered, offset listing of
  // memories, and the distinct values of a metadata field.
  async #list(): Promise<StoredItem[]> {
    const items: StoredItem[] = [];
    for await (const memory of this.client.memories(this.namespace, { pageSize: 1000 })) {
      const stored = readItem(memory);
      if (stored) items.push(stored);
    }
    return items;
  }

  async #search(op: SearchOperation, target: Target, list: () => Promise<StoredItem[]>): Promise<SearchItem[]> {
    checkNamespace(op.namespacePrefix, 'search', true);
    const clauses = translateFilter(op.filter);
    if (clauses === NOTHING) return [];
    const where = allOf([...prefixClauses(op.namespacePrefix), ...clauses]);
    const offset = op.offset ?? 0;
    const limit = op.limit ?? 10;
    const listed = async (indexed?: boolean) =>
      byNamespace(await list()).filter((item) => matches(where, item.memory.metadata) && (indexed === undefined || item.meta.indexed === indexed));
    if (!op.query) return (await listed()).slice(offset, offset + limit).map((item) => ({ ...toItem(item), score: undefined }));

    const { scored, exhausted } = await this.#nearest(op.query, where, offset + limit, target);
    let ranked: { item: string; score: number | undefined }[] = scored;
    // Items with nothing embedded come after every scored one, as in InMemoryStore.
    if (exhausted && scored.length < offset + limit) ranked = [...scored, ...(await listed(false)).map((i) => ({ item: i.meta.item, score: undefined }))];
    const page = ranked.slice(offset, offset + limit);
    // Workaround: query results carry no createdAt/updatedAt, so each item of the page is read once more.
    // Wanted from the server: createdAt and updatedAt in query results.
    const items = await Promise.all(
      page.map(async ({ item, score }) => {
        try {
          const stored = readItem(await this.client.getMemory(this.namespace, item));
          return stored && { ...toItem(stored), score };
        } catch (error) {
          if (error instanceof MembankError && error.code === 'MEMORY_NOT_FOUND') return undefined; // deleted meanwhile
          throw error;
        }
      }),
    );
    return items.filter((item): item is SearchItem => item !== undefined);
  }

  /** Each item's best score for the query, best first, asking for more results until `wanted` distinct items came. */
  async #nearest(query: string, where: Where | undefined, wanted: number, target: Target) {
    const filter = allOf([...(where ? [where] : []), { [`${META}.indexed`]: true }]);
    const { mode, hybrid, reinforce } = this.#options;
    const body: QueryRequest = target.embeddings
      ? { vector: await target.embeddings.embedQuery(query) }
      : { query, ...(mode && { mode }), ...(hybrid && { hybrid }) };
    let k = Math.min(MAX_K, Math.max(2 * wanted, 10));
    for (;;) {
      const hits: QueryResult[] = await this.client.query(this.namespace, {
        ...body,
        k,
        ...(filter && { filter }),
        include: ['metadata'],
        ...(reinforce !== undefined && { reinforce }),
      });
      const best = new Map<string, number>();
      for (const hit of hits) {
        const item = (hit.metadata?.[META] as { item?: string } | undefined)?.item;
        if (item !== undefined && !best.has(item)) best.set(item, hit.score);
      }
      const exhausted = hits.length < k;
      if (best.size >= wanted || exhausted || k === MAX_K) {
        return { scored: [...best].map(([item, score]) => ({ item, score })), exhausted };
      }
      k = Math.min(MAX_K, k * 4);
    }
  }

  #namespaces(op: ListNamespacesOperation, items: StoredItem[]): string[][] {
    const seen = new Map<string, string[]>();
    for (const { meta } of items) seen.set(meta.namespace.join(':'), meta.namespace);
    let namespaces = [...seen.values()].filter((ns) => (op.matchConditions ?? []).every((condition) => matchesCondition(condition, ns)));
    if (op.maxDepth !== undefined) {
      const cut = new Map(namespaces.map((ns) => [ns.slice(0, op.maxDepth).join(':'), ns.slice(0, op.maxDepth)]));
      namespaces = [...cut.values()];
    }
    namespaces.sort((a, b) => a.join(':').localeCompare(b.join(':')));
    const offset = op.offset ?? 0;
    return namespaces.slice(offset, offset + (op.limit ?? namespaces.length));
  }

  /** Writes every put of a batch, then erases deleted items and the parts an overwrite no longer has. */
  async #write(puts: PutOperation[], target: Target): Promise<void> {
    if (puts.length === 0) return;
    const gen = globalThis.crypto.randomUUID();
    const { fields = ['$'] } = this.#options.index ?? {};
    const written: string[] = [];
    const deleted: string[] = [];
    const planned: { put: PutOperation; id: string; texts: string[] }[] = [];
    for (const put of puts) {
      const id = await itemId(put.namespace, put.key);
      if (put.value === null) {
        deleted.push(id);
        continue;
      }
      const paths = put.index === false ? [] : (put.index ?? fields);
      let texts = paths.flatMap((path) => textsAt(put.value, path));
      // The server cannot embed a blank text; vectors made here can be of anything, as InMemoryStore's are.
      if (!target.embeddings) texts = texts.filter((text) => text.trim().length > 0);
      planned.push({ put, id, texts });
      written.push(id);
    }

    const vectors = new Map<string, number[]>();
    if (target.embeddings) {
      const unique = [...new Set(planned.flatMap((p) => p.texts))];
      const made = unique.length > 0 ? await target.embeddings.embedDocuments(unique) : [];
      unique.forEach((text, i) => vectors.set(text, made[i]!));
    }
    const memories: MemoryRequest[] = [];
    for (const { put, id, texts } of planned) {
      const memory = async (part: number, text: string | undefined): Promise<MemoryRequest> => ({
        id: part === 0 ? id : await partId(id, part),
        metadata: { [META]: itemMeta(put.namespace, put.key, id, part, text !== undefined, gen), value: put.value },
        ...(text !== undefined && text.trim().length > 0 && { text }),
        ...(text === undefined
          ? { vector: placeholder(target.namespace.dimensions ?? 1) }
          : target.embeddings && { vector: vectors.get(text)! }),
      });
      if (texts.length === 0) memories.push(await memory(0, undefined));
      for (const [part, text] of texts.entries()) memories.push(await memory(part, text));
    }

    for (const batch of chunks(memories, WRITE_BATCH)) await this.client.writeMemories(this.namespace, batch);
    const item = `${META}.item`;
    for (const ids of chunks(written, IN_LIST)) {
      await this.client.erase(this.namespace, { $and: [{ [item]: { $in: ids } }, { [`${META}.part`]: { $gte: 1 } }, { [`${META}.gen`]: { $ne: gen } }] });
    }
    for (const ids of chunks(deleted, IN_LIST)) await this.client.erase(this.namespace, { [item]: { $in: ids } });
  }
}
