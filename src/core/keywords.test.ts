import { describe, expect, it } from 'vitest';
import { anyTermQuery, queryTerms, tagWords, words } from './keywords.js';

describe('keywords', () => {
  it('splits words as FTS5 unicode61 does, lower-cased and NFKC-folded', () => {
    expect(words("What's Caroline's ＦＵＬＬ name? 42-year-old Zoë")).toEqual(['what', 's', 'caroline', 's', 'full', 'name', '42', 'year', 'old', 'zoë']);
  });

  it('keeps the topical words of a question, once each, and all words when nothing else is left', () => {
    expect(queryTerms('When did Melanie paint a sunrise? When?')).toEqual(['melanie', 'paint', 'sunrise']);
    expect(queryTerms('who are you')).toEqual(['who', 'are', 'you']);
  });

  it('quotes every term, so that no FTS5 syntax can come from a query', () => {
    expect(anyTermQuery(['a"b', 'NEAR', 'x'], ['text', 'tags'])).toBe('{text tags} : ("a""b" OR "NEAR" OR "x")');
  });

  it('takes tag words from short metadata strings at any depth, not from long ones', () => {
    const tags = tagWords({ speaker: 'Ann Lee', n: 3, deep: { list: ['Oslo', 7] }, note: 'x'.repeat(65) });
    expect([...tags].sort()).toEqual(['ann', 'lee', 'oslo']);
  });
});
