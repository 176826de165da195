/** Restart, rebuild, corruption, staleness and the single-writer lock, against real files. */
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { MembankError } from '../src/core/errors.js';
import { createMembank } from '../src/server.js';
import { exited, hashEmbedders, serverCommand, randomVectors, spawnMembank, startMembank, tempDir, testConfig } from './helpers.js';

const N = 2000;
const DIM = 24;
const vectors = randomVectors(N, DIM, 5);
const queries = randomVectors(25, DIM, 6);

async function answers(api: Awaited<ReturnType<typeof startMembank>>['api']) {
  const out: { id: string; distance: number }[][] = [];
  for (const vector of queries) {
    const r = await api.post('/v1/namespaces/p/query', { vector, k: 10 });
    out.push(r.body.results.map((h: { id: string; distance: number }) => ({ id: h.id, distance: h.distance })));
  }
  return out;
}

async function fill(api: Awaited<ReturnType<typeof startMembank>>['api']) {
  // A graph above 500 vectors: these tests are about its checkpoints.
  await api.post('/v1/namespaces', { name: 'p', embedder: null, dimensions: DIM, space: 'l2', hnsw: { threshold: 500 } });
  for (let start = 0; start < N; start += 500) {
    const memories = vectors.slice(start, start + 500).map((vector, j) => ({ id: `v${start + j}`, vector }));
    expect((await api.post('/v1/namespaces/p/memories', { memories })).status).toBe(201);
  }
}

function capturingLogger() {
  const lines: { msg: string; reason?: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

const indexFiles = (dir: string) => readdirSync(join(dir, 'indexes'));

/** Loads the namespace (a first query) and waits for its graph, so that answers come from the graph. */
async function warm(m: Awaited<ReturnType<typeof startMembank>>) {
  await m.api.post('/v1/namespaces/p/query', { vector: queries[0], k: 1 });
  await m.membank.service.settled('p');
  expect((await m.api.get('/v1/namespaces/p')).body.index).toMatchObject({ loaded: true, kind: 'hnsw' });
}

describe('persistence', () => {
  it('answers identically after a restart, and after a rebuild from SQLite', async () => {
    const dir = tempDir();
    let m = await startMembank(dir);
    await fill(m.api);
    await warm(m);
    const before = await answers(m.api);
    expect(before[0]).toHaveLength(10);
    await m.close();

    const loaded = capturingLogger();
    m = await startMembank(dir, {}, {}, loaded.logger);
    // Nothing is loaded at start; the first query loads the checkpoint.
    expect(loaded.lines.find((l) => l.msg === 'index ready')).toBeUndefined();
    expect(await answers(m.api)).toEqual(before);
    expect(loaded.lines.find((l) => l.msg === 'index ready')).toMatchObject({ how: 'loaded', replayed: 0 });
    await m.close();

    for (const file of indexFiles(dir)) rmSync(join(dir, 'indexes', file));
    const rebuilt = capturingLogger();
    m = await startMembank(dir, {}, {}, rebuilt.logger);
    await warm(m);
    expect(rebuilt.lines.find((l) => l.msg === 'rebuilding index from SQLite')).toMatchObject({ reason: 'no saved index' });
    expect(rebuilt.lines.find((l) => l.msg === 'index ready')).toMatchObject({ how: 'rebuilt' });
    expect(await answers(m.api)).toEqual(before);
    await m.close();
  });

  it('rebuilds a corrupt or stale index and says why', async () => {
    const dir = tempDir();
    let m = await startMembank(dir);
    await fill(m.api);
    await warm(m);
    const before = await answers(m.api);
    await m.close();

    // Corrupt: flip bytes in the middle of the saved index.
    const idx = indexFiles(dir).find((f) => f.endsWith('.idx'))!;
    const path = join(dir, 'indexes', idx);
    writeFileSync(path, Buffer.alloc(4096, 7), { flag: 'r+' });
    const corrupt = capturingLogger();
    m = await startMembank(dir, {}, {}, corrupt.logger);
    await warm(m);
    expect(corrupt.lines.find((l) => l.msg === 'rebuilding index from SQLite')?.reason).toMatch(/corrupt/);
    expect(await answers(m.api)).toEqual(before);
    await m.close();
    m = await startMembank(dir);
    await warm(m);

    // Behind: keep a copy of this checkpoint, delete memories and checkpoint again, then put the old files back.
    // Loading the old checkpoint applies what changed since (the deletes), rather than serving them.
    const saved = join(dir, 'saved');
    const files = indexFiles(dir);
    rmSync(saved, { recursive: true, force: true });
    mkdirSync(saved);
    for (const f of files) copyFileSync(join(dir, 'indexes', f), join(saved, f));
    for (let i = 0; i < 10; i++) expect((await m.api.del(`/v1/namespaces/p/memories/v${i}`)).status).toBe(204);
    const afterDelete = await answers(m.api);
    await m.close();
    for (const f of indexFiles(dir)) rmSync(join(dir, 'indexes', f));
    for (const f of files) copyFileSync(join(saved, f), join(dir, 'indexes', f));
    const stale = capturingLogger();
    m = await startMembank(dir, {}, {}, stale.logger);
    const now = await answers(m.api);
    expect(stale.lines.find((l) => l.msg === 'index ready')).toMatchObject({ how: 'loaded', replayed: 10 });
    expect(now.flat().some((h) => /^v[0-9]$/.test(h.id))).toBe(false);
    expect(now).toEqual(afterDelete.map((hits) => hits.map((h) => ({ id: h.id, distance: expect.closeTo(h.distance, 5) }))));
    await m.close();
  });

  it('keeps deletes deleted across restarts, namespace deletes included', async () => {
    const dir = tempDir();
    let m = await startMembank(dir);
    await m.api.post('/v1/namespaces', { name: 'a' });
    await m.api.post('/v1/namespaces', { name: 'b' });
    await m.api.post('/v1/namespaces/a/memories', { memories: [{ id: 'keep', text: 'alpha keep' }, { id: 'drop', text: 'alpha drop' }] });
    await m.api.post('/v1/namespaces/a/documents', { documents: [{ id: 'doc', text: 'alpha document text.' }] });
    await m.api.post('/v1/namespaces/b/memories', { memories: [{ id: 'x', text: 'beta' }] });
    await m.api.del('/v1/namespaces/a/memories/drop');
    await m.api.del('/v1/namespaces/a/documents/doc');
    await m.api.del('/v1/namespaces/b');
    await m.close();

    m = await startMembank(dir);
    const hits = (await m.api.post('/v1/namespaces/a/query', { query: 'alpha drop document', k: 10 })).body.results;
    expect(hits.map((h: { id: string }) => h.id)).toEqual(['keep']);
    expect((await m.api.get('/v1/namespaces/b')).status).toBe(404);
    expect(indexFiles(dir).every((f) => f.startsWith('ns-1.'))).toBe(true); // small namespaces: no graph files at all
    await m.close();
  });
});

describe('one writer per data directory', () => {
  it('refuses a second instance in the same process, and frees the directory on close', async () => {
    const dir = tempDir();
    const m = await startMembank(dir);
    const second = createMembank(testConfig(dir), pino({ level: 'silent' }), { embedders: hashEmbedders() });
    await expect(second).rejects.toMatchObject({ code: 'DATA_DIR_LOCKED' });
    await expect(second).rejects.toBeInstanceOf(MembankError);
    await m.close();
    const third = await startMembank(dir);
    await third.close();
  });

  it('refuses a second process with a clear message', async () => {
    const dir = tempDir();
    const first = await spawnMembank(['--data-dir', dir]);
    try {
      const { spawn } = await import('node:child_process');
      const second = spawn(...serverCommand(['--port', '0', '--data-dir', dir]));
      let stderr = '';
      second.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      expect(await exited(second)).toBe(1);
      expect(stderr).toContain(`is in use by process ${first.process.pid}`);
      expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
    } finally {
      first.process.kill('SIGTERM');
      await exited(first.process);
    }
  });
});
