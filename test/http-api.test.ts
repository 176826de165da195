/** The v1 REST API against a real server (HTTP on 127.0.0.1:0, SQLite, HNSW), with the hash test embedder. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomVectors, type Running, startMembank } from './helpers.js';

let m: Running;
beforeAll(async () => {
  m = await startMembank(undefined, { maxBodyBytes: 256 * 1024 });
});
afterAll(() => m.close());

describe('namespaces', () => {
  it('creates, returns the existing one, refuses other settings, lists, describes and deletes', async () => {
    const created = await m.api.post('/v1/namespaces', { name: 'ns.one', space: 'l2' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'ns.one', space: 'l2', dimensions: 64, embedder: 'hash-64' });
    expect(created.body.hnsw).toEqual({ m: 16, efConstruction: 200, efSearch: 64, threshold: null });

    expect((await m.api.post('/v1/namespaces', { name: 'ns.one', space: 'l2' })).status).toBe(200);
    expect((await m.api.post('/v1/namespaces', { name: 'ns.one' })).status).toBe(200);
    const conflict = await m.api.post('/v1/namespaces', { name: 'ns.one', space: 'ip' });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.code).toBe('NAMESPACE_CONFLICT');

    const vectors = await m.api.post('/v1/namespaces', { name: 'raw', embedder: null, dimensions: 3, hnsw: { m: 8 } });
    expect(vectors.status).toBe(201);
    expect(vectors.body).toMatchObject({ embedder: null, dimensions: 3, hnsw: { m: 8, efConstruction: 200 } });

    const list = await m.api.get('/v1/namespaces');
    expect(list.body.namespaces.map((n: { name: string }) => n.name)).toEqual(expect.arrayContaining(['ns.one', 'raw']));

    await m.api.post('/v1/namespaces/raw/memories', { memories: [{ vector: [1, 2, 3] }, { vector: [3, 2, 1] }] });
    // Written but never searched: not loaded, and its index would hold both.
    expect((await m.api.get('/v1/namespaces/raw')).body).toMatchObject({ count: 2, index: { loaded: false, elements: 2, seq: 2 } });
    expect((await m.api.post('/v1/namespaces/raw/query', { vector: [1, 2, 3], k: 1 })).status).toBe(200);
    const described = await m.api.get('/v1/namespaces/raw');
    // Two vectors are far below the graph threshold: an exact block, nothing to checkpoint.
    expect(described.body).toMatchObject({ name: 'raw', count: 2, index: { loaded: true, kind: 'exact', elements: 2, deleted: 0, lastCheckpoint: null } });

    expect((await m.api.del('/v1/namespaces/raw')).status).toBe(204);
    expect((await m.api.get('/v1/namespaces/raw')).status).toBe(404);
    expect((await m.api.post('/v1/namespaces/raw/query', { vector: [1, 2, 3] })).status).toBe(404);
    // The name can be taken again, with other settings, and starts empty.
    await m.api.post('/v1/namespaces', { name: 'raw', embedder: null, dimensions: 2 });
    expect((await m.api.get('/v1/namespaces/raw')).body.count).toBe(0);
  });
});

describe('memories', () => {
  beforeAll(async () => {
    await m.api.post('/v1/namespaces', { name: 'mem' });
  });

  it('writes texts, embeds them, and finds them by text', async () => {
    const written = await m.api.post('/v1/namespaces/mem/memories', {
      memories: [
        { id: 'cat', text: 'the cat sat on the warm mat', metadata: { kind: 'pet' }, timestamp: '2024-05-01T10:00:00Z' },
        { id: 'stock', text: 'quarterly earnings beat market expectations', metadata: { kind: 'finance' } },
        { text: 'a generated id', timestamp: 1_700_000_000_000 },
      ],
    });
    expect(written.status).toBe(201);
    expect(written.body.ids).toHaveLength(3);
    expect(written.body.ids[2]).toMatch(/^[0-9a-f-]{36}$/);

    const result = await m.api.post('/v1/namespaces/mem/query', { query: 'where is the cat sitting', k: 2, mode: 'vector' });
    expect(result.status).toBe(200);
    expect(result.body.results[0]).toMatchObject({
      id: 'cat',
      text: 'the cat sat on the warm mat',
      metadata: { kind: 'pet' },
      timestamp: '2024-05-01T10:00:00.000Z',
    });
    const [first, second] = result.body.results;
    expect(first.score).toBeGreaterThan(second.score);
    expect(first.score).toBeCloseTo(1 - first.distance, 6);

    const got = await m.api.get('/v1/namespaces/mem/memories/cat');
    expect(got.body).toMatchObject({ id: 'cat', text: 'the cat sat on the warm mat' });
    expect(got.body.vector).toBeUndefined();
    const withVector = await m.api.get('/v1/namespaces/mem/memories/cat?include=vector');
    expect(withVector.body.vector).toHaveLength(64);
  });

  it('upserts by id: replaces text, vector and metadata, never duplicates', async () => {
    await m.api.post('/v1/namespaces/mem/memories', { memories: [{ id: 'u1', text: 'apples are red', metadata: { v: 1 } }] });
    const before = (await m.api.get('/v1/namespaces/mem')).body.count;
    await m.api.post('/v1/namespaces/mem/memories', { memories: [{ id: 'u1', text: 'bananas are yellow', metadata: { v: 2 } }] });
    expect((await m.api.get('/v1/namespaces/mem')).body.count).toBe(before);
    expect((await m.api.get('/v1/namespaces/mem/memories/u1')).body).toMatchObject({ text: 'bananas are yellow', metadata: { v: 2 } });
    const hits = (await m.api.post('/v1/namespaces/mem/query', { query: 'bananas are yellow', k: 50, mode: 'vector' })).body.results;
    expect(hits.filter((h: { id: string }) => h.id === 'u1')).toHaveLength(1);
    expect(hits[0].id).toBe('u1');
    expect(hits[0].score).toBeCloseTo(1, 5);
  });

  it('deletes a memory so that no read finds it', async () => {
    await m.api.post('/v1/namespaces/mem/memories', { memories: [{ id: 'gone', text: 'ephemeral zebra memory' }] });
    expect((await m.api.del('/v1/namespaces/mem/memories/gone')).status).toBe(204);
    expect((await m.api.get('/v1/namespaces/mem/memories/gone')).status).toBe(404);
    expect((await m.api.del('/v1/namespaces/mem/memories/gone')).status).toBe(404);
    const hits = (await m.api.post('/v1/namespaces/mem/query', { query: 'ephemeral zebra memory', k: 100, mode: 'vector' })).body.results;
    expect(hits.map((h: { id: string }) => h.id)).not.toContain('gone');
  });

  it('pages through every memory once, in a stable order', async () => {
    await m.api.post('/v1/namespaces', { name: 'pages', embedder: null, dimensions: 2, space: 'l2' });
    const ids = Array.from({ length: 25 }, (_, i) => `p${i}`);
    await m.api.post('/v1/namespaces/pages/memories', { memories: ids.map((id, i) => ({ id, vector: [i, 0] })) });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { memories: { id: string }[]; nextCursor: string | null } } = await m.api.get(
        `/v1/namespaces/pages/memories?limit=10${cursor ? `&cursor=${cursor}` : ''}`,
      );
      seen.push(...page.body.memories.map((x) => x.id));
      cursor = page.body.nextCursor;
      // A write during pagination does not disturb what remains.
      if (seen.length === 10) await m.api.post('/v1/namespaces/pages/memories', { memories: [{ id: 'late', vector: [0, 1] }] });
    } while (cursor);
    expect(seen).toEqual([...ids, 'late']);
    expect((await m.api.get('/v1/namespaces/pages/memories')).body.memories).toHaveLength(26);
  });
});

describe('documents', () => {
  it('chunks at sentence boundaries, copies metadata, replaces on re-post and deletes all chunks', async () => {
    await m.api.post('/v1/namespaces', { name: 'docs' });
    const sentences = Array.from({ length: 30 }, (_, i) => `Fact number ${i} is about lighthouse keeper ${i}.`);
    const posted = await m.api.post('/v1/namespaces/docs/documents', {
      documents: [{ id: 'manual', text: sentences.join(' '), metadata: { source: 'manual.txt' } }],
      chunking: { maxChars: 200, overlap: 0 },
    });
    expect(posted.status).toBe(201);
    const chunks: string[] = posted.body.documents[0].chunks;
    expect(posted.body.documents[0].id).toBe('manual');
    expect(chunks.length).toBeGreaterThan(3);

    const chunk = (await m.api.get(`/v1/namespaces/docs/memories/${encodeURIComponent(chunks[1]!)}`)).body;
    expect(chunk).toMatchObject({ documentId: 'manual', chunkIndex: 1, metadata: { source: 'manual.txt' } });
    expect(chunk.text.length).toBeLessThanOrEqual(200);
    expect(chunk.text).toMatch(/^Fact number \d+ .*\.$/);

    const hit = (await m.api.post('/v1/namespaces/docs/query', { query: 'lighthouse keeper 17', k: 1 })).body.results[0];
    expect(hit).toMatchObject({ documentId: 'manual' });
    expect(hit.text).toContain('keeper 17.');

    const reposted = await m.api.post('/v1/namespaces/docs/documents', { documents: [{ id: 'manual', text: 'Only one short chunk now.' }] });
    expect(reposted.body.documents[0].chunks).toEqual(['manual#0']);
    expect((await m.api.get('/v1/namespaces/docs')).body.count).toBe(1);
    expect((await m.api.get(`/v1/namespaces/docs/memories/${encodeURIComponent(chunks[2]!)}`)).status).toBe(404);

    expect((await m.api.del('/v1/namespaces/docs/documents/manual')).status).toBe(204);
    expect((await m.api.get('/v1/namespaces/docs')).body.count).toBe(0);
    expect((await m.api.del('/v1/namespaces/docs/documents/manual')).status).toBe(404);
    expect((await m.api.post('/v1/namespaces/docs/query', { query: 'Only one short chunk now', k: 5 })).body.results).toEqual([]);
  });
});

describe('filters', () => {
  const N = 5000;
  const vectors = randomVectors(N, 16, 99);
  beforeAll(async () => {
    await m.api.post('/v1/namespaces', { name: 'filtered', embedder: null, dimensions: 16 });
    for (let start = 0; start < N; start += 200) {
      const memories = vectors.slice(start, start + 200).map((vector, j) => {
        const i = start + j;
        return { id: `f${i}`, vector, metadata: { i, parity: i % 2 === 0 ? 'even' : 'odd', rare: i === 4321, tag: `t${i % 10}` } };
      });
      expect((await m.api.post('/v1/namespaces/filtered/memories', { memories })).status).toBe(201);
    }
  });

  const exactTop = (query: number[], k: number, keep: (i: number) => boolean): string[] => {
    const norm = (v: number[]) => Math.hypot(...v);
    const cos = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0) / (norm(a) * norm(b));
    return vectors
      .map((v, i) => ({ i, d: 1 - cos(query, v) }))
      .filter(({ i }) => keep(i))
      .sort((a, b) => a.d - b.d)
      .slice(0, k)
      .map(({ i }) => `f${i}`);
  };

  it('returns the one match among 5,000 (exact path)', async () => {
    const result = await m.api.post('/v1/namespaces/filtered/query', { vector: vectors[0], k: 10, filter: { rare: true } });
    expect(result.body.results.map((r: { id: string }) => r.id)).toEqual(['f4321']);
  });

  it('returns the true top-k among a small matching set', async () => {
    const filter = { $and: [{ tag: { $in: ['t3', 't7'] } }, { i: { $lt: 1500 } }] };
    const result = await m.api.post('/v1/namespaces/filtered/query', { vector: vectors[1], k: 10, filter });
    expect(result.body.results.map((r: { id: string }) => r.id)).toEqual(
      exactTop(vectors[1]!, 10, (i) => (i % 10 === 3 || i % 10 === 7) && i < 1500),
    );
  });

  it('keeps recall on a broad filter (HNSW path) and every hit matches', async () => {
    let found = 0;
    for (let q = 0; q < 20; q++) {
      const query = vectors[q * 37]!;
      const result = await m.api.post('/v1/namespaces/filtered/query', { vector: query, k: 10, filter: { parity: 'odd' } });
      const ids: string[] = result.body.results.map((r: { id: string }) => r.id);
      expect(ids).toHaveLength(10);
      expect(result.body.results.every((r: { metadata: { parity: string } }) => r.metadata.parity === 'odd')).toBe(true);
      const truth = new Set(exactTop(query, 10, (i) => i % 2 === 1));
      found += ids.filter((id) => truth.has(id)).length;
    }
    expect(found / 200).toBeGreaterThanOrEqual(0.95);
  });

  it('returns nothing when nothing matches, and honours include', async () => {
    expect((await m.api.post('/v1/namespaces/filtered/query', { vector: vectors[0], filter: { tag: 'none' } })).body.results).toEqual([]);
    const r = await m.api.post('/v1/namespaces/filtered/query', { vector: vectors[0], k: 1, include: ['vector'] });
    expect(Object.keys(r.body.results[0]).sort()).toEqual(['createdAt', 'distance', 'id', 'score', 'timestamp', 'updatedAt', 'vector']);
    expect(r.body.results[0].vector[0]).toBeCloseTo(vectors[0]![0]!, 5);
  });
});

describe('bad input gets a clear 4xx with a JSON body', () => {
  beforeAll(async () => {
    await m.api.post('/v1/namespaces', { name: 'bad', embedder: null, dimensions: 3 });
    await m.api.post('/v1/namespaces', { name: 'badtext' });
  });

  const cases: [string, string, string, unknown, number, string][] = [
    ['malformed JSON', 'POST', '/v1/namespaces/bad/memories', '{"memories": [', 400, 'INVALID_JSON'],
    ['NaN literal', 'POST', '/v1/namespaces/bad/memories', '{"memories":[{"vector":[NaN,1,2]}]}', 400, 'INVALID_JSON'],
    ['wrong type', 'POST', '/v1/namespaces/bad/memories', { memories: 'many' }, 400, 'VALIDATION_FAILED'],
    ['vector of strings', 'POST', '/v1/namespaces/bad/memories', { memories: [{ vector: ['1', '2', '3'] }] }, 400, 'VALIDATION_FAILED'],
    ['wrong dimensions', 'POST', '/v1/namespaces/bad/memories', { memories: [{ vector: [1, 2] }] }, 400, 'DIMENSION_MISMATCH'],
    ['Infinity (1e999)', 'POST', '/v1/namespaces/bad/memories', '{"memories":[{"vector":[1e999,1,2]}]}', 400, 'VALIDATION_FAILED'],
    ['float32 overflow', 'POST', '/v1/namespaces/bad/memories', { memories: [{ vector: [1e39, 1, 2] }] }, 400, 'INVALID_VECTOR'],
    ['zero vector under cosine', 'POST', '/v1/namespaces/bad/memories', { memories: [{ vector: [0, 0, 0] }] }, 400, 'INVALID_VECTOR'],
    ['text without embedder', 'POST', '/v1/namespaces/bad/memories', { memories: [{ text: 'hello' }] }, 400, 'NO_EMBEDDER'],
    ['neither text nor vector', 'POST', '/v1/namespaces/bad/memories', { memories: [{ metadata: {} }] }, 400, 'VALIDATION_FAILED'],
    ['empty batch', 'POST', '/v1/namespaces/bad/memories', { memories: [] }, 400, 'VALIDATION_FAILED'],
    ['empty text', 'POST', '/v1/namespaces/badtext/memories', { memories: [{ text: '' }] }, 400, 'VALIDATION_FAILED'],
    ['blank text', 'POST', '/v1/namespaces/badtext/memories', { memories: [{ text: '  \n ' }] }, 400, 'VALIDATION_FAILED'],
    ['bad timestamp', 'POST', '/v1/namespaces/badtext/memories', { memories: [{ text: 'x', timestamp: 'yesterday' }] }, 400, 'VALIDATION_FAILED'],
    ['unknown memory field', 'POST', '/v1/namespaces/bad/memories', { memories: [{ vector: [1, 2, 3], colour: 'red' }] }, 400, 'VALIDATION_FAILED'],
    ['unknown top-level field', 'POST', '/v1/namespaces/bad/query', { vector: [1, 2, 3], topK: 3 }, 400, 'VALIDATION_FAILED'],
    ['k = 0', 'POST', '/v1/namespaces/bad/query', { vector: [1, 2, 3], k: 0 }, 400, 'VALIDATION_FAILED'],
    ['k = 10^6', 'POST', '/v1/namespaces/bad/query', { vector: [1, 2, 3], k: 1_000_000 }, 400, 'VALIDATION_FAILED'],
    ['k fractional', 'POST', '/v1/namespaces/bad/query', { vector: [1, 2, 3], k: 2.5 }, 400, 'VALIDATION_FAILED'],
    ['query and vector', 'POST', '/v1/namespaces/badtext/query', { query: 'a', vector: [1] }, 400, 'VALIDATION_FAILED'],
    ['neither query nor vector', 'POST', '/v1/namespaces/bad/query', { k: 3 }, 400, 'VALIDATION_FAILED'],
    ['query wrong dimensions', 'POST', '/v1/namespaces/bad/query', { vector: [1, 2, 3, 4] }, 400, 'DIMENSION_MISMATCH'],
    ['vector search without embedder', 'POST', '/v1/namespaces/bad/query', { query: 'hello', mode: 'vector' }, 400, 'NO_EMBEDDER'],
    ['hybrid search without embedder', 'POST', '/v1/namespaces/bad/query', { query: 'hello', mode: 'hybrid' }, 400, 'NO_EMBEDDER'],
    ['hybrid mode with a vector', 'POST', '/v1/namespaces/bad/query', { vector: [1, 2, 3], mode: 'hybrid' }, 400, 'VALIDATION_FAILED'],
    ['after not before before', 'POST', '/v1/namespaces/bad/query', { vector: [1, 2, 3], after: 5, before: 5 }, 400, 'VALIDATION_FAILED'],
    ['unknown hybrid option', 'POST', '/v1/namespaces/bad/query', { query: 'x', hybrid: { boost: 1 } }, 400, 'VALIDATION_FAILED'],
    ['vector weight above 1', 'POST', '/v1/namespaces/bad/query', { query: 'x', hybrid: { vectorWeight: 2 } }, 400, 'VALIDATION_FAILED'],
    ['expand too wide', 'POST', '/v1/namespaces/bad/query', { vector: [1, 2, 3], expand: { before: 21 } }, 400, 'VALIDATION_FAILED'],
    ['multi-namespace query without namespaces', 'POST', '/v1/query', { query: 'x', namespaces: [] }, 400, 'VALIDATION_FAILED'],
    ['multi-namespace query, unknown namespace', 'POST', '/v1/query', { vector: [1, 2, 3], namespaces: ['bad', 'nope'] }, 404, 'NAMESPACE_NOT_FOUND'],
    ['bad filter operator', 'POST', '/v1/namespaces/bad/query', { vector: [1, 2, 3], filter: { a: { $regex: 'x' } } }, 400, 'VALIDATION_FAILED'],
    ['SQL in a filter field', 'POST', '/v1/namespaces/bad/query', { vector: [1, 2, 3], filter: { "x') OR 1=1 --": 1 } }, 400, 'VALIDATION_FAILED'],
    ['unknown namespace', 'POST', '/v1/namespaces/nope/query', { vector: [1, 2, 3] }, 404, 'NAMESPACE_NOT_FOUND'],
    ['unknown namespace (get)', 'GET', '/v1/namespaces/nope', undefined, 404, 'NAMESPACE_NOT_FOUND'],
    ['unknown memory', 'GET', '/v1/namespaces/bad/memories/nope', undefined, 404, 'MEMORY_NOT_FOUND'],
    ['unknown document', 'DELETE', '/v1/namespaces/bad/documents/nope', undefined, 404, 'DOCUMENT_NOT_FOUND'],
    ['unknown route', 'GET', '/v1/nothing', undefined, 404, 'ROUTE_NOT_FOUND'],
    ['invalid namespace name', 'POST', '/v1/namespaces', { name: '../etc' }, 400, 'VALIDATION_FAILED'],
    ['namespace named ..', 'POST', '/v1/namespaces', { name: '..' }, 400, 'VALIDATION_FAILED'],
    ['namespace named .', 'POST', '/v1/namespaces', { name: '.' }, 400, 'VALIDATION_FAILED'],
    ['name too long', 'POST', '/v1/namespaces', { name: 'x'.repeat(65) }, 400, 'VALIDATION_FAILED'],
    ['bad space', 'POST', '/v1/namespaces', { name: 'okname', space: 'hamming' }, 400, 'VALIDATION_FAILED'],
    ['unknown embedder', 'POST', '/v1/namespaces', { name: 'okname', embedder: 'gpt-99' }, 400, 'UNKNOWN_EMBEDDER'],
    ['null embedder without dimensions', 'POST', '/v1/namespaces', { name: 'okname', embedder: null }, 400, 'VALIDATION_FAILED'],
    ['embedder dimension conflict', 'POST', '/v1/namespaces', { name: 'okname', dimensions: 12 }, 400, 'DIMENSION_MISMATCH'],
    ['bad hnsw', 'POST', '/v1/namespaces', { name: 'okname', hnsw: { m: 1000 } }, 400, 'VALIDATION_FAILED'],
    ['bad limit', 'GET', '/v1/namespaces/bad/memories?limit=5000', undefined, 400, 'VALIDATION_FAILED'],
    ['bad cursor', 'GET', '/v1/namespaces/bad/memories?cursor=!!!', undefined, 400, 'VALIDATION_FAILED'],
    ['unknown query parameter', 'GET', '/v1/namespaces/bad/memories?offset=3', undefined, 400, 'VALIDATION_FAILED'],
    ['JSON array body', 'POST', '/v1/namespaces', '[1,2]', 400, 'VALIDATION_FAILED'],
    ['overlap ≥ maxChars', 'POST', '/v1/namespaces/badtext/documents', { documents: [{ text: 'x' }], chunking: { maxChars: 200, overlap: 200 } }, 400, 'VALIDATION_FAILED'],
  ];

  it.each(cases)('%s', async (_name, method, path, body, status, code) => {
    const response = typeof body === 'string' ? await m.api.raw(method, path, body) : await m.api.call(method, path, body);
    expect(response.status).toBe(status);
    expect(response.body.error).toMatchObject({ code, message: expect.any(String) });
  });

  it('answers an oversized body with 413', async () => {
    const big = { memories: [{ vector: [1, 2, 3], metadata: { blob: 'x'.repeat(300 * 1024) } }] };
    const response = await m.api.post('/v1/namespaces/bad/memories', big);
    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('answers a body that is not JSON with 415', async () => {
    const response = await fetch(`${m.url}/v1/namespaces`, { method: 'POST', body: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(response.status).toBe(415);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('left nothing behind from the rejected writes', async () => {
    expect((await m.api.get('/v1/namespaces/bad')).body.count).toBe(0);
    expect((await m.api.get('/v1/namespaces/okname')).status).toBe(404);
  });

  it('answers /healthz', async () => {
    expect(await m.api.get('/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
  });
});
