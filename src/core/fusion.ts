/**
 * Ranking arithmetic for hybrid retrieval, pure and separately tested: score normalization, weighted and
 * reciprocal-rank fusion, propagation of relevance to adjacent memories, recency, and MMR diversification.
 * Keys are opaque numbers (memory labels).
 */

export type Scores = Map<number, number>;

/** Min-max normalization to [0, 1]; one candidate, or all equal, normalize to 1. */
export function minMax(scores: Scores): Scores {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of scores.values()) {
    if (s < lo) lo = s;
    if (s > hi) hi = s;
  }
  const out: Scores = new Map();
  for (const [key, s] of scores) out.set(key, hi > lo ? (s - lo) / (hi - lo) : 1);
  return out;
}

/**
 * Weighted fusion of normalized scores: `weight` on the vector scores, `1 − weight` on the keyword scores,
 * each min-max normalized over its own candidates; a candidate missing from one list scores 0 there.
 */
export function weightedFusion(vector: Scores, keyword: Scores, weight: number, normalize = true): Scores {
  const v = normalize ? minMax(vector) : vector;
  const k = normalize ? minMax(keyword) : keyword;
  const out: Scores = new Map();
  for (const key of new Set([...v.keys(), ...k.keys()])) {
    out.set(key, weight * (v.get(key) ?? 0) + (1 - weight) * (k.get(key) ?? 0));
  }
  return out;
}

/** Reciprocal rank fusion (Cormack et al. 2009): Σ 1 / (k + rank), ranks from 1, over the lists. */
export function reciprocalRankFusion(lists: Scores[], k = 60): Scores {
  const out: Scores = new Map();
  for (const list of lists) {
    const ranked = [...list].sort((a, b) => b[1] - a[1]);
    ranked.forEach(([key], i) => out.set(key, (out.get(key) ?? 0) + 1 / (k + i + 1)));
  }
  return out;
}

/**
 * Adds to each memory `weight` times the best score of its adjacent memories (the turn before and after it in
 * a conversation, the chunk before and after it in a document): an answer often sits next to the turn that
 * matches the question's words ("What did you research?" — "Adoption agencies.").
 */
export function propagateToNeighbors(scores: Scores, adjacent: Map<number, number[]>, weight: number): Scores {
  if (weight === 0) return scores;
  const best = bestNeighbor(scores, adjacent);
  const out: Scores = new Map();
  for (const [key, s] of scores) out.set(key, s + weight * best.get(key)!);
  return out;
}

/** Each key's best adjacent score (0 without neighbours): what `propagateToNeighbors` adds, before its weight. */
export function bestNeighbor(scores: Scores, adjacent: Map<number, number[]>): Scores {
  const out: Scores = new Map();
  for (const key of scores.keys()) {
    let best = 0;
    for (const other of adjacent.get(key) ?? []) best = Math.max(best, scores.get(other) ?? 0);
    out.set(key, best);
  }
  return out;
}

/** `weight · 2^(−age / halfLife)`: a bonus that halves every `halfLife` of age. */
export function recencyBonus(ageMs: number, halfLifeMs: number, weight: number): number {
  return weight * 2 ** (-Math.max(0, ageMs) / halfLifeMs);
}

/**
 * Maximal marginal relevance (Carbonell & Goldstein 1998): picks `k` of the candidates one at a time,
 * maximizing `λ · relevance − (1 − λ) · max similarity to those already picked`. `relevance` should be in
 * [0, 1] (normalize first); `similarity(a, b)` in [−1, 1] (cosine).
 */
export function mmr(
  candidates: { key: number; relevance: number }[],
  similarity: (a: number, b: number) => number,
  k: number,
  lambda: number,
): number[] {
  const picked: number[] = [];
  const maxSim = new Map<number, number>(candidates.map((c) => [c.key, -Infinity]));
  const left = [...candidates];
  while (picked.length < k && left.length > 0) {
    let bestIndex = 0;
    let bestValue = -Infinity;
    left.forEach((c, i) => {
      const redundancy = picked.length === 0 ? 0 : maxSim.get(c.key)!;
      const value = lambda * c.relevance - (1 - lambda) * redundancy;
      if (value > bestValue) {
        bestValue = value;
        bestIndex = i;
      }
    });
    const [chosen] = left.splice(bestIndex, 1);
    picked.push(chosen!.key);
    for (const c of left) maxSim.set(c.key, Math.max(maxSim.get(c.key)!, similarity(c.key, chosen!.key)));
  }
  return picked;
}
