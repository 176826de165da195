/**
 * membank's Chroma API over raw HTTP, for what Chroma's client does not show: API keys through Chroma's headers
 * with the v1 API's isolation, the reset flag, server-side embedding, collections as namespaces both ways (ids,
 * metadata, renames, settings), tenants and databases as namespace prefixes, base64 embeddings, linear-time
 * regexes, partial updates that keep recall strength, and restarts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Running, startMembank, tempDir } from './helpers.js';

const DB = '/api/v2/tenants/default_tenant/databases/default_database';

function chroma(m: Running, headers: Record<string, string> = {}) {
  const base = m.membank.chromaUrl()!;
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(base + path, {
      method,
      headers: { ...headers, ...(body !== undefined && { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  return {
    get: (path: string) => call('GET', path),
    post: (path: string, body: unknown = {}) => call('POST', path, body),
    put: (path: string, body: unknown) => call('PUT', path, body),
    del: (path: string) => call('DELETE', path),
  };
}

describe('Chroma API keys', () => {
  let m: Running;
  let admin: string;
  let writeA: string;
  let readA: string;
  let acme: string;
  beforeAll(async () => {
    m = await startMembank(tempDir(), { chromaPort: 0 });
    const open = chroma(m);
    for (const name of ['team-a-notes', 'team-b-notes']) {
      const created = await open.post(`${DB}/collections`, { name });
      expect(created.status).toBe(200);
      await open.post(`${DB}/collections/${created.body.id}/add`, { ids: ['x'], embeddings: [[1, 2, 3]], documents: [`${name} secret`] });
    }
    admin = (await m.api.post('/v1/keys', { role: 'admin' })).body.key;
    const as = (body: unknown) =>
      fetch(`${m.url}/v1/keys`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
        .then((r) => r.json() as Promise<{ key: string }>)
        .then((r) => r.key);
    writeA = await as({ role: 'write', namespaces: ['team-a-*'] });
    readA = await as({ role: 'read', namespaces: ['team-a-*'] });
    acme = await as({ role: 'write', namespaces: ['acme..prod..*'] });
  });
  afterAll(() => m.close());

  it('needs a key once one exists, through either of Chroma\'s headers', async () => {
    expect((await chroma(m).get('/api/v2/heartbeat')).status).toBe(200);
    expect((await chroma(m).get('/api/v2/version')).status).toBe(200);
    const none = await chroma(m).get(`${DB}/collections`);
    expect(none).toMatchObject({ status: 401, body: { error: 'AuthorizationError', message: expect.stringContaining('X-Chroma-Token') } });
    expect((await chroma(m, { 'x-chroma-token': 'mbk_000000000000_' + 'x'.repeat(32) }).get(`${DB}/collections`)).status).toBe(401);
    expect((await chroma(m, { authorization: 'Bearer nonsense' }).get(`${DB}/collections`)).status).toBe(401);
    expect((await chroma(m, { 'x-chroma-token': admin }).get(`${DB}/collections`)).body).toHaveLength(2);
    expect((await chroma(m, { authorization: `Bearer ${admin}` }).get(`${DB}/collections`)).body).toHaveLength(2);
  });

  it('shows a key only the collections its patterns cover; others answer 404, as in the v1 API', async () => {
    const a = chroma(m, { 'x-chroma-token': writeA });
    const listed = await a.get(`${DB}/collections`);
    expect(listed.body.map((c: { name: string }) => c.name)).toEqual(['team-a-notes']);
    expect((await a.get(`${DB}/collections_count`)).body).toBe(1);
    const b = (await chroma(m, { 'x-chroma-token': admin }).get(`${DB}/collections/team-b-notes`)).body.id;
    expect((await a.get(`${DB}/collections/team-b-notes`)).status).toBe(404);
    for (const op of ['get', 'query', 'add', 'upsert', 'update', 'delete']) {
      const body = op === 'query' ? { query_embeddings: [[1, 2, 3]] } : op === 'get' ? {} : { ids: ['x'], embeddings: [[0, 0, 1]] };
      const answer = await a.post(`${DB}/collections/${b}/${op}`, body);
      expect(answer.status, op).toBe(404);
      expect(answer.body.error).toBe('NotFoundError');
    }
    expect((await a.get(`${DB}/collections/${b}/count`)).status).toBe(404);
    expect((await a.put(`${DB}/collections/${b}`, { new_name: 'team-a-stolen' })).status).toBe(404);
    expect((await a.post(`${DB}/collections`, { name: 'team-b-mine' })).status).toBe(403);
    expect((await a.post(`${DB}/collections`, { name: 'team-b-notes', get_or_create: true })).status).toBe(403);
    expect((await a.post(`${DB}/collections`, { name: 'team-a-more' })).status).toBe(200);
    expect((await a.del(`${DB}/collections/team-a-more`)).status).toBe(403); // deleting namespaces is for admins
    // Nothing of B changed.
    const all = await chroma(m, { 'x-chroma-token': admin }).post(`${DB}/collections/${b}/get`, { include: ['documents', 'embeddings'] });
    expect(all.body).toMatchObject({ ids: ['x'], documents: ['team-b-notes secret'], embeddings: [[1, 2, 3]] });
  });

  it('lets a read key read and search but not write', async () => {
    const r = chroma(m, { authorization: `Bearer ${readA}` });
    const id = (await r.get(`${DB}/collections/team-a-notes`)).body.id;
    expect((await r.post(`${DB}/collections/${id}/query`, { query_embeddings: [[1, 2, 3]], n_results: 1 })).body.ids).toEqual([['x']]);
    expect((await r.post(`${DB}/collections/${id}/get`, {})).status).toBe(200);
    for (const op of ['add', 'upsert', 'update', 'delete']) {
      const answer = await r.post(`${DB}/collections/${id}/${op}`, { ids: ['y'], embeddings: [[1, 1, 1]] });
      expect(answer.status, op).toBe(403);
      expect(answer.body.error).toBe('AuthorizationError');
    }
    expect((await r.post(`${DB}/collections`, { name: 'team-a-new' })).status).toBe(403);
  });

  it('tells a key scoped to one database where it works (identity), and keeps it there', async () => {
    const k = chroma(m, { 'x-chroma-token': acme });
    expect((await k.get('/api/v2/auth/identity')).body).toMatchObject({ tenant: 'acme', databases: ['prod'] });
    expect((await chroma(m, { 'x-chroma-token': writeA }).get('/api/v2/auth/identity')).body).toMatchObject({ tenant: 'default_tenant', databases: ['default_database'] });
    expect((await k.post('/api/v2/tenants/acme/databases', { name: 'prod' })).status).toBe(403); // creating databases is for admins
    expect((await chroma(m, { 'x-chroma-token': admin }).post('/api/v2/tenants/acme/databases', { name: 'prod' })).status).toBe(200);
    expect((await k.post('/api/v2/tenants/acme/databases/prod/collections', { name: 'orders' })).status).toBe(200);
    expect((await k.post(`${DB}/collections`, { name: 'orders' })).status).toBe(403);
    expect((await k.get(`${DB}/collections`)).body).toEqual([]);
  });

  it('refuses reset unless it is turned on', async () => {
    const answer = await chroma(m, { 'x-chroma-token': admin }).post('/api/v2/reset');
    expect(answer).toMatchObject({ status: 403, body: { error: 'ChromaError', message: 'Reset is disabled by config' } });
    expect((await m.api.get('/healthz')).body.namespaces).toBeGreaterThan(0);
  });
});

describe('Chroma collections are membank namespaces', () => {
  let m: Running;
  let dir: string;
  beforeAll(async () => {
    dir = tempDir();
    m = await startMembank(dir, { chromaPort: 0, chromaAllowReset: true });
  });
  afterAll(() => m.close());

  it('maps HNSW configuration onto the namespace, with Chroma\'s defaults, and fixes the dimensions at the first add', async () => {
    const c = chroma(m);
    const created = await c.post(`${DB}/collections`, { name: 'plain' });
    expect(created.body).toMatchObject({ name: 'plain', dimension: null, configuration_json: { hnsw: { space: 'l2', ef_construction: 100, ef_search: 100, max_neighbors: 16 } } });
    const tuned = await c.post(`${DB}/collections`, { name: 'tuned', configuration: { hnsw: { space: 'ip', ef_construction: 64, max_neighbors: 12, ef_search: 32 } } });
    expect(tuned.body.configuration_json.hnsw).toMatchObject({ space: 'ip', ef_construction: 64, max_neighbors: 12, ef_search: 32 });
    const legacy = await c.post(`${DB}/collections`, { name: 'legacy', metadata: { 'hnsw:space': 'cosine', 'hnsw:M': 24 } });
    expect(legacy.body.configuration_json.hnsw).toMatchObject({ space: 'cosine', max_neighbors: 24 });
    expect((await c.post(`${DB}/collections`, { name: 'too-wide', configuration: { hnsw: { max_neighbors: 1000 } } })).status).toBe(400);

    await c.post(`${DB}/collections/${created.body.id}/add`, { ids: ['p'], embeddings: [[3, 4]] });
    expect((await c.get(`${DB}/collections/plain`)).body.dimension).toBe(2);
    const namespaces = (await m.api.get('/v1/namespaces')).body.namespaces;
    expect(namespaces.find((n: { name: string }) => n.name === 'plain')).toMatchObject({ space: 'l2', dimensions: 2, embedder: null, hnsw: { m: 16, efConstruction: 100, efSearch: 100 } });
    expect(namespaces.find((n: { name: string }) => n.name === 'tuned')).toMatchObject({ space: 'ip', hnsw: { m: 12, efConstruction: 64, efSearch: 32 } });
    // membank's own API reads what Chroma's wrote, and the other way round.
    const q = await m.api.post('/v1/namespaces/plain/query', { vector: [3, 4], k: 1 });
    expect(q.body.results[0]).toMatchObject({ id: 'p', distance: 0 });
    await m.api.post('/v1/namespaces/plain/memories', { memories: [{ id: 'v1', vector: [0, 1], text: 'written through v1', metadata: { via: 'v1' } }] });
    const got = await c.post(`${DB}/collections/${created.body.id}/get`, { ids: ['v1'] });
    expect(got.body).toMatchObject({ ids: ['v1'], documents: ['written through v1'], metadatas: [{ via: 'v1' }] });
    const near = await c.post(`${DB}/collections/${created.body.id}/query`, { query_embeddings: [[0, 2]], n_results: 2 });
    expect(near.body.ids).toEqual([['v1', 'p']]);
    expect(near.body.distances[0]).toEqual([1, 13]); // squared L2
  });

  it('takes concurrent first adds into a new collection, as the clients of a bulk load send them', async () => {
    const c = chroma(m);
    const id = (await c.post(`${DB}/collections`, { name: 'concurrent' })).body.id;
    const batches = Array.from({ length: 4 }, (_, b) => ({
      ids: Array.from({ length: 50 }, (_, i) => `b${b}-${i}`),
      embeddings: Array.from({ length: 50 }, (_, i) => [b, i, 1]),
    }));
    const answers = await Promise.all(batches.map((batch) => c.post(`${DB}/collections/${id}/add`, batch)));
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 201]);
    expect((await c.get(`${DB}/collections/${id}/count`)).body).toBe(200);
    expect((await c.get(`${DB}/collections/concurrent`)).body.dimension).toBe(3);
  });

  it('embeds documents sent without embeddings when the collection has a membank embedder', async () => {
    const c = chroma(m);
    const created = await c.post(`${DB}/collections`, { name: 'embedded', metadata: { 'membank:embedder': 'hash-64' }, configuration: { hnsw: { space: 'cosine' } } });
    expect(created.body.dimension).toBe(64);
    const id = created.body.id;
    expect((await c.post(`${DB}/collections/${id}/add`, { ids: ['a', 'b'], documents: ['the cat sat on the mat', 'stock prices fell sharply'] })).status).toBe(201);
    const byText = await c.post(`${DB}/collections/${id}/query`, { query_texts: ['the cat sat on the mat'], n_results: 2 });
    expect(byText.body.ids).toEqual([['a', 'b']]);
    expect(byText.body.distances[0][0]).toBeCloseTo(0, 5);
    const vector = (await m.api.post('/v1/embeddings', { model: 'hash-64', input: 'stock prices fell sharply' })).body.data[0].embedding;
    expect((await c.post(`${DB}/collections/${id}/query`, { query_embeddings: [vector], n_results: 1 })).body.ids).toEqual([['b']]);
    // A new document without an embedding is embedded again.
    await c.post(`${DB}/collections/${id}/update`, { ids: ['b'], documents: ['the cat sat on the mat'] });
    const after = await c.post(`${DB}/collections/${id}/query`, { query_texts: ['the cat sat on the mat'], n_results: 2, include: ['distances'] });
    expect(after.body.distances[0][1]).toBeCloseTo(0, 5);
    // Without an embedder, a record needs its embedding.
    const plain = (await c.get(`${DB}/collections/plain`)).body.id;
    const refused = await c.post(`${DB}/collections/${plain}/add`, { ids: ['n'], documents: ['no vector'] });
    expect(refused).toMatchObject({ status: 400, body: { error: 'InvalidArgumentError', message: expect.stringContaining('no server-side embedder') } });
  });

  it("lets membank's own features work on a collection: context, hybrid search, forgetting", async () => {
    const c = chroma(m);
    const id = (await c.get(`${DB}/collections/embedded`)).body.id;
    await c.post(`${DB}/collections/${id}/add`, { ids: ['w1', 'w2'], documents: ['the weather is rainy in Oslo', 'the weather is sunny in Rome'], metadatas: [{ city: 'oslo' }, { city: 'rome' }] });
    const context = await m.api.post('/v1/namespaces/embedded/context', { query: 'weather in Oslo', maxTokens: 200, mode: 'hybrid' });
    expect(context.status).toBe(200);
    expect(context.body.context).toContain('rainy in Oslo');
    const hybrid = await m.api.post('/v1/namespaces/embedded/query', { query: 'Oslo weather', k: 1 });
    expect(hybrid.body.results[0].id).toBe('w1');
    const forgot = await m.api.post('/v1/namespaces/embedded/forget', { filter: { city: 'rome' } });
    expect(forgot.status).toBe(200);
    expect((await c.post(`${DB}/collections/${id}/get`, { where: { city: { $in: ['oslo', 'rome'] } }, include: [] })).body.ids).toEqual(['w1']);
  });

  it('shows a namespace made through v1 as a collection', async () => {
    await m.api.post('/v1/namespaces', { name: 'from-v1', embedder: null, dimensions: 3, space: 'cosine' });
    await m.api.post('/v1/namespaces/from-v1/memories', { memories: [{ id: 'm', vector: [1, 0, 0], text: 'hello', metadata: { k: 1 } }] });
    const c = chroma(m);
    const collection = (await c.get(`${DB}/collections/from-v1`)).body;
    expect(collection).toMatchObject({ name: 'from-v1', dimension: 3, configuration_json: { hnsw: { space: 'cosine', max_neighbors: 16, ef_construction: 200, ef_search: 64 } } });
    expect((await c.get(`${DB}/collections/${collection.id}/count`)).body).toBe(1);
    const q = await c.post(`${DB}/collections/${collection.id}/query`, { query_embeddings: [[0, 1, 0]], n_results: 1 });
    expect(q.body).toMatchObject({ ids: [['m']], documents: [['hello']], metadatas: [[{ k: 1 }]] });
    expect(q.body.distances[0][0]).toBeCloseTo(1, 6); // cosine distance
  });

  it('keeps other tenants\' databases under namespace prefixes', async () => {
    const c = chroma(m);
    expect((await c.post('/api/v2/tenants', { name: 'acme' })).status).toBe(200);
    expect((await c.post('/api/v2/tenants', { name: 'acme' })).status).toBe(409);
    expect((await c.post('/api/v2/tenants/acme/databases', { name: 'prod' })).status).toBe(200);
    expect((await c.post('/api/v2/tenants/acme/databases/nope/collections', { name: 'orders' })).status).toBe(400);
    const orders = await c.post('/api/v2/tenants/acme/databases/prod/collections', { name: 'orders' });
    expect(orders.body).toMatchObject({ name: 'orders', tenant: 'acme', database: 'prod' });
    expect((await m.api.get('/v1/namespaces/acme..prod..orders')).status).toBe(200);
    expect((await c.get('/api/v2/tenants/acme/databases/prod/collections')).body.map((x: { name: string }) => x.name)).toEqual(['orders']);
    expect((await c.get(`${DB}/collections`)).body.map((x: { name: string }) => x.name)).not.toContain('orders');
    // A collection id belongs to its database.
    expect((await c.post(`${DB}/collections/${orders.body.id}/get`, {})).status).toBe(404);
    expect((await c.del('/api/v2/tenants/acme/databases/prod')).status).toBe(200);
    expect((await m.api.get('/v1/namespaces/acme..prod..orders')).status).toBe(404);
    expect((await c.get('/api/v2/tenants/acme/databases/prod')).status).toBe(404);
  });

  it('reads base64 embeddings and writes float32s as Chroma does', async () => {
    const c = chroma(m);
    const id = (await c.post(`${DB}/collections`, { name: 'floats' })).body.id;
    const bytes = Buffer.alloc(12);
    [0.1, 0.2, 0.3].forEach((x, i) => bytes.writeFloatLE(x, i * 4));
    expect((await c.post(`${DB}/collections/${id}/add`, { ids: ['b64'], embeddings: [bytes.toString('base64')] })).status).toBe(201);
    await c.post(`${DB}/collections/${id}/add`, { ids: ['json'], embeddings: [[0.7, -1.25, 3]] });
    const got = await c.post(`${DB}/collections/${id}/get`, { include: ['embeddings'] });
    expect(got.body.embeddings).toEqual([[0.1, 0.2, 0.3], [0.7, -1.25, 3]]);
    expect((await c.post(`${DB}/collections/${id}/add`, { ids: ['odd'], embeddings: ['AAAA1'] })).status).toBe(422);
  });

  it('filters on keys as Chroma has them: flat, any characters', async () => {
    const c = chroma(m);
    const id = (await c.post(`${DB}/collections`, { name: 'keys' })).body.id;
    await c.post(`${DB}/collections/${id}/add`, {
      ids: ['dotted', 'nested', 'quoted'],
      embeddings: [[1], [2], [3]],
      metadatas: [{ 'a.b': 1 }, { a: 'x' }, { 'say "hi"': true }],
    });
    expect((await c.post(`${DB}/collections/${id}/get`, { where: { 'a.b': 1 }, include: [] })).body.ids).toEqual(['dotted']);
    expect((await c.post(`${DB}/collections/${id}/query`, { query_embeddings: [[0]], where: { 'a.b': { $gte: 1 } }, include: [] })).body.ids).toEqual([['dotted']]);
    const quoted = await c.post(`${DB}/collections/${id}/query`, { query_embeddings: [[0]], where: { 'say "hi"': true }, include: ['metadatas'] });
    expect(quoted.body).toMatchObject({ ids: [['quoted']], metadatas: [[{ 'say "hi"': true }]] });
    const reserved = await c.post(`${DB}/collections/${id}/add`, { ids: ['r'], embeddings: [[4]], metadatas: [{ 'chroma:document': 'x' }] });
    expect(reserved).toMatchObject({ status: 400, body: { error: 'InvalidArgumentError' } });
  });

  it('runs where_document regexes in linear time', async () => {
    const c = chroma(m);
    const id = (await c.post(`${DB}/collections`, { name: 'regex' })).body.id;
    await c.post(`${DB}/collections/${id}/add`, { ids: ['long', 'short'], embeddings: [[1], [2]], documents: ['a'.repeat(50_000), 'aab'] });
    const started = performance.now();
    const found = await c.post(`${DB}/collections/${id}/get`, { where_document: { $regex: '^(a+)+$' }, include: [] });
    expect(found.body.ids).toEqual(['long']);
    const none = await c.post(`${DB}/collections/${id}/get`, { where_document: { $regex: '(a|aa)+c' }, include: [] });
    expect(none.body.ids).toEqual([]);
    expect(performance.now() - started).toBeLessThan(2000); // a backtracking engine takes ages on these
    const backreference = await c.post(`${DB}/collections/${id}/get`, { where_document: { $regex: '(a)\\1' } });
    expect(backreference).toMatchObject({ status: 400, body: { error: 'InvalidArgumentError' } });
  });

  it('keeps collections, records and collection ids across a restart', async () => {
    const c = chroma(m);
    const before = (await c.get(`${DB}/collections/plain`)).body;
    const records = (await c.post(`${DB}/collections/${before.id}/get`, { include: ['embeddings', 'documents'] })).body;
    await m.close();
    m = await startMembank(dir, { chromaPort: 0, chromaAllowReset: true });
    const after = (await chroma(m).get(`${DB}/collections/plain`)).body;
    expect(after).toMatchObject({ id: before.id, name: 'plain', dimension: 2, configuration_json: before.configuration_json });
    expect((await chroma(m).post(`${DB}/collections/${before.id}/get`, { include: ['embeddings', 'documents'] })).body).toEqual(records);
  });

  it('resets when the flag allows it', async () => {
    const answer = await chroma(m).post('/api/v2/reset');
    expect(answer).toMatchObject({ status: 200, body: true });
    expect((await m.api.get('/v1/namespaces')).body.namespaces).toEqual([]);
    expect((await chroma(m).get(`${DB}/collections_count`)).body).toBe(0);
  });
});

describe('a collection is one namespace through renames, changes and restarts', () => {
  let m: Running;
  let dir: string;
  beforeAll(async () => {
    dir = tempDir();
    m = await startMembank(dir, { chromaPort: 0 });
  });
  afterAll(() => m.close());

  it("has its namespace's id, metadata and open dimensions; Chroma's own configuration rides in a reserved key", async () => {
    const c = chroma(m);
    const created = await c.post(`${DB}/collections`, {
      name: 'ident',
      metadata: { owner: 'ann', n: 1 },
      configuration: { hnsw: { resize_factor: 1.5 }, embedding_function: { type: 'known', name: 'openai', config: { model_name: 'small' } } },
    });
    expect(created.body).toMatchObject({
      metadata: { owner: 'ann', n: 1 },
      dimension: null,
      configuration_json: { hnsw: { resize_factor: 1.5, sync_threshold: 1000 }, embedding_function: { type: 'known', name: 'openai' } },
    });
    const namespace = (await m.api.get('/v1/namespaces/ident')).body;
    expect(namespace).toMatchObject({
      id: created.body.id,
      dimensions: null,
      metadata: { owner: 'ann', n: 1, 'chroma:configuration': { resize_factor: 1.5, embedding_function: { name: 'openai' } } },
    });
    // A plain collection's namespace carries nothing of Chroma's.
    await c.post(`${DB}/collections`, { name: 'plain-ident' });
    expect((await m.api.get('/v1/namespaces/plain-ident')).body.metadata).toEqual({});
    expect((await c.get(`${DB}/collections/plain-ident`)).body.metadata).toBeNull();
    const reserved = await c.post(`${DB}/collections`, { name: 'reserved', metadata: { 'chroma:configuration': 'x' } });
    expect(reserved).toMatchObject({ status: 400, body: { error: 'InvalidArgumentError', message: expect.stringContaining('reserved') } });
    const huge = await c.post(`${DB}/collections`, { name: 'huge', metadata: { blob: 'x'.repeat(70_000) } });
    expect(huge).toMatchObject({ status: 400, body: { error: 'InvalidArgumentError', message: expect.stringContaining('65536 bytes') } });

    await c.post(`${DB}/collections/${created.body.id}/add`, { ids: ['a'], embeddings: [[1, 0, 0]] });
    expect((await m.api.get('/v1/namespaces/ident')).body.dimensions).toBe(3);
  });

  it('renames in place: the id, the records and their recall strength stay; metadata and ef_search change in the same step', async () => {
    const c = chroma(m);
    const id = (await c.get(`${DB}/collections/ident`)).body.id;
    await c.post(`${DB}/collections/${id}/add`, { ids: ['b'], embeddings: [[0, 1, 0]], documents: ['remembered'] });
    await m.api.post('/v1/namespaces/ident/query', { vector: [0, 1, 0], k: 1 }); // a recall: strength + 1
    await m.membank.service.checkpoint(); // recalls are recorded in the background
    const before = (await m.api.get('/v1/namespaces/ident/memories/b')).body;
    expect(before.recallCount).toBe(1);

    const renamed = await c.put(`${DB}/collections/${id}`, { new_name: 'ident-renamed', new_metadata: { owner: 'bob' }, new_configuration: { hnsw: { ef_search: 40 } } });
    expect(renamed.status).toBe(200);
    const after = (await c.get(`${DB}/collections/ident-renamed`)).body;
    expect(after).toMatchObject({ id, metadata: { owner: 'bob' }, configuration_json: { hnsw: { ef_search: 40, resize_factor: 1.5 }, embedding_function: { name: 'openai' } } });
    expect((await c.get(`${DB}/collections/ident`)).status).toBe(404);
    const namespace = (await m.api.get('/v1/namespaces/ident-renamed')).body;
    expect(namespace).toMatchObject({ id, hnsw: { efSearch: 40 }, count: 2 });
    expect((await m.api.get('/v1/namespaces/ident-renamed/memories/b')).body).toMatchObject({ recallCount: 1, strength: before.strength, createdAt: before.createdAt });
    const refused = await c.put(`${DB}/collections/${id}`, { new_configuration: { hnsw: { max_neighbors: 32 } } });
    expect(refused).toMatchObject({ status: 400, body: { message: expect.stringContaining('max_neighbors') } });
  });

  it('updates and upserts in part: what is not given stays, recall strength included', async () => {
    const c = chroma(m);
    const id = (await c.get(`${DB}/collections/ident-renamed`)).body.id;
    const before = (await m.api.get('/v1/namespaces/ident-renamed/memories/b')).body;
    await c.post(`${DB}/collections/${id}/update`, { ids: ['b'], documents: ['remembered, and changed'], metadatas: [{ tag: 'x' }] });
    await c.post(`${DB}/collections/${id}/upsert`, { ids: ['b', 'c'], embeddings: [[0, 1, 0.5], [0, 0, 1]], metadatas: [{ more: 1 }, null] });
    const after = (await m.api.get('/v1/namespaces/ident-renamed/memories/b?include=vector')).body;
    expect(after).toMatchObject({ text: 'remembered, and changed', metadata: { tag: 'x', more: 1 }, vector: [0, 1, 0.5], recallCount: 1, strength: before.strength });
    expect(after.updatedAt > before.updatedAt).toBe(true);
    const got = await c.post(`${DB}/collections/${id}/get`, { include: ['documents', 'metadatas'] });
    expect(got.body).toMatchObject({ ids: ['a', 'b', 'c'], documents: [null, 'remembered, and changed', null], metadatas: [null, { tag: 'x', more: 1 }, null] });
  });

  it('filters on keys the store cannot name in its JSON paths, in get, query and delete', async () => {
    const c = chroma(m);
    const id = (await c.post(`${DB}/collections`, { name: 'odd-keys' })).body.id;
    await c.post(`${DB}/collections/${id}/add`, { ids: ['q', 'r', 's'], embeddings: [[1], [2], [3]], metadatas: [{ 'say "hi"': 1 }, { 'back\\slash': 2 }, { plain: 3 }] });
    expect((await c.post(`${DB}/collections/${id}/get`, { where: { 'say "hi"': 1 }, include: [] })).body.ids).toEqual(['q']);
    expect((await c.post(`${DB}/collections/${id}/query`, { query_embeddings: [[0]], where: { 'back\\slash': { $gte: 1 } }, include: [] })).body.ids).toEqual([['r']]);
    await c.post(`${DB}/collections/${id}/delete`, { where: { 'say "hi"': { $in: [1, 2] } } });
    expect((await c.post(`${DB}/collections/${id}/get`, { include: [] })).body.ids).toEqual(['r', 's']);
  });

  it('deletes everything for a where that folds to "all", and nothing for one that folds to "none"', async () => {
    const c = chroma(m);
    const id = (await c.post(`${DB}/collections`, { name: 'fold-delete' })).body.id;
    await c.post(`${DB}/collections/${id}/add`, { ids: ['x', 'y'], embeddings: [[1], [2]] });
    await c.post(`${DB}/collections/${id}/delete`, { where: { $or: [] } });
    expect((await c.get(`${DB}/collections/${id}/count`)).body).toBe(2);
    await c.post(`${DB}/collections/${id}/delete`, { where: { $and: [] } });
    expect((await c.get(`${DB}/collections/${id}/count`)).body).toBe(0);
  });

  it('keeps ids, metadata and configuration across a restart; a collection made again under a name gets a new id', async () => {
    const before = (await chroma(m).get(`${DB}/collections/ident-renamed`)).body;
    await m.close();
    m = await startMembank(dir, { chromaPort: 0 });
    const c = chroma(m);
    expect((await c.get(`${DB}/collections/ident-renamed`)).body).toEqual(before);
    expect((await c.post(`${DB}/collections/${before.id}/get`, { include: [] })).body.ids).toEqual(['a', 'b', 'c']);
    expect((await c.del(`${DB}/collections/ident-renamed`)).status).toBe(200);
    const again = (await c.post(`${DB}/collections`, { name: 'ident-renamed' })).body;
    expect(again.id).not.toBe(before.id);
    expect((await c.post(`${DB}/collections/${before.id}/get`, {})).status).toBe(404);
  });
});
