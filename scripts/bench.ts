/**
 * Core benchmark: raw hnswlib-node against membank (in-process and over HTTP) on the same vectors, plus the
 * text ingest rate with the bundled model against the model's own throughput. Prints Markdown tables.
 *
 *   npm run bench                       # N = 100,000 at 100-d and 512-d (about 15 minutes on 2 cores)
 *   npm run bench -- --n 20000 --dims 100 --text 1000
 *   MEMBANK_LOCOMO_DIR=../shared/data/locomo-dev npm run bench   # text ingest on LoCoMo turns
 *
 * Vectors are synthetic with a low intrinsic dimension, as real embeddings have (no real vector set of this
 * size ships on npm). Recall is measured against exact search on a sample of queries.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import hnswlib from 'hnswlib-node';
import { pino } from 'pino';
import { createEmbedderProvider } from '../src/adapters/embedders/provider.js';
import { loadConfig } from '../src/config.js';
import { exactSearch } from '../src/core/distance.js';
import { asLabel } from '../src/core/types.js';
import { createMembank } from '../src/server.js';
import { rng } from '../test/fixtures/random.js';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    dims: { type: 'string', default: '100,512' },
    queries: { type: 'string', default: '300' },
    text: { type: 'string', default: '2000' },
    locomo: { type: 'string', default: process.env.MEMBANK_LOCOMO_DIR ?? join(import.meta.dirname, '..', '..', 'shared', 'data', 'locomo-dev') },
  },
});
const N = Number(args.n);
const Q = Number(args.queries);
const M = 16;
const EF_CONSTRUCTION = 200;
const EFS = [16, 32, 64, 128, 256];
const ROOT = join(import.meta.dirname, '..');

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

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
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

function startServer(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'main.ts'), '--port', '0', '--data-dir', dataDir, '--checkpoint-interval', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  process.on('exit', () => child.kill('SIGKILL')); // never leave a server behind
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /membank ready on (http:\/\/[\d.:]+)/.exec(out);
      if (match) resolve({ child, url: match[1]! });
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)));
  });
}

function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)![1]) / 1024;
}

// A keep-alive client on node:http: lighter than fetch, so that latencies are mostly the server's.
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

function post(url: string, body: unknown): Promise<any> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if ((response.statusCode ?? 500) >= 300) reject(new Error(`${response.statusCode} ${text}`));
          else resolve(JSON.parse(text));
        });
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
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
  const { child, url } = await startServer(dataDir);
  await post(`${url}/v1/namespaces`, { name: 'bench', embedder: null, dimensions: dims, hnsw: { m: M, efConstruction: EF_CONSTRUCTION, efSearch: ef } });
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
  child.kill('SIGTERM');
  await new Promise((resolve) => child.on('exit', resolve));
  report(dims, 'graceful shutdown (checkpoint)', `${fmt((now() - t) / 1000, 2)} s`);

  // In-process: restart time (load), query time against raw at the same ef, then rebuild time.
  const logger = pino({ level: 'silent' });
  const config = { ...loadConfig([], {}), dataDir, logLevel: 'silent' as const, port: 0, checkpointIntervalSeconds: 0 };
  t = now();
  let membank = await createMembank(config, logger);
  report(dims, 'restart: load saved index', `${fmt((now() - t) / 1000, 2)} s`);
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
  t = now();
  membank = await createMembank(config, logger);
  report(dims, 'restart: rebuild index from SQLite', `${fmt((now() - t) / 1000, 2)} s`);
  await membank.close();
  rmSync(dataDir, { recursive: true, force: true });
}

function loadTexts(count: number): { texts: string[]; source: string } {
  const dir = args.locomo;
  if (existsSync(dir)) {
    const texts: string[] = [];
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
      const conversation = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>;
      for (const [key, value] of Object.entries(conversation)) {
        if (/^session_\d+$/.test(key) && Array.isArray(value)) for (const turn of value) texts.push(String(turn.text));
      }
    }
    const out = Array.from({ length: count }, (_, i) => texts[i % texts.length]!);
    return { texts: out, source: `LoCoMo turns (${texts.length} distinct)` };
  }
  const random = rng(3);
  const words = 'memory bank agent remember user said yesterday dinner project deadline garden puppy trip music book'.split(' ');
  return {
    texts: Array.from({ length: count }, () => Array.from({ length: 25 }, () => words[Math.floor(random() * words.length)]).join(' ')),
    source: 'synthetic 25-word texts',
  };
}

async function benchText(count: number): Promise<void> {
  if (count <= 0) return;
  const { texts, source } = loadTexts(count);
  console.error(`\n# text ingest, ${count} ${source}`);
  const provider = createEmbedderProvider();
  const embedder = await provider.get('use-lite');
  await embedder.embed(texts.slice(0, 32));
  let t = now();
  await embedder.embed(texts);
  const rawRate = count / ((now() - t) / 1000);
  report('512 (use-lite)', 'model alone (worker, batches of 32)', `${fmt(rawRate, 1)} texts/s`, source);
  await provider.close();

  const dataDir = mkdtempSync(join(tmpdir(), 'membank-bench-'));
  const { child, url } = await startServer(dataDir);
  await post(`${url}/v1/namespaces`, { name: 'text' });
  await post(`${url}/v1/namespaces/text/memories`, { memories: texts.slice(0, 32).map((text) => ({ text })) });
  t = now();
  let nextStart = 0;
  // Two clients, so that one request's SQLite and index work overlaps the other's embedding.
  await Promise.all(
    [0, 1].map(async () => {
      while (nextStart < count) {
        const start = nextStart;
        nextStart += 256;
        await post(`${url}/v1/namespaces/text/memories`, { memories: texts.slice(start, start + 256).map((text) => ({ text })) });
      }
    }),
  );
  const serviceRate = count / ((now() - t) / 1000);
  report('512 (use-lite)', 'membank text ingest via HTTP (batches of 256, 2 clients)', `${fmt(serviceRate, 1)} memories/s`, `${fmt((serviceRate / rawRate) * 100, 0)}% of the model alone`);
  child.kill('SIGTERM');
  await new Promise((resolve) => child.on('exit', resolve));
  rmSync(dataDir, { recursive: true, force: true });
}

for (const dims of args.dims.split(',').map(Number)) await benchVectors(dims);
await benchText(Number(args.text));

console.log(`\nmembank benchmark: N=${N}, M=${M}, efConstruction=${EF_CONSTRUCTION}, ${Q} queries, k=10, cosine, Node ${process.version}\n`);
console.log('| dims | measure | result | note |');
console.log('|---|---|---|---|');
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
