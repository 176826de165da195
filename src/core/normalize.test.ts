import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cosineSimilarity, normalizeText } from './normalize.js';

const text = fc.string({ unit: 'grapheme', maxLength: 40 });
const anyText = fc.oneof(text, fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ maxLength: 40 }));
const whitespace = fc.constantFrom(' ', '\t', '\n', '\r\n', '\u00a0', '\u2003', '\u3000', '\u2028');

/** Asserts inside a property; a property that returns nothing passes. */
const same = (a: string, b: string): void => {
  expect(a).toBe(b);
};

describe('normalizeText', () => {
  it('is idempotent', () => {
    fc.assert(
      fc.property(anyText, (s) => same(normalizeText(normalizeText(s)), normalizeText(s))),
      { numRuns: 2000 },
    );
    // Found by the property above: a one-way fold (upper then lower) took ẞ to ß, and ß then to "ss".
    expect(normalizeText('ẞ')).toBe('ss');
    expect(normalizeText('Straße')).toBe(normalizeText('STRASSE'));
  });

  it('ignores case', () => {
    fc.assert(
      fc.property(text, (s) => same(normalizeText(s.toUpperCase()), normalizeText(s.toLowerCase()))),
      { numRuns: 1000 },
    );
  });

  it('ignores runs of whitespace of any kind, and leading or trailing whitespace', () => {
    const words = fc.array(fc.stringMatching(/^[\p{L}\p{N}]{1,8}$/u), { minLength: 1, maxLength: 6 });
    const gaps = fc.array(fc.array(whitespace, { minLength: 1, maxLength: 3 }), { minLength: 7, maxLength: 7 });
    fc.assert(
      fc.property(words, gaps, (ws, g) => {
        const spaced = g[0]!.join('') + ws.map((w, i) => w + g[i + 1]!.join('')).join('');
        same(normalizeText(spaced), normalizeText(ws.join(' ')));
      }),
    );
  });

  it('equates canonically and compatibly equivalent texts', () => {
    fc.assert(
      fc.property(anyText, (s) => same(normalizeText(s.normalize('NFD')), normalizeText(s.normalize('NFKC')))),
      { numRuns: 1000 },
    );
    expect(normalizeText('ﬁne Ｃａｆé')).toBe(normalizeText('FINE cafe\u0301'));
    expect(normalizeText('Straße')).toBe(normalizeText('STRASSE'));
  });

  it('keeps texts that differ in letters apart', () => {
    expect(normalizeText('Ann likes tea')).not.toBe(normalizeText('Ann likes tee'));
    expect(normalizeText('a b')).not.toBe(normalizeText('ab'));
  });
});

describe('cosineSimilarity', () => {
  it('is 1 for parallel vectors and 0 for orthogonal or zero ones', () => {
    expect(cosineSimilarity(new Float32Array([1, 2]), new Float32Array([2, 4]))).toBeCloseTo(1, 6);
    expect(cosineSimilarity(new Float32Array([1, 0]), new Float32Array([0, 3]))).toBe(0);
    expect(cosineSimilarity(new Float32Array([0, 0]), new Float32Array([1, 1]))).toBe(0);
  });
});
