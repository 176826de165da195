/**
 * Streamable HTTP at /mcp, on the wire: sessions (Mcp-Session-Id, the GET stream, DELETE), stateless requests
 * without a session, sessions bound to their API key and to what it may see, server-wide log notifications on a
 * session's stream, and a shutdown that open streams do not hold.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LoggingMessageNotificationSchema, type LoggingMessageNotification } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MembankClient } from '../src/client/index.js';
import { startMembank, type Running } from './helpers.js';
import { until } from './mcp-protocol.case.js';

const INITIALIZE = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };

/** One POST to /mcp; an event-stream answer is read to its end and its JSON-RPC messages parsed. */
async function post(base: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}/mcp${headers.query ?? ''}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers, query: '' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  const messages = response.headers.get('content-type')?.includes('text/event-stream')
    ? text
        .split('\n')
        .filter((line) => line.startsWith('data: ') && line.length > 6)
        .map((line) => JSON.parse(line.slice(6)))
    : text
      ? [JSON.parse(text)]
      : [];
  return { status: response.status, session: response.headers.get('mcp-session-id'), messages };
}

const connect = async (url: string, namespace: string, apiKey?: string) => {
  const client = new Client({ name: 'sessions-test', version: '1.0.0' });
  const requestInit = apiKey ? { headers: { authorization: `Bearer ${apiKey}` } } : undefined;
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp?namespace=${namespace}`), { requestInit }));
  return client;
};

describe('MCP sessions over Streamable HTTP', () => {
  let running: Running;
  beforeAll(async () => {
    running = await startMembank();
  });
  afterAll(() => running.close());

  it('opens a session on initialize, serves it by its Mcp-Session-Id, streams to it on GET, and ends it on DELETE', async () => {
    const init = await post(running.url, INITIALIZE);
    expect(init.status).toBe(200);
    expect(init.session).toMatch(/^[0-9a-f-]{36}$/);
    expect(init.messages[0].result.capabilities).toMatchObject({
      tools: {},
      prompts: {},
      completions: {},
      logging: {},
      resources: { subscribe: true, listChanged: true },
    });
    const session = { 'mcp-session-id': init.session! };
    expect((await post(running.url, { jsonrpc: '2.0', method: 'notifications/initialized' }, session)).status).toBe(202);
    const listed = await post(running.url, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, session);
    expect(listed.messages[0].result.tools.length).toBeGreaterThan(10);

    const stream = new AbortController();
    const get = await fetch(`${running.url}/mcp`, { headers: { accept: 'text/event-stream', ...session }, signal: stream.signal });
    expect(get.status).toBe(200);
    expect(get.headers.get('content-type')).toContain('text/event-stream');
    stream.abort();

    const unknown = await post(running.url, { jsonrpc: '2.0', id: 3, method: 'tools/list' }, { 'mcp-session-id': '00000000-0000-4000-8000-000000000000' });
    expect(unknown.status).toBe(404);
    expect(unknown.messages[0].error.code).toBe(-32001);

    const ended = await fetch(`${running.url}/mcp`, { method: 'DELETE', headers: session });
    expect(ended.status).toBe(200);
    expect((await post(running.url, { jsonrpc: '2.0', id: 4, method: 'tools/list' }, session)).status).toBe(404);
    expect((await fetch(`${running.url}/mcp`, { method: 'DELETE' })).status).toBe(405);
  });

  it('still answers a request that comes with no session, without initialize, and refuses subscriptions there', async () => {
    const remembered = await post(running.url, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'remember', arguments: { text: 'stateless note' } } }, { query: '?namespace=stateless' });
    expect(remembered.status).toBe(200);
    expect(remembered.session).toBeNull();
    expect(remembered.messages.at(-1).result.content[0].text).toMatch(/^Remembered/);
    expect((await new MembankClient({ url: running.url }).getNamespace('stateless')).count).toBe(1);
    const subscribe = await post(running.url, { jsonrpc: '2.0', id: 2, method: 'resources/subscribe', params: { uri: 'membank://namespaces/stateless' } });
    expect(subscribe.messages[0].error.message).toContain('Subscriptions need a session');
  });

  it("tells a session's stream about forgetting runs in namespaces it may see", async () => {
    const rest = new MembankClient({ url: running.url });
    await rest.createNamespace({ name: 'fading', embedder: null, dimensions: 2 });
    const client = await connect(running.url, 'fading');
    const logs: LoggingMessageNotification['params'][] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params));
    await rest.writeMemories('fading', [{ id: 'brief', vector: [1, 0], ttl: 1 }]);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await rest.forget('fading', { expired: true });
    const run = await until(() => logs.find((l) => (l.data as { event?: string }).event === 'forgetting-run'), 10_000, 'the forgetting run');
    expect(run).toMatchObject({ level: 'notice', data: { namespace: 'fading', trigger: 'manual', expired: 1 } });
    await client.close();
  });

  it('ends open sessions and their streams when the service closes, rather than waiting for them', async () => {
    const other = await startMembank();
    const client = await connect(other.url, 'closing');
    await client.callTool({ name: 'remember', arguments: { text: 'x' } });
    await client.subscribeResource({ uri: 'membank://namespaces/closing' });
    const started = Date.now();
    await other.close();
    expect(Date.now() - started).toBeLessThan(5000);
    await client.close();
  });
});

describe('MCP sessions with API keys', () => {
  let running: Running;
  let keyA: string;
  let keyA2: string;
  beforeAll(async () => {
    running = await startMembank();
    const open = new MembankClient({ url: running.url });
    const admin = (await open.createKey({ role: 'admin' })).key;
    const asAdmin = new MembankClient({ url: running.url, apiKey: admin });
    keyA = (await asAdmin.createKey({ role: 'write', namespaces: ['team-a.*'] })).key;
    keyA2 = (await asAdmin.createKey({ role: 'write', namespaces: ['team-a.*'] })).key;
    for (const name of ['team-a.notes', 'team-b.secrets']) await asAdmin.createNamespace({ name });
    await asAdmin.writeMemories('team-b.secrets', [{ id: 'plan', text: 'the secret plan' }]);
  });
  afterAll(() => running.close());

  it('binds a session to the key that opened it', async () => {
    const init = await post(running.url, INITIALIZE, { authorization: `Bearer ${keyA}`, query: '?namespace=team-a.notes' });
    expect(init.status).toBe(200);
    const request = { jsonrpc: '2.0', id: 2, method: 'tools/list' };
    expect((await post(running.url, request, { authorization: `Bearer ${keyA}`, 'mcp-session-id': init.session! })).status).toBe(200);
    // Another key, even one allowed the same namespaces, does not get to use it.
    expect((await post(running.url, request, { authorization: `Bearer ${keyA2}`, 'mcp-session-id': init.session! })).status).toBe(404);
    expect((await post(running.url, INITIALIZE, { authorization: `Bearer ${keyA}`, query: '?namespace=team-b.secrets' })).status).toBe(404);
  });

  it("shows a session only the namespaces its key may see, in lists, reads and completions", async () => {
    const client = await connect(running.url, 'team-a.notes', keyA);
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toContain('membank://namespaces/team-a.notes');
    expect(resources.filter((r) => r.uri.includes('team-b'))).toEqual([]);
    await expect(client.readResource({ uri: 'membank://namespaces/team-b.secrets/memories/plan' })).rejects.toMatchObject({ code: -32002 });
    await expect(client.readResource({ uri: 'membank://namespaces/team-b.secrets' })).rejects.toMatchObject({ code: -32002 });
    const names = await client.complete({ ref: { type: 'ref/prompt', name: 'recall' }, argument: { name: 'namespace', value: 'team' } });
    expect(names.completion.values).toEqual(['team-a.notes']);
    const ids = await client.complete({
      ref: { type: 'ref/resource', uri: 'membank://namespaces/{namespace}/memories/{id}' },
      argument: { name: 'id', value: 'p' },
      context: { arguments: { namespace: 'team-b.secrets' } },
    });
    expect(ids.completion.values).toEqual([]);
    await expect(client.getPrompt({ name: 'recall', arguments: { query: 'plan', namespace: 'team-b.secrets' } })).rejects.toThrow(/does not exist/);
    await client.close();
  });
});
