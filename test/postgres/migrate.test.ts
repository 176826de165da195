/**
 * The PostgreSQL migration runner: numbered files in order, each once, all or nothing, and safe when several
 * nodes start together (each test on a database of its own).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import {
  createPostgresDatabase,
  migratePostgres,
  readPostgresMigrations,
  type PostgresDatabase,
  type PostgresMigration,
} from '../../src/adapters/postgres/index.js';
import { tempDir } from '../helpers.js';
import { createTestDatabase, describePostgres, type TestDatabase } from './helpers.js';

describePostgres('PostgreSQL migrations', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });
  const database = async (): Promise<TestDatabase> => {
    const created = await createTestDatabase();
    cleanup.push(() => created.drop());
    return created;
  };
  const connect = (url: string): PostgresDatabase => {
    const db = createPostgresDatabase({ url, poolSize: 2 });
    cleanup.push(() => db.close());
    return db;
  };
  const tables = async (db: PostgresDatabase): Promise<string[]> =>
    (await db.sql<{ name: string }[]>`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`).map((r) => r.name);

  it('creates the schema on an empty database, once', async () => {
    const db = connect((await database()).url);
    const files = readPostgresMigrations().map((m) => m.name);
    expect(files.slice(0, 2)).toEqual(['001_init.sql', '002_cluster_parity.sql']);
    expect(await migratePostgres(db)).toEqual({ applied: files, edited: [] });
    // Later migrations add tables: these must be among them.
    expect(await tables(db)).toEqual(expect.arrayContaining([
      'api_keys',
      'changes',
      'cluster_claims',
      'facts',
      'forget_runs',
      'jobs',
      'memories',
      'memory_history',
      'namespaces',
      'schedule_claims',
      'schema_migrations',
      'staged_vectors',
      'webhook_cursors',
      'webhooks',
    ]));
    expect(await migratePostgres(db)).toEqual({ applied: [], edited: [] });
    const rows = await db.sql`SELECT version, name FROM schema_migrations ORDER BY version`;
    expect([...rows]).toEqual(readPostgresMigrations().map((m) => ({ version: m.version, name: m.name })));
  });

  it('lets one of several nodes starting together apply each file, the others wait and find it done', async () => {
    const { url } = await database();
    // The second file is slow, so that the runners surely overlap.
    const migrations: PostgresMigration[] = [
      ...readPostgresMigrations(),
      { version: 990, name: '990_slow.sql', sql: 'CREATE TABLE slow (id INTEGER); SELECT pg_sleep(0.3);' },
    ];
    const nodes = Array.from({ length: 4 }, () => connect(url));
    const outcomes = await Promise.all(nodes.map((db) => migratePostgres(db, migrations)));
    const applied = outcomes.map((o) => o.applied).sort((a, b) => b.length - a.length);
    expect(applied).toEqual([migrations.map((m) => m.name), [], [], []]);
    expect((await nodes[0]!.sql`SELECT version FROM schema_migrations ORDER BY 1`).map((r) => r.version)).toEqual(migrations.map((m) => m.version));
  });

  it('applies nothing when a file fails, and names the file', async () => {
    const db = connect((await database()).url);
    const migrations: PostgresMigration[] = [
      ...readPostgresMigrations(),
      { version: 990, name: '990_broken.sql', sql: 'CREATE TABLE fine (id INTEGER);\nSELEC 1;' },
    ];
    await expect(migratePostgres(db, migrations)).rejects.toMatchObject({
      code: 'INTERNAL',
      message: expect.stringMatching(/990_broken\.sql failed: syntax error/),
    });
    expect(await tables(db)).toEqual([]);
    // Fixed, it goes through.
    migrations[migrations.length - 1] = { ...migrations[migrations.length - 1]!, sql: 'CREATE TABLE fine (id INTEGER);' };
    expect((await migratePostgres(db, migrations)).applied).toEqual(migrations.map((m) => m.name));
  });

  it('reports a landed file whose text has changed since it was applied', async () => {
    const db = connect((await database()).url);
    const first: PostgresMigration = { version: 1, name: '001_t.sql', sql: 'CREATE TABLE t (id INTEGER);' };
    await migratePostgres(db, [first]);
    expect(await migratePostgres(db, [{ ...first, sql: `${first.sql}\n-- edited` }])).toEqual({ applied: [], edited: ['001_t.sql'] });
  });

  it('reads numbered .sql files in numeric order and ignores anything else', () => {
    const dir = tempDir();
    mkdirSync(join(dir, '003_folder.sql'));
    for (const file of ['10_later.sql', '2_earlier.sql', 'README.md', 'x_unnumbered.sql']) writeFileSync(join(dir, file), `-- ${file}`);
    expect(readPostgresMigrations(dir).map((m) => [m.version, m.name])).toEqual([
      [2, '2_earlier.sql'],
      [10, '10_later.sql'],
    ]);
  });
});
