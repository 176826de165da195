/**
 * The published package as a user gets it: `npm pack`, then `npm install ./membank-<v>.tgz` into an empty project
 * (its dependencies from the npm registry, with the install-script policy the README gives users), then plain
 * `node` — no tsx, no dev dependencies: the bin, `membank/client` from ESM and CommonJS with its types, the
 * in-process factory, `membank mcp` with no flags on a HOME of its own, and the client bundled for browsers by
 * esbuild, run against a real server with only the web platform's globals.
 *
 * Installing compiles better-sqlite3 and hnswlib-node from source, minutes on a busy machine. The first run
 * (every CI run) installs everything; the dependencies it installed are kept under node_modules/.cache, keyed by
 * the packed package's dependency ranges, Node's version and the platform, and a later run with the same key
 * starts from a copy of them, so that npm installs the new tarball over the same dependencies (as `npm install`
 * of a new version does in a user's project).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import vm from 'node:vm';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exited, tempDir } from './helpers.js';

const ROOT = join(import.meta.dirname, '..');
const CACHE = join(ROOT, 'node_modules', '.cache', 'membank-package-test');
const run = promisify(execFile);

/** What the README tells users to put in their package.json for the install scripts. */
const ALLOW_SCRIPTS = { 'better-sqlite3': true, 'hnswlib-node': true, 'onnxruntime-node': false, protobufjs: false, '@scarf/scarf': false };

/** An environment without this checkout's settings: no MEMBANK_*, HOME of its own. */
function userEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('MEMBANK_') && !key.startsWith('npm_') && key !== 'XDG_DATA_HOME') env[key] = value;
  return { ...env, HOME: home, ...extra };
}

/** Copies a tree as hard links where it can (fast; npm replaces files rather than writing into them). */
async function copyTree(from: string, to: string): Promise<void> {
  rmSync(to, { recursive: true, force: true });
  try {
    await run('cp', ['-al', from, to]);
  } catch {
    cpSync(from, to, { recursive: true });
  }
}

let project: string;
let home: string;
let server: ChildProcess;
let url: string;
const timings: Record<string, number> = {};

beforeAll(async () => {
  const packs = tempDir();
  let started = performance.now();
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', packs], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  timings.pack = performance.now() - started;
  const tarball = join(packs, packed!.filename);

  // Only what users need: the build, the migrations, the license and the README.
  const tops = new Set(packed!.files.map((f) => f.path.split('/')[0]));
  expect([...tops].sort()).toEqual(['LICENSE', 'README.md', 'dist', 'migrations', 'package.json']);
  expect(packed!.files.filter((f) => /\.test\.|(^|\/)test\/|fixtures/.test(f.path))).toEqual([]);

  project = tempDir();
  home = tempDir();
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'membank-user', version: '1.0.0', private: true, allowScripts: ALLOW_SCRIPTS }, null, 2));
  const manifest = JSON.parse((await run('tar', ['-xzOf', tarball, 'package/package.json'])).stdout) as { dependencies: Record<string, string> };
  const key = createHash('sha256')
    .update(JSON.stringify([manifest.dependencies, ALLOW_SCRIPTS, process.version, process.platform, process.arch]))
    .digest('hex')
    .slice(0, 16);
  const cached = join(CACHE, key);
  const seeded = existsSync(join(cached, 'node_modules'));
  if (seeded) {
    await copyTree(join(cached, 'node_modules'), join(project, 'node_modules'));
    cpSync(join(cached, 'package-lock.json'), join(project, 'package-lock.json'));
  }

  started = performance.now();
  // The npm cache and the user's npm settings apply (HOME stays); the registry is the only network used.
  const install = await run('npm', ['install', tarball, '--prefer-offline', '--omit=dev', '--no-audit', '--no-fund'], {
    cwd: project,
    env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
    maxBuffer: 64 * 1024 * 1024,
  });
  timings[seeded ? 'install over cached dependencies' : 'install'] = performance.now() - started;
  // The policy above covers every install script: npm has nothing to warn about.
  expect(install.stderr).not.toMatch(/allowScripts|Unknown project config/);
  if (!seeded) {
    mkdirSync(cached, { recursive: true });
    await copyTree(join(project, 'node_modules'), join(cached, 'node_modules'));
    cpSync(join(project, 'package-lock.json'), join(cached, 'package-lock.json'));
  }
  expect(existsSync(join(project, 'node_modules', 'tsx'))).toBe(false);

  // The service from the bin, for the clients below.
  server = spawn(join(project, 'node_modules', '.bin', 'membank'), ['serve', '--port', '0', '--data-dir', join(project, 'data'), '--log-level', 'info'], {
    cwd: project,
    env: userEnv(home),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  url = await new Promise<string>((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /membank ready on (http:\/\/[\d.:]+)/.exec(output);
      if (match) resolve(match[1]!);
    };
    server.stdout!.on('data', onData);
    server.stderr!.on('data', onData);
    server.on('exit', (code) => reject(new Error(`membank serve exited with ${code}:\n${output}`)));
  });
}, 1_200_000);

afterAll(async () => {
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await exited(server);
  }
  process.stderr.write(`package test: ${Object.entries(timings).map(([k, ms]) => `${k} ${(ms / 1000).toFixed(1)} s`).join(', ')}\n`);
});

/** Runs a script file of the user's project with plain node. */
async function node(file: string, source: string, env: NodeJS.ProcessEnv = userEnv(home)): Promise<string> {
  writeFileSync(join(project, file), source);
  const { stdout } = await run(process.execPath, [file], { cwd: project, env, timeout: 120_000 });
  return stdout;
}

const clientScript = (load: string) => `${load}
(async () => {
  const mb = new MembankClient({ url: process.env.URL });
  const ns = 'pkg-' + Math.random().toString(36).slice(2, 8);
  await mb.createNamespace({ name: ns, embedder: null, dimensions: 3 });
  await mb.writeMemories(ns, [{ id: 'a', vector: [1, 0, 0], text: 'alpha' }, { id: 'b', vector: [0, 1, 0], text: 'beta' }]);
  const hits = await mb.query(ns, { vector: [0.9, 0.1, 0], k: 1 });
  let code;
  try { await mb.getNamespace('absent-' + ns); } catch (e) { code = e instanceof MembankError && e.code; }
  console.log(JSON.stringify({ top: hits[0].id, code }));
})();
`;

describe('the npm package, installed from its tarball and run with plain node', () => {
  it('runs its bin on the compiled code', async () => {
    const help = await run(join(project, 'node_modules', '.bin', 'membank'), ['--help'], { env: userEnv(home) });
    expect(help.stdout).toMatch(/^ {2}mcp {2,}/m);
    const bin = readFileSync(join(project, 'node_modules', '.bin', 'membank'), 'utf8');
    expect(bin.startsWith('#!/usr/bin/env node')).toBe(true);
    expect(bin).not.toMatch(/from ['"]tsx|import\(['"]tsx/);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('serves membank/client to ESM and to CommonJS require, with types for both', async () => {
    const env = userEnv(home, { URL: url });
    const esm = await node('client.mjs', clientScript("import { MembankClient, MembankError } from 'membank/client';"), env);
    expect(JSON.parse(esm)).toEqual({ top: 'a', code: 'NAMESPACE_NOT_FOUND' });
    const cjs = await node('client.cjs', clientScript("const { MembankClient, MembankError } = require('membank/client');"), env);
    expect(JSON.parse(cjs)).toEqual({ top: 'a', code: 'NAMESPACE_NOT_FOUND' });

    // Typed from both sides; an `@ts-expect-error` that finds no error fails the check, so the types are real.
    mkdirSync(join(project, 'types'), { recursive: true });
    writeFileSync(
      join(project, 'types', 'esm.mts'),
      `import { MembankClient, MembankError, type QueryResult } from 'membank/client';
import { createLogger, createMembank, defaultConfig, type Membank } from 'membank';
const client = new MembankClient({ url: 'http://127.0.0.1:1' });
const hits: Promise<QueryResult[]> = client.query('n', { query: 'x', k: 3 });
const membank: Promise<Membank> = createMembank(defaultConfig({ dataDir: '/tmp/x', port: 0 }), createLogger('silent'));
export const used = [hits, membank, MembankError];
// @ts-expect-error: k is a number
client.query('n', { query: 'x', k: 'three' });
`,
    );
    writeFileSync(
      join(project, 'types', 'cjs.cts'),
      `import { MembankClient, type Namespace } from 'membank/client';
const list: Promise<Namespace[]> = new MembankClient().listNamespaces();
export = list;
// @ts-expect-error: no such method
new MembankClient().nope();
`,
    );
    writeFileSync(
      join(project, 'types', 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, types: [] }, files: ['esm.mts', 'cjs.cts'] }),
    );
    await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(project, 'types')], { cwd: project });
  }, 180_000);

  it('embeds the whole service in-process with createMembank, as npm start does', async () => {
    const out = await node(
      'inprocess.mjs',
      `import { createLogger, createMembank, defaultConfig } from 'membank';
const membank = await createMembank(defaultConfig({ dataDir: 'inprocess-data', port: 0 }), createLogger('silent'));
await membank.service.createNamespace({ name: 'local', embedder: null, dimensions: 2 });
await membank.service.writeMemories('local', [{ id: 'x', vector: new Float32Array([1, 0]), metadata: {} }]);
const served = await membank.listen();
const stats = await (await fetch(served + '/v1/namespaces/local')).json();
await membank.close();
console.log(JSON.stringify({ count: stats.count, served: served.startsWith('http://127.0.0.1:') }));
`,
    );
    expect(JSON.parse(out)).toEqual({ count: 1, served: true });
  }, 120_000);

  it('runs `membank mcp` with no flags on a per-user data directory under HOME, with the bundled model', async () => {
    const transport = new StdioClientTransport({ command: join(project, 'node_modules', '.bin', 'membank'), args: ['mcp'], cwd: project, env: userEnv(home) as Record<string, string>, stderr: 'pipe' });
    let stderr = '';
    transport.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const client = new Client({ name: 'package-test', version: '1.0.0' });
    await client.connect(transport);
    const remembered = await client.callTool({ name: 'remember', arguments: { text: 'Ann adopted a puppy named Rex' } });
    expect(remembered.isError, JSON.stringify(remembered.content)).toBeFalsy();
    await client.callTool({ name: 'remember', arguments: { text: 'The quarterly report is due on Friday' } });
    const recalled = await client.callTool({ name: 'recall', arguments: { query: 'What pet does Ann have?', k: 1 } });
    expect((recalled.content as { text: string }[])[0]!.text).toContain('puppy named Rex');
    await client.close();
    const dir = join(home, '.local', 'share', 'membank');
    expect(stderr).toContain(`membank mcp: data directory ${dir} (the default: neither MEMBANK_DATA_DIR nor XDG_DATA_HOME is set)`);
    expect(existsSync(join(dir, 'membank.db'))).toBe(true);
  }, 180_000);

  it('bundles membank/client for browsers with esbuild, and the bundle works against a real server', async () => {
    writeFileSync(
      join(project, 'browser-entry.mjs'),
      `import { MembankClient } from 'membank/client';
globalThis.result = (async () => {
  const mb = new MembankClient({ url: globalThis.SERVICE_URL });
  await mb.createNamespace({ name: 'browser', embedder: null, dimensions: 2 });
  await mb.writeMemories('browser', [{ id: 'p', vector: [0, 1], text: 'from a page' }]);
  return (await mb.query('browser', { vector: [0, 1], k: 1 }))[0].text;
})();
`,
    );
    const { build } = await import('esbuild');
    const bundle = await build({ entryPoints: [join(project, 'browser-entry.mjs')], absWorkingDir: project, bundle: true, platform: 'browser', format: 'iife', write: false, logLevel: 'silent' });
    const code = bundle.outputFiles[0]!.text;
    expect(code).not.toMatch(/\brequire\(|["']node:/);
    // A context with the web platform's globals only: no process, no require, no Buffer.
    const context = vm.createContext({ SERVICE_URL: url, fetch, Request, Response, Headers, URL, URLSearchParams, AbortController, AbortSignal, setTimeout, clearTimeout, TextEncoder, TextDecoder, console });
    vm.runInContext(code, context);
    expect(await (context as { result: Promise<string> }).result).toBe('from a page');
  }, 120_000);
});
