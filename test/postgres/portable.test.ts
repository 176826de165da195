/**
 * A data directory moved to PostgreSQL with the CLI (`membank export --data-dir … > dump.jsonl`, then
 * `membank import --database-url URL dump.jsonl`, or from stdin) keeps every column: exporting the database
 * again gives back the same lines, and a cluster node answers queries as the SQLite node did.
 */
import { execFile, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { startMembank, tempDir } from '../helpers.js';
import { createTestDatabase, describePostgres } from './helpers.js';

const BIN = join(import.meta.dirname, '..', '..', 'src', 'cli', 'membank.mjs');
const membank = async (args: string[]) =>
  (await promisify(execFile)(process.execPath, [BIN, ...args], { env: { ...process.env, MEMBANK_URL: '', MEMBANK_DATA_DIR: '', MEMBANK_DATABASE_URL: '' }, maxBuffer: 64 * 2 ** 20 })).stdout;

/** An export's lines as values to compare: JSON text columns parsed (jsonb keeps no key order), the time of export left out. */
function normalized(dump: string): unknown[] {
  return dump
    .split('\n')
    .filter(Boolean)
    .map((text) => JSON.parse(text) as { type: string; exportedAt?: string; row?: Record<string, unknown> })
    .map((line) => {
      if (line.type === 'membank-export') return { ...line, exportedAt: undefined };
      const row = { ...line.row };
      for (const key of ['metadata', 'settings']) if (typeof row[key] === 'string') row[key] = JSON.parse(row[key] as string);
      // Not data: how far back the (untransferred) change log reaches. An import starts it at the head.
      delete row.trimmed_seq;
      return { ...line, row };
    });
}

describePostgres('moving a data directory to PostgreSQL', () => {
  it('keeps every column through export and import (file and stdin), and the cluster answers as SQLite did', async () => {
    const dir = tempDir();
    const source = await startMembank(dir);
    const queries = [
      { query: 'where does alice live', k: 5, mode: 'hybrid', reinforce: false },
      { query: 'jazz', k: 5, mode: 'keyword', reinforce: false },
    ];
    let expected: unknown[];
    try {
      const { api } = source;
      await api.post('/v1/namespaces', {
        name: 'kb',
        metadata: { team: 'a', nested: { z: 1, a: [1, 'two'] } },
        facts: { singleValued: ['lives_in'] },
        forgetting: { enabled: true, timescale: 3600, schedule: '15 4 * * *' },
        hnsw: { efSearch: 80, threshold: 3 },
      });
      await api.post('/v1/namespaces', { name: 'raw', embedder: null, dimensions: 3, space: 'l2' });
      await api.post('/v1/namespaces', { name: 'open', embedder: null, dimensions: null });
      expect(
        (await api.post('/v1/namespaces/kb/memories', {
          memories: [
            { id: 'a1', text: 'Alice lives in Paris near the river', metadata: { speaker: 'Alice', z: 1, a: 2 }, importance: 0.8, timestamp: 1_600_000_000_000 },
            { id: 'b1', text: 'Bob likes jazz and late night radio', metadata: { speaker: 'Bob', tags: ['music'] }, ttl: 86_400 * 365 },
            { id: 'c1', text: 'Carol owns a red bicycle', metadata: {} },
          ],
        })).status,
      ).toBe(201);
      await api.post('/v1/namespaces/kb/documents', { id: 'doc', text: 'Alice moved to Rome last spring. She loves jazz. '.repeat(30), chunking: { size: 200, overlap: 20 } });
      await api.post('/v1/namespaces/kb/query', { query: 'Alice Paris', k: 2 }); // recalls: strength, recall_count, last_recalled_at
      await api.post('/v1/namespaces/kb/facts', { facts: [{ subject: 'Alice', predicate: 'lives_in', object: 'Paris', confidence: 0.9, source: 'chat', validFrom: 1_000 }] });
      await api.post('/v1/namespaces/kb/facts', { facts: [{ subject: 'Alice', predicate: 'lives_in', object: 'Rome', metadata: { via: 'doc' } }] });
      await api.post('/v1/namespaces/raw/memories', { memories: [{ id: 'v1', vector: [0.1, -2.5, 3e-8] }, { id: 'v2', vector: [1, 2, 3] }] });
      await source.membank.service.checkpoint(); // recalls are written in batches
      expected = await Promise.all(queries.map(async (q) => (await api.post('/v1/namespaces/kb/query', q)).body.results));
    } finally {
      await source.close();
    }

    const key = (await membank(['keys', 'create', '--role', 'admin', '--data-dir', dir])).trim();
    await membank(['keys', 'create', '--role', 'read', '--namespaces', 'kb,raw*', '--data-dir', dir]);
    const dump = await membank(['export', '--data-dir', dir]);
    expect(dump.split('\n').filter((l) => l.includes('"type":"key"'))).toHaveLength(2);
    const file = join(tempDir(), 'dump.jsonl');
    writeFileSync(file, dump);
    expect(dump.split('\n').filter((l) => l.includes('"type":"fact"'))).toHaveLength(2);

    const target = await createTestDatabase();
    const piped = await createTestDatabase();
    try {
      expect(await membank(['import', '--database-url', target.url, file])).toMatch(/Imported 3 namespaces, \d+ memories and 2 facts/);
      const viaStdin = spawnSync(process.execPath, [BIN, 'import', '--database-url', piped.url], { input: dump, env: { ...process.env, MEMBANK_DATABASE_URL: '' } });
      expect(viaStdin.stderr.toString()).toBe('');
      expect(viaStdin.status).toBe(0);
      // Importing the same namespaces again is refused, changing nothing.
      await expect(membank(['import', '--database-url', target.url, file])).rejects.toMatchObject({ stderr: expect.stringContaining('already exists') });

      for (const url of [target.url, piped.url]) {
        const again = await membank(['export', '--database-url', url]);
        expect(normalized(again)).toEqual(normalized(dump));
      }

      // Keys came along: the cluster needs the admin key, and keys can be managed on the database.
      const listed = await membank(['keys', 'list', '--json', '--database-url', target.url]);
      expect((JSON.parse(listed) as { role: string }[]).map((k) => k.role).sort()).toEqual(['admin', 'read']);
      const cluster = await startMembank(tempDir(), { databaseUrl: target.url });
      try {
        expect((await cluster.api.get('/v1/namespaces')).status).toBe(401);
        const authorized = async (path: string, body: unknown) =>
          (await (await fetch(`${cluster.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify(body) })).json()) as { results: unknown[] };
        for (const [i, q] of queries.entries()) expect((await authorized('/v1/namespaces/kb/query', q)).results).toEqual(expected[i]);
        const second = (await membank(['keys', 'create', '--role', 'write', '--namespaces', 'raw', '--database-url', target.url])).trim();
        expect(second).not.toBe(key);
        cluster.api.post = (path: string, body?: unknown) =>
          fetch(`${cluster.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: await r.json() }));
        cluster.api.get = (path: string) =>
          fetch(`${cluster.url}${path}`, { headers: { authorization: `Bearer ${key}` } }).then(async (r) => ({ status: r.status, body: await r.json() }));
        const facts = (await cluster.api.get('/v1/namespaces/kb/facts?subject=alice&history=true')).body.facts as { object: string; supersededBy: string | null }[];
        expect(facts.map((f) => [f.object, f.supersededBy !== null])).toEqual([['Paris', true], ['Rome', false]]);
        // Written to after the import: numbers go on from the imported head.
        const written = await cluster.api.post('/v1/namespaces/raw/memories', { memories: [{ id: 'v3', vector: [0, 0, 1] }] });
        expect(written.status).toBe(201);
        expect((await cluster.api.post('/v1/namespaces/raw/query', { vector: [0, 0, 1], k: 3 })).body.results.map((h: { id: string }) => h.id)).toEqual(['v3', 'v1', 'v2']);
      } finally {
        await cluster.close();
      }
    } finally {
      await Promise.all([target.drop(), piped.drop()]);
    }
  }, 120_000);
});
