/**
 * `membank/langchain`: membank for LangChain.js. A `VectorStore` on a namespace, a retriever that searches (or
 * builds a prompt context) on the server, and `Embeddings` over membank's `/v1/embeddings`. Needs
 * `@langchain/core` (an optional peer dependency of membank).
 *
 * @example
 * const store = new MembankVectorStore({ url: 'http://127.0.0.1:8420', namespace: 'docs' });
 * await store.addDocuments([new Document({ pageContent: 'membank keeps memories', metadata: { topic: 'intro' } })]);
 * const docs = await store.asRetriever({ k: 2, filter: { topic: 'intro' } }).invoke('what keeps memories?');
 */
export { MembankEmbeddings, type MembankEmbeddingsFields } from './embeddings.js';
export { MembankRetriever, type MembankRetrieverFields } from './retriever.js';
export { MembankVectorStore, type MembankVectorStoreFields } from './vector-store.js';
export type { SearchMode } from './documents.js';
