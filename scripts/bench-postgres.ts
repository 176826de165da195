/**
 * PostgreSQL storage benchmark for cluster mode, with the `postgres` driver and the real schema
 * (migrations/postgres): bulk writes of float32 vectors three ways, reading a namespace's vectors back, and
 * per-namespace seq allocation under concurrent writers. Runs in a database of its own, dropped at the end.
 * Prints a Markdown table.
 *
 *   npx tsx scripts/bench-postgres.ts [--url postgres://postgres@127.0.0.1:5432/postgres] [--count 100000]
 *     [--dimensions 100] [--writers 8] [--seconds 3]
 */
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { createPostgresDatabase, migratePostgres, type PostgresDatabase } from '../src/adapters/postgres/index.js';
import { rng } from '../test/fixtures/random.js';
import { percentile } from './lib/server.js';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
    count: { type: 'string', default: '100000' },
    dimensions: { type: 'string', default: '100' },
    writers: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '3' },
  },
});
const COUNT = Number(args.count);
const DIMENSIONS = Number(args.dimensions);
const WRITERS = Number(args.writers);
const SECONDS = Number(args.seconds);
const BATCH = 1000;

const random = rng(7);
const vectors = Array.from({ length: COUNT }, () => {
  const v = new Float32Array(DIMENSIONS);
  for (let j = 0; j < DIMENSIONS; j++) v[j] = random() * 2 - 1;
  return Buffer.from(v.buffer);
});

const name = `membank_bench_${process.pid}`;
const admin = postgres(args.url, { max: 1, onnotice: () => undefined });
await admin.unsafe(`CREATE DATABASE "${name}"`);
const url = Object.assign(new URL(args.url), { pathname: `/${name}` }).toString();
const db = createPostgresDatabase({ url, poolSize: Math.max(WRITERS, 2), statementTimeoutMs: 0, deadlineMs: 600_000 });
await migratePostgres(db);

const newNamespace = async (label: string): Promise<number> => {
  const [row] = await db.sql<{ id: number }[]>`
    INSERT INTO namespaces (name, space, dimensions, hnsw_m, hnsw_ef_construction, hnsw_ef_search, created_at)
    VALUES (${label}, 'l2', ${DIMENSIONS}, 16, 200, 64, ${Date.now()}) RETURNING id`;
  return row!.id;
};

/**
 * One statement per batch, so that batches pipeline: take a range of the namespace's seq, upsert the rows
 * with their seq, and log one change per row. The namespace row stays locked until COMMIT, which orders the
 * writers of one namespace.
 */
const writeBatch = (sql: postgres.Sql | postgres.TransactionSql, namespaceId: number, ids: string[], batch: Buffer[], now: number) => sql`
  WITH range AS (
    UPDATE namespaces SET head_seq = head_seq + ${ids.length} WHERE id = ${namespaceId} RETURNING head_seq - ${ids.length} AS base
  ), input AS (
    SELECT * FROM unnest(${ids}::text[], ${sql.array(batch, 17)}::bytea[]) WITH ORDINALITY AS u(id, vector, n)
  ), written AS (
    INSERT INTO memories (namespace_id, id, vector, event_at, created_at, updated_at, seq)
    SELECT ${namespaceId}, input.id, input.vector, ${now}, ${now}, ${now}, range.base + input.n FROM input, range
    ON CONFLICT (namespace_id, id) DO UPDATE SET vector = excluded.vector, updated_at = excluded.updated_at, seq = excluded.seq
    RETURNING label, id, seq, (xmax = 0) AS created
  )
  INSERT INTO changes (namespace_id, seq, at, op, memory_id, label)
  SELECT ${namespaceId}, seq, ${now}, CASE WHEN created THEN 'created' ELSE 'updated' END, id, label FROM written`;

const batches = (): [string[], Buffer[]][] => {
  const all: [string[], Buffer[]][] = [];
  for (let start = 0; start < COUNT; start += BATCH) {
    const end = Math.min(COUNT, start + BATCH);
    all.push([Array.from({ length: end - start }, (_, i) => `m${start + i}`), vectors.slice(start, end)]);
  }
  return all;
};

const rows: [string, string][] = [];
const rate = (ms: number) => `${Math.round((COUNT / ms) * 1000).toLocaleString('en-US')} rows/s (${(ms / 1000).toFixed(2)} s)`;

// 1. The write path: one transaction per batch of 1,000, one after the other (what HTTP writes of 1,000 do).
{
  const ns = await newNamespace('per-batch');
  const started = performance.now();
  for (const [ids, batch] of batches()) await db.transaction((sql) => writeBatch(sql, ns, ids, batch, Date.now()));
  rows.push(['upsert + seq range + change log, one transaction per 1,000 rows', rate(performance.now() - started)]);
}

// 2. The same statements pipelined in one transaction (an import, or a large bulk write).
{
  const ns = await newNamespace('pipelined');
  const started = performance.now();
  await db.transaction((sql) => Promise.all(batches().map(([ids, batch]) => writeBatch(sql, ns, ids, batch, Date.now()))));
  rows.push(['the same, batches of 1,000 pipelined in one transaction', rate(performance.now() - started)]);
}

// 3. COPY in binary format straight into memories (no upsert, no change log): the floor for an import.
{
  const ns = await newNamespace('copy');
  const field = (buffer: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeInt32BE(buffer.length);
    return [length, buffer];
  };
  const int8 = (value: number) => {
    const buffer = Buffer.alloc(8);
    buffer.writeBigInt64BE(BigInt(value));
    return buffer;
  };
  const started = performance.now();
  await db.transaction(async (sql) => {
    const stream = await sql`COPY memories (namespace_id, id, vector, event_at, created_at, updated_at, seq) FROM STDIN WITH (FORMAT binary)`.writable();
    const header = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
    stream.write(header);
    const now = Date.now();
    for (let start = 0; start < COUNT; start += BATCH) {
      const parts: Buffer[] = [];
      for (let i = start; i < Math.min(COUNT, start + BATCH); i++) {
        const count = Buffer.alloc(2);
        count.writeInt16BE(7);
        parts.push(count, ...field(int8(ns)), ...field(Buffer.from(`m${i}`)), ...field(vectors[i]!));
        parts.push(...field(int8(now)), ...field(int8(now)), ...field(int8(now)), ...field(int8(i + 1)));
      }
      if (!stream.write(Buffer.concat(parts))) await new Promise((resolve) => stream.once('drain', resolve));
    }
    const trailer = Buffer.alloc(2);
    trailer.writeInt16BE(-1);
    await new Promise<void>((resolve, reject) => stream.end(trailer, (error?: Error | null) => (error ? reject(error) : resolve())));
  });
  rows.push(['COPY binary into memories, one transaction', rate(performance.now() - started)]);

  // Reading a namespace's vectors back, as a node loading it does.
  let startedRead = performance.now();
  const all = await db.read((sql) => sql`SELECT label, vector FROM memories WHERE namespace_id = ${ns} ORDER BY label`);
  rows.push([`read ${all.length.toLocaleString('en-US')} vectors back, one query`, `${(performance.now() - startedRead).toFixed(0)} ms`]);
  startedRead = performance.now();
  let read = 0;
  await db.read((sql) =>
    sql`SELECT label, vector FROM memories WHERE namespace_id = ${ns} ORDER BY label`.cursor(5000, (batch) => {
      read += batch.length;
    }),
  );
  rows.push([`read ${read.toLocaleString('en-US')} vectors back, cursor of 5,000`, `${(performance.now() - startedRead).toFixed(0)} ms`]);
}

// 4. Seq allocation under concurrent single-memory writers: one namespace (they queue on its row lock until
// each COMMIT) against one namespace each.
const contend = async (db: PostgresDatabase, namespaces: number[]): Promise<string> => {
  const latencies: number[] = [];
  const deadline = performance.now() + SECONDS * 1000;
  let n = 0;
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, w) => {
      const ns = namespaces[w % namespaces.length]!;
      while (performance.now() < deadline) {
        const started = performance.now();
        await db.transaction((sql) => writeBatch(sql, ns, [`w${w}-${n++}`], [vectors[n % COUNT]!], Date.now()));
        latencies.push(performance.now() - started);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return `${Math.round(latencies.length / SECONDS).toLocaleString('en-US')} writes/s, p50 ${percentile(latencies, 0.5).toFixed(2)} ms, p99 ${percentile(latencies, 0.99).toFixed(2)} ms`;
};
const shared = await newNamespace('contended');
rows.push([`${WRITERS} writers of 1 memory each, one namespace`, await contend(db, [shared])]);
const own = await Promise.all(Array.from({ length: WRITERS }, (_, w) => newNamespace(`own-${w}`)));
rows.push([`${WRITERS} writers of 1 memory each, a namespace each`, await contend(db, own)]);
const [gaps] = await db.sql<{ gaps: number }[]>`
  SELECT COUNT(*) AS gaps FROM (SELECT seq - lag(seq) OVER (PARTITION BY namespace_id ORDER BY seq) AS step FROM changes) s WHERE step <> 1`;

const [server] = await db.sql<{ version: string; fsync: string; commit: string }[]>`
  SELECT current_setting('server_version') AS version, current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS commit`;
console.log(
  `\nPostgreSQL ${server!.version} (fsync ${server!.fsync}, synchronous_commit ${server!.commit}), driver postgres (porsager), ` +
    `${COUNT.toLocaleString('en-US')} × ${DIMENSIONS}-d float32 vectors, Node ${process.version}\n`,
);
console.log('| what | measured |');
console.log('|---|---|');
for (const [what, value] of rows) console.log(`| ${what} | ${value} |`);
console.log(`\nchange log: ${gaps!.gaps} gaps in the per-namespace seq (must be 0)`);

await db.close();
await admin.unsafe(`DROP DATABASE "${name}" WITH (FORCE)`);
await admin.end();
