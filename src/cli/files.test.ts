import { writeFileSync, mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expandInputs, globToRegExp, memoriesFromJson, readLinesSync } from './files.js';

const dir = mkdtempSync(join(tmpdir(), 'membank-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ingest inputs', () => {
  it('expands directories and globs to supported files, once each', () => {
    mkdirSync(join(dir, 'a', 'b'), { recursive: true });
    for (const f of ['a/x.txt', 'a/b/y.md', 'a/b/z.jsonl', 'a/skip.png', 'top.json']) writeFileSync(join(dir, f), '1');
    expect(expandInputs(['a', 'a/**/*.md', 'missing.txt'], dir)).toEqual({
      files: ['a/b/y.md', 'a/b/z.jsonl', 'a/x.txt'].map((f) => join(dir, f)),
      unmatched: ['missing.txt'],
    });
    expect(expandInputs(['*.json'], dir).files).toEqual([join(dir, 'top.json')]);
    expect(globToRegExp('**/*.md').test('deep/er/x.md')).toBe(true);
    expect(globToRegExp('**/*.md').test('x.md')).toBe(true);
    expect(globToRegExp('*.md').test('deep/x.md')).toBe(false);
  });

  it('reads memories from JSON shapes, keeping extra fields as metadata', () => {
    const extra = { source: 'f.json', contentHash: 'h' };
    expect(memoriesFromJson('{"memories":[{"content":"c","who":"ann","timestamp":5}]}', '.json', 'file:f.json', extra)).toEqual([
      { id: 'file:f.json:0', text: 'c', timestamp: 5, metadata: { who: 'ann', ...extra } },
    ]);
    expect(() => memoriesFromJson('[1]', '.json', 'f', extra)).toThrow('item 1 is neither a text nor an object');
  });

  it('reads lines across chunk boundaries and multi-byte characters', () => {
    const lines = Array.from({ length: 3000 }, (_, i) => `${'é'.repeat(500)} ${i}`);
    writeFileSync(join(dir, 'big.jsonl'), `${lines.join('\n')}\n`);
    const read = [...readLinesSync(join(dir, 'big.jsonl'))];
    expect(read.slice(0, -1)).toEqual(lines);
    expect(read.at(-1)).toBe('');
  });
});
