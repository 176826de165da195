/**
 * Kill -9 while clients stream writes and deletes: after a restart, every acknowledged write is present and
 * searchable, every acknowledged delete stays deleted, and the index agrees with SQLite.
 */
import { describe, expect, it } from 'vitest';
import { api, exited, randomVectors, spawnMembank, tempDir } from './helpers.js';

const DIM = 16;

describe('crash safety', () => {
  it('loses no acknowledged write or delete to SIGKILL', async () => {
    const dir = tempDir();
    const first = await spawnMembank(['--data-dir', dir, '--checkpoint-interval', '1']);
    const client = api(first.url);
    expect((await client.post('/v1/namespaces', { name: 'c', embedder: null, dimensions: DIM })).status).toBe(201);

    const acked = new Map<string, number[]>();
    const deleted = new Set<string>();
    let stop = false;
    const writer = async (w: number): Promise<void> => {
      for (let batch = 0; !stop; batch++) {
        const ids = Array.from({ length: 10 }, (_, i) => `w${w}-b${batch}-${i}`);
        const vectors = randomVectors(10, DIM, w * 100_000 + batch);
        try {
          const r = await client.post('/v1/namespaces/c/memories', { memories: ids.map((id, i) => ({ id, vector: vectors[i] })) });
          if (r.status === 201) ids.forEach((id, i) => acked.set(id, vectors[i]!));
          if (batch > 0) {
            const victim = `w${w}-b${batch - 1}-0`;
            const d = await client.del(`/v1/namespaces/c/memories/${victim}`);
            if (d.status === 204) deleted.add(victim);
          }
        } catch {
          return; // the server died mid-request: that write was never acknowledged
        }
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    first.process.kill('SIGKILL');
    await exited(first.process);
    stop = true;
    await Promise.all(writers);
    expect(acked.size).toBeGreaterThan(200);

    const second = await spawnMembank(['--data-dir', dir]);
    try {
      const ready = second
        .output()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line))
        .find((entry) => entry.msg === 'index ready');
      expect(ready).toMatchObject({ namespace: 'c', how: 'loaded' });
      expect(ready.replayed).toBeGreaterThan(0);

      const restarted = api(second.url);
      const stats = (await restarted.get('/v1/namespaces/c')).body;
      expect(stats.index.elements).toBe(stats.count);
      expect(stats.count).toBeGreaterThanOrEqual(acked.size - deleted.size);

      for (const [id, vector] of acked) {
        const got = await restarted.get(`/v1/namespaces/c/memories/${id}`);
        if (deleted.has(id)) {
          expect(got.status).toBe(404);
          continue;
        }
        expect(got.status).toBe(200);
        const hit = (await restarted.post('/v1/namespaces/c/query', { vector, k: 1 })).body.results[0];
        expect(hit.id).toBe(id);
      }
    } finally {
      second.process.kill('SIGTERM');
      expect(await exited(second.process)).toBe(0);
    }
  });
});
