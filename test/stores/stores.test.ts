/**
 * The store ports' shared suites on every implementation: SQLite (a temp file) and PostgreSQL (a database of
 * this file's own on MEMBANK_TEST_DATABASE_URL's server; skipped with one line when it is not set).
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, expect, it } from 'vitest';
import {
  createPostgresDatabase,
  createPostgresFactStore,
  createPostgresKeyStore,
  createPostgresStore,
  createPostgresWebhookStore,
  migratePostgres,
  type PostgresDatabase,
} from '../../src/adapters/postgres/index.js';
import { createSqliteFactStore } from '../../src/adapters/sqlite/fact-store.js';
import { createSqliteKeyStore } from '../../src/adapters/sqlite/key-store.js';
import { createSqliteStore } from '../../src/adapters/sqlite/store.js';
import type { Store } from '../../src/ports/store.js';
import { tempDir } from '../helpers.js';
import { describePostgres, useTestDatabase } from '../postgres/helpers.js';
import { factStoreSuite } from './fact-store.case.js';
import { forgetStoreSuite } from './forget-store.case.js';
import { newNamespace as freshNamespace, type StoreHarness } from './harness.js';
import { hygieneStoreSuite } from './hygiene-store.case.js';
import { jobStoreSuite } from './job-store.case.js';
import { keyStoreSuite } from './key-store.case.js';
import { memoryStoreSuite } from './memory-store.case.js';
import { namespaceStoreSuite } from './namespace-store.case.js';
import { webhookStoreSuite } from './webhook-store.case.js';

/** A SQLite store in a new file, and a second connection to the same file. */
function openSqlite(): { store: Store; second: Database.Database; close(): Promise<void> } {
  const file = join(tempDir(), 'membank.db');
  const store = createSqliteStore({ file, synchronous: 'normal' });
  const second = new Database(file);
  second.pragma('busy_timeout = 5000');
  second.pragma('foreign_keys = ON');
  return {
    store,
    second,
    async close() {
      second.close();
      await store.close();
    },
  };
}

const newNamespace = () => freshNamespace({ dimensions: 8 });

factStoreSuite('SQLite', async () => {
  const sqlite = openSqlite();
  const a = await sqlite.store.namespaces.create(newNamespace());
  const b = await sqlite.store.namespaces.create(newNamespace());
  return { facts: sqlite.store.facts, other: createSqliteFactStore(sqlite.second), namespaces: [a.id, b.id], close: sqlite.close };
});

hygieneStoreSuite('SQLite', async () => {
  const sqlite = openSqlite();
  const ns = await sqlite.store.namespaces.create(newNamespace());
  return { store: sqlite.store, namespaceId: ns.id, close: sqlite.close };
});

webhookStoreSuite('SQLite', async () => {
  const sqlite = openSqlite();
  const ns = await sqlite.store.namespaces.create(newNamespace());
  return {
    webhooks: sqlite.store.webhooks,
    namespaceId: ns.id,
    // Writes advance the head; the second connection stands in for them.
    setHead: async (seq) => void sqlite.second.prepare('UPDATE namespaces SET head_seq = ? WHERE id = ?').run(seq, ns.id),
    close: sqlite.close,
  };
});

keyStoreSuite('SQLite', async () => {
  const sqlite = openSqlite();
  return { keys: sqlite.store.keys, other: createSqliteKeyStore(sqlite.second), close: sqlite.close };
});

/** The whole SQLite store in a new file, and a second one on the same file (as a second process would open it). */
async function sqliteHarness(): Promise<StoreHarness> {
  const file = join(tempDir(), 'membank.db');
  const store = createSqliteStore({ file, synchronous: 'normal' });
  const other = createSqliteStore({ file, synchronous: 'normal' });
  return {
    store,
    other,
    async close() {
      await other.close();
      await store.close();
    },
  };
}

namespaceStoreSuite('SQLite', sqliteHarness);
memoryStoreSuite('SQLite', sqliteHarness);
jobStoreSuite('SQLite', sqliteHarness);
forgetStoreSuite('SQLite', sqliteHarness);

describePostgres('PostgreSQL', () => {
  const database = useTestDatabase();
  beforeAll(async () => {
    const db = createPostgresDatabase({ url: database.url });
    await migratePostgres(db);
    await db.close();
  });

  /** Two pools on the database, as two nodes would have. */
  const twoNodes = (): [PostgresDatabase, PostgresDatabase] => [
    createPostgresDatabase({ url: database.url }),
    createPostgresDatabase({ url: database.url }),
  ];

  const insertNamespace = async (db: PostgresDatabase): Promise<number> => {
    const ns = newNamespace();
    const [row] = await db.sql<{ id: number }[]>`
      INSERT INTO namespaces (name, space, dimensions, hnsw_m, hnsw_ef_construction, hnsw_ef_search, created_at)
      VALUES (${ns.name}, ${ns.space}, ${ns.dimensions}, ${ns.hnsw.m}, ${ns.hnsw.efConstruction}, ${ns.hnsw.efSearch}, ${Date.now()})
      RETURNING id`;
    return row!.id;
  };

  /** Two whole stores on the database, as two nodes would have. */
  const postgresHarness = async (): Promise<StoreHarness> => {
    const [one, two] = twoNodes();
    const store = createPostgresStore(one, { node: 'node-one' });
    const other = createPostgresStore(two, { node: 'node-two' });
    return {
      store,
      other,
      async close() {
        await Promise.all([store.close(), other.close()]);
      },
    };
  };

  namespaceStoreSuite('PostgreSQL', postgresHarness);
  memoryStoreSuite('PostgreSQL', postgresHarness);
  jobStoreSuite('PostgreSQL', postgresHarness);
  forgetStoreSuite('PostgreSQL', postgresHarness);

  it('beats the heartbeat of a node’s running jobs, and fails the jobs of a node that stopped beating', async () => {
    const [one, two] = twoNodes();
    const { createPostgresJobStore } = await import('../../src/adapters/postgres/index.js');
    const alive = createPostgresJobStore(one, { node: 'alive', heartbeatMs: 60_000, staleMs: 500 });
    const dead = createPostgresJobStore(two, { node: 'dead', heartbeatMs: 60_000, staleMs: 500 });
    try {
      const store = createPostgresStore(one, { node: 'x' });
      const a = await store.namespaces.create(freshNamespace());
      const b = await store.namespaces.create(freshNamespace());
      const job = (id: string, namespaceId: number) => ({ id, kind: 'reembed' as const, namespaceId, status: 'running' as const, done: 0, total: 1, params: { embedder: 'e' }, error: null, createdAt: 1, updatedAt: 1 });
      await alive.create(job('alive-job', a.id));
      await dead.create(job('dead-job', b.id));
      // A second job on a namespace, from any node, is refused while one runs.
      await expect(alive.create(job('second', b.id))).rejects.toMatchObject({ code: 'JOB_CONFLICT' });
      await new Promise((resolve) => setTimeout(resolve, 700));
      // The live node beats (and sweeps): its own job survives, the silent node's is failed.
      expect(await alive.sweep()).toBe(1);
      expect(await alive.get('alive-job')).toMatchObject({ status: 'running' });
      expect(await alive.get('dead-job')).toMatchObject({ status: 'failed', error: expect.stringContaining('(dead) stopped') });
      // The failed job's node, back, cannot resurrect it.
      await dead.update('dead-job', { status: 'running', done: 1, total: 1, error: null });
      expect(await alive.get('dead-job')).toMatchObject({ status: 'failed' });
    } finally {
      alive.close();
      dead.close();
      await Promise.all([one.close(), two.close()]);
    }
  });

  hygieneStoreSuite('PostgreSQL', async () => {
    const harness = await postgresHarness();
    const ns = await harness.store.namespaces.create(newNamespace());
    return { store: harness.store, namespaceId: ns.id, close: harness.close };
  });

  webhookStoreSuite('PostgreSQL', async () => {
    const [one, two] = twoNodes();
    // Webhooks belong to no namespace: each test starts from an empty table (the tests of a file run in turn).
    await one.sql`TRUNCATE webhooks CASCADE`;
    const namespaceId = await insertNamespace(one);
    return {
      webhooks: createPostgresWebhookStore(one),
      namespaceId,
      setHead: async (seq) => void (await two.sql`UPDATE namespaces SET head_seq = ${seq} WHERE id = ${namespaceId}`),
      close: async () => {
        await Promise.all([one.close(), two.close()]);
      },
    };
  });

  factStoreSuite('PostgreSQL', async () => {
    const [one, two] = twoNodes();
    const namespaces: [number, number] = [await insertNamespace(one), await insertNamespace(one)];
    return {
      facts: createPostgresFactStore(one),
      other: createPostgresFactStore(two),
      namespaces,
      close: async () => {
        await Promise.all([one.close(), two.close()]);
      },
    };
  });

  keyStoreSuite('PostgreSQL', async () => {
    const [one, two] = twoNodes();
    // Keys belong to no namespace: each test starts from an empty table (the tests of a file run in turn).
    await one.sql`TRUNCATE api_keys`;
    return {
      keys: createPostgresKeyStore(one),
      other: createPostgresKeyStore(two),
      close: async () => {
        await Promise.all([one.close(), two.close()]);
      },
    };
  });
});
