/**
 * What `dedupe: {mode: "near"}` folds with the bundled model (use-lite): cosine similarities of hand-written
 * sentence pairs that say the same thing in other words (should fold) and of pairs that say something else
 * about the same subject (must not), and, over distinct LoCoMo dialog turns, how many have another turn at or
 * above each threshold (what near dedupe would fold in real conversations). Prints Markdown.
 *
 *   npx tsx scripts/measure-near-dedupe.ts                 # LoCoMo turns from ../shared/data/locomo-dev if present
 *   npx tsx scripts/measure-near-dedupe.ts --turns 1500 --locomo /path/to/locomo-dev
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { builtinEmbedders, createEmbedderProvider } from '../src/adapters/embedders/provider.js';
import { cosineSimilarity, normalizeText } from '../src/core/normalize.js';

const ROOT = join(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    turns: { type: 'string', default: '1500' },
    locomo: { type: 'string', default: join(ROOT, '..', 'shared', 'data', 'locomo-dev') },
  },
});

/** Same meaning, other words: a near dedupe should fold these. */
const SAME: [string, string][] = [
  ['Ann likes green tea.', 'Ann likes green tea!'],
  ['Ann likes green tea.', 'Ann really likes green tea.'],
  ['I moved to Lisbon last year.', 'Last year I moved to Lisbon.'],
  ["I don't eat meat.", 'I do not eat meat.'],
  ['My daughter is called Emma.', "My daughter's name is Emma."],
  ['The meeting is on Friday at 10am.', 'The meeting is at 10am on Friday.'],
  ['Bob works at Acme as an engineer.', 'Bob is an engineer at Acme.'],
  ['I am allergic to peanuts.', 'I have a peanut allergy.'],
  ['We adopted a puppy named Rex.', 'We adopted a dog called Rex.'],
  ['She has been running marathons for years.', 'She has run marathons for years.'],
  ['The password for the wifi is on the fridge.', 'The wifi password is on the fridge.'],
  ['I prefer window seats on flights.', 'On flights I prefer a window seat.'],
  ['Caroline went to the LGBTQ support group yesterday.', 'Yesterday Caroline went to the LGBTQ support group.'],
  ['My favourite colour is blue.', 'My favorite color is blue.'],
  ['Tom lives in Berlin.', 'Tom lives in Berlin, Germany.'],
];

/** Same subject, another fact: a near dedupe must not fold these. */
const DIFFERENT: [string, string][] = [
  ['Ann likes green tea.', 'Ann likes black tea.'],
  ['Ann likes green tea.', 'Ann dislikes green tea.'],
  ['I moved to Lisbon last year.', 'I moved to Porto last year.'],
  ['The meeting is on Friday at 10am.', 'The meeting is on Monday at 10am.'],
  ['The meeting is on Friday at 10am.', 'The meeting is on Friday at 3pm.'],
  ['Bob works at Acme as an engineer.', 'Bob works at Acme as a designer.'],
  ['I am allergic to peanuts.', 'I am not allergic to peanuts.'],
  ['We adopted a puppy named Rex.', 'We adopted a kitten named Rex.'],
  ['My daughter is called Emma.', 'My son is called Emma.'],
  ['My flight leaves at 7:40.', 'My flight leaves at 9:15.'],
  ['Tom lives in Berlin.', 'Tim lives in Berlin.'],
  ['I have two brothers.', 'I have three brothers.'],
  ['The rent is 1200 euros a month.', 'The rent is 1500 euros a month.'],
  ['Caroline went to the support group yesterday.', 'Melanie went to the support group yesterday.'],
  ['I started learning the guitar.', 'I stopped learning the guitar.'],
];

const THRESHOLDS = [0.85, 0.9, 0.93, 0.95, 0.97, 0.99];

function locomoTurns(limit: number): string[] {
  if (!existsSync(args.locomo)) return [];
  const seen = new Set<string>();
  const turns: string[] = [];
  for (const file of readdirSync(args.locomo).filter((f) => f.endsWith('.json')).sort()) {
    const conversation = JSON.parse(readFileSync(join(args.locomo, file), 'utf8')) as Record<string, unknown>;
    for (const [key, value] of Object.entries(conversation)) {
      if (!/^session_\d+$/.test(key) || !Array.isArray(value)) continue;
      for (const turn of value) {
        const text = String((turn as { text?: unknown }).text ?? '');
        // Distinct once normalized: exact dedupe already folds the rest.
        if (text.length === 0 || seen.has(normalizeText(text))) continue;
        seen.add(normalizeText(text));
        turns.push(text);
      }
    }
  }
  return turns.slice(0, limit);
}

const provider = createEmbedderProvider(builtinEmbedders({ device: 'cpu' }));
const embedder = await provider.get('use-lite');
const pairs = async (list: [string, string][]) => {
  const vectors = await embedder.embed(list.flat(), 'ingest');
  return list.map(([a, b], i) => ({ a, b, similarity: cosineSimilarity(vectors[2 * i]!, vectors[2 * i + 1]!) }));
};
const same = await pairs(SAME);
const different = await pairs(DIFFERENT);

console.log('| threshold | same-meaning pairs folded | different-fact pairs folded (wrongly) |');
console.log('|---|---|---|');
for (const t of THRESHOLDS) {
  const folded = (list: { similarity: number }[]) => list.filter((p) => p.similarity >= t).length;
  console.log(`| ${t} | ${folded(same)} of ${same.length} | ${folded(different)} of ${different.length} |`);
}
console.log('\n| pair | cosine |\n|---|---|');
for (const p of [...same.map((p) => ({ ...p, kind: 'same' })), ...different.map((p) => ({ ...p, kind: 'different' }))]) {
  console.log(`| ${p.kind}: "${p.a}" / "${p.b}" | ${p.similarity.toFixed(3)} |`);
}

const turns = locomoTurns(Number(args.turns));
if (turns.length > 0) {
  const vectors = await embedder.embed(turns, 'ingest');
  const nearest = vectors.map((v, i) => {
    let best = -1;
    let other = -1;
    vectors.forEach((w, j) => {
      if (j === i) return;
      const s = cosineSimilarity(v, w);
      if (s > best) [best, other] = [s, j];
    });
    return { best, other };
  });
  console.log(`\n${turns.length} distinct LoCoMo dialog turns: share whose most similar other turn is at or above the threshold`);
  console.log('\n| threshold | turns | share |\n|---|---|---|');
  for (const t of THRESHOLDS) {
    const n = nearest.filter((x) => x.best >= t).length;
    console.log(`| ${t} | ${n} | ${((100 * n) / turns.length).toFixed(1)}% |`);
  }
  const examples = nearest
    .map((x, i) => ({ ...x, i }))
    .filter((x) => x.best >= 0.95 && x.i < x.other)
    .slice(0, 8);
  console.log('\nExamples at or above 0.95:');
  for (const x of examples) console.log(`- ${x.best.toFixed(3)}: "${turns[x.i]}" / "${turns[x.other]}"`);
}
await provider.close();
