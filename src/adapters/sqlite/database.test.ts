import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from './database.js';

function prepared(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'membank-open-')), 'membank.db');
  const db = openDatabase({ file });
  db.close();
  return file;
}

const garbageOverPages = (file: string) => {
  const bytes = readFileSync(file);
  const pageSize = bytes.readUInt16BE(16);
  Buffer.from(Array.from({ length: pageSize * 4 }, (_, i) => (i * 131 + 7) % 256)).copy(bytes, pageSize * 2);
  writeFileSync(file, bytes);
};

describe('opening the SQLite database', () => {
  it('checks every page of a small file, and only the structure of one above the limit, saying so', () => {
    const file = prepared();
    const notices: string[] = [];
    openDatabase({ file, onNotice: (m) => notices.push(m) }).close();
    expect(notices).toEqual([]);
    openDatabase({ file, fullCheckMaxBytes: 0, onNotice: (m) => notices.push(m) }).close();
    expect(notices).toEqual([expect.stringMatching(/checked its structure at open, not every page/)]);
  });

  it.each([
    ['garbage in the header', (file: string) => writeFileSync(file, Buffer.from('not a database, just garbage!!!!'), { flag: 'r+' })],
    ['garbage over b-tree pages', garbageOverPages],
  ])('refuses %s with either check', (_name, damage) => {
    for (const fullCheckMaxBytes of [2 ** 30, 0]) {
      const file = prepared();
      damage(file);
      expect(() => openDatabase({ file, fullCheckMaxBytes })).toThrow(expect.objectContaining({ code: 'DATABASE_CORRUPT' }));
    }
  });
});
