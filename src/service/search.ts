/**
 * Retrieval over one or several loaded namespaces: vector (graph or exact), keyword (BM25) and hybrid search,
 * then the query's re-ranking (recency, retention, MMR, score threshold) and neighbour expansion. Ranking reads
 * only the namespaces' in-memory tables; the store is read once at the end, for the fields of the results.
 *
 * Hybrid search, whose defaults were tuned on the LoCoMo development split:
 *  1. the query's topical words; those that are words of some memory's tags (the values of `tagFields`, such
 *     as a speaker) are "mentions" and leave the keyword query, since they say whose memory is wanted rather
 *     than what it says;
 *  2. candidates: the top `candidates` by BM25 and by vector, and the memories adjacent to them;
 *  3. each candidate's vector similarity is computed exactly; fusion of the normalized vector and keyword
 *     scores (or RRF), plus `mentionBoost` for memories tagged with what the query names, plus
 *     `neighborWeight` times the best adjacent memory's score.
 */
import type { HybridOptions } from '../api/schemas.js';
import { distance as distanceBetween, scoreOf } from '../core/distance.js';
import { bestNeighbor, minMax, mmr, reciprocalRankFusion, recencyBonus, type Scores, weightedFusion } from '../core/fusion.js';
import { queryTerms, stem, words } from '../core/keywords.js';
import type { Scope } from '../core/scope.js';
import { mergeStats, type SlotSet } from '../core/table/index.js';
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
function keywordHits(targets: SearchTarget[], scopes: (SlotSet | undefined)[], stems: string[], limit: number, now: number | undefined) {
  if (stems.length === 0) return [];
  const stats = mergeStats(targets.map((t) => t.resident.table.keywordStats(stems)));
  return targets.flatMap((target, i) =>
    target.resident.table.keywordSearch(stems, limit, stats, scopes[i], now).map((h) => ({ target, label: h.label, score: h.score })),
  );
}

function hybrid(targets: SearchTarget[], scopes: (SlotSet | undefined)[], request: SearchRequest, candidates: number): Ranked[] {
  const options = request.hybrid;
  const query = request.vector!;
  const now = request.scope.visibleAt;
  const paths = tagPaths(options);

  const terms = queryTerms(request.text!);
  const tagged = new Set<string>();
  if (options.mentionBoost > 0) for (const t of targets) for (const w of t.resident.table.tagWords(paths)) tagged.add(w);
  const mentions = terms.filter((t) => tagged.has(t));
  const topical = terms.filter((t) => !tagged.has(t));
  const keyword = keywordHits(targets, scopes, stemsOf(topical.length > 0 ? topical : terms), candidates, now);

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
        const table = targets[owner.get(label)!]!.resident.table;
        const tags = new Set<string>();
        for (const path of paths) {
          const value = table.fieldValue(label as Label, path);
          if (typeof value === 'string') for (const w of words(value)) tags.add(w);
        }
        share = mentions.filter((m) => tags.has(m)).length / mentions.length;
      }
      part(label, 'mention', share, options.mentionBoost);
      boosted.set(label, score + options.mentionBoost * share);
    }
    scores = boosted;
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
