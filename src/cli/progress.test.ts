import { describe, expect, it } from 'vitest';
import { formatDuration, formatProgress } from './progress.js';

describe('progress line', () => {
  it('shows items, rate and ETA', () => {
    const line = formatProgress({ done: 50, total: 200, elapsedMs: 10_000, width: 8 });
    expect(line).toBe('██░░░░░░ 50/200 items  5.0/s  ETA 30s');
  });

  it('handles the start, the end and long waits', () => {
    expect(formatProgress({ done: 0, total: 10, elapsedMs: 0, width: 4 })).toBe('░░░░ 0/10 items  0.0/s  ETA ?');
    expect(formatProgress({ done: 10, total: 10, elapsedMs: 2000, width: 4 })).toBe('████ 10/10 items  5.0/s  ETA 0s');
    expect(formatDuration(3725)).toBe('1h02m');
    expect(formatDuration(125)).toBe('2m05s');
  });
});
