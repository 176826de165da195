/**
 * PostgreSQL for tests. The shared server comes from MEMBANK_TEST_DATABASE_URL (set by .ci/run); each test
 * file gets its own database on it (`useTestDatabase`), dropped after the file. Failure tests (restart, stop,
 * too many connections) get a throwaway server of their own (`useThrowawayServer`: initdb in a temp folder,
 * a free port), so that the shared server is never stopped under other tests.
 *
 * Without the variable, PostgreSQL suites are skipped with one line saying so; with it, nothing is skipped: a
 * missing `initdb` then fails the test that needs it.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe } from 'vitest';

/** The admin URL of the shared test server (any database on it: tests create their own), or undefined. */
export const TEST_DATABASE_URL: string | undefined = process.env.MEMBANK_TEST_DATABASE_URL || undefined;

/** Printed once per run by global-setup.ts (vitest.config.ts) when the variable is not set. */
export const POSTGRES_SKIP_LINE =
  'PostgreSQL suites skipped: MEMBANK_TEST_DATABASE_URL is not set (.ci/run sets it, e.g. postgres://postgres@127.0.0.1:5432/postgres).';

/** `describe` for suites that need PostgreSQL: skipped when there is none (the run says so once). */
export function describePostgres(name: string, suite: () => void): void {
  describe.skipIf(!TEST_DATABASE_URL)(name, suite);
}

function adminUrl(): string {
  if (!TEST_DATABASE_URL) throw new Error(POSTGRES_SKIP_LINE);
  return TEST_DATABASE_URL;
}

/** `url` with another database name. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

let created = 0;

export interface TestDatabase {
  url: string;
  /** Drops it, ending its sessions first. */
  drop(): Promise<void>;
}

/** A new, empty database on the shared server. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `membank_test_${process.pid}_${Date.now().toString(36)}_${created++}`;
  const admin = postgres(adminUrl(), { max: 1, onnotice: () => undefined });
  try {
    await admin.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(adminUrl(), name),
    async drop() {
      const dropper = postgres(adminUrl(), { max: 1, onnotice: () => undefined });
      try {
        await dropper.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await dropper.end();
      }
    },
  };
}

/**
 * Call in a test file's body (or a describe's): a fresh database for its tests, created before them and
 * dropped after them. `url` is set once the tests run.
 *
 * @example
 *   const database = useTestDatabase();
 *   it('…', async () => { const db = createPostgresDatabase({ url: database.url }); … });
 */
export function useTestDatabase(): { readonly url: string } {
  let database: TestDatabase | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });
  return {
    get url() {
      if (!database) throw new Error('useTestDatabase(): the database exists only while the tests run');
      return database.url;
    },
  };
}

/** Where initdb and pg_ctl are: MEMBANK_TEST_PG_BIN, else the newest /usr/lib/postgresql/N/bin. */
function postgresBin(): string {
  const given = process.env.MEMBANK_TEST_PG_BIN;
  if (given) return given;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error('No PostgreSQL server binaries (initdb) found: install postgresql-15 or set MEMBANK_TEST_PG_BIN.');
  return join(root, newest, 'bin');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export type StopMode = 'smart' | 'fast' | 'immediate';

export interface ThrowawayServer {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  /** Stops the server: `fast` ends sessions cleanly, `immediate` is a crash (recovery at the next start). */
  stop(mode?: StopMode): void;
  start(): void;
  restart(mode?: StopMode): void;
  running(): boolean;
  /** Stops it and deletes its files (also done at exit, and by useThrowawayServer after the tests). */
  destroy(): void;
}

export interface ThrowawayOptions {
  /** max_connections of the server (superuser_reserved_connections is 0, so tests see the limit exactly). */
  maxConnections?: number;
}

/**
 * A PostgreSQL server of its own, for tests that stop, restart or overload one. initdb refuses to run as root,
 * so as root it runs as the `postgres` user. fsync is off: a throwaway server need not survive power loss
 * (a killed process loses nothing either way).
 */
export async function startThrowawayServer(options: ThrowawayOptions = {}): Promise<ThrowawayServer> {
  const bin = postgresBin();
  const dir = mkdtempSync(join(tmpdir(), 'membank-pg-'));
  const asRoot = userInfo().uid === 0;
  if (asRoot) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()));
  const run = (tool: string, args: string[]): void => {
    const [command, all] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]] : [join(bin, tool), args];
    execFileSync(command as string, all as string[], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
  };
  const data = join(dir, 'data');
  run('initdb', ['-D', data, '--auth=trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  const port = await freePort();
  const settings = [
    `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c full_page_writes=off`,
    `-c max_connections=${options.maxConnections ?? 40} -c superuser_reserved_connections=0`,
  ].join(' ');
  let up = false;
  const server: ThrowawayServer = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start() {
      run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-o', settings, '-w', '-t', '30', 'start']);
      up = true;
    },
    stop(mode = 'fast') {
      run('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '30', 'stop']);
      up = false;
    },
    restart(mode = 'fast') {
      run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-o', settings, '-m', mode, '-w', '-t', '30', 'restart']);
      up = true;
    },
    running: () => up,
    destroy() {
      process.off('exit', server.destroy);
      if (up) {
        try {
          server.stop('immediate');
        } catch (error) {
          console.warn(`could not stop the throwaway PostgreSQL server in ${dir}: ${(error as Error).message}`);
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  // A test process that dies must not leave a server running.
  process.on('exit', server.destroy);
  server.start();
  return server;
}

/** Call in a test file's body (or a describe's): a throwaway server for its tests, destroyed after them. */
export function useThrowawayServer(options: ThrowawayOptions = {}): { readonly server: ThrowawayServer } {
  let server: ThrowawayServer | undefined;
  beforeAll(async () => {
    server = await startThrowawayServer(options);
  });
  afterAll(() => server?.destroy());
  return {
    get server() {
      if (!server) throw new Error('useThrowawayServer(): the server exists only while the tests run');
      return server;
    },
  };
}
