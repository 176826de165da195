/**
 * `membank/llamaindex`: a LlamaIndex.TS vector store on a membank namespace, and membank's embeddings as a
 * LlamaIndex embed model. Needs `@llamaindex/core` (an optional peer dependency of membank).
 *
 * @example
 * const store = new MembankVectorStore({ url: 'http://127.0.0.1:8420', namespace: 'notes' });
 * await store.add([new TextNode({ text: 'membank keeps memories', metadata: { topic: 'intro' } })]);
 * const { nodes } = await store.query({ queryStr: 'what keeps memories?', similarityTopK: 2, mode: VectorStoreQueryMode.HYBRID });
 */
export { MembankEmbedding, type MembankEmbeddingOptions } from './embedding.js';
export { MembankVectorStore, type MembankVectorStoreOptions } from './vector-store.js';
