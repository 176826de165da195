/**
 * Retrieval over one or several loaded namespaces: vector (graph or exact), keyword (BM25) and hybrid search,
 * then the query's re-ranking (recency, retention, MMR, score threshold) and neighbour expansion. Ranking reads
 * only the namespaces' in-memory tables; the store is read once at the end, for the fields of the results.
 *
 * Hybrid search, whose defaults were chosen by cross-validation on the LoCoMo development split:
 *  1. the query, read once (readHybridQuery): the time it names, if any, becomes a soft window and leaves the
 *     text; its words that name someone memories are by or about (the values of `tagFields`, or a text's
 *     leading "Name: ") are "mentions": they leave the keyword query and the embedded text, since they say
 *     whose memory is wanted rather than what it says;
 *  2. candidates: the top `candidates` by BM25 and by vector, and the memories adjacent to them;
 *  3. each candidate's vector similarity is computed exactly; fusion of the normalized vector and keyword
 *     scores (or RRF), plus `mentionBoost` for memories tagged with what the query names, plus `timeWeight`
 *     times how well its time fits the window, plus `neighborWeight` times the best adjacent memory's score.
 *     With `explain`, each hit keeps these parts (value and weight), which add up to its score.
 */
import type { HybridOptions } from '../api/schemas.js';
import { distance as distanceBetween, scoreOf } from '../core/distance.js';
import { bestNeighbor, minMax, mmr, reciprocalRankFusion, recencyBonus, type Scores, weightedFusion } from '../core/fusion.js';
import { isStopStem, queryTerms, stem, words } from '../core/keywords.js';
import type { Scope } from '../core/scope.js';
import { type TimeWindow, timeWindow, windowValue } from '../core/time-window.js';
import { type Bm25, idf, mergeStats, type SlotSet } from '../core/table/index.js';
import type { Label, MemoryRecord, NamespaceRecord } from '../core/types.js';
import type { MemoryFields } from '../ports/memory-store.js';
import type { Store } from '../ports/store.js';
import type { Resident } from './residents/resident.js';

export type SearchMode = 'vector' | 'keyword' | 'hybrid';

export interface SearchTarget {
  record: NamespaceRecord;
  resident: Resident;
}

export interface SearchRequest {
  mode: SearchMode;
  /** The query text (keyword and hybrid). */
  text?: string;
  /** The query vector (vector and hybrid). */
  vector?: Float32Array;
  k: number;
  scope: Scope;
  hybrid: HybridOptions;
  mmr?: { lambda: number; fetchK?: number };
  minScore?: number;
  /** `halfLife` in seconds. */
  recency?: { weight: number; halfLife: number };
  expand?: { before: number; after: number };
  /** Adds `retentionWeight · retention` to each score. */
  retentionWeight?: number;
  retentionOf?: (namespace: NamespaceRecord, memory: MemoryRecord) => number;
  /** Fields of the memories to return. */
  fields: MemoryFields;
  /** Epoch ms, for recency. */
  now: number;
  /** Hybrid: the query as `readHybridQuery` reads it (read here when absent). */
  hybridQuery?: HybridQuery;
  /** Whether each hit carries the parts of its score (see `Explain`). */
  explain?: boolean;
  /** Least graph search effort, and the scope size under which exact search answers (see Resident.nearest). */
  exactThreshold: number;
}

export interface SearchHit {
  namespace: NamespaceRecord;
  memory: MemoryRecord;
  score: number;
  /** Distance to the query vector in the namespace's space; null in keyword mode. */
  distance: number | null;
  /** With `expand`: the adjacent memories, in order, the hit itself left out. */
  neighbors?: MemoryRecord[];
  /** With `explain`: the parts of the score; Σ value · weight over them is `score`. */
  explain?: Explain;
}

/** One part of a score: a normalized value and the weight it enters the score with. */
export interface ScorePart {
  value: number;
  weight: number;
}

/**
 * The parts of a score, by component: `vector`, `keyword`, `rrf` (hybrid with reciprocal rank fusion),
 * `mention`, `neighbor`, `recency`, `retention`. The score is the sum of value · weight over the parts, in the
 * order they are listed.
 */
export type Explain = Record<string, ScorePart>;

/** A ranked candidate, before the store is read: which namespace, which memory, how it scored. */
interface Ranked {
  target: SearchTarget;
  label: Label;
  score: number;
  distance: number | null;
  explain?: Explain;
}

/** Memories read per statement (the store's limit). */
const READ_BATCH = 1000;

/** The tag fields of a query as paths. */
export const tagPaths = (hybrid: HybridOptions): string[][] => hybrid.tagFields.map((field) => field.split('.'));

/** The stems of words, each once, in order. */
const stemsOf = (terms: string[]): string[] => [...new Set(terms.map(stem))];

/** Whether a label of a target is in scope: the scope's slots, and not expired. */
function inScopeOf(target: SearchTarget, within: SlotSet | undefined, now: number | undefined) {
  const table = target.resident.table;
  return (label: Label): boolean => {
    const slot = table.flat.slotOf(label);
    return slot !== undefined && (!within || within.has(slot)) && table.visible(slot, now);
  };
}

export async function search(store: Store, targets: SearchTarget[], request: SearchRequest): Promise<SearchHit[]> {
  const { k, mode } = request;
  const reranked = request.recency !== undefined || request.retentionWeight !== undefined;
  // How many ranked candidates the re-ranking steps look at.
  const pool = request.mmr ? Math.max(k, request.mmr.fetchK ?? Math.max(3 * k, 20)) : reranked ? Math.max(3 * k, 20) : k;
  const scopes = targets.map((t) => t.resident.table.scope(request.scope));
  const now = request.scope.visibleAt;

  let ranked: Ranked[];
  if (mode === 'hybrid') {
    ranked = hybrid(targets, scopes, request, Math.max(pool, request.hybrid.candidates));
  } else if (mode === 'vector') {
    ranked = targets.flatMap((target) =>
      target.resident
        .nearest(request.vector!, pool, request.scope, target.record.hnsw.efSearch, request.exactThreshold)
        .map((n) => {
          const score = scoreOf(target.record.space, n.distance);
          return { target, label: n.label, distance: n.distance, score, ...(request.explain && { explain: { vector: { value: score, weight: 1 } } }) };
        }),
    );
  } else {
    const stems = stemsOf(queryTerms(request.text!));
    ranked = keywordHits(targets, scopes, stems, pool, now).map((h) => ({
      ...h,
      distance: null,
      ...(request.explain && { explain: { keyword: { value: h.score, weight: 1 } } }),
    }));
  }
  ranked.sort((a, b) => b.score - a.score || a.label - b.label);

  // Re-ranking by what only the store knows (retention) reads every candidate; otherwise only the pool.
  const readAll = request.retentionWeight !== undefined && request.retentionOf !== undefined;
  const fields: MemoryFields = { text: request.fields.text, metadata: request.fields.metadata, vector: request.fields.vector };
  const memories = await readMemories(store, readAll ? ranked : ranked.slice(0, pool), fields);
  let hits = ranked
    .filter((r) => memories.has(r.label))
    .map((r) => ({ ...r, memory: memories.get(r.label)! }));
  if (request.recency) {
    const { weight, halfLife } = request.recency;
    for (const h of hits) {
      const value = recencyBonus(request.now - h.memory.timestamp, halfLife * 1000, 1);
      h.score += weight * value;
      if (h.explain) h.explain.recency = { value, weight };
    }
  }
  if (readAll) {
    const weight = request.retentionWeight!;
    for (const h of hits) {
      const value = request.retentionOf!(h.target.record, h.memory);
      h.score += weight * value;
      if (h.explain) h.explain.retention = { value, weight };
    }
  }
  hits.sort((a, b) => b.score - a.score || a.label - b.label);
  if (request.minScore !== undefined) hits = hits.filter((h) => h.score >= request.minScore!);
  if (request.mmr) hits = diversify(hits.slice(0, pool), k, request.mmr.lambda);

  const results: SearchHit[] = hits
    .slice(0, k)
    .map((h) => ({ namespace: h.target.record, memory: h.memory, score: h.score, distance: h.distance, ...(h.explain && { explain: h.explain }) }));
  if (request.expand) {
    const { before, after } = request.expand;
    for (const [i, hit] of results.entries()) {
      const target = hits[i]!.target;
      const visible = inScopeOf(target, scopes[targets.indexOf(target)], now);
      const around = target.resident.table.adjacent(hit.memory.label, before, after);
      const labels = [...around.before, ...around.after].filter(visible);
      const read = await readMemories(store, labels.map((label) => ({ target, label })), { text: true, metadata: true, vector: false });
      hit.neighbors = labels.filter((label) => read.has(label)).map((label) => read.get(label)!);
    }
  }
  return results;
}

/** BM25 hits over the targets, with statistics merged over all of them so that scores compare. */
function keywordHits(targets: SearchTarget[], scopes: (SlotSet | undefined)[], stems: string[], limit: number, now: number | undefined, bm25?: Bm25) {
  if (stems.length === 0) return [];
  const stats = mergeStats(targets.map((t) => t.resident.table.keywordStats(stems)));
  const hits = targets.flatMap((target, i) =>
    target.resident.table.keywordSearch(stems, limit, stats, scopes[i], now, bm25).map((h) => ({ target, label: h.label, score: h.score })),
  );
  // Several namespaces: best first over all of them (feedback reads the best).
  return targets.length > 1 ? hits.sort((a, b) => b.score - a.score || a.label - b.label) : hits;
}

/** The words a query may mention: those of the tag fields' values, and of the speakers texts start with. */
function mentionable(targets: SearchTarget[], options: HybridOptions): Set<string> {
  const tagged = new Set<string>();
  if (options.mentionBoost === 0) return tagged;
  const paths = tagPaths(options);
  for (const t of targets) {
    for (const w of t.resident.table.tagWords(paths)) tagged.add(w);
    if (options.speakerPrefix && t.resident.table.hasKeywords) for (const w of t.resident.table.textSpeakerWords()) tagged.add(w);
  }
  return tagged;
}

/**
 * The text to embed for the vector side of a hybrid query: without the names it mentions unless
 * `mentionsInVector` (a name pulls every memory of its speaker, whatever it says); the query itself when it
 * mentions nothing or is nothing but names.
 */
function vectorQueryText(targets: SearchTarget[], text: string, options: HybridOptions): string {
  if (options.mentionsInVector || options.mentionBoost === 0) return text;
  const tagged = mentionable(targets, options);
  if (tagged.size === 0) return text;
  // A mentioned word goes, with a possessive 's after it.
  const out = text.replace(/[\p{L}\p{N}\p{M}\p{Co}]+(?:['’]s\b)?/gu, (run) => {
    const word = words(run)[0];
    return word !== undefined && tagged.has(word) ? '' : run;
  });
  const left = out.replace(/\s+/g, ' ').trim();
  return words(left).length > 0 && left !== text ? left : text;
}

/** The words a memory is tagged with: its tag fields' values, and the speaker its text starts with. */
function tagsOf(target: SearchTarget, label: Label, paths: string[][], options: HybridOptions): Set<string> {
  const table = target.resident.table;
  const tags = new Set<string>();
  for (const path of paths) {
    const value = table.fieldValue(label, path);
    if (typeof value === 'string') for (const w of words(value)) tags.add(w);
  }
  if (options.speakerPrefix && table.hasKeywords) {
    const speaker = table.textSpeaker(label);
    if (speaker !== undefined) for (const w of words(speaker)) tags.add(w);
  }
  return tags;
}

/**
 * Pseudo-relevance feedback (after RM3, Abdul-Jaleel et al. 2004): the terms of the best keyword hits, each
 * weighed by its share of the hits' texts times the hit's share of their scores, times its idf (chat turns
 * are short: without it, "really" and "great" would win); function words, the query's own terms and the
 * names it may mention left out. The best `count`, weights scaled to at most 1.
 */
function feedbackTerms(
  targets: SearchTarget[],
  hits: { target: SearchTarget; label: Label; score: number }[],
  exclude: Set<string>,
  count: number,
): { term: string; weight: number }[] {
  const total = hits.reduce((sum, h) => sum + h.score, 0);
  if (total <= 0) return [];
  const mass = new Map<string, number>();
  for (const h of hits) {
    const { terms, length } = h.target.resident.table.keywordTerms(h.label);
    if (length === 0) continue;
    for (const [term, tf] of terms) {
      if (exclude.has(term) || isStopStem(term) || /^\p{N}+$/u.test(term)) continue;
      mass.set(term, (mass.get(term) ?? 0) + (tf / length) * (h.score / total));
    }
  }
  if (mass.size === 0) return [];
  const terms = [...mass.keys()];
  const stats = mergeStats(targets.map((t) => t.resident.table.keywordStats(terms)));
  const weighed = terms.map((term, i) => ({ term, weight: mass.get(term)! * idf(stats.docs, stats.df[i]!) }));
  weighed.sort((a, b) => b.weight - a.weight || (a.term < b.term ? -1 : 1));
  const top = weighed.slice(0, count).filter((t) => t.weight > 0);
  const max = top[0]?.weight ?? 1;
  return top.map((t) => ({ term: t.term, weight: t.weight / max }));
}

/** A hybrid query, read once: the time it names, its text for keywords and its text to embed. */
export interface HybridQuery {
  /** With `timeWeight`: the time it names, read relative to the latest memory of the targets (else now). */
  window?: TimeWindow;
  /** The text without the words that name the time (the window stands for them). */
  keywordText: string;
  /** The keyword text, without the names it mentions unless `mentionsInVector` (see vectorQueryText). */
  vectorText: string;
}

export function readHybridQuery(targets: SearchTarget[], text: string, options: HybridOptions, now: number): HybridQuery {
  let window: TimeWindow | undefined;
  if (options.timeWeight > 0) {
    let latest: number | undefined;
    for (const t of targets) {
      const at = t.resident.table.latestEventAt();
      if (at !== undefined && (latest === undefined || at > latest)) latest = at;
    }
    window = timeWindow(text, latest ?? now);
  }
  const rest = window ? text.replace(window.text, ' ').replace(/\s+/g, ' ').trim() : text;
  const keywordText = words(rest).length > 0 ? rest : text;
  return { window, keywordText, vectorText: vectorQueryText(targets, keywordText, options) };
}

function hybrid(targets: SearchTarget[], scopes: (SlotSet | undefined)[], request: SearchRequest, candidates: number): Ranked[] {
  const options = request.hybrid;
  const query = request.vector!;
  const now = request.scope.visibleAt;
  const paths = tagPaths(options);

  const read = request.hybridQuery ?? readHybridQuery(targets, request.text!, options, request.now);
  const terms = queryTerms(read.keywordText);
  const tagged = mentionable(targets, options);
  const mentions = terms.filter((t) => tagged.has(t));
  const topical = terms.filter((t) => !tagged.has(t));
  const bm25: Bm25 = { k1: options.bm25K1, b: options.bm25B };
  const stems = stemsOf(topical.length > 0 ? topical : terms);
  let keyword = keywordHits(targets, scopes, stems, candidates, now, bm25);
  if (options.feedbackTerms > 0 && keyword.length > 0) {
    const exclude = new Set([...stems, ...[...tagged].map(stem)]);
    const expansion = feedbackTerms(targets, keyword.slice(0, options.feedbackDocs), exclude, options.feedbackTerms);
    if (expansion.length > 0) {
      const weights = [...stems.map(() => 1), ...expansion.map((e) => options.feedbackWeight * e.weight)];
      keyword = keywordHits(targets, scopes, [...stems, ...expansion.map((e) => e.term)], candidates, now, { ...bm25, weights });
    }
  }

  // Candidates, each with the target it belongs to.
  const owner = new Map<number, number>();
  keyword.forEach((h) => owner.set(h.label, targets.indexOf(h.target)));
  targets.forEach((target, i) => {
    for (const n of target.resident.nearest(query, candidates, request.scope, target.record.hnsw.efSearch, request.exactThreshold)) owner.set(n.label, i);
  });

  // Adjacent memories join the candidates: the answer is often the turn after the one the words match.
  const adjacent = new Map<number, number[]>();
  const link = (from: number, to: number): void => {
    const list = adjacent.get(from);
    if (!list) adjacent.set(from, [to]);
    else if (!list.includes(to)) list.push(to);
  };
  if (options.neighborWeight > 0) {
    for (const [label, i] of [...owner]) {
      const target = targets[i]!;
      const visible = inScopeOf(target, scopes[i], now);
      const around = target.resident.table.adjacent(label as Label, 1, 1);
      for (const other of [...around.before, ...around.after]) {
        if (!visible(other)) continue;
        if (!owner.has(other)) owner.set(other, i);
        link(label, other);
        link(other, label);
      }
    }
  }

  const distances = new Map<number, number>();
  const vectorScores: Scores = new Map();
  for (const [label, i] of owner) {
    const target = targets[i]!;
    const vector = target.resident.table.vectorOf(label as Label);
    if (!vector) continue;
    const d = distanceBetween(target.record.space, query, vector);
    distances.set(label, d);
    vectorScores.set(label, scoreOf(target.record.space, d));
  }
  const keywordScores: Scores = new Map(keyword.filter((h) => distances.has(h.label)).map((h) => [h.label, h.score]));
  // Each candidate's parts, in the order they add up: fusion, mention, neighbour.
  const parts = new Map<number, Explain>();
  const part = (label: number, name: string, value: number, weight: number): void => {
    if (!request.explain) return;
    const explain = parts.get(label) ?? {};
    explain[name] = { value, weight };
    parts.set(label, explain);
  };
  let scores: Scores;
  if (options.fusion === 'rrf') {
    // RRF sums are tiny (1/60 and less): rescale them to [0, 1] so that mentionBoost and neighborWeight weigh
    // the same with either fusion.
    scores = minMax(reciprocalRankFusion([vectorScores, keywordScores], options.rrfK));
    for (const [label, value] of scores) part(label, 'rrf', value, 1);
  } else {
    const v = minMax(vectorScores);
    const kw = minMax(keywordScores);
    scores = weightedFusion(v, kw, options.vectorWeight, false);
    for (const label of scores.keys()) {
      part(label, 'vector', v.get(label) ?? 0, options.vectorWeight);
      part(label, 'keyword', kw.get(label) ?? 0, 1 - options.vectorWeight);
    }
  }
  if (mentions.length > 0 || request.explain) {
    const boosted: Scores = new Map();
    for (const [label, score] of scores) {
      let share = 0;
      if (mentions.length > 0) {
        const tags = tagsOf(targets[owner.get(label)!]!, label as Label, paths, options);
        share = mentions.filter((m) => tags.has(m)).length / mentions.length;
      }
      part(label, 'mention', share, options.mentionBoost);
      boosted.set(label, score + options.mentionBoost * share);
    }
    scores = boosted;
  }
  const window = read.window;
  if (window) {
    for (const [label, score] of scores) {
      const at = targets[owner.get(label)!]!.resident.table.eventTimeOf(label as Label);
      const value = at === undefined ? 0 : windowValue(window, at);
      part(label, 'time', value, options.timeWeight);
      scores.set(label, score + options.timeWeight * value);
    }
  }
  const best = bestNeighbor(scores, adjacent);
  scores = new Map([...scores].map(([label, score]) => [label, score + options.neighborWeight * (best.get(label) ?? 0)]));
  for (const label of scores.keys()) part(label, 'neighbor', best.get(label) ?? 0, options.neighborWeight);
  return [...scores].map(([label, score]) => ({
    target: targets[owner.get(label)!]!,
    label: label as Label,
    score,
    distance: distances.get(label)!,
    ...(request.explain && { explain: parts.get(label)! }),
  }));
}

/** MMR over ranked candidates with vectors (from the tables); relevance is the score normalized over them. */
function diversify<T extends Ranked>(ranked: T[], k: number, lambda: number): T[] {
  const relevance = minMax(new Map(ranked.map((r, i) => [i, r.score])));
  const vectorOf = (i: number) => ranked[i]!.target.resident.table.vectorOf(ranked[i]!.label)!;
  const similarity = (a: number, b: number): number => 1 - distanceBetween('cosine', vectorOf(a), vectorOf(b));
  const order = mmr(
    ranked.map((_, i) => ({ key: i, relevance: relevance.get(i)! })),
    similarity,
    k,
    lambda,
  );
  return order.map((i) => ranked[i]!);
}

/** The memories of candidates, read from the store one namespace and batch at a time. */
async function readMemories(store: Store, found: { target: SearchTarget; label: Label }[], fields: MemoryFields): Promise<Map<number, MemoryRecord>> {
  const byNamespace = new Map<number, Label[]>();
  for (const f of found) {
    const labels = byNamespace.get(f.target.record.id);
    if (labels) labels.push(f.label);
    else byNamespace.set(f.target.record.id, [f.label]);
  }
  const out = new Map<number, MemoryRecord>();
  for (const [namespaceId, labels] of byNamespace) {
    const unique = [...new Set(labels)];
    for (let i = 0; i < unique.length; i += READ_BATCH) {
      for (const memory of await store.memories.byLabels(namespaceId, unique.slice(i, i + READ_BATCH), fields)) out.set(memory.label, memory);
    }
  }
  return out;
}
