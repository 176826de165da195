/**
 * Scale on one machine (issue 12), as behaviour: namespaces load on first use and are unloaded under a memory
 * budget, answering correctly again after what happened while they were unloaded; concurrent first queries load
 * once; a start reads no index file; filters at every selectivity return the exact top-k; one timer serves a
 * forgetting schedule however many namespaces share it; a kill loses nothing written to unloaded namespaces.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { exactSearch } from '../src/core/distance.js';
import { asLabel } from '../src/core/types.js';
import { hnswIndexFactory } from '../src/adapters/hnsw/hnsw-index.js';
import type { VectorIndexFactory } from '../src/ports/vector-index.js';
import { api, exited, randomVectors, spawnMembank, startMembank, tempDir } from './helpers.js';

const DIM = 16;

function capturingLogger() {
  const lines: { msg: string; namespace?: string; how?: string }[] = [];
  return { logger: pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) }), lines };
}

/** The real HNSW factory, counting the graphs it loads from files and builds. */
function countingFactory() {
  const counts = { loads: 0, builds: 0 };
  const factory: VectorIndexFactory = {
    kind: hnswIndexFactory.kind,
    create: (shape, capacity) => hnswIndexFactory.create(shape, capacity),
    load: (file, shape, deleted) => {
      counts.loads++;
      return hnswIndexFactory.load(file, shape, deleted);
    },
    build: (shape, labels, vectors, scratch) => {
      counts.builds++;
      return hnswIndexFactory.build(shape, labels, vectors, scratch);
    },
  };
  return { factory, counts };
}

describe('namespaces load on demand and are unloaded under a budget', () => {
  it('answers correctly after writes, deletes and expiry that happened while unloaded', async () => {
    let clock = Date.parse('2026-06-01T00:00:00Z');
    const log = capturingLogger();
    // A budget of 1 MiB holds one 4,000-vector namespace of 16 dimensions (about 0.5 MiB), not two.
    const m = await startMembank(tempDir(), { indexMemoryMb: 1 }, { clock: () => clock }, log.logger);
    try {
      const vectors = randomVectors(8000, DIM, 3);
      for (const ns of ['a', 'b']) {
        expect((await m.api.post('/v1/namespaces', { name: ns, embedder: null, dimensions: DIM })).status).toBe(201);
        const offset = ns === 'a' ? 0 : 4000;
        for (let start = 0; start < 4000; start += 1000) {
          const memories = vectors.slice(offset + start, offset + start + 1000).map((vector, i) => ({ id: `${ns}${start + i}`, vector, metadata: { i: start + i } }));
          expect((await m.api.post(`/v1/namespaces/${ns}/memories`, { memories })).status).toBe(201);
        }
      }
      const top = async (ns: string, vector: number[], filter?: object) =>
        (await m.api.post(`/v1/namespaces/${ns}/query`, { vector, k: 1, filter, reinforce: false })).body.results[0]?.id;
      expect(await top('a', vectors[10]!)).toBe('a10');
      expect(await top('b', vectors[4010]!)).toBe('b10');
      const loaded = async (ns: string) => (await m.api.get(`/v1/namespaces/${ns}`)).body.index.loaded;
      for (let i = 0; i < 100 && (await loaded('a')); i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await loaded('a')).toBe(false); // a was unloaded to make room for b
      expect(await loaded('b')).toBe(true);
      expect(m.membank.service.cacheStats().evictions).toBeGreaterThanOrEqual(1);

      // While a is unloaded: a new memory, a replaced one, a deleted one, one that expires.
      const fresh = randomVectors(3, DIM, 99);
      await m.api.post('/v1/namespaces/a/memories', { memories: [{ id: 'new', vector: fresh[0] }, { id: 'a20', vector: fresh[1] }, { id: 'soon', vector: fresh[2], ttl: 60 }] });
      expect((await m.api.del('/v1/namespaces/a/memories/a30')).status).toBe(204);
      clock += 120_000;
      expect(await loaded('a')).toBe(false);

      expect(await top('a', fresh[0]!)).toBe('new');
      expect(await top('a', fresh[1]!)).toBe('a20');
      expect(await top('a', vectors[30]!)).not.toBe('a30');
      expect(await top('a', fresh[2]!)).not.toBe('soon');
      expect(await top('a', vectors[40]!, { i: 40 })).toBe('a40'); // filters work on a reloaded namespace
      expect((await m.api.get('/v1/namespaces/a')).body.index).toMatchObject({ loaded: true, elements: 4001 }); // 4000 + new + soon − a30
      expect(log.lines.filter((l) => l.msg === 'index ready' && l.namespace === 'a').length).toBe(2);
      expect(log.lines.some((l) => l.msg === 'namespace unloaded')).toBe(true);
    } finally {
      await m.close();
    }
  });

  it('loads a namespace once for many concurrent first queries', async () => {
    const dir = tempDir();
    const first = await startMembank(dir);
    await first.api.post('/v1/namespaces', { name: 'c', embedder: null, dimensions: DIM });
    const vectors = randomVectors(500, DIM, 4);
    await first.api.post('/v1/namespaces/c/memories', { memories: vectors.map((vector, i) => ({ id: `c${i}`, vector })) });
    await first.close();
    const log = capturingLogger();
    const m = await startMembank(dir, {}, {}, log.logger);
    try {
      const answers = await Promise.all(vectors.slice(0, 20).map((vector) => m.api.post('/v1/namespaces/c/query', { vector, k: 1 })));
      expect(answers.map((a) => a.body.results[0].id)).toEqual(vectors.slice(0, 20).map((_, i) => `c${i}`));
      expect(log.lines.filter((l) => l.msg === 'index ready' && l.namespace === 'c')).toHaveLength(1);
    } finally {
      await m.close();
    }
  });

  it('reads no index file at start, however many namespaces have graphs', async () => {
    const dir = tempDir();
    const setup = await startMembank(dir);
    const vectors = randomVectors(60, DIM, 5);
    for (let n = 0; n < 12; n++) {
      await setup.api.post('/v1/namespaces', { name: `g${n}`, embedder: null, dimensions: DIM, hnsw: { threshold: 50 } });
      await setup.api.post(`/v1/namespaces/g${n}/memories`, { memories: vectors.map((vector, i) => ({ id: `v${i}`, vector })) });
      await setup.api.post(`/v1/namespaces/g${n}/query`, { vector: vectors[0], k: 1 });
      await setup.membank.service.settled(`g${n}`);
    }
    await setup.close();

    const { factory, counts } = countingFactory();
    const m = await startMembank(dir, {}, { indexFactory: factory });
    try {
      expect(counts).toEqual({ loads: 0, builds: 0 });
      expect((await m.api.get('/v1/namespaces')).body.namespaces).toHaveLength(12);
      expect(counts.loads).toBe(0);
      expect((await m.api.post('/v1/namespaces/g7/query', { vector: vectors[3], k: 1 })).body.results[0].id).toBe('v3');
      expect(counts).toEqual({ loads: 1, builds: 0 }); // its checkpoint, nothing rebuilt
    } finally {
      await m.close();
    }
  });

  it('serves a forgetting schedule shared by many namespaces with one timer', async () => {
    const m = await startMembank();
    try {
      for (let n = 0; n < 30; n++) await m.api.post('/v1/namespaces', { name: `s${n}`, forgetting: n < 20 ? {} : { schedule: '*/5 * * * *' } });
      expect(m.membank.service.cacheStats().scheduleTimers).toBe(2);
      expect(m.membank.service.cacheStats().loaded).toBe(0); // creating a namespace loads nothing
    } finally {
      await m.close();
    }
  });
});

describe('filters at every selectivity', () => {
  it('return the exact top-k within the filter, on the graph paths as on the exact one', async () => {
    // Exact search up to 100 matches only: the 10% and 50% filters take the graph (callback, post-filtering).
    const m = await startMembank(tempDir(), { exactSearchThreshold: 100 });
    try {
      const N = 6000;
      const vectors = randomVectors(N, DIM, 6);
      const share = (i: number, s: number) => (i * 2654435761) % 10_000 < s * 10_000;
      const shares = [0.002, 0.01, 0.1, 0.5];
      // threshold 1000: a graph, so that broad filters take the graph paths (callback and post-filtering).
      await m.api.post('/v1/namespaces', { name: 'f', embedder: null, dimensions: DIM, space: 'l2', hnsw: { threshold: 1000 } });
      for (let start = 0; start < N; start += 1000) {
        const memories = vectors.slice(start, start + 1000).map((vector, j) => {
          const i = start + j;
          return { id: `v${i}`, vector, metadata: Object.fromEntries(shares.map((s, k) => [`s${k}`, share(i, s)])) };
        });
        await m.api.post('/v1/namespaces/f/memories', { memories });
      }
      await m.api.post('/v1/namespaces/f/query', { vector: vectors[0], k: 1 });
      await m.membank.service.settled('f');
      expect((await m.api.get('/v1/namespaces/f')).body.index.kind).toBe('hnsw');
      const queries = randomVectors(30, DIM, 7);
      for (const [k, s] of shares.entries()) {
        const within = vectors.flatMap((vector, i) => (share(i, s) ? [{ label: asLabel(i), vector: Float32Array.from(vector) }] : []));
        let found = 0;
        let total = 0;
        for (const q of queries) {
          const truth = exactSearch('l2', Float32Array.from(q), within, 10).map((n) => `v${n.label}`);
          const hits = (await m.api.post('/v1/namespaces/f/query', { vector: q, k: 10, filter: { [`s${k}`]: true }, reinforce: false })).body.results;
          for (const hit of hits) expect(within.some((w) => `v${w.label}` === hit.id), `${hit.id} is outside the filter`).toBe(true);
          found += hits.filter((h: { id: string }) => truth.includes(h.id)).length;
          total += truth.length;
        }
        expect(found / total, `recall@10 at ${s * 100}%`).toBeGreaterThanOrEqual(0.98);
      }
    } finally {
      await m.close();
    }
  });
});

describe('a kill with unloaded namespaces', () => {
  it('loses nothing written to namespaces that were never loaded or were unloaded', async () => {
    const dir = tempDir();
    const first = await spawnMembank(['--data-dir', dir, '--index-memory-mb', '1']);
    const client = api(first.url);
    const vectors = randomVectors(40, DIM, 8);
    for (let n = 0; n < 40; n++) {
      expect((await client.post('/v1/namespaces', { name: `k${n}`, embedder: null, dimensions: DIM })).status).toBe(201);
      expect((await client.post(`/v1/namespaces/k${n}/memories`, { memories: [{ id: 'one', vector: vectors[n] }] })).status).toBe(201);
      if (n % 3 === 0) await client.post(`/v1/namespaces/k${n}/query`, { vector: vectors[n], k: 1 }); // some loaded, some not
    }
    first.process.kill('SIGKILL');
    await exited(first.process);
    const second = await spawnMembank(['--data-dir', dir]);
    try {
      const again = api(second.url);
      for (let n = 0; n < 40; n++) {
        expect((await again.post(`/v1/namespaces/k${n}/query`, { vector: vectors[n], k: 1 })).body.results.map((r: { id: string }) => r.id)).toEqual(['one']);
      }
    } finally {
      second.process.kill('SIGTERM');
      await exited(second.process);
    }
  });
});
