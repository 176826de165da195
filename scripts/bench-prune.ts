/**
 * Pruning while queries run: N memories expire, a forgetting run removes them through the HTTP API, and one
 * client measures query latency before and during the run. Prints a Markdown table.
 *
 *   npm run bench:prune                 # N = 100,000, 64-d caller vectors, 10,000 memories kept
 *   npm run bench:prune -- --n 20000
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { rng } from '../test/fixtures/random.js';
import { percentile, post, startServer, stopServer } from './lib/server.js';

const { values: args } = parseArgs({
  options: { n: { type: 'string', default: '100000' }, keep: { type: 'string', default: '10000' }, dims: { type: 'string', default: '64' } },
});
const N = Number(args.n);
const KEEP = Number(args.keep);
const DIMS = Number(args.dims);
const random = rng(42);
const vector = () => Array.from({ length: DIMS }, () => random() * 2 - 1);

const dataDir = mkdtempSync(join(tmpdir(), 'membank-bench-prune-'));
const { child, url } = await startServer(dataDir, ['--checkpoint-interval', '0']);
const ns = `${url}/v1/namespaces/prune`;
await post(`${url}/v1/namespaces`, { name: 'prune', embedder: null, dimensions: DIMS });

const ingestStarted = performance.now();
for (let i = 0; i < KEEP; i += 1000) {
  await post(`${ns}/memories`, { memories: Array.from({ length: Math.min(1000, KEEP - i) }, (_, j) => ({ id: `keep-${i + j}`, vector: vector(), text: `kept memory ${i + j}` })) });
}
// Expiring a few seconds after the write: by the time the ingest is over, all of them have expired.
for (let i = 0; i < N; i += 1000) {
  const expiresAt = Date.now() + 2000;
  await post(`${ns}/memories`, {
    memories: Array.from({ length: Math.min(1000, N - i) }, (_, j) => ({ id: `gone-${i + j}`, vector: vector(), text: `short-lived note ${i + j}`, expiresAt })),
  });
}
const ingestSeconds = (performance.now() - ingestStarted) / 1000;
await new Promise((resolve) => setTimeout(resolve, 2500));

async function queryLoop(until: () => boolean): Promise<number[]> {
  const latencies: number[] = [];
  while (!until()) {
    const t0 = performance.now();
    const { results } = await post(`${ns}/query`, { vector: vector(), k: 10, include: [], reinforce: false });
    latencies.push(performance.now() - t0);
    if (results.some((r: { id: string }) => r.id.startsWith('gone-'))) throw new Error('an expired memory was returned');
  }
  return latencies;
}

const baselineEnd = performance.now() + 5000;
const baseline = (await queryLoop(() => performance.now() > baselineEnd)).sort((a, b) => a - b);

let done = false;
const pruneStarted = performance.now();
const prune = post(`${ns}/forget`, { expired: true }).then((outcome) => {
  done = true;
  return outcome as { expired: number; durationMs: number };
});
const during = (await queryLoop(() => done)).sort((a, b) => a - b);
const outcome = await prune;
const pruneSeconds = (performance.now() - pruneStarted) / 1000;
const stats = (await (await fetch(`${ns}`)).json()) as { count: number; index: { elements: number } };
await stopServer(child);
rmSync(dataDir, { recursive: true, force: true });

const row = (name: string, v: string) => console.log(`| ${name} | ${v} |`);
console.log(`\nPruning ${N.toLocaleString('en')} expired memories (${DIMS}-d vectors with short texts) beside ${KEEP.toLocaleString('en')} kept ones, through the HTTP API\n`);
console.log('| measure | result |');
console.log('|---|---|');
row('ingest', `${((N + KEEP) / ingestSeconds).toFixed(0)} memories/s`);
row('memories pruned', `${outcome.expired.toLocaleString('en')} in ${pruneSeconds.toFixed(1)} s (${(outcome.expired / pruneSeconds).toFixed(0)}/s)`);
row('query p50 / p99 / max before the run', `${percentile(baseline, 0.5).toFixed(2)} / ${percentile(baseline, 0.99).toFixed(2)} / ${baseline.at(-1)!.toFixed(2)} ms (${baseline.length} queries)`);
row('query p50 / p99 / max during the run', `${percentile(during, 0.5).toFixed(2)} / ${percentile(during, 0.99).toFixed(2)} / ${during.at(-1)!.toFixed(2)} ms (${during.length} queries)`);
row('after the run: memories / index elements', `${stats.count} / ${stats.index.elements}`);
