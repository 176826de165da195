/**
 * The crash loop (issue 8): SIGKILL a membank process 20 times at random moments under concurrent writers,
 * replacements, deletes and queries. After every restart each acknowledged write is there with its vector, each
 * acknowledged delete is gone, the index holds what SQLite holds and finds each memory by its own vector, and
 * queries answer as exact search does; with dedupe on, writes without ids of a few texts store each text once,
 * under the id every acknowledgement gave. test/crash.test.ts covers one kill in detail; this one covers many.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { runCrashLoop } from './fixtures/crash-loop.js';
import { startMembank, tempDir } from './helpers.js';

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
    // Dedupe on: writes without ids of 40 texts, concurrently and across kills, stored each text once.
    expect(figures.dedupeWritesAcked).toBeGreaterThan(200);
    expect(figures.dedupeDuplicatesAcked).toBeGreaterThan(100);
    expect(figures.dedupeDuplicatesStored).toBe(0);
  }, 420_000);
});

describe('a crash in the middle of deleting a namespace', () => {
  it('finishes erasing the hidden index of its facts at the next start', async () => {
    const dir = tempDir();
    let m = await startMembank(dir);
    expect((await m.api.post('/v1/namespaces', { name: 'secret' })).status).toBe(201);
    expect((await m.api.post('/v1/namespaces/secret/facts', { facts: [{ subject: 'ann', predicate: 'confided', object: 'a secret' }] })).status).toBe(201);
    await m.close();

    // The state a kill leaves between the namespace's delete and its fact index's: the first committed only.
    const db = new Database(join(dir, 'membank.db'));
    db.pragma('foreign_keys = ON');
    db.prepare(`DELETE FROM namespaces WHERE name = 'secret'`).run();
    const hidden = db.prepare(`SELECT name FROM namespaces`).pluck().all();
    expect(hidden).toEqual([expect.stringMatching(/^~facts\./)]);
    db.close();

    m = await startMembank(dir);
    await m.close();
    const after = new Database(join(dir, 'membank.db'), { readonly: true });
    expect(after.prepare('SELECT COUNT(*) FROM namespaces').pluck().get()).toBe(0);
    expect(after.prepare(`SELECT COUNT(*) FROM memories WHERE text LIKE '%secret%'`).pluck().get()).toBe(0);
    after.close();
    expect(readdirSync(join(dir, 'indexes'))).toEqual([]);
  });
});
