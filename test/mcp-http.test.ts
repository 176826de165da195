/** The MCP suite over Streamable HTTP at /mcp on a real membank, with the SDK's own client. */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MembankClient } from '../src/client/index.js';
import { startMembank, type Running } from './helpers.js';
import { mcpSuite } from './mcp.case.js';
import { protocolEmbedders, protocolSuite } from './mcp-protocol.case.js';

let running: Running;
beforeAll(async () => {
  running = await startMembank(undefined, {}, { embedders: protocolEmbedders() });
});
afterAll(() => running.close());

const connect = async (namespace: string) => {
  const client = new Client({ name: 'membank-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${running.url}/mcp?namespace=${namespace}`)));
  return client;
};
const rest = () => new MembankClient({ url: running.url });

mcpSuite('http', { connect, rest });
protocolSuite('http', { connect, rest, reembedTo: 'hash-32' });

it('uses the namespace "default" when none is given, and refuses a bad one', async () => {
  const client = new Client({ name: 'membank-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${running.url}/mcp`)));
  await client.callTool({ name: 'remember', arguments: { text: 'in the default namespace' } });
  expect((await running.api.get('/v1/namespaces/default')).body.count).toBe(1);
  await client.close();

  const bad = await running.api.post('/mcp?namespace=no%20spaces', { jsonrpc: '2.0', id: 1, method: 'tools/list' });
  expect(bad.status).toBe(400);
  expect(bad.body.error.code).toBe('VALIDATION_FAILED');
  expect((await running.api.get('/mcp')).status).toBe(405);
});

it('refuses browser origins other than loopback and its own (DNS rebinding)', async () => {
  const initialize = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} };
  const post = (origin?: string) =>
    fetch(`${running.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(origin && { origin }) },
      body: JSON.stringify(initialize),
    });
  expect((await post('http://evil.example:8420')).status).toBe(403);
  expect((await post('null')).status).toBe(403);
  expect((await post('http://localhost:3000')).status).toBe(200);
  expect((await post(running.url)).status).toBe(200);
  expect((await post()).status).toBe(200);
});
