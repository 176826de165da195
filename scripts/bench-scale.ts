/**
 * Scale on one machine (issue 12), through HTTP against a membank server in its own process, printing a table:
 *
 *  a. many small namespaces (default 100,000 × 10 memories of 512-d caller vectors): write rate, server RSS
 *     after, restart time and RSS right after it, first-query p50 on cold (unloaded) namespaces, p50 on warm
 *     ones; once with `--index-memory-mb 1024` and once with the default budget;
 *  b. one 100,000-vector namespace (100-d) with filters matching 0.01%, 1%, 10% and 50% of it: p50/p99 and
 *     recall@10 against exact search within the filter, beside the unfiltered p50 of the same run;
 *  c. one namespace of 1,000,000 vectors (100-d), default settings: bulk insert rate against raw hnswlib-node
 *     in the same run, RSS, query p50/p99 and recall@10, restart time and the first query after it.
 *
 *   npx tsx scripts/bench-scale.ts                     # all three, full size (about an hour here)
 *   npx tsx scripts/bench-scale.ts --part b --vectors 20000   # one part, smaller
 *
 * Vectors are synthetic with a low intrinsic dimension (scripts/lib/vectors.ts), as real embeddings have.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import hnswlib from 'hnswlib-node';
import { exactSearch } from '../src/core/distance.js';
import { asLabel } from '../src/core/types.js';
import { percentile, post, startServer, stopServer } from './lib/server.js';
import { embeddingLike } from './lib/vectors.js';

const { values: args } = parseArgs({
  options: {
    part: { type: 'string', default: 'a,b,c' },
    namespaces: { type: 'string', default: '100000' },
    vectors: { type: 'string', default: '100000' },
    million: { type: 'string', default: '1000000' },
    queries: { type: 'string', default: '500' },
  },
});
const parts = new Set(args.part.split(','));
const Q = Number(args.queries);

const rows: string[][] = [];
const report = (part: string, what: string, value: string, note = ''): void => {
  rows.push([part, what, value, note]);
  process.stderr.write(`  [${part}] ${what}: ${value} ${note}\n`);
};
const fmt = (x: number, digits = 1): string => x.toFixed(digits);
const now = (): number => performance.now();
const rssMiB = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const p50 = (xs: number[]) => percentile(sorted(xs), 0.5);
const p99 = (xs: number[]) => percentile(sorted(xs), 0.99);

/** Runs `work` for each of `count` items with `clients` concurrent loops. */
async function pool(count: number, clients: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: clients }, async () => {
    while (next < count) await work(next++);
  }));
}

function recall(found: string[][], truth: string[][]): number {
  let hit = 0;
  let total = 0;
  found.forEach((f, i) => {
    const t = new Set(truth[i]);
    hit += f.filter((x) => t.has(x)).length;
    total += t.size;
  });
  return total === 0 ? 1 : hit / total;
}

async function manyNamespaces(budgetArgs: string[], label: string): Promise<void> {
  const N = Number(args.namespaces);
  const PER = 10;
  const dims = 512;
  const dir = mkdtempSync(join(tmpdir(), 'membank-scale-a-'));
  let { child, url } = await startServer(dir, ['--checkpoint-interval', '0', ...budgetArgs]);
  const vectors = embeddingLike(2000, dims, 3).map((v) => Array.from(v));
  const vectorOf = (i: number, j: number) => vectors[(i * PER + j) % vectors.length]!;
  const rawBytes = N * PER * dims * 4;
  let t = now();
  await pool(N, 8, async (i) => {
    await post(`${url}/v1/namespaces`, { name: `user-${i}`, embedder: null, dimensions: dims });
    await post(`${url}/v1/namespaces/user-${i}/memories`, { memories: Array.from({ length: PER }, (_, j) => ({ id: `m${j}`, vector: vectorOf(i, j) })) });
    // Every user also reads: a namespace is loaded by its first query, as in use.
    await post(`${url}/v1/namespaces/user-${i}/query`, { vector: vectorOf(i, 0), k: 3, include: [] });
    if (i > 0 && i % 10000 === 0) process.stderr.write(`    ${i} namespaces, RSS ${fmt(rssMiB(child.pid!), 0)} MiB\n`);
  });
  const seconds = (now() - t) / 1000;
  report(`a ${label}`, `${N} namespaces × ${PER} memories (512-d) written and queried`, `${fmt(N / seconds, 0)} namespaces/s`, `${fmt(seconds, 0)} s`);
  const loadedBytes = Math.min(rawBytes, budgetArgs.length > 0 ? Number(budgetArgs[1]) * 2 ** 20 : rawBytes);
  report(`a ${label}`, 'server RSS after', `${fmt(rssMiB(child.pid!), 0)} MiB`, `raw vectors ${fmt(rawBytes / 2 ** 20, 0)} MiB in all, at most ${fmt(loadedBytes / 2 ** 20, 0)} MiB of them loaded`);
  const warm: number[] = [];
  for (let q = 0; q < Q; q++) {
    const i = (q * 7919) % Math.min(N, 50); // the last few namespaces written are the loaded ones
    const name = `user-${N - 1 - i}`;
    const s = now();
    await post(`${url}/v1/namespaces/${name}/query`, { vector: vectorOf(N - 1 - i, 1), k: 3, include: [] });
    warm.push(now() - s);
  }
  await stopServer(child);

  t = now();
  ({ child, url } = await startServer(dir, ['--checkpoint-interval', '0', ...budgetArgs]));
  report(`a ${label}`, 'restart (to ready)', `${fmt((now() - t) / 1000, 2)} s`);
  await new Promise((resolve) => setTimeout(resolve, 500));
  report(`a ${label}`, 'RSS right after restart', `${fmt(rssMiB(child.pid!), 0)} MiB`);
  const cold: number[] = [];
  for (let q = 0; q < Q; q++) {
    const i = Math.floor((q / Q) * N);
    const s = now();
    await post(`${url}/v1/namespaces/user-${i}/query`, { vector: vectorOf(i, 2), k: 3, include: [] });
    cold.push(now() - s);
  }
  report(`a ${label}`, 'first query on a cold namespace', `p50 ${fmt(p50(cold), 2)} ms`, `p99 ${fmt(p99(cold), 2)} ms`);
  report(`a ${label}`, 'query on a warm namespace', `p50 ${fmt(p50(warm), 2)} ms`, `p99 ${fmt(p99(warm), 2)} ms`);
  await stopServer(child);
  rmSync(dir, { recursive: true, force: true });
}

async function broadFilters(): Promise<void> {
  const N = Number(args.vectors);
  const dims = 100;
  const data = embeddingLike(N, dims, 1);
  const queries = embeddingLike(Q, dims, 2);
  const dir = mkdtempSync(join(tmpdir(), 'membank-scale-b-'));
  const { child, url } = await startServer(dir, ['--checkpoint-interval', '0']);
  await post(`${url}/v1/namespaces`, { name: 'f', embedder: null, dimensions: dims });
  // One field per selectivity; each memory's value decides whether it is in the filter.
  const selectivities = [0.0001, 0.01, 0.1, 0.5];
  const member = (i: number, s: number): boolean => (i * 2654435761) % 1_000_000 < s * 1_000_000;
  let t = now();
  await pool(Math.ceil(N / 1000), 2, async (b) => {
    const memories = [];
    for (let i = b * 1000; i < Math.min(N, (b + 1) * 1000); i++) {
      memories.push({ id: `v${i}`, vector: Array.from(data[i]!), metadata: Object.fromEntries(selectivities.map((s, k) => [`s${k}`, member(i, s) ? 1 : 0])) });
    }
    await post(`${url}/v1/namespaces/f/memories`, { memories });
  });
  report('b', `${N} vectors (100-d) written`, `${fmt(N / ((now() - t) / 1000), 0)} vectors/s`);
  // Load it and let its graph be built (if it is above the threshold) before measuring.
  await post(`${url}/v1/namespaces/f/query`, { vector: Array.from(queries[0]!), k: 10, include: [] });
  t = now();
  const index = async () => ((await (await fetch(`${url}/v1/namespaces/f`)).json()) as { index: { kind: string; building: boolean } }).index;
  while ((await index()).building) await new Promise((r) => setTimeout(r, 500));
  report('b', `index after the first query: ${(await index()).kind}`, `${fmt((now() - t) / 1000, 1)} s to build`);

  const run = async (filter: object | undefined) => {
    const times: number[] = [];
    const found: string[][] = [];
    for (const q of queries) await post(`${url}/v1/namespaces/f/query`, { vector: Array.from(q), k: 10, include: [], filter, reinforce: false });
    for (const q of queries) {
      const s = now();
      const r = await post(`${url}/v1/namespaces/f/query`, { vector: Array.from(q), k: 10, include: [], filter, reinforce: false });
      times.push(now() - s);
      found.push(r.results.map((h: { id: string }) => h.id));
    }
    return { times, found };
  };
  const truthFor = (keep: (i: number) => boolean) => {
    const labeled = data.flatMap((vector, i) => (keep(i) ? [{ label: asLabel(i), vector }] : []));
    return queries.map((q) => exactSearch('cosine', q, labeled, 10).map((n) => `v${n.label}`));
  };
  const base = await run(undefined);
  const baseP50 = p50(base.times);
  report('b', 'unfiltered', `p50 ${fmt(baseP50, 2)} ms, p99 ${fmt(p99(base.times), 2)} ms`, `recall@10 ${fmt(recall(base.found, truthFor(() => true)), 3)}`);
  for (const [k, s] of selectivities.entries()) {
    const r = await run({ [`s${k}`]: 1 });
    const target = Math.max(3 * baseP50, baseP50 + 2);
    const matches = data.filter((_, i) => member(i, s)).length;
    report(
      'b',
      `filter matching ${s * 100}% (${matches})`,
      `p50 ${fmt(p50(r.times), 2)} ms, p99 ${fmt(p99(r.times), 2)} ms`,
      `recall@10 ${fmt(recall(r.found, truthFor((i) => member(i, s))), 3)}; target p50 ≤ ${fmt(target, 2)} ms`,
    );
  }
  await stopServer(child);
  rmSync(dir, { recursive: true, force: true });
}

async function millionVectors(): Promise<void> {
  const N = Number(args.million);
  const dims = 100;
  const data = embeddingLike(N, dims, 5);
  const queries = embeddingLike(Q, dims, 6);
  const arrays = data.map((v) => Array.from(v));

  // Raw hnswlib-node in this process, default settings (M 16, efConstruction 200), single-threaded.
  const raw = new hnswlib.HierarchicalNSW('cosine', dims);
  raw.initIndex({ maxElements: N, m: 16, efConstruction: 200, randomSeed: 100 });
  let t = now();
  arrays.forEach((a, i) => raw.addPoint(a, i));
  const rawRate = N / ((now() - t) / 1000);
  report('c', `raw hnswlib-node insert (${N})`, `${fmt(rawRate, 0)} vectors/s`);
  const labeled = data.map((vector, i) => ({ label: asLabel(i), vector }));
  const truth = queries.slice(0, 100).map((q) => exactSearch('cosine', q, labeled, 10).map((n) => `v${n.label}`));

  const dir = mkdtempSync(join(tmpdir(), 'membank-scale-c-'));
  let { child, url } = await startServer(dir, ['--checkpoint-interval', '0']);
  await post(`${url}/v1/namespaces`, { name: 'big', embedder: null, dimensions: dims });
  // A first query loads the namespace while it is empty: every later write goes straight into its graph.
  await post(`${url}/v1/namespaces/big/query`, { vector: arrays[0], k: 1, include: [] });
  t = now();
  await pool(Math.ceil(N / 1000), 2, async (b) => {
    const memories = arrays.slice(b * 1000, (b + 1) * 1000).map((vector, j) => ({ id: `v${b * 1000 + j}`, vector }));
    await post(`${url}/v1/namespaces/big/memories`, { memories });
    if (b > 0 && b % 100 === 0) process.stderr.write(`    ${b * 1000} written, RSS ${fmt(rssMiB(child.pid!), 0)} MiB\n`);
  });
  const rate = N / ((now() - t) / 1000);
  report('c', 'membank insert via HTTP (batches of 1,000, 2 clients)', `${fmt(rate, 0)} vectors/s`, `${fmt(rate / rawRate, 2)}× raw`);
  while ((await (await fetch(`${url}/v1/namespaces/big`)).json() as { index: { kind: string; building: boolean } }).index.building) await new Promise((r) => setTimeout(r, 500));
  report('c', 'server RSS', `${fmt(rssMiB(child.pid!), 0)} MiB`, `raw vectors ${fmt((N * dims * 4) / 2 ** 20, 0)} MiB`);
  const measure = async () => {
    const times: number[] = [];
    const found: string[][] = [];
    for (const q of queries) {
      const s = now();
      const r = await post(`${url}/v1/namespaces/big/query`, { vector: Array.from(q), k: 10, include: [], reinforce: false });
      times.push(now() - s);
      found.push(r.results.map((h: { id: string }) => h.id));
    }
    return { times, found };
  };
  await measure();
  const q1 = await measure();
  report('c', 'query via HTTP', `p50 ${fmt(p50(q1.times), 2)} ms, p99 ${fmt(p99(q1.times), 2)} ms`, `recall@10 ${fmt(recall(q1.found.slice(0, 100), truth), 3)}`);
  await stopServer(child);
  t = now();
  ({ child, url } = await startServer(dir, ['--checkpoint-interval', '0']));
  report('c', 'restart (to ready)', `${fmt((now() - t) / 1000, 2)} s`);
  t = now();
  await post(`${url}/v1/namespaces/big/query`, { vector: Array.from(queries[0]!), k: 10, include: [] });
  report('c', 'first query after the restart (loads the namespace)', `${fmt((now() - t) / 1000, 2)} s`);
  report('c', 'server RSS after the first query', `${fmt(rssMiB(child.pid!), 0)} MiB`);
  await stopServer(child);
  rmSync(dir, { recursive: true, force: true });
}

if (parts.has('a')) {
  await manyNamespaces(['--index-memory-mb', '1024'], '1 GiB budget');
  await manyNamespaces([], 'default budget');
}
if (parts.has('b')) await broadFilters();
if (parts.has('c')) await millionVectors();

console.log(`\nmembank scale benchmark (${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${Q} queries)\n`);
console.log('| part | measure | result | note |');
console.log('|---|---|---|---|');
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
