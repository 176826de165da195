/**
 * PostgreSQL, the shared system of record of cluster mode: the connection factory, the migration runner over
 * `migrations/postgres/`, the error mapping, and the store of every port.
 */
export { createPostgresChangeLog } from './change-log.js';
export { createPostgresDatabase, type Listening, type PostgresDatabase, type PostgresOptions } from './database.js';
export { isConnectionError, storageErrorOf } from './errors.js';
export { createPostgresFactStore } from './fact-store.js';
export { createPostgresForgetStore } from './forget-store.js';
export { createPostgresHistoryStore } from './history-store.js';
export { createPostgresJobStore, type PostgresJobStore } from './job-store.js';
export { createPostgresKeyStore } from './key-store.js';
export { createPostgresMemoryStore } from './memory-store.js';
export { createPostgresNamespaceStore } from './namespace-store.js';
export { createPostgresWebhookStore } from './webhook-store.js';
export {
  migratePostgres,
  POSTGRES_MIGRATIONS_DIR,
  readPostgresMigrations,
  type MigrationOutcome,
  type PostgresMigration,
} from './migrate.js';
export { createPostgresStore, HEADS_CHANNEL, openPostgresStore, type PostgresStore, type PostgresStoreOptions } from './store.js';
