/**
 * The same workload through Chroma's HTTP API against membank (its Chroma port) and against a real Chroma 1.0,
 * one server at a time on this machine, each in its own process: a bulk `add` of N 100-d vectors in batches of
 * 1,000 with a metadata field (2 clients), 1,000 sequential `query` calls (k = 10) with recall@10 against exact
 * search, the same queries with a `where` matching 10%, and the server's resident memory. Prints a table.
 *
 *   npx tsx scripts/bench-chroma.ts                         # N = 100,000 (the workload; run on a quiet machine)
 *   npx tsx scripts/bench-chroma.ts --n 10000 --queries 200 # a quick check
 *   npx tsx scripts/bench-chroma.ts --only membank          # one side (membank or chroma)
 *
 * Both collections get the same HNSW settings (l2, M 16, ef_construction 200, ef_search 64). The vectors are
 * synthetic with a low intrinsic dimension, as real embeddings have (scripts/lib/vectors.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { exactSearch } from '../src/core/distance.js';
import { asLabel } from '../src/core/types.js';
import { type Running, rssMb, startChroma, startMembankChroma, stop } from './lib/chroma.js';
import { embeddingLike } from './lib/vectors.js';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    queries: { type: 'string', default: '1000' },
    dims: { type: 'string', default: '100' },
    only: { type: 'string' },
  },
});
const N = Number(args.n);
const Q = Number(args.queries);
const DIMS = Number(args.dims);
const BATCH = 1000;
const CLIENTS = 2;
const BUCKETS = 10;
const DB = '/api/v2/tenants/default_tenant/databases/default_database';
const HNSW = { space: 'l2', max_neighbors: 16, ef_construction: 200, ef_search: 64 };

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

function request(method: string, url: string, body?: unknown): Promise<any> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method, agent, headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if ((res.statusCode ?? 500) >= 300) reject(new Error(`${method} ${url}: ${res.statusCode} ${text.slice(0, 300)}`));
          else resolve(text ? JSON.parse(text) : undefined);
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

function recall(found: string[][], truth: string[][]): number {
  let hit = 0;
  let total = 0;
  found.forEach((ids, i) => {
    const expected = new Set(truth[i]);
    hit += ids.filter((id) => expected.has(id)).length;
    total += expected.size;
  });
  return total === 0 ? 1 : hit / total;
}

interface Result {
  /** Vectors a second until the last add was answered. */
  ackRate: number;
  /** Vectors a second until everything added is indexed as queries use it (the graph built). */
  addRate: number;
  query: { p50: number; p99: number; qps: number; recall: number };
  filtered: { p50: number; p99: number; qps: number; recall: number };
  rss: number;
  peakRss: number;
}

async function queries(base: string, vectors: Float32Array[], truth: string[][], where?: unknown) {
  const times: number[] = [];
  const found: string[][] = [];
  const started = performance.now();
  for (const v of vectors) {
    const t = performance.now();
    const answer = await request('POST', base, { query_embeddings: [Array.from(v)], n_results: 10, include: ['distances'], ...(where !== undefined && { where }) });
    times.push(performance.now() - t);
    found.push(answer.ids[0]);
  }
  const seconds = (performance.now() - started) / 1000;
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99), qps: vectors.length / seconds, recall: recall(found, truth) };
}

async function run(server: Running, data: Float32Array[], queryVectors: Float32Array[], truth: { all: string[][]; bucket: string[][] }): Promise<Result> {
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMb(server.child.pid!))), 200);
  try {
    const collection = await request('POST', `${server.url}${DB}/collections`, { name: 'bench', configuration: { hnsw: HNSW } });
    const base = `${server.url}${DB}/collections/${collection.id}`;
    const batches = Math.ceil(data.length / BATCH);
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        for (let b = next++; b < batches; b = next++) {
          const from = b * BATCH;
          const slice = data.slice(from, from + BATCH);
          await request('POST', `${base}/add`, {
            ids: slice.map((_, i) => `v${from + i}`),
            embeddings: slice.map((v) => Array.from(v)),
            metadatas: slice.map((_, i) => ({ bucket: (from + i) % BUCKETS })),
          });
        }
      }),
    );
    const ackRate = data.length / ((performance.now() - started) / 1000);
    // The first query loads membank's namespace (and starts its graph build); Chroma needs no such step.
    await request('POST', `${base}/query`, { query_embeddings: [Array.from(queryVectors[0]!)], n_results: 10 });
    await server.indexed();
    const addRate = data.length / ((performance.now() - started) / 1000);
    const count = await request('GET', `${base}/count`);
    if (count !== data.length) throw new Error(`${server.name} holds ${count} records, not ${data.length}`);
    const query = await queries(`${base}/query`, queryVectors, truth.all);
    const filtered = await queries(`${base}/query`, queryVectors, truth.bucket, { bucket: 3 });
    const rss = rssMb(server.child.pid!);
    return { ackRate, addRate, query, filtered, rss, peakRss: Math.max(peakRss, rss) };
  } finally {
    clearInterval(sampler);
  }
}

async function main(): Promise<void> {
  console.error(`${N} vectors of ${DIMS} dimensions, ${Q} queries; computing exact neighbours ...`);
  const data = embeddingLike(N, DIMS, 1);
  const queryVectors = embeddingLike(Q, DIMS, 2);
  const labeled = data.map((vector, i) => ({ label: asLabel(i), vector }));
  const inBucket = labeled.filter(({ label }) => label % BUCKETS === 3);
  const truth = {
    all: queryVectors.map((q) => exactSearch('l2', q, labeled, 10).map((n) => `v${n.label}`)),
    bucket: queryVectors.map((q) => exactSearch('l2', q, inBucket, 10).map((n) => `v${n.label}`)),
  };
  const results = new Map<string, Result>();
  for (const name of ['membank', 'chroma']) {
    if (args.only && args.only !== name) continue;
    const dir = mkdtempSync(join(tmpdir(), `bench-chroma-${name}-`));
    const server = name === 'membank' ? await startMembankChroma(dir) : await startChroma(dir);
    try {
      console.error(`${name}: running`);
      results.set(name, await run(server, data, queryVectors, truth));
    } finally {
      await stop(server);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const columns = [...results.keys()];
  const row = (label: string, cell: (r: Result) => string) => `| ${label} | ${columns.map((c) => cell(results.get(c)!)).join(' | ')} |`;
  const f = (x: number, digits = 2) => x.toFixed(digits);
  console.log(`\n${N.toLocaleString('en')} vectors, ${DIMS}-d, batches of ${BATCH} (${CLIENTS} clients), ${Q} queries, k = 10, HNSW M 16, ef_construction 200, ef_search 64\n`);
  console.log(`| | ${columns.map((c) => (c === 'chroma' ? 'Chroma 1.0' : 'membank')).join(' | ')} |`);
  console.log(`|---|${columns.map(() => '---').join('|')}|`);
  console.log(row('add, until the last add is answered (vectors/s)', (r) => f(r.ackRate, 0)));
  console.log(row('add, until everything is indexed (vectors/s)', (r) => f(r.addRate, 0)));
  console.log(row('query p50 / p99 (ms)', (r) => `${f(r.query.p50)} / ${f(r.query.p99)}`));
  console.log(row('query QPS (1 client)', (r) => f(r.query.qps, 0)));
  console.log(row('query recall@10', (r) => f(r.query.recall, 3)));
  console.log(row('filtered query p50 / p99 (ms), where 10%', (r) => `${f(r.filtered.p50)} / ${f(r.filtered.p99)}`));
  console.log(row('filtered QPS', (r) => f(r.filtered.qps, 0)));
  console.log(row('filtered recall@10', (r) => f(r.filtered.recall, 3)));
  console.log(row('RSS after / peak (MB)', (r) => `${f(r.rss, 0)} / ${f(r.peakRss, 0)}`));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
