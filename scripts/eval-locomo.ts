/**
 * Retrieval quality on LoCoMo (long multi-session conversations whose questions are annotated with the dialog
 * turns that answer them), through the HTTP API: one namespace per conversation, each turn a memory (its text,
 * plus "[shares <caption>]" when the turn shares a photo, as LoCoMo's own baselines do), its session's date as
 * timestamp. Each question of categories 1-4 is asked in each mode; prints recall_any@k (some evidence turn in
 * the top k) and recall_all@k (all of them) per category, and latency.
 *
 * `--format` says how the turns are stored, as applications store chat turns:
 *  - `plain`: the text; metadata `speaker` and `session`;
 *  - `prefixed`: "Speaker: text"; metadata `speaker`, `session`, `session_date`, `turn_index`, `dia_id` and
 *    `image_caption` (when the turn shares a photo);
 *  - `bare`: the text only, no metadata (nothing says who speaks).
 *
 * `--format` takes several, comma-separated (`plain,prefixed,bare`).
 *
 * `--cv` cross-validates the hybrid options: each conversation is measured with the configuration of the grid
 * below (or `--grid`) that does best, all@10 + any@10 summed over the formats asked, on the *other*
 * conversations; those are the held-out figures. One configuration serves every format, as a default must.
 *
 * The turns are embedded once per format: the server's data directory is kept (`--data`, default
 * $TMPDIR/membank-locomo-<format>) and a namespace that already holds its conversation is not written again.
 *
 *   npm run eval:locomo                                   # ../shared/data/locomo-dev, plain
 *   npm run eval:locomo -- --format plain,prefixed,bare --cv   # the held-out tables (a few minutes)
 *   npm run eval:locomo -- --locomo DIR --modes hybrid    # another split, some modes
 *   npm run eval:locomo -- --url http://127.0.0.1:8420    # a running server (namespaces locomo-*)
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { percentile, post, startServer, stopServer } from './lib/server.js';

const ROOT = join(import.meta.dirname, '..');
const FORMATS = ['plain', 'prefixed', 'bare'] as const;
type Format = (typeof FORMATS)[number];
const { values: args } = parseArgs({
  options: {
    locomo: { type: 'string', default: process.env.MEMBANK_LOCOMO_DIR ?? join(ROOT, '..', 'shared', 'data', 'locomo-dev') },
    url: { type: 'string' },
    modes: { type: 'string', default: 'vector,keyword,hybrid-rrf,hybrid' },
    format: { type: 'string', default: 'plain' },
    cv: { type: 'boolean', default: false },
    data: { type: 'string' },
    fresh: { type: 'boolean', default: false },
    /** A JSON object of named hybrid options, the grid --cv chooses from instead of the built-in one. */
    grid: { type: 'string' },
    /** With --cv: every configuration's figures on each conversation. */
    verbose: { type: 'boolean', default: false },
  },
});
const formats = args.format.split(',').map((f) => {
  if (!FORMATS.includes(f as Format)) throw new Error(`unknown format ${f}; known: ${FORMATS.join(', ')}`);
  return f as Format;
});

/** Each mode as a query body: the default hybrid, and the fusion alternatives. */
const MODES: Record<string, object> = {
  vector: { mode: 'vector' },
  keyword: { mode: 'keyword' },
  'hybrid-rrf': { mode: 'hybrid', hybrid: { fusion: 'rrf' } },
  'hybrid-plain': { mode: 'hybrid', hybrid: { mentionBoost: 0, neighborWeight: 0 } },
  hybrid: {},
};

/** The grid `--cv` chooses from: hybrid options over the defaults, few values each (coarse on purpose). */
function grid(): Record<string, object> {
  const out: Record<string, object> = { default: {} };
  for (const mentionsInVector of [true, false]) {
    for (const bm25B of [0.3, 0.5, 0.75]) {
      for (const timeWeight of [0, 0.3]) {
        for (const neighborWeight of [0.4, 0.5]) {
          for (const vectorWeight of [0.3, 0.4]) {
            const name = `${mentionsInVector ? 'names' : 'no names'} in vector, b ${bm25B}, time ${timeWeight}, neighbors ${neighborWeight}, vector ${vectorWeight}`;
            out[name] = { mentionsInVector, bm25B, timeWeight, neighborWeight, vectorWeight };
          }
        }
      }
    }
  }
  return out;
}

const KS = [5, 10, 20];
const CATEGORIES = ['1', '2', '3', '4'];
const CATEGORY_NAMES: Record<string, string> = { '1': 'multi-hop', '2': 'temporal', '3': 'open-domain', '4': 'single-hop' };

interface Turn {
  speaker: string;
  dia_id: string;
  text: string;
  blip_caption?: string;
}
interface Question {
  question: string;
  evidence: string[];
  category: number;
}
interface Conversation {
  namespace: string;
  memories: object[];
  questions: Question[];
}

/** LoCoMo's dates read "1:56 pm on 8 May, 2023". */
function sessionTime(text: string): number {
  const m = /(\d{1,2}):(\d{2})\s*(am|pm)\s+on\s+(\d{1,2})\s+(\w+),?\s+(\d{4})/i.exec(text);
  if (!m) throw new Error(`unreadable session date "${text}"`);
  const hour = (Number(m[1]) % 12) + (m[3]!.toLowerCase() === 'pm' ? 12 : 0);
  return Date.parse(`${m[4]} ${m[5]} ${m[6]} ${String(hour).padStart(2, '0')}:${m[2]}:00 UTC`);
}

/** A turn as a memory, in the format asked. */
function memoryOf(format: Format, turn: Turn, session: number, date: string, index: number, timestamp: number): object {
  const shared = turn.blip_caption ? `${turn.text} [shares ${turn.blip_caption}]` : turn.text;
  if (format === 'bare') return { id: turn.dia_id, text: shared, timestamp };
  if (format === 'plain') return { id: turn.dia_id, text: shared, timestamp, metadata: { speaker: turn.speaker, session } };
  const metadata: Record<string, unknown> = { speaker: turn.speaker, session, session_date: date, turn_index: index, dia_id: turn.dia_id };
  if (turn.blip_caption) metadata.image_caption = turn.blip_caption;
  return { id: turn.dia_id, text: `${turn.speaker}: ${shared}`, timestamp, metadata };
}

function load(format: Format, file: string): Conversation {
  const raw = JSON.parse(readFileSync(join(args.locomo, file), 'utf8')) as Record<string, unknown>;
  const namespace = `locomo-${file.replace(/\.json$/, '').replace(/[^A-Za-z0-9_.-]/g, '_')}`;
  const memories: object[] = [];
  for (let s = 1; Array.isArray(raw[`session_${s}`]); s++) {
    const date = String(raw[`session_${s}_date_time`]);
    const timestamp = sessionTime(date);
    (raw[`session_${s}`] as Turn[]).forEach((turn, i) => memories.push(memoryOf(format, turn, s, date, i, timestamp)));
  }
  const questions = (raw.qa as Question[]).filter((q) => CATEGORIES.includes(String(q.category)));
  return { namespace, memories, questions };
}

/** Writes a conversation unless its namespace already holds it (embedding is the slow part). */
async function ingest(url: string, c: Conversation): Promise<void> {
  const existing = await fetch(`${url}/v1/namespaces/${c.namespace}`);
  if (existing.ok) {
    const body = (await existing.json()) as { count: number };
    if (body.count === c.memories.length) return;
    await fetch(`${url}/v1/namespaces/${c.namespace}`, { method: 'DELETE' });
  }
  await post(`${url}/v1/namespaces`, { name: c.namespace });
  for (let i = 0; i < c.memories.length; i += 200) await post(`${url}/v1/namespaces/${c.namespace}/memories`, { memories: c.memories.slice(i, i + 200) });
}

/** hits[category][k] = [any, all]. */
type Tally = Map<string, number[][]>;

function tally(into: Tally, q: Question, ranked: string[]): void {
  const category = String(q.category);
  if (!into.has(category)) into.set(category, KS.map(() => [0, 0]));
  KS.forEach((k, i) => {
    const top = new Set(ranked.slice(0, k));
    const found = q.evidence.filter((e) => top.has(e)).length;
    const cell = into.get(category)![i]!;
    if (found > 0) cell[0]!++;
    if (found === q.evidence.length) cell[1]!++;
  });
}

/** [any, all] at k over categories (all of them when absent), summed over tallies. */
function cells(tallies: Tally[], ki: number, categories = CATEGORIES): [number, number] {
  let any = 0;
  let all = 0;
  for (const t of tallies) {
    for (const c of categories) {
      any += t.get(c)?.[ki]?.[0] ?? 0;
      all += t.get(c)?.[ki]?.[1] ?? 0;
    }
  }
  return [any, all];
}

const pct = (n: number, of: number) => ((100 * n) / of).toFixed(1);
const countOf = (cs: Conversation[], categories = CATEGORIES) =>
  cs.reduce((sum, c) => sum + c.questions.filter((q) => categories.includes(String(q.category))).length, 0);

if (!existsSync(args.locomo)) throw new Error(`no LoCoMo data at ${args.locomo} (--locomo DIR)`);
const modes = args.modes.split(',').filter((m) => {
  if (!(m in MODES)) throw new Error(`unknown mode ${m}; known: ${Object.keys(MODES).join(', ')}`);
  return true;
});
if (args.url && formats.length > 1) throw new Error('--url takes one format');
const files = readdirSync(args.locomo)
  .filter((f) => f.endsWith('.json'))
  .sort();
const started = performance.now();

/** Asks every question of a conversation with a body; the tally, and each query's milliseconds. */
async function ask(url: string, c: Conversation, body: object): Promise<{ tally: Tally; ms: number[] }> {
  const out: Tally = new Map();
  const ms: number[] = [];
  for (const q of c.questions) {
    const t0 = performance.now();
    const { results } = await post(`${url}/v1/namespaces/${c.namespace}/query`, { query: q.question, k: 20, include: [], ...body });
    ms.push(performance.now() - t0);
    tally(
      out,
      q,
      (results as { id: string }[]).map((r) => r.id),
    );
  }
  return { tally: out, ms };
}

/** Runs `each` against a server holding the format's conversations (embedded once, kept in its data directory). */
async function withFormat<T>(format: Format, each: (url: string, conversations: Conversation[]) => Promise<T>): Promise<T> {
  const dataDir = args.url ? null : (args.data ? join(args.data, format) : join(tmpdir(), `membank-locomo-${format}`));
  if (dataDir && args.fresh) rmSync(dataDir, { recursive: true, force: true });
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const server = dataDir ? await startServer(dataDir, ['--device', 'cpu']) : null;
  try {
    const url = args.url ?? server!.url;
    const conversations = files.map((f) => load(format, f));
    for (const c of conversations) await ingest(url, c);
    const memories = conversations.reduce((sum, c) => sum + c.memories.length, 0);
    console.log(`\nLoCoMo retrieval, ${args.locomo}, format ${format}: ${memories} turns, ${countOf(conversations)} questions (categories 1-4)\n`);
    return await each(url, conversations);
  } finally {
    if (server) await stopServer(server.child);
  }
}

function categoryTable(tallies: Tally[], conversations: Conversation[], prefix = ''): void {
  for (const category of [...CATEGORIES, 'all']) {
    const categories = category === 'all' ? CATEGORIES : [category];
    const n = countOf(conversations, categories);
    if (n === 0) continue;
    const row = KS.map((_, ki) => cells(tallies, ki, categories));
    const label = category === 'all' ? '**all**' : `${category} ${CATEGORY_NAMES[category]}`;
    console.log(`| ${prefix}${label} | ${n} | ${row.map((r) => pct(r[0], n)).join(' | ')} | ${row.map((r) => pct(r[1], n)).join(' | ')} |`);
  }
}

if (args.cv) {
  const configs = args.grid ? { default: {}, ...(JSON.parse(args.grid) as Record<string, object>) } : grid();
  // results[format][config][conversation]
  const results = new Map<Format, Map<string, Tally[]>>();
  let conversations: Conversation[] = [];
  for (const format of formats) {
    const byConfig = new Map<string, Tally[]>();
    conversations = await withFormat(format, async (url, cs) => {
      for (const [name, hybrid] of Object.entries(configs)) {
        const per: Tally[] = [];
        for (const c of cs) per.push((await ask(url, c, { hybrid })).tally);
        byConfig.set(name, per);
      }
      return cs;
    });
    results.set(format, byConfig);
    if (args.verbose) {
      const total = countOf(conversations);
      console.log(`| configuration | ${conversations.map((c) => `${c.namespace} all@10 / any@10`).join(' | ')} | both |`);
      console.log(`|---|${conversations.map(() => '---|').join('')}---|`);
      for (const [name, per] of byConfig) {
        const figures = per.map((t, i) => {
          const [any, all] = cells([t], 1);
          const n = countOf([conversations[i]!]);
          return `${pct(all, n)} / ${pct(any, n)}`;
        });
        const [any, all] = cells(per, 1);
        console.log(`| ${name} | ${figures.join(' | ')} | ${pct(all, total)} / ${pct(any, total)} |`);
      }
    }
  }
  // One configuration for every format (a default must serve them all): the best on the other conversations,
  // all@10 + any@10 summed over the formats; ties go to the earlier configuration (the defaults first).
  const objective = (name: string, train: number[]) =>
    formats.reduce((sum, f) => sum + cells(train.map((j) => results.get(f)!.get(name)![j]!), 1).reduce((a, b) => a + b, 0), 0);
  const chosen: string[] = conversations.map((_, i) => {
    const train = conversations.map((_, j) => j).filter((j) => j !== i);
    let best = 'default';
    let bestValue = -1;
    for (const name of Object.keys(configs)) {
      const value = objective(name, train);
      if (value > bestValue) [best, bestValue] = [name, value];
    }
    return best;
  });
  console.log(`\nCross-validation over ${formats.join(', ')}: each conversation measured with the configuration chosen on the other(s).\n`);
  console.log('| measured on | chosen on the others | ' + formats.map((f) => `${f} all@10 / any@10 (defaults)`).join(' | ') + ' |');
  console.log(`|---|---|${formats.map(() => '---|').join('')}`);
  conversations.forEach((c, i) => {
    const n = countOf([c]);
    const figures = formats.map((f) => {
      const [any, all] = cells([results.get(f)!.get(chosen[i]!)![i]!], 1);
      const [dAny, dAll] = cells([results.get(f)!.get('default')![i]!], 1);
      return `${pct(all, n)} / ${pct(any, n)} (${pct(dAll, n)} / ${pct(dAny, n)})`;
    });
    console.log(`| ${c.namespace} | ${chosen[i]} | ${figures.join(' | ')} |`);
  });
  console.log('\nHeld out, per format:\n');
  console.log('| format | category | questions | any@5 | any@10 | any@20 | all@5 | all@10 | all@20 |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const f of formats) categoryTable(conversations.map((_, i) => results.get(f)!.get(chosen[i]!)![i]!), conversations, `${f} | `);
  const total = countOf(conversations);
  console.log('\nThe defaults on every conversation (in-sample: the defaults were chosen on them):');
  for (const f of formats) {
    const [any, all] = cells(results.get(f)!.get('default')!, 1);
    console.log(`  ${f}: all@10 ${pct(all, total)}, any@10 ${pct(any, total)}`);
  }
} else {
  for (const format of formats) {
    await withFormat(format, async (url, conversations) => {
      const tallies = new Map<string, Tally[]>();
      const latencies = new Map<string, number[]>();
      for (const mode of modes) {
        for (const c of conversations) {
          const { tally: t, ms } = await ask(url, c, MODES[mode]!);
          tallies.set(mode, [...(tallies.get(mode) ?? []), t]);
          latencies.set(mode, [...(latencies.get(mode) ?? []), ...ms]);
        }
      }
      console.log('| mode | category | questions | any@5 | any@10 | any@20 | all@5 | all@10 | all@20 |');
      console.log('|---|---|---|---|---|---|---|---|---|');
      for (const mode of modes) categoryTable(tallies.get(mode)!, conversations, `${mode} | `);
      console.log('\n| mode | query p50 | p95 | (HTTP, embedding included, k = 20) |');
      console.log('|---|---|---|---|');
      for (const mode of modes) {
        const sorted = latencies.get(mode)!.sort((a, b) => a - b);
        console.log(`| ${mode} | ${percentile(sorted, 0.5).toFixed(1)} ms | ${percentile(sorted, 0.95).toFixed(1)} ms | |`);
      }
    });
  }
}
console.log(`\n${((performance.now() - started) / 1000).toFixed(0)} s`);
