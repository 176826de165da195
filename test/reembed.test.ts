/** Embedder identity (revision, dimensions) and re-embedding a namespace as a background job. */
import { describe, expect, it } from 'vitest';
import { hashEmbed, createHashEmbedder } from '../src/adapters/embedders/hash-embedder.js';
import { createEmbedderProvider, embedderTable } from '../src/adapters/embedders/provider.js';
import type { Embedder } from '../src/ports/embedder.js';
import { type Api, startMembank, tempDir } from './helpers.js';

/** The hash embedder, made to take `ms` a call, so that a job runs long enough to write and query during it. */
const slow = (embedder: Embedder, ms = 150): Embedder => ({
  ...embedder,
  embed: async (texts, priority) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return embedder.embed(texts, priority);
  },
});

const provider = (revision = 'hash-v1') =>
  createEmbedderProvider(
    embedderTable({
      'hash-64': { dimensions: 64, revision, create: async () => createHashEmbedder(64, 'hash-64', revision) },
      'hash-32': { dimensions: 32, revision: 'hash-v1', create: async () => slow(createHashEmbedder(32, 'hash-32')) },
    }),
    ['hash-64', 'hash-32'],
  );

async function waitForJob(api: Api, id: string) {
  for (let i = 0; i < 200; i++) {
    const job = (await api.get(`/v1/jobs/${id}`)).body;
    if (job.status !== 'running') return job;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('job did not finish');
}

const text = (i: number) => `memory number ${i} about topic ${i % 17} and detail ${i * 7}`;

describe('re-embedding', () => {
  it('swaps every memory to the new embedder at the end, while writes, deletes and queries go on', async () => {
    const dir = tempDir();
    let m = await startMembank(dir, {}, { embedders: provider() });
    await m.api.post('/v1/namespaces', { name: 'r', embedder: 'hash-64' });
    for (let start = 0; start < 600; start += 200) {
      await m.api.post('/v1/namespaces/r/memories', { memories: Array.from({ length: 200 }, (_, j) => ({ id: `m${start + j}`, text: text(start + j) })) });
    }
    const started = await m.api.post('/v1/namespaces/r/reembed', { embedder: 'hash-32' });
    expect(started.status).toBe(202);
    expect(started.body.job).toMatchObject({ status: 'running', total: 600, namespace: 'r' });
    expect((await m.api.post('/v1/namespaces/r/reembed', { embedder: 'hash-32' })).status).toBe(409);

    // Writes, updates, deletes and queries during the job.
    await m.api.post('/v1/namespaces/r/memories', { memories: [{ id: 'late', text: 'written while re-embedding' }, { id: 'm5', text: 'updated while re-embedding' }] });
    await m.api.del('/v1/namespaces/r/memories/m6');
    const during = await m.api.post('/v1/namespaces/r/query', { query: text(10), k: 3 });
    expect(during.status).toBe(200);
    expect(during.body.results.length).toBe(3);

    const job = await waitForJob(m.api, started.body.job.id);
    expect(job).toMatchObject({ status: 'done', eta: null });
    expect(job.done).toBeGreaterThanOrEqual(600);
    expect(job.rate).toBeGreaterThan(0);

    const ns = (await m.api.get('/v1/namespaces/r')).body;
    expect(ns).toMatchObject({ embedder: 'hash-32', dimensions: 32, embedderRevision: 'hash-v1', count: 600, index: { elements: 600 } });
    for (const [id, expected] of [['m5', 'updated while re-embedding'], ['late', 'written while re-embedding'], ['m100', text(100)]] as const) {
      const memory = (await m.api.get(`/v1/namespaces/r/memories/${id}?include=vector`)).body;
      expect(memory.vector).toHaveLength(32);
      hashEmbed(expected, 32).forEach((x, i) => expect(memory.vector[i]).toBeCloseTo(x, 6));
    }
    expect((await m.api.get('/v1/namespaces/r/memories/m6')).status).toBe(404);
    const hit = (await m.api.post('/v1/namespaces/r/query', { query: text(321), k: 1, mode: 'vector' })).body.results[0];
    expect(hit.id).toBe('m321');
    expect(hit.score).toBeCloseTo(1, 5);
    expect((await m.api.post('/v1/namespaces/r/query', { vector: Array(64).fill(0.1) })).status).toBe(400);
    await m.close();

    m = await startMembank(dir, {}, { embedders: provider() });
    expect((await m.api.get('/v1/namespaces/r')).body).toMatchObject({ embedder: 'hash-32', count: 600, index: { elements: 600 } });
    expect((await m.api.post('/v1/namespaces/r/query', { query: text(42), k: 1 })).body.results[0].id).toBe('m42');
    expect((await m.api.get(`/v1/jobs/${started.body.job.id}`)).body).toMatchObject({ status: 'done' });
    await m.close();
  });

  it("takes the namespace's facts along to the new embedder", async () => {
    const m = await startMembank(tempDir(), {}, { embedders: provider() });
    try {
      await m.api.post('/v1/namespaces', { name: 'f', embedder: 'hash-64' });
      await m.api.post('/v1/namespaces/f/memories', { memories: [{ id: 'a', text: 'alpha' }] });
      await m.api.post('/v1/namespaces/f/facts', { facts: [{ subject: 'Alice', predicate: 'lives_in', object: 'Paris' }, { subject: 'Bob', predicate: 'likes', object: 'jazz' }] });
      const hidden = (await m.membank.service.factIndex('f'))!;
      const job = (await m.api.post('/v1/namespaces/f/reembed', { embedder: 'hash-32' })).body.job;
      expect(await waitForJob(m.api, job.id)).toMatchObject({ status: 'done' });
      for (let i = 0; i < 200 && (await m.membank.service.namespace(hidden)).embedder !== 'hash-32'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(await m.membank.service.namespace(hidden)).toMatchObject({ embedder: 'hash-32', dimensions: 32 });
      const hit = (await m.api.post('/v1/namespaces/f/facts/search', { query: 'Alice lives in Paris', k: 1 })).body.results[0];
      expect(hit).toMatchObject({ subject: 'Alice', object: 'Paris' });
      expect(hit.score).toBeCloseTo(1, 5);
    } finally {
      await m.close();
    }
  });

  it('refuses an embedder whose revision changed, until the namespace is re-embedded', async () => {
    const dir = tempDir();
    let m = await startMembank(dir, {}, { embedders: provider('hash-v1') });
    await m.api.post('/v1/namespaces', { name: 'v', embedder: 'hash-64' });
    await m.api.post('/v1/namespaces/v/memories', { memories: [{ id: 'a', text: 'alpha' }] });
    await m.close();

    m = await startMembank(dir, {}, { embedders: provider('hash-v2') });
    const refused = await m.api.post('/v1/namespaces/v/memories', { memories: [{ id: 'b', text: 'beta' }] });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'EMBEDDER_MISMATCH', message: expect.stringContaining('hash-v2') });
    expect((await m.api.post('/v1/namespaces/v/query', { query: 'alpha' })).status).toBe(409);
    const job = (await m.api.post('/v1/namespaces/v/reembed', { embedder: 'hash-64' })).body.job;
    expect(await waitForJob(m.api, job.id)).toMatchObject({ status: 'done' });
    expect((await m.api.get('/v1/namespaces/v')).body.embedderRevision).toBe('hash-v2');
    expect((await m.api.post('/v1/namespaces/v/memories', { memories: [{ id: 'b', text: 'beta' }] })).status).toBe(201);
    await m.close();
  });

  it('refuses a write whose vectors were made for the embedder just swapped out', async () => {
    const slowOld = createEmbedderProvider(
      embedderTable({
        'slow-64': { dimensions: 64, revision: 'hash-v1', create: async () => slow(createHashEmbedder(64, 'slow-64'), 1500) },
        'hash-32': { dimensions: 32, revision: 'hash-v1', create: async () => createHashEmbedder(32, 'hash-32') },
      }),
    );
    const m = await startMembank(tempDir(), {}, { embedders: slowOld });
    try {
      await m.api.post('/v1/namespaces', { name: 's', embedder: 'slow-64' });
      await m.api.post('/v1/namespaces/s/memories', { memories: [{ id: 'a', text: 'alpha' }] });
      // The write embeds with slow-64 (1.5 s) while the job, with the fast hash-32, swaps the namespace.
      const write = m.api.post('/v1/namespaces/s/memories', { memories: [{ id: 'b', text: 'beta' }] });
      const job = (await m.api.post('/v1/namespaces/s/reembed', { embedder: 'hash-32' })).body.job;
      expect(await waitForJob(m.api, job.id)).toMatchObject({ status: 'done' });
      const refused = await write;
      expect(refused.status).toBe(409);
      expect(refused.body.error).toMatchObject({ code: 'EMBEDDER_MISMATCH', message: expect.stringContaining('Send it again') });
      expect((await m.api.get('/v1/namespaces/s')).body).toMatchObject({ dimensions: 32, count: 1, index: { elements: 1 } });
      expect((await m.api.post('/v1/namespaces/s/memories', { memories: [{ id: 'b', text: 'beta' }] })).status).toBe(201);
    } finally {
      await m.close();
    }
  });

  it('answers bad requests clearly', async () => {
    const m = await startMembank(tempDir(), {}, { embedders: provider() });
    try {
      await m.api.post('/v1/namespaces', { name: 'q', embedder: 'hash-64' });
      await m.api.post('/v1/namespaces', { name: 'raw', embedder: null, dimensions: 2 });
      await m.api.post('/v1/namespaces/raw/memories', { memories: [{ vector: [1, 2] }] });
      const mismatch = await m.api.post('/v1/namespaces/q/query', { query: 'x', embedder: 'hash-32' });
      expect(mismatch).toMatchObject({ status: 409, body: { error: { code: 'EMBEDDER_MISMATCH' } } });
      expect((await m.api.post('/v1/namespaces/q/query', { query: 'x', embedder: 'hash-64' })).status).toBe(200);
      expect((await m.api.post('/v1/namespaces/raw/reembed', { embedder: 'hash-32' })).body.error.message).toContain('no text');
      expect((await m.api.post('/v1/namespaces/q/reembed', { embedder: 'nope' })).body.error.code).toBe('UNKNOWN_EMBEDDER');
      expect((await m.api.get('/v1/jobs/00000000-0000-4000-8000-000000000000')).status).toBe(404);
      expect((await m.api.get('/v1/jobs/not-a-job')).status).toBe(400);
    } finally {
      await m.close();
    }
  });
});
