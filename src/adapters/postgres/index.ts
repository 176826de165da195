/**
 * PostgreSQL, the shared system of record of cluster mode: the connection factory, the migration runner over
 * `migrations/postgres/`, the error mapping, and the stores of the ports that PostgreSQL implements so far.
 */
export { createPostgresDatabase, type Listening, type PostgresDatabase, type PostgresOptions } from './database.js';
export { isConnectionError, storageErrorOf } from './errors.js';
export { createPostgresFactStore } from './fact-store.js';
export { createPostgresKeyStore } from './key-store.js';
export {
  migratePostgres,
  POSTGRES_MIGRATIONS_DIR,
  readPostgresMigrations,
  type MigrationOutcome,
  type PostgresMigration,
} from './migrate.js';
