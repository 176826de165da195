/**
 * MembankStore: LangGraph's long-term memory `BaseStore` on one membank namespace (see layout.ts for how items
 * are stored). Semantic search embeds on the server (the namespace's embedder) unless `index.embeddings` is given,
 * in which case vectors are made here and the namespace takes them (`embedder: null`).
 *
 * Within one `batch`, reads see the store as it was before the batch's writes, and several puts of one item keep
 * the last, as in LangGraph's InMemoryStore.
 *
 * Listings run on the server: the LangGraph namespaces are the distinct values of the items' `path` field
 * (fieldValues), and a search without a query is a filtered, paged findMemories, namespace by namespace in
 * InMemoryStore's order (each namespace at the place of its oldest item, items in insertion order).
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
import { isUnder, itemId, itemMeta, META, PATH_FIELD, partId, placeholder, prefixClauses, readItem, type StoredItem } from './layout.js';
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
/** membank answers at most 1000 results per query and 1000 memories per listing page. */
const MAX_K = 1000;
const PAGE = 1000;
/** The most distinct values fieldValues answers at once: with this many, there may be more namespaces. */
const MAX_PATHS = 10_000;
/**
 * Namespaces under a prefix above which a search without a query reads the prefix's items in one scan rather
 * than asking namespace by namespace (two requests for each).
 */
const ORDERED_NAMESPACES = 32;

const PART_ZERO: Where = { [`${META}.part`]: 0 };

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

/** A namespace that holds items, as its path, and how many memories it has (parts included). */
interface NamespacePath {
  path: string;
  count: number;
}

/** The namespace paths of a batch's reads, asked once per batch; undefined when there are too many to list. */
type Paths = () => Promise<NamespacePath[] | undefined>;

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
    // One answer of the namespace paths serves every read of the batch that needs it.
    let listing: Promise<NamespacePath[] | undefined> | undefined;
    const paths: Paths = () => (listing ??= this.#paths());
    const puts = new Map<string, PutOperation>();
    const reads: Promise<unknown>[] = operations.map((op) => {
      if ('namespace' in op) checkNamespace(op.namespace, 'LangGraph store', false);
      if ('key' in op && 'namespace' in op && !('value' in op)) return this.#get(op as GetOperation);
      if ('namespacePrefix' in op) return this.#search(op as SearchOperation, target, paths);
      if ('value' in op) {
        const put = op as PutOperation;
        puts.set(JSON.stringify([put.namespace, put.key]), put);
        return Promise.resolve(null);
      }
      if ('matchConditions' in op || 'maxDepth' in op) return this.#namespaces(op as ListNamespacesOperation, paths);
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

  /** The paths of the namespaces that hold items: the distinct values of the path field, or undefined past MAX_PATHS. */
  async #paths(): Promise<NamespacePath[] | undefined> {
    const values = await this.client.fieldValues(this.namespace, PATH_FIELD, MAX_PATHS);
    if (values.length >= MAX_PATHS) return undefined;
    return values.flatMap(({ value, count }) => (typeof value === 'string' ? [{ path: value, count }] : []));
  }

  /** Up to `limit` items a filter matches, after skipping `offset`, in insertion order, page by page. */
  async #find(filter: Where | undefined, offset: number, limit: number): Promise<StoredItem[]> {
    const items: StoredItem[] = [];
    let cursor: string | undefined;
    do {
      const wanted = Math.min(PAGE, limit - items.length);
      if (wanted <= 0) break;
      const page = await this.client.findMemories(this.namespace, {
        ...(filter && { filter }),
        limit: wanted,
        ...(cursor === undefined ? offset > 0 && { offset } : { cursor }),
      });
      for (const memory of page.memories) {
        const stored = readItem(memory);
        if (stored) items.push(stored);
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return items;
  }

  /**
   * The items under a prefix that match the clauses, in InMemoryStore's order: namespace by namespace, each at
   * the place of its oldest item (matching or not), items in insertion order; `limit` of them after `offset`.
   */
  async #listing(prefix: string[], clauses: Where[], offset: number, limit: number, paths: Paths): Promise<StoredItem[]> {
    if (limit <= 0) return [];
    const known = await paths();
    const within = known?.filter(({ path }) => isUnder(prefix, path));
    if (within?.length === 0) return [];
    const inNamespace = (path: string) => allOf([PART_ZERO, { [PATH_FIELD]: path }, ...clauses]);
    if (within?.length === 1) return this.#find(inNamespace(within[0]!.path), offset, limit);
    // Few memories under the prefix are one page of a scan: cheaper than two requests per namespace.
    const memories = within?.reduce((sum, { count }) => sum + count, 0) ?? Infinity;
    if (within === undefined || within.length > ORDERED_NAMESPACES || memories <= PAGE) return this.#scanned(prefix, clauses, offset, limit);
    const under = within.map(({ path }) => path);
    // Each namespace's first offset + limit matches, and (when clauses leave some out) its oldest item, at once.
    const oldestOf = async (path: string) =>
      (await this.client.findMemories(this.namespace, { filter: allOf([PART_ZERO, { [PATH_FIELD]: path }]), limit: 1 })).memories[0]?.id;
    const [found, oldest] = await Promise.all([
      Promise.all(under.map((path) => this.#find(inNamespace(path), 0, offset + limit))),
      clauses.length === 0 ? undefined : Promise.all(under.map((path, i) => oldestOf(path).then((id) => ({ i, id })))),
    ]);
    const first = (oldest ?? found.map((items, i) => ({ i, id: items[0]?.memory.id }))).filter(({ i, id }) => id !== undefined && found[i]!.length > 0);
    if (first.length === 0) return [];
    // A listing by ids answers in insertion order: the namespaces' order.
    const ordered = await this.client.findMemories(this.namespace, { ids: first.map(({ id }) => id!), limit: first.length });
    const at = new Map(first.map(({ i, id }) => [id!, i]));
    const order = ordered.memories.map((memory) => at.get(memory.id)!);
    // An oldest item deleted meanwhile leaves its namespace unplaced: it goes last rather than missing.
    for (const { i } of first) if (!order.includes(i)) order.push(i);
    return order.flatMap((i) => found[i]!).slice(offset, offset + limit);
  }

  /**
   * The same listing from one scan of the prefix's items, for prefixes over few memories or many namespaces (or
   * stores with more namespaces than fieldValues answers): the order needs each namespace's oldest item, so the
   * clauses are matched here.
   */
  async #scanned(prefix: string[], clauses: Where[], offset: number, limit: number): Promise<StoredItem[]> {
    const items: StoredItem[] = [];
    for await (const memory of this.client.memories(this.namespace, { filter: allOf([PART_ZERO, ...prefixClauses(prefix)])!, pageSize: PAGE })) {
      const stored = readItem(memory);
      if (stored) items.push(stored);
    }
    const where = allOf(clauses);
    return byNamespace(items)
      .filter((item) => matches(where, item.memory.metadata))
      .slice(offset, offset + limit);
  }

  async #search(op: SearchOperation, target: Target, paths: Paths): Promise<SearchItem[]> {
    checkNamespace(op.namespacePrefix, 'search', true);
    const clauses = translateFilter(op.filter);
    if (clauses === NOTHING) return [];
    const offset = op.offset ?? 0;
    const limit = op.limit ?? 10;
    if (!op.query) return (await this.#listing(op.namespacePrefix, clauses, offset, limit, paths)).map((item) => ({ ...toItem(item), score: undefined }));

    const where = allOf([...prefixClauses(op.namespacePrefix), ...clauses]);
    const { scored, exhausted } = await this.#nearest(op.query, where, offset + limit, target);
    const page: SearchItem[] = scored.slice(offset, offset + limit).map(({ item, score }) => ({ ...toItem(item), score }));
    // Items with nothing embedded come after every scored one, as in InMemoryStore.
    if (exhausted && page.length < limit) {
      const unindexed = await this.#listing(op.namespacePrefix, [...clauses, { [`${META}.indexed`]: false }], 0, offset + limit - scored.length, paths);
      const skip = Math.max(0, offset - scored.length);
      page.push(...unindexed.slice(skip).map((item) => ({ ...toItem(item), score: undefined })));
    }
    return page.slice(0, limit);
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
      const best = new Map<string, { item: StoredItem; score: number }>();
      for (const hit of hits) {
        const stored = readItem(hit, 'any');
        if (stored && !best.has(stored.meta.item)) best.set(stored.meta.item, { item: stored, score: hit.score });
      }
      const exhausted = hits.length < k;
      if (best.size >= wanted || exhausted || k === MAX_K) return { scored: await this.#asItems([...best.values()]), exhausted };
      k = Math.min(MAX_K, k * 4);
    }
  }

  /**
   * Results carry their memory's dates; an item found by one of its other texts (a part) takes the item's own
   * dates, read in one request for all of them.
   */
  async #asItems(found: { item: StoredItem; score: number }[]): Promise<{ item: StoredItem; score: number }[]> {
    const parts = found.filter(({ item }) => item.meta.part !== 0).map(({ item }) => item.meta.item);
    if (parts.length === 0) return found;
    const own = new Map<string, StoredItem>();
    for (let start = 0; start < parts.length; start += PAGE) {
      const ids = parts.slice(start, start + PAGE);
      for (const memory of (await this.client.findMemories(this.namespace, { ids, limit: ids.length })).memories) {
        const stored = readItem(memory);
        if (stored) own.set(stored.meta.item, stored);
      }
    }
    // An item deleted since the query (its part outlived it for a moment) is left out.
    return found.flatMap(({ item, score }) => (item.meta.part === 0 ? [{ item, score }] : own.has(item.meta.item) ? [{ item: own.get(item.meta.item)!, score }] : []));
  }

  async #namespaces(op: ListNamespacesOperation, paths: Paths): Promise<string[][]> {
    let known = (await paths())?.map(({ path }) => path);
    if (known === undefined) {
      // More namespaces than one answer of fieldValues holds: read them off the items.
      const seen = new Set<string>();
      for await (const memory of this.client.memories(this.namespace, { filter: PART_ZERO, pageSize: PAGE })) {
        const stored = readItem(memory);
        if (stored) seen.add(stored.meta.path);
      }
      known = [...seen];
    }
    let namespaces = known.map((path) => path.split('.')).filter((ns) => (op.matchConditions ?? []).every((condition) => matchesCondition(condition, ns)));
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
      // Parts an overwrite left behind: deleted without compacting the store (overwrites are frequent).
      await this.client.erase(this.namespace, {
        filter: { $and: [{ [item]: { $in: ids } }, { [`${META}.part`]: { $gte: 1 } }, { [`${META}.gen`]: { $ne: gen } }] },
        compact: false,
      });
    }
    for (const ids of chunks(deleted, IN_LIST)) await this.client.erase(this.namespace, { filter: { [item]: { $in: ids } } });
  }
}
