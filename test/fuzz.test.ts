/**
 * Hostile input against the real HTTP server (issue 8): property-based requests to every route with adversarial
 * paths, query strings, content types and bodies. Never a 5xx, always the JSON error shape, the server stays
 * up, nothing leaks onto Object.prototype, and a canary namespace the requests cannot name is unchanged.
 */
import { readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFilter } from '../src/core/filter.js';
import { compileFilter } from '../src/adapters/sqlite/filter-sql.js';
import { afterCase, bigCases, CANARY, createTargets, describeCase, fuzzCase, send, TARGET, violation } from './fixtures/fuzz.js';
import { type Api, type Running, startMembank, tempDir } from './helpers.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 3000);

/** Everything the canary holds, read through the API. */
async function snapshot(api: Api) {
  const stats = (await api.get(`/v1/namespaces/${CANARY}`)).body;
  const memories = (await api.get(`/v1/namespaces/${CANARY}/memories?limit=1000&include=vector`)).body.memories;
  const byText = (await api.post(`/v1/namespaces/${CANARY}/query`, { query: 'memory number 7', k: 5, reinforce: false })).body.results;
  const byFilter = (await api.post(`/v1/namespaces/${CANARY}/query`, { query: 'memory', k: 50, filter: { user: 'ann' }, reinforce: false })).body.results;
  const facts = (await api.get(`/v1/namespaces/${CANARY}/facts?history=true`)).body.facts;
  return { count: stats.count, facts: stats.factCount, elements: stats.index.elements, memories, byText, byFilter, factList: facts };
}

describe('hostile input', () => {
  let m: Running;
  let before: Awaited<ReturnType<typeof snapshot>>;
  const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();

  const dataDir = tempDir();

  beforeAll(async () => {
    m = await startMembank(dataDir);
    await createTargets(m.url);
    for (const name of [CANARY, TARGET]) {
      expect((await m.api.post('/v1/namespaces', { name })).status).toBe(name === TARGET ? 200 : 201);
      const memories = Array.from({ length: 40 }, (_, i) => ({ id: `m${i}`, text: `memory number ${i}`, metadata: { user: i % 2 ? 'ann' : 'bob', i } }));
      expect((await m.api.post(`/v1/namespaces/${name}/memories`, { memories })).status).toBe(201);
      const facts = [{ subject: 'ann', predicate: 'lives_in', object: 'paris' }, { subject: 'bob', predicate: 'likes', object: 'tea' }];
      expect((await m.api.post(`/v1/namespaces/${name}/facts`, { facts })).status).toBe(201);
    }
    before = await snapshot(m.api);
    expect(before.count).toBe(40);
    expect(before.byFilter).toHaveLength(20);
  });

  afterAll(async () => {
    await m?.close();
  });

  it(`answers ${RUNS} generated requests with 2xx or a JSON 4xx`, async () => {
    await fc.assert(
      fc.asyncProperty(fuzzCase, async (c) => {
        const r = await send(m.url, c);
        await afterCase(m.url, c, r);
        expect(violation(r), describeCase(c)).toBeUndefined();
      }),
      { numRuns: RUNS },
    );
  }, 600_000);

  it('answers requests sent 8 at a time the same way, and every index still agrees with SQLite', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
    const cases = fc.sample(fuzzCase, { numRuns: Math.ceil(RUNS / 2), seed });
    const problems: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < cases.length) {
          const c = cases[next++]!;
          const r = await send(m.url, c);
          await afterCase(m.url, c, r);
          const problem = violation(r);
          if (problem) problems.push(`${describeCase(c)}: ${problem}`);
        }
      }),
    );
    expect(problems, `seed ${seed}`).toEqual([]);
    for (const { name } of (await m.api.get('/v1/namespaces')).body.namespaces) {
      const stats = (await m.api.get(`/v1/namespaces/${name}`)).body;
      expect(stats.index.elements, name).toBe(stats.count);
    }
  }, 600_000);

  it('answers 10 MB strings in every position, and an oversized body, with a JSON 4xx', async () => {
    for (const c of bigCases()) {
      const r = await send(m.url, c);
      expect(violation(r), `${c.method} ${c.path}`).toBeUndefined();
      expect(r.status).toBeGreaterThanOrEqual(400);
    }
  }, 120_000);

  it('stays up, pollutes no prototype, and leaves the canary namespace as it was', async () => {
    expect((await m.api.get('/healthz')).status).toBe(200);
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(await snapshot(m.api)).toEqual(before);
  });

  it('names files after numeric ids only, so no namespace name or id reaches the file system', () => {
    const files = readdirSync(dataDir, { recursive: true, encoding: 'utf8' });
    const expected = /^(membank\.(db|db-wal|db-shm|lock|lock-journal|endpoint|pid)|indexes|indexes\/ns-\d+\.(\d+\.idx|meta\.json)(\.tmp)?)$/;
    expect(files.filter((file) => !expected.test(file))).toEqual([]);
  });
});

describe('regressions found by the fuzzer', () => {
  let m: Running;
  beforeAll(async () => {
    m = await startMembank();
    await m.api.post('/v1/namespaces', { name: 'r' });
  });
  afterAll(async () => {
    await m?.close();
  });

  it('answers a path that is not valid percent-encoded UTF-8 with 400, not 500', async () => {
    for (const path of ['/v1/namespaces/r/memories/%E0%80%AF', '/v1/namespaces/%ED%A0%80', '/v1/namespaces/r/facts/%zz']) {
      const r = await send(m.url, { method: path.endsWith('%zz') ? 'DELETE' : 'GET', path, contentType: undefined, body: undefined });
      expect(r.status, path).toBe(400);
      expect(JSON.parse(r.text).error).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('percent-encoded') });
    }
  });

  it('answers a compressed body that does not decompress with 400, not 500', async () => {
    for (const [encoding, body] of [
      ['gzip', Buffer.from('not gzip')],
      ['br', Buffer.from('not brotli')],
      ['deflate', Buffer.from('not deflate')],
      ['gzip', gzipSync(Buffer.from('{"memories":[{"text":"cut short"}]}')).subarray(0, 15)],
    ] as const) {
      const r = await send(m.url, { method: 'POST', path: '/v1/namespaces/r/memories', contentType: 'application/json', contentEncoding: encoding, body });
      expect(r.status, encoding).toBe(400);
      expect(JSON.parse(r.text).error).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('could not be read') });
    }
    const good = gzipSync(Buffer.from('{"memories":[{"id":"zipped","text":"gzip works"}]}'));
    expect((await send(m.url, { method: 'POST', path: '/v1/namespaces/r/memories', contentType: 'application/json', contentEncoding: 'gzip', body: good })).status).toBe(201);
  });

  it('refuses vectors whose float32 distances would overflow, rather than answering null distances', async () => {
    for (const space of ['l2', 'ip', 'cosine']) {
      const ns = `v-${space}`;
      expect((await m.api.post('/v1/namespaces', { name: ns, embedder: null, dimensions: 2, space })).status).toBe(201);
      expect((await m.api.post(`/v1/namespaces/${ns}/memories`, { memories: [{ id: 'ok', vector: [1, 0.5] }] })).status).toBe(201);
      const write = await m.api.post(`/v1/namespaces/${ns}/memories`, { memories: [{ vector: [3e38, 3e38] }] });
      expect(write.status, space).toBe(400);
      expect(write.body.error).toMatchObject({ code: 'INVALID_VECTOR', message: expect.stringContaining('float32') });
      expect((await m.api.post(`/v1/namespaces/${ns}/query`, { vector: [-3e38, 3e38] })).status, space).toBe(400);
      const hits = (await m.api.post(`/v1/namespaces/${ns}/query`, { vector: [1e17, 1e17], k: 1 })).body.results;
      expect(hits).toEqual([expect.objectContaining({ id: 'ok', score: expect.any(Number), distance: expect.any(Number) })]);
    }
    expect((await m.api.post('/v1/namespaces/v-cosine/query', { vector: [1e-40, 0] })).status).toBe(400);
  });

  it('answers metadata nested past the stack with 400, and takes it at the documented depth', async () => {
    // As JSON text: a client's JSON.stringify overflows on such values too.
    const nested = (depth: number): string => '['.repeat(depth - 1) + '1' + ']'.repeat(depth - 1);
    for (const depth of [33, 10_000, 100_000]) {
      const r = await m.api.raw('POST', '/v1/namespaces/r/memories', `{"memories":[{"text":"deep","metadata":{"m":${nested(depth)}}}]}`);
      expect(r.status, String(depth)).toBe(400);
      expect(r.body.error.message).toContain('nests at most 32 levels');
      const f = await m.api.raw('POST', '/v1/namespaces/r/facts', `{"facts":[{"subject":"s","predicate":"p","object":"o","metadata":{"m":${nested(depth)}}}]}`);
      expect(f.status, String(depth)).toBe(400);
    }
    // The record itself is one level, so 31 more fit.
    const ok = await m.api.raw('POST', '/v1/namespaces/r/memories', `{"memories":[{"id":"deep","text":"deep","metadata":{"m":${nested(31)}}}]}`);
    expect(ok.status).toBe(201);
    expect((await m.api.get('/v1/namespaces/r/memories/deep')).body.metadata).toEqual({ m: JSON.parse(nested(31)) });
  });
});

describe('filters compile to parameterized SQL', () => {
  const scalar = fc.oneof(fc.string(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean());
  const field = fc.stringMatching(/^[A-Za-z0-9_-]{1,8}(\.[A-Za-z0-9_-]{1,8}){0,2}$/);
  const where: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
    where: fc.oneof(
      { depthSize: 'small' },
      fc.dictionary(field, fc.oneof(scalar, fc.dictionary(fc.constantFrom('$eq', '$ne', '$gt', '$lt', '$in', '$nin'), fc.oneof(scalar, fc.array(scalar, { minLength: 1, maxLength: 3 })), { minKeys: 1, maxKeys: 1 })), { minKeys: 1, maxKeys: 3 }),
      fc.record({ $and: fc.array(tie('where'), { minLength: 1, maxLength: 3 }) }),
      fc.record({ $or: fc.array(tie('where'), { minLength: 1, maxLength: 3 }) }),
    ),
  })).where;

  /** The same filter with every field name and value the caller chose replaced by a constant. */
  function blank(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(blank);
    if (typeof value === 'string') return 's';
    if (typeof value === 'number') return 0;
    if (typeof value !== 'object' || value === null) return value;
    return Object.fromEntries(Object.entries(value).map(([k, v], i) => [k.startsWith('$') ? k : `f${i}.${k.split('.').length}`, blank(v)]));
  }

  it('puts no field name or value of the caller into the SQL text', () => {
    fc.assert(
      fc.property(where, (filter) => {
        const parsed = parseFilter(filter);
        fc.pre(parsed.ok);
        const blanked = parseFilter(blank(filter));
        if (!parsed.ok || !blanked.ok) throw new Error('a filter that parses must parse blanked');
        expect(compileFilter(parsed.value).sql).toBe(compileFilter(blanked.value).sql);
      }),
      { numRuns: 2000 },
    );
  });
});
