/**
 * What memory hygiene costs on the write path: memories/s written over HTTP (batches of 1,000, 64-dimensional
 * vectors with texts, no embedding) into namespaces with dedupe off, exact (the default) and near, and
 * the rate when every write repeats a stored text (each folds into it as a recall). Prints Markdown.
 *
 *   npx tsx scripts/bench-hygiene.ts [--batches 10]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { Config } from '../src/config.js';
import { createMembank } from '../src/server.js';

const { values: args } = parseArgs({ options: { batches: { type: 'string', default: '10' } } });
const BATCHES = Number(args.batches);
const SIZE = 1000;
const DIMS = 64;

const dataDir = mkdtempSync(join(tmpdir(), 'membank-bench-hygiene-'));
const config = {
  host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent', maxBodyBytes: 64 * 2 ** 20, checkpointIntervalSeconds: 0, synchronous: 'normal',
  exactSearchThreshold: 'auto', indexMemoryMb: 1024, hnswThreshold: 'auto', defaultEmbedder: 'use-lite', device: 'cpu',
  modelsDir: join(dataDir, 'models'), allowRemoteModels: false, openaiBatchSize: 64, openaiTimeoutMs: 5000, openaiRetries: 1, rateLimit: 0,
  insecureNoAuth: false,
} as Config;
const membank = await createMembank(config, pino({ level: 'silent' }));
const url = await membank.listen();
const post = async (path: string, body: unknown) => {
  const response = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await response.json();
  if (response.status >= 300) throw new Error(`${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
};
const vector = () => Array.from({ length: DIMS }, () => Math.random() * 2 - 1);
const batch = (b: number, repeat: boolean) =>
  Array.from({ length: SIZE }, (_, i) => ({ text: `memory number ${repeat ? 0 : b}-${i} about something`, vector: vector() }));

async function rate(name: string, mode: 'off' | 'exact' | 'near', repeat = false): Promise<number> {
  await post('/v1/namespaces', { name, embedder: null, dimensions: DIMS, dedupe: { mode } });
  if (repeat) await post(`/v1/namespaces/${name}/memories`, { memories: batch(0, false) });
  const started = performance.now();
  for (let b = 1; b <= BATCHES; b++) await post(`/v1/namespaces/${name}/memories`, { memories: batch(b, repeat) });
  return Math.round((BATCHES * SIZE) / ((performance.now() - started) / 1000));
}

const rows: [string, number][] = [
  ['dedupe off', await rate('off', 'off')],
  ['dedupe exact (default)', await rate('exact', 'exact')],
  ['dedupe near (0.95)', await rate('near', 'near')],
  ['exact, every write a duplicate', await rate('dups', 'exact', true)],
];
console.log(`| ${BATCHES} writes of ${SIZE} memories | memories/s |\n|---|---|`);
for (const [what, perSecond] of rows) console.log(`| ${what} | ${perSecond} |`);
await membank.close();
rmSync(dataDir, { recursive: true, force: true });
