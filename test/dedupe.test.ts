/**
 * Deduplication on write against a real server (SQLite, index, HTTP): exact duplicates by normalized text, near
 * duplicates by cosine similarity, folding within one write, merge or skip, ids and explicit ids, documents and
 * expiry, the namespace setting, and concurrent identical writes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Running, startMembank } from './helpers.js';

describe('dedupe on write', () => {
  let m: Running;
  let clock = Date.UTC(2026, 0, 1);
  beforeAll(async () => {
    m = await startMembank(undefined, {}, { clock: () => clock });
  });
  afterAll(() => m.close());

  const ok = async (method: 'post' | 'get' | 'del' | 'patch', path: string, body?: unknown) => {
    const response = method === 'get' ? await m.api.get(path) : method === 'del' ? await m.api.del(path) : await m.api.call(method.toUpperCase(), path, body);
    expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBeLessThan(300);
    return response.body;
  };
  const count = async (ns: string) => (await ok('get', `/v1/namespaces/${ns}`)).count as number;

  it('is exact by default: a write whose normalized text equals a live memory’s reinforces it instead', async () => {
    const ns = await ok('post', '/v1/namespaces', { name: 'exact' });
    expect(ns.dedupe).toEqual({ mode: 'exact', threshold: 0.95 });
    const first = await ok('post', '/v1/namespaces/exact/memories', { memories: [{ text: 'Ann likes green tea.', metadata: { a: 1 } }] });
    expect(first.duplicates).toEqual([]);
    const again = await ok('post', '/v1/namespaces/exact/memories', {
      memories: [{ text: '  ANN likes\tgreen  tea. ', metadata: { b: 2 } }, { text: 'Bob likes coffee.' }],
    });
    expect(again.ids[0]).toBe(first.ids[0]);
    expect(again.ids[1]).not.toBe(first.ids[0]);
    expect(again.duplicates).toEqual([{ index: 0, id: first.ids[0], similarity: 1 }]);
    expect(await count('exact')).toBe(2);
    const memory = await ok('get', `/v1/namespaces/exact/memories/${first.ids[0]}`);
    // A duplicate is a recall: strength + 1, one more recall, the clock restarted; skip keeps the metadata.
    expect(memory).toMatchObject({ text: 'Ann likes green tea.', metadata: { a: 1 }, strength: 2, recallCount: 1 });
    expect(memory.lastRecalledAt).toBe(new Date(clock).toISOString());
  });

  it('folds identical inputs of one write, and merges metadata when asked (body default, per memory override)', async () => {
    await ok('post', '/v1/namespaces', { name: 'fold' });
    const body = await ok('post', '/v1/namespaces/fold/memories', {
      onDuplicate: 'merge',
      memories: [
        { text: 'The meeting is on Friday.', metadata: { source: 'a' } },
        { text: 'the meeting is on friday.', metadata: { room: 4 } },
        { text: 'The meeting is on  Friday.', metadata: { ignored: true }, onDuplicate: 'skip' },
      ],
    });
    expect(new Set(body.ids).size).toBe(1);
    expect(body.duplicates).toEqual([
      { index: 1, id: body.ids[0], similarity: 1 },
      { index: 2, id: body.ids[0], similarity: 1 },
    ]);
    expect(await count('fold')).toBe(1);
    const merged = await ok('post', '/v1/namespaces/fold/memories', { memories: [{ text: 'THE MEETING IS ON FRIDAY.', metadata: { room: 5 }, onDuplicate: 'merge' }] });
    expect(merged.ids).toEqual([body.ids[0]]);
    const memory = await ok('get', `/v1/namespaces/fold/memories/${body.ids[0]}`);
    expect(memory.metadata).toEqual({ source: 'a', room: 5 });
    // The merged metadata is searchable at once: the index took the change.
    const hits = await ok('post', '/v1/namespaces/fold/query', { query: 'meeting', filter: { room: 5 } });
    expect(hits.results.map((r: { id: string }) => r.id)).toEqual([body.ids[0]]);
  });

  it('leaves writes with an explicit id as upserts, and matches neither document chunks nor expired memories', async () => {
    await ok('post', '/v1/namespaces', { name: 'scope' });
    const a = await ok('post', '/v1/namespaces/scope/memories', { memories: [{ id: 'x', text: 'same words' }, { id: 'y', text: 'same words' }] });
    expect(a.ids).toEqual(['x', 'y']);
    expect(a.duplicates).toEqual([]);
    // A write without id folds into a memory written with one.
    const b = await ok('post', '/v1/namespaces/scope/memories', { memories: [{ text: 'Same Words' }] });
    expect(['x', 'y']).toContain(b.ids[0]);
    await ok('post', '/v1/namespaces/scope/documents', { documents: [{ id: 'doc', text: 'A document sentence.' }] });
    const c = await ok('post', '/v1/namespaces/scope/memories', { memories: [{ text: 'A document sentence.' }] });
    expect(c.duplicates).toEqual([]);
    const d = await ok('post', '/v1/namespaces/scope/memories', { memories: [{ text: 'short-lived', ttl: 60 }] });
    clock += 61_000;
    const e = await ok('post', '/v1/namespaces/scope/memories', { memories: [{ text: 'short-lived' }] });
    expect(e.ids[0]).not.toBe(d.ids[0]);
    expect(e.duplicates).toEqual([]);
  });

  it('is set at creation and by PATCH; off stores every write; bad settings are 400s', async () => {
    const created = await ok('post', '/v1/namespaces', { name: 'off', dedupe: { mode: 'off' } });
    expect(created.dedupe).toEqual({ mode: 'off', threshold: 0.95 });
    await ok('post', '/v1/namespaces/off/memories', { memories: [{ text: 'twice' }, { text: 'twice' }] });
    expect(await count('off')).toBe(2);
    const patched = await ok('patch', '/v1/namespaces/off', { dedupe: { mode: 'near', threshold: 0.9 } });
    expect(patched.dedupe).toEqual({ mode: 'near', threshold: 0.9 });
    expect((await ok('get', '/v1/namespaces/off')).dedupe).toEqual({ mode: 'near', threshold: 0.9 });
    for (const bad of [{ mode: 'fuzzy' }, { mode: 'near', threshold: 1.5 }, { mode: 'near', threshold: 0 }, { threshold: 0.9 }]) {
      const response = await m.api.call('PATCH', '/v1/namespaces/off', { dedupe: bad });
      expect(response.status, JSON.stringify(bad)).toBe(400);
      expect(response.body.error.code).toBe('VALIDATION_FAILED');
    }
  });

  it('near: folds a vector at least threshold-similar to a live memory or an earlier input, not a less similar one', async () => {
    await ok('post', '/v1/namespaces', { name: 'near', embedder: null, dimensions: 4, dedupe: { mode: 'near', threshold: 0.95 } });
    const base = await ok('post', '/v1/namespaces/near/memories', { memories: [{ vector: [1, 0, 0, 0], metadata: { n: 1 } }] });
    const body = await ok('post', '/v1/namespaces/near/memories', {
      memories: [
        { vector: [0.98, 0.1, 0, 0] }, // cos ≈ 0.995
        { vector: [0.8, 0.6, 0, 0] }, // cos 0.8: a new memory
        { vector: [0.79, 0.61, 0.01, 0] }, // ≈ 0.9999 to the one before it
        { vector: [0, 0, 1, 0], id: 'explicit' },
        { vector: [0, 0, 1, 0.01] }, // folds into the explicit one of this write
      ],
    });
    expect(body.ids[0]).toBe(base.ids[0]);
    expect(body.ids[1]).not.toBe(base.ids[0]);
    expect(body.ids[2]).toBe(body.ids[1]);
    expect(body.ids[4]).toBe('explicit');
    expect(body.duplicates.map((d: { index: number }) => d.index)).toEqual([0, 2, 4]);
    expect(body.duplicates[0].similarity).toBeCloseTo(0.98 / Math.hypot(0.98, 0.1), 5);
    expect(body.duplicates[0].similarity).toBeLessThan(1);
    expect(await count('near')).toBe(3);
  });

  it('stores one memory for 20 parallel identical writes, each answered with its id', async () => {
    await ok('post', '/v1/namespaces', { name: 'race' });
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => ok('post', '/v1/namespaces/race/memories', { memories: [{ text: i % 2 ? 'The Same Fact' : 'the same fact' }] })),
    );
    const ids = new Set(answers.map((a) => a.ids[0]));
    expect(ids.size).toBe(1);
    expect(answers.filter((a) => a.duplicates.length === 0)).toHaveLength(1);
    expect(await count('race')).toBe(1);
    const memory = await ok('get', `/v1/namespaces/race/memories/${[...ids][0]}`);
    expect(memory.recallCount).toBe(19);
  });
});
