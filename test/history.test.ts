/** The history of a memory over HTTP (real SQLite and index): every op, capped versions, tombstones, settings. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Running, startMembank } from './helpers.js';

describe('memory history', () => {
  let m: Running;
  let clock = Date.UTC(2026, 0, 1);
  beforeAll(async () => {
    m = await startMembank(undefined, {}, { clock: () => clock });
  });
  afterAll(() => m.close());

  const ok = async (method: string, path: string, body?: unknown) => {
    const response = await m.api.call(method, path, body);
    expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBeLessThan(300);
    return response.body;
  };
  const history = async (ns: string, id: string) => (await ok('GET', `/v1/namespaces/${ns}/memories/${id}/history`)).events;

  it('records created, updated (with the version replaced), deduplicated, and a deleted memory’s tombstone alone', async () => {
    const ns = await ok('POST', '/v1/namespaces', { name: 'h' });
    expect(ns.history).toEqual({ maxVersions: 10 });
    const t0 = clock;
    const { seq: s1 } = await ok('POST', '/v1/namespaces/h/memories', { memories: [{ id: 'a', text: 'Ann lives in Leeds', metadata: { v: 1 } }] });
    clock += 1000;
    const { seq: s2 } = await ok('POST', '/v1/namespaces/h/memories', { memories: [{ id: 'a', text: 'Ann lives in York', metadata: { v: 2 } }] });
    clock += 1000;
    const patched = await ok('PATCH', '/v1/namespaces/h/memories/a', { metadata: { v: 3 } });
    clock += 1000;
    const dup = await ok('POST', '/v1/namespaces/h/memories', { memories: [{ text: 'ann lives in york' }] });
    expect(dup.ids).toEqual(['a']);
    expect(await history('h', 'a')).toEqual([
      { seq: s1, at: new Date(t0).toISOString(), op: 'created' },
      { seq: s2, at: new Date(t0 + 1000).toISOString(), op: 'updated', previous: { text: 'Ann lives in Leeds', metadata: { v: 1 } } },
      { seq: patched.seq, at: new Date(t0 + 2000).toISOString(), op: 'updated', previous: { text: 'Ann lives in York', metadata: { v: 2 } } },
      { seq: patched.seq, at: new Date(t0 + 3000).toISOString(), op: 'deduplicated', similarity: 1 },
    ]);
    const deleted = await m.api.del('/v1/namespaces/h/memories/a');
    expect(deleted.status).toBe(204);
    const events = await history('h', 'a');
    expect(events).toEqual([{ seq: expect.any(Number), at: new Date(t0 + 3000).toISOString(), op: 'forgotten', policy: 'delete' }]);
    expect(JSON.stringify(events)).not.toMatch(/Leeds|York/);
    const missing = await m.api.get('/v1/namespaces/h/memories/never/history');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('MEMORY_NOT_FOUND');
  });

  it('caps earlier versions at history.maxVersions (set at creation, changed by PATCH), and marks expiry', async () => {
    await ok('POST', '/v1/namespaces', { name: 'cap', history: { maxVersions: 2 } });
    for (let v = 0; v < 5; v++) await ok('POST', '/v1/namespaces/cap/memories', { memories: [{ id: 'x', text: `version ${v}` }] });
    const kept = (await history('cap', 'x')).filter((e: { op: string }) => e.op === 'updated').map((e: { previous: { text: string } }) => e.previous.text);
    expect(kept).toEqual(['version 2', 'version 3']);
    expect((await ok('PATCH', '/v1/namespaces/cap', { history: { maxVersions: 0 } })).history).toEqual({ maxVersions: 0 });
    expect((await ok('GET', '/v1/namespaces/cap')).history).toEqual({ maxVersions: 0 });
    await ok('POST', '/v1/namespaces/cap/memories', { memories: [{ id: 'x', text: 'version 5' }] });
    expect((await history('cap', 'x')).map((e: { op: string }) => e.op)).toEqual(['created']);
    expect((await m.api.call('PATCH', '/v1/namespaces/cap', { history: { maxVersions: -1 } })).status).toBe(400);

    await ok('POST', '/v1/namespaces/cap/memories', { memories: [{ id: 'brief', text: 'gone soon', ttl: 60 }] });
    clock += 61_000;
    expect((await ok('POST', '/v1/namespaces/cap/forget', { expired: true })).expired).toBe(1);
    expect((await history('cap', 'brief')).map((e: { op: string; policy?: string }) => [e.op, e.policy])).toEqual([['expired', 'ttl']]);
  });
});
