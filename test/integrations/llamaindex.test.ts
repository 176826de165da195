/**
 * membank/llamaindex against a real membank server and the real @llamaindex/core: nodes go in and come back
 * whole, MetadataFilters and docIds select the right nodes, every query mode reaches the server, scores are the
 * cosine similarities when vectors are made here, the store backs a vectorBlock memory, and errors carry codes.
 */
import { BaseEmbedding } from '@llamaindex/core/embeddings';
import { vectorBlock } from '@llamaindex/core/memory';
import { type BaseNode, type Metadata, MetadataMode, NodeRelationship, TextNode } from '@llamaindex/core/schema';
import { type MetadataFilters, VectorStoreQueryMode } from '@llamaindex/core/vector-store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MembankClient } from '../../src/client/index.js';
import { MembankEmbedding, MembankVectorStore } from '../../src/integrations/llamaindex/index.js';
import { type Running, startMembank } from '../helpers.js';
import { recordingFetch } from './support.js';

let server: Running;
beforeAll(async () => {
  server = await startMembank();
});
afterAll(() => server.close());

let counter = 0;
const fresh = (prefix: string) => `${prefix}-${++counter}`;

/** A deterministic bag-of-words embedding, so that vectors are made in this process. */
class WordEmbedding extends BaseEmbedding {
  constructor() {
    super();
  }

  async getTextEmbedding(text: string): Promise<number[]> {
    const vector = new Array<number>(32).fill(0);
    for (const word of text.toLowerCase().match(/[a-z]+/g) ?? []) {
      let h = 7;
      for (const c of word) h = (h * 31 + c.charCodeAt(0)) % 1_000_003;
      vector[h % 32]! += 1;
    }
    vector[31]! += 0.01; // never the zero vector
    return vector;
  }
}

const cosine = (a: number[], b: number[]) => {
  let dot = 0;
  let na = 0;
  let nb = 0;
  a.forEach((x, i) => ((dot += x * b[i]!), (na += x * x), (nb += b[i]! * b[i]!)));
  return dot / Math.sqrt(na * nb);
};

const ROWS = [
  { text: 'Ann adopted a puppy named Rex', year: 2021, topic: 'pets', doc: 'diary' },
  { text: 'Rex learned to sit and stay', year: 2022, topic: 'pets', doc: 'diary' },
  { text: 'The quarterly report is due on Friday', year: 2023, topic: 'work', doc: 'work' },
  { text: 'The team offsite moved to Lisbon', year: 2024, topic: 'work', doc: 'work' },
  { text: 'Ann prefers green tea over coffee', year: 2020, topic: 'food', doc: 'notes' },
  { text: 'Spicy thai food is her favourite', year: 2019, topic: 'food', doc: 'notes' },
];

const nodes = () =>
  ROWS.map(
    ({ text, doc, ...metadata }, i) =>
      new TextNode<Metadata>({ id_: `n${i}`, text, metadata, relationships: { [NodeRelationship.SOURCE]: { nodeId: doc, metadata: {} } } }),
  );

const ids = (found: { nodes?: BaseNode[] | undefined }) => (found.nodes ?? []).map((n) => n.id_);

describe('MembankVectorStore with the server\'s embedder', () => {
  let store: MembankVectorStore;
  let bodies: ReturnType<typeof recordingFetch>['bodies'];

  beforeAll(async () => {
    const recording = recordingFetch();
    bodies = recording.bodies;
    store = new MembankVectorStore({ client: new MembankClient({ url: server.url, fetch: recording.fetch }), namespace: fresh('li') });
    expect(await store.add(nodes())).toEqual(ROWS.map((_, i) => `n${i}`));
  });

  it('sends the nodes as text, and gives them back whole', async () => {
    const writes = bodies('POST', '/memories').flatMap((b) => b.memories);
    expect(writes).toHaveLength(ROWS.length);
    expect(writes.every((m: object) => !('vector' in m))).toBe(true);
    expect((await server.api.get(`/v1/namespaces/${store.namespace}`)).body).toMatchObject({ embedder: 'hash-64', count: ROWS.length });

    const found = await store.query({ queryStr: 'The quarterly report is due on Friday', similarityTopK: 2, mode: VectorStoreQueryMode.DEFAULT });
    expect(bodies('POST', '/query').at(-1)).toMatchObject({ query: 'The quarterly report is due on Friday', mode: 'vector', k: 2 });
    expect(found.ids[0]).toBe('n2');
    expect(found.similarities[0]).toBeCloseTo(1, 5);
    const node = found.nodes![0]!;
    expect(node).toBeInstanceOf(TextNode);
    expect(node.getContent(MetadataMode.NONE)).toContain('The quarterly report is due on Friday');
    expect(node.metadata).toEqual({ year: 2023, topic: 'work' });
    expect(node.sourceNode?.nodeId).toBe('work');
    expect(store.storesText).toBe(true);
  });

  it.each<[string, MetadataFilters, (r: (typeof ROWS)[number]) => boolean]>([
    ['==', { filters: [{ key: 'topic', value: 'pets', operator: '==' }] }, (r) => r.topic === 'pets'],
    ['!=', { filters: [{ key: 'topic', value: 'pets', operator: '!=' }] }, (r) => r.topic !== 'pets'],
    ['>= and <', { filters: [{ key: 'year', value: 2020, operator: '>=' }, { key: 'year', value: 2023, operator: '<' }] }, (r) => r.year >= 2020 && r.year < 2023],
    ['in', { filters: [{ key: 'topic', value: ['food', 'work'], operator: 'in' }] }, (r) => ['food', 'work'].includes(r.topic)],
    ['nin', { filters: [{ key: 'year', value: [2019, 2024], operator: 'nin' }] }, (r) => ![2019, 2024].includes(r.year)],
    ['or', { filters: [{ key: 'year', value: 2019, operator: '<=' }, { key: 'topic', value: 'pets', operator: '==' }], condition: 'or' }, (r) => r.year <= 2019 || r.topic === 'pets'],
  ])('MetadataFilters (%s) select the matching nodes', async (_name, filters, predicate) => {
    const found = await store.query({ queryStr: 'ann', similarityTopK: 20, mode: VectorStoreQueryMode.DEFAULT, filters });
    const expected = ROWS.flatMap((r, i) => (predicate(r) ? [`n${i}`] : []));
    expect(ids(found).sort()).toEqual(expected);
  });

  it('docIds restrict to source documents; delete(refDocId) removes a document\'s nodes', async () => {
    const found = await store.query({ queryStr: 'ann', similarityTopK: 20, mode: VectorStoreQueryMode.DEFAULT, docIds: ['diary'] });
    expect(ids(found).sort()).toEqual(['n0', 'n1']);
    const other = new MembankVectorStore({ url: server.url, namespace: fresh('li-delete') });
    await other.add(nodes());
    await other.delete('diary');
    const left = await other.query({ queryStr: 'ann', similarityTopK: 20, mode: VectorStoreQueryMode.DEFAULT });
    expect(ids(left).sort()).toEqual(['n2', 'n3', 'n4', 'n5']);
  });

  it('hybrid (with alpha), sparse and mmr modes search on the server', async () => {
    const hybrid = await store.query({ queryStr: 'Lisbon offsite', similarityTopK: 1, mode: VectorStoreQueryMode.HYBRID, alpha: 0.2 });
    expect(hybrid.ids).toEqual(['n3']);
    expect(bodies('POST', '/query').at(-1)).toMatchObject({ query: 'Lisbon offsite', mode: 'hybrid', hybrid: { vectorWeight: 0.2 } });
    const sparse = await store.query({ queryStr: 'tea', similarityTopK: 3, mode: VectorStoreQueryMode.SPARSE });
    expect(sparse.ids).toEqual(['n4']);
    await store.query({ queryStr: 'Rex', similarityTopK: 3, mode: VectorStoreQueryMode.MMR, mmrThreshold: 0.3 });
    expect(bodies('POST', '/query').at(-1)).toMatchObject({ query: 'Rex', mode: 'vector', mmr: { lambda: 0.3 } });
  });

  it('backs a vectorBlock memory: messages put in are retrieved for later messages', async () => {
    const memoryStore = new MembankVectorStore({ url: server.url, namespace: fresh('li-block') });
    const block = vectorBlock({ vectorStore: memoryStore, priority: 1, retrievalContextWindow: 1 });
    await block.put([
      { id: 'm1', role: 'user', content: 'My puppy is called Rex' },
      { id: 'm2', role: 'assistant', content: 'Rex is a lovely name' },
    ]);
    const [recalled] = await block.get([{ id: 'm3', role: 'user', content: 'My puppy is called Rex' }]);
    expect(recalled!.content).toContain('My puppy is called Rex');
    expect(recalled!.role).toBe('memory');
  });
});

describe('MembankVectorStore with vectors made here', () => {
  it('creates an embedder: null namespace, and scores are the cosine similarities', async () => {
    const embedModel = new WordEmbedding();
    const store = new MembankVectorStore({ url: server.url, namespace: fresh('li-local'), embedModel });
    const given = nodes();
    given[0]!.embedding = await embedModel.getTextEmbedding(given[0]!.getContent(MetadataMode.NONE));
    await store.add(given);
    expect((await server.api.get(`/v1/namespaces/${store.namespace}`)).body).toMatchObject({ embedder: null, dimensions: 32 });
    const query = 'Ann and her puppy Rex';
    const queryEmbedding = await embedModel.getTextEmbedding(query);
    const found = await store.query({ queryEmbedding, similarityTopK: 6, mode: VectorStoreQueryMode.DEFAULT });
    const expected = await Promise.all(ROWS.map(async (r, i) => ({ id: `n${i}`, score: cosine(queryEmbedding, await embedModel.getTextEmbedding(r.text)) })));
    expected.sort((a, b) => b.score - a.score);
    found.similarities.forEach((s, i) => expect(Math.abs(s - expected[i]!.score)).toBeLessThan(1e-4));
    expect(found.ids[0]).toBe(expected[0]!.id);
    // A query string alone is embedded here too.
    const byText = await store.query({ queryStr: query, similarityTopK: 6, mode: VectorStoreQueryMode.DEFAULT });
    expect(byText.ids).toEqual(found.ids);
  });

  it('hybrid needs the server to embed: NO_EMBEDDER, saying so', async () => {
    const store = new MembankVectorStore({ url: server.url, namespace: fresh('li-nohybrid'), embedModel: new WordEmbedding() });
    await store.add(nodes());
    await expect(store.query({ queryStr: 'Rex', similarityTopK: 2, mode: VectorStoreQueryMode.HYBRID })).rejects.toMatchObject({
      code: 'NO_EMBEDDER',
      message: expect.stringMatching(/server-side embedder/),
    });
  });
});

describe('MembankVectorStore errors carry membank\'s code', () => {
  it('refuses what membank cannot do, by name', async () => {
    const store = new MembankVectorStore({ url: server.url, namespace: fresh('li-errors') });
    await store.add(nodes());
    await expect(
      store.query({ queryStr: 'x', similarityTopK: 2, mode: VectorStoreQueryMode.DEFAULT, filters: { filters: [{ key: 'tags', value: 'a', operator: 'contains' }] } }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/contains/) });
    await expect(store.query({ queryStr: 'x', similarityTopK: 2, mode: VectorStoreQueryMode.SVM })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(store.query({ similarityTopK: 2, mode: VectorStoreQueryMode.DEFAULT, queryEmbedding: [1, 2, 3] })).rejects.toMatchObject({
      code: 'DIMENSION_MISMATCH',
    });
  });

  it('a failed batch throws; the batches before it stay written', async () => {
    const store = new MembankVectorStore({ url: server.url, namespace: fresh('li-batch'), batchSize: 2 });
    const bad = nodes();
    bad[3]!.metadata = { ['k'.repeat(200)]: 1 };
    await expect(store.add(bad)).rejects.toMatchObject({ name: 'MembankError', code: 'VALIDATION_FAILED', status: 400 });
    expect((await server.api.get(`/v1/namespaces/${store.namespace}`)).body.count).toBe(2);
  });

  it('a foreign embedModel on a namespace that embeds on the server: EMBEDDER_MISMATCH', async () => {
    const name = fresh('li-mismatch');
    await server.api.post('/v1/namespaces', { name });
    const store = new MembankVectorStore({ url: server.url, namespace: name, embedModel: new WordEmbedding() });
    await expect(store.add(nodes())).rejects.toMatchObject({ code: 'EMBEDDER_MISMATCH' });
    expect(await new MembankEmbedding({ url: server.url, namespace: name }).getTextEmbedding('red apple')).toHaveLength(64);
  });
});
