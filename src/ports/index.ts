export type { ChangeLog, ChangeOp, ChangeRecord } from './change-log.js';
export type { Embedder, EmbedderProvider, EmbedPriority } from './embedder.js';
export type { FactQuery, FactStore, FactWrite, FactWriteOutcome } from './fact-store.js';
export type { ForgetCandidate, ForgetPolicy, ForgetRun, ForgetStore } from './forget-store.js';
export type { HistoryEvent, HistoryOp, HistoryStore, RemovalPolicy } from './history-store.js';
export type { JobStore } from './job-store.js';
export type { KeyStore } from './key-store.js';
export type { DeleteOutcome, MemoryFields, MemoryPage, MemoryStore, RemovalReason, WriteOutcome } from './memory-store.js';
export type { NamespaceHead, NamespaceStore, NewNamespace } from './namespace-store.js';
export type { Store } from './store.js';
export type { WebhookCursor, WebhookRecord, WebhookStore } from './webhook-store.js';
export type {
  IndexShape,
  IndexStats,
  PersistentVectorIndex,
  SearchOptions,
  VectorIndex,
  VectorIndexFactory,
} from './vector-index.js';
