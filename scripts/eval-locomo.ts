/**
 * Retrieval quality on LoCoMo (long multi-session conversations whose questions are annotated with the dialog
 * turns that answer them), through the HTTP API: one namespace per conversation, each turn a memory (its text,
 * plus "[shares <caption>]" when the turn shares a photo, as LoCoMo's own baselines do), its session's date as
 * timestamp, speaker and session in metadata. Each question of categories 1-4 is asked in each mode; prints
 * recall_any@k (some evidence turn in the top k) and recall_all@k (all of them) per category, and latency.
 *
 *   npm run eval:locomo                                   # ../shared/data/locomo-dev, a fresh server
 *   npm run eval:locomo -- --locomo DIR --modes hybrid    # another split, some modes
 *   npm run eval:locomo -- --url http://127.0.0.1:8420    # a running server (namespaces locomo-*)
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { percentile, post, startServer, stopServer } from './lib/server.js';

const ROOT = join(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    locomo: { type: 'string', default: process.env.MEMBANK_LOCOMO_DIR ?? join(ROOT, '..', 'shared', 'data', 'locomo-dev') },
    url: { type: 'string' },
    modes: { type: 'string', default: 'vector,keyword,hybrid-rrf,hybrid' },
  },
});

/** Each mode as a query body: the default hybrid, and the fusion alternatives. */
const MODES: Record<string, object> = {
  vector: { mode: 'vector' },
  keyword: { mode: 'keyword' },
  'hybrid-rrf': { mode: 'hybrid', hybrid: { fusion: 'rrf' } },
  'hybrid-plain': { mode: 'hybrid', hybrid: { mentionBoost: 0, neighborWeight: 0 } },
  hybrid: {},
};
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

/** LoCoMo's dates read "1:56 pm on 8 May, 2023". */
function sessionTime(text: string): number {
  const m = /(\d{1,2}):(\d{2})\s*(am|pm)\s+on\s+(\d{1,2})\s+(\w+),?\s+(\d{4})/i.exec(text);
  if (!m) throw new Error(`unreadable session date "${text}"`);
  const hour = (Number(m[1]) % 12) + (m[3]!.toLowerCase() === 'pm' ? 12 : 0);
  return Date.parse(`${m[4]} ${m[5]} ${m[6]} ${String(hour).padStart(2, '0')}:${m[2]}:00 UTC`);
}

if (!existsSync(args.locomo)) throw new Error(`no LoCoMo data at ${args.locomo} (--locomo DIR)`);
const modes = args.modes.split(',').filter((m) => {
  if (!(m in MODES)) throw new Error(`unknown mode ${m}; known: ${Object.keys(MODES).join(', ')}`);
  return true;
});

const dataDir = args.url ? null : mkdtempSync(join(tmpdir(), 'membank-locomo-'));
const server = dataDir ? await startServer(dataDir, ['--device', 'cpu']) : null;
const url = args.url ?? server!.url;

// hits[mode][category][k] = [any, all]; counts[category]
const hits = new Map<string, Map<string, number[][]>>();
const counts = new Map<string, number>();
const latencies = new Map<string, number[]>();
let memories = 0;
const started = performance.now();

for (const file of readdirSync(args.locomo).filter((f) => f.endsWith('.json')).sort()) {
  const conversation = JSON.parse(readFileSync(join(args.locomo, file), 'utf8')) as Record<string, unknown>;
  const namespace = `locomo-${file.replace(/\.json$/, '').replace(/[^A-Za-z0-9_.-]/g, '_')}`;
  await post(`${url}/v1/namespaces`, { name: namespace });
  const batch: object[] = [];
  for (let s = 1; Array.isArray(conversation[`session_${s}`]); s++) {
    const timestamp = sessionTime(String(conversation[`session_${s}_date_time`]));
    for (const turn of conversation[`session_${s}`] as Turn[]) {
      const text = turn.blip_caption ? `${turn.text} [shares ${turn.blip_caption}]` : turn.text;
      batch.push({ id: turn.dia_id, text, timestamp, metadata: { speaker: turn.speaker, session: s } });
    }
  }
  for (let i = 0; i < batch.length; i += 200) await post(`${url}/v1/namespaces/${namespace}/memories`, { memories: batch.slice(i, i + 200) });
  memories += batch.length;

  const questions = (conversation.qa as Question[]).filter((q) => CATEGORIES.includes(String(q.category)));
  for (const q of questions) {
    const category = String(q.category);
    counts.set(category, (counts.get(category) ?? 0) + 1);
    for (const mode of modes) {
      const t0 = performance.now();
      const { results } = await post(`${url}/v1/namespaces/${namespace}/query`, { query: q.question, k: 20, include: [], ...MODES[mode] });
      const ms = performance.now() - t0;
      latencies.set(mode, [...(latencies.get(mode) ?? []), ms]);
      const ranked = (results as { id: string }[]).map((r) => r.id);
      if (!hits.has(mode)) hits.set(mode, new Map());
      const byCategory = hits.get(mode)!;
      if (!byCategory.has(category)) byCategory.set(category, KS.map(() => [0, 0]));
      KS.forEach((k, i) => {
        const top = new Set(ranked.slice(0, k));
        const found = q.evidence.filter((e) => top.has(e)).length;
        const cell = byCategory.get(category)![i]!;
        if (found > 0) cell[0]!++;
        if (found === q.evidence.length) cell[1]!++;
      });
    }
  }
}
if (server) await stopServer(server.child);
if (dataDir) rmSync(dataDir, { recursive: true, force: true });

const total = [...counts.values()].reduce((a, b) => a + b, 0);
const pct = (n: number, of: number) => ((100 * n) / of).toFixed(1);
console.log(`\nLoCoMo retrieval, ${args.locomo}: ${memories} turns, ${total} questions (categories 1-4), ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
console.log('| mode | category | questions | any@5 | any@10 | any@20 | all@5 | all@10 | all@20 |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const mode of modes) {
  const byCategory = hits.get(mode)!;
  for (const category of [...CATEGORIES, 'all']) {
    const n = category === 'all' ? total : (counts.get(category) ?? 0);
    if (n === 0) continue;
    const cells = KS.map((_, i) =>
      category === 'all'
        ? [0, 1].map((j) => CATEGORIES.reduce((sum, c) => sum + (byCategory.get(c)?.[i]?.[j] ?? 0), 0))
        : byCategory.get(category)![i]!,
    );
    const label = category === 'all' ? '**all**' : `${category} ${CATEGORY_NAMES[category]}`;
    console.log(`| ${mode} | ${label} | ${n} | ${cells.map((c) => pct(c[0]!, n)).join(' | ')} | ${cells.map((c) => pct(c[1]!, n)).join(' | ')} |`);
  }
}
console.log('\n| mode | query p50 | p95 | (HTTP, embedding included, k = 20) |');
console.log('|---|---|---|---|');
for (const mode of modes) {
  const sorted = latencies.get(mode)!.sort((a, b) => a - b);
  console.log(`| ${mode} | ${percentile(sorted, 0.5).toFixed(1)} ms | ${percentile(sorted, 0.95).toFixed(1)} ms | |`);
}
