import { describe, expect, it } from 'vitest';
import { factSentence, normalizeKey, parseFactCommands } from './facts.js';

describe('normalizeKey', () => {
  it('folds case, Unicode forms and whitespace', () => {
    expect(normalizeKey('  Alice\t Smith ')).toBe('alice smith');
    expect(normalizeKey('ＡＬＩＣＥ')).toBe('alice');
    expect(normalizeKey('Cafe\u0301')).toBe(normalizeKey('Café'));
    expect(normalizeKey('lives_in')).toBe('lives_in');
  });
});

describe('factSentence', () => {
  it('reads underscores as spaces', () => {
    expect(factSentence('Alice', 'lives_in', 'Paris')).toBe('Alice lives in Paris');
  });
});

describe('parseFactCommands', () => {
  it('finds several commands in order, with » or >>', () => {
    const text = 'Sure. [MEM_WRITE{Alice»lives_in»Paris}] and [MEM_READ{Alice>>works_at>>}] then [MEM_READ{»»Paris}]';
    expect(parseFactCommands(text)).toEqual([
      { command: '[MEM_WRITE{Alice»lives_in»Paris}]', kind: 'write', subject: 'Alice', predicate: 'lives_in', object: 'Paris' },
      { command: '[MEM_READ{Alice>>works_at>>}]', kind: 'read', subject: 'Alice', predicate: 'works_at' },
      { command: '[MEM_READ{»»Paris}]', kind: 'read', object: 'Paris' },
    ]);
  });

  it('reports malformed commands instead of throwing', () => {
    const results = parseFactCommands('[MEM_WRITE{Alice»Paris}] [MEM_WRITE{Alice»lives_in»}] [MEM_READ{»»}] [MEM_DELETE{a»b»c}]');
    expect(results.map((r) => r.kind)).toEqual(['invalid', 'invalid', 'invalid']);
    expect(results[0]).toMatchObject({ error: expect.stringContaining('three fields') });
  });

  it('handles Unicode', () => {
    expect(parseFactCommands('[MEM_WRITE{東京»は»首都}]')).toEqual([
      { command: '[MEM_WRITE{東京»は»首都}]', kind: 'write', subject: '東京', predicate: 'は', object: '首都' },
    ]);
  });

  it('finds nothing in plain text', () => {
    expect(parseFactCommands('no commands here [MEM_WRITE]')).toEqual([]);
  });
});
