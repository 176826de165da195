/** MembankClient against a real membank (SQLite, HNSW, HTTP), plus a flaky front for the retry paths. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MembankClient, MembankError } from '../src/client/index.js';
import { randomVectors, startMembank, type Running } from './helpers.js';

let running: Running;
let client: MembankClient;

beforeAll(async () => {
  running = await startMembank();
  client = new MembankClient({ url: running.url });
});
afterAll(() => running.close());

describe('MembankClient', () => {
  it('covers namespaces, memories, documents and queries', async () => {
    expect((await client.health()).status).toBe('ok');
    const ns = await client.createNamespace({ name: 'c1' });
    expect(ns).toMatchObject({ name: 'c1', embedder: 'hash-64', dimensions: 64 });
    expect((await client.listNamespaces()).map((n) => n.name)).toContain('c1');

    const ids = await client.writeMemories('c1', [
      { id: 'a/b#1', text: 'the cat sat on the mat', metadata: { user: 'ann' }, timestamp: '2024-01-02T03:04:05Z' },
      { text: 'quarterly report due friday', metadata: { user: 'bob' } },
    ]);
    expect(ids[0]).toBe('a/b#1');
    const memory = await client.getMemory('c1', 'a/b#1', { vector: true });
    expect(memory).toMatchObject({ id: 'a/b#1', text: 'the cat sat on the mat', timestamp: '2024-01-02T03:04:05.000Z' });
    expect(memory.vector).toHaveLength(64);

    const hits = await client.query('c1', { query: 'the cat sat on the mat', k: 1 });
    expect(hits[0]).toMatchObject({ id: 'a/b#1', metadata: { user: 'ann' } });
    const filtered = await client.query('c1', { query: 'cat', k: 5, filter: { user: 'bob' } });
    expect(filtered.map((h) => h.id)).toEqual([ids[1]]);

    const docs = await client.writeDocuments('c1', [{ id: 'doc', text: 'One sentence. '.repeat(200) }], { maxChars: 500, overlap: 0 });
    expect(docs[0]!.chunks.length).toBeGreaterThan(1);
    const all = [];
    for await (const m of client.memories('c1', { pageSize: 2 })) all.push(m.id);
    expect(all.length).toBe(2 + docs[0]!.chunks.length);
    await client.deleteDocument('c1', 'doc');
    await client.deleteMemory('c1', 'a/b#1');
    expect((await client.listMemories('c1')).memories.map((m) => m.id)).toEqual([ids[1]]);

    const stats = await client.getNamespace('c1');
    expect(stats.count).toBe(1);
    expect(stats.index.elements).toBe(1);
    await client.deleteNamespace('c1');
    expect((await client.listNamespaces()).map((n) => n.name)).not.toContain('c1');
  });

  it('covers facts, entities and commands', async () => {
    await client.createNamespace({ name: 'f1', facts: { singleValued: ['lives_in'] } });
    const [first] = await client.writeFacts('f1', [{ subject: 'Ann', predicate: 'lives_in', object: 'Paris' }]);
    await client.writeFacts('f1', [{ subject: 'Ann', predicate: 'lives_in', object: 'Rome' }, { subject: 'Ann', predicate: 'knows', object: 'Bob' }]);
    expect((await client.readFacts('f1', { subject: 'ann', predicate: 'lives_in' })).map((f) => f.object)).toEqual(['Rome']);
    const history = await client.readFacts('f1', { subject: 'Ann', predicate: 'lives_in', history: true });
    expect(history.find((f) => f.id === first)?.supersededBy).not.toBeNull();
    const found = await client.searchFacts('f1', { query: 'Ann knows Bob', k: 1 });
    expect(found[0]).toMatchObject({ object: 'Bob' });
    expect(found[0]!.score).toBeGreaterThan(0);
    const graph = await client.entity('f1', 'Ann', 1);
    expect(graph.nodes.map((n) => n.name).sort()).toEqual(['Ann', 'Bob', 'Rome']);
    const results = await client.factCommands('f1', 'ok [MEM_WRITE{Bob»likes»tea}] then [MEM_READ{Bob»likes»}]');
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    expect(await client.deleteFacts('f1', { subject: 'Bob' })).toBe(1);
    await client.deleteFact('f1', found[0]!.id);
    expect((await client.readFacts('f1')).map((f) => f.object)).toEqual(['Rome']);
  });

  it('covers selections: findMemories and its pages, partial updates, field values, erase by filter, text or ids', async () => {
    await client.createNamespace({ name: 's1', embedder: null, dimensions: null, metadata: { team: 'a' } });
    const rows = Array.from({ length: 7 }, (_, i) => ({
      id: `m${i}`,
      vector: [1, i, 0],
      text: i % 2 === 0 ? `even note ${i}` : `odd note ${i}`,
      metadata: { user: i < 4 ? 'ann' : 'bob', n: i },
    }));
    await client.writeMemories('s1', rows);
    expect((await client.getNamespace('s1')).dimensions).toBe(3);

    const first = await client.findMemories('s1', { filter: { user: 'ann' }, limit: 3 });
    expect(first.memories.map((m) => m.id)).toEqual(['m0', 'm1', 'm2']);
    const next = await client.findMemories('s1', { filter: { user: 'ann' }, limit: 3, cursor: first.nextCursor! });
    expect(next).toMatchObject({ memories: [{ id: 'm3' }], nextCursor: null });
    const texts = await client.findMemories('s1', { textFilter: { $regex: '^odd' }, offset: 1, limit: 10, vector: true });
    expect(texts.memories.map((m) => [m.id, m.vector])).toEqual([['m3', [1, 3, 0]], ['m5', [1, 5, 0]]]);
    expect((await client.findMemories('s1', { ids: ['m6', 'm0', 'nope'] })).memories.map((m) => m.id)).toEqual(['m0', 'm6']);
    const paged = [];
    for await (const m of client.memories('s1', { filter: { n: { $gte: 2 } }, textFilter: { $contains: 'even' }, pageSize: 1 })) paged.push(m.id);
    expect(paged).toEqual(['m2', 'm4', 'm6']);
    const skipped = [];
    for await (const m of client.memories('s1', { offset: 5, pageSize: 1 })) skipped.push(m.id);
    expect(skipped).toEqual(['m5', 'm6']);

    expect(await client.fieldValues('s1', 'user')).toEqual([{ value: 'ann', count: 4 }, { value: 'bob', count: 3 }]);
    expect(await client.fieldValues('s1', 'user', 1)).toEqual([{ value: 'ann', count: 4 }]);

    const before = await client.getMemory('s1', 'm1');
    const update = await client.updateMemories('s1', [{ id: 'm1', metadata: { user: 'ann', n: 10 } }, { id: 'ghost', text: 'x' }]);
    expect(update).toMatchObject({ updated: ['m1'], missing: ['ghost'] });
    expect(typeof update.seq).toBe('number');
    const patched = await client.patchMemory('s1', 'm1', { text: 'rewritten' });
    expect(patched).toMatchObject({ id: 'm1', text: 'rewritten', metadata: { n: 10 }, strength: before.strength, createdAt: before.createdAt });
    expect(patched.seq).toBeGreaterThan(update.seq);
    await expect(client.patchMemory('s1', 'ghost', { text: 'x' })).rejects.toMatchObject({ status: 404, code: 'MEMORY_NOT_FOUND' });

    expect(await client.erase('s1', { user: 'bob', n: { $gte: 6 } })).toBe(1); // a bare Where, as before
    expect(await client.erase('s1', { ids: ['m5', 'nope'] })).toBe(1);
    expect(await client.erase('s1', { textFilter: { $contains: 'even' }, filter: { user: 'ann' } })).toBe(2);
    expect((await client.findMemories('s1')).memories.map((m) => m.id)).toEqual(['m1', 'm3', 'm4']);
    // A Where on fields named like a selection's keys stays a Where.
    await client.writeMemories('s1', [{ id: 'w', vector: [0, 0, 1], metadata: { ids: 'x' } }]);
    expect(await client.erase('s1', { ids: { $in: ['x'] } })).toBe(1);

    const renamed = await client.patchNamespace('s1', { name: 's1-renamed', metadata: { team: 'b' }, hnsw: { efSearch: 99 } });
    expect(renamed).toMatchObject({ name: 's1-renamed', metadata: { team: 'b' }, hnsw: { efSearch: 99 } });
    expect((await client.getNamespace('s1-renamed')).id).toBe((await client.listNamespaces()).find((n) => n.name === 's1-renamed')!.id);
    await expect(client.findMemories('s1', {})).rejects.toMatchObject({ code: 'NAMESPACE_NOT_FOUND' });
  });

  it('erases more ids than one request takes', async () => {
    await client.createNamespace({ name: 's2', embedder: null, dimensions: 2 });
    const ids = Array.from({ length: 1500 }, (_, i) => `e${i}`);
    await client.writeMemories('s2', ids.slice(0, 1000).map((id) => ({ id, vector: [1, 0] })));
    await client.writeMemories('s2', ids.slice(1000).map((id) => ({ id, vector: [0, 1] })));
    expect(await client.erase('s2', { ids: [...ids, 'missing'] })).toBe(1500);
    expect((await client.getNamespace('s2')).count).toBe(0);
  });

  it('covers embeddings, models and jobs', async () => {
    const models = await client.models();
    expect(models.data.map((m) => m.id)).toContain('hash-64');
    const answer = await client.embeddings({ model: 'hash-64', input: ['a', 'b'] });
    expect(answer.data).toHaveLength(2);
    await client.createNamespace({ name: 'j1' });
    await client.writeMemories('j1', [{ text: 'x' }]);
    const job = await client.reembed('j1', 'hash-64');
    expect((await client.getJob(job.id)).id).toBe(job.id);
  });

  it('throws MembankError with the status and the server error code', async () => {
    await expect(client.getNamespace('nope')).rejects.toMatchObject({ name: 'MembankError', status: 404, code: 'NAMESPACE_NOT_FOUND' });
    await client.createNamespace({ name: 'v1', embedder: null, dimensions: 3 });
    await expect(client.writeMemories('v1', [{ vector: [1, 2] }])).rejects.toMatchObject({ status: 400, code: 'DIMENSION_MISMATCH' });
    // A contract violation the types forbid still gets the server's answer, not a crash.
    await expect(client.query('v1', { k: 0, vector: [1, 2, 3] })).rejects.toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    await client.writeMemories('v1', randomVectors(3, 3).map((vector) => ({ vector })));
    expect(await client.query('v1', { vector: [1, 0, 0], k: 2 })).toHaveLength(2);
  });

  it('reports an unreachable server as NETWORK_ERROR', async () => {
    const offline = new MembankClient({ url: 'http://127.0.0.1:1', retries: 1, backoffMs: 1 });
    const error = await offline.health().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MembankError);
    expect(error).toMatchObject({ status: 0, code: 'NETWORK_ERROR' });
  });
});

/** A front that answers the first `failures` requests with `status`, then forwards to the real server. */
async function flakyFront(status: number, failures: number): Promise<{ url: string; seen: () => number; server: Server }> {
  let seen = 0;
  const server = createServer(async (req, res) => {
    seen++;
    if (seen <= failures) {
      res.writeHead(status, { 'content-type': 'application/json', 'retry-after': '0' });
      res.end(JSON.stringify({ error: { code: status === 503 ? 'SHUTTING_DOWN' : 'VALIDATION_FAILED', message: 'busy' } }));
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const answer = await fetch(running.url + req.url, {
      method: req.method,
      headers: { 'content-type': 'application/json' },
      body: chunks.length ? Buffer.concat(chunks) : undefined,
    });
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(await answer.text());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen: () => seen, server };
}

describe('retries', () => {
  it('retries 503 and 429, then succeeds', async () => {
    for (const status of [503, 429]) {
      const front = await flakyFront(status, 2);
      const flaky = new MembankClient({ url: front.url, retries: 3, backoffMs: 1 });
      await flaky.createNamespace({ name: `r${status}` });
      expect(front.seen()).toBe(3);
      front.server.close();
    }
  });

  it('gives up after the configured retries with the last error', async () => {
    const front = await flakyFront(503, 100);
    const flaky = new MembankClient({ url: front.url, retries: 2, backoffMs: 1 });
    await expect(flaky.health()).rejects.toMatchObject({ status: 503, code: 'SHUTTING_DOWN' });
    expect(front.seen()).toBe(3);
    front.server.close();
  });

  it('does not retry other errors', async () => {
    const front = await flakyFront(400, 1);
    const flaky = new MembankClient({ url: front.url, retries: 3, backoffMs: 1 });
    await expect(flaky.health()).rejects.toMatchObject({ status: 400 });
    expect(front.seen()).toBe(1);
    front.server.close();
  });

  it('gives up after timeoutMs with TIMEOUT', async () => {
    const server = createServer(() => {}); // accepts, never answers
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const slow = new MembankClient({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, timeoutMs: 100, retries: 0 });
    const started = Date.now();
    await expect(slow.health()).rejects.toMatchObject({ status: 0, code: 'TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(2000);
    server.closeAllConnections();
    server.close();
  });

  it('sends the API key as a bearer token', async () => {
    let authorization: string | undefined;
    const server = createServer((req, res) => {
      authorization = req.headers.authorization;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    await new MembankClient({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, apiKey: 's3cret' }).health();
    expect(authorization).toBe('Bearer s3cret');
    server.close();
  });
});

it('the client loads nothing of the server at run time (type-only imports outside its folder)', () => {
  const dir = join(import.meta.dirname, '..', 'src', 'client');
  const offenders = readdirSync(dir).flatMap((file) =>
    [...readFileSync(join(dir, file), 'utf8').matchAll(/^import\s+(?!type\b)[^'"]*from\s+['"]([^'"]+)['"]/gm)]
      .map((m) => m[1]!)
      .filter((spec) => !spec.startsWith('./'))
      .map((spec) => `${file} imports ${spec}`),
  );
  expect(offenders).toEqual([]);
});
