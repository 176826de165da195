/**
 * Namespaces' identity (uid, metadata, rename, dimensions set by the first write, search settings changed
 * later) and memories selected by filter, text filter and ids: listed, updated in part, erased. Through HTTP,
 * against the real store and index.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Running, startMembank } from './helpers.js';

let m: Running;
beforeAll(async () => {
  m = await startMembank();
});
afterAll(() => m.close());

const ok = async (method: string, path: string, body?: unknown) => {
  const r = await m.api.call(method, path, body);
  expect(r.status, `${method} ${path}: ${JSON.stringify(r.body)}`).toBeLessThan(300);
  return r.body;
};

describe('namespace identity', () => {
  it('keeps its id, memories and index through a rename, with metadata and search settings patched', async () => {
    const created = await ok('POST', '/v1/namespaces', { name: 'before', embedder: null, dimensions: 2, metadata: { owner: 'ann' } });
    expect(created.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(created.metadata).toEqual({ owner: 'ann' });
    await ok('POST', '/v1/namespaces/before/memories', { memories: [{ id: 'a', vector: [1, 0] }, { id: 'b', vector: [0, 1] }] });
    expect((await ok('POST', '/v1/namespaces/before/query', { vector: [1, 0.1], k: 1 })).results[0].id).toBe('a');

    const renamed = await ok('PATCH', '/v1/namespaces/before', { name: 'after', metadata: { owner: 'bob' }, hnsw: { efSearch: 99 } });
    expect(renamed).toMatchObject({ id: created.id, name: 'after', metadata: { owner: 'bob' }, hnsw: { efSearch: 99 } });
    expect((await m.api.get('/v1/namespaces/before')).status).toBe(404);
    expect((await ok('POST', '/v1/namespaces/after/query', { vector: [0.1, 1], k: 1 })).results[0].id).toBe('b');
    expect((await ok('GET', '/v1/namespaces/after')).count).toBe(2);

    await ok('POST', '/v1/namespaces', { name: 'taken', embedder: null, dimensions: 2 });
    const clash = await m.api.call('PATCH', '/v1/namespaces/after', { name: 'taken' });
    expect(clash.status).toBe(409);
    expect(clash.body.error.code).toBe('NAMESPACE_CONFLICT');
    // Creating it again under its old name is a new namespace, with another id.
    expect((await ok('POST', '/v1/namespaces', { name: 'before', embedder: null, dimensions: 2 })).id).not.toBe(created.id);
  });

  it('lets the first write decide the dimensions of a namespace created with dimensions null', async () => {
    const created = await ok('POST', '/v1/namespaces', { name: 'open', embedder: null, dimensions: null });
    expect(created.dimensions).toBeNull();
    expect((await m.api.post('/v1/namespaces', { name: 'closed', embedder: null })).status).toBe(400); // still explicit
    await ok('POST', '/v1/namespaces/open/memories', { memories: [{ id: 'x', vector: [1, 2, 3] }] });
    expect((await ok('GET', '/v1/namespaces/open')).dimensions).toBe(3);
    const wrong = await m.api.post('/v1/namespaces/open/memories', { memories: [{ id: 'y', vector: [1, 2] }] });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.code).toBe('DIMENSION_MISMATCH');
    expect((await ok('POST', '/v1/namespaces/open/query', { vector: [1, 2, 3], k: 1 })).results[0].id).toBe('x');
  });
});

describe('selections', () => {
  beforeAll(async () => {
    await ok('POST', '/v1/namespaces', { name: 'sel' });
    await ok('POST', '/v1/namespaces/sel/memories', {
      memories: [
        { id: 'r1', text: 'The robot cleaned the kitchen', metadata: { kind: 'chore', n: 1 } },
        { id: 'r2', text: 'An android played chess', metadata: { kind: 'game', n: 2 } },
        { id: 'r3', text: 'The ROBOT sang', metadata: { kind: 'song', n: 3 } },
        { id: 'r4', text: 'Nothing mechanical here', metadata: { kind: 'chore', n: 4 } },
      ],
    });
  });

  it('lists by filter, text filter and ids, in insertion order, with cursor and offset', async () => {
    const list = async (body: object) => (await ok('POST', '/v1/namespaces/sel/memories/list', body)).memories.map((x: { id: string }) => x.id);
    expect(await list({ filter: { kind: 'chore' } })).toEqual(['r1', 'r4']);
    expect(await list({ textFilter: { $contains: 'robot' } })).toEqual(['r1']);
    expect(await list({ textFilter: { $regex: '(?i)robot|android' } })).toEqual(['r1', 'r2', 'r3']);
    expect(await list({ textFilter: { $not_contains: 'robot' }, filter: { n: { $gte: 2 } } })).toEqual(['r2', 'r3', 'r4']);
    expect(await list({ ids: ['r4', 'r2', 'nope'] })).toEqual(['r2', 'r4']);
    expect(await list({ offset: 1, limit: 2 })).toEqual(['r2', 'r3']);
    const first = await ok('POST', '/v1/namespaces/sel/memories/list', { limit: 3 });
    expect(first.nextCursor).not.toBeNull();
    expect(await list({ cursor: first.nextCursor })).toEqual(['r4']);
    for (const bad of [{ textFilter: { $regex: '(' } }, { textFilter: { $like: 'x' } }, { cursor: first.nextCursor, offset: 1 }]) {
      const r = await m.api.post('/v1/namespaces/sel/memories/list', bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
    }
  });

  it('filters on metadata keys that a JSON path cannot name (quotes, backslashes, control characters)', async () => {
    await ok('POST', '/v1/namespaces', { name: 'odd', embedder: null, dimensions: 2 });
    const keys = ['say "hi"', 'back\\slash', 'tab\tkey'];
    await ok('POST', '/v1/namespaces/odd/memories', {
      memories: [{ id: 'x', vector: [1, 0], metadata: Object.fromEntries(keys.map((k) => [k, 1])) }, { id: 'y', vector: [0, 1], metadata: {} }],
    });
    for (const key of keys) {
      const filter = { kind: 'compare' as const, path: [key], op: '$eq' as const, value: 1 };
      const page = await m.membank.service.findMemories('odd', { filter, limit: 10, withVector: false });
      expect(page.memories.map((x) => x.id), key).toEqual(['x']);
      const hits = await m.membank.service.query('odd', { vector: [0, 1], k: 2, filter, include: [] });
      expect(hits.map((h) => h.memory.id), key).toEqual(['x']);
    }
  });

  it('queries within given ids', async () => {
    const hits = await m.membank.service.query('sel', { query: 'robot', mode: 'keyword', k: 10, ids: ['r3', 'r4'] });
    expect(hits.map((h) => h.memory.id)).toEqual(['r3']);
  });

  it('queries within a text filter in every mode', async () => {
    for (const mode of ['vector', 'keyword', 'hybrid']) {
      const body = { query: 'robot android', mode, k: 10, textFilter: { $contains: 'ROBOT' } };
      expect((await ok('POST', '/v1/namespaces/sel/query', body)).results.map((r: { id: string }) => r.id)).toEqual(['r3']);
    }
  });

  it('updates memories in part, keeping their strength and recalls, re-embedding a new text', async () => {
    await ok('POST', '/v1/namespaces/sel/query', { query: 'android chess', k: 1 }); // a recall of r2
    await new Promise((resolve) => setTimeout(resolve, 1100)); // recalls are written once a second
    const before = await ok('GET', '/v1/namespaces/sel/memories/r2');
    expect(before.recallCount).toBe(1);
    const patched = await ok('PATCH', '/v1/namespaces/sel/memories/r2', { metadata: { kind: 'game', n: 20 } });
    expect(patched).toMatchObject({ id: 'r2', text: 'An android played chess', metadata: { n: 20 }, recallCount: 1, strength: before.strength });
    await ok('PATCH', '/v1/namespaces/sel/memories/r2', { text: 'A cyborg baked bread' });
    const hits = (await ok('POST', '/v1/namespaces/sel/query', { query: 'cyborg bread', mode: 'keyword', k: 1 })).results;
    expect(hits[0].id).toBe('r2');
    expect((await ok('POST', '/v1/namespaces/sel/query', { query: 'android', mode: 'keyword', k: 5 })).results.map((r: { id: string }) => r.id)).toEqual([]);
    const bulk = await ok('POST', '/v1/namespaces/sel/memories/update', { memories: [{ id: 'r1', metadata: { kind: 'done' } }, { id: 'ghost', text: 'x' }] });
    expect(bulk).toMatchObject({ updated: ['r1'], missing: ['ghost'] });
    expect((await m.api.call('PATCH', '/v1/namespaces/sel/memories/ghost', { text: 'x' })).status).toBe(404);
    expect((await m.api.call('PATCH', '/v1/namespaces/sel/memories/r1', {})).status).toBe(400);
  });

  it('gives the distinct values of a field, and erases by ids and by text filter', async () => {
    const values = (await ok('GET', '/v1/namespaces/sel/values?field=kind')).values;
    expect(values).toEqual(expect.arrayContaining([{ value: 'chore', count: 1 }, { value: 'done', count: 1 }]));
    expect((await ok('POST', '/v1/namespaces/sel/memories/delete', { ids: ['r4'] })).deleted).toBe(1);
    expect((await ok('POST', '/v1/namespaces/sel/memories/delete', { textFilter: { $contains: 'ROBOT' } })).deleted).toBe(1);
    expect((await ok('GET', '/v1/namespaces/sel/memories')).memories.map((x: { id: string }) => x.id)).toEqual(['r1', 'r2']);
    expect((await m.api.post('/v1/namespaces/sel/memories/delete', {})).status).toBe(400);
  });
});
