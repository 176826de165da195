/**
 * Webhooks against a real server and a local receiver that fails, times out, then recovers: nothing lost,
 * nothing out of order, duplicates only from retries; signed bodies; deliveries that survive a restart; the
 * listing's delivery state; URL validation against request forgery; admin keys only.
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { isPrivateAddress } from '../src/adapters/webhooks/http-sender.js';
import { retryDelay } from '../src/service/webhooks.js';
import { type Running, startMembank, tempDir } from './helpers.js';

const SECRET = 'a-very-secret-webhook-key';
const TIMING = { timeoutMs: 300, retryBaseMs: 100, retryCapMs: 400, pollMs: 50 };

interface Received {
  body: { namespace: string; events: { seq: number; at: string; op: string; id: string }[] };
  signature: string;
  raw: string;
  answered: 'ok' | 'fail' | 'hang';
}

/** A receiver answering each request as `plan` says (then 200), recording what came. */
async function receiver(plan: ('fail' | 'hang')[] = []) {
  const received: Received[] = [];
  const steps = [...plan];
  const server: Server = createServer((req: IncomingMessage, res) => {
    let raw = '';
    req.on('data', (chunk) => (raw += chunk));
    req.on('end', () => {
      const step = steps.shift() ?? 'ok';
      received.push({ body: JSON.parse(raw), signature: String(req.headers['membank-signature']), raw, answered: step });
      if (step === 'fail') res.writeHead(500).end('no');
      else if (step === 'ok') res.writeHead(204).end();
      // 'hang': never answers; the sender's timeout ends it.
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    delivered: () => received.filter((r) => r.answered === 'ok').flatMap((r) => r.body.events),
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

async function until(condition: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const verify = (r: Received): boolean => {
  const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(r.signature) ?? [];
  return v1 === createHmac('sha256', SECRET).update(`${t}.${r.raw}`).digest('hex') && Math.abs(Number(t) - Date.now() / 1000) < 60;
};

describe('webhooks', () => {
  const running: Running[] = [];
  afterAll(async () => {
    for (const m of running) await m.close();
  });
  const start = async (dataDir = tempDir(), allowPrivate = true) => {
    const m = await startMembank(dataDir, { webhooksAllowPrivate: allowPrivate }, { webhookTiming: TIMING });
    running.push(m);
    return m;
  };
  const ok = async (m: Running, method: string, path: string, body?: unknown) => {
    const response = await m.api.call(method, path, body);
    expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBeLessThan(300);
    return response.body;
  };

  it('delivers every change in order through failures and a timeout, signed, at least once', async () => {
    const target = await receiver(['fail', 'fail', 'hang']);
    const m = await start();
    await ok(m, 'POST', '/v1/namespaces', { name: 'hooked' });
    await ok(m, 'POST', '/v1/namespaces', { name: 'other' });
    const hook = await ok(m, 'POST', '/v1/webhooks', { url: target.url, namespaces: ['hook*'], secret: SECRET });
    expect(hook).toMatchObject({ url: target.url, namespaces: ['hook*'], events: ['created', 'updated', 'deleted', 'expired', 'forgotten', 'erased'] });
    expect(hook.secret).toBeUndefined();
    for (let i = 0; i < 6; i++) await ok(m, 'POST', '/v1/namespaces/hooked/memories', { memories: [{ id: `m${i}`, text: `memory ${i}` }] });
    await ok(m, 'POST', '/v1/namespaces/other/memories', { memories: [{ id: 'x', text: 'not watched' }] });
    await m.api.del('/v1/namespaces/hooked/memories/m2');
    // While it fails, the listing says so.
    await until(async () => (await ok(m, 'GET', '/v1/webhooks')).webhooks[0].deliveries[0].attempts > 0);
    const failing = (await ok(m, 'GET', `/v1/webhooks/${hook.id}`)).deliveries[0];
    expect(failing).toMatchObject({ namespace: 'hooked', lastError: 'answered 500' });
    expect(failing.nextAttemptAt).not.toBeNull();

    const changes = (await ok(m, 'GET', '/v1/namespaces/hooked/changes?since=0')).changes;
    expect(changes).toHaveLength(7);
    await until(() => target.delivered().length >= 7);
    // Nothing lost, nothing out of order, nothing of another namespace.
    expect(target.delivered()).toEqual(changes);
    expect(target.received.every((r) => r.body.namespace === 'hooked')).toBe(true);
    // Attempts came in seq order: a retry repeats from where the last success left off.
    const firsts = target.received.map((r) => r.body.events[0]!.seq);
    expect(firsts).toEqual([...firsts].sort((a, b) => a - b));
    expect(target.received.slice(0, 3).map((r) => r.answered)).toEqual(['fail', 'fail', 'hang']);
    expect(target.received.every(verify)).toBe(true);
    const listed = (await ok(m, 'GET', '/v1/webhooks')).webhooks[0];
    expect(listed.deliveries).toEqual([
      { namespace: 'hooked', deliveredSeq: changes[6].seq, pending: 0, attempts: 0, nextAttemptAt: null, lastAttemptAt: expect.any(String), lastError: null },
    ]);
    await target.close();
  });

  it('keeps undelivered changes across a restart, and follows namespaces created later from their first change', async () => {
    const dataDir = tempDir();
    const down = await receiver();
    const url = down.url;
    await down.close();
    const first = await start(dataDir);
    const hook = await ok(first, 'POST', '/v1/webhooks', { url, secret: SECRET, events: ['created', 'deleted'] });
    await ok(first, 'POST', '/v1/namespaces', { name: 'later' });
    await ok(first, 'POST', '/v1/namespaces/later/memories', { memories: [{ id: 'a', text: 'one' }, { id: 'b', text: 'two' }] });
    await ok(first, 'PATCH', '/v1/namespaces/later/memories/a', { metadata: { x: 1 } });
    await first.api.del('/v1/namespaces/later/memories/b');
    await until(async () => (await ok(first, 'GET', `/v1/webhooks/${hook.id}`)).deliveries[0]?.attempts > 0);
    await first.close();
    running.splice(running.indexOf(first), 1);

    // The receiver comes back on the same port; the service restarts on the same data.
    const port = Number(new URL(url).port);
    const received: Received[] = [];
    const server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        received.push({ body: JSON.parse(raw), signature: String(req.headers['membank-signature']), raw, answered: 'ok' });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    const second = await start(dataDir);
    await until(() => received.flatMap((r) => r.body.events).length >= 3);
    // Only the ops asked for: the update is passed over.
    expect(received.flatMap((r) => r.body.events).map((e) => [e.op, e.id])).toEqual([
      ['created', 'a'],
      ['created', 'b'],
      ['deleted', 'b'],
    ]);
    expect((await ok(second, 'GET', `/v1/webhooks/${hook.id}`)).deliveries[0]).toMatchObject({ pending: 0, attempts: 0 });
    await ok(second, 'DELETE', `/v1/webhooks/${hook.id}`);
    expect((await second.api.get(`/v1/webhooks/${hook.id}`)).status).toBe(404);
    expect((await ok(second, 'GET', '/v1/webhooks')).webhooks).toEqual([]);
    await new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
  });

  it('refuses URLs that are not http(s) or reach loopback and private addresses, unless allowed; admin keys only', async () => {
    const m = await start(tempDir(), false);
    for (const url of ['ftp://example.com/x', 'not a url', 'http://127.0.0.1:9/x', 'http://localhost:9/x', 'http://[::1]/x', 'http://10.1.2.3/', 'http://169.254.169.254/latest', 'http://[::ffff:192.168.0.1]/', 'http://0.0.0.0/']) {
      const response = await m.api.post('/v1/webhooks', { url, secret: SECRET });
      expect(response.status, url).toBe(400);
      expect(response.body.error.code, url).toBe('WEBHOOK_URL_REFUSED');
    }
    expect((await m.api.post('/v1/webhooks', { url: 'http://93.184.216.34/hook', secret: 'short' })).status).toBe(400);
    const publicHook = await ok(m, 'POST', '/v1/webhooks', { url: 'http://93.184.216.34/hook', secret: SECRET });
    await ok(m, 'DELETE', `/v1/webhooks/${publicHook.id}`);

    const admin = (await ok(m, 'POST', '/v1/keys', { role: 'admin' })).key;
    const asKey = (key: string, method: string, path: string, body?: unknown) =>
      fetch(m.url + path, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const created = await asKey(admin, 'POST', '/v1/keys', { role: 'write', namespaces: ['*'] });
    expect(created.status).toBe(201);
    const write = (await created.json()) as { key: string };
    expect((await asKey(write.key, 'GET', '/v1/webhooks')).status).toBe(403);
    expect((await asKey(write.key, 'POST', '/v1/webhooks', { url: 'http://93.184.216.34/', secret: SECRET })).status).toBe(403);
    expect((await asKey(admin, 'GET', '/v1/webhooks')).status).toBe(200);
  });

  it('backs off from 10 s, doubling, capped at an hour, and never gives up', () => {
    expect([1, 2, 3, 4].map((n) => retryDelay(n))).toEqual([10_000, 20_000, 40_000, 80_000]);
    expect(retryDelay(9)).toBe(2_560_000);
    expect(retryDelay(10)).toBe(3_600_000);
    expect(retryDelay(1000)).toBe(3_600_000);
    // A day of failures is 32 attempts: each waits at most an hour, and attempts go on after.
    let waited = 0;
    let attempts = 0;
    while (waited < 86_400_000) waited += retryDelay(++attempts);
    expect(attempts).toBe(32);
  });

  it('classifies addresses', () => {
    for (const a of ['127.0.0.1', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1', 'ff02::1', '224.0.0.1']) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8', '172.32.0.1']) expect(isPrivateAddress(a), a).toBe(false);
  });
});
