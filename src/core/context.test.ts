import { describe, expect, it } from 'vitest';
import { buildContext, factLine, memoryLine } from './context.js';
import { asLabel, type FactRecord, type MemoryRecord } from './types.js';

const memory = (id: string, text: string, timestamp: number, metadata: MemoryRecord['metadata'] = {}): MemoryRecord => ({
  label: asLabel(timestamp),
  id,
  text,
  metadata,
  timestamp,
  createdAt: 0,
  updatedAt: 0,
  documentId: null,
  chunkIndex: null,
  importance: null,
  strength: 1,
  recallCount: 0,
  lastRecalledAt: null,
  expiresAt: null,
  pinned: false,
});

const fact = (subject: string, predicate: string, object: string): FactRecord => ({
  id: `${subject}-${predicate}-${object}`,
  subject,
  predicate,
  object,
  confidence: 1,
  source: null,
  validFrom: Date.UTC(2024, 0, 2),
  validTo: null,
  createdAt: 0,
  invalidatedAt: null,
  supersededBy: null,
  sightings: 1,
  lastSeenAt: 0,
  metadata: {},
});

// Words and punctuation marks as tokens: close enough to BPE for these tests, and exact to reason about.
const countTokens = (text: string): number => text.match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu)?.length ?? 0;

describe('context', () => {
  it('writes one line per memory with its time, speaker and source, and one per fact', () => {
    const m = memory('D1:3', 'I went to a support\n group  yesterday', Date.UTC(2023, 4, 8, 13, 56), { speaker: 'Caroline' });
    expect(memoryLine(m)).toBe('- [2023-05-08 13:56] Caroline: I went to a support group yesterday (source: D1:3)');
    expect(memoryLine({ ...m, metadata: { source: 'notes.md' } })).toBe('- [2023-05-08 13:56] I went to a support group yesterday (source: notes.md)');
    expect(memoryLine({ ...m, metadata: {}, documentId: 'book', chunkIndex: 4 })).toContain('(source: book#4)');
    expect(factLine(fact('Dan', 'lives_in', 'Oslo'))).toBe('- Dan lives in Oslo (since 2024-01-02)');
  });

  it('drops repeated memories, orders by time or by score, and puts facts first', () => {
    const hits = [
      { memory: memory('b', 'Second thing', 2000), score: 0.9 },
      { memory: memory('a', 'First thing', 1000), score: 0.8 },
      { memory: memory('c', '  second   THING ', 3000), score: 0.7 },
      { memory: memory('b', 'Second thing', 2000), score: 0.6 },
    ];
    const byTime = buildContext([fact('Dan', 'likes', 'tea')], hits, { maxTokens: 1000, order: 'time', countTokens });
    expect(byTime.memories.map((m) => m.memory.id)).toEqual(['a', 'b']);
    expect(byTime.text.split('\n')).toEqual([
      'Known facts:',
      '- Dan likes tea (since 2024-01-02)',
      'Relevant memories:',
      memoryLine(hits[1]!.memory),
      memoryLine(hits[0]!.memory),
    ]);
    const byScore = buildContext([], hits, { maxTokens: 1000, order: 'score', countTokens });
    expect(byScore.memories.map((m) => m.memory.id)).toEqual(['b', 'a']);
    expect(byScore.text.startsWith('Relevant memories:')).toBe(true);
  });

  it('never exceeds the budget, keeps the best that fit, and counts the final text', () => {
    const hits = Array.from({ length: 30 }, (_, i) => ({
      memory: memory(`m${i}`, `memory number ${i} ${'word '.repeat(i % 7)}`, 1000 + i),
      score: 1 - i / 100,
    }));
    for (const maxTokens of [5, 20, 37, 80, 150, 400]) {
      const context = buildContext([fact('Dan', 'likes', 'tea')], hits, { maxTokens, order: 'score', countTokens });
      expect(context.tokens).toBe(countTokens(context.text));
      expect(context.tokens).toBeLessThanOrEqual(maxTokens);
      if (context.memories.length > 0) expect(context.memories[0]!.memory.id).toBe('m0');
    }
    const big = buildContext([], hits, { maxTokens: 100_000, order: 'score', countTokens });
    expect(big.memories.length).toBe(30);
    // A budget too small for any line gives an empty context rather than a header alone.
    expect(buildContext([], hits, { maxTokens: 5, order: 'score', countTokens }).text).toBe('');
  });
});
