/**
 * LangChain's `Chroma` vector store (from @langchain/community, over Chroma's own client) against membank's
 * Chroma API, used as its documentation shows: fromDocuments, similaritySearch (with a filter and with
 * scores), a retriever, addDocuments and delete by ids and by filter.
 */
import { Chroma } from '@langchain/community/vectorstores/chroma';
import { Document } from '@langchain/core/documents';
import { Embeddings } from '@langchain/core/embeddings';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Running, startMembank, tempDir } from './helpers.js';

/** Deterministic word-count embeddings over a tiny vocabulary: similar texts get similar vectors. */
class VocabularyEmbeddings extends Embeddings {
  static readonly WORDS = ['cat', 'dog', 'fish', 'stock', 'market', 'price', 'rain', 'sun'];
  constructor() {
    super({});
  }
  private embed(text: string): number[] {
    const words = text.toLowerCase().split(/\W+/);
    const v = VocabularyEmbeddings.WORDS.map((w) => words.filter((x) => x.startsWith(w)).length + 0.01);
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  }
  async embedDocuments(texts: string[]): Promise<number[][]> {
    return texts.map((t) => this.embed(t));
  }
  async embedQuery(text: string): Promise<number[]> {
    return this.embed(text);
  }
}

describe("LangChain's Chroma store on membank", () => {
  let m: Running;
  let url: string;
  const embeddings = new VocabularyEmbeddings();
  beforeAll(async () => {
    m = await startMembank(tempDir(), { chromaPort: 0 });
    url = m.membank.chromaUrl()!;
  });
  afterAll(() => m.close());

  it('stores documents with fromDocuments and finds them with similaritySearch', async () => {
    const docs = [
      new Document({ pageContent: 'The cat chased the dog around the garden', metadata: { topic: 'pets', id: 1 } }),
      new Document({ pageContent: 'Stock market prices fell sharply today', metadata: { topic: 'finance', id: 2 } }),
      new Document({ pageContent: 'A fish and a cat share a small flat', metadata: { topic: 'pets', id: 3 } }),
      new Document({ pageContent: 'Rain is expected after a week of sun', metadata: { topic: 'weather', id: 4 } }),
    ];
    const store = await Chroma.fromDocuments(docs, embeddings, { collectionName: 'langchain-docs', url, collectionMetadata: { 'hnsw:space': 'cosine' } });

    const [best] = await store.similaritySearch('my cat and my dog', 1);
    expect(best!.pageContent).toBe('The cat chased the dog around the garden');
    expect(best!.metadata).toEqual({ topic: 'pets', id: 1 });

    const finance = await store.similaritySearch('cat', 2, { topic: 'finance' });
    expect(finance.map((d) => d.metadata.id)).toEqual([2]);

    const scored = await store.similaritySearchWithScore('stock price', 2);
    expect(scored[0]![0].metadata.id).toBe(2);
    expect(scored[0]![1]).toBeLessThan(scored[1]![1]); // cosine distances, smaller is nearer

    const retrieved = await store.asRetriever({ k: 2 }).invoke('rain and sun');
    expect(retrieved[0]!.metadata.id).toBe(4);

    // The collection is a membank namespace holding the documents.
    const described = await m.api.get('/v1/namespaces/langchain-docs');
    expect(described.body).toMatchObject({ space: 'cosine', count: 4 });
  });

  it('adds documents with ids and deletes them by ids and by filter', async () => {
    const store = new Chroma(embeddings, { collectionName: 'langchain-delete', url });
    await store.addDocuments(
      [
        new Document({ pageContent: 'cat one', metadata: { group: 'a' } }),
        new Document({ pageContent: 'cat two', metadata: { group: 'a' } }),
        new Document({ pageContent: 'dog three', metadata: { group: 'b' } }),
      ],
      { ids: ['one', 'two', 'three'] },
    );
    expect((await store.similaritySearch('cat', 10)).map((d) => d.id).sort()).toEqual(['one', 'three', 'two']);
    await store.delete({ ids: ['one'] });
    expect((await store.similaritySearch('cat', 10)).map((d) => d.id).sort()).toEqual(['three', 'two']);
    await store.delete({ filter: { group: 'b' } });
    expect((await store.similaritySearch('cat', 10)).map((d) => d.id)).toEqual(['two']);
    expect((await m.api.get('/v1/namespaces/langchain-delete')).body.count).toBe(1);
  });
});
