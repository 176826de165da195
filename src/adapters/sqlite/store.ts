/**
 * The SQLite system of record (better-sqlite3, WAL): one database file holding namespaces, memories (vectors
 * as float32 BLOBs), the change log, jobs, forgetting runs, facts and API keys, behind the store's ports.
 */
import type { Store } from '../../ports/store.js';
import { createSqliteChangeLog } from './change-log.js';
import { openDatabase, type SqliteOpenOptions } from './database.js';
import { createSqliteFactStore } from './fact-store.js';
import { createSqliteForgetStore } from './forget-store.js';
import { createSqliteHistoryStore } from './history-store.js';
import { createSqliteJobStore } from './job-store.js';
import { createSqliteKeyStore } from './key-store.js';
import { createSqliteMemoryStore } from './memory-store.js';
import { createSqliteNamespaceStore } from './namespace-store.js';
import { createSqliteWebhookStore } from './webhook-store.js';

export type SqliteStoreOptions = SqliteOpenOptions;

/** Free pages given back to the file system per step of a compaction, with a yield between steps. */
const VACUUM_STEP_PAGES = 512;

export function createSqliteStore(options: SqliteStoreOptions): Store {
  const db = openDatabase(options);
  return {
    namespaces: createSqliteNamespaceStore(db),
    memories: createSqliteMemoryStore(db),
    changes: createSqliteChangeLog(db),
    jobs: createSqliteJobStore(db),
    forgetting: createSqliteForgetStore(db),
    facts: createSqliteFactStore(db),
    keys: createSqliteKeyStore(db),
    history: createSqliteHistoryStore(db),
    webhooks: createSqliteWebhookStore(db),
    async compact() {
      // Freed pages (zeroed by secure_delete) go back to the file system in steps so that queries keep flowing;
      // then the write-ahead log, which still holds the deleted rows' old pages, is copied back and truncated.
      for (;;) {
        db.pragma(`incremental_vacuum(${VACUUM_STEP_PAGES})`);
        if ((db.pragma('freelist_count', { simple: true }) as number) === 0) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      db.pragma('wal_checkpoint(TRUNCATE)');
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
