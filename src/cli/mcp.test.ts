import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lockDataDir } from '../adapters/sqlite/data-dir-lock.js';
import { mcpDataDir, openDataDir } from './mcp.js';

const dir = mkdtempSync(join(tmpdir(), 'membank-mcp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('membank mcp', () => {
  it('keeps its data in --data-dir, else MEMBANK_DATA_DIR, else $XDG_DATA_HOME/membank, else ~/.local/share/membank', () => {
    expect(mcpDataDir('/flag', { dataDir: '/env', xdgDataHome: '/xdg' }, '/home/u')).toEqual({ dir: '/flag', source: '--data-dir' });
    expect(mcpDataDir(undefined, { dataDir: '/env', xdgDataHome: '/xdg' }, '/home/u')).toEqual({ dir: '/env', source: 'MEMBANK_DATA_DIR' });
    expect(mcpDataDir(undefined, { xdgDataHome: '/xdg' }, '/home/u')).toEqual({ dir: '/xdg/membank', source: 'XDG_DATA_HOME' });
    // The XDG specification: a relative XDG_DATA_HOME is invalid, and ignored.
    expect(mcpDataDir(undefined, { xdgDataHome: 'relative' }, '/home/u')).toEqual({ dir: '/home/u/.local/share/membank', source: 'home' });
    expect(mcpDataDir(undefined, {}, '/home/u')).toEqual({ dir: '/home/u/.local/share/membank', source: 'home' });
  });

  it('waits for a holder of the data directory that does not serve, then gives up with a clear error', async () => {
    const held = join(dir, 'held');
    const lock = lockDataDir(held);
    const said: string[] = [];
    const started = Date.now();
    try {
      await expect(openDataDir({ dataDir: held, say: (line) => said.push(line), waitMs: 600 })).rejects.toMatchObject({
        code: 'DATA_DIR_LOCKED',
        message: expect.stringContaining(`is in use by process ${process.pid}, which does not serve HTTP`),
      });
    } finally {
      lock.release();
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    expect(said).toEqual([`${held} is in use by process ${process.pid}; waiting for it to serve`]);
  });
});
