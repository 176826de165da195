/**
 * Applies the numbered SQL files of `migrations/postgres/` in order, each once. Every node migrates at start,
 * so two nodes may start together: the runner takes a transaction-scoped advisory lock first, and the second
 * waits for the first to commit, then finds nothing left to do. All pending files run in that one transaction
 * (PostgreSQL's DDL is transactional), so a failing file leaves the schema as it was, and a node that dies
 * half-way releases the lock with its connection.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MembankError } from '../../core/errors.js';
import { isConnectionError, rethrowStorageError } from './errors.js';
import type { PostgresDatabase } from './database.js';

export const POSTGRES_MIGRATIONS_DIR = new URL('../../../migrations/postgres/', import.meta.url).pathname;

/** The advisory lock key of migrations ('membank' in ASCII): one number, shared by every membank version. */
const MIGRATION_LOCK = 0x6d656d62616e6bn;

export interface PostgresMigration {
  version: number;
  name: string;
  sql: string;
}

export interface MigrationOutcome {
  /** Names of the files this call applied. */
  applied: string[];
  /** Files applied earlier whose text has changed since (a landed migration must never be edited). */
  edited: string[];
}

export function readPostgresMigrations(dir: string = POSTGRES_MIGRATIONS_DIR): PostgresMigration[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && /^\d+_[\w-]+\.sql$/.test(entry.name))
    .map(({ name: file }) => ({ version: Number.parseInt(file, 10), name: file, sql: readFileSync(join(dir, file), 'utf8') }))
    .sort((a, b) => a.version - b.version);
}

const checksum = (sql: string): string => createHash('sha256').update(sql).digest('hex');

export async function migratePostgres(
  db: PostgresDatabase,
  migrations: PostgresMigration[] = readPostgresMigrations(),
): Promise<MigrationOutcome> {
  try {
    return await db.sql.begin(async (tx) => {
      // A migration may take longer than the pool's statement limit, and so may waiting for another node's.
      await tx`SET LOCAL statement_timeout = 0`;
      await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK.toString()}::bigint)`;
      // Created under the lock: two concurrent CREATE TABLE IF NOT EXISTS can collide on the catalog.
      await tx`CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at BIGINT NOT NULL)`;
      const rows = await tx<{ version: number; checksum: string }[]>`SELECT version, checksum FROM schema_migrations`;
      const known = new Map(rows.map((row) => [row.version, row.checksum]));
      const outcome: MigrationOutcome = { applied: [], edited: [] };
      for (const migration of migrations) {
        const stored = known.get(migration.version);
        if (stored !== undefined) {
          if (stored !== checksum(migration.sql)) outcome.edited.push(migration.name);
          continue;
        }
        // A file holds several statements: sent as one simple query, without parameters.
        await tx.unsafe(migration.sql).simple().catch((error: unknown) => {
          if (isConnectionError(error)) throw error;
          throw new MembankError('INTERNAL', `The migration ${migration.name} failed: ${(error as Error).message}`, {
            migration: migration.name,
            code: (error as { code?: unknown }).code,
          });
        });
        await tx`INSERT INTO schema_migrations (version, name, checksum, applied_at)
                 VALUES (${migration.version}, ${migration.name}, ${checksum(migration.sql)}, ${Date.now()})`;
        outcome.applied.push(migration.name);
      }
      return outcome;
    });
  } catch (error) {
    rethrowStorageError(error);
  }
}
