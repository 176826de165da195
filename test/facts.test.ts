/** Triple-style facts: pattern reads, dedupe, revision over time, semantic search, commands, entities, deletes. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbedderProvider } from '../src/adapters/embedders/provider.js';
import { api, exited, type Running, spawnMembank, startMembank, tempDir } from './helpers.js';

let m: Running;
beforeAll(async () => {
  m = await startMembank(tempDir(), { defaultEmbedder: 'use-lite' }, { embedders: createEmbedderProvider() });
});
afterAll(() => m?.close());

type Fact = { id: string; subject: string; predicate: string; object: string; validTo: string | null; supersededBy: string | null; invalidatedAt: string | null };
const triples = (facts: Fact[]) => facts.map((f) => `${f.subject}|${f.predicate}|${f.object}`).sort();

describe('facts', () => {
  beforeAll(async () => {
    await m.api.post('/v1/namespaces', { name: 'kb', facts: { singleValued: ['lives_in', 'Works At'] } });
    const written = await m.api.post('/v1/namespaces/kb/facts', {
      facts: [
        { subject: 'Alice', predicate: 'lives_in', object: 'Paris', confidence: 0.9, source: 'chat 1' },
        { subject: 'Alice', predicate: 'works_at', object: 'Acme' },
        { subject: 'Alice', predicate: 'likes', object: 'jazz' },
        { subject: 'Alice', predicate: 'likes', object: 'cats' },
        { subject: 'Bob', predicate: 'likes', object: 'jazz' },
        { subject: 'Bob', predicate: 'knows', object: 'Alice' },
        { subject: 'Carol', predicate: 'owns', object: 'a red bicycle' },
      ],
    });
    expect(written.status).toBe(201);
    expect(written.body.ids).toHaveLength(7);
  });

  it('is a namespace setting: the same one again is 200, another one 409', async () => {
    expect((await m.api.post('/v1/namespaces', { name: 'kb', facts: { singleValued: ['works at', 'LIVES_IN'] } })).status).toBe(200);
    expect((await m.api.post('/v1/namespaces', { name: 'kb', facts: { singleValued: ['lives_in'] } })).status).toBe(409);
    expect((await m.api.get('/v1/namespaces/kb')).body).toMatchObject({ facts: { singleValued: ['lives_in', 'works at'] }, factCount: 7 });
  });

  it('reads by any subset of subject, predicate and object, normalized', async () => {
    const read = async (query: string) => triples((await m.api.get(`/v1/namespaces/kb/facts?${query}`)).body.facts);
    expect(await read('subject=alice')).toEqual(['Alice|likes|cats', 'Alice|likes|jazz', 'Alice|lives_in|Paris', 'Alice|works_at|Acme']);
    expect(await read('predicate=LIKES')).toEqual(['Alice|likes|cats', 'Alice|likes|jazz', 'Bob|likes|jazz']);
    expect(await read('object=%20Jazz%20')).toEqual(['Alice|likes|jazz', 'Bob|likes|jazz']);
    expect(await read('subject=Alice&predicate=likes')).toEqual(['Alice|likes|cats', 'Alice|likes|jazz']);
    expect(await read('subject=Bob&object=Alice')).toEqual(['Bob|knows|Alice']);
    expect(await read('predicate=likes&object=jazz')).toEqual(['Alice|likes|jazz', 'Bob|likes|jazz']);
    expect(await read('subject=Alice&predicate=likes&object=cats')).toEqual(['Alice|likes|cats']);
    expect((await read('')).length).toBe(7);
    expect(await read('subject=Nobody')).toEqual([]);
  });

  it('dedupes an active fact and records the sighting instead', async () => {
    const before = (await m.api.get('/v1/namespaces/kb/facts?subject=Bob&predicate=likes')).body.facts[0];
    const again = await m.api.post('/v1/namespaces/kb/facts', { facts: [{ subject: '  BOB ', predicate: 'Likes', object: 'JAZZ' }] });
    expect(again.body.ids).toEqual([before.id]);
    expect((await m.api.get('/v1/namespaces/kb/facts?predicate=likes')).body.facts).toHaveLength(3);
  });

  it('keeps history when a single-valued fact changes: current, history, asOf and knownAt', async () => {
    const post = (object: string, validFrom: string) =>
      m.api.post('/v1/namespaces/kb/facts', { facts: [{ subject: 'Dan', predicate: 'lives_in', object, validFrom }] });
    const x = (await post('Oslo', '2020-01-01T00:00:00Z')).body.ids[0];
    await new Promise((resolve) => setTimeout(resolve, 20));
    const afterX = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const y = (await post('Rome', '2021-01-01T00:00:00Z')).body.ids[0];
    await new Promise((resolve) => setTimeout(resolve, 20));
    const z = (await post('Lima', '2022-01-01T00:00:00Z')).body.ids[0];

    const current = (await m.api.get('/v1/namespaces/kb/facts?subject=Dan&predicate=lives_in')).body.facts;
    expect(current.map((f: Fact) => f.object)).toEqual(['Lima']);
    const history: Fact[] = (await m.api.get('/v1/namespaces/kb/facts?subject=Dan&history=true')).body.facts;
    expect(history.map((f) => f.object)).toEqual(['Oslo', 'Rome', 'Lima']);
    expect(history.map((f) => f.supersededBy)).toEqual([y, z, null]);
    expect(history[0]).toMatchObject({ id: x, validTo: '2021-01-01T00:00:00.000Z', invalidatedAt: expect.any(String) });
    expect(history[1]!.validTo).toBe('2022-01-01T00:00:00.000Z');

    const asOf = async (t: string) => (await m.api.get(`/v1/namespaces/kb/facts?subject=Dan&asOf=${t}`)).body.facts.map((f: Fact) => f.object);
    expect(await asOf('2020-06-01T00:00:00Z')).toEqual(['Oslo']);
    expect(await asOf('2021-06-01T00:00:00Z')).toEqual(['Rome']);
    expect(await asOf('2023-01-01T00:00:00Z')).toEqual(['Lima']);
    const knownAt = (await m.api.get(`/v1/namespaces/kb/facts?subject=Dan&knownAt=${afterX}`)).body.facts;
    expect(knownAt.map((f: Fact) => f.object)).toEqual(['Oslo']);

    // Multi-valued predicates accumulate; mode: "replace" closes per fact.
    expect((await m.api.get('/v1/namespaces/kb/facts?subject=Alice&predicate=likes')).body.facts).toHaveLength(2);
    await m.api.post('/v1/namespaces/kb/facts', { facts: [{ subject: 'Alice', predicate: 'likes', object: 'tea', mode: 'replace' }] });
    expect(triples((await m.api.get('/v1/namespaces/kb/facts?subject=Alice&predicate=likes')).body.facts)).toEqual(['Alice|likes|tea']);
    // Declared single-valued in another spelling ("Works At" → works at) does not touch works_at; both are keys.
    await m.api.post('/v1/namespaces/kb/facts', { facts: [{ subject: 'Alice', predicate: 'works at', object: 'Initech' }, { subject: 'Alice', predicate: 'works at', object: 'Globex' }] });
    expect(triples((await m.api.get('/v1/namespaces/kb/facts?subject=Alice&predicate=works%20at')).body.facts)).toEqual(['Alice|works at|Globex']);
  });

  it('finds facts by meaning with the bundled model, current ones only unless asked', async () => {
    const search = async (query: string, history = false) =>
      (await m.api.post('/v1/namespaces/kb/facts/search', { query, k: 3, history })).body.results;
    const where = await search('Where does Alice live?');
    expect(where[0]).toMatchObject({ subject: 'Alice', predicate: 'lives_in', object: 'Paris', score: expect.any(Number) });
    expect((await search('Where does Dan live?')).map((f: Fact) => f.object)).toContain('Lima');
    expect((await search('Where does Dan live?')).map((f: Fact) => f.object)).not.toContain('Oslo');
    expect((await search('Where does Dan live?', true)).map((f: Fact) => f.object)).toEqual(expect.arrayContaining(['Oslo', 'Rome', 'Lima']));

    // Filters apply to the facts' metadata.
    await m.api.post('/v1/namespaces/kb/facts', {
      facts: [
        { subject: 'Frank', predicate: 'lives_in', object: 'Madrid', metadata: { user: 'u1' } },
        { subject: 'Gina', predicate: 'lives_in', object: 'Quito', metadata: { user: 'u2' } },
      ],
    });
    const filtered = (await m.api.post('/v1/namespaces/kb/facts/search', { query: 'who lives where', k: 5, filter: { user: 'u2' } })).body.results;
    expect(filtered.map((f: Fact) => f.subject)).toEqual(['Gina']);
  });

  it('re-indexes a re-sighted fact whose sentence a crash left out of the index', async () => {
    const [id] = (await m.api.post('/v1/namespaces/kb/facts', { facts: [{ subject: 'Hugo', predicate: 'drives', object: 'a tram' }] })).body.ids;
    const { service } = m.membank;
    const hidden = (await service.factIndex('kb'))!;
    await service.deleteMemory(hidden, id); // as if the process died between the fact's commit and its sentence's
    const search = async () => (await m.api.post('/v1/namespaces/kb/facts/search', { query: 'Hugo drives a tram', k: 1 })).body.results;
    expect((await search())[0]?.id).not.toBe(id);
    expect((await m.api.post('/v1/namespaces/kb/facts', { facts: [{ subject: 'hugo', predicate: 'drives', object: 'A tram' }] })).body.ids).toEqual([id]);
    expect((await search())[0]?.id).toBe(id);
  });

  it('runs Ret-LLM commands from model output, reporting malformed ones', async () => {
    const text = 'OK. [MEM_WRITE{Erin»plays»cello}] [MEM_WRITE{Erin>>lives_in>>Berlin}] [MEM_READ{Erin»»}] [MEM_WRITE{broken}] ünïcödé';
    const { results } = (await m.api.post('/v1/namespaces/kb/facts/commands', { text })).body;
    expect(results.map((r: { ok: boolean }) => r.ok)).toEqual([true, true, true, false]);
    expect(results[0]).toMatchObject({ command: '[MEM_WRITE{Erin»plays»cello}]', id: expect.any(String) });
    expect(triples(results[2].facts)).toEqual(['Erin|lives_in|Berlin', 'Erin|plays|cello']);
    expect(results[3].error).toContain('three fields');
  });

  it("returns an entity's neighbourhood at depth 1 and 2", async () => {
    const one = (await m.api.get('/v1/namespaces/kb/entities/Bob?depth=1')).body;
    expect(one.nodes.map((n: { name: string }) => n.name).sort()).toEqual(['Alice', 'Bob', 'jazz']);
    const two = (await m.api.get('/v1/namespaces/kb/entities/bob?depth=2')).body;
    expect(two.nodes.map((n: { name: string }) => n.name)).toEqual(expect.arrayContaining(['Paris', 'tea', 'Globex']));
    expect(two.nodes.map((n: { name: string }) => n.name)).not.toContain('Madrid');
    expect(two.edges.length).toBeGreaterThan(one.edges.length);
  });

  it('deletes by id and by pattern, from reads and from search', async () => {
    const carol = (await m.api.get('/v1/namespaces/kb/facts?subject=Carol')).body.facts[0];
    expect((await m.api.del(`/v1/namespaces/kb/facts/${carol.id}`)).status).toBe(204);
    expect((await m.api.del(`/v1/namespaces/kb/facts/${carol.id}`)).status).toBe(404);
    const hits = (await m.api.post('/v1/namespaces/kb/facts/search', { query: 'red bicycle', k: 10 })).body.results;
    expect(hits.map((f: Fact) => f.subject)).not.toContain('Carol');
    const deleted = await m.api.post('/v1/namespaces/kb/facts/delete', { subject: 'Dan' });
    expect(deleted.body.deleted).toBe(3);
    expect((await m.api.get('/v1/namespaces/kb/facts?subject=Dan&history=true')).body.facts).toEqual([]);
  });

  it.each([
    ['POST', '/v1/namespaces/kb/facts', { facts: [{ subject: 'a', predicate: 'b' }] }],
    ['POST', '/v1/namespaces/kb/facts', { facts: [{ subject: ' ', predicate: 'b', object: 'c' }] }],
    ['POST', '/v1/namespaces/kb/facts/delete', {}],
    ['GET', '/v1/namespaces/kb/entities/Bob?depth=4', undefined],
    ['GET', '/v1/namespaces/kb/facts?asOf=someday', undefined],
    ['GET', '/v1/namespaces/kb/facts?history=yes', undefined],
  ])('rejects %s %s', async (method, path, body) => {
    const response = await m.api.call(method, path, body);
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('VALIDATION_FAILED');
  });

  it('go with their namespace, and hide their index from listings', async () => {
    expect((await m.api.get('/v1/namespaces')).body.namespaces.map((n: { name: string }) => n.name)).toEqual(['kb']);
    expect((await m.api.del('/v1/namespaces/kb')).status).toBe(204);
    await m.api.post('/v1/namespaces', { name: 'kb' });
    expect((await m.api.get('/v1/namespaces/kb/facts')).body.facts).toEqual([]);
    expect((await m.api.post('/v1/namespaces/kb/facts/search', { query: 'Alice' })).body.results).toEqual([]);
  });

  it('survive SIGKILL and restart', async () => {
    const dir = tempDir();
    const first = await spawnMembank(['--data-dir', dir]);
    const client = api(first.url);
    await client.post('/v1/namespaces', { name: 'k', embedder: null, dimensions: 2 });
    const ids = (await client.post('/v1/namespaces/k/facts', { facts: [{ subject: 'A', predicate: 'r', object: 'B' }] })).body.ids;
    first.process.kill('SIGKILL');
    await exited(first.process);
    const second = await spawnMembank(['--data-dir', dir]);
    try {
      expect((await api(second.url).get('/v1/namespaces/k/facts')).body.facts.map((f: Fact) => f.id)).toEqual(ids);
      expect((await api(second.url).post('/v1/namespaces/k/facts/search', { query: 'A' })).body.error.code).toBe('NO_EMBEDDER');
    } finally {
      second.process.kill('SIGTERM');
      await exited(second.process);
    }
  });
});

describe('the change sequence of fact writes', () => {
  it('numbers fact writes and deletes in the namespace’s sequence, between memory writes, and queries stay fresh', async () => {
    expect((await m.api.post('/v1/namespaces', { name: 'seqs', embedder: null, dimensions: 2 })).status).toBe(201);
    const first = await m.api.post('/v1/namespaces/seqs/memories', { memories: [{ id: 'a', vector: [1, 0] }] });
    const s = first.body.seq as number;
    const fact = await m.api.post('/v1/namespaces/seqs/facts', { facts: [{ subject: 'x', predicate: 'p', object: 'y' }, { subject: 'x', predicate: 'q', object: 'z' }] });
    expect(fact.status).toBe(201);
    expect(fact.body).toEqual({ ids: [expect.any(String), expect.any(String)], seq: s + 2 });
    const second = await m.api.post('/v1/namespaces/seqs/memories', { memories: [{ id: 'b', vector: [0, 1] }] });
    expect(second.body.seq).toBe(s + 3);
    const deleted = await fetch(`${m.url}/v1/namespaces/seqs/facts/${fact.body.ids[0]}`, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    expect(deleted.headers.get('membank-seq')).toBe(String(s + 4));
    // Nothing deleted: the sequence stays where it is.
    expect((await m.api.post('/v1/namespaces/seqs/facts/delete', { subject: 'nobody' })).body).toEqual({ deleted: 0, seq: s + 4 });
    expect((await m.api.post('/v1/namespaces/seqs/facts/delete', { subject: 'x' })).body).toEqual({ deleted: 1, seq: s + 5 });
    const hits = await m.api.post('/v1/namespaces/seqs/query', { vector: [1, 0], k: 2 });
    expect(hits.body.results.map((r: { id: string }) => r.id)).toEqual(['a', 'b']);
    expect((await m.api.post('/v1/namespaces/seqs/memories', { memories: [{ id: 'c', vector: [1, 1] }] })).body.seq).toBe(s + 6);
    expect((await m.api.post('/v1/namespaces/seqs/query', { vector: [1, 1], k: 1 })).body.results[0].id).toBe('c');
  });
});
