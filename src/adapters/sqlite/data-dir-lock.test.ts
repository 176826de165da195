import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dataDirHolder, lockDataDir } from './data-dir-lock.js';

const root = mkdtempSync(join(tmpdir(), 'membank-lock-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the data directory lock', () => {
  it('tells who holds the directory and where it serves, and forgets both on release', () => {
    const dir = join(root, 'a');
    const lock = lockDataDir(dir);
    expect(dataDirHolder(dir)).toEqual({ pid: process.pid });
    lock.advertise('http://127.0.0.1:1234');
    expect(dataDirHolder(dir)).toEqual({ pid: process.pid, url: 'http://127.0.0.1:1234' });
    expect(() => lockDataDir(dir)).toThrow(expect.objectContaining({ code: 'DATA_DIR_LOCKED' }));
    lock.release();
    expect(dataDirHolder(dir)).toBeUndefined();
  });

  it('ignores the notes of a holder that died, and of one that is not the holder', () => {
    const dir = join(root, 'b');
    lockDataDir(dir).release();
    // A crashed holder leaves its notes behind (the lock itself goes with the process).
    const dead = 2 ** 22 + 12345;
    writeFileSync(join(dir, 'membank.pid'), `${dead}\n`);
    writeFileSync(join(dir, 'membank.endpoint'), JSON.stringify({ pid: dead, url: 'http://127.0.0.1:9' }));
    expect(dataDirHolder(dir)).toBeUndefined();
    // The next holder replaces them; an endpoint written by another process than the holder is not believed.
    const lock = lockDataDir(dir);
    expect(readFileSync(join(dir, 'membank.pid'), 'utf8').trim()).toBe(String(process.pid));
    writeFileSync(join(dir, 'membank.endpoint'), JSON.stringify({ pid: dead, url: 'http://127.0.0.1:9' }));
    expect(dataDirHolder(dir)).toEqual({ pid: process.pid });
    lock.release();
  });
});
