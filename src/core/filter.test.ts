import { describe, expect, it } from 'vitest';
import { type FilterNode, matchesFilter, parseFilter } from './filter.js';

const parse = (input: unknown): FilterNode => {
  const result = parseFilter(input);
  if (!result.ok) throw new Error(result.message);
  return result.value;
};

describe('parseFilter', () => {
  it('parses equality, operators and logic', () => {
    expect(parse({ a: 1 })).toEqual({ kind: 'compare', path: ['a'], op: '$eq', value: 1 });
    expect(parse({ 'user.id': { $in: ['x', 'y'] } })).toEqual({ kind: 'list', path: ['user', 'id'], op: '$in', values: ['x', 'y'] });
    expect(parse({ a: 1, b: true })).toMatchObject({ kind: 'and' });
    expect(parse({ $or: [{ a: 1 }, { b: { $gt: 2 } }] })).toMatchObject({ kind: 'or' });
  });

  it.each([
    [null, 'expected an object'],
    [{}, 'empty filter'],
    [{ a: { $gt: 'x' } }, 'finite number'],
    [{ a: { $regex: '.*' } }, 'unknown operator'],
    [{ $not: [] }, 'unknown operator'],
    [{ a: { $eq: 1, $ne: 2 } }, 'exactly one operator'],
    [{ a: { $in: [] } }, 'array of 1'],
    [{ a: null }, 'expected a string'],
    [{ "a'); DROP TABLE memories; --": 1 }, 'field names'],
    [{ $and: {} }, 'non-empty array'],
  ])('rejects %j', (input, message) => {
    const result = parseFilter(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toContain(message);
  });

  it('limits nesting depth', () => {
    let deep: unknown = { a: 1 };
    for (let i = 0; i < 20; i++) deep = { $and: [deep] };
    expect(parseFilter(deep)).toMatchObject({ ok: false });
  });
});

describe('matchesFilter', () => {
  const meta = { speaker: 'Ann', n: 5, pinned: true, user: { id: 'u1' } };
  it.each([
    [{ speaker: 'Ann' }, true],
    [{ speaker: 'ann' }, false],
    [{ n: '5' }, false],
    [{ n: 5 }, true],
    [{ n: { $gte: 5 } }, true],
    [{ n: { $gt: 5 } }, false],
    [{ speaker: { $gt: 1 } }, false],
    [{ pinned: true }, true],
    [{ pinned: 1 }, false],
    [{ missing: { $ne: 'x' } }, true],
    [{ missing: { $nin: ['x'] } }, true],
    [{ missing: { $eq: 'x' } }, false],
    [{ 'user.id': 'u1' }, true],
    [{ $or: [{ speaker: 'Bob' }, { n: { $lt: 6 } }] }, true],
    [{ $and: [{ speaker: 'Ann' }, { n: { $lt: 5 } }] }, false],
  ])('%j → %s', (where, expected) => {
    expect(matchesFilter(parse(where), meta)).toBe(expected);
  });
});
