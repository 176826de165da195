/**
 * Retrieval over one or several namespaces: vector (HNSW or exact), keyword (BM25 in SQLite FTS5) and hybrid
 * search, then the query's re-ranking (recency, MMR, score threshold) and neighbour expansion.
 *
 * Hybrid search, whose defaults were tuned on the LoCoMo development split:
 *  1. the query's topical words; those that name a tag of some memory (a speaker, a user) are "mentions" and
 *     leave the keyword query, since they say whose memory is wanted rather than what it says;
 *  2. candidates: the top `candidates` by BM25 and by vector, and the memories adjacent to them;
 *  3. each candidate's vector similarity is computed exactly; fusion of the normalized vector and keyword
 *     scores (or RRF), plus `mentionBoost` for memories tagged with what the query names, plus
 *     `neighborWeight` times the best adjacent memory's score.
 */
import type { HybridOptions } from '../api/schemas.js';
import { distance as distanceBetween, scoreOf } from '../core/distance.js';
import { minMax, mmr, propagateToNeighbors, reciprocalRankFusion, recencyBonus, type Scores, weightedFusion } from '../core/fusion.js';
import { queryTerms, tagWords } from '../core/keywords.js';
import { inScope, type Scope } from '../core/scope.js';
import type { Label, MemoryRecord, NamespaceRecord, Neighbor } from '../core/types.js';
import type { MemoryFields, Store } from '../ports/store.js';

export type SearchMode = 'vector' | 'keyword' | 'hybrid';

export interface SearchTarget {
  record: NamespaceRecord;
  /** The nearest memories in scope by vector: the namespace's index, or exact search over a small scope. */
  nearest(vector: Float32Array, k: number, scope: Scope): Promise<Neighbor[]>;
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
}

export interface SearchHit {
  namespace: NamespaceRecord;
  memory: MemoryRecord;
  score: number;
  /** Distance to the query vector in the namespace's space; null in keyword mode. */
  distance: number | null;
  /** With `expand`: the adjacent memories, in order, the hit itself left out. */
  neighbors?: MemoryRecord[];
}

interface Candidate {
  namespace: NamespaceRecord;
  memory: MemoryRecord;
  distance: number | null;
}

/** Memories read per statement (the store's limit). */
const READ_BATCH = 1000;

export async function search(store: Store, targets: SearchTarget[], request: SearchRequest): Promise<SearchHit[]> {
  const { k, mode } = request;
  // How many ranked candidates the re-ranking steps look at.
  const reranked = request.recency !== undefined || request.retentionWeight !== undefined;
  const pool = request.mmr ? Math.max(k, request.mmr.fetchK ?? Math.max(3 * k, 20)) : reranked ? Math.max(3 * k, 20) : k;
  const fields: MemoryFields = {
    text: request.fields.text,
    metadata: request.fields.metadata || mode === 'hybrid',
    vector: request.fields.vector || request.mmr !== undefined || mode === 'hybrid',
  };
  const namespaces = new Map(targets.map((t) => [t.record.id, t.record]));

  let ranked: { candidate: Candidate; score: number }[];
  if (mode === 'hybrid') {
    ranked = await hybrid(store, targets, request, Math.max(pool, request.hybrid.candidates), fields);
  } else {
    const found: { namespaceId: number; label: Label; distance: number | null; score: number }[] = [];
    if (mode === 'vector') {
      for (const target of targets) {
        for (const n of await target.nearest(request.vector!, pool, request.scope)) {
          found.push({ namespaceId: target.record.id, label: n.label, distance: n.distance, score: scoreOf(target.record.space, n.distance) });
        }
      }
    } else {
      const hits = await store.keywordSearch([...namespaces.keys()], queryTerms(request.text!), pool, request.scope);
      for (const hit of hits) found.push({ ...hit, distance: null });
    }
    const memories = await readMemories(store, namespaces, found, fields);
    ranked = [];
    for (const f of found) {
      const memory = memories.get(f.label);
      if (memory) ranked.push({ candidate: { namespace: namespaces.get(f.namespaceId)!, memory, distance: f.distance }, score: f.score });
    }
  }

  if (request.recency) {
    const { weight, halfLife } = request.recency;
    for (const r of ranked) r.score += recencyBonus(request.now - r.candidate.memory.timestamp, halfLife * 1000, weight);
  }
  if (request.retentionWeight && request.retentionOf) {
    for (const r of ranked) r.score += request.retentionWeight * request.retentionOf(r.candidate.namespace, r.candidate.memory);
  }
  ranked.sort((a, b) => b.score - a.score || a.candidate.memory.label - b.candidate.memory.label);
  if (request.minScore !== undefined) ranked = ranked.filter((r) => r.score >= request.minScore!);
  if (request.mmr) ranked = diversify(ranked.slice(0, pool), k, request.mmr.lambda);

  const hits: SearchHit[] = ranked.slice(0, k).map(({ candidate, score }) => ({ ...candidate, score }));
  if (request.expand) {
    for (const hit of hits) {
      const around = await store.adjacentMemories(hit.namespace.id, hit.memory, request.expand.before, request.expand.after);
      hit.neighbors = [...around.before, ...around.after].filter((m) => inScope(request.scope, m));
    }
  }
  return hits;
}

async function hybrid(
  store: Store,
  targets: SearchTarget[],
  request: SearchRequest,
  candidates: number,
  fields: MemoryFields,
): Promise<{ candidate: Candidate; score: number }[]> {
  const options = request.hybrid;
  const query = request.vector!;
  const namespaces = new Map(targets.map((t) => [t.record.id, t.record]));
  const ids = [...namespaces.keys()];

  const terms = queryTerms(request.text!);
  const mentions = options.mentionBoost > 0 ? await store.taggedTerms(ids, terms) : [];
  const topical = terms.filter((t) => !mentions.includes(t));
  const keywordHits = await store.keywordSearch(ids, topical.length > 0 ? topical : terms, candidates, request.scope);

  const found: { namespaceId: number; label: Label }[] = keywordHits.map((h) => ({ namespaceId: h.namespaceId, label: h.label }));
  for (const target of targets) {
    for (const n of await target.nearest(query, candidates, request.scope)) found.push({ namespaceId: target.record.id, label: n.label });
  }
  const memories = await readMemories(store, namespaces, found, fields);
  const owner = new Map(found.map((f) => [f.label as number, f.namespaceId]));

  // Adjacent memories join the candidates: the answer is often the turn after the one the words match.
  const adjacent = new Map<number, number[]>();
  const link = (from: number, to: number): void => {
    const list = adjacent.get(from);
    if (!list) adjacent.set(from, [to]);
    else if (!list.includes(to)) list.push(to);
  };
  if (options.neighborWeight > 0) {
    for (const memory of [...memories.values()]) {
      const namespaceId = owner.get(memory.label)!;
      const around = await store.adjacentMemories(namespaceId, memory, 1, 1);
      for (const other of [...around.before, ...around.after]) {
        if (!inScope(request.scope, other)) continue;
        if (!memories.has(other.label)) {
          memories.set(other.label, other);
          owner.set(other.label, namespaceId);
        }
        link(memory.label, other.label);
        link(other.label, memory.label);
      }
    }
  }

  const distances = new Map<number, number>();
  const vectorScores: Scores = new Map();
  for (const memory of [...memories.values()]) {
    // A re-embedding may have swapped the namespace's vectors since the query was embedded: skip, don't compare.
    if (memory.vector!.length !== query.length) {
      memories.delete(memory.label);
      continue;
    }
    const space = namespaces.get(owner.get(memory.label)!)!.space;
    const d = distanceBetween(space, query, memory.vector!);
    distances.set(memory.label, d);
    vectorScores.set(memory.label, scoreOf(space, d));
  }
  const keywordScores: Scores = new Map(keywordHits.filter((h) => memories.has(h.label)).map((h) => [h.label, h.score]));
  // RRF sums are tiny (1/60 and less): rescale them to [0, 1] so that mentionBoost and neighborWeight weigh
  // the same with either fusion.
  let scores =
    options.fusion === 'rrf'
      ? minMax(reciprocalRankFusion([vectorScores, keywordScores], options.rrfK))
      : weightedFusion(vectorScores, keywordScores, options.vectorWeight);
  if (mentions.length > 0) {
    const boosted: Scores = new Map();
    for (const [label, score] of scores) {
      const tags = tagWords(memories.get(label)!.metadata);
      const named = mentions.filter((m) => tags.has(m)).length;
      boosted.set(label, score + (options.mentionBoost * named) / mentions.length);
    }
    scores = boosted;
  }
  scores = propagateToNeighbors(scores, adjacent, options.neighborWeight);

  const strip = (memory: MemoryRecord): MemoryRecord => {
    const out = { ...memory };
    if (!request.fields.metadata) out.metadata = {};
    if (!request.fields.text) out.text = null;
    return out;
  };
  return [...scores].map(([label, score]) => {
    const memory = memories.get(label)!;
    return { candidate: { namespace: namespaces.get(owner.get(label)!)!, memory: strip(memory), distance: distances.get(label)! }, score };
  });
}

/** MMR over ranked candidates with vectors; relevance is the score normalized over them. */
function diversify(ranked: { candidate: Candidate; score: number }[], k: number, lambda: number) {
  const relevance = minMax(new Map(ranked.map((r, i) => [i, r.score])));
  const similarity = (a: number, b: number): number =>
    1 - distanceBetween('cosine', ranked[a]!.candidate.memory.vector!, ranked[b]!.candidate.memory.vector!);
  const order = mmr(
    ranked.map((_, i) => ({ key: i, relevance: relevance.get(i)! })),
    similarity,
    k,
    lambda,
  );
  return order.map((i) => ranked[i]!);
}

async function readMemories(
  store: Store,
  namespaces: Map<number, NamespaceRecord>,
  found: { namespaceId: number; label: Label }[],
  fields: MemoryFields,
): Promise<Map<number, MemoryRecord>> {
  const byNamespace = new Map<number, Label[]>();
  for (const f of found) {
    const labels = byNamespace.get(f.namespaceId);
    if (labels) labels.push(f.label);
    else byNamespace.set(f.namespaceId, [f.label]);
  }
  const out = new Map<number, MemoryRecord>();
  for (const [namespaceId, labels] of byNamespace) {
    if (!namespaces.has(namespaceId)) continue;
    const unique = [...new Set(labels)];
    for (let i = 0; i < unique.length; i += READ_BATCH) {
      for (const memory of await store.memoriesByLabels(namespaceId, unique.slice(i, i + READ_BATCH), fields)) out.set(memory.label, memory);
    }
  }
  return out;
}
