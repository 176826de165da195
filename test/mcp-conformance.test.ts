/**
 * The official MCP conformance suite (@modelcontextprotocol/conformance 0.1.10, the newest that runs on Node
 * 20), every server scenario of it, against /mcp on a real membank. The scenarios that do not apply to a memory
 * server are listed with their reason in mcp-conformance.baseline.json; every other one must pass, and a listed
 * one that passes must leave the list.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startMembank, tempDir, type Running } from './helpers.js';

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const SUITE = join(dirname(require.resolve('@modelcontextprotocol/conformance/package.json')), 'dist', 'index.js');
const baseline = JSON.parse(readFileSync(join(import.meta.dirname, 'mcp-conformance.baseline.json'), 'utf8')) as Record<string, string>;
delete baseline.$comment;

let running: Running;
beforeAll(async () => {
  running = await startMembank();
});
afterAll(() => running.close());

/** The suite's server scenarios, as its `list` command prints them. */
async function scenarios(): Promise<string[]> {
  const { stdout } = await run(process.execPath, [SUITE, 'list']);
  const server = stdout.slice(stdout.indexOf('Server scenarios'), stdout.indexOf('Client scenarios'));
  return [...server.matchAll(/^\s+- (\S+)$/gm)].map((m) => m[1]!);
}

it('passes every scenario of the official conformance suite that applies to a memory server', async () => {
  const names = await scenarios();
  expect(names.length).toBeGreaterThan(20);
  expect(Object.keys(baseline).filter((name) => !names.includes(name)), 'baseline entries the suite does not have').toEqual([]);

  const out = tempDir();
  // The suite exits non-zero when any scenario fails: the baselined ones do. Its results are read from `out`.
  await run(process.execPath, [SUITE, 'server', '--url', `${running.url}/mcp`, '--suite', 'all', '--output-dir', out], { maxBuffer: 64 * 1024 * 1024 }).catch(
    (error: { stdout?: string }) => error,
  );
  const folders = readdirSync(out);
  const failures: Record<string, string[]> = {};
  for (const name of names) {
    const folder = folders.find((f) => new RegExp(`^server-${name}-\\d{4}-`).test(f));
    expect(folder, `results of ${name}`).toBeDefined();
    const checks = JSON.parse(readFileSync(join(out, folder!, 'checks.json'), 'utf8')) as { status: string; name: string; errorMessage?: string }[];
    const failed = checks.filter((c) => c.status === 'FAILURE').map((c) => `${c.name}: ${c.errorMessage ?? ''}`);
    if (failed.length > 0) failures[name] = failed;
  }
  const unexpected = Object.fromEntries(Object.entries(failures).filter(([name]) => !(name in baseline)));
  expect(unexpected, 'scenarios that must pass').toEqual({});
  const nowPassing = Object.keys(baseline).filter((name) => !(name in failures));
  expect(nowPassing, 'baselined scenarios that pass now: take them off the baseline').toEqual([]);
}, 300_000);
