/** Builds real membank instances (SQLite, HNSW, HTTP on 127.0.0.1:0) around temporary directories. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll } from 'vitest';
import { createHashEmbedder } from '../src/adapters/embedders/hash-embedder.js';
import { createEmbedderProvider, embedderTable } from '../src/adapters/embedders/provider.js';
import type { Config } from '../src/config.js';
import { createMembank, type Membank, type Overrides } from '../src/server.js';
import { rng } from './fixtures/random.js';

export { rng };

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'membank-test-'));
  dirs.push(dir);
  return dir;
}

export const silentLogger = pino({ level: process.env.MEMBANK_TEST_LOG_LEVEL ?? 'silent' });

/** A provider with the deterministic hash embedder as `hash-64`, so that text paths run without a model. */
export const hashEmbedders = () =>
  createEmbedderProvider(embedderTable({ 'hash-64': { dimensions: 64, revision: 'hash-v1', create: async () => createHashEmbedder(64) } }), ['hash-64']);

export function testConfig(dataDir: string, overrides: Partial<Config> = {}): Config {
  return {
    host: '127.0.0.1',
    port: 0,
    dataDir,
    logLevel: 'silent',
    maxBodyBytes: 16 * 1024 * 1024,
    checkpointIntervalSeconds: 0,
    synchronous: 'normal',
    exactSearchThreshold: 'auto',
    indexMemoryMb: 1024,
    hnswThreshold: 'auto',
    defaultEmbedder: 'hash-64',
    changeRetentionHours: 168,
    device: 'cpu',
    modelsDir: join(dataDir, 'models'),
    allowRemoteModels: false,
    openaiBatchSize: 64,
    openaiTimeoutMs: 5000,
    openaiRetries: 1,
    rateLimit: 0,
    insecureNoAuth: false,
    ...overrides,
  };
}

export interface Running {
  membank: Membank;
  url: string;
  api: Api;
  close(): Promise<void>;
}

/**
 * MEMBANK_TEST_STORE=postgres runs the suites that start membank through `startMembank` in cluster mode: each
 * data directory gets a database of its own on MEMBANK_TEST_DATABASE_URL's server (the same one when the
 * directory is started again), dropped after the file.
 */
const clusterDatabases = new Map<string, Promise<string>>();
async function clusterDatabaseFor(dataDir: string): Promise<string | undefined> {
  if (process.env.MEMBANK_TEST_STORE !== 'postgres') return undefined;
  let url = clusterDatabases.get(dataDir);
  if (!url) {
    const { createTestDatabase } = await import('./postgres/helpers.js');
    url = createTestDatabase().then((db) => {
      dropLater.push(() => db.drop());
      return db.url;
    });
    clusterDatabases.set(dataDir, url);
  }
  return url;
}
const dropLater: (() => Promise<void>)[] = [];
afterAll(async () => {
  await Promise.all(dropLater.splice(0).map((drop) => drop().catch(() => undefined)));
});

export async function startMembank(
  dataDir: string = tempDir(),
  config: Partial<Config> = {},
  overrides: Overrides = {},
  logger = silentLogger,
): Promise<Running> {
  const databaseUrl = config.databaseUrl ?? (await clusterDatabaseFor(dataDir));
  const membank = await createMembank(testConfig(dataDir, { ...config, ...(databaseUrl && { databaseUrl }) }), logger, { embedders: hashEmbedders(), ...overrides });
  const url = await membank.listen();
  return { membank, url, api: api(url), close: () => membank.close() };
}

export interface ApiResponse {
  status: number;
  body: any;
}

export type Api = ReturnType<typeof api>;

export function api(base: string) {
  const call = async (method: string, path: string, body?: unknown, raw?: string): Promise<ApiResponse> => {
    const response = await fetch(base + path, {
      method,
      headers: body !== undefined || raw !== undefined ? { 'content-type': 'application/json' } : {},
      body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  return {
    call,
    get: (path: string) => call('GET', path),
    post: (path: string, body?: unknown) => call('POST', path, body),
    del: (path: string) => call('DELETE', path),
    raw: (method: string, path: string, raw: string) => call(method, path, undefined, raw),
  };
}

export function randomVectors(count: number, dimensions: number, seed = 1): number[][] {
  const random = rng(seed);
  return Array.from({ length: count }, () => Array.from({ length: dimensions }, () => random() * 2 - 1));
}

const MAIN = join(import.meta.dirname, '..', 'src', 'main.ts');

/** The server's own process (not a wrapper), so that signals, SIGKILL included, reach it directly. */
export const serverCommand = (args: string[]): [string, string[]] => [process.execPath, ['--import', 'tsx', MAIN, ...args]];

export interface Child {
  process: ChildProcess;
  url: string;
  output: () => string;
}

/** Starts `src/main.ts` as a separate process and waits for its ready line. */
export function spawnMembank(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Child> {
  const [command, argv] = serverCommand(['--port', '0', '--log-level', 'info', ...args]);
  const child = spawn(command, argv, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /membank ready on (http:\/\/[\d.:]+)/.exec(output);
      if (match) resolve({ process: child, url: match[1]!, output: () => output });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`membank exited with ${code} before it was ready:\n${output}`)));
  });
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}
