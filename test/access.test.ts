/**
 * API keys and tenant isolation against a real server: once a key exists every route needs one; a key sees
 * and touches only the namespaces its patterns allow (others answer 404, as if they did not exist), through
 * every route; roles; revocation at once; rate limits; and no public bind without keys.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMembank } from '../src/server.js';
import { probeIsolation } from './fixtures/isolation.js';
import { hashEmbedders, type Running, silentLogger, startMembank, tempDir, testConfig } from './helpers.js';

describe('API keys and tenants', () => {
  let m: Running;
  let admin: string;
  let writeA: string;
  let readA: string;
  let writeAId: string;
  beforeAll(async () => {
    m = await startMembank();
  });
  afterAll(() => m.close());

  const as = (key: string | null) => {
    const call = async (method: string, path: string, body?: unknown) => {
      const headers: Record<string, string> = {};
      if (key) headers.authorization = `Bearer ${key}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const response = await fetch(m.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
    };
    return {
      get: (path: string) => call('GET', path),
      post: (path: string, body?: unknown) => call('POST', path, body),
      patch: (path: string, body?: unknown) => call('PATCH', path, body),
      del: (path: string) => call('DELETE', path),
    };
  };

  it('is open until the first key exists, then every route but /healthz needs one', async () => {
    expect((await as(null).get('/v1/namespaces')).status).toBe(200);
    const created = await as(null).post('/v1/keys', { role: 'admin' });
    expect(created.status).toBe(201);
    admin = created.body.key;
    expect(admin).toMatch(/^mbk_[0-9a-f]{12}_/);
    for (const [method, path] of [['GET', '/v1/namespaces'], ['POST', '/v1/namespaces'], ['GET', '/v1/models'], ['GET', '/v1/keys']] as const) {
      const response = method === 'GET' ? await as(null).get(path) : await as(null).post(path, { name: 'x' });
      expect(response.status, path).toBe(401);
      expect(response.body.error.code).toBe('UNAUTHORIZED');
    }
    expect((await as(null).get('/healthz')).status).toBe(200);
    expect((await as(null).get('/metrics')).status).toBe(401);
    const mcp = await fetch(`${m.url}/mcp?namespace=x`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{}' });
    expect(mcp.status).toBe(401);
    expect((await as('mbk_000000000000_' + 'x'.repeat(32)).get('/v1/namespaces')).status).toBe(401);
    expect((await as('not a key').get('/v1/namespaces')).status).toBe(401);
    expect((await as(admin).get('/v1/namespaces')).status).toBe(200);
  });

  it('admin keys create keys and namespaces; the key itself is shown once', async () => {
    const write = await as(admin).post('/v1/keys', { role: 'write', namespaces: ['team-a.*'] });
    const read = await as(admin).post('/v1/keys', { role: 'read', namespaces: ['team-a.*'] });
    writeA = write.body.key;
    writeAId = write.body.id;
    readA = read.body.key;
    expect((await as(admin).post('/v1/keys', { role: 'write', namespaces: [] })).status).toBe(400);
    expect((await as(admin).post('/v1/keys', { role: 'root', namespaces: ['*'] })).status).toBe(400);
    const listed = (await as(admin).get('/v1/keys')).body.keys;
    expect(listed.map((k: { role: string }) => k.role)).toEqual(['admin', 'write', 'read']);
    expect(JSON.stringify(listed)).not.toContain(writeA);
    expect(listed[1]).toMatchObject({ id: writeAId, namespaces: ['team-a.*'], revokedAt: null });
    expect((await as(writeA).get('/v1/keys')).status).toBe(403);
    expect((await as(writeA).post('/v1/keys', { role: 'admin' })).status).toBe(403);

    for (const name of ['team-a.notes', 'team-b.notes']) expect((await as(admin).post('/v1/namespaces', { name })).status).toBe(201);
    for (const ns of ['team-a.notes', 'team-b.notes']) {
      const tenant = ns.slice(0, 6);
      await as(admin).post(`/v1/namespaces/${ns}/memories`, {
        memories: [{ id: 'm1', text: `${tenant} quarterly secret plan`, metadata: { tenant } }, { id: 'm2', text: `${tenant} lunch menu`, metadata: { tenant } }],
      });
      await as(admin).post(`/v1/namespaces/${ns}/documents`, { documents: [{ id: 'doc', text: `${tenant} handbook` }] });
      await as(admin).post(`/v1/namespaces/${ns}/facts`, { facts: [{ subject: tenant, predicate: 'owns', object: 'plan' }] });
    }
  });

  it('a write key for tenant A can neither see nor touch tenant B through any route', async () => {
    const a = as(writeA);
    expect((await a.get('/v1/namespaces')).body.namespaces.map((n: { name: string }) => n.name)).toEqual(['team-a.notes']);
    expect((await a.post('/v1/namespaces/team-a.notes/query', { query: 'secret plan', k: 5 })).status).toBe(200);

    const { probes, leaks } = await probeIsolation(m.url, writeA, 'team-a.notes', 'team-b.notes');
    expect(probes).toBeGreaterThan(25);
    expect(leaks).toEqual([]);
    const B = '/v1/namespaces/team-b.notes';
    // Nothing of B changed, and nothing of B leaks into A's answers.
    const b = as(admin);
    expect((await b.get(B)).body.count).toBe(3);
    expect((await b.get(`${B}/facts?subject=team-b`)).body.facts.length).toBe(1);
    const mine = await a.post('/v1/query', { namespaces: ['team-a.notes'], query: 'team-b secret plan', k: 10 });
    expect(mine.body.results.every((r: { namespace: string }) => r.namespace === 'team-a.notes')).toBe(true);
    expect((await a.post('/v1/namespaces', { name: 'team-b.mine' })).status).toBe(403);
    expect((await a.post('/v1/namespaces', { name: 'team-a.more' })).status).toBe(201);
    expect((await a.del('/v1/namespaces/team-a.more')).status).toBe(403); // deleting namespaces is for admins

    const job = await b.post(`${B}/reembed`, { embedder: 'hash-64' });
    expect(job.status).toBe(202);
    expect((await a.get(`/v1/jobs/${job.body.job.id}`)).status).toBe(404);
    expect((await b.get(`/v1/jobs/${job.body.job.id}`)).status).toBe(200);
  });

  it('a read key reads and searches but writes nothing', async () => {
    const r = as(readA);
    expect((await r.post('/v1/namespaces/team-a.notes/query', { query: 'plan' })).status).toBe(200);
    expect((await r.post('/v1/namespaces/team-a.notes/context', { query: 'plan', maxTokens: 100 })).status).toBe(200);
    expect((await r.get('/v1/namespaces/team-a.notes/memories/m1')).status).toBe(200);
    for (const [path, body] of [
      ['/v1/namespaces/team-a.notes/memories', { memories: [{ text: 'x' }] }],
      ['/v1/namespaces/team-a.notes/forget', { expired: true }],
      ['/v1/namespaces/team-a.notes/memories/delete', { filter: { tenant: 'team-a' } }],
      ['/v1/namespaces', { name: 'team-a.new' }],
    ] as const) {
      const response = await r.post(path, body);
      expect(response.status, path).toBe(403);
      expect(response.body.error.code).toBe('FORBIDDEN');
    }
    expect((await r.del('/v1/namespaces/team-a.notes/memories/m1')).status).toBe(403);
  });

  it('a revoked key stops working at once', async () => {
    expect((await as(writeA).get('/v1/namespaces')).status).toBe(200);
    expect((await as(admin).del(`/v1/keys/${writeAId}`)).status).toBe(204);
    expect((await as(writeA).get('/v1/namespaces')).status).toBe(401);
    expect((await as(admin).del(`/v1/keys/${writeAId}`)).status).toBe(404);
    expect((await as(admin).get('/v1/keys')).body.keys.find((k: { id: string }) => k.id === writeAId).revokedAt).not.toBeNull();
  });
});

it('rate-limits per key with 429 and Retry-After', async () => {
  const m = await startMembank(tempDir(), { rateLimit: 3 });
  try {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 6; i++) {
      const response = await fetch(`${m.url}/v1/namespaces`);
      statuses.push(response.status);
      if (response.status === 429) {
        retryAfter = response.headers.get('retry-after');
        expect(((await response.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED');
      } else {
        await response.text();
      }
    }
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(statuses.slice(3)).toContain(429);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect((await fetch(`${m.url}/healthz`)).status).toBe(200);
  } finally {
    await m.close();
  }
});

it('refuses to serve a non-loopback address without keys, unless told to', async () => {
  const dir = tempDir();
  await expect(createMembank(testConfig(dir, { host: '0.0.0.0' }), silentLogger, { embedders: hashEmbedders() })).rejects.toMatchObject({
    code: 'INSECURE_BIND',
  });
  const insecure = await createMembank(testConfig(dir, { host: '0.0.0.0', insecureNoAuth: true }), silentLogger, { embedders: hashEmbedders() });
  await insecure.close();
});
