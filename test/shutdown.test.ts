/**
 * Graceful shutdown (issue 8): on SIGTERM membank stops accepting connections, finishes the requests in flight,
 * checkpoints every index and closes SQLite, so that the next start loads the checkpoint and replays nothing.
 */
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { api, type Child, exited, randomVectors, spawnMembank, tempDir } from './helpers.js';

const DIM = 32;

const logLines = (child: Child) =>
  child
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg: string; how?: string; replayed?: number; namespace?: string });

describe('graceful shutdown', () => {
  it('finishes the request in flight, refuses new ones, checkpoints, and restarts without replay', async () => {
    const dir = tempDir();
    // No periodic checkpoint: everything written here is pending until the shutdown's own checkpoint.
    const first = await spawnMembank(['--data-dir', dir, '--checkpoint-interval', '0']);
    const client = api(first.url);
    // A graph above 100 vectors: its checkpoint is what shutdown must write.
    expect((await client.post('/v1/namespaces', { name: 'g', embedder: null, dimensions: DIM, space: 'l2', hnsw: { threshold: 100 } })).status).toBe(201);
    const vectors = randomVectors(600, DIM, 31);
    const early = vectors.slice(0, 300).map((vector, i) => ({ id: `e${i}`, vector }));
    expect((await client.post('/v1/namespaces/g/memories', { memories: early })).status).toBe(201);
    // A query loads the namespace, whose graph is then built in the background.
    expect((await client.post('/v1/namespaces/g/query', { vector: vectors[0], k: 1 })).status).toBe(200);
    for (let i = 0; i < 200 && (await client.get('/v1/namespaces/g')).body.index.kind !== 'hnsw'; i++) await new Promise((r) => setTimeout(r, 25));
    expect((await client.get('/v1/namespaces/g')).body.index).toMatchObject({ kind: 'hnsw', pendingChanges: 300 });

    // A write in flight: its body is half sent when SIGTERM arrives.
    const late = vectors.slice(300).map((vector, i) => ({ id: `l${i}`, vector }));
    const body = Buffer.from(JSON.stringify({ memories: late }));
    const agent = new http.Agent({ keepAlive: true });
    const url = new URL(`${first.url}/v1/namespaces/g/memories`);
    let answered: (value: { status: number; text: string }) => void;
    const response = new Promise<{ status: number; text: string }>((resolve) => (answered = resolve));
    const request = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => answered({ status: res.statusCode ?? 0, text }));
    });
    request.write(body.subarray(0, body.length >> 1));
    await new Promise((resolve) => setTimeout(resolve, 200));
    first.process.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));

    // While it finishes that request, it takes no new connection.
    await expect(fetch(`${first.url}/healthz`)).rejects.toThrow();
    request.end(body.subarray(body.length >> 1));
    const done = await response;
    expect(done.status, done.text).toBe(201);
    expect(JSON.parse(done.text).ids).toHaveLength(300);
    // The client keeps its connection alive: shutdown must not wait for the keep-alive timeout (5 s) to end it.
    const answeredAt = performance.now();
    expect(await exited(first.process)).toBe(0);
    expect(performance.now() - answeredAt).toBeLessThan(3000);
    agent.destroy();
    const messages = logLines(first).map((l) => l.msg);
    expect(messages).toContain('shutting down');
    expect(messages.at(-1)).toBe('stopped');

    const second = await spawnMembank(['--data-dir', dir]);
    try {
      const restarted = api(second.url);
      expect((await restarted.post('/v1/namespaces/g/query', { vector: vectors[0], k: 1 })).status).toBe(200);
      for (let i = 0; i < 100 && !logLines(second).some((l) => l.msg === 'index ready'); i++) await new Promise((r) => setTimeout(r, 20));
      expect(logLines(second).find((l) => l.msg === 'index ready' && l.namespace === 'g')).toMatchObject({ how: 'loaded', replayed: 0 });
      const stats = (await restarted.get('/v1/namespaces/g')).body;
      expect(stats).toMatchObject({ count: 600, index: { elements: 600, pendingChanges: 0 } });
      for (const [i, vector] of vectors.entries()) {
        if (i % 25 !== 0) continue;
        expect((await restarted.post('/v1/namespaces/g/query', { vector, k: 1 })).body.results[0].id).toBe(i < 300 ? `e${i}` : `l${i - 300}`);
      }
    } finally {
      second.process.kill('SIGTERM');
      expect(await exited(second.process)).toBe(0);
    }
  });
});
