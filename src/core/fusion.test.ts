import { describe, expect, it } from 'vitest';
import { minMax, mmr, propagateToNeighbors, reciprocalRankFusion, recencyBonus, weightedFusion } from './fusion.js';

const scores = (entries: [number, number][]) => new Map(entries);

describe('fusion', () => {
  it('min-max normalizes to [0, 1], and a single or flat list to 1', () => {
    expect([...minMax(scores([[1, 2], [2, 4], [3, 3]])).values()]).toEqual([0, 1, 0.5]);
    expect([...minMax(scores([[1, 7]])).values()]).toEqual([1]);
    expect([...minMax(scores([[1, 5], [2, 5]])).values()]).toEqual([1, 1]);
  });

  it('weighted fusion mixes normalized scores; a candidate missing from a list scores 0 there', () => {
    const fused = weightedFusion(scores([[1, 0.9], [2, 0.5]]), scores([[2, 10], [3, 4]]), 0.25);
    expect(fused.get(1)).toBeCloseTo(0.25 * 1 + 0.75 * 0);
    expect(fused.get(2)).toBeCloseTo(0.25 * 0 + 0.75 * 1);
    expect(fused.get(3)).toBeCloseTo(0);
    expect(weightedFusion(scores([[1, 0.9], [2, 0.5]]), scores([[2, 10]]), 1).get(1)).toBe(1);
  });

  it('RRF sums 1 / (k + rank) over the lists', () => {
    const fused = reciprocalRankFusion([scores([[1, 0.9], [2, 0.5]]), scores([[2, 3], [3, 1]])], 60);
    expect(fused.get(1)).toBeCloseTo(1 / 61);
    expect(fused.get(2)).toBeCloseTo(1 / 62 + 1 / 61);
    expect(fused.get(3)).toBeCloseTo(1 / 62);
  });

  it('propagates the best adjacent score, weighted, and leaves isolated memories alone', () => {
    const out = propagateToNeighbors(scores([[1, 1], [2, 0.2], [3, 0.5], [4, 0.3]]), new Map([[2, [1, 3]], [3, [2]]]), 0.5);
    expect(out.get(1)).toBe(1);
    expect(out.get(2)).toBeCloseTo(0.2 + 0.5 * 1);
    expect(out.get(3)).toBeCloseTo(0.5 + 0.5 * 0.2);
    expect(out.get(4)).toBe(0.3);
  });

  it('recency halves every half-life', () => {
    expect(recencyBonus(0, 1000, 0.4)).toBeCloseTo(0.4);
    expect(recencyBonus(1000, 1000, 0.4)).toBeCloseTo(0.2);
    expect(recencyBonus(3000, 1000, 0.4)).toBeCloseTo(0.05);
    expect(recencyBonus(-5, 1000, 0.4)).toBeCloseTo(0.4); // a future event counts as now
  });

  it('MMR trades relevance for diversity as lambda falls', () => {
    // 1 and 2 are duplicates; 3 is less relevant but different.
    const sim = (a: number, b: number) => (a !== 3 && b !== 3 ? 1 : 0);
    const candidates = [
      { key: 1, relevance: 1 },
      { key: 2, relevance: 0.95 },
      { key: 3, relevance: 0.6 },
    ];
    expect(mmr(candidates, sim, 2, 1)).toEqual([1, 2]);
    expect(mmr(candidates, sim, 2, 0.5)).toEqual([1, 3]);
    expect(mmr(candidates, sim, 5, 0.5)).toEqual([1, 3, 2]);
  });
});
