/**
 * The system of record, as small ports: namespaces, memories, the change log, jobs, forgetting, facts, API
 * keys, the history of memories and webhooks. Methods are async so that a networked store (PostgreSQL) fits the same
 * shapes as SQLite, which answers synchronously inside them.
 */
import type { ChangeLog } from './change-log.js';
import type { FactStore } from './fact-store.js';
import type { ForgetStore } from './forget-store.js';
import type { HistoryStore } from './history-store.js';
import type { JobStore } from './job-store.js';
import type { KeyStore } from './key-store.js';
import type { MemoryStore } from './memory-store.js';
import type { NamespaceStore } from './namespace-store.js';
import type { WebhookStore } from './webhook-store.js';

export interface Store {
  readonly namespaces: NamespaceStore;
  readonly memories: MemoryStore;
  readonly changes: ChangeLog;
  readonly jobs: JobStore;
  readonly forgetting: ForgetStore;
  readonly facts: FactStore;
  readonly keys: KeyStore;
  readonly history: HistoryStore;
  readonly webhooks: WebhookStore;
  /** Gives the space of deleted data back and leaves none of its bytes behind (after an erase). */
  compact(): Promise<void>;
  close(): Promise<void>;
}
