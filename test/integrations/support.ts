/** Helpers shared by the integration tests: comparing rankings with ties, and watching what a client sends. */
import { expect } from 'vitest';

const TIE = 1e-4;

/**
 * Same results in the same order, scores within 1e-4. Results whose scores tie (within 1e-4 of a neighbour)
 * have no defined order in either implementation, so within a run of ties they are compared as a set.
 */
export function sameRanking<T extends { id?: string | undefined; score?: number | undefined }>(actual: T[], expected: T[]): void {
  expect(actual.map((r) => r.id).length, 'number of results').toBe(expected.length);
  const runs = (rows: T[]): T[][] => {
    const out: T[][] = [];
    for (const row of rows) {
      const last = out.at(-1);
      if (last && Math.abs((last.at(-1)!.score ?? 0) - (row.score ?? 0)) < TIE) last.push(row);
      else out.push([row]);
    }
    return out;
  };
  const canonical = (rows: T[]) =>
    runs(rows).map((run) => [...run].sort((a, b) => String(a.id).localeCompare(String(b.id))).map(({ score: _score, ...rest }) => rest));
  actual.forEach((row, i) => expect(Math.abs((row.score ?? 0) - (expected[i]!.score ?? 0)), `score at ${i}`).toBeLessThan(TIE));
  expect(canonical(actual)).toEqual(canonical(expected));
}

/** A fetch that records every request's method, path and JSON body before passing it on. */
export function recordingFetch() {
  const seen: { method: string; path: string; body: any }[] = [];
  const recording: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    seen.push({ method: init?.method ?? 'GET', path: url.pathname, body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined });
    return fetch(input, init);
  };
  return {
    fetch: recording,
    seen,
    /** Bodies of the requests with this method whose path ends with `suffix`. */
    bodies: (method: string, suffix: string) => seen.filter((r) => r.method === method && r.path.endsWith(suffix)).map((r) => r.body),
  };
}
