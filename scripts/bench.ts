/**
 * Core benchmark: raw hnswlib-node against membank (in-process and over HTTP) on the same caller-supplied
 * vectors. Prints a Markdown table. Text ingest with the bundled model is measured by bench-embed.ts.
 *
 *   npm run bench                       # N = 100,000 at 100-d and 512-d (about 25 minutes on 2 cores)
 *   npm run bench -- --n 20000 --dims 100
 *
 * Vectors are synthetic with a low intrinsic dimension, as real embeddings have (no real vector set of this
 * size ships on npm). Recall is measured against exact search on a sample of queries.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import hnswlib from 'hnswlib-node';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { exactSearch } from '../src/core/distance.js';
import { asLabel } from '../src/core/types.js';
import { createMembank } from '../src/server.js';
import { rng } from '../test/fixtures/random.js';
import { percentile as pct, post, startServer, stopServer } from './lib/server.js';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    dims: { type: 'string', default: '100,512' },
    queries: { type: 'string', default: '300' },
  },
});
const N = Number(args.n);
const Q = Number(args.queries);
const M = 16;
const EF_CONSTRUCTION = 200;
const EFS = [16, 32, 64, 128, 256];

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
}

/**
 * Vectors with a low intrinsic dimension, as real embeddings have: a 16-d latent mixture of 1,000 clusters,
 * projected by a fixed random matrix to `dims`, plus a little isotropic noise.
 */
function embeddingLike(count: number, dims: number, seed: number): Float32Array[] {
  const LATENT = 16;
  const shape = rng(dims); // the projection and clusters depend on dims only, so queries share them
  const projection = Array.from({ length: LATENT }, () => Float32Array.from({ length: dims }, () => gaussian(shape)));
  const centers = Array.from({ length: 1000 }, () => Array.from({ length: LATENT }, () => gaussian(shape)));
  const random = rng(seed);
  return Array.from({ length: count }, () => {
    const c = centers[Math.floor(random() * centers.length)]!;
    const latent = c.map((x) => x + 0.5 * gaussian(random));
    const v = Float32Array.from({ length: dims }, () => 0.3 * gaussian(random));
    for (let l = 0; l < LATENT; l++) for (let d = 0; d < dims; d++) v[d]! += latent[l]! * projection[l]![d]!;
    return v;
  });
}

const fmt = (x: number, digits = 2): string => x.toFixed(digits);
const now = (): number => performance.now();

function recallOf(found: number[][], truth: number[][]): number {
  let hit = 0;
  found.forEach((f, i) => {
    const t = new Set(truth[i]);
    hit += f.filter((x) => t.has(x)).length;
  });
  return hit / (truth.length * 10);
}

function timeQueries(run: (q: Float32Array) => number[], queries: Float32Array[]): { ids: number[][]; p50: number; p99: number } {
  for (const q of queries) run(q); // warm up: steady-state latency, caches and pages warm
  const times: number[] = [];
  const ids = queries.map((q) => {
    const t = now();
    const r = run(q);
    times.push(now() - t);
    return r;
  });
  times.sort((a, b) => a - b);
  return { ids, p50: pct(times, 0.5), p99: pct(times, 0.99) };
}


function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)![1]) / 1024;
}


const rows: string[][] = [];
const report = (dims: number | string, what: string, value: string, note = ''): void => {
  rows.push([String(dims), what, value, note]);
  console.error(`  ${dims}  ${what}: ${value} ${note}`);
};

async function benchVectors(dims: number): Promise<void> {
  console.error(`\n# ${N} vectors, ${dims}-d`);
  const data = embeddingLike(N, dims, 1);
  const queries = embeddingLike(Q, dims, 2);
  const arrays = data.map((v) => Array.from(v));
  let t = now();
  const labeled = data.map((vector, i) => ({ label: asLabel(i + 1), vector }));
  const truth = queries.map((q) => exactSearch('cosine', q, labeled, 10).map((n) => n.label as number));
  console.error(`  ground truth: ${fmt((now() - t) / 1000, 1)} s`);

  // Raw hnswlib-node.
  const raw = new hnswlib.HierarchicalNSW('cosine', dims);
  raw.initIndex({ maxElements: N, m: M, efConstruction: EF_CONSTRUCTION, randomSeed: 100 });
  t = now();
  arrays.forEach((a, i) => raw.addPoint(a, i + 1));
  const rawBuildS = (now() - t) / 1000;
  report(dims, 'raw hnswlib-node insert', `${fmt(N / rawBuildS, 0)} vectors/s`, `build ${fmt(rawBuildS, 1)} s`);
  const rawByEf = new Map<number, { recall: number; p50: number }>();
  for (const ef of EFS) {
    raw.setEf(ef);
    const r = timeQueries((q) => raw.searchKnn(Array.from(q), 10).neighbors, queries);
    rawByEf.set(ef, { recall: recallOf(r.ids, truth), p50: r.p50 });
  }
  const ef = EFS.find((e) => rawByEf.get(e)!.recall >= 0.98) ?? EFS[EFS.length - 1]!;
  for (const e of EFS) {
    report(dims, `raw query ef=${e}`, `p50 ${fmt(rawByEf.get(e)!.p50, 3)} ms`, `recall@10 ${fmt(rawByEf.get(e)!.recall, 3)}`);
  }
  const rawBuildRate = N / rawBuildS;

  // membank over HTTP, server in its own process.
  const dataDir = mkdtempSync(join(tmpdir(), 'membank-bench-'));
  const { child, url } = await startServer(dataDir, ['--checkpoint-interval', '0']);
  await post(`${url}/v1/namespaces`, { name: 'bench', embedder: null, dimensions: dims, hnsw: { m: M, efConstruction: EF_CONSTRUCTION, efSearch: ef } });
  // A first query loads the (empty) namespace, as a client in use would: writes then go to its search table and,
  // past the threshold, to its graph.
  await post(`${url}/v1/namespaces/bench/query`, { vector: arrays[0], k: 1, include: [] });
  t = now();
  const BATCH = 1000;
  let nextBatch = 0;
  // Two clients, so that one request's JSON travels while the server indexes the other.
  await Promise.all(
    [0, 1].map(async () => {
      while (nextBatch < N) {
        const start = nextBatch;
        nextBatch += BATCH;
        const memories = arrays.slice(start, start + BATCH).map((vector, j) => ({ id: `v${start + j}`, vector }));
        await post(`${url}/v1/namespaces/bench/memories`, { memories });
      }
    }),
  );
  const httpInsertS = (now() - t) / 1000;
  // The graph's first build (past the threshold) may still be running in its worker: wait for it.
  while (((await (await fetch(`${url}/v1/namespaces/bench`)).json()) as { index: { building: boolean } }).index.building) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  report(dims, 'membank insert via HTTP (batches of 1000, 2 clients, synchronous=full)', `${fmt(N / httpInsertS, 0)} vectors/s`, `${fmt((N / httpInsertS / rawBuildRate) * 100, 0)}% of raw`);

  const idOf = (id: string): number => Number(id.slice(1)) + 1;
  const httpTimes: number[] = [];
  const httpIds: number[][] = [];
  for (const q of queries) await post(`${url}/v1/namespaces/bench/query`, { vector: Array.from(q), k: 10, include: [] });
  for (const q of queries) {
    const body = { vector: Array.from(q), k: 10, include: [] };
    const s = now();
    const r = await post(`${url}/v1/namespaces/bench/query`, body);
    httpTimes.push(now() - s);
    httpIds.push(r.results.map((h: { id: string }) => idOf(h.id)));
  }
  httpTimes.sort((a, b) => a - b);
  report(dims, `membank query via HTTP, ef=${ef}, 1 client`, `p50 ${fmt(pct(httpTimes, 0.5), 3)} ms, p99 ${fmt(pct(httpTimes, 0.99), 3)} ms`, `recall@10 ${fmt(recallOf(httpIds, truth), 3)}`);

  const clients = 4;
  let next = 0;
  t = now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < queries.length * 3) {
        const q = queries[next++ % queries.length]!;
        await post(`${url}/v1/namespaces/bench/query`, { vector: Array.from(q), k: 10, include: [] });
      }
    }),
  );
  report(dims, `membank query via HTTP, ${clients} clients`, `${fmt((queries.length * 3) / ((now() - t) / 1000), 0)} queries/s`);
  report(dims, 'server peak memory (VmHWM)', `${fmt(peakRssMiB(child.pid!), 0)} MiB`);
  t = now();
  await stopServer(child);
  report(dims, 'graceful shutdown (checkpoint)', `${fmt((now() - t) / 1000, 2)} s`);

  // In-process: restart time (to ready: nothing is loaded), the first query (loads the graph's checkpoint),
  // query time against raw at the same ef, then a rebuild (graph files deleted) in the background.
  const logger = pino({ level: 'silent' });
  const config = { ...loadConfig([], {}), dataDir, logLevel: 'silent' as const, port: 0, checkpointIntervalSeconds: 0 };
  t = now();
  let membank = await createMembank(config, logger);
  report(dims, 'restart: to ready (namespaces load on first use)', `${fmt((now() - t) / 1000, 2)} s`);
  t = now();
  await membank.service.query('bench', { vector: Array.from(queries[0]!), k: 10, include: [] });
  report(dims, 'restart: first query, loading the graph checkpoint', `${fmt((now() - t) / 1000, 2)} s`);
  const inProcess: number[] = [];
  const inIds: number[][] = [];
  // Warm up with every query once: a freshly loaded index and a cold page cache are measured by the restart time.
  for (const q of queries) await membank.service.query('bench', { vector: Array.from(q), k: 10, include: [] });
  for (const q of queries) {
    const vector = Array.from(q);
    const s = now();
    const hits = await membank.service.query('bench', { vector, k: 10, include: [] });
    inProcess.push(now() - s);
    inIds.push(hits.map((h) => idOf(h.memory.id)));
  }
  inProcess.sort((a, b) => a - b);
  const rawP50 = rawByEf.get(ef)!.p50;
  report(dims, `membank query in-process, ef=${ef}`, `p50 ${fmt(pct(inProcess, 0.5), 3)} ms, p99 ${fmt(pct(inProcess, 0.99), 3)} ms`, `${fmt(pct(inProcess, 0.5) / rawP50, 2)}x raw p50; recall@10 ${fmt(recallOf(inIds, truth), 3)}`);
  await membank.close();
  for (const f of readdirSync(join(dataDir, 'indexes'))) rmSync(join(dataDir, 'indexes', f));
  membank = await createMembank(config, logger);
  t = now();
  await membank.service.query('bench', { vector: Array.from(queries[0]!), k: 10, include: [] });
  report(dims, 'graph files deleted: first query (answered exactly while the graph is rebuilt)', `${fmt((now() - t) / 1000, 2)} s`);
  await membank.service.settled('bench');
  report(dims, 'graph rebuilt from SQLite in a worker thread', `${fmt((now() - t) / 1000, 2)} s`);
  await membank.close();
  rmSync(dataDir, { recursive: true, force: true });
}

for (const dims of args.dims.split(',').map(Number)) await benchVectors(dims);

console.log(`\nmembank benchmark: N=${N}, M=${M}, efConstruction=${EF_CONSTRUCTION}, ${Q} queries, k=10, cosine, Node ${process.version}\n`);
console.log('| dims | measure | result | note |');
console.log('|---|---|---|---|');
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
