/**
 * One suite for Chroma's own JavaScript client against membank's Chroma API, run for every client version
 * installed (chroma-client.test.ts): every call an application makes, the mistakes included, through the
 * client exactly as applications use it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Running, startMembank, tempDir } from './helpers.js';

type ChromaModule = typeof import('chromadb');

/** A small deterministic embedding function, as applications bring their own (OpenAI's, a local model). */
export class LetterEmbedding {
  async generate(texts: string[]): Promise<number[][]> {
    return texts.map((text) => {
      const v = [0, 0, 0, 0];
      for (const ch of text.toLowerCase()) v[ch.charCodeAt(0) % 4]! += 1;
      const norm = Math.hypot(...v) || 1;
      return v.map((x) => x / norm);
    });
  }
}

const squaredL2 = (a: number[], b: number[]): number => a.reduce((sum, x, i) => sum + (x - b[i]!) ** 2, 0);

export function chromaClientSuite(label: string, load: () => Promise<ChromaModule>): void {
  describe(`Chroma's client ${label} against membank`, () => {
    let m: Running;
    let chroma: ChromaModule;
    let client: InstanceType<ChromaModule['ChromaClient']>;
    const ef = new LetterEmbedding();

    beforeAll(async () => {
      chroma = await load();
      m = await startMembank(tempDir(), { chromaPort: 0 });
      const url = new URL(m.membank.chromaUrl()!);
      client = new chroma.ChromaClient({ host: url.hostname, port: Number(url.port), ssl: false });
    });
    afterAll(() => m?.close());

    it('answers the heartbeat, version and pre-flight checks', async () => {
      expect(typeof (await client.heartbeat())).toBe('number');
      expect(await client.version()).toBe('1.0.0');
      expect(await client.getMaxBatchSize()).toBeGreaterThanOrEqual(1000);
      expect(await client.getUserIdentity()).toMatchObject({ tenant: 'default_tenant', databases: ['default_database'] });
    });

    it('creates, gets, lists, counts, modifies and deletes collections', async () => {
      const docs = await client.createCollection({ name: 'docs', embeddingFunction: ef, metadata: { owner: 'test', version: 1 } });
      expect(docs.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(docs.metadata).toEqual({ owner: 'test', version: 1 });
      expect(docs.configuration.hnsw).toMatchObject({ space: 'l2', ef_construction: 100, ef_search: 100, max_neighbors: 16 });
      const cosine = await client.createCollection({ name: 'cosine-docs', embeddingFunction: ef, configuration: { hnsw: { space: 'cosine', ef_search: 50 } } });
      expect(cosine.configuration.hnsw).toMatchObject({ space: 'cosine', ef_search: 50 });

      await expect(client.createCollection({ name: 'docs', embeddingFunction: ef })).rejects.toMatchObject({ name: 'ChromaUniqueError' });
      await expect(client.getCollection({ name: 'missing', embeddingFunction: ef })).rejects.toMatchObject({ name: 'ChromaNotFoundError' });
      await expect(client.createCollection({ name: 'x', embeddingFunction: ef })).rejects.toMatchObject({ name: 'ChromaClientError' });

      const again = await client.getOrCreateCollection({ name: 'docs', embeddingFunction: ef, metadata: { ignored: true } });
      expect(again.id).toBe(docs.id);
      expect(again.metadata).toEqual({ owner: 'test', version: 1 });
      expect((await client.getCollection({ name: 'docs', embeddingFunction: ef })).id).toBe(docs.id);
      expect((await client.listCollections()).map((c) => c.name).sort()).toEqual(['cosine-docs', 'docs']);
      expect((await client.listCollections({ limit: 1, offset: 1 })).length).toBe(1);
      expect(await client.countCollections()).toBe(2);

      await cosine.modify({ name: 'cosine-renamed', metadata: { renamed: true } });
      const renamed = await client.getCollection({ name: 'cosine-renamed', embeddingFunction: ef });
      expect(renamed.metadata).toEqual({ renamed: true });
      expect(renamed.id).toBe(cosine.id);
      await expect(client.getCollection({ name: 'cosine-docs', embeddingFunction: ef })).rejects.toMatchObject({ name: 'ChromaNotFoundError' });

      await client.deleteCollection({ name: 'cosine-renamed' });
      await expect(client.deleteCollection({ name: 'cosine-renamed' })).rejects.toMatchObject({ name: 'ChromaNotFoundError' });
      expect(await client.countCollections()).toBe(1);
      // A collection is a membank namespace.
      const namespaces = (await m.api.get('/v1/namespaces')).body.namespaces.map((n: { name: string }) => n.name);
      expect(namespaces).toEqual(['docs']);
    });

    it('adds, gets, queries, updates, upserts and deletes records, with Chroma\'s shapes and distances', async () => {
      const c = await client.getOrCreateCollection({ name: 'records', embeddingFunction: ef });
      await c.add({
        ids: ['a', 'b', 'c', 'd'],
        documents: ['apple pie', 'banana bread', 'cherry tart', 'date loaf'],
        metadatas: [{ kind: 'pie', price: 3 }, { kind: 'bread', price: 2.5 }, { kind: 'tart', price: 4 }, { kind: 'bread', price: 1 }],
        uris: ['u://a', null as unknown as string, 'u://c', null as unknown as string],
      });
      expect(await c.count()).toBe(4);
      // add skips ids that exist, as Chroma does
      await c.add({ ids: ['a'], embeddings: [[9, 9, 9, 9]], documents: ['not this'] });
      const a = await c.get({ ids: ['a'], include: ['documents', 'embeddings', 'metadatas', 'uris'] as never });
      expect(a.documents).toEqual(['apple pie']);
      const [expected] = await ef.generate(['apple pie']);
      a.embeddings[0]!.forEach((x, i) => expect(x).toBeCloseTo(expected![i]!, 6));
      expect(a.uris).toEqual(['u://a']);

      const all = await c.get();
      expect(all.ids).toEqual(['a', 'b', 'c', 'd']);
      expect(all.include).toEqual(['documents', 'metadatas']);
      expect(all.metadatas[1]).toEqual({ kind: 'bread', price: 2.5 });
      expect((await c.get({ ids: ['d', 'a', 'nope'] })).ids).toEqual(['a', 'd']);
      expect((await c.get({ limit: 2, offset: 1 })).ids).toEqual(['b', 'c']);
      expect((await c.get({ where: { kind: 'bread' } })).ids).toEqual(['b', 'd']);
      expect((await c.get({ where: { $and: [{ kind: 'bread' }, { price: { $gt: 2 } }] } })).ids).toEqual(['b']);
      expect((await c.get({ where: { price: { $in: [3, 4] } } })).ids).toEqual(['a', 'c']);
      expect((await c.get({ whereDocument: { $contains: 'bread' } })).ids).toEqual(['b']);
      expect((await c.get({ whereDocument: { $not_contains: 'a' } })).ids).toEqual([]);
      expect((await c.get({ whereDocument: { $regex: '^[cd]' } } as never)).ids).toEqual(['c', 'd']);
      expect((await c.peek({ limit: 3 })).ids).toEqual(['a', 'b', 'c']);

      const [query] = await ef.generate(['apple tart']);
      const result = await c.query({ queryEmbeddings: [query!], nResults: 2, include: ['distances', 'documents', 'metadatas', 'embeddings'] as never });
      expect(result.ids).toHaveLength(1);
      expect(result.ids[0]).toHaveLength(2);
      const stored = await c.get({ ids: result.ids[0]!, include: ['embeddings'] as never });
      const byId = new Map(stored.ids.map((id, i) => [id, stored.embeddings[i]!]));
      for (const [i, id] of result.ids[0]!.entries()) {
        expect(result.distances[0]![i]).toBeCloseTo(squaredL2(query!, byId.get(id)!), 5); // squared L2, as Chroma
      }
      expect(result.distances[0]![0]).toBeLessThanOrEqual(result.distances[0]![1]!);
      expect(result.include).toEqual(['distances', 'documents', 'metadatas', 'embeddings']);
      // The client embeds query texts with the collection's embedding function.
      const byText = await c.query({ queryTexts: ['cherry tart', 'banana bread'], nResults: 1 });
      expect(byText.ids).toEqual([['c'], ['b']]);
      const filtered = await c.query({ queryTexts: ['cherry tart'], nResults: 5, where: { kind: 'bread' } });
      expect([...filtered.ids[0]!].sort()).toEqual(['b', 'd']);
      expect(filtered.distances[0]![0]).toBeLessThanOrEqual(filtered.distances[0]![1]!);
      const byDocument = await c.query({ queryTexts: ['cherry tart'], nResults: 5, whereDocument: { $contains: 'loaf' } });
      expect(byDocument.ids).toEqual([['d']]);
      expect(byDocument.distances[0]![0]).toBeCloseTo(squaredL2((await ef.generate(['cherry tart']))[0]!, (await ef.generate(['date loaf']))[0]!), 5);

      await c.update({ ids: ['b'], metadatas: [{ price: 3.5, fresh: true }] });
      await c.update({ ids: ['c'], documents: ['cherry crumble'] });
      await c.update({ ids: ['missing'], documents: ['ignored'] });
      const updated = await c.get({ ids: ['b', 'c'] });
      expect(updated.metadatas).toEqual([{ kind: 'bread', price: 3.5, fresh: true }, { kind: 'tart', price: 4 }]);
      expect(updated.documents).toEqual(['banana bread', 'cherry crumble']);

      await c.upsert({ ids: ['d', 'e'], documents: ['date cake', 'elder jam'], metadatas: [{ kind: 'cake' }, { kind: 'jam' }] });
      const upserted = await c.get({ ids: ['d', 'e'] });
      expect(upserted.documents).toEqual(['date cake', 'elder jam']);
      expect(upserted.metadatas).toEqual([{ kind: 'cake', price: 1 }, { kind: 'jam' }]);
      expect(await c.count()).toBe(5);

      await c.delete({ ids: ['a'] });
      await c.delete({ where: { kind: 'jam' } });
      await c.delete({ whereDocument: { $contains: 'crumble' } });
      expect((await c.get()).ids).toEqual(['b', 'd']);
      expect(await c.count()).toBe(2);
    });

    it('keeps tenants and databases (AdminClient) and collections inside them apart', async () => {
      const url = new URL(m.membank.chromaUrl()!);
      const admin = new chroma.AdminClient({ host: url.hostname, port: Number(url.port), ssl: false });
      await admin.createTenant({ name: 'acme' });
      await expect(admin.createTenant({ name: 'acme' })).rejects.toMatchObject({ name: 'ChromaUniqueError' });
      expect(await admin.getTenant({ name: 'acme' })).toBe('acme');
      await expect(admin.getTenant({ name: 'nobody' })).rejects.toMatchObject({ name: 'ChromaNotFoundError' });
      await admin.createDatabase({ name: 'prod', tenant: 'acme' });
      expect(await admin.getDatabase({ name: 'prod', tenant: 'acme' })).toMatchObject({ name: 'prod', tenant: 'acme' });
      expect((await admin.listDatabases({ tenant: 'acme' })).map((d) => d.name)).toEqual(['prod']);

      const scoped = new chroma.ChromaClient({ host: url.hostname, port: Number(url.port), ssl: false, tenant: 'acme', database: 'prod' });
      const orders = await scoped.createCollection({ name: 'docs', embeddingFunction: ef });
      await orders.add({ ids: ['o1'], embeddings: [[1, 2]] });
      expect((await scoped.listCollections()).map((c) => c.name)).toEqual(['docs']);
      expect(await orders.count()).toBe(1);
      expect(await (await client.getCollection({ name: 'docs', embeddingFunction: ef })).count()).toBe(0);
      await admin.deleteDatabase({ name: 'prod', tenant: 'acme' });
      await expect(admin.getDatabase({ name: 'prod', tenant: 'acme' })).rejects.toMatchObject({ name: 'ChromaNotFoundError' });
      await expect(orders.count()).rejects.toMatchObject({ name: 'ChromaNotFoundError' });
      await expect(client.reset()).rejects.toMatchObject({ name: 'ChromaForbiddenError' });
    });

    it('reports the same mistakes as Chroma: dimension mismatch, bad where, missing collection', async () => {
      const c = await client.getOrCreateCollection({ name: 'mistakes', embeddingFunction: ef });
      await c.add({ ids: ['one'], embeddings: [[1, 0, 0]] });
      await expect(c.add({ ids: ['two'], embeddings: [[1, 0]] })).rejects.toMatchObject({
        name: 'ChromaClientError',
        message: expect.stringContaining('Collection expecting embedding with dimension of 3, got 2'),
      });
      await expect(c.query({ queryEmbeddings: [[1, 0, 0, 0]] })).rejects.toMatchObject({ name: 'ChromaClientError', message: expect.stringContaining('dimension') });
      // The client checks `where` itself before sending it ...
      await expect(c.get({ where: { price: { $like: 1 } } as never })).rejects.toMatchObject({ name: 'ChromaValueError' });
      // ... and what passes its checks but not Chroma's rules comes back as a 400.
      await expect(c.get({ where: { price: { $eq: [1, 2] } } as never })).rejects.toMatchObject({
        name: 'ChromaClientError',
        message: expect.stringContaining('Invalid where clause'),
      });
      await expect(c.get({ whereDocument: { $regex: '(' } } as never)).rejects.toMatchObject({ name: 'ChromaClientError' });
      await client.deleteCollection({ name: 'mistakes' });
      await expect(c.add({ ids: ['three'], embeddings: [[1, 0, 0]] })).rejects.toMatchObject({ name: 'ChromaNotFoundError' });
      await expect(c.count()).rejects.toMatchObject({ name: 'ChromaNotFoundError' });
    });
  });
}
