/**
 * The in-memory keyword index claims SQLite FTS5's bm25() over the same tokens: checked here against a real
 * FTS5 table (porter unicode61 remove_diacritics 2) on generated texts.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MemoryTable } from '../src/core/table/index.js';
import { queryTerms, stem } from '../src/core/keywords.js';
import { asLabel } from '../src/core/types.js';
import { rng } from './helpers.js';

const VOCABULARY = (
  'park painting paints painted run running runs ran dog dogs cat adoption agency agencies support group ' +
  'Caroline Melanie café naïve school teacher teaching the a of to in and went go going sweden summer camping'
).split(' ');

describe('keyword search scores', () => {
  it('equal FTS5 bm25() for the same texts and query words', () => {
    const random = rng(11);
    const texts = Array.from({ length: 300 }, () =>
      Array.from({ length: 3 + Math.floor(random() * 25) }, () => VOCABULARY[Math.floor(random() * VOCABULARY.length)]).join(' '),
    );
    const db = new Database(':memory:');
    db.exec(`CREATE VIRTUAL TABLE f USING fts5(text, tokenize = 'porter unicode61 remove_diacritics 2')`);
    const insert = db.prepare('INSERT INTO f (rowid, text) VALUES (?, ?)');
    texts.forEach((text, i) => insert.run(i + 1, text));
    const table = new MemoryTable({ space: 'l2', dimensions: 1 });
    texts.forEach((text, i) =>
      table.upsert({ label: asLabel(i + 1), vector: Float32Array.of(i), eventAt: 0, expiresAt: null, documentId: null, chunkIndex: null, seq: 1, text }),
    );
    table.buildKeywords(texts.map((text, i) => [asLabel(i + 1), text]));

    for (const query of ['painting park', 'dogs', 'adoption agencies support', 'running café', 'naive teacher summer', 'Caroline']) {
      const words = queryTerms(query);
      const stems = [...new Set(words.map(stem))];
      const match = words.map((w) => `"${w}"`).join(' OR ');
      const want = db
        .prepare('SELECT rowid, -bm25(f) AS score FROM f WHERE f MATCH ? ORDER BY score DESC, rowid LIMIT 20')
        .all(match) as { rowid: number; score: number }[];
      const got = table.keywordSearch(stems, 20, table.keywordStats(stems), undefined, undefined);
      expect(got.map((h) => h.label), query).toEqual(want.map((w) => w.rowid));
      got.forEach((h, i) => expect(h.score).toBeCloseTo(want[i]!.score, 9));
    }
  });
});
