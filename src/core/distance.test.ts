import { describe, expect, it } from 'vitest';
import { checkVector, distance, exactSearch, scoreOf } from './distance.js';
import { asLabel } from './types.js';

const v = (...xs: number[]) => Float32Array.from(xs);

describe('distance', () => {
  it('computes each space as documented', () => {
    expect(distance('cosine', v(1, 0), v(0, 1))).toBeCloseTo(1);
    expect(distance('cosine', v(1, 1), v(2, 2))).toBeCloseTo(0);
    expect(distance('l2', v(0, 0), v(3, 4))).toBeCloseTo(5);
    expect(distance('ip', v(1, 2), v(3, 4))).toBeCloseTo(1 - 11);
  });

  it('maps distances to higher-is-better scores', () => {
    expect(scoreOf('cosine', 0.25)).toBeCloseTo(0.75);
    expect(scoreOf('ip', -10)).toBeCloseTo(11);
    expect(scoreOf('l2', 1)).toBeCloseTo(0.5);
    expect(scoreOf('l2', 0)).toBe(1);
  });
});

describe('checkVector', () => {
  it('rejects wrong sizes, non-finite values, float32 overflow and zero cosine vectors', () => {
    expect(checkVector('l2', 3, [1, 2])).toMatchObject({ ok: false, code: 'DIMENSION_MISMATCH' });
    expect(checkVector('l2', 2, [1, Number.NaN])).toMatchObject({ ok: false, code: 'INVALID_VECTOR' });
    expect(checkVector('l2', 2, [1, 1e39])).toMatchObject({ ok: false, code: 'INVALID_VECTOR' });
    expect(checkVector('cosine', 2, [0, 0])).toMatchObject({ ok: false, code: 'INVALID_VECTOR' });
    expect(checkVector('l2', 2, [0, 0])).toMatchObject({ ok: true });
  });
});

describe('checkVector and float32 range', () => {
  it('rejects lengths whose distances overflow float32, and cosine vectors too short to normalize', () => {
    for (const space of ['l2', 'ip', 'cosine'] as const) {
      expect(checkVector(space, 2, [3e38, 3e38]), space).toMatchObject({ ok: false, code: 'INVALID_VECTOR' });
      expect(checkVector(space, 2, [1e18, 0]), space).toMatchObject({ ok: true });
    }
    expect(checkVector('cosine', 2, [1e-40, 0])).toMatchObject({ ok: false, code: 'INVALID_VECTOR' });
    expect(checkVector('l2', 2, [1e-40, 0])).toMatchObject({ ok: true });
  });

  it('keeps every distance between accepted vectors finite in float32', () => {
    const f32 = (x: number) => Math.fround(x);
    const big = v(7e17, -7e17);
    const other = v(-7e17, 7e17);
    let squared = 0;
    for (let i = 0; i < 2; i++) squared = f32(squared + f32(f32(big[i]! - other[i]!) ** 2));
    expect(Number.isFinite(squared)).toBe(true);
    expect(Number.isFinite(distance('l2', big, other))).toBe(true);
    expect(Number.isFinite(distance('ip', big, other))).toBe(true);
  });
});

describe('exactSearch', () => {
  it('returns the k nearest, best first', () => {
    const candidates = [v(0, 0), v(5, 5), v(1, 1), v(2, 2), v(-1, 0)].map((vector, i) => ({ label: asLabel(i), vector }));
    const result = exactSearch('l2', v(0, 0), candidates, 3);
    expect(result.map((n) => n.label)).toEqual([0, 4, 2]);
    expect(result[1]!.distance).toBeCloseTo(1);
    expect(exactSearch('l2', v(0, 0), candidates, 10)).toHaveLength(5);
    expect(exactSearch('l2', v(0, 0), candidates, 0)).toEqual([]);
  });
});
