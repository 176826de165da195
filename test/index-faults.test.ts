/**
 * Damaged index files and a damaged database (issue 8). test/persistence.test.ts covers flipped bytes, a stale
 * checkpoint and a directory without any index file; these are the other ways an index file goes wrong, each
 * detected at start, rebuilt from SQLite with the reason logged, and answering as before. A damaged SQLite file
 * is refused at start with one line, so nothing is ever served from it.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createMembank } from '../src/server.js';
import { exited, hashEmbedders, randomVectors, serverCommand, startMembank, tempDir, testConfig } from './helpers.js';

const N = 600;
const DIM = 12;
const vectors = randomVectors(N, DIM, 21);
const queries = randomVectors(10, DIM, 22);

type Api = Awaited<ReturnType<typeof startMembank>>['api'];

async function fill(api: Api): Promise<void> {
  // A graph above 100 vectors: these tests are about its checkpoint files.
  expect((await api.post('/v1/namespaces', { name: 'f', embedder: null, dimensions: DIM, space: 'l2', hnsw: { threshold: 100 } })).status).toBe(201);
  for (let start = 0; start < N; start += 300) {
    const memories = vectors.slice(start, start + 300).map((vector, j) => ({ id: `v${start + j}`, vector, metadata: { j } }));
    expect((await api.post('/v1/namespaces/f/memories', { memories })).status).toBe(201);
  }
}

async function answers(api: Api) {
  const out: string[][] = [];
  for (const vector of queries) out.push((await api.post('/v1/namespaces/f/query', { vector, k: 10 })).body.results.map((h: { id: string }) => h.id));
  return out;
}

function capturingLogger() {
  const lines: { msg: string; reason?: string; how?: string }[] = [];
  return { logger: pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) }), lines };
}

/** Loads the namespace (a first query) and waits for its graph, so that answers come from the graph. */
async function warm(m: Awaited<ReturnType<typeof startMembank>>) {
  await m.api.post('/v1/namespaces/f/query', { vector: queries[0], k: 1 });
  await m.membank.service.settled('f');
}

/** A data directory with a checkpointed index, and the answers it gives. */
async function prepared() {
  const dir = tempDir();
  const m = await startMembank(dir);
  await fill(m.api);
  await warm(m);
  const before = await answers(m.api);
  await m.close();
  const indexes = join(dir, 'indexes');
  const idx = readdirSync(indexes).find((f) => f.endsWith('.idx'))!;
  const meta = readdirSync(indexes).find((f) => f.endsWith('.meta.json'))!;
  return { dir, before, idx: join(indexes, idx), meta: join(indexes, meta) };
}

describe('index faults', () => {
  it.each([
    ['a truncated index file', (f: { idx: string }) => truncateSync(f.idx, Math.floor(statSync(f.idx).size / 2)), /corrupt/],
    ['an index file cut to nothing', (f: { idx: string }) => truncateSync(f.idx, 0), /corrupt/],
    ['a deleted index file whose metadata remains', (f: { idx: string }) => rmSync(f.idx), /missing/],
    ['torn index metadata', (f: { meta: string }) => writeFileSync(f.meta, readFileSync(f.meta, 'utf8').slice(0, 20)), /unreadable index metadata/],
    [
      'an index written by an older format',
      (f: { meta: string }) => writeFileSync(f.meta, JSON.stringify({ ...JSON.parse(readFileSync(f.meta, 'utf8')), format: 0 })),
      /format 0, this version reads format 1/,
    ],
    [
      'metadata from before the format field',
      (f: { meta: string }) => {
        const { format: _format, ...old } = JSON.parse(readFileSync(f.meta, 'utf8'));
        writeFileSync(f.meta, JSON.stringify(old));
      },
      /format undefined/,
    ],
  ])('rebuilds %s from SQLite and says why', async (_name, damage, reason) => {
    const f = await prepared();
    damage(f);
    const log = capturingLogger();
    const m = await startMembank(f.dir, {}, {}, log.logger);
    try {
      await warm(m);
      expect(log.lines.find((l) => l.msg === 'rebuilding index from SQLite')?.reason).toMatch(reason);
      expect(log.lines.find((l) => l.msg === 'index ready')).toMatchObject({ how: 'rebuilt' });
      expect(await answers(m.api)).toEqual(f.before);
      const stats = (await m.api.get('/v1/namespaces/f')).body;
      expect(stats).toMatchObject({ count: N, index: { elements: N } });
    } finally {
      await m.close();
    }
    // The rebuild was checkpointed: the next start loads it.
    const again = capturingLogger();
    const m2 = await startMembank(f.dir, {}, {}, again.logger);
    await warm(m2);
    expect(again.lines.find((l) => l.msg === 'index ready')).toMatchObject({ how: 'loaded', replayed: 0 });
    await m2.close();
  });

  it('removes temporary files a crash left mid-checkpoint, and loads the checkpoint beside them', async () => {
    const f = await prepared();
    const torn = `${f.idx.replace(/\.\d+\.idx$/, '.999999.idx')}.tmp`;
    writeFileSync(torn, Buffer.alloc(1000, 1));
    writeFileSync(`${f.meta}.tmp`, '{"format":');
    const log = capturingLogger();
    const m = await startMembank(f.dir, {}, {}, log.logger);
    expect(await answers(m.api)).toEqual(f.before);
    expect(log.lines.find((l) => l.msg === 'index ready')).toMatchObject({ how: 'loaded' });
    expect((await m.api.post('/v1/namespaces/f/memories', { memories: [{ id: 'new', vector: queries[0] }] })).status).toBe(201);
    await m.close();
    expect(readdirSync(join(f.dir, 'indexes')).filter((file) => file.endsWith('.tmp'))).toEqual([]);
  });
});

describe('a damaged database', () => {
  /** Starts `src/main.ts` on the directory and returns its exit code and stderr. */
  async function startProcess(dir: string) {
    const child = spawn(...serverCommand(['--port', '0', '--data-dir', dir, '--log-level', 'silent']));
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const code = await exited(child);
    return { code, stderr, stdout };
  }

  it.each([
    ['garbage in the header', (file: string) => writeFileSync(file, Buffer.from('not a database, just garbage!!!!'), { flag: 'r+' })],
    [
      'garbage over b-tree pages',
      (file: string) => {
        const pageSize = readFileSync(file).readUInt16BE(16);
        const garbage = Buffer.from(Array.from({ length: pageSize * 4 }, (_, i) => (i * 131 + 7) % 256));
        const fd = readFileSync(file);
        garbage.copy(fd, pageSize * 2);
        writeFileSync(file, fd);
      },
    ],
  ])('refuses to start on %s, with one line on stderr', async (_name, damage) => {
    const f = await prepared();
    const file = join(f.dir, 'membank.db');
    expect(readdirSync(f.dir)).not.toContain('membank.db-wal'); // a clean close folded the WAL into the file
    damage(file);

    const run = await startProcess(f.dir);
    expect(run.code).toBe(1);
    expect(run.stdout).not.toContain('membank ready');
    const lines = run.stderr.trim().split('\n');
    expect(lines, run.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^membank: The database .*membank\.db is damaged \(.+\); membank will not serve from it\. Restore it from a backup\.$/);

    // In process too: the same refusal as an error with a code, and the data directory is released.
    const config = testConfig(f.dir);
    await expect(createMembank(config, pino({ level: 'silent' }), { embedders: hashEmbedders() })).rejects.toMatchObject({ code: 'DATABASE_CORRUPT' });
    await expect(createMembank(config, pino({ level: 'silent' }), { embedders: hashEmbedders() })).rejects.toMatchObject({ code: 'DATABASE_CORRUPT' });
  });
});
