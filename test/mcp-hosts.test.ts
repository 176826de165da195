/**
 * Several desktop hosts, each starting its own `membank mcp` on the same per-user data directory: one holds it
 * and serves it on a loopback port, the others work through that one; when it goes, another takes over; a
 * running service that holds the directory is used the same way.
 */
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { MembankClient } from '../src/client/index.js';
import { startMembank, tempDir } from './helpers.js';
import { until } from './mcp-protocol.case.js';

const BIN = join(import.meta.dirname, '..', 'src', 'cli', 'membank.mjs');

interface Host {
  client: Client;
  stderr: () => string;
  pid: number;
}

/** A host's `membank mcp` with no flags, on a HOME of its own (so on HOME/.local/share/membank). */
async function host(home: string, args: string[] = []): Promise<Host> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !key.startsWith('MEMBANK_') && key !== 'XDG_DATA_HOME') env[key] = value;
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, 'mcp', '--namespace', 'h', ...args],
    env: { ...env, HOME: home, MEMBANK_LOG_LEVEL: 'warn' },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: 'host', version: '1.0.0' });
  await client.connect(transport);
  return { client, stderr: () => stderr, pid: transport.pid! };
}

const facts = async (h: Host, subject: string) =>
  ((await h.client.callTool({ name: 'query_facts', arguments: { subject } })).structuredContent as { facts: { object: string }[] }).facts.map((f) => f.object).sort();

async function add(h: Host, subject: string, object: string): Promise<void> {
  const result = await h.client.callTool({ name: 'add_facts', arguments: { facts: [{ subject, predicate: 'likes', object }] } });
  expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
}

/** A data directory under HOME with namespace "h" (no embedder: the hosts load no model). */
async function prepared(): Promise<{ home: string; dir: string }> {
  const home = tempDir();
  const dir = join(home, '.local', 'share', 'membank');
  const setup = await startMembank(dir);
  await new MembankClient({ url: setup.url }).createNamespace({ name: 'h', embedder: null, dimensions: 2 });
  await setup.close();
  return { home, dir };
}

const embedded = (h: Host) => h.stderr().includes('running embedded on');

describe('membank mcp shared by several hosts', () => {
  it('lets a second host work through the first, tells it of the first one\'s changes, and takes over when the first goes', async () => {
    const { home, dir } = await prepared();
    const first = await host(home);
    await add(first, 'Ann', 'tea');
    expect(first.stderr()).toContain(`membank mcp: data directory ${dir} (the default: neither MEMBANK_DATA_DIR nor XDG_DATA_HOME is set)`);
    expect(embedded(first)).toBe(true);

    const second = await host(home);
    expect(await facts(second, 'Ann')).toEqual(['tea']);
    expect(second.stderr()).toMatch(new RegExp(`in use by process ${first.pid}; working through it at http://127\\.0\\.0\\.1:\\d+`));
    const updated: string[] = [];
    second.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updated.push(n.params.uri));
    await second.client.subscribeResource({ uri: 'membank://namespaces/h/facts' });
    await add(first, 'Ann', 'coffee');
    await until(() => updated.includes('membank://namespaces/h/facts'), 15_000, "the first host's change, told to the second");
    await add(second, 'Bob', 'cake');
    expect(await facts(first, 'Bob')).toEqual(['cake']);

    // The first host closes its server: the second's next call finds the port closed, takes the directory, goes on.
    await first.client.close();
    expect(await facts(second, 'Ann')).toEqual(['coffee', 'tea']);
    await add(second, 'Cid', 'jam');
    expect(embedded(second)).toBe(true);
    await second.client.close();
  }, 180_000);

  it('lets three hosts start at once: one holds the directory, all of them work', async () => {
    const { home } = await prepared();
    const hosts = await Promise.all([host(home), host(home), host(home)]);
    await Promise.all(hosts.map((h, i) => add(h, `H${i}`, 'bread')));
    for (const h of hosts) expect(await facts(h, 'H2')).toEqual(['bread']);
    await until(() => hosts.every((h) => embedded(h) || h.stderr().includes('working through it at')), 5000, 'every host to say how it works');
    expect(hosts.filter(embedded)).toHaveLength(1);
    await Promise.all(hosts.map((h) => h.client.close()));
  }, 180_000);

  it('works through a running service that holds the data directory', async () => {
    const { dir } = await prepared();
    const service = await startMembank(dir);
    const h = await host(tempDir(), ['--data-dir', dir]);
    await add(h, 'Dee', 'figs');
    expect(h.stderr()).toContain(`in use by process ${process.pid}; working through it at ${service.url}`);
    expect((await new MembankClient({ url: service.url }).readFacts('h', { subject: 'Dee' })).map((f) => f.object)).toEqual(['figs']);
    await h.client.close();
    await service.close();
  }, 120_000);
});
