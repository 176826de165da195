/**
 * Disk faults (issue 8): a full disk and a data directory that cannot be written. Writes fail with 507 or 503
 * and a JSON message, reads keep answering, nothing already stored is lost, nothing of the failed write is
 * half-stored, and writes work again once the fault is gone. SQLite's faults are injected through its own
 * limits on the service's connection (`max_page_count` makes SQLite hit SQLITE_FULL exactly as on a full disk;
 * `query_only` makes it refuse writes with SQLITE_READONLY); a failing index checkpoint through the index port.
 * Where this process may mount a small tmpfs (root with CAP_SYS_ADMIN), a real full disk is tested too.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { hnswIndexFactory } from '../src/adapters/hnsw/hnsw-index.js';
import type { VectorIndexFactory } from '../src/ports/vector-index.js';
import { type Api, exited, randomVectors, serverCommand, startMembank, tempDir } from './helpers.js';

const DIM = 16;

/** Everything a namespace holds, as the API shows it. */
async function contents(api: Api, ns: string) {
  const memories = new Map<string, number[]>();
  let cursor: string | null = null;
  do {
    const r = await api.get(`/v1/namespaces/${ns}/memories?limit=1000&include=vector${cursor ? `&cursor=${cursor}` : ''}`);
    expect(r.status).toBe(200);
    for (const m of r.body.memories) memories.set(m.id, m.vector);
    cursor = r.body.nextCursor;
  } while (cursor);
  return memories;
}

async function expectConsistent(api: Api, ns: string, expected: Map<string, number[]>) {
  const stored = await contents(api, ns);
  expect([...stored.keys()].sort()).toEqual([...expected.keys()].sort());
  const stats = (await api.get(`/v1/namespaces/${ns}`)).body;
  expect(stats.count).toBe(expected.size);
  expect(stats.index.elements).toBe(expected.size);
  // Spot-check that the index finds stored memories by their own vectors.
  for (const id of [...expected.keys()].slice(0, 20)) {
    expect((await api.post(`/v1/namespaces/${ns}/query`, { vector: expected.get(id), k: 1 })).body.results[0].id).toBe(id);
  }
}

const batch = (prefix: string, n: number, seed: number) =>
  randomVectors(n, DIM, seed).map((vector, i) => ({ id: `${prefix}-${i}`, vector: vector.map(Math.fround), text: `${prefix} memory ${i} `.repeat(20), metadata: { i } }));

describe('a full disk', () => {
  it('answers writes with 507, keeps reads and stored data, and recovers when space returns (SQLITE_FULL)', async () => {
    const dir = tempDir();
    let db: Database.Database | undefined;
    const m = await startMembank(dir, {}, { onSqliteOpen: (connection) => (db = connection) });
    const acked = new Map<string, number[]>();
    try {
      expect((await m.api.post('/v1/namespaces', { name: 'd', embedder: null, dimensions: DIM, space: 'l2' })).status).toBe(201);
      expect((await m.api.post('/v1/namespaces', { name: 't' })).status).toBe(201);
      const first = batch('a', 200, 1);
      expect((await m.api.post('/v1/namespaces/d/memories', { memories: first })).status).toBe(201);
      for (const x of first) acked.set(x.id, x.vector);

      // The disk fills up: no page beyond those the file has now. Write until SQLite says so.
      db!.pragma(`max_page_count = ${db!.pragma('page_count', { simple: true })}`);
      let full: { status: number; body: any } | undefined;
      for (let round = 0; round < 200 && !full; round++) {
        const more = batch(`b${round}`, 10, 100 + round);
        const r = await m.api.post('/v1/namespaces/d/memories', { memories: more });
        if (r.status === 201) for (const x of more) acked.set(x.id, x.vector);
        else full = r;
      }
      expect(full?.status).toBe(507);
      expect(full?.body.error).toMatchObject({ code: 'STORAGE_FULL', message: expect.stringContaining('full') });

      // Every kind of write is refused the same way, and nothing of it is stored.
      const refused = batch('refused', 30, 999);
      const facts = Array.from({ length: 50 }, (_, i) => ({ subject: `s${i}`, predicate: 'likes', object: `thing ${i} `.repeat(50) }));
      const writes = [
        await m.api.post('/v1/namespaces/d/memories', { memories: refused }),
        await m.api.post('/v1/namespaces/t/documents', { documents: [{ id: 'doc', text: 'A long document. '.repeat(500) }] }),
        await m.api.post('/v1/namespaces/t/facts', { facts }),
      ];
      for (const r of writes) expect(r.body.error, JSON.stringify(r.body)).toMatchObject({ code: 'STORAGE_FULL' });
      for (const r of writes) expect(r.status).toBe(507);

      // Reads keep working, and show exactly what was acknowledged.
      await expectConsistent(m.api, 'd', acked);
      expect((await m.api.get('/v1/namespaces/d/memories/refused-0')).status).toBe(404);
      expect((await m.api.get('/v1/namespaces/t/memories/doc%230')).status).toBe(404);
      // A batch of facts is written fact by fact, so a prefix of it may be stored: what was is whole.
      const partial = (await m.api.get('/v1/namespaces/t/facts')).body.facts;
      expect(partial.length).toBeLessThan(facts.length);
      expect((await m.api.get('/healthz')).status).toBe(200);

      // Space returns: the same writes go through.
      db!.pragma('max_page_count = 1073741823');
      expect((await m.api.post('/v1/namespaces/d/memories', { memories: refused })).status).toBe(201);
      for (const x of refused) acked.set(x.id, x.vector);
      await expectConsistent(m.api, 'd', acked);
      // Sending the refused facts again completes them, without duplicates, each searchable by meaning.
      const retried = await m.api.post('/v1/namespaces/t/facts', { facts });
      expect(retried.status).toBe(201);
      expect(new Set(retried.body.ids).size).toBe(facts.length);
      const all = (await m.api.get('/v1/namespaces/t/facts?limit=1000')).body.facts;
      expect(all.map((f: { subject: string }) => f.subject).sort()).toEqual(facts.map((f) => f.subject).sort());
      for (const f of [facts[0]!, facts[49]!]) {
        const hits = (await m.api.post('/v1/namespaces/t/facts/search', { query: `${f.subject} likes ${f.object}`, k: 1 })).body.results;
        expect(hits[0].subject).toBe(f.subject);
      }
    } finally {
      await m.close();
    }

    const again = await startMembank(dir);
    try {
      await expectConsistent(again.api, 'd', acked);
    } finally {
      await again.close();
    }
  });
});

describe('a data directory that cannot be written', () => {
  it('answers writes and deletes with 503, keeps reads, and recovers (SQLITE_READONLY)', async () => {
    let db: Database.Database | undefined;
    const m = await startMembank(tempDir(), {}, { onSqliteOpen: (connection) => (db = connection) });
    try {
      expect((await m.api.post('/v1/namespaces', { name: 'r', embedder: null, dimensions: DIM })).status).toBe(201);
      const stored = batch('s', 50, 3);
      expect((await m.api.post('/v1/namespaces/r/memories', { memories: stored })).status).toBe(201);
      const acked = new Map(stored.map((x) => [x.id, x.vector]));

      db!.pragma('query_only = ON');
      const refused = [
        await m.api.post('/v1/namespaces/r/memories', { memories: batch('x', 5, 4) }),
        await m.api.del('/v1/namespaces/r/memories/s-0'),
        await m.api.del('/v1/namespaces/r'),
        await m.api.post('/v1/namespaces', { name: 'other', embedder: null, dimensions: DIM }),
      ];
      for (const r of refused) {
        expect(r.status).toBe(503);
        expect(r.body.error).toMatchObject({ code: 'STORAGE_UNAVAILABLE', message: expect.stringContaining('SQLITE_READONLY') });
      }
      await expectConsistent(m.api, 'r', acked);
      expect((await m.api.get('/v1/namespaces/other')).status).toBe(404);

      db!.pragma('query_only = OFF');
      expect((await m.api.del('/v1/namespaces/r/memories/s-0')).status).toBe(204);
      acked.delete('s-0');
      await expectConsistent(m.api, 'r', acked);
    } finally {
      await m.close();
    }
  });
});

describe('a data directory that cannot be used at start', () => {
  async function startProcess(dir: string) {
    const child = spawn(...serverCommand(['--port', '0', '--data-dir', dir, '--log-level', 'silent']));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    return { code: await exited(child), stderr };
  }

  it('is refused with one line naming the directory and the cause', async () => {
    const file = join(tempDir(), 'not-a-directory');
    writeFileSync(file, '');
    const run = await startProcess(join(file, 'data'));
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`membank: cannot use the data directory ${join(file, 'data')}: ENOTDIR: not a directory, mkdir '${join(file, 'data')}' (ENOTDIR)\n`);
  });
});

/** The real HNSW index, whose checkpoint writes can be made to fail as on a full disk, leaving a torn file. */
function failingSaves() {
  const control = {
    fail: false,
    factory: {
      kind: hnswIndexFactory.kind,
      create: (shape, capacity) => wrap(hnswIndexFactory.create(shape, capacity)),
      load: async (file, shape, deleted) => wrap(await hnswIndexFactory.load(file, shape, deleted)),
      build: async (shape, labels, vectors, scratch) => wrap(await hnswIndexFactory.build(shape, labels, vectors, scratch)),
    } as VectorIndexFactory,
  };
  const wrap = (index: ReturnType<VectorIndexFactory['create']>) =>
    Object.assign(Object.create(index) as typeof index, {
      async save(file: string) {
        if (!control.fail) return index.save(file);
        writeFileSync(file, Buffer.alloc(100, 1)); // what a write cut short by ENOSPC leaves behind
        throw Object.assign(new Error(`ENOSPC: no space left on device, write '${file}'`), { code: 'ENOSPC' });
      },
    });
  return control;
}

const digest = (dir: string) =>
  Object.fromEntries(
    readdirSync(dir)
      .sort()
      .map((f) => [f, createHash('sha256').update(readFileSync(join(dir, f))).digest('hex')]),
  );

describe('an index checkpoint that fails for lack of space', () => {
  it('leaves the previous checkpoint intact, keeps serving, and the next start replays from it', async () => {
    const dir = tempDir();
    const failing = failingSaves();
    let m = await startMembank(dir, {}, { indexFactory: failing.factory });
    const acked = new Map<string, number[]>();
    // A graph above 100 vectors: its checkpoints are what a full disk must not damage.
    expect((await m.api.post('/v1/namespaces', { name: 'c', embedder: null, dimensions: DIM, space: 'l2', hnsw: { threshold: 100 } })).status).toBe(201);
    const first = batch('a', 300, 7);
    expect((await m.api.post('/v1/namespaces/c/memories', { memories: first })).status).toBe(201);
    for (const x of first) acked.set(x.id, x.vector);
    const load = async () => {
      await m.api.post('/v1/namespaces/c/query', { vector: first[0]!.vector, k: 1 });
      await m.membank.service.settled('c');
    };
    await load();
    await m.close();

    const lines: { msg: string; how?: string; replayed?: number }[] = [];
    m = await startMembank(dir, {}, { indexFactory: failing.factory });
    await load();
    const indexes = join(dir, 'indexes');
    const saved = digest(indexes);
    const second = batch('b', 100, 8);
    expect((await m.api.post('/v1/namespaces/c/memories', { memories: second })).status).toBe(201);
    for (const x of second) acked.set(x.id, x.vector);
    for (const x of first.slice(0, 10)) {
      expect((await m.api.del(`/v1/namespaces/c/memories/${x.id}`)).status).toBe(204);
      acked.delete(x.id);
    }

    failing.fail = true;
    await expect(m.membank.service.checkpoint()).rejects.toMatchObject({ code: 'ENOSPC' });
    // The torn file is a temporary one; the checkpoint the metadata points to is untouched.
    const after = digest(indexes);
    for (const [file, sum] of Object.entries(saved)) expect(after[file], file).toBe(sum);
    // Serving goes on, writes included: SQLite holds them, and the next checkpoint or start catches up.
    await expectConsistent(m.api, 'c', acked);
    const third = batch('c', 20, 9);
    expect((await m.api.post('/v1/namespaces/c/memories', { memories: third })).status).toBe(201);
    for (const x of third) acked.set(x.id, x.vector);
    // Shutting down on a full disk cannot checkpoint, but still closes SQLite and frees the directory.
    await expect(m.close()).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(existsSync(join(dir, 'membank.db-wal'))).toBe(false); // SQLite's last connection closed, folding the WAL in

    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    m = await startMembank(dir, {}, {}, logger);
    try {
      await load();
      expect(lines.find((l) => l.msg === 'index ready')).toMatchObject({ how: 'loaded', replayed: 100 + 10 + 20 });
      await expectConsistent(m.api, 'c', acked);
    } finally {
      await m.close();
    }
  });
});

/** Mounts a tmpfs of `size`, or returns false where this process may not mount (not root, no CAP_SYS_ADMIN). */
function tryMount(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const mountPoint = join(tempDir(), 'disk');
mkdirSync(mountPoint);
const canMount = tryMount(mountPoint, '4m');
let mounted = canMount;
const unmount = (): void => {
  if (!mounted) return;
  execFileSync('umount', [mountPoint]);
  mounted = false;
};
afterAll(unmount); // also when a filter skipped the test

describe.skipIf(!canMount)('a real full disk (a 4 MiB tmpfs)', () => {
  it('answers writes with 507 or 503, keeps reads, and recovers when the filesystem grows', async () => {
    const acked = new Map<string, number[]>();
    try {
      const m = await startMembank(mountPoint, { synchronous: 'full' });
      try {
        expect((await m.api.post('/v1/namespaces', { name: 'd', embedder: null, dimensions: DIM, space: 'l2' })).status).toBe(201);
        let refused: { status: number; body: any } | undefined;
        for (let round = 0; round < 500 && !refused; round++) {
          const more = batch(`r${round}`, 20, 500 + round);
          const r = await m.api.post('/v1/namespaces/d/memories', { memories: more });
          if (r.status === 201) for (const x of more) acked.set(x.id, x.vector);
          else refused = r;
        }
        expect(acked.size).toBeGreaterThan(100);
        expect([507, 503]).toContain(refused?.status);
        expect(['STORAGE_FULL', 'STORAGE_UNAVAILABLE']).toContain(refused?.body.error.code);
        await expectConsistent(m.api, 'd', acked);

        // A second instance cannot even start on the full disk, and says so in one line.
        const blocked = spawn(...serverCommand(['--port', '0', '--data-dir', join(mountPoint, 'other'), '--log-level', 'silent']));
        let stderr = '';
        blocked.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        expect(await exited(blocked)).toBe(1);
        expect(stderr).toMatch(/^membank: cannot use the data directory .*other: .* \((SQLITE_FULL|ENOSPC)\)\n$/);

        execFileSync('mount', ['-o', 'remount,size=64m', mountPoint]);
        const more = batch('after', 20, 9999);
        expect((await m.api.post('/v1/namespaces/d/memories', { memories: more })).status).toBe(201);
        for (const x of more) acked.set(x.id, x.vector);
        await expectConsistent(m.api, 'd', acked);
      } finally {
        await m.close();
      }
      const again = await startMembank(mountPoint);
      try {
        await expectConsistent(again.api, 'd', acked);
      } finally {
        await again.close();
      }
    } finally {
      unmount();
    }
  });
});
