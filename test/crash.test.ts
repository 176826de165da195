/**
 * Kill -9 while clients stream writes and deletes: after a restart, every acknowledged write is present and
 * searchable, every acknowledged delete stays deleted, and the index agrees with SQLite. A second kill after
 * changes made since the last checkpoint checks that the next start replays them.
 */
import { describe, expect, it } from 'vitest';
import { api, type Child, exited, randomVectors, spawnMembank, tempDir } from './helpers.js';

const DIM = 16;

/**
 * The server's "index ready" log line, which says whether the index was loaded or rebuilt, and what it replayed.
 * Namespaces load on first use: a query loads it, then the line is awaited.
 */
async function indexReady(child: Child) {
  await api(child.url).post('/v1/namespaces/c/query', { vector: Array.from({ length: DIM }, () => 1), k: 1 });
  for (let i = 0; i < 100; i++) {
    const line = child
      .output()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .find((entry) => entry.msg === 'index ready');
    if (line) return line;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no "index ready" line after a query:\n${child.output()}`);
}

describe('crash safety', () => {
  it('loses no acknowledged write or delete to SIGKILL', async () => {
    const dir = tempDir();
    const first = await spawnMembank(['--data-dir', dir, '--checkpoint-interval', '1']);
    const client = api(first.url);
    // A graph from 50 vectors on, checkpointed every second: what a kill must not damage.
    expect((await client.post('/v1/namespaces', { name: 'c', embedder: null, dimensions: DIM, hnsw: { threshold: 50 } })).status).toBe(201);

    const acked = new Map<string, number[]>();
    const deleted = new Set<string>();
    const inFlightDeletes = new Set<string>();
    let stop = false;
    const writer = async (w: number): Promise<void> => {
      for (let batch = 0; !stop; batch++) {
        const ids = Array.from({ length: 10 }, (_, i) => `w${w}-b${batch}-${i}`);
        const vectors = randomVectors(10, DIM, w * 100_000 + batch);
        try {
          const r = await client.post('/v1/namespaces/c/memories', { memories: ids.map((id, i) => ({ id, vector: vectors[i] })) });
          if (r.status === 201) ids.forEach((id, i) => acked.set(id, vectors[i]!));
          await client.post('/v1/namespaces/c/query', { vector: vectors[0], k: 3 }); // reads keep the namespace loaded
          if (batch > 0) {
            const victim = `w${w}-b${batch - 1}-0`;
            inFlightDeletes.add(victim); // may commit without its answer arriving, if the kill comes now
            const d = await client.del(`/v1/namespaces/c/memories/${victim}`);
            if (d.status === 204) deleted.add(victim);
            inFlightDeletes.delete(victim);
          }
        } catch {
          return; // the server died mid-request: that write was never acknowledged
        }
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    // Long enough for several checkpoints and a few hundred writes, however busy the machine.
    const started = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 2500));
    while (acked.size <= 300 && Date.now() - started < 20_000) await new Promise((resolve) => setTimeout(resolve, 100));
    first.process.kill('SIGKILL');
    await exited(first.process);
    stop = true;
    await Promise.all(writers);
    expect(acked.size).toBeGreaterThan(200);

    const second = await spawnMembank(['--data-dir', dir]);
    try {
      const ready = await indexReady(second);
      expect(ready).toMatchObject({ namespace: 'c', how: 'loaded' });

      const restarted = api(second.url);
      const stats = (await restarted.get('/v1/namespaces/c')).body;
      expect(stats.index.elements).toBe(stats.count);
      expect(stats.count).toBeGreaterThanOrEqual(acked.size - deleted.size - inFlightDeletes.size);

      for (const [id, vector] of acked) {
        if (inFlightDeletes.has(id)) continue; // either outcome is right for a delete that was never answered
        const got = await restarted.get(`/v1/namespaces/c/memories/${id}`);
        if (deleted.has(id)) {
          expect(got.status).toBe(404);
          continue;
        }
        expect(got.status).toBe(200);
        const hit = (await restarted.post('/v1/namespaces/c/query', { vector, k: 1 })).body.results[0];
        expect(hit.id).toBe(id);
      }

      // Changes after the last checkpoint (none is taken in this process's first 60 s), then another SIGKILL:
      // the next start must load the checkpoint and replay exactly these changes.
      const fresh = randomVectors(20, DIM, 999_999);
      expect((await restarted.post('/v1/namespaces/c/memories', { memories: fresh.map((vector, i) => ({ id: `after-${i}`, vector })) })).status).toBe(201);
      const survivors = [...acked.keys()].filter((id) => !deleted.has(id) && !inFlightDeletes.has(id));
      for (const id of survivors.slice(0, 5)) expect((await restarted.del(`/v1/namespaces/c/memories/${id}`)).status).toBe(204);
      const moved = survivors[5]!;
      expect((await restarted.post('/v1/namespaces/c/memories', { memories: [{ id: moved, vector: fresh[0]!.map((x) => -x) }] })).status).toBe(201);
      second.process.kill('SIGKILL');
      await exited(second.process);

      const third = await spawnMembank(['--data-dir', dir]);
      try {
        const replay = await indexReady(third);
        expect(replay).toMatchObject({ namespace: 'c', how: 'loaded' });
        expect(replay.replayed).toBeGreaterThanOrEqual(20 + 5 + 1);
        const after = api(third.url);
        const finalStats = (await after.get('/v1/namespaces/c')).body;
        expect(finalStats.index.elements).toBe(finalStats.count);
        for (const [i, vector] of fresh.entries()) {
          expect((await after.post('/v1/namespaces/c/query', { vector, k: 1 })).body.results[0].id).toBe(`after-${i}`);
        }
        for (const id of survivors.slice(0, 5)) expect((await after.get(`/v1/namespaces/c/memories/${id}`)).status).toBe(404);
        const movedHit = (await after.post('/v1/namespaces/c/query', { vector: fresh[0]!.map((x) => -x), k: 1 })).body.results[0];
        expect(movedHit.id).toBe(moved);
      } finally {
        third.process.kill('SIGTERM');
        expect(await exited(third.process)).toBe(0);
      }
    } finally {
      if (second.process.exitCode === null && second.process.signalCode === null) second.process.kill('SIGTERM');
      await exited(second.process);
    }
  });
});
