/**
 * Cluster benchmark: 1 and 3 membank nodes over one PostgreSQL, and one node over SQLite as the reference,
 * each node its own process, everything through HTTP. Prints a Markdown table of: bulk insert rate (vectors
 * given), query p50/p99 and QPS (default consistency and `eventual`), and the time from a write acknowledged
 * by node A to its visibility in a query on node B (p50/p99, both consistencies). Runs in a database of its
 * own, dropped at the end.
 *
 *   npx tsx scripts/bench-cluster.ts [--url postgres://postgres@127.0.0.1:5432/postgres] [--count 20000]
 *     [--dimensions 64] [--seconds 5] [--clients 8] [--samples 60]
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { rng } from '../test/fixtures/random.js';
import { percentile, post, startServer, stopServer } from './lib/server.js';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
    count: { type: 'string', default: '20000' },
    dimensions: { type: 'string', default: '64' },
    seconds: { type: 'string', default: '5' },
    clients: { type: 'string', default: '8' },
    samples: { type: 'string', default: '60' },
  },
});
const COUNT = Number(args.count);
const D = Number(args.dimensions);
const SECONDS = Number(args.seconds);
const CLIENTS = Number(args.clients);
const SAMPLES = Number(args.samples);
const BATCH = 1000;
/** Whether the namespace gets an HNSW graph: above the `auto` threshold, where exact search costs about 1 ms. */
const GRAPH = COUNT >= Math.max(1000, Math.floor(2 ** 20 / D));

const random = rng(11);
const vector = (): number[] => Array.from({ length: D }, () => Math.round((random() * 2 - 1) * 1e4) / 1e4);
const vectors = Array.from({ length: COUNT }, vector);
const queries = Array.from({ length: 200 }, vector);

const dbName = `membank_bench_cluster_${process.pid}`;
const admin = postgres(args.url, { max: 1, onnotice: () => undefined });
await admin.unsafe(`CREATE DATABASE "${dbName}"`);
const parsed = new URL(args.url);
parsed.pathname = `/${dbName}`;
const databaseUrl = parsed.toString();

interface Row {
  setup: string;
  insert: number;
  query: Record<'strong' | 'eventual', { p50: number; p99: number; qps: number }>;
  visible: Record<'strong' | 'eventual', { p50: number; p99: number } | null>;
}

const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;
const sleep = (t: number) => new Promise((resolve) => setTimeout(resolve, t));

async function view(url: string, ns: string): Promise<{ index: { kind: string; building: boolean } }> {
  return (await (await fetch(`${url}/v1/namespaces/${ns}`)).json()) as { index: { kind: string; building: boolean } };
}

async function measure(setup: string, nodes: number, cluster: boolean, ns: string): Promise<Row> {
  const dirs = Array.from({ length: nodes }, () => mkdtempSync(join(tmpdir(), 'membank-bench-cluster-')));
  const extra = cluster ? ['--database-url', databaseUrl] : [];
  const servers: { child: ChildProcess; url: string }[] = [];
  for (const dir of dirs) servers.push(await startServer(dir, [...extra, '--checkpoint-interval', '0']));
  const urls = servers.map((s) => s.url);
  try {
    await post(`${urls[0]}/v1/namespaces`, { name: ns, embedder: null, dimensions: D });
    // Bulk insert: batches of 1,000 spread over the nodes, one in flight per node.
    const started = process.hrtime.bigint();
    let next = 0;
    await Promise.all(
      urls.map(async (url) => {
        for (;;) {
          const at = next;
          next += BATCH;
          if (at >= COUNT) return;
          const memories = vectors.slice(at, at + BATCH).map((v, i) => ({ id: `v${at + i}`, vector: v }));
          await post(`${url}/v1/namespaces/${ns}/memories`, { memories });
        }
      }),
    );
    const insert = COUNT / (ms(started) / 1000);
    // Every node loads the namespace and builds its graph before queries are timed.
    for (const url of urls) await post(`${url}/v1/namespaces/${ns}/query`, { vector: queries[0], k: 10 });
    for (const url of urls) {
      for (let i = 0; i < 600; i++) {
        const v = await view(url, ns);
        if (!v.index.building && (v.index.kind === 'hnsw' || !GRAPH)) break;
        await sleep(100);
      }
    }

    const query: Row['query'] = {} as Row['query'];
    for (const consistency of ['strong', 'eventual'] as const) {
      const latencies: number[] = [];
      const end = Date.now() + SECONDS * 1000;
      let n = 0;
      await Promise.all(
        Array.from({ length: CLIENTS }, async (_, c) => {
          while (Date.now() < end) {
            const i = n++;
            const t = process.hrtime.bigint();
            await post(`${urls[(c + i) % urls.length]}/v1/namespaces/${ns}/query`, {
              vector: queries[i % queries.length],
              k: 10,
              ...(consistency === 'eventual' && { consistency }),
            });
            latencies.push(ms(t));
          }
        }),
      );
      latencies.sort((a, b) => a - b);
      query[consistency] = { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), qps: latencies.length / SECONDS };
    }

    // Write on A, then query B (the same node for one node) until the write shows.
    const visible: Row['visible'] = { strong: null, eventual: null };
    for (const consistency of ['strong', 'eventual'] as const) {
      const lags: number[] = [];
      const a = urls[0]!;
      const b = urls[1 % urls.length]!;
      for (let s = 0; s < SAMPLES; s++) {
        const id = `probe-${consistency}-${s}`;
        const v = vector();
        await post(`${a}/v1/namespaces/${ns}/memories`, { memories: [{ id, vector: v }] });
        const acknowledged = process.hrtime.bigint();
        for (;;) {
          const answer = await post(`${b}/v1/namespaces/${ns}/query`, { vector: v, k: 1, ...(consistency === 'eventual' && { consistency }) });
          if (answer.results[0]?.id === id) break;
          if (ms(acknowledged) > 10_000) throw new Error(`${setup}: a write on A did not show on B within 10 s (${consistency})`);
        }
        lags.push(ms(acknowledged));
      }
      lags.sort((x, y) => x - y);
      visible[consistency] = { p50: percentile(lags, 0.5), p99: percentile(lags, 0.99) };
    }
    return { setup, insert, query, visible };
  } finally {
    await Promise.all(servers.map((s) => stopServer(s.child)));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

const rows: Row[] = [];
try {
  rows.push(await measure('SQLite, 1 node', 1, false, 'bench'));
  rows.push(await measure('PostgreSQL, 1 node', 1, true, 'bench1'));
  rows.push(await measure('PostgreSQL, 3 nodes', 3, true, 'bench3'));
} finally {
  await admin.unsafe(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
  await admin.end();
}

const f = (x: number, digits = 1) => x.toFixed(digits);
console.log(`\n${COUNT} vectors of ${D} dimensions (cosine), k = 10, ${CLIENTS} concurrent HTTP clients for ${SECONDS} s per consistency, spread over the nodes; visibility: ${SAMPLES} writes on node A, each polled on node B.\n`);
console.log('| setup | bulk insert (vectors/s) | query p50 / p99 ms (default) | QPS (default) | query p50 / p99 ms (eventual) | QPS (eventual) | write on A → visible on B p50 / p99 ms (default) | (eventual) |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const vis = (v: { p50: number; p99: number } | null) => (v ? `${f(v.p50, 2)} / ${f(v.p99, 2)}` : 'n/a');
  console.log(
    `| ${r.setup} | ${Math.round(r.insert)} | ${f(r.query.strong.p50, 2)} / ${f(r.query.strong.p99, 2)} | ${Math.round(r.query.strong.qps)} | ${f(r.query.eventual.p50, 2)} / ${f(r.query.eventual.p99, 2)} | ${Math.round(r.query.eventual.qps)} | ${vis(r.visible.strong)} | ${vis(r.visible.eventual)} |`,
  );
}
