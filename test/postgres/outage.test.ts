/**
 * Cluster mode while PostgreSQL goes away: a fast restart under load, then a stop of several seconds. On a
 * throwaway server of this file's own, so that the shared test server is never stopped under other suites.
 * During the outage every request gets 503 STORAGE_UNAVAILABLE with Retry-After (never a 500, never a late
 * answer); once the database is back every node serves writes again by itself within 15 s, and no
 * acknowledged write is lost.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Running, startMembank, tempDir } from '../helpers.js';
import { describePostgres, useThrowawayServer } from './helpers.js';

interface Outcome {
  kind: 'write' | 'query';
  at: number;
  status: number;
  retryAfter: string | null;
  code?: string;
  ms: number;
}

describePostgres('cluster mode: PostgreSQL restarted and stopped under load', () => {
  const throwaway = useThrowawayServer();
  const nodes: Running[] = [];
  beforeAll(async () => {
    for (let i = 0; i < 2; i++) nodes.push(await startMembank(tempDir(), { databaseUrl: throwaway.server.url }));
    expect((await nodes[0]!.api.post('/v1/namespaces', { name: 'load', embedder: null, dimensions: 2 })).status).toBe(201);
  });
  afterAll(async () => {
    if (!throwaway.server.running()) throwaway.server.start();
    await Promise.all(nodes.map((n) => n.close()));
  });

  it('answers 503 with Retry-After while the database is away, and serves again by itself when it is back', async () => {
    const outcomes: Outcome[] = [];
    const acknowledged: string[] = [];
    let stop = false;
    let n = 0;
    const call = async (url: string, body: unknown): Promise<Outcome> => {
      const started = Date.now();
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const json = (await response.json()) as { error?: { code?: string } };
      const kind = url.endsWith('/query') ? 'query' : 'write';
      return { kind, at: started, status: response.status, retryAfter: response.headers.get('retry-after'), code: json.error?.code, ms: Date.now() - started };
    };
    const load = nodes.map((node, i) =>
      (async () => {
        while (!stop) {
          const id = `m${i}-${n++}`;
          const write = await call(`${node.url}/v1/namespaces/load/memories`, { memories: [{ id, vector: [1, n % 7] }] });
          if (write.status === 201) acknowledged.push(id);
          const query = await call(`${node.url}/v1/namespaces/load/query`, { vector: [1, 0], k: 3 });
          outcomes.push(write, query);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })(),
    );
    const healthy = async (node: Running) => (await call(`${node.url}/v1/namespaces/load/memories`, { memories: [{ id: `probe-${n++}`, vector: [0, 1] }] })).status === 201;
    const backWithin = async (ms: number): Promise<number> => {
      const started = Date.now();
      for (const node of nodes) {
        while (!(await healthy(node))) {
          if (Date.now() - started > ms) throw new Error(`a node did not serve writes within ${ms} ms of the database's return`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      return Date.now() - started;
    };

    await new Promise((resolve) => setTimeout(resolve, 500));
    throwaway.server.restart('fast');
    expect(await backWithin(15_000)).toBeLessThan(15_000);

    throwaway.server.stop('fast');
    const stoppedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    const during = outcomes.length;
    const startedAt = Date.now();
    throwaway.server.start();
    expect(await backWithin(15_000)).toBeLessThan(15_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    stop = true;
    await Promise.all(load);

    // During the outage: 503 STORAGE_UNAVAILABLE with Retry-After, answered at once; never a 500.
    const failed = outcomes.filter((o) => o.status !== 200 && o.status !== 201);
    expect(failed.length).toBeGreaterThan(0);
    expect(during).toBeGreaterThan(0);
    for (const o of failed) expect(o).toMatchObject({ status: 503, code: 'STORAGE_UNAVAILABLE', retryAfter: expect.stringMatching(/^\d+$/) });
    expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(30_000);
    // While it was stopped, no default-consistency query was answered from a node that could not check its
    // freshness, and no write was acknowledged.
    const whileStopped = outcomes.filter((o) => o.at > stoppedAt && o.at + o.ms < startedAt);
    expect(whileStopped.filter((o) => o.kind === 'query').length).toBeGreaterThan(0);
    expect(whileStopped.filter((o) => o.status !== 503)).toEqual([]);

    // Every acknowledged write is there, on every node.
    for (const node of nodes) {
      const listed = new Set<string>();
      let cursor: string | undefined;
      do {
        const page = (await node.api.get(`/v1/namespaces/load/memories?limit=1000${cursor ? `&cursor=${cursor}` : ''}`)).body;
        for (const m of page.memories as { id: string }[]) listed.add(m.id);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(acknowledged.filter((id) => !listed.has(id))).toEqual([]);
      const hits = (await node.api.post('/v1/namespaces/load/query', { vector: [1, 0], k: 1000 })).body.results as unknown[];
      expect(hits.length).toBe(listed.size);
    }
  }, 90_000);
});
