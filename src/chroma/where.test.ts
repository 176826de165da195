import { describe, expect, it } from 'vitest';
import { matchesFilter } from '../core/filter.js';
import { matchesText } from '../core/text-filter.js';
import { f32 } from './views.js';
import { parseWhere, parseWhereDocument } from './where.js';

describe("Chroma's where", () => {
  it('reads fields as flat keys and folds empty $and/$or as Chroma does', () => {
    expect(parseWhere({ 'a.b': 1 })).toEqual({ kind: 'compare', path: ['a.b'], op: '$eq', value: 1 });
    expect(parseWhere(null)).toBe(true);
    expect(parseWhere({ $and: [] })).toBe(true);
    expect(parseWhere({ $or: [] })).toBe(false);
    expect(parseWhere({ $and: [{ k: 1 }, { $or: [] }] })).toBe(false);
    expect(parseWhere({ $or: [{ k: 1 }, { $and: [] }] })).toBe(true);
    const node = parseWhere({ $and: [{ k: { $gte: 2 } }, { c: { $in: ['x', 'y'] } }] });
    expect(typeof node === 'object' && matchesFilter(node, { k: 3, c: 'y' })).toBe(true);
    expect(typeof node === 'object' && matchesFilter(node, { k: 1, c: 'y' })).toBe(false);
  });

  it.each([
    [{ a: 1, b: 2 }],
    [{ a: { $gt: 'x' } }],
    [{ a: { $in: [] } }],
    [{ a: { $in: [1, 'x'] } }],
    [{ a: { $eq: 1, $ne: 2 } }],
    [{ a: null }],
    [{ a: [1] }],
    [{ $not: [{ a: 1 }] }],
    [{}],
    ['a'],
  ])('refuses %j with Chroma\'s 400', (where) => {
    expect(() => parseWhere(where)).toThrow(expect.objectContaining({ message: expect.stringContaining('Invalid where clause'), details: { chroma: { status: 400, name: 'InvalidArgumentError' } } }));
  });
});

describe("Chroma's where_document", () => {
  it("becomes membank's text filter, with Chroma's folding of empty lists", () => {
    expect(parseWhereDocument({ $or: [{ $contains: 'a' }, { $regex: 'b+' }] })).toMatchObject({
      kind: 'or',
      children: [{ kind: 'contains', text: 'a', negate: false }, { kind: 'regex', source: 'b+', negate: false }],
    });
    expect(parseWhereDocument({ $and: [] })).toBe(true);
    expect(parseWhereDocument({ $or: [] })).toBe(false);
    expect(parseWhereDocument({ $and: [{ $contains: 'x' }, { $or: [] }] })).toBe(false);
    expect(parseWhereDocument({ $contains: '' })).toEqual({ kind: 'contains', text: '', negate: false });
  });

  it('matches substrings and RE2 patterns; a record without document matches only negations', () => {
    const contains = parseWhereDocument({ $contains: 'cat' });
    const regex = parseWhereDocument({ $regex: '(?i)^the' });
    const not = parseWhereDocument({ $not_regex: 'x' });
    expect(typeof contains === 'object' && matchesText(contains, 'a cat')).toBe(true);
    expect(typeof contains === 'object' && matchesText(contains, 'a Cat')).toBe(false);
    expect(typeof contains === 'object' && matchesText(contains, null)).toBe(false);
    expect(typeof regex === 'object' && matchesText(regex, 'The end')).toBe(true);
    expect(typeof not === 'object' && matchesText(not, null)).toBe(true);
    expect(() => parseWhereDocument({ $regex: '(' })).toThrow(/Regex syntax/);
    expect(() => parseWhereDocument({ $regex: '(?=a)' })).toThrow(/Regex syntax/);
    expect(() => parseWhereDocument({ $contains: 'a', $not_contains: 'b' })).toThrow(/Invalid where document clause/);
  });
});

describe('float32 numbers as Chroma writes them', () => {
  it('uses the shortest decimal that reads back as the same float32', () => {
    expect(f32(Math.fround(0.1))).toBe(0.1);
    expect(f32(Math.fround(0.29999998))).toBe(0.29999998);
    expect(f32(Math.fround(-1.25))).toBe(-1.25);
    expect(f32(3)).toBe(3);
    for (const x of [Math.PI, 1e-7, 123456.789, -0.000123]) expect(Math.fround(f32(x))).toBe(Math.fround(x));
  });
});
