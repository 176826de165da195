export type { Embedder, EmbedderProvider, EmbedPriority } from './embedder.js';
export type { ChangesSince, DeleteOutcome, MemoryFields, MemoryPage, NewNamespace, Store, WriteOutcome } from './store.js';
export type {
  IndexShape,
  IndexStats,
  PersistentVectorIndex,
  SearchOptions,
  VectorIndex,
  VectorIndexFactory,
} from './vector-index.js';
