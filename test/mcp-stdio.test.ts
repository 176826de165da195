/** The MCP suite over stdio: `membank mcp` as a desktop host starts it, talking to a real running service. */
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll } from 'vitest';
import { MembankClient } from '../src/client/index.js';
import { startMembank, type Running } from './helpers.js';
import { mcpSuite } from './mcp.case.js';

const BIN = join(import.meta.dirname, '..', 'src', 'cli', 'membank.mjs');

let running: Running;
beforeAll(async () => {
  running = await startMembank();
});
afterAll(() => running.close());

mcpSuite('stdio', {
  async connect(namespace) {
    const client = new Client({ name: 'membank-test', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({ command: process.execPath, args: [BIN, 'mcp', '--namespace', namespace, '--url', running.url], stderr: 'inherit' }),
    );
    return client;
  },
  rest: () => new MembankClient({ url: running.url }),
});
