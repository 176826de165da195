/**
 * The OpenAI-shaped embeddings endpoint, read by the official `openai` client, and the `openai:` provider:
 * one membank instance embeds through a second instance's endpoint.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBase64Embedding } from '../src/adapters/embedders/openai-embedder.js';
import { builtinEmbedders, createEmbedderProvider } from '../src/adapters/embedders/provider.js';
import { hashEmbed } from '../src/adapters/embedders/hash-embedder.js';
import { type Running, startMembank, tempDir } from './helpers.js';

let server: Running;
beforeAll(async () => {
  server = await startMembank();
});
afterAll(() => server.close());

const openaiSettings = (baseUrl: string) => ({ baseUrl, batchSize: 2, timeoutMs: 2000, retries: 2 });

describe('POST /v1/embeddings and GET /v1/models', () => {
  it('answers in the OpenAI shape, as floats or base64', async () => {
    const floats = await server.api.post('/v1/embeddings', { model: 'hash-64', input: ['red apple', 'green pear'] });
    expect(floats.status).toBe(200);
    expect(floats.body).toMatchObject({ object: 'list', model: 'hash-64', usage: { prompt_tokens: 4, total_tokens: 4 } });
    expect(floats.body.data.map((d: { index: number }) => d.index)).toEqual([0, 1]);
    const expected = Array.from(hashEmbed('red apple', 64));
    floats.body.data[0].embedding.forEach((x: number, i: number) => expect(x).toBeCloseTo(expected[i]!, 6));

    const base64 = await server.api.post('/v1/embeddings', { model: 'hash-64', input: 'red apple', encoding_format: 'base64' });
    expect(Array.from(decodeBase64Embedding(base64.body.data[0].embedding))).toEqual(Array.from(hashEmbed('red apple', 64)));

    const models = await server.api.get('/v1/models');
    expect(models.body).toEqual({ object: 'list', data: [{ id: 'hash-64', object: 'model', created: 0, owned_by: 'membank' }] });
  });

  it.each([
    [{ model: 'nope', input: 'x' }, 400, 'UNKNOWN_EMBEDDER'],
    [{ model: 'hash-64', input: [] }, 400, 'VALIDATION_FAILED'],
    [{ model: 'hash-64', input: [[1, 2, 3]] }, 400, 'VALIDATION_FAILED'],
    [{ model: 'hash-64', input: '' }, 400, 'VALIDATION_FAILED'],
    [{ model: 'hash-64', input: 'x', dimensions: 3 }, 400, 'DIMENSION_MISMATCH'],
    [{ model: 'hash-64', input: 'x', encoding_format: 'int8' }, 400, 'VALIDATION_FAILED'],
  ])('rejects %j', async (body, status, code) => {
    const response = await server.api.post('/v1/embeddings', body);
    expect(response.status).toBe(status);
    expect(response.body.error.code).toBe(code);
  });

  it('works with the official openai client unchanged (it asks for base64)', async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused' });
    const result = await client.embeddings.create({ model: 'hash-64', input: ['red apple', 'green pear'] });
    expect(result.data).toHaveLength(2);
    const expected = hashEmbed('green pear', 64);
    result.data[1]!.embedding.forEach((x, i) => expect(x).toBeCloseTo(expected[i]!, 6));
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toContain('hash-64');
  });
});

describe('openai: provider', () => {
  it('embeds through another membank, batching, for writes and queries', async () => {
    const embedders = createEmbedderProvider(builtinEmbedders({ openai: openaiSettings(`${server.url}/v1`) }));
    const client = await startMembank(tempDir(), {}, { embedders });
    try {
      const created = await client.api.post('/v1/namespaces', { name: 'remote', embedder: 'openai:hash-64' });
      expect(created.body).toMatchObject({ embedder: 'openai:hash-64', dimensions: 64 });
      const texts = ['the cat sat on the mat', 'stocks fell sharply today', 'a recipe for tomato soup', 'the dog chased the ball', 'rain is expected tomorrow'];
      await client.api.post('/v1/namespaces/remote/memories', { memories: texts.map((text, i) => ({ id: `t${i}`, text })) });
      const stored = await client.api.get('/v1/namespaces/remote/memories/t2?include=vector');
      const expected = hashEmbed(texts[2]!, 64);
      stored.body.vector.forEach((x: number, i: number) => expect(x).toBeCloseTo(expected[i]!, 6));
      const hits = (await client.api.post('/v1/namespaces/remote/query', { query: 'recipe for tomato soup', k: 1 })).body.results;
      expect(hits[0].id).toBe('t2');
      expect((await client.api.get('/healthz')).body.embedders).toEqual([{ name: 'openai:hash-64', device: 'remote', dimensions: 64 }]);
    } finally {
      await client.close();
    }
  });

  it('retries 429 and 5xx answers with backoff', async () => {
    let calls = 0;
    const flaky: Server = createServer((req, res) => {
      calls++;
      req.resume();
      req.on('end', () => {
        if (calls <= 2) {
          res.writeHead(calls === 1 ? 429 : 503).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ data: [{ index: 0, embedding: [0.6, 0.8] }] }));
      });
    });
    await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = flaky.address() as AddressInfo;
      const provider = createEmbedderProvider(builtinEmbedders({ openai: openaiSettings(`http://127.0.0.1:${port}/v1`) }));
      const embedder = await provider.get('openai:tiny');
      expect(embedder.dimensions).toBe(2);
      expect(calls).toBe(3);
    } finally {
      flaky.close();
    }
  });

  it('fails with a clear error, not a hang, when the server is down or not configured', async () => {
    const down = createEmbedderProvider(builtinEmbedders({ openai: { ...openaiSettings('http://127.0.0.1:9/v1'), retries: 1 } }));
    const client = await startMembank(tempDir(), {}, { embedders: down });
    try {
      const started = Date.now();
      const response = await client.api.post('/v1/namespaces', { name: 'x', embedder: 'openai:any' });
      expect(response.status).toBe(503);
      expect(response.body.error).toMatchObject({ code: 'EMBEDDER_FAILED', message: expect.stringContaining('cannot reach http://127.0.0.1:9/v1/embeddings') });
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await client.close();
    }
    const unconfigured = createEmbedderProvider(builtinEmbedders());
    await expect(unconfigured.get('openai:any')).rejects.toMatchObject({ code: 'UNKNOWN_EMBEDDER', message: expect.stringContaining('MEMBANK_OPENAI_BASE_URL') });
  });
});
