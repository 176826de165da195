/**
 * Embedding benchmark: texts/s of each embedder available here, LoCoMo dev retrieval with the bundled model on
 * both runtimes, membank's ingest rate against the raw model call, and the latency of single-text queries
 * while a bulk ingest runs. Prints a Markdown table.
 *
 *   npm run bench:embed                          # LoCoMo dialog turns from ../shared/data/locomo-dev if present
 *   npm run bench:embed -- --texts 2000 --locomo /path/to/locomo-dev
 *   MEMBANK_OPENAI_BASE_URL=http://host:8000/v1 npm run bench:embed -- --openai bge-small   # a remote server too
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { builtinEmbedders, createEmbedderProvider } from '../src/adapters/embedders/provider.js';
import type { Embedder } from '../src/ports/embedder.js';
import { exactSearch } from '../src/core/distance.js';
import { asLabel } from '../src/core/types.js';
import { rng } from '../test/fixtures/random.js';
import { percentile as pct, post, startServer, stopServer } from './lib/server.js';
import { writeTinyBert } from '../test/fixtures/tiny-bert.js';

const ROOT = join(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    texts: { type: 'string', default: '2000' },
    locomo: { type: 'string', default: join(ROOT, '..', 'shared', 'data', 'locomo-dev') },
    openai: { type: 'string' },
    'models-dir': { type: 'string' },
  },
});
const COUNT = Number(args.texts);

function loadTexts(): { texts: string[]; source: string } {
  if (existsSync(args.locomo)) {
    const turns: string[] = [];
    for (const file of readdirSync(args.locomo).filter((f) => f.endsWith('.json'))) {
      const conversation = JSON.parse(readFileSync(join(args.locomo, file), 'utf8')) as Record<string, unknown>;
      for (const [key, value] of Object.entries(conversation)) {
        if (/^session_\d+$/.test(key) && Array.isArray(value)) for (const turn of value) turns.push(String(turn.text));
      }
    }
    return { texts: Array.from({ length: COUNT }, (_, i) => turns[i % turns.length]!), source: `LoCoMo dialog turns (${turns.length} distinct)` };
  }
  const random = rng(3);
  const words = 'i we went saw loved the a my new dog park museum concert painting book trip beach friends family kids work music'.split(' ');
  return {
    texts: Array.from({ length: COUNT }, () => Array.from({ length: 30 }, () => words[Math.floor(random() * words.length)]).join(' ')),
    source: 'synthetic 30-word texts',
  };
}

const rows: string[][] = [];
const report = (what: string, result: string, note = ''): void => {
  rows.push([what, result, note]);
  console.error(`  ${what}: ${result} ${note}`);
};



const { texts, source } = loadTexts();
console.error(`# ${COUNT} ${source}`);

// 1. Each embedder, called directly (its worker pool, its own batching).
const modelsDir = args['models-dir'] ?? mkdtempSync(join(tmpdir(), 'membank-models-'));
if (!args['models-dir']) writeTinyBert(modelsDir);
const names = ['use-lite', 'use-lite-tfjs', ...(args['models-dir'] ? [] : ['transformers:tiny-bert?device=cpu']), ...(args.openai ? [`openai:${args.openai}`] : [])];
const provider = createEmbedderProvider(
  builtinEmbedders({
    device: 'cpu',
    transformers: { modelsDir, allowRemote: false },
    openai: process.env.MEMBANK_OPENAI_BASE_URL ? { baseUrl: process.env.MEMBANK_OPENAI_BASE_URL, batchSize: 64, timeoutMs: 30_000, retries: 2 } : undefined,
  }),
);
/** Texts/s of an embedder called with `batch` texts at a time by `callers` concurrent callers. */
async function modelRate(embedder: Embedder, sample: string[], batch: number, callers: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (next < sample.length) {
        const start = next;
        next += batch;
        await embedder.embed(sample.slice(start, start + batch));
      }
    }),
  );
  return sample.length / ((performance.now() - started) / 1000);
}

const useLiteRates = new Map<number, number>();
for (const name of names) {
  const embedder = await provider.get(name);
  await embedder.embed(texts.slice(0, 64));
  const sample = name === 'use-lite-tfjs' ? texts.slice(0, Math.min(COUNT, 500)) : texts;
  const note = name.startsWith('transformers:tiny-bert') ? 'test fixture: 1 layer, 32 wide, random weights' : `${embedder.device}`;
  const whole = await modelRate(embedder, sample, sample.length, 1);
  report(`${name}: model alone, all texts in one call`, `${whole.toFixed(1)} texts/s`, note);
  if (name === 'use-lite') {
    for (const batch of [32, 256]) {
      const rate = await modelRate(embedder, sample, batch, 2);
      useLiteRates.set(batch, rate);
      report(`${name}: model alone, calls of ${batch} texts, 2 callers`, `${rate.toFixed(1)} texts/s`, note);
    }
  }
}

// 2. Retrieval on the LoCoMo development split, dense exact search: the ONNX build must not change the figures.
if (existsSync(args.locomo)) {
  for (const name of ['use-lite', 'use-lite-tfjs']) {
    const embedder = await provider.get(name);
    let any = 0;
    let all = 0;
    let questions = 0;
    for (const file of readdirSync(args.locomo).filter((f) => f.endsWith('.json'))) {
      const conversation = JSON.parse(readFileSync(join(args.locomo, file), 'utf8')) as Record<string, unknown>;
      const turns = Object.entries(conversation)
        .filter(([key, value]) => /^session_\d+$/.test(key) && Array.isArray(value))
        .flatMap(([, value]) => value as { dia_id: string; text: string }[]);
      const vectors = await embedder.embed(turns.map((t) => t.text));
      const candidates = vectors.map((vector, i) => ({ label: asLabel(i), vector }));
      const qa = (conversation.qa as { question: string; evidence: string[]; category: number }[]).filter((q) => q.category !== 5);
      const queryVectors = await embedder.embed(qa.map((q) => q.question));
      qa.forEach((q, i) => {
        const top = new Set(exactSearch('cosine', queryVectors[i]!, candidates, 10).map((n) => turns[n.label]!.dia_id));
        const hits = q.evidence.filter((id) => top.has(id)).length;
        if (hits > 0) any++;
        if (hits === q.evidence.length) all++;
        questions++;
      });
    }
    report(`${name}: LoCoMo dev, dense exact search`, `recall_any@10 ${((any / questions) * 100).toFixed(1)}, recall_all@10 ${((all / questions) * 100).toFixed(1)}`, `${questions} questions (categories 1-4)`);
  }
}
await provider.close();

// 3. The service: ingest through HTTP against the raw model, then query latency during a bulk ingest.
const dataDir = mkdtempSync(join(tmpdir(), 'membank-bench-embed-'));
const { child, url } = await startServer(dataDir, ['--device', 'cpu']);
await post(`${url}/v1/namespaces`, { name: 'turns' });
await post(`${url}/v1/namespaces/turns/memories`, { memories: texts.slice(0, 64).map((text) => ({ text })) });
for (const [batch, clients] of [[32, 2], [32, 4], [256, 2]] as const) {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < COUNT) {
        const start = next;
        next += batch;
        await post(`${url}/v1/namespaces/turns/memories`, { memories: texts.slice(start, start + batch).map((text) => ({ text })) });
      }
    }),
  );
  const rate = COUNT / ((performance.now() - started) / 1000);
  const raw = useLiteRates.get(batch)!;
  report(`membank ingest via HTTP, batches of ${batch}, ${clients} clients`, `${rate.toFixed(1)} memories/s`, `${((rate / raw) * 100).toFixed(0)}% of use-lite alone at the same batch size`);
}

const idle: number[] = [];
for (let i = 0; i < 50; i++) {
  const started = performance.now();
  await post(`${url}/v1/namespaces/turns/query`, { query: texts[(i * 7) % COUNT]!, mode: 'vector', k: 10, include: [] });
  idle.push(performance.now() - started);
}
idle.sort((a, b) => a - b);
report('text query (embed + search), idle', `p50 ${pct(idle, 0.5).toFixed(1)} ms, p99 ${pct(idle, 0.99).toFixed(1)} ms`);

let ingesting = true;
const ingest = (async () => {
  for (let start = 0; ingesting; start = (start + 256) % COUNT) {
    await post(`${url}/v1/namespaces/turns/memories`, { memories: texts.slice(start, start + 256).map((text) => ({ text })) });
  }
})();
await new Promise((resolve) => setTimeout(resolve, 1000));
const busy: number[] = [];
for (let i = 0; i < 100; i++) {
  const started = performance.now();
  await post(`${url}/v1/namespaces/turns/query`, { query: texts[(i * 13) % COUNT]!, mode: 'vector', k: 10, include: [] });
  busy.push(performance.now() - started);
}
ingesting = false;
await ingest;
busy.sort((a, b) => a - b);
report('text query (embed + search), during a bulk ingest', `p50 ${pct(busy, 0.5).toFixed(1)} ms, p99 ${pct(busy, 0.99).toFixed(1)} ms`);

await stopServer(child);
rmSync(dataDir, { recursive: true, force: true });
if (!args['models-dir']) rmSync(modelsDir, { recursive: true, force: true });

console.log(`\nmembank embedding benchmark: ${COUNT} ${source}, Node ${process.version}\n`);
console.log('| measure | result | note |');
console.log('|---|---|---|');
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
