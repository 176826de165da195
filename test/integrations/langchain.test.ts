/**
 * membank/langchain against a real membank server and the real @langchain/core: the same documents, queries and
 * fake embeddings given to LangChain's own MemoryVectorStore must give the same documents with the same scores;
 * the server embeds when the namespace has an embedder (texts sent, no vectors); retrievers run inside chains;
 * and membank's errors surface with their codes.
 */
import { MemoryVectorStore } from '@langchain/classic/vectorstores/memory';
import { Document, type DocumentInterface } from '@langchain/core/documents';
import { PromptTemplate } from '@langchain/core/prompts';
import { RunnableLambda, RunnablePassthrough, RunnableSequence } from '@langchain/core/runnables';
import { FakeEmbeddings, SyntheticEmbeddings } from '@langchain/core/utils/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MembankClient, type Where } from '../../src/client/index.js';
import { MembankEmbeddings, MembankRetriever, MembankVectorStore } from '../../src/integrations/langchain/index.js';
import { type Running, startMembank } from '../helpers.js';
import { recordingFetch, sameRanking } from './support.js';

let server: Running;
beforeAll(async () => {
  server = await startMembank();
});
afterAll(() => server.close());

let counter = 0;
const fresh = (prefix: string) => `${prefix}-${++counter}`;

const TEXTS = [
  'the cat sat on the mat',
  'dogs chase cats around the yard',
  'a quick brown fox jumps over the lazy dog',
  'quarterly report due on friday',
  'the meeting moved to thursday afternoon',
  'buy milk eggs and bread',
  'remember to water the plants',
  'the train leaves at seven',
  'pasta with tomato sauce for dinner',
  'call the dentist about the appointment',
  'the museum opens at nine',
  'rex is a golden retriever puppy',
  'ann prefers tea over coffee',
  'bob runs every morning',
  'the invoice was paid last week',
  'flights to lisbon are cheaper in may',
];

const docs = () =>
  TEXTS.map(
    (pageContent, i) => new Document({ pageContent, id: `doc-${i}`, metadata: { i, group: i % 3 === 0 ? 'a' : 'b', tags: { even: i % 2 === 0 } } }),
  );

const QUERIES = ['cats and dogs', 'what is for dinner', 'when does the train leave', 'report on friday', 'puppy', 'tea or coffee'];

/** Each filter in membank's Where language, and the same predicate as MemoryVectorStore takes it. */
const FILTERS: [string, Where, (doc: DocumentInterface) => boolean][] = [
  ['equality', { group: 'a' }, (d) => d.metadata.group === 'a'],
  ['range', { i: { $gte: 4 } }, (d) => d.metadata.i >= 4],
  ['nested path', { 'tags.even': true }, (d) => d.metadata.tags.even === true],
  ['$in', { i: { $in: [1, 2, 3, 11] } }, (d) => [1, 2, 3, 11].includes(d.metadata.i)],
  ['$ne', { group: { $ne: 'a' } }, (d) => d.metadata.group !== 'a'],
  ['$or', { $or: [{ i: { $lt: 2 } }, { group: 'a' }] }, (d) => d.metadata.i < 2 || d.metadata.group === 'a'],
  ['$and', { $and: [{ i: { $gt: 2 } }, { i: { $lt: 9 } }] }, (d) => d.metadata.i > 2 && d.metadata.i < 9],
];

const comparable = (results: [DocumentInterface, number][]) =>
  results.map(([doc, score]) => ({ id: doc.id, pageContent: doc.pageContent, metadata: doc.metadata, score }));

describe('MembankVectorStore against MemoryVectorStore (same fake embeddings)', () => {
  const embeddings = new SyntheticEmbeddings({ vectorSize: 16 });
  let ours: MembankVectorStore;
  let reference: MemoryVectorStore;

  beforeAll(async () => {
    reference = new MemoryVectorStore(embeddings);
    await reference.addDocuments(docs());
    ours = new MembankVectorStore(embeddings, { url: server.url, namespace: fresh('lc-diff') });
    expect(await ours.addDocuments(docs())).toEqual(TEXTS.map((_, i) => `doc-${i}`));
  });

  it('creates the namespace on first use for client vectors: embedder null, their dimensions', async () => {
    const ns = await server.api.get(`/v1/namespaces/${ours.namespace}`);
    expect(ns.body).toMatchObject({ embedder: null, dimensions: 16, space: 'cosine', count: TEXTS.length });
  });

  it.each(QUERIES)('similaritySearchWithScore("%s") gives the same documents, order and scores', async (query) => {
    for (const k of [1, 3, 8, 20]) {
      const expected = comparable(await reference.similaritySearchWithScore(query, k));
      const actual = comparable(await ours.similaritySearchWithScore(query, k));
      sameRanking(actual, expected);
    }
  });

  it.each(FILTERS)('filters (%s) select the same documents as the predicate', async (_name, where, predicate) => {
    for (const query of QUERIES.slice(0, 3)) {
      const expected = comparable(await reference.similaritySearchWithScore(query, 5, predicate as never));
      const actual = comparable(await ours.similaritySearchWithScore(query, 5, where));
      expect(actual.length).toBeGreaterThan(0);
      sameRanking(actual, expected);
    }
  });

  it('similaritySearchVectorWithScore and similaritySearch agree with the reference', async () => {
    const vector = await embeddings.embedQuery('golden puppy');
    sameRanking(comparable(await ours.similaritySearchVectorWithScore(vector, 4)), comparable(await reference.similaritySearchVectorWithScore(vector, 4)));
    const plain = await ours.similaritySearch('golden puppy', 4);
    expect(plain.map((d) => d.id)).toEqual((await reference.similaritySearch('golden puppy', 4)).map((d) => d.id));
  });

  it('maxMarginalRelevanceSearch picks the same documents as LangChain\'s MMR', async () => {
    for (const query of QUERIES) {
      for (const lambda of [0.25, 0.5, 0.9]) {
        const options = { k: 4, fetchK: 10, lambda };
        const expected = (await reference.maxMarginalRelevanceSearch(query, options)).map((d) => d.id);
        const actual = (await ours.maxMarginalRelevanceSearch(query, options)).map((d) => d.id);
        expect(actual, `${query} λ=${lambda}`).toEqual(expected);
      }
    }
  });

  it('fromTexts gives the same store as MemoryVectorStore.fromTexts (ids made by membank)', async () => {
    const metadatas = TEXTS.map((_, i) => ({ i }));
    const theirs = await MemoryVectorStore.fromTexts(TEXTS, metadatas, embeddings);
    const mine = await MembankVectorStore.fromTexts(TEXTS, metadatas, embeddings, { url: server.url, namespace: fresh('lc-from') });
    const strip = (results: [DocumentInterface, number][]) => comparable(results).map(({ id: _id, ...rest }) => rest);
    const a = strip(await mine.similaritySearchWithScore('train at seven', 5));
    const b = strip(await theirs.similaritySearchWithScore('train at seven', 5));
    expect(a.map((r) => r.pageContent)).toEqual(b.map((r) => r.pageContent));
    a.forEach((r, i) => expect(r.score).toBeCloseTo(b[i]!.score, 4));
    const reopened = await MembankVectorStore.fromExistingNamespace(embeddings, { url: server.url, namespace: mine.namespace });
    expect((await reopened.similaritySearch('train at seven', 1))[0]!.pageContent).toBe(b[0]!.pageContent);
    await expect(MembankVectorStore.fromExistingNamespace(embeddings, { url: server.url, namespace: fresh('lc-none') })).rejects.toMatchObject({
      code: 'NAMESPACE_NOT_FOUND',
    });
  });

  it('FakeEmbeddings (one vector for all): every filter selects the same set, all scoring 1', async () => {
    const fake = new FakeEmbeddings();
    const theirs = new MemoryVectorStore(fake);
    await theirs.addDocuments(docs());
    const mine = new MembankVectorStore(fake, { url: server.url, namespace: fresh('lc-fake') });
    await mine.addDocuments(docs());
    for (const [, where, predicate] of FILTERS) {
      const expected = comparable(await theirs.similaritySearchWithScore('anything', 50, predicate as never));
      const actual = comparable(await mine.similaritySearchWithScore('anything', 50, where));
      const byId = (rows: typeof actual) => [...rows].sort((x, y) => x.id!.localeCompare(y.id!));
      expect(byId(actual).map(({ score, ...rest }) => rest)).toEqual(byId(expected).map(({ score, ...rest }) => rest));
      for (const row of actual) expect(row.score).toBeCloseTo(1, 5);
    }
  });

  it('delete removes by ids (unknown ids ignored, one request) and by filter', async () => {
    const { fetch, seen } = recordingFetch();
    const store = new MembankVectorStore(embeddings, { client: new MembankClient({ url: server.url, fetch }), namespace: fresh('lc-delete') });
    await store.addDocuments(docs());
    seen.length = 0;
    await store.delete({ ids: ['doc-0', 'doc-1', 'never-there'] });
    expect(seen.map((r) => [r.method, r.path.split('/').slice(-2).join('/'), r.body])).toEqual([
      ['POST', 'memories/delete', { ids: ['doc-0', 'doc-1', 'never-there'] }],
    ]);
    await store.delete({ ids: [] });
    await store.delete({ filter: { group: 'a' } });
    const left = (await store.similaritySearch('cats', 50)).map((d) => d.id).sort();
    const expected = docs()
      .filter((d) => !['doc-0', 'doc-1'].includes(d.id!) && d.metadata.group !== 'a')
      .map((d) => d.id)
      .sort();
    expect(left).toEqual(expected);
    await expect(store.delete({})).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('asRetriever() runs inside a RunnableSequence', async () => {
    const retriever = ours.asRetriever({ k: 2, filter: { group: 'b' } });
    const prompt = PromptTemplate.fromTemplate('Context:\n{context}\n\nQuestion: {question}');
    const chain = RunnableSequence.from([
      { context: retriever.pipe((found: DocumentInterface[]) => found.map((d) => d.pageContent).join('\n')), question: new RunnablePassthrough() },
      prompt,
      new RunnableLambda({ func: (value: { toString(): string }) => value.toString() }),
    ]);
    const answer = await chain.invoke('golden retriever puppy');
    expect(answer).toContain('Question: golden retriever puppy');
    expect(answer).toContain('rex is a golden retriever puppy');
    const mmr = await ours.asRetriever({ k: 3, searchType: 'mmr', searchKwargs: { fetchK: 10, lambda: 0.5 } }).invoke('cats');
    expect(mmr.map((d) => d.id)).toEqual((await reference.maxMarginalRelevanceSearch('cats', { k: 3, fetchK: 10, lambda: 0.5 })).map((d) => d.id));
  });
});

describe('server-side embedding', () => {
  it('sends texts, not vectors, when the namespace embeds (MembankEmbeddings or no embeddings)', async () => {
    const { fetch, bodies } = recordingFetch();
    const client = new MembankClient({ url: server.url, fetch });
    const store = new MembankVectorStore({ client, namespace: fresh('lc-server') });
    await store.addDocuments(docs().slice(0, 6));
    const ns = await server.api.get(`/v1/namespaces/${store.namespace}`);
    expect(ns.body).toMatchObject({ embedder: 'hash-64', dimensions: 64, count: 6 });

    const writes = bodies('POST', '/memories');
    expect(writes).toHaveLength(1);
    expect(writes[0].memories.every((m: object) => !('vector' in m) && 'text' in m)).toBe(true);
    expect(bodies('POST', '/v1/embeddings')).toHaveLength(0);

    const hits = await store.similaritySearchWithScore('the cat sat on the mat', 2);
    expect(hits[0]![0].pageContent).toBe('the cat sat on the mat');
    expect(hits[0]![1]).toBeCloseTo(1, 5);
    const queries = bodies('POST', '/query');
    expect(queries.at(-1)).toMatchObject({ query: 'the cat sat on the mat', mode: 'vector', k: 2 });
    expect(queries.at(-1)).not.toHaveProperty('vector');

    // The vector the server stored is the one its embedder makes for the text.
    const stored = await client.getMemory(store.namespace, 'doc-0', { vector: true });
    const embedded = await new MembankEmbeddings({ url: server.url, model: 'hash-64' }).embedQuery('the cat sat on the mat');
    stored.vector!.forEach((x, i) => expect(x).toBeCloseTo(embedded[i]!, 5));
  });

  it('MembankEmbeddings gives /v1/embeddings\' vectors, by model or by namespace', async () => {
    const byModel = new MembankEmbeddings({ url: server.url, model: 'hash-64' });
    const raw = await server.api.post('/v1/embeddings', { model: 'hash-64', input: ['red apple', 'green pear'] });
    expect(await byModel.embedDocuments(['red apple', 'green pear'])).toEqual(raw.body.data.map((d: { embedding: number[] }) => d.embedding));
    const name = fresh('lc-ns-embed');
    await server.api.post('/v1/namespaces', { name });
    const byNamespace = new MembankEmbeddings({ url: server.url, namespace: name });
    expect(await byNamespace.embedQuery('red apple')).toEqual(raw.body.data[0].embedding);
    expect(await byNamespace.embedder()).toBe('hash-64');
    expect(() => new MembankEmbeddings({ url: server.url })).toThrow(/model/);
  });

  it('a store on a missing namespace creates it on first use, whatever the first call', async () => {
    const store = new MembankVectorStore({ url: server.url, namespace: fresh('lc-first-mmr') });
    expect(await store.maxMarginalRelevanceSearch('anything', { k: 2 }, undefined)).toEqual([]);
    expect((await server.api.get(`/v1/namespaces/${store.namespace}`)).body.embedder).toBe('hash-64');
    const missing = new MembankVectorStore({ url: server.url, namespace: fresh('lc-first-none'), create: false });
    await expect(missing.similaritySearch('x')).rejects.toMatchObject({ code: 'NAMESPACE_NOT_FOUND' });
  });

  it('hybrid and keyword modes search on the server', async () => {
    const store = new MembankVectorStore({ url: server.url, namespace: fresh('lc-hybrid'), mode: 'hybrid' });
    await store.addDocuments(docs());
    const [best] = await store.similaritySearch('lisbon flights', 1);
    expect(best!.pageContent).toContain('lisbon');
    const keyword = new MembankVectorStore({ url: server.url, namespace: store.namespace, mode: 'keyword' });
    expect((await keyword.similaritySearch('dentist', 3)).map((d) => d.id)).toEqual(['doc-9']);
  });
});

describe('MembankRetriever', () => {
  let namespace: string;
  beforeAll(async () => {
    namespace = fresh('lc-retriever');
    await new MembankVectorStore({ url: server.url, namespace }).addDocuments(docs());
  });

  it('searches hybrid by default, with filters, in a chain', async () => {
    const retriever = new MembankRetriever({ url: server.url, namespace, k: 3 });
    const found = await retriever.invoke('golden retriever');
    expect(found[0]!.id).toBe('doc-11');
    const filtered = await new MembankRetriever({ url: server.url, namespace, k: 10, filter: { group: 'a' } }).invoke('the');
    expect(filtered.length).toBeGreaterThan(0);
    expect(filtered.every((d) => d.metadata.group === 'a')).toBe(true);
    const chain = retriever.pipe((found: DocumentInterface[]) => found.map((d) => d.id).join(','));
    expect(await chain.invoke('golden retriever')).toMatch(/^doc-11/);
  });

  it('context: one document with membank\'s prompt context within the budget', async () => {
    const retriever = new MembankRetriever({ url: server.url, namespace, context: { maxTokens: 60 } });
    const [doc, ...rest] = await retriever.invoke('what does ann drink?');
    expect(rest).toEqual([]);
    expect(doc!.pageContent).toContain('ann prefers tea over coffee');
    expect(doc!.metadata.tokens).toBeLessThanOrEqual(60);
    expect(doc!.metadata.memories).toContain('doc-12');
  });

  it('creates a missing namespace with the server\'s embedder, unless create is false', async () => {
    const name = fresh('lc-retriever-new');
    expect(await new MembankRetriever({ url: server.url, namespace: name }).invoke('anything')).toEqual([]);
    expect((await server.api.get(`/v1/namespaces/${name}`)).body.embedder).toBe('hash-64');
    await expect(new MembankRetriever({ url: server.url, namespace: fresh('lc-missing'), create: false }).invoke('x')).rejects.toMatchObject({
      code: 'NAMESPACE_NOT_FOUND',
    });
  });
});

describe('errors carry membank\'s code; nothing is dropped', () => {
  it('a failed batch of addDocuments throws, and the batches before it stay written', async () => {
    const store = new MembankVectorStore(new SyntheticEmbeddings({ vectorSize: 8 }), { url: server.url, namespace: fresh('lc-batch'), batchSize: 2 });
    const bad: DocumentInterface[] = docs().slice(0, 5);
    bad[3] = new Document({ pageContent: 'bad metadata', id: 'bad', metadata: { ['k'.repeat(200)]: 1 } });
    await expect(store.addDocuments(bad)).rejects.toMatchObject({ name: 'MembankError', code: 'VALIDATION_FAILED', status: 400 });
    const ns = await server.api.get(`/v1/namespaces/${store.namespace}`);
    expect(ns.body.count).toBe(2);
  });

  it('a blank document in a namespace that embeds on the server is refused, not skipped', async () => {
    const store = new MembankVectorStore({ url: server.url, namespace: fresh('lc-blank') });
    await expect(store.addDocuments([new Document({ pageContent: 'fine' }), new Document({ pageContent: '  ' })])).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
  });

  it('foreign vectors into a namespace that embeds on the server: EMBEDDER_MISMATCH, before anything is written', async () => {
    const name = fresh('lc-mismatch');
    await server.api.post('/v1/namespaces', { name });
    const store = new MembankVectorStore(new SyntheticEmbeddings({ vectorSize: 64 }), { url: server.url, namespace: name });
    await expect(store.addDocuments(docs())).rejects.toMatchObject({ code: 'EMBEDDER_MISMATCH' });
    expect((await server.api.get(`/v1/namespaces/${name}`)).body.count).toBe(0);
  });

  it('hybrid with vectors made in the client: NO_EMBEDDER, saying why', async () => {
    const store = new MembankVectorStore(new SyntheticEmbeddings({ vectorSize: 8 }), { url: server.url, namespace: fresh('lc-nohybrid'), mode: 'hybrid' });
    await store.addDocuments(docs());
    await expect(store.similaritySearch('cats')).rejects.toMatchObject({ code: 'NO_EMBEDDER', message: expect.stringMatching(/embedder: null/) });
  });

  it('vectors of the wrong size: DIMENSION_MISMATCH from the server', async () => {
    const store = new MembankVectorStore(new SyntheticEmbeddings({ vectorSize: 8 }), { url: server.url, namespace: fresh('lc-dims') });
    await store.addDocuments(docs().slice(0, 2));
    const other = new MembankVectorStore(new SyntheticEmbeddings({ vectorSize: 12 }), { url: server.url, namespace: store.namespace });
    await expect(other.addDocuments(docs().slice(0, 2))).rejects.toMatchObject({ code: 'DIMENSION_MISMATCH' });
    await expect(store.similaritySearch('x', 2, { 'bad field!': 1 } as never)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('a key that may not create the namespace: FORBIDDEN', async () => {
    const guarded = await startMembank();
    try {
      const admin = (await guarded.api.post('/v1/keys', { role: 'admin' })).body.key as string;
      const adminClient = new MembankClient({ url: guarded.url, apiKey: admin });
      const reader = (await adminClient.createKey({ role: 'read', namespaces: ['*'] })).key;
      const store = new MembankVectorStore({ url: guarded.url, apiKey: reader, namespace: 'never-made' });
      await expect(store.addDocuments(docs().slice(0, 1))).rejects.toMatchObject({ code: 'FORBIDDEN', status: 403 });
      await expect(new MembankVectorStore({ url: guarded.url, namespace: 'x' }).similaritySearch('x')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    } finally {
      await guarded.close();
    }
  });
});
