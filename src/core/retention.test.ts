import { describe, expect, it } from 'vitest';
import { initialStrength, memoryRetention, recall, retention, secondsUntil } from './retention.js';

const DAY = 86_400;
const t0 = Date.UTC(2026, 0, 1);
const days = (n: number) => t0 + n * DAY * 1000;

describe('retention', () => {
  it('follows R = exp(−Δt / (S·τ))', () => {
    const fresh = { strength: 1, lastTouchedAt: t0 };
    expect(retention(fresh, t0, DAY)).toBe(1);
    expect(retention(fresh, days(1), DAY)).toBeCloseTo(Math.exp(-1), 12);
    expect(retention({ strength: 3, lastTouchedAt: t0 }, days(6), DAY)).toBeCloseTo(Math.exp(-2), 12);
    expect(retention(fresh, days(-1), DAY)).toBe(1); // a clock that went back does not raise retention
  });

  it('makes strong memories fade slower, not faster', () => {
    expect(retention({ strength: 5, lastTouchedAt: t0 }, days(3), DAY)).toBeGreaterThan(retention({ strength: 1, lastTouchedAt: t0 }, days(3), DAY));
  });

  it('adds one unit of strength per recall and resets the clock', () => {
    const state = recall({ strength: 1, recallCount: 0, lastTouchedAt: t0 }, days(2));
    expect(state).toEqual({ strength: 2, recallCount: 1, lastTouchedAt: days(2) });
    expect(retention(state, days(2), DAY)).toBe(1);
    expect(retention(state, days(4), DAY)).toBeCloseTo(Math.exp(-1), 12);
  });

  it('starts stronger with importance, clamped to [0, 1]', () => {
    expect(initialStrength()).toBe(1);
    expect(initialStrength(0.5)).toBe(3);
    expect(initialStrength(1)).toBe(5);
    expect(initialStrength(7)).toBe(5);
    expect(initialStrength(-1)).toBe(1);
  });

  it('says when retention crosses a threshold', () => {
    const seconds = secondsUntil(0.05, 2, DAY);
    expect(retention({ strength: 2, lastTouchedAt: t0 }, t0 + seconds * 1000, DAY)).toBeCloseTo(0.05, 10);
  });

  it("runs a stored memory's clock from its last recall, or from its write when never recalled", () => {
    const day = 86_400_000;
    expect(memoryRetention({ strength: 2, lastRecalledAt: null, createdAt: 0 }, day, 86_400)).toBe(Math.exp(-1 / 2));
    expect(memoryRetention({ strength: 2, lastRecalledAt: day, createdAt: 0 }, day, 86_400)).toBe(1);
  });
});
