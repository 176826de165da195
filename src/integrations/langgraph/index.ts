/**
 * `membank/langgraph`: LangGraph's long-term memory store on a membank namespace. Needs `@langchain/langgraph`
 * (an optional peer dependency of membank).
 *
 * @example
 * const store = new MembankStore({ url: 'http://127.0.0.1:8420', namespace: 'agent-memory' });
 * await store.put(['users', 'ann'], 'pet', { text: 'Ann has a puppy named Rex' });
 * const found = await store.search(['users', 'ann'], { query: 'pets', limit: 3 });
 * const graph = workflow.compile({ store });
 */
export { MembankStore, type MembankStoreIndex, type MembankStoreOptions } from './store.js';
