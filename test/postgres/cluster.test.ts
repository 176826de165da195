/**
 * Cluster mode: several membank nodes over one PostgreSQL database. Read-your-writes across nodes under the
 * default consistency, `eventual` catching up by notification, concurrent writers of the same ids leaving
 * every node's index equal to the database id for id, scheduled forgetting once per tick across nodes, hybrid
 * ranking identical to SQLite's, and (three spawned processes) a node killed with SIGKILL while it writes.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { exited, randomVectors, type Running, spawnMembank, startMembank, tempDir, api, type Child } from '../helpers.js';
import { describePostgres, useTestDatabase } from './helpers.js';

const until = async <T>(check: () => Promise<T | undefined | false>, ms: number, what: string): Promise<T> => {
  const start = Date.now();
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
};

const cosine = (a: number[], b: number[]): number => {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
};

describePostgres('cluster mode: nodes in one process', () => {
  const database = useTestDatabase();
  const nodes: Running[] = [];
  let sql: postgres.Sql;
  beforeAll(async () => {
    for (let i = 0; i < 3; i++) nodes.push(await startMembank(tempDir(), { databaseUrl: database.url }));
    sql = postgres(database.url, { max: 2, onnotice: () => undefined, types: { bigint: postgres.BigInt } });
  });
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.close()));
    await sql?.end();
  });

  it('reads its writes on every node under the default consistency; eventual catches up by itself', async () => {
    const [a, b, c] = nodes.map((n) => n.api) as [Running['api'], Running['api'], Running['api']];
    expect((await a.post('/v1/namespaces', { name: 'ryw', embedder: null, dimensions: 3 })).status).toBe(201);
    // Loaded on B and C before the writes, so that they must catch up rather than load afresh.
    expect((await b.post('/v1/namespaces/ryw/query', { vector: [1, 0, 0], k: 5 })).body.results).toEqual([]);
    expect((await c.post('/v1/namespaces/ryw/query', { vector: [1, 0, 0], k: 5 })).body.results).toEqual([]);
    let last = 0;
    for (let i = 0; i < 20; i++) {
      const writer = [a, b, c][i % 3]!;
      const reader = [a, b, c][(i + 1) % 3]!;
      const written = await writer.post('/v1/namespaces/ryw/memories', { memories: [{ id: `m${i}`, vector: [1, i, 0] }] });
      expect(written.status).toBe(201);
      expect(written.body.seq).toBeGreaterThan(last);
      last = written.body.seq;
      const hits = (await reader.post('/v1/namespaces/ryw/query', { vector: [1, i, 0], k: 1 })).body.results;
      expect(hits.map((h: { id: string }) => h.id)).toEqual([`m${i}`]);
    }
    const gone = await fetch(`${nodes[0]!.url}/v1/namespaces/ryw/memories/m3`, { method: 'DELETE' });
    expect(gone.status).toBe(204);
    expect(Number(gone.headers.get('membank-seq'))).toBe(last + 1);
    const ids = (await c.post('/v1/namespaces/ryw/query', { vector: [1, 3, 0], k: 30 })).body.results.map((h: { id: string }) => h.id);
    expect(ids).not.toContain('m3');
    expect(ids).toHaveLength(19);

    // Eventual: answered from what the node has, which notifications bring up to date within moments.
    await a.post('/v1/namespaces/ryw/memories', { memories: [{ id: 'late', vector: [0, 0, 1] }] });
    await until(
      async () => (await b.post('/v1/namespaces/ryw/query', { vector: [0, 0, 1], k: 1, consistency: 'eventual' })).body.results[0]?.id === 'late',
      3_000,
      'an eventual query on B sees a write made on A',
    );
    expect((await b.post('/v1/namespaces/ryw/query', { vector: [0, 0, 1], k: 1, consistency: 'bogus' })).status).toBe(400);
  });

  it('leaves every node index equal to the database, id for id, after concurrent upserts and deletes of the same ids', async () => {
    const [a, b] = nodes.map((n) => n.api) as [Running['api'], Running['api']];
    await a.post('/v1/namespaces', { name: 'race', embedder: null, dimensions: 4 });
    const vectors = randomVectors(400, 4, 7);
    const work = (node: Running['api'], offset: number) =>
      (async () => {
        for (let round = 0; round < 25; round++) {
          const ids = Array.from({ length: 8 }, (_, i) => `id${(round * 3 + i + offset) % 20}`);
          const memories = ids.map((id, i) => ({ id, vector: vectors[(round * 8 + i + offset * 50) % 400]! }));
          const requests = [node.post('/v1/namespaces/race/memories', { memories })];
          if (round % 3 === offset % 3) requests.push(node.del(`/v1/namespaces/race/memories/${ids[0]}`));
          for (const r of await Promise.all(requests)) expect([201, 204, 404]).toContain(r.status);
        }
      })();
    await Promise.all([work(a, 0), work(b, 1), work(a, 2), work(b, 3)]);
    const stored = await sql<{ id: string; vector: Buffer }[]>`
      SELECT m.id, m.vector FROM memories m JOIN namespaces n ON n.id = m.namespace_id WHERE n.name = 'race'`;
    const truth = new Map(stored.map((r) => [r.id, Array.from(new Float32Array(new Uint8Array(r.vector).buffer))]));
    const probe = [0.3, -0.2, 0.9, 0.1];
    for (const node of nodes) {
      for (const consistency of ['strong', 'eventual'] as const) {
        const check = async () => {
          const hits = (await node.api.post('/v1/namespaces/race/query', { vector: probe, k: 100, consistency })).body.results as { id: string; score: number }[];
          if (hits.length !== truth.size) return false;
          return hits.every((h) => truth.has(h.id) && Math.abs(h.score - cosine(probe, truth.get(h.id)!)) < 1e-5);
        };
        await until(check, consistency === 'strong' ? 0 : 3_000, `node ${node.url} agrees with PostgreSQL (${consistency})`);
      }
    }
  });

  it('runs a schedule’s forgetting once per tick across the nodes', async () => {
    const [a] = nodes.map((n) => n.api) as [Running['api']];
    expect((await a.post('/v1/namespaces', { name: 'cron', forgetting: { enabled: true, schedule: '* * * * * *' } })).status).toBe(201);
    await a.post('/v1/namespaces/cron/memories', { memories: [{ id: 'e', text: 'expires at once', ttl: 1 }, { id: 'k', text: 'kept', importance: 1 }] });
    const started = Date.now();
    await until(async () => (await a.get('/v1/namespaces/cron')).body.forgetting.runs.some((r: { expired: number }) => r.expired > 0), 8_000, 'a scheduled run');
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const elapsed = (Date.now() - started) / 1000;
    const [row] = await sql<{ runs: number; expired: number }[]>`
      SELECT COUNT(*)::int AS runs, SUM(r.expired)::int AS expired FROM forget_runs r JOIN namespaces n ON n.id = r.namespace_id
      WHERE n.name = 'cron' AND r.trigger = 'scheduled'`;
    const { runs, expired } = row!;
    // One run per tick (at most one a second), not one per node per tick.
    expect(expired).toBe(1);
    expect(runs).toBeGreaterThanOrEqual(2);
    expect(runs).toBeLessThanOrEqual(Math.ceil(elapsed) + 1);
    const claims = await sql<{ slot: number; n: number }[]>`
      SELECT slot, COUNT(DISTINCT node)::int AS n FROM cluster_claims WHERE task = 'forget:* * * * * *' GROUP BY slot`;
    expect(claims.every((c) => c.n === 1)).toBe(true);
    expect(new Set(claims.map((c) => c.slot)).size).toBe(claims.length);
    expect((await nodes[2]!.api.get('/v1/namespaces/cron/memories')).body.memories.map((m: { id: string }) => m.id)).toEqual(['k']);
  });
});

describePostgres('cluster mode: keyword and hybrid ranking as on SQLite', () => {
  const database = useTestDatabase();
  it('answers the same ids with the same scores for the same writes', async () => {
    const sqlite = await startMembank(tempDir());
    const cluster = await startMembank(tempDir(), { databaseUrl: database.url });
    try {
      const texts = [
        'Caroline went to the LGBTQ support group on Tuesday',
        'Melanie painted a sunrise over the lake last weekend',
        'Caroline is researching adoption agencies',
        'The support group met again and Caroline spoke about her journey',
        'Melanie ran a charity race for mental health',
        'Jon lost his job as a banker and opened a dance studio',
        'Gina opened an online clothing store after losing her job',
        'The dance studio hosts a competition every spring',
      ];
      for (const node of [sqlite, cluster]) {
        await node.api.post('/v1/namespaces', { name: 'conv' });
        const written = await node.api.post('/v1/namespaces/conv/memories', {
          memories: texts.map((text, i) => ({ id: `t${i}`, text, metadata: { speaker: i % 2 ? 'Melanie' : 'Caroline' }, timestamp: 1_700_000_000_000 + i * 1000 })),
        });
        expect(written.status).toBe(201);
        await node.api.post('/v1/namespaces/conv/memories', { memories: [{ id: 't1', text: 'Melanie painted a lake at sunrise', metadata: { speaker: 'Melanie' } }] });
      }
      for (const query of ['support group Caroline', 'who opened a dance studio', 'lost job', 'sunrise lake painting']) {
        for (const mode of ['keyword', 'hybrid']) {
          const answer = async (node: Running) =>
            ((await node.api.post('/v1/namespaces/conv/query', { query, k: 5, mode })).body.results as { id: string; score: number }[]).map((h) => [h.id, h.score]);
          const expected = await answer(sqlite);
          expect(expected.length).toBeGreaterThan(0);
          expect(await answer(cluster)).toEqual(expected);
        }
      }
    } finally {
      await Promise.all([sqlite.close(), cluster.close()]);
    }
  });
});

describePostgres('cluster mode: three processes', () => {
  const database = useTestDatabase();
  const children: Child[] = [];
  const dirs = [tempDir(), tempDir(), tempDir()];
  // Small graphs checkpointed every second, so that a restarted node starts from its checkpoint.
  const start = (i: number) => spawnMembank(['--data-dir', dirs[i]!, '--database-url', database.url, '--hnsw-threshold', '50', '--checkpoint-interval', '1']);
  afterAll(async () => {
    for (const child of children) {
      if (child.process.exitCode === null && child.process.signalCode === null) {
        child.process.kill('SIGTERM');
        await exited(child.process);
      }
    }
  });

  it('serves every write a killed node acknowledged from the other nodes, and the node catches up when it is back', async () => {
    children.push(...(await Promise.all([0, 1, 2].map(start))));
    const [a, b, c] = children.map((child) => api(child.url)) as [ReturnType<typeof api>, ReturnType<typeof api>, ReturnType<typeof api>];
    expect((await a.post('/v1/namespaces', { name: 'kill', embedder: null, dimensions: 8 })).status).toBe(201);
    const vectors = randomVectors(2000, 8, 3);
    // Loaded on A, so that A keeps a graph of it.
    await a.post('/v1/namespaces/kill/query', { vector: vectors[0], k: 1 });
    // A checkpoint of A's index to restart from, then more writes while it is killed.
    const acknowledged: string[] = [];
    let stop = false;
    const writers = Array.from({ length: 4 }, (_, w) =>
      (async () => {
        for (let i = 0; !stop; i++) {
          const id = `w${w}-${i}`;
          const response = await a.post('/v1/namespaces/kill/memories', { memories: [{ id, vector: vectors[(w * 500 + i) % 2000]! }] }).catch(() => undefined);
          if (response?.status === 201) acknowledged.push(id);
          else return;
        }
      })(),
    );
    await until(async () => acknowledged.length >= 150, 30_000, '150 acknowledged writes');
    // A's graph checkpointed at least once, then more writes before the kill.
    await until(async () => (children[0]!.output().match(/"msg":"graph built"/) ? acknowledged.length : 0) > 0, 30_000, 'a graph on A');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    children[0]!.process.kill('SIGKILL');
    stop = true;
    await Promise.all(writers);
    await exited(children[0]!.process);
    expect(acknowledged.length).toBeGreaterThanOrEqual(150);

    for (const node of [b, c]) {
      const listed: string[] = [];
      let cursor: string | undefined;
      do {
        const page = (await node.get(`/v1/namespaces/kill/memories?limit=500${cursor ? `&cursor=${cursor}` : ''}`)).body;
        listed.push(...page.memories.map((m: { id: string }) => m.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(listed).toEqual(expect.arrayContaining(acknowledged));
      const hits = (await node.post('/v1/namespaces/kill/query', { vector: vectors[0], k: 1000 })).body.results.map((h: { id: string }) => h.id);
      expect(hits).toEqual(expect.arrayContaining(acknowledged.slice(0, 100)));
    }
    // More writes meanwhile, on B; A comes back and serves them all.
    await b.post('/v1/namespaces/kill/memories', { memories: [{ id: 'after', vector: vectors[1999]! }] });
    children[0] = await start(0);
    const again = api(children[0].url);
    const hit = (await again.post('/v1/namespaces/kill/query', { vector: vectors[1999], k: 1 })).body.results[0];
    expect(hit.id).toBe('after');
    // From its checkpoint, replaying what changed since (the writes after it, and B's).
    expect(children[0].output()).toMatch(/"how":"loaded","replayed":[1-9]/);
    const count = (await again.get('/v1/namespaces/kill')).body.count;
    expect(count).toBeGreaterThanOrEqual(acknowledged.length + 1);
  }, 120_000);
});
