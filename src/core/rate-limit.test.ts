import { describe, expect, it } from 'vitest';
import { createRateLimiter } from './rate-limit.js';

describe('rate limiter', () => {
  it('allows a burst of `rate`, then one request per 1/rate seconds, per client', () => {
    const limiter = createRateLimiter(5);
    for (let i = 0; i < 5; i++) expect(limiter.take('a', 0)).toBe(0);
    expect(limiter.take('a', 0)).toBeCloseTo(0.2);
    expect(limiter.take('b', 0)).toBe(0); // another client has its own bucket
    expect(limiter.take('a', 100)).toBeCloseTo(0.1);
    expect(limiter.take('a', 200)).toBe(0);
    expect(limiter.take('a', 10_000)).toBe(0);
    for (let i = 0; i < 4; i++) expect(limiter.take('a', 10_000)).toBe(0);
    expect(limiter.take('a', 10_000)).toBeGreaterThan(0);
  });
});
