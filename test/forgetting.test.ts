/**
 * Forgetting against a real server with a clock the tests move: the retention curve, recall reinforcement,
 * TTL, pruning (manual, dry run, scheduled), protection, erase with compaction, and a kill in the middle of a
 * prune.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, exited, randomVectors, type Running, spawnMembank, startMembank, tempDir } from './helpers.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2025, 0, 1);

describe('forgetting', () => {
  let m: Running;
  let dataDir: string;
  let clock = T0;
  beforeAll(async () => {
    dataDir = tempDir();
    m = await startMembank(dataDir, {}, { clock: () => clock });
  });
  afterAll(() => m.close());

  const ok = async (method: 'post' | 'get' | 'del', path: string, body?: unknown) => {
    const response = method === 'get' ? await m.api.get(path) : method === 'del' ? await m.api.del(path) : await m.api.post(path, body);
    expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBeLessThan(300);
    return response.body;
  };
  const flushRecalls = () => m.membank.service.checkpoint();
  const ids = (body: { results?: { id: string }[]; memories?: { id: string }[] }) => (body.results ?? body.memories ?? []).map((r) => r.id);

  it('shows each memory’s retention, strength and recalls, and follows the formula', async () => {
    clock = T0;
    await ok('post', '/v1/namespaces', { name: 'curve', forgetting: { timescale: 86_400 } });
    await ok('post', '/v1/namespaces/curve/memories', {
      memories: [
        { id: 'plain', text: 'an ordinary afternoon' },
        { id: 'vital', text: 'the passport is in the blue drawer', importance: 1 },
        { id: 'half', text: 'the bins go out on Tuesday', importance: 0.5 },
      ],
    });
    clock = T0 + DAY;
    const plain = await ok('get', '/v1/namespaces/curve/memories/plain');
    expect(plain).toMatchObject({ strength: 1, recallCount: 0, lastRecalledAt: null, importance: null, expiresAt: null });
    expect(plain.retention).toBeCloseTo(Math.exp(-1), 10);
    expect((await ok('get', '/v1/namespaces/curve/memories/vital')).retention).toBeCloseTo(Math.exp(-1 / 5), 10);
    expect((await ok('get', '/v1/namespaces/curve/memories/half')).strength).toBe(3);

    // A recall adds 1 to the strength and restarts the clock; reinforce: false leaves the memory alone.
    await ok('post', '/v1/namespaces/curve/query', { query: 'afternoon', mode: 'keyword', k: 1, reinforce: false });
    await flushRecalls();
    expect((await ok('get', '/v1/namespaces/curve/memories/plain')).recallCount).toBe(0);
    expect(ids(await ok('post', '/v1/namespaces/curve/query', { query: 'afternoon', mode: 'keyword', k: 1 }))).toEqual(['plain']);
    await flushRecalls();
    const recalled = await ok('get', '/v1/namespaces/curve/memories/plain');
    expect(recalled).toMatchObject({ strength: 2, recallCount: 1, lastRecalledAt: new Date(T0 + DAY).toISOString() });
    expect(recalled.retention).toBe(1);
    clock = T0 + 3 * DAY;
    expect((await ok('get', '/v1/namespaces/curve/memories/plain')).retention).toBeCloseTo(Math.exp(-2 / 2), 10);
  });

  it('prunes a memory left alone for 30 days and keeps one recalled every few days; a dry run changes nothing', async () => {
    clock = T0;
    await ok('post', '/v1/namespaces', { name: 'prune', forgetting: { enabled: true, timescale: 86_400, threshold: 0.05 } });
    await ok('post', '/v1/namespaces/prune/memories', {
      memories: [
        { id: 'left-alone', text: 'the plumber came on Monday', metadata: { topic: 'house' } },
        { id: 'recalled', text: 'my sister lives in Lisbon', metadata: { topic: 'family' } },
      ],
    });
    for (let day = 3; day <= 30; day += 3) {
      clock = T0 + day * DAY;
      expect(ids(await ok('post', '/v1/namespaces/prune/query', { query: 'sister', k: 5, filter: { topic: 'family' } }))).toEqual(['recalled']);
      await flushRecalls();
    }
    clock = T0 + 30 * DAY + 3_600_000;
    const dry = await ok('post', '/v1/namespaces/prune/forget', { retentionBelow: 0.05, dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, expired: 0, forgotten: 1, memories: [{ id: 'left-alone', reason: 'retention' }] });
    expect((await ok('get', '/v1/namespaces/prune')).count).toBe(2);

    const run = await ok('post', '/v1/namespaces/prune/forget', { retentionBelow: 0.05 });
    expect(run).toMatchObject({ dryRun: false, expired: 0, forgotten: 1 });
    expect((await m.api.get('/v1/namespaces/prune/memories/left-alone')).status).toBe(404);
    const kept = await ok('get', '/v1/namespaces/prune/memories/recalled');
    expect(kept.recallCount).toBe(10);
    expect(kept.strength).toBe(11);
    expect(kept.retention).toBeCloseTo(Math.exp(-(3_600_000 / 1000) / (11 * 86_400)), 10);
    for (const mode of ['vector', 'keyword', 'hybrid']) {
      expect(ids(await ok('post', '/v1/namespaces/prune/query', { query: 'plumber Monday', mode, k: 10, reinforce: false }))).not.toContain('left-alone');
    }
    const stats = await ok('get', '/v1/namespaces/prune');
    expect(stats.count).toBe(1);
    expect(stats.index.elements).toBe(1);
    expect(stats.forgetting.runs[0]).toMatchObject({ trigger: 'manual', expired: 0, forgotten: 1 });
  });

  it('hides expired memories from every read before any pruning, then prunes them', async () => {
    clock = T0;
    await ok('post', '/v1/namespaces', { name: 'ttl' });
    await ok('post', '/v1/namespaces/ttl/memories', {
      memories: [
        { id: 'brief', text: 'the door code is 4512 today', ttl: 60 },
        { id: 'until', text: 'the door code is 9931 this week', expiresAt: new Date(T0 + 7 * DAY).toISOString() },
        { id: 'lasting', text: 'the door code changes every week' },
      ],
    });
    expect((await ok('get', '/v1/namespaces/ttl/memories/brief')).expiresAt).toBe(new Date(T0 + 60_000).toISOString());
    clock = T0 + 61_000;
    expect((await m.api.get('/v1/namespaces/ttl/memories/brief')).status).toBe(404);
    expect(ids(await ok('get', '/v1/namespaces/ttl/memories'))).toEqual(['until', 'lasting']);
    for (const mode of ['vector', 'keyword', 'hybrid']) {
      const found = ids(await ok('post', '/v1/namespaces/ttl/query', { query: 'door code', mode, k: 10, expand: { before: 2, after: 2 } }));
      expect(found.sort()).toEqual(['lasting', 'until']);
    }
    const multi = await ok('post', '/v1/query', { namespaces: ['ttl'], query: 'door code today', k: 10 });
    expect(ids(multi)).not.toContain('brief');
    clock = T0 + 8 * DAY;
    expect(ids(await ok('post', '/v1/namespaces/ttl/query', { vector: randomVectors(1, 64, 3)[0], k: 10 }))).toEqual(['lasting']);

    const run = await ok('post', '/v1/namespaces/ttl/forget', { expired: true });
    expect(run).toMatchObject({ expired: 2, forgotten: 0 });
    const stats = await ok('get', '/v1/namespaces/ttl');
    expect(stats.count).toBe(1);
    expect(stats.index.elements).toBe(1);
  });

  it('never forgets protected memories by retention or expiry, also not by a manual run', async () => {
    clock = T0;
    await ok('post', '/v1/namespaces', { name: 'pins', forgetting: { enabled: true, protect: { pinned: true } } });
    await ok('post', '/v1/namespaces/pins/memories', {
      memories: [
        { id: 'pinned', text: 'allergic to penicillin', metadata: { pinned: true } },
        { id: 'pinned-ttl', text: 'wifi password is hunter2', metadata: { pinned: true }, ttl: 10 },
        { id: 'loose', text: 'had pasta for lunch' },
      ],
    });
    clock = T0 + 60 * DAY;
    const run = await ok('post', '/v1/namespaces/pins/forget', { retentionBelow: 0.5, expired: true });
    expect(run).toMatchObject({ expired: 0, forgotten: 1 });
    expect((await ok('post', '/v1/namespaces/pins/forget', { filter: { pinned: true } })).forgotten).toBe(0);
    expect((await ok('get', '/v1/namespaces/pins')).count).toBe(2);
    expect((await ok('get', '/v1/namespaces/pins/memories/pinned')).id).toBe('pinned');
  });

  it('PATCH changes the forgetting settings; bad ones are refused', async () => {
    await ok('post', '/v1/namespaces', { name: 'settings' });
    const before = await ok('get', '/v1/namespaces/settings');
    expect(before.forgetting).toMatchObject({ enabled: false, timescale: 86_400, threshold: 0.05, schedule: '0 * * * *', protect: null, runs: [] });
    const patched = await m.api.call('PATCH', '/v1/namespaces/settings', { forgetting: { enabled: true, threshold: 0.2, protect: { keep: true } } });
    expect(patched.status).toBe(200);
    expect(patched.body.forgetting).toMatchObject({ enabled: true, threshold: 0.2, timescale: 86_400, protect: { keep: true } });
    expect((await ok('get', '/v1/namespaces/settings')).forgetting.threshold).toBe(0.2);
    for (const bad of [{ forgetting: { schedule: 'every day' } }, { forgetting: { threshold: 1.5 } }, { forgetting: { protect: { a: { $regex: 'x' } } } }, { other: 1 }, {}]) {
      const response = await m.api.call('PATCH', '/v1/namespaces/settings', bad);
      expect(response.status, JSON.stringify(bad)).toBe(400);
      expect(response.body.error.code).toBe('VALIDATION_FAILED');
    }
    const conflict = await m.api.post('/v1/namespaces', { name: 'settings', forgetting: { threshold: 0.3 } });
    expect(conflict.status).toBe(409);
    expect((await m.api.post('/v1/namespaces', { name: 'settings', forgetting: { threshold: 0.2 } })).status).toBe(200);
    const bad = await m.api.post('/v1/namespaces/settings/memories', { memories: [{ text: 'x', ttl: 5, expiresAt: T0 }] });
    expect(bad.status).toBe(400);
  });

  it('ranks by retention when asked', async () => {
    clock = T0;
    await ok('post', '/v1/namespaces', { name: 'ranked' });
    await ok('post', '/v1/namespaces/ranked/memories', {
      memories: [
        { id: 'faded', text: 'the garden gate squeaks' },
        { id: 'fresh', text: 'the garden gate squeaks', importance: 1 },
      ],
    });
    clock = T0 + 2 * DAY;
    const body = { query: 'garden gate', mode: 'vector', k: 2, reinforce: false };
    const plain = await ok('post', '/v1/namespaces/ranked/query', body);
    expect(plain.results[0].score).toBe(plain.results[1].score);
    expect(ids(await ok('post', '/v1/namespaces/ranked/query', { ...body, rank: { retention: 1 } }))).toEqual(['fresh', 'faded']);
  });

  it('erases by filter: rows, documents, index entries, and the text from the database file', async () => {
    clock = T0;
    await ok('post', '/v1/namespaces', { name: 'erase', forgetting: { protect: { pinned: true } } });
    const secret = 'Zanzibarquokka';
    // Earlier versions in the history hold the secret too: an update keeps the text it replaced.
    await ok('post', '/v1/namespaces/erase/memories', { memories: [{ id: 'a1', text: `Old note: ${secret} 1234`, metadata: { user: 'ann' } }] });
    await ok('post', '/v1/namespaces/erase/memories', {
      memories: [
        { id: 'a1', text: `Ann's locker code mentions ${secret} 7781`, metadata: { user: 'ann', pinned: true } },
        { id: 'a2', text: 'Ann likes oat milk', metadata: { user: 'ann' } },
        { id: 'b1', text: 'Bob likes espresso', metadata: { user: 'bob' } },
      ],
    });
    await ok('post', '/v1/namespaces/erase/documents', { documents: [{ id: 'ann-diary', text: `Dear diary, ${secret} again.\n\nSecond page.`, metadata: { user: 'ann' } }] });
    await m.api.call('PATCH', '/v1/namespaces/erase/memories/a2', { text: 'Ann likes soy milk now' });
    await m.api.call('PATCH', '/v1/namespaces/erase/memories/a2', { text: 'Ann likes oat milk' });
    const before = (await ok('get', '/v1/namespaces/erase/memories/a1/history')).events;
    expect(before.map((e: { op: string }) => e.op)).toEqual(['created', 'updated']);
    expect(before[1].previous.text).toContain(secret);
    await ok('post', '/v1/namespaces/erase/query', { query: secret, k: 5 });
    await m.membank.service.checkpoint();

    const erased = await ok('post', '/v1/namespaces/erase/memories/delete', { filter: { user: 'ann' } });
    expect(erased.deleted).toBeGreaterThanOrEqual(3);
    expect(ids(await ok('get', '/v1/namespaces/erase/memories'))).toEqual(['b1']);
    for (const mode of ['vector', 'keyword', 'hybrid']) {
      expect(ids(await ok('post', '/v1/namespaces/erase/query', { query: `${secret} Ann likes oat milk diary`, mode, k: 10 }))).toEqual(['b1']);
    }
    const stats = await ok('get', '/v1/namespaces/erase');
    expect(stats.count).toBe(1);
    expect(stats.index.elements).toBe(1);
    expect((await m.api.post('/v1/namespaces/erase/memories/delete', {})).status).toBe(400);
    // The history keeps the tombstone alone: no text of any version.
    const after = (await ok('get', '/v1/namespaces/erase/memories/a1/history')).events;
    expect(after).toEqual([{ seq: expect.any(Number), at: new Date(clock).toISOString(), op: 'forgotten', policy: 'erase' }]);

    // Nothing of the erased text (current or earlier versions) is left in the SQLite files (database and write-ahead log).
    for (const file of readdirSync(dataDir).filter((f) => f.startsWith('membank.db'))) {
      const bytes = readFileSync(join(dataDir, file));
      for (const needle of [secret, secret.toLowerCase(), 'oat milk', 'soy milk']) {
        const at = bytes.indexOf(Buffer.from(needle));
        expect(at, `${file} holds "${needle}" at ${at}: ${JSON.stringify(bytes.subarray(Math.max(0, at - 120), at + 40).toString('latin1'))}`).toBe(-1);
      }
    }

    // A restart brings nothing back.
    await m.close();
    m = await startMembank(dataDir, {}, { clock: () => clock });
    expect(ids(await ok('get', '/v1/namespaces/erase/memories'))).toEqual(['b1']);
    expect(ids(await ok('post', '/v1/namespaces/erase/query', { query: `${secret} Ann likes oat milk diary`, k: 10 }))).toEqual(['b1']);
    expect((await ok('get', '/v1/namespaces/erase')).index.elements).toBe(1);
  });
});

it('runs pruning on the namespace’s schedule, and records the run', async () => {
  let clock = T0;
  const m = await startMembank(tempDir(), {}, { clock: () => clock });
  try {
    await m.api.post('/v1/namespaces', { name: 'cron', forgetting: { enabled: true, schedule: '* * * * * *' } });
    await m.api.post('/v1/namespaces/cron/memories', { memories: [{ id: 'e', text: 'expires soon', ttl: 5 }, { id: 'f', text: 'fades' }, { id: 'k', text: 'kept', importance: 1 }] });
    clock = T0 + 4 * DAY; // f: exp(−4) < 0.05; k: exp(−4/5) > 0.05; e expired
    let runs: { trigger: string; expired: number; forgotten: number }[] = [];
    for (let i = 0; i < 40 && !runs.some((r) => r.expired + r.forgotten > 0); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      runs = (await m.api.get('/v1/namespaces/cron')).body.forgetting.runs;
    }
    expect(runs.find((r) => r.expired + r.forgotten > 0)).toMatchObject({ trigger: 'scheduled', expired: 1, forgotten: 1 });
    expect((await m.api.get('/v1/namespaces/cron/memories')).body.memories.map((x: { id: string }) => x.id)).toEqual(['k']);
  } finally {
    await m.close();
  }
});

it('a process killed in the middle of a prune loses nothing it should keep, and the index agrees with SQLite', async () => {
  const dir = tempDir();
  const first = await spawnMembank(['--data-dir', dir, '--synchronous', 'normal']);
  const client = api(first.url);
  await client.post('/v1/namespaces', { name: 'big', embedder: null, dimensions: 16 });
  const keep = randomVectors(300, 16, 7);
  const doomed = randomVectors(6000, 16, 8);
  await client.post('/v1/namespaces/big/memories', { memories: keep.map((vector, i) => ({ id: `keep-${i}`, vector })) });
  for (let i = 0; i < doomed.length; i += 1000) {
    await client.post('/v1/namespaces/big/memories', { memories: doomed.slice(i, i + 1000).map((vector, j) => ({ id: `gone-${i + j}`, vector, ttl: 1 })) });
  }
  await new Promise((resolve) => setTimeout(resolve, 1100));
  void client.post('/v1/namespaces/big/forget', { expired: true }).catch(() => {});
  await new Promise((resolve) => setTimeout(resolve, 60));
  first.process.kill('SIGKILL');
  await exited(first.process);

  const second = await spawnMembank(['--data-dir', dir]);
  try {
    const again = api(second.url);
    const stats = (await again.get('/v1/namespaces/big')).body;
    expect(stats.index.elements).toBe(stats.count);
    expect(stats.count).toBeGreaterThanOrEqual(300);
    for (const [i, vector] of keep.entries()) {
      if (i % 10 !== 0) continue;
      expect((await again.post('/v1/namespaces/big/query', { vector, k: 1 })).body.results[0].id).toBe(`keep-${i}`);
    }
    expect((await again.post('/v1/namespaces/big/forget', { expired: true })).status).toBe(200);
    const after = (await again.get('/v1/namespaces/big')).body;
    expect(after.count).toBe(300);
    expect(after.index.elements).toBe(300);
  } finally {
    second.process.kill('SIGTERM');
    await exited(second.process);
  }
});
