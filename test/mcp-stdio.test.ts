/** The MCP suite over stdio: `membank mcp` as a desktop host starts it, talking to a real running service. */
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MembankClient } from '../src/client/index.js';
import { startMembank, tempDir, type Running } from './helpers.js';
import { mcpSuite } from './mcp.case.js';
import { protocolEmbedders, protocolSuite } from './mcp-protocol.case.js';

const BIN = join(import.meta.dirname, '..', 'src', 'cli', 'membank.mjs');

let running: Running;
beforeAll(async () => {
  running = await startMembank(undefined, {}, { embedders: protocolEmbedders() });
});
afterAll(() => running.close());

const connect = async (namespace: string) => {
  const client = new Client({ name: 'membank-test', version: '1.0.0' });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [BIN, 'mcp', '--namespace', namespace, '--url', running.url], stderr: 'pipe' }));
  return client;
};
const rest = () => new MembankClient({ url: running.url });

mcpSuite('stdio', { connect, rest });
// Over --url, only this process's own writes are told at once; subscriptions see the others' by polling.
protocolSuite('stdio', { connect, rest, reembedTo: 'hash-32' });

describe('membank mcp --data-dir (embedded, no service)', () => {
  it('serves the tools on a data directory it holds, and leaves the data there when the host closes it', async () => {
    const dir = tempDir();
    const setup = await startMembank(dir);
    await new MembankClient({ url: setup.url }).createNamespace({ name: 'e', embedder: null, dimensions: 2 });
    await setup.close();

    const client = new Client({ name: 'membank-test', version: '1.0.0' });
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, 'mcp', '--data-dir', dir, '--namespace', 'e'],
      env: { ...(process.env as Record<string, string>), MEMBANK_LOG_LEVEL: 'warn' },
      stderr: 'pipe',
    });
    await client.connect(transport);
    const added = await client.callTool({ name: 'add_facts', arguments: { facts: [{ subject: 'Ann', predicate: 'likes', object: 'tea' }] } });
    expect(added.isError).toBeFalsy();
    // The embedded server holds the data directory, as a service would.
    await expect(startMembank(dir)).rejects.toMatchObject({ code: 'DATA_DIR_LOCKED' });
    const read = await client.callTool({ name: 'query_facts', arguments: { subject: 'ann' } });
    expect((read.structuredContent as any).facts.map((f: any) => f.object)).toEqual(['tea']);
    await client.close();

    // Closing the host's side ends the process and releases the directory; the fact is on disk.
    const reopened = await waitFor(() => startMembank(dir));
    expect((await new MembankClient({ url: reopened.url }).readFacts('e')).map((f) => f.object)).toEqual(['tea']);
    await reopened.close();
  });
});

async function waitFor<T>(attempt: () => Promise<T>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
