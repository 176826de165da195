/**
 * The change feed over HTTP (real SQLite, index and server): pages after a seq, long polling, Server-Sent
 * Events resumed with Last-Event-ID, a clear 410 for a seq the log no longer holds, and a shutdown that ends
 * open streams.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MembankClient } from '../src/client/index.js';
import { type Running, startMembank, tempDir } from './helpers.js';

/** Reads Server-Sent Events from a response until `count` events came (or the stream ends). */
async function events(response: Response, count: number): Promise<{ id?: string; event?: string; data: any }[]> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const out: { id?: string; event?: string; data: any }[] = [];
  let buffer = '';
  while (out.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const fields = Object.fromEntries(
        block
          .split('\n')
          .filter((line) => !line.startsWith(':') && line.includes(':'))
          .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trimStart()]),
      );
      if (fields.data !== undefined) out.push({ id: fields.id, event: fields.event, data: JSON.parse(fields.data) });
    }
  }
  await reader.cancel();
  return out;
}

describe('change feed', () => {
  let m: Running;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = tempDir();
    m = await startMembank(dataDir);
  });
  afterAll(() => m.close());

  const ok = async (method: string, path: string, body?: unknown) => {
    const response = await m.api.call(method, path, body);
    expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBeLessThan(300);
    return response.body;
  };

  it('answers the changes after a seq, a page at a time; a delete carries the id, never the text', async () => {
    await ok('POST', '/v1/namespaces', { name: 'feed' });
    const written = await ok('POST', '/v1/namespaces/feed/memories', { memories: [{ id: 'a', text: 'secret words' }, { id: 'b', text: 'more' }] });
    await ok('PATCH', '/v1/namespaces/feed/memories/a', { metadata: { x: 1 } });
    await m.api.del('/v1/namespaces/feed/memories/a');
    const all = await ok('GET', '/v1/namespaces/feed/changes?since=0');
    expect(all.changes.map((c: any) => [c.op, c.id])).toEqual([
      ['created', 'a'],
      ['created', 'b'],
      ['updated', 'a'],
      ['deleted', 'a'],
    ]);
    expect(Object.keys(all.changes[3]).sort()).toEqual(['at', 'id', 'op', 'seq']);
    expect(JSON.stringify(all)).not.toContain('secret');
    expect(all.changes[1].seq).toBe(written.seq);
    expect(all.next).toBe(all.changes[3].seq);
    const page = await ok('GET', '/v1/namespaces/feed/changes?since=0&limit=2');
    expect(page.changes).toHaveLength(2);
    const rest = await ok('GET', `/v1/namespaces/feed/changes?since=${page.next}`);
    expect([...page.changes, ...rest.changes]).toEqual(all.changes);
    // Without since: from the oldest change held.
    expect((await ok('GET', '/v1/namespaces/feed/changes')).changes).toEqual(all.changes);
    expect(await ok('GET', `/v1/namespaces/feed/changes?since=${all.next}`)).toEqual({ changes: [], next: all.next });
    expect((await m.api.get('/v1/namespaces/feed/changes?since=-1')).status).toBe(400);
    expect((await m.api.get('/v1/namespaces/feed/changes?wait=61')).status).toBe(400);
    expect((await m.api.get('/v1/namespaces/nope/changes')).status).toBe(404);
  });

  it('long-polls: a wait ends as soon as a change commits, or empty when the time is up', async () => {
    await ok('POST', '/v1/namespaces', { name: 'poll' });
    const head = (await ok('GET', '/v1/namespaces/poll/changes')).next;
    const started = Date.now();
    const waiting = ok('GET', `/v1/namespaces/poll/changes?since=${head}&wait=20`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await ok('POST', '/v1/namespaces/poll/memories', { memories: [{ id: 'late', text: 'arrives later' }] });
    const body = await waiting;
    expect(body.changes.map((c: any) => c.id)).toEqual(['late']);
    expect(Date.now() - started).toBeLessThan(5000);
    const quiet = Date.now();
    expect((await ok('GET', `/v1/namespaces/poll/changes?since=${body.next}&wait=1`)).changes).toEqual([]);
    expect(Date.now() - quiet).toBeGreaterThanOrEqual(900);
  });

  it('streams Server-Sent Events, resumable with Last-Event-ID', async () => {
    await ok('POST', '/v1/namespaces', { name: 'sse' });
    await ok('POST', '/v1/namespaces/sse/memories', { memories: [{ id: 'one', text: 'first' }] });
    const stream = await fetch(`${m.url}/v1/namespaces/sse/changes?since=0`, { headers: { accept: 'text/event-stream' } });
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    const reading = events(stream, 3);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await ok('POST', '/v1/namespaces/sse/memories', { memories: [{ id: 'two', text: 'second' }, { id: 'three', text: 'third' }] });
    const got = await reading;
    expect(got.map((e) => [e.event, e.data.id])).toEqual([
      ['change', 'one'],
      ['change', 'two'],
      ['change', 'three'],
    ]);
    expect(got.map((e) => Number(e.id))).toEqual(got.map((e) => e.data.seq));
    const resumed = await fetch(`${m.url}/v1/namespaces/sse/changes?since=0`, { headers: { accept: 'text/event-stream', 'last-event-id': got[0]!.id! } });
    expect((await events(resumed, 2)).map((e) => e.data.id)).toEqual(['two', 'three']);
  });

  it('answers 410 with JSON for a seq older than the log holds', async () => {
    await ok('POST', '/v1/namespaces', { name: 'old' });
    await ok('POST', '/v1/namespaces/old/memories', { memories: [{ id: 'a', text: 'a' }, { id: 'b', text: 'b' }, { id: 'c', text: 'c' }] });
    const all = (await ok('GET', '/v1/namespaces/old/changes?since=0')).changes;
    // Trim the log as a retention would: records up to the second are gone.
    const db = new Database(join(dataDir, 'membank.db'));
    db.pragma('busy_timeout = 5000');
    const id = (db.prepare('SELECT id FROM namespaces WHERE name = ?').pluck().get('old') as number);
    db.prepare('DELETE FROM changes WHERE namespace_id = ? AND seq <= ?').run(id, all[1].seq);
    db.prepare('UPDATE namespaces SET trimmed_seq = ? WHERE id = ?').run(all[1].seq, id);
    db.close();
    for (const accept of ['application/json', 'text/event-stream']) {
      const response = await fetch(`${m.url}/v1/namespaces/old/changes?since=0`, { headers: { accept } });
      expect(response.status).toBe(410);
      const body = (await response.json()) as { error: unknown };
      expect(body.error).toMatchObject({ code: 'CHANGES_EXPIRED', details: { since: 0, oldest: all[1].seq } });
    }
    expect((await ok('GET', `/v1/namespaces/old/changes?since=${all[1].seq}`)).changes.map((c: any) => c.id)).toEqual(['c']);
    expect((await ok('GET', '/v1/namespaces/old/changes')).changes.map((c: any) => c.id)).toEqual(['c']);
  });

  it('is in the client, with history and webhooks', async () => {
    const mb = new MembankClient({ url: m.url });
    await mb.createNamespace({ name: 'client-feed' });
    const [id] = await mb.writeMemories('client-feed', [{ text: 'one thing' }]);
    await mb.patchMemory('client-feed', id!, { text: 'another thing' });
    const page = await mb.changes('client-feed', { since: 0 });
    expect(page.changes.map((c) => [c.op, c.id])).toEqual([
      ['created', id],
      ['updated', id],
    ]);
    expect(await mb.changes('client-feed', { since: page.next, wait: 0 })).toEqual({ changes: [], next: page.next });
    expect((await mb.memoryHistory('client-feed', id!)).map((e) => [e.op, e.previous?.text])).toEqual([
      ['created', undefined],
      ['updated', 'one thing'],
    ]);
    const hook = await mb.createWebhook({ url: 'https://93.184.216.34/hook', namespaces: ['none-such'], secret: 'client-secret-123456' });
    expect((await mb.listWebhooks()).map((h) => h.id)).toEqual([hook.id]);
    expect((await mb.getWebhook(hook.id)).deliveries).toEqual([]);
    await mb.deleteWebhook(hook.id);
    await expect(mb.getWebhook(hook.id)).rejects.toMatchObject({ code: 'WEBHOOK_NOT_FOUND' });
  });

  it('ends open streams and long polls when the server shuts down', async () => {
    const other = await startMembank();
    await other.api.post('/v1/namespaces', { name: 'bye' });
    const stream = await fetch(`${other.url}/v1/namespaces/bye/changes`, { headers: { accept: 'text/event-stream' } });
    const poll = fetch(`${other.url}/v1/namespaces/bye/changes?wait=30`).then((r) => r.json());
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    await other.close();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await poll).toEqual({ changes: [], next: 0 });
    expect(await events(stream, 1)).toEqual([]);
  });

  it('trims changes older than the retention on its own, and the feed then answers 410 for them', async () => {
    let clock = Date.now();
    const other = await startMembank(tempDir(), { changeRetentionHours: 24 }, { clock: () => clock, changeTrimIntervalMs: 50 });
    try {
      expect((await other.api.post('/v1/namespaces', { name: 'aged' })).status).toBe(201);
      expect((await other.api.post('/v1/namespaces/aged/memories', { memories: [{ id: 'a', text: 'first' }, { id: 'b', text: 'second' }] })).status).toBe(201);
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Within the retention nothing goes.
      expect((await other.api.get('/v1/namespaces/aged/changes?since=0')).status).toBe(200);
      clock += 25 * 3_600_000;
      const fresh = await other.api.post('/v1/namespaces/aged/memories', { memories: [{ id: 'c', text: 'third' }] });
      expect(fresh.status).toBe(201);
      let answer = await other.api.get('/v1/namespaces/aged/changes?since=0');
      for (let i = 0; i < 100 && answer.status !== 410; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        answer = await other.api.get('/v1/namespaces/aged/changes?since=0');
      }
      expect(answer.status).toBe(410);
      expect(answer.body.error).toMatchObject({ code: 'CHANGES_EXPIRED', details: { since: 0, oldest: 2 } });
      // What is within the retention is still served, and the memories themselves are untouched.
      expect((await other.api.get('/v1/namespaces/aged/changes?since=2')).body.changes.map((c: { id: string }) => c.id)).toEqual(['c']);
      expect((await other.api.get('/v1/namespaces/aged')).body.count).toBe(3);
    } finally {
      await other.close();
    }
  });
});
