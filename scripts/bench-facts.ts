/**
 * Facts benchmark: pattern reads over 100,000 facts (the indexes on the normalized fields), p50/p99 per
 * pattern shape. Prints a Markdown table.   npm run bench:facts [-- --n 100000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createSqliteStore } from '../src/adapters/sqlite/store.js';
import { DEFAULT_HNSW, DEFAULT_SETTINGS } from '../src/core/types.js';
import { rng } from '../test/fixtures/random.js';
import { percentile } from './lib/server.js';

const { values: args } = parseArgs({ options: { n: { type: 'string', default: '100000' } } });
const N = Number(args.n);
const dir = mkdtempSync(join(tmpdir(), 'membank-bench-facts-'));
const store = createSqliteStore({ file: join(dir, 'membank.db'), synchronous: 'normal' });
const ns = await store.namespaces.create({
  name: 'facts', space: 'cosine', dimensions: 2, embedder: null, embedderRevision: null, hnsw: DEFAULT_HNSW, settings: DEFAULT_SETTINGS,
});

const random = rng(5);
const people = Array.from({ length: N / 10 }, (_, i) => `Person ${i}`);
const predicates = ['lives_in', 'works_at', 'likes', 'knows', 'owns', 'studied_at', 'plays', 'visited'];
const objects = Array.from({ length: 5000 }, (_, i) => `Thing ${i}`);
const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)]!;

let started = performance.now();
for (let i = 0; i < N; i++) {
  await store.facts.write(
    ns.id,
    { subject: pick(people), predicate: pick(predicates), object: pick(objects), confidence: null, source: null, validFrom: null, validTo: null, metadata: {}, replace: false },
    `f${i}`,
  );
}
const writeRate = N / ((performance.now() - started) / 1000);

const shapes: [string, () => Record<string, string>][] = [
  ['subject', () => ({ subject: pick(people) })],
  ['subject + predicate', () => ({ subject: pick(people), predicate: pick(predicates) })],
  ['predicate + object', () => ({ predicate: pick(predicates), object: pick(objects) })],
  ['object', () => ({ object: pick(objects) })],
  ['subject + predicate + object', () => ({ subject: pick(people), predicate: pick(predicates), object: pick(objects) })],
];
console.log(`\nmembank facts benchmark: ${N} facts (${people.length} subjects, ${predicates.length} predicates, ${objects.length} objects), Node ${process.version}\n`);
console.log(`writes (one transaction each, dedupe check included): ${writeRate.toFixed(0)} facts/s\n`);
console.log('| pattern | p50 | p99 | facts returned (mean) |');
console.log('|---|---|---|---|');
for (const [name, make] of shapes) {
  const times: number[] = [];
  let returned = 0;
  for (let i = 0; i < 2000; i++) {
    const pattern = make();
    started = performance.now();
    returned += (await store.facts.query(ns.id, { ...pattern, limit: 100 })).length;
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  console.log(`| ${name} | ${percentile(times, 0.5).toFixed(3)} ms | ${percentile(times, 0.99).toFixed(3)} ms | ${(returned / 2000).toFixed(1)} |`);
}
await store.close();
rmSync(dir, { recursive: true, force: true });
