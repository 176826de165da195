/**
 * Memory hygiene in cluster mode: three nodes over one PostgreSQL database. Concurrent identical writes spread
 * over the nodes store one memory; a memory's history is the same from every node; one node's change feed
 * follows the others' writes; a webhook sees every change of every node once per success, in order, although
 * every node runs deliveries.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Running, startMembank, tempDir } from '../helpers.js';
import { describePostgres, useTestDatabase } from './helpers.js';

describePostgres('memory hygiene in cluster mode', () => {
  const database = useTestDatabase();
  const nodes: Running[] = [];
  beforeAll(async () => {
    for (let i = 0; i < 3; i++) {
      nodes.push(await startMembank(tempDir(), { databaseUrl: database.url, webhooksAllowPrivate: true }, { webhookTiming: { pollMs: 50, retryBaseMs: 100, retryCapMs: 400, timeoutMs: 1000 } }));
    }
  });
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.close()));
  });
  const api = (i: number) => nodes[i % nodes.length]!.api;

  it('stores one memory for 20 identical writes sent at once to three nodes', async () => {
    expect((await api(0).post('/v1/namespaces', { name: 'dd' })).status).toBe(201);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => api(i).post('/v1/namespaces/dd/memories', { memories: [{ text: i % 2 ? 'Ann Likes Tea' : 'ann likes  tea' }] })),
    );
    expect(answers.every((a) => a.status === 201)).toBe(true);
    const ids = new Set(answers.map((a) => a.body.ids[0]));
    expect(ids.size).toBe(1);
    expect(answers.filter((a) => a.body.duplicates.length === 0)).toHaveLength(1);
    for (let i = 0; i < 3; i++) expect((await api(i).get('/v1/namespaces/dd')).body.count).toBe(1);
    const [id] = [...ids];
    const history = (await api(1).get(`/v1/namespaces/dd/memories/${id}/history`)).body.events;
    expect(history.map((e: { op: string }) => e.op)).toEqual(['created', ...Array(19).fill('deduplicated')].slice(0, 11));
    expect((await api(2).get(`/v1/namespaces/dd/memories/${id}`)).body.recallCount).toBe(19);
  });

  it('follows every node’s writes in one node’s change feed, and delivers them to a webhook in order', async () => {
    const received: { seq: number; id: string }[][] = [];
    const server: Server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        received.push(JSON.parse(raw).events.map((e: { seq: number; id: string }) => ({ seq: e.seq, id: e.id })));
        // A slow receiver: deliveries of other nodes would overlap if they could.
        setTimeout(() => res.writeHead(200).end(), 30);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    expect((await api(0).post('/v1/namespaces', { name: 'feed' })).status).toBe(201);
    expect((await api(0).post('/v1/webhooks', { url, namespaces: ['feed'], secret: 'cluster-secret-123456' })).status).toBe(201);
    const waiting = api(0).get('/v1/namespaces/feed/changes?since=0&wait=10');
    // Every node knows the webhook from the shared store once it looks (its poll), not only the node that made it.
    for (let i = 0; i < 12; i++) expect((await api(i + 1).post('/v1/namespaces/feed/memories', { memories: [{ id: `m${i}`, text: `memory ${i}` }] })).status).toBe(201);
    expect((await waiting).body.changes.length).toBeGreaterThan(0);
    const all = (await api(2).get('/v1/namespaces/feed/changes?since=0')).body.changes;
    expect(all.map((c: { id: string }) => c.id)).toEqual(Array.from({ length: 12 }, (_, i) => `m${i}`));
    const deadline = Date.now() + 15_000;
    while (received.flat().length < 12 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    // Each change once (every delivery succeeded), in seq order, although three nodes run deliveries.
    expect(received.flat()).toEqual(all.map((c: { seq: number; id: string }) => ({ seq: c.seq, id: c.id })));
    await new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  });
});
