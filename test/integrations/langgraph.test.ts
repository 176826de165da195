/**
 * membank/langgraph against a real membank server and the real @langchain/langgraph: one sequence of puts,
 * overwrites, deletes, searches and namespace listings applied to LangGraph's own InMemoryStore and to
 * MembankStore, with the same fake embeddings, must give the same items (keys, namespaces, values, order, scores
 * within 1e-4). Then: server-side embedding, a compiled graph using the store, and errors.
 */
import { randomUUID } from 'node:crypto';
import { SyntheticEmbeddings } from '@langchain/core/utils/testing';
import { Annotation, type BaseStore, END, InMemoryStore, type LangGraphRunnableConfig, START, StateGraph } from '@langchain/langgraph';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MembankClient } from '../../src/client/index.js';
import { MembankEmbeddings } from '../../src/integrations/langchain/index.js';
import { MembankStore } from '../../src/integrations/langgraph/index.js';
import { type Running, startMembank } from '../helpers.js';
import { recordingFetch, sameRanking } from './support.js';

let server: Running;
beforeAll(async () => {
  server = await startMembank();
});
afterAll(() => server.close());

let counter = 0;
const fresh = (prefix: string) => `${prefix}-${++counter}`;

type Found = { namespace: string[]; key: string; value: Record<string, unknown>; score?: number | undefined; createdAt: Date; updatedAt: Date };
const plain = (items: (Found | null)[]) =>
  items.map((item) => item && { id: `${item.namespace.join('/')}/${item.key}`, namespace: item.namespace, key: item.key, value: item.value, score: item.score });

const ANN = ['users', 'ann', 'memories'];
const BOB = ['users', 'bob', 'memories'];
const PREFS = ['users', 'ann', 'prefs'];
const DOCS = ['docs'];
const DRAFTS = ['docs', 'drafts'];

/** The same writes, in the same order, for both stores. */
async function populate(store: BaseStore): Promise<void> {
  await store.put(ANN, 'm1', { text: 'ann adopted a puppy named rex', kind: 'event', n: 1, tags: ['pets', 'family'] });
  await store.put(BOB, 'm1', { text: 'bob runs every morning before work', kind: 'habit', n: 2, tags: ['sport'] });
  await store.put(ANN, 'm2', { text: 'ann is allergic to peanuts', kind: 'fact', n: 3, tags: ['health'] });
  await store.put(PREFS, 'drink', { text: 'ann prefers green tea over coffee', kind: 'pref', n: 4 });
  await store.put(ANN, 'm3', { text: 'ann moved to lisbon in may', kind: 'event', n: 5, tags: ['travel', 'home'] });
  await store.put(DOCS, 'd1', { text: 'quarterly report due friday', title: 'report', kind: 'doc', n: 6 });
  await store.put(BOB, 'm2', { text: 'bob is learning the cello', kind: 'fact', n: 7, tags: ['music'] });
  await store.put(DOCS, 'd2', { text: 'meeting notes from thursday', title: 'notes', kind: 'doc', n: 8 });
  await store.put(DOCS, 'd3', { text: 'an unindexed scan of a receipt', kind: 'doc', n: 9 }, false);
  await store.put(DRAFTS, 'x1', { text: 'draft of a letter to the landlord', title: 'letter', kind: 'doc', n: 10 }, ['title']);
  await store.put(ANN, 'm4', { text: 'ann plays chess on sundays', kind: 'habit', n: 11, tags: ['games'] });
  await store.put(PREFS, 'food', { text: 'ann loves spicy thai food', kind: 'pref', n: 12, tags: ['cooking', 'thai', 'spicy'] });
  // Overwrites, deletes, and a deleted key written again. (InMemoryStore keeps the vectors of texts an overwrite
  // no longer has, so overwrites here keep the same fields; MembankStore drops them, tested further down.)
  await store.put(ANN, 'm2', { text: 'ann is allergic to peanuts and shellfish', kind: 'fact', n: 13, tags: ['health', 'food'] });
  await store.put(BOB, 'm1', { text: 'bob swims every evening', kind: 'habit', n: 14, tags: ['swimming'] });
  await store.delete(ANN, 'm4');
  await store.delete(DOCS, 'd2');
  await store.put(ANN, 'm4', { text: 'ann plays chess and go on sundays', kind: 'habit', n: 15, tags: ['games'] });
}

const KEYS: [string[], string][] = [
  [ANN, 'm1'], [ANN, 'm2'], [ANN, 'm3'], [ANN, 'm4'], [BOB, 'm1'], [BOB, 'm2'], [PREFS, 'drink'], [PREFS, 'food'],
  [DOCS, 'd1'], [DOCS, 'd2'], [DOCS, 'd3'], [DRAFTS, 'x1'], [ANN, 'never'],
];
const PREFIXES = [[], ['users'], ['users', 'ann'], ANN, PREFS, DOCS];
const PAGES = [{}, { limit: 2 }, { limit: 2, offset: 1 }, { limit: 3, offset: 4 }, { limit: 50 }];
const FILTERS: Record<string, unknown>[] = [
  { kind: 'fact' },
  { n: { $gte: 5 } },
  { n: { $gt: 1, $lt: 12 } },
  { kind: { $in: ['event', 'pref'] } },
  { kind: { $ne: 'habit' } },
  { kind: { $nin: ['doc', 'fact'] } },
  { kind: 'event', n: { $lte: 3 } },
];
const QUERIES = ['puppy', 'what does ann drink', 'sports and exercise', 'peanut allergy', 'chess games', 'letter'];

describe('MembankStore against InMemoryStore (same operations, same fake embeddings)', () => {
  const embeddings = new SyntheticEmbeddings({ vectorSize: 16 });
  const index = { dims: 16, embeddings, fields: ['text', 'tags[*]'] };
  const reference = new InMemoryStore({ index });
  let ours: MembankStore;

  beforeAll(async () => {
    ours = new MembankStore({ url: server.url, namespace: fresh('lg-diff'), index });
    await populate(reference);
    await populate(ours);
  });

  it('get: the same items (null for deleted and unknown keys), with dates', async () => {
    for (const [namespace, key] of KEYS) {
      const [mine, theirs] = [await ours.get(namespace, key), await reference.get(namespace, key)];
      expect(plain([mine]), `${namespace}/${key}`).toEqual(plain([theirs]));
      if (mine) {
        expect(mine.createdAt).toBeInstanceOf(Date);
        expect(mine.updatedAt.getTime()).toBeGreaterThanOrEqual(mine.createdAt.getTime());
      }
    }
    const overwritten = (await ours.get(ANN, 'm2'))!;
    expect(overwritten.updatedAt.getTime()).toBeGreaterThan(overwritten.createdAt.getTime());
  });

  it('search without a query: the same items in the same order, paged by limit and offset', async () => {
    for (const prefix of PREFIXES) {
      for (const page of PAGES) {
        expect(plain(await ours.search(prefix, page)), `${prefix} ${JSON.stringify(page)}`).toEqual(plain(await reference.search(prefix, page)));
      }
    }
  });

  it('search with filters (LangGraph operators), with and without a query', async () => {
    for (const filter of FILTERS) {
      for (const prefix of [[], ['users']]) {
        const label = `${prefix} ${JSON.stringify(filter)}`;
        expect(plain(await ours.search(prefix, { filter, limit: 50 })), label).toEqual(plain(await reference.search(prefix, { filter, limit: 50 })));
        const query = { filter, query: 'ann at home', limit: 50 };
        sameRanking(plain(await ours.search(prefix, query)) as never[], plain(await reference.search(prefix, query)) as never[]);
      }
    }
  });

  it('semantic search: the same items, order and scores, each item scored by its best text, paged', async () => {
    for (const query of QUERIES) {
      for (const prefix of [[], ['users'], ANN, DOCS]) {
        for (const page of [{ limit: 10 }, { limit: 3 }, { limit: 3, offset: 2 }, { limit: 1, offset: 5 }]) {
          if (prefix === DOCS && 'offset' in page) continue; // InMemoryStore appends unindexed items ignoring offset
          const mine = plain(await ours.search(prefix, { query, ...page }));
          const theirs = plain(await reference.search(prefix, { query, ...page }));
          sameRanking(mine as never[], theirs as never[]);
        }
      }
    }
    // Unindexed items come last, without a score.
    const docs = await ours.search(DOCS, { query: 'receipt', limit: 10 });
    expect(docs.at(-1)).toMatchObject({ key: 'd3', score: undefined });
  });

  it('listNamespaces: prefix, suffix, * wildcards, maxDepth, limit and offset', async () => {
    const cases = [
      {},
      { prefix: ['users'] },
      { suffix: ['memories'] },
      { prefix: ['users', '*', 'memories'] },
      { prefix: ['*', 'ann'] },
      { suffix: ['*'] },
      { suffix: ['ann', '*'] },
      { maxDepth: 1 },
      { maxDepth: 2 },
      { prefix: ['users'], maxDepth: 2 },
      { prefix: ['users'], suffix: ['prefs'] },
      { limit: 2 },
      { limit: 2, offset: 1 },
      { offset: 3 },
      { prefix: ['nobody'] },
    ];
    for (const options of cases) {
      expect(await ours.listNamespaces(options), JSON.stringify(options)).toEqual(await reference.listNamespaces(options));
    }
  });

  it('batch: reads see the store before the batch\'s writes; the last put of an item wins', async () => {
    const ops = (suffix: string) => [
      { namespace: ['batch', suffix], key: 'a', value: { text: 'first write of a' } },
      { namespace: ['batch', suffix], key: 'a' },
      { namespacePrefix: ['batch'], limit: 10, offset: 0 },
      { matchConditions: [{ matchType: 'prefix' as const, path: ['batch'] }], limit: 10, offset: 0 },
      { namespace: ['batch', suffix], key: 'a', value: { text: 'second write of a' } },
      { namespace: ANN, key: 'm1' },
    ];
    const comparable = (results: unknown[]) =>
      results.map((r) => (Array.isArray(r) ? r.map((x) => (Array.isArray(x) ? x : plain([x as Found])[0])) : r && plain([r as Found])[0]));
    expect(comparable(await ours.batch(ops('one')))).toEqual(comparable(await reference.batch(ops('one'))));
    expect(plain([await ours.get(['batch', 'one'], 'a')])).toEqual(plain([await reference.get(['batch', 'one'], 'a')]));
    expect((await ours.get(['batch', 'one'], 'a'))!.value.text).toBe('second write of a');
  });

  it("search results carry their items' own dates, from the query's answer alone (an item found by a part too)", async () => {
    const { fetch, seen } = recordingFetch();
    const store = new MembankStore({ client: new MembankClient({ url: server.url, fetch }), namespace: fresh('lg-dates'), index });
    await store.put(ANN, 'a', { text: 'alpha', tags: ['zulu'] });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await store.put(ANN, 'a', { text: 'alpha', tags: ['zulu', 'yankee'] }); // part 2 is newer than the item
    await store.put(ANN, 'b', { text: 'bravo' });
    seen.length = 0;
    const found = await store.search(ANN, { query: 'yankee', limit: 5 });
    expect(seen.some((r) => r.method === 'GET' && r.path.includes('/memories/'))).toBe(false);
    expect(found.map((i) => i.key).sort()).toEqual(['a', 'b']);
    for (const item of found) {
      const own = (await store.get(ANN, item.key))!;
      expect([item.createdAt, item.updatedAt], item.key).toEqual([own.createdAt, own.updatedAt]);
    }
  });

  it('an overwrite with fewer texts leaves no stale vector behind; a delete removes every part', async () => {
    const name = fresh('lg-parts');
    const store = new MembankStore({ url: server.url, namespace: name, index });
    await store.put(ANN, 'k', { text: 'alpha', tags: ['bravo', 'charlie', 'delta'] });
    expect((await server.api.get(`/v1/namespaces/${name}`)).body.count).toBe(4);
    await store.put(ANN, 'k', { text: 'echo', tags: ['foxtrot'] });
    expect((await server.api.get(`/v1/namespaces/${name}`)).body.count).toBe(2);
    const hit = await store.search(ANN, { query: 'charlie' });
    expect(hit.map((i) => i.value)).toEqual([{ text: 'echo', tags: ['foxtrot'] }]);
    await store.delete(ANN, 'k');
    expect((await server.api.get(`/v1/namespaces/${name}`)).body.count).toBe(0);
  });
});

describe('MembankStore listings past one page of memories (namespace by namespace on the server, or one scan)', () => {
  /** `namespaces` namespaces of `per` items each, written round-robin, some overwritten, deleted and written again. */
  async function fill(store: BaseStore, namespaces: number, per: number): Promise<void> {
    const ns = (i: number) => ['big', `n${i}`];
    const puts = [];
    for (let j = 0; j < per; j++) {
      for (let i = 0; i < namespaces; i++) puts.push({ namespace: ns(i), key: `k${j}`, value: { i, j, even: j % 2 === 0 }, index: false as const });
    }
    await store.batch(puts);
    // Overwrites keep an item's place; a delete and a new put move it last. (Never the oldest item of a
    // namespace: InMemoryStore keeps a namespace where it first was, membank where its oldest item is.)
    await store.batch([
      ...Array.from({ length: namespaces }, (_, i) => ({ namespace: ns(i), key: 'k3', value: { i, j: 3, even: false, overwritten: true }, index: false as const })),
      ...Array.from({ length: namespaces }, (_, i) => ({ namespace: ns(i), key: 'k5', value: null })),
    ]);
    await store.batch(Array.from({ length: namespaces }, (_, i) => ({ namespace: ns(namespaces - 1 - i), key: 'k5', value: { i, j: 5, even: false, again: true }, index: false as const })));
  }

  const pages = [{ limit: 10 }, { limit: 50, offset: 380 }, { limit: 7, offset: 1193 }, { limit: 1000 }];
  const filters = [undefined, { even: true }, { j: { $gte: 390 } }, { overwritten: true }];

  it.each([
    ['3 namespaces of 400 items: each namespace on the server', 3, 400, true],
    ['40 namespaces of 30 items: one scan of the prefix', 40, 30, false],
  ])('%s', async (_label, namespaces, per, perNamespace) => {
    const reference = new InMemoryStore();
    const { fetch, bodies } = recordingFetch();
    const ours = new MembankStore({ client: new MembankClient({ url: server.url, fetch }), namespace: fresh('lg-big') });
    await fill(reference, namespaces, per);
    await fill(ours, namespaces, per);
    for (const filter of filters) {
      for (const page of pages) {
        const options = { ...page, ...(filter && { filter }) };
        expect(plain(await ours.search(['big'], options)), JSON.stringify(options)).toEqual(plain(await reference.search(['big'], options)));
      }
    }
    // Which way the listing ran: by namespace path, or by the prefix's label.
    const listed = bodies('POST', '/memories/list').map((b) => JSON.stringify(b.filter ?? {}));
    expect(listed.some((f) => f.includes('langgraph.l0'))).toBe(!perNamespace);
    expect(listed.some((f) => f.includes('langgraph.path'))).toBe(perNamespace);
    expect(await ours.listNamespaces({ prefix: ['big'], limit: 5 })).toEqual(await reference.listNamespaces({ prefix: ['big'], limit: 5 }));
  });
});

describe('MembankStore with the server\'s embedder', () => {
  it('sends texts, never vectors, and searches with the namespace\'s default mode', async () => {
    const { fetch, bodies } = recordingFetch();
    const store = new MembankStore({ client: new MembankClient({ url: server.url, fetch }), namespace: fresh('lg-server'), index: { fields: ['text'] } });
    await store.put(ANN, 'rex', { text: 'Ann adopted a puppy named Rex' });
    await store.put(ANN, 'tea', { text: 'Ann prefers green tea' });
    await store.put(ANN, 'raw', { note: 'kept, not embedded' }, false);
    const writes = bodies('POST', '/memories').flatMap((b) => b.memories);
    expect(writes.filter((m: { text?: string }) => m.text).every((m: object) => !('vector' in m))).toBe(true);
    expect(bodies('POST', '/v1/embeddings')).toEqual([]);

    const found = await store.search(['users'], { query: 'puppy named Rex', limit: 2 });
    expect(found[0]).toMatchObject({ key: 'rex', namespace: ANN, value: { text: 'Ann adopted a puppy named Rex' } });
    expect(typeof found[0]!.score).toBe('number');
    const query = bodies('POST', '/query').at(-1);
    expect(query).toMatchObject({ query: 'puppy named Rex' });
    expect(query).not.toHaveProperty('mode');
    expect(query).not.toHaveProperty('vector');
    const all = await store.search(ANN, { query: 'anything at all', limit: 10 });
    expect(all.map((i) => i.key).sort()).toEqual(['raw', 'rex', 'tea']);
  });

  it('with no index, embeds each whole value; MembankEmbeddings as index.embeddings also embeds on the server', async () => {
    const store = new MembankStore({ url: server.url, namespace: fresh('lg-noindex') });
    await store.put(['a'], 'x', { note: 'the museum opens at nine' });
    expect((await store.search(['a'], { query: 'museum opens', limit: 1 }))[0]!.key).toBe('x');

    const { fetch, bodies } = recordingFetch();
    const client = new MembankClient({ url: server.url, fetch });
    const viaEmbeddings = new MembankStore({ client, namespace: fresh('lg-mbemb'), index: { embeddings: new MembankEmbeddings({ client, model: 'hash-64' }) } });
    await viaEmbeddings.put(['a'], 'y', { note: 'trains leave at seven' });
    expect((await viaEmbeddings.search(['a'], { query: 'trains leave', limit: 1 }))[0]!.key).toBe('y');
    expect(bodies('POST', '/v1/embeddings')).toEqual([]);
    expect((await server.api.get(`/v1/namespaces/${viaEmbeddings.namespace}`)).body.embedder).toBe('hash-64');
  });

  it('pages deep into a hybrid search (more than its default 100 candidates a side)', async () => {
    const store = new MembankStore({ url: server.url, namespace: fresh('lg-deep'), index: { fields: ['text'] } });
    await store.batch(Array.from({ length: 160 }, (_, i) => ({ namespace: ['bulk'], key: `k${i}`, value: { text: `note number ${i} about topic ${i % 7}` } })));
    const found = await store.search(['bulk'], { query: 'topic 3', limit: 150 });
    expect(new Set(found.map((i) => i.key)).size).toBe(150);
  });

  it('long and odd keys and labels round-trip', async () => {
    const store = new MembankStore({ url: server.url, namespace: fresh('lg-keys') });
    const long = 'k'.repeat(400);
    const odd = 'a:b/c?d#e f\u0007g';
    await store.put(['ünï', 'çødé'], long, { text: 'long key' });
    await store.put(['ünï', 'çødé'], odd, { text: 'odd key' });
    expect((await store.get(['ünï', 'çødé'], long))!.value).toEqual({ text: 'long key' });
    expect((await store.get(['ünï', 'çødé'], odd))!.key).toBe(odd);
    expect((await store.search(['ünï'])).map((i) => i.key)).toEqual([long, odd]);
    await store.delete(['ünï', 'çødé'], long);
    expect(await store.get(['ünï', 'çødé'], long)).toBeNull();
    expect(await store.listNamespaces()).toEqual([['ünï', 'çødé']]);
  });
});

describe('MembankStore in a compiled LangGraph graph', () => {
  it('a node recalls and writes memories through config.store', async () => {
    const store = new MembankStore({ url: server.url, namespace: fresh('lg-graph') });
    const State = Annotation.Root({
      user: Annotation<string>(),
      message: Annotation<string>(),
      recalled: Annotation<string[]>(),
    });
    const remember = async (state: typeof State.State, config: LangGraphRunnableConfig) => {
      const memories = ['users', state.user, 'memories'];
      const found = await config.store!.search(memories, { query: state.message, limit: 3 });
      await config.store!.put(memories, randomUUID(), { text: state.message });
      return { recalled: found.map((item) => item.value.text as string) };
    };
    const graph = new StateGraph(State).addNode('remember', remember).addEdge(START, 'remember').addEdge('remember', END).compile({ store });

    expect((await graph.invoke({ user: 'ann', message: 'I adopted a puppy named Rex' })).recalled).toEqual([]);
    await graph.invoke({ user: 'bob', message: 'I adopted a kitten named Tom' });
    const later = await graph.invoke({ user: 'ann', message: 'what is my puppy called' });
    expect(later.recalled).toEqual(['I adopted a puppy named Rex']);
    expect(await store.listNamespaces()).toEqual([
      ['users', 'ann', 'memories'],
      ['users', 'bob', 'memories'],
    ]);
    expect((await store.search(['users', 'ann', 'memories'])).map((i) => i.value.text)).toEqual(['I adopted a puppy named Rex', 'what is my puppy called']);
  });
});

describe('MembankStore errors carry membank\'s code', () => {
  it('refuses what membank cannot store or search, clearly', async () => {
    const store = new MembankStore({ url: server.url, namespace: fresh('lg-errors') });
    await expect(store.search(['a'], { filter: { 'a.b': 1 } })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/a\.b/) });
    await expect(store.search(['a'], { filter: { n: { $gt: 'x' } } })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(store.search(['a'], { filter: { n: { $regex: 'x' } } })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(store.batch([{ namespace: ['a.b'], key: 'k', value: { x: 1 } }])).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(await store.search(['a'], { filter: { n: { $in: [] } } })).toEqual([]);
  });

  it('a failed write throws (a value too large for membank), and nothing half-written is searchable', async () => {
    const store = new MembankStore({ url: server.url, namespace: fresh('lg-big') });
    await expect(store.put(['a'], 'big', { text: 'big', blob: 'x'.repeat(70_000) })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
    expect(await store.get(['a'], 'big')).toBeNull();
  });

  it('embeddings that do not fit the namespace: EMBEDDER_MISMATCH, NO_EMBEDDER, VALIDATION_FAILED', async () => {
    const served = fresh('lg-served');
    await server.api.post('/v1/namespaces', { name: served });
    const embeddings = new SyntheticEmbeddings({ vectorSize: 8 });
    await expect(new MembankStore({ url: server.url, namespace: served, index: { dims: 8, embeddings } }).get(['a'], 'k')).rejects.toMatchObject({
      code: 'EMBEDDER_MISMATCH',
    });
    const bare = fresh('lg-bare');
    await server.api.post('/v1/namespaces', { name: bare, embedder: null, dimensions: 8 });
    await expect(new MembankStore({ url: server.url, namespace: bare }).get(['a'], 'k')).rejects.toMatchObject({ code: 'NO_EMBEDDER' });
    await expect(new MembankStore({ url: server.url, namespace: fresh('lg-nodims'), index: { embeddings } }).get(['a'], 'k')).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    await expect(new MembankStore({ url: server.url, namespace: fresh('lg-nocreate'), create: false }).get(['a'], 'k')).rejects.toMatchObject({
      code: 'NAMESPACE_NOT_FOUND',
    });
  });
});
