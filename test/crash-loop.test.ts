/**
 * The crash loop (issue 8): SIGKILL a membank process 20 times at random moments under concurrent writers,
 * replacements, deletes and queries. After every restart each acknowledged write is there with its vector, each
 * acknowledged delete is gone, the index holds what SQLite holds and finds each memory by its own vector, and
 * queries answer as exact search does. test/crash.test.ts covers one kill in detail; this one covers many.
 */
import { describe, expect, it } from 'vitest';
import { runCrashLoop } from './fixtures/crash-loop.js';
import { tempDir } from './helpers.js';

describe('crash loop', () => {
  it('loses no acknowledged write or delete over 20 SIGKILLs', async () => {
    const figures = await runCrashLoop({ dataDir: tempDir(), kills: 20, seed: Number(process.env.CRASH_SEED ?? 8) });
    expect(figures.violations).toEqual([]);
    expect(figures.kills).toBe(20);
    expect(figures.writesAcked).toBeGreaterThan(500);
    expect(figures.writesFound).toBe(figures.writesAcked);
    expect(figures.deletesAcked).toBeGreaterThan(20);
    expect(figures.deletesGone).toBe(figures.deletesAcked);
    expect(figures.fiveHundreds).toBe(0);
    expect(figures.loaded).toBe(20);
    expect(figures.minRecall).toBeGreaterThanOrEqual(0.9);
    expect(figures.namespacesCreated).toBeGreaterThan(20);
    expect(figures.namespacesDeleted).toBeGreaterThan(10);
  }, 240_000);
});
