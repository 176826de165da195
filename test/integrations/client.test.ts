/** What the client gained for the integrations: from(), ensureNamespace() and embed(), against a real server. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MembankClient } from '../../src/client/index.js';
import { type Running, startMembank } from '../helpers.js';
import { recordingFetch } from './support.js';

let server: Running;
beforeAll(async () => {
  server = await startMembank();
});
afterAll(() => server.close());

describe('client additions', () => {
  it('from(): the client given, or a new one from the options', () => {
    const client = new MembankClient({ url: server.url });
    expect(MembankClient.from({ client })).toBe(client);
    expect(MembankClient.from({ url: `${server.url}/` }).url).toBe(server.url);
  });

  it('ensureNamespace creates a missing namespace, and answers an existing one as it is', async () => {
    const client = new MembankClient({ url: server.url });
    const created = await client.ensureNamespace('ensure-a', { embedder: null, dimensions: 3 });
    expect(created).toMatchObject({ name: 'ensure-a', embedder: null, dimensions: 3 });
    const again = await client.ensureNamespace('ensure-a', { dimensions: 7 });
    expect(again).toMatchObject({ name: 'ensure-a', embedder: null, dimensions: 3 });
    await expect(client.ensureNamespace('bad name!')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('ensureNamespace under a race: every caller gets the one namespace', async () => {
    const client = new MembankClient({ url: server.url });
    const all = await Promise.all(Array.from({ length: 8 }, (_, i) => client.ensureNamespace('ensure-race', { embedder: null, dimensions: 2 + (i % 2) })));
    expect(new Set(all.map((ns) => ns.dimensions)).size).toBe(1);
  });

  it('embed: float vectors in input order, in as many requests as OpenAI\'s 2048-input limit takes', async () => {
    const { fetch, bodies } = recordingFetch();
    const client = new MembankClient({ url: server.url, fetch });
    const texts = Array.from({ length: 2050 }, (_, i) => `text number ${i}`);
    const vectors = await client.embed(texts, 'hash-64');
    expect(vectors).toHaveLength(2050);
    expect(bodies('POST', '/v1/embeddings').map((b) => [b.input.length, b.encoding_format])).toEqual([
      [2048, 'float'],
      [2, 'float'],
    ]);
    const direct = await server.api.post('/v1/embeddings', { model: 'hash-64', input: ['text number 2049'] });
    expect(vectors[2049]).toEqual(direct.body.data[0].embedding);
    await expect(client.embed(['x'], 'no-such-model')).rejects.toMatchObject({ code: 'UNKNOWN_EMBEDDER' });
  });
});
