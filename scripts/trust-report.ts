/**
 * How membank fails, in figures (issue 8): runs the crash loop (SIGKILL at random moments under concurrent
 * writes, deletes and queries) and a fuzz campaign of hostile requests against a real server, then prints a
 * table. `npm run report:trust` (options: --kills 20 --fuzz 20000 --seed 8).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { pino } from 'pino';
import { createHashEmbedder } from '../src/adapters/embedders/hash-embedder.js';
import { createEmbedderProvider, embedderTable } from '../src/adapters/embedders/provider.js';
import type { Config } from '../src/config.js';
import { createMembank } from '../src/server.js';
import { runCrashLoop } from '../test/fixtures/crash-loop.js';
import { afterCase, bigCases, CANARY, createTargets, fuzzCase, send, TARGET, violation } from '../test/fixtures/fuzz.js';
import { probeIsolation } from '../test/fixtures/isolation.js';

const { values } = parseArgs({
  options: { kills: { type: 'string', default: '20' }, fuzz: { type: 'string', default: '20000' }, seed: { type: 'string', default: '8' } },
});
const kills = Number(values.kills);
const fuzzRuns = Number(values.fuzz);
const seed = Number(values.seed);

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'membank-trust-'));
  dirs.push(dir);
  return dir;
};

/** An in-process membank on the hash embedder of the tests, logging nothing. */
function startQuiet(dataDir: string, checkpointIntervalSeconds: number) {
  const embedders = createEmbedderProvider(
    embedderTable({ 'hash-64': { dimensions: 64, revision: 'hash-v1', create: async () => createHashEmbedder(64) } }),
    ['hash-64'],
  );
  const config: Config = {
    host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent', maxBodyBytes: 16 * 1024 * 1024, checkpointIntervalSeconds, synchronous: 'normal',
    exactSearchThreshold: 'auto', indexMemoryMb: 1024, hnswThreshold: 'auto', defaultEmbedder: 'hash-64', device: 'cpu', modelsDir: join(dataDir, 'models'), allowRemoteModels: false,
    openaiBatchSize: 64, openaiTimeoutMs: 5000, openaiRetries: 1, rateLimit: 0, insecureNoAuth: false, changeRetentionHours: 168,
  };
  return createMembank(config, pino({ level: 'silent' }), { embedders });
}

async function crashLoop() {
  const started = performance.now();
  const figures = await runCrashLoop({ dataDir: tempDir(), kills, seed, log: (line) => process.stderr.write(`  ${line}\n`) });
  return { ...figures, seconds: (performance.now() - started) / 1000 };
}

async function fuzzCampaign() {
  const started = performance.now();
  const dataDir = tempDir();
  const membank = await startQuiet(dataDir, 5);
  const url = await membank.listen();
  let crashes = 0;
  process.on('uncaughtException', (error) => {
    crashes++;
    process.stderr.write(`  uncaught: ${error.stack}\n`);
  });
  const post = (path: string, value: unknown) => send(url, { method: 'POST', path, contentType: 'application/json', body: Buffer.from(JSON.stringify(value)) });
  await createTargets(url);
  for (const name of [CANARY, TARGET]) {
    await post('/v1/namespaces', { name });
    await post(`/v1/namespaces/${name}/memories`, { memories: Array.from({ length: 40 }, (_, i) => ({ id: `m${i}`, text: `memory number ${i}`, metadata: { i } })) });
  }
  const canary = async () => {
    const stats = JSON.parse((await send(url, { method: 'GET', path: `/v1/namespaces/${CANARY}`, contentType: undefined, body: undefined })).text);
    const hits = JSON.parse((await post(`/v1/namespaces/${CANARY}/query`, { query: 'memory number 7', k: 5, reinforce: false })).text);
    return JSON.stringify([stats.count, stats.index.elements, hits.results]);
  };
  const before = await canary();

  const cases = [...fc.sample(fuzzCase, { numRuns: fuzzRuns, seed }), ...bigCases()];
  const tally = { cases: 0, fiveHundreds: 0, badShape: 0, noAnswer: 0, twoHundreds: 0, fourHundreds: 0 };
  const examples: string[] = [];
  for (const c of cases) {
    tally.cases++;
    try {
      const r = await send(url, c);
      await afterCase(url, c, r);
      if (r.status >= 500) tally.fiveHundreds++;
      else if (r.status >= 400) tally.fourHundreds++;
      else tally.twoHundreds++;
      const problem = violation(r);
      if (problem && r.status < 500) tally.badShape++;
      if (problem && examples.length < 5) examples.push(`${c.method} ${c.path}: ${problem}`);
    } catch (error) {
      tally.noAnswer++;
      if (examples.length < 5) examples.push(`${c.method} ${c.path}: no answer (${String(error)})`);
    }
  }
  const healthy = (await send(url, { method: 'GET', path: '/healthz', contentType: undefined, body: undefined })).status === 200;
  const canaryUnchanged = (await canary()) === before;
  await membank.close();
  return { ...tally, crashes, healthy, canaryUnchanged, examples, seconds: (performance.now() - started) / 1000 };
}

/** A tenant-A key against tenant B's namespace on every route (REST and /mcp): all refused, B unchanged. */
async function isolationCampaign() {
  const dataDir = tempDir();
  const membank = await startQuiet(dataDir, 0);
  const url = await membank.listen();
  const call = async (key: string | null, method: string, path: string, body?: unknown) => {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...(key && { authorization: `Bearer ${key}` }) };
    const response = await fetch(url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return (await response.json()) as Record<string, any>;
  };
  const admin = (await call(null, 'POST', '/v1/keys', { role: 'admin' })).key as string;
  for (const tenant of ['tenant-a', 'tenant-b']) {
    await call(admin, 'POST', '/v1/namespaces', { name: `${tenant}.notes` });
    await call(admin, 'POST', `/v1/namespaces/${tenant}.notes/memories`, {
      memories: [{ id: 'm1', text: `${tenant} secret plan`, metadata: { tenant: `${tenant}.notes` } }, { id: 'm2', text: `${tenant} lunch` }],
    });
    await call(admin, 'POST', `/v1/namespaces/${tenant}.notes/documents`, { documents: [{ id: 'doc', text: `${tenant} handbook` }] });
    await call(admin, 'POST', `/v1/namespaces/${tenant}.notes/facts`, { facts: [{ subject: `${tenant}.notes`, predicate: 'owns', object: 'plan' }] });
  }
  const before = JSON.stringify(await call(admin, 'GET', '/v1/namespaces/tenant-b.notes/memories?include=vector'));
  const keyA = (await call(admin, 'POST', '/v1/keys', { role: 'write', namespaces: ['tenant-a.*'] })).key as string;
  const result = await probeIsolation(url, keyA, 'tenant-a.notes', 'tenant-b.notes');
  const unchanged = JSON.stringify(await call(admin, 'GET', '/v1/namespaces/tenant-b.notes/memories?include=vector')) === before;
  await membank.close();
  return { ...result, unchanged };
}

process.stderr.write(`crash loop: ${kills} SIGKILLs\n`);
const crash = await crashLoop();
process.stderr.write(`fuzz campaign: ${fuzzRuns} generated cases + ${bigCases().length} large bodies\n`);
const fuzz = await fuzzCampaign();
process.stderr.write('isolation probes\n');
const isolation = await isolationCampaign();
for (const dir of dirs) rmSync(dir, { recursive: true, force: true });

const rows: [string, string][] = [
  ['crash loop: SIGKILLs', `${crash.kills} (${crash.seconds.toFixed(0)} s)`],
  ['writes acknowledged / found after restart', `${crash.writesAcked} / ${crash.writesFound}`],
  ['deletes acknowledged / gone after restart', `${crash.deletesAcked} / ${crash.deletesGone}`],
  ['writes or deletes in flight at a kill (either outcome allowed)', String(crash.inFlightAtKill)],
  ['restarts that loaded the checkpoint / rebuilt the index', `${crash.loaded} / ${crash.rebuilt} (most replayed: ${crash.maxReplayed})`],
  ['memories checked top-1 for their own vector / missed', `${crash.selfTop1Checked} / ${crash.selfTop1Missed}`],
  ['lowest mean recall@10 vs exact search after a restart', crash.minRecall.toFixed(3)],
  ['queries during the loop / 5xx answers', `${crash.queriesDuringRun} / ${crash.fiveHundreds}`],
  ['namespaces created / deleted during the loop (checked at each restart)', `${crash.namespacesCreated} / ${crash.namespacesDeleted}`],
  ['dedupe on: writes without id acknowledged / answered as duplicates / texts stored twice', `${crash.dedupeWritesAcked} / ${crash.dedupeDuplicatesAcked} / ${crash.dedupeDuplicatesStored}`],
  ['crash loop violations', String(crash.violations.length)],
  ['fuzz: cases run', `${fuzz.cases} (${fuzz.seconds.toFixed(0)} s, seed ${seed})`],
  ['fuzz: 2xx / 4xx answers', `${fuzz.twoHundreds} / ${fuzz.fourHundreds}`],
  ['fuzz: 5xx seen', String(fuzz.fiveHundreds)],
  ['fuzz: 4xx without the JSON error shape', String(fuzz.badShape)],
  ['fuzz: requests without an answer', String(fuzz.noAnswer)],
  ['fuzz: server crashes', String(fuzz.crashes)],
  ['fuzz: healthy afterwards / canary unchanged', `${fuzz.healthy ? 'yes' : 'NO'} / ${fuzz.canaryUnchanged ? 'yes' : 'NO'}`],
  ["isolation: probes of tenant B's namespace with a tenant-A key (REST and /mcp)", String(isolation.probes)],
  ['isolation: probes answered other than 404 (403 for a namespace delete) / B changed', `${isolation.leaks.length} / ${isolation.unchanged ? 'no' : 'YES'}`],
];
const width = Math.max(...rows.map(([k]) => k.length));
process.stdout.write(`\n| ${'what'.padEnd(width)} | figure |\n|${'-'.repeat(width + 2)}|--------|\n`);
for (const [k, v] of rows) process.stdout.write(`| ${k.padEnd(width)} | ${v} |\n`);
for (const line of [...crash.violations.slice(0, 10), ...fuzz.examples, ...isolation.leaks]) process.stdout.write(`  ${line}\n`);
const failed = isolation.leaks.length > 0 || !isolation.unchanged || crash.violations.length > 0 || fuzz.fiveHundreds > 0 || fuzz.badShape > 0 || fuzz.noAnswer > 0 || fuzz.crashes > 0 || !fuzz.healthy || !fuzz.canaryUnchanged;
process.exit(failed ? 1 : 0);
