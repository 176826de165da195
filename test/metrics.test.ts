/** GET /metrics (Prometheus) and request ids, on a real membank. */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMembank, tempDir, type Running } from './helpers.js';

const lines: any[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line));
    done();
  },
});

let running: Running;
beforeAll(async () => {
  running = await startMembank(tempDir(), {}, {}, pino({ level: 'debug' }, sink));
});
afterAll(() => running.close());

/** The value of one sample line of the exposition text, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const set = line.slice(line.indexOf('{') + 1, line.lastIndexOf('}'));
    if (wanted.every(([k, v]) => set.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('/metrics', () => {
  it('has request latency per route, ingest and embed counters, index sizes and tombstones', async () => {
    const { api } = running;
    // A graph from the first vector on, so that a delete leaves a tombstone.
    await api.post('/v1/namespaces', { name: 'm', hnsw: { threshold: 1 } });
    await api.post('/v1/namespaces/m/memories', { memories: [{ id: 'a', text: 'one' }, { id: 'b', text: 'two' }, { id: 'c', text: 'three' }] });
    await api.post('/v1/namespaces/m/documents', { documents: [{ id: 'd', text: 'a document' }] });
    for (let i = 0; i < 3; i++) await api.post('/v1/namespaces/m/query', { query: 'one', k: 1 });
    await running.membank.service.settled('m');
    expect((await api.get('/v1/namespaces/m')).body.index.kind).toBe('hnsw');
    await api.del('/v1/namespaces/m/memories/b');
    await api.get('/v1/namespaces/m/memories/nope');
    await api.get('/no/such/route');

    const answer = await fetch(`${running.url}/metrics`);
    expect(answer.headers.get('content-type')).toContain('text/plain');
    const text = await answer.text();
    const count = 'membank_http_request_duration_seconds_count';
    expect(sample(text, count, { method: 'POST', route: '/v1/namespaces/:ns/query', status: '200' })).toBe(3);
    expect(sample(text, count, { method: 'GET', route: '/v1/namespaces/:ns/memories/:id', status: '404' })).toBe(1);
    expect(sample(text, count, { route: 'unmatched', status: '404' })).toBe(1);
    expect(sample(text, 'membank_ingested_total', { kind: 'memory' })).toBe(3);
    expect(sample(text, 'membank_ingested_total', { kind: 'document' })).toBe(1);
    expect(sample(text, 'membank_embedded_texts_total', { embedder: 'hash-64', priority: 'ingest' })).toBe(4);
    expect(sample(text, 'membank_embedded_texts_total', { embedder: 'hash-64', priority: 'query' })).toBe(3);
    expect(sample(text, 'membank_embed_duration_seconds_count', { embedder: 'hash-64', priority: 'query' })).toBe(3);
    expect(sample(text, 'membank_memories', { namespace: 'm' })).toBe(3);
    expect(sample(text, 'membank_index_tombstones', { namespace: 'm' })).toBe(1);
    expect(sample(text, 'membank_index_elements', { namespace: 'm' })).toBe(3);
    expect(sample(text, 'membank_namespaces_loaded', {})).toBe(1);
    expect(sample(text, 'membank_index_bytes', {})).toBeGreaterThan(3 * 64 * 4);
    expect(sample(text, 'membank_index_evictions', {})).toBe(0);
    expect(text).toContain('process_resident_memory_bytes');
  });

  it('counts forgetting runs by trigger and what they removed, not dry runs', async () => {
    const { api } = running;
    await api.post('/v1/namespaces', { name: 'f' });
    await api.post('/v1/namespaces/f/memories', {
      memories: [{ text: 'gone', expiresAt: '2020-01-01T00:00:00Z' }, { text: 'also gone', expiresAt: 0 }, { text: 'kept', metadata: { k: 1 } }],
    });
    await api.post('/v1/namespaces/f/forget', { expired: true, dryRun: true });
    await api.post('/v1/namespaces/f/forget', { expired: true });
    await api.post('/v1/namespaces/f/forget', { filter: { k: 1 } });
    const text = await (await fetch(`${running.url}/metrics`)).text();
    expect(sample(text, 'membank_forget_runs_total', { trigger: 'manual' })).toBe(2);
    expect(sample(text, 'membank_forgotten_total', { reason: 'expired' })).toBe(2);
    expect(sample(text, 'membank_forgotten_total', { reason: 'forgotten' })).toBe(1);
  });
});

describe('request ids', () => {
  it('answers with an id, keeps a sane caller id, and logs requests with it', async () => {
    const mine = await fetch(`${running.url}/v1/namespaces/none`, { headers: { 'x-request-id': 'trace-42' } });
    expect(mine.headers.get('x-request-id')).toBe('trace-42');
    const odd = await fetch(`${running.url}/healthz`, { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const failed = lines.find((l) => l.reqId === 'trace-42');
    expect(failed).toMatchObject({ msg: 'request failed', status: 404, method: 'GET', url: '/v1/namespaces/none', level: 30 });
    expect(lines.find((l) => l.reqId === odd.headers.get('x-request-id'))).toMatchObject({ msg: 'request', status: 200 });
  });
});
