/**
 * `membank mcp`: the MCP server on stdio that desktop hosts start, needing nothing else.
 *
 * - With `--url` (or MEMBANK_URL) it works through that running service's REST API.
 * - Otherwise it works on a data directory: `--data-dir`, else MEMBANK_DATA_DIR, else $XDG_DATA_HOME/membank,
 *   else ~/.local/share/membank. If the directory is free, membank runs inside this process on it, and also
 *   serves HTTP on a loopback port, which it records in the directory (see data-dir-lock.ts). If another
 *   process holds it — a service, or the `membank mcp` of another host — this one talks to that process instead.
 *   Several hosts may start at once: one wins the directory, the others find where it listens. When the holder
 *   goes away, the next call that finds its port closed looks again: one of the others takes the directory
 *   over, and the call goes on there.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { MembankClient } from '../client/client.js';
import { loadConfig, type CliEnvironment } from '../config.js';
import { MembankError } from '../core/errors.js';
import { createLogger } from '../logger.js';
import { createResourceHub } from '../mcp/subscriptions.js';
import { bindOps, inProcessOps, OPERATIONS, withOwnEvents, type Change, type ForgetRunEvent, type MembankOps, type OpsEvents } from '../mcp/ops.js';
import { createMcpServer } from '../mcp/server.js';

export type DataDirSource = '--data-dir' | 'MEMBANK_DATA_DIR' | 'XDG_DATA_HOME' | 'home';

/** Where `membank mcp` keeps its memories when told nothing, and why there. */
export function mcpDataDir(flag: string | undefined, env: CliEnvironment, home: string = homedir()): { dir: string; source: DataDirSource } {
  if (flag) return { dir: flag, source: '--data-dir' };
  if (env.dataDir) return { dir: env.dataDir, source: 'MEMBANK_DATA_DIR' };
  // The XDG Base Directory specification: a relative XDG_DATA_HOME is invalid and must be ignored.
  if (env.xdgDataHome?.startsWith('/')) return { dir: join(env.xdgDataHome, 'membank'), source: 'XDG_DATA_HOME' };
  return { dir: join(home, '.local', 'share', 'membank'), source: 'home' };
}

const SOURCE_NOTE: Record<DataDirSource, string> = {
  '--data-dir': 'from --data-dir',
  MEMBANK_DATA_DIR: 'from MEMBANK_DATA_DIR',
  XDG_DATA_HOME: 'from XDG_DATA_HOME',
  home: 'the default: neither MEMBANK_DATA_DIR nor XDG_DATA_HOME is set',
};

export interface Backend {
  kind: 'embedded' | 'remote';
  /** Where it serves HTTP (an embedded one too: other hosts reach it there). */
  url: string;
  ops: MembankOps;
  close(): Promise<void>;
}

type Say = (line: string) => void;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A connection the operating system refused: nothing listens there, so the request never reached anyone. */
function refused(error: unknown): boolean {
  const cause = (error as { cause?: { code?: string; errors?: { code?: string }[] } }).cause;
  if (cause?.code === 'ECONNREFUSED') return true;
  return Array.isArray(cause?.errors) && cause.errors.length > 0 && cause.errors.every((e) => e.code === 'ECONNREFUSED');
}

/**
 * A service's operations over REST. With `onRefused`, a request whose connection is refused (the holder of the
 * data directory went away) is sent once more, to wherever the data directory is served after a new look.
 */
export function remoteBackend(url: string, apiKey: string | undefined, onRefused?: () => Promise<Backend>): Backend {
  const fetcher: typeof fetch = async (input, init) => {
    try {
      return await fetch(input, init);
    } catch (error) {
      if (!onRefused || !refused(error)) throw error;
      const next = await onRefused();
      const target = new URL(input instanceof Request ? input.url : String(input));
      const base = new URL(next.url);
      target.protocol = base.protocol;
      target.host = base.host;
      return fetch(target, init);
    }
  };
  const client = new MembankClient({ url, apiKey, fetch: fetcher });
  return { kind: 'remote', url, ops: withOwnEvents(client), close: async () => {} };
}

/** Whether a service answers at `url` (its /healthz needs no key). */
async function answers(url: string): Promise<boolean> {
  try {
    await new MembankClient({ url, retries: 0, timeoutMs: 2000 }).health();
    return true;
  } catch {
    return false;
  }
}

export interface DataDirOptions {
  dataDir: string;
  apiKey?: string;
  say: Say;
  /** Give up when neither the directory nor its holder can be had for this long. */
  waitMs?: number;
  onRefused?: () => Promise<Backend>;
}

/**
 * membank on a data directory: run embedded on it if it is free, else reach the process that holds it. A
 * holder that has not yet said where it serves (it is starting) is waited for.
 */
export async function openDataDir({ dataDir, apiKey, say, waitMs = 30_000, onRefused }: DataDirOptions): Promise<Backend> {
  // Loaded here, not with the command: over --url, none of the server's code is needed.
  const [{ createMembank }, { dataDirHolder }] = await Promise.all([import('../server.js'), import('../adapters/sqlite/data-dir-lock.js')]);
  const deadline = Date.now() + waitMs;
  let told = false;
  for (;;) {
    try {
      // MEMBANK_* settings apply, but this process serves only its own loopback, on any free port.
      const config = loadConfig(['--data-dir', dataDir, '--host', '127.0.0.1', '--port', '0']);
      const membank = await createMembank(config, createLogger(config.logLevel, 'stderr'));
      const url = await membank.listen();
      say(`running embedded on ${config.dataDir}; other hosts reach it at ${url}`);
      return { kind: 'embedded', url, ops: inProcessOps(membank), close: () => membank.close() };
    } catch (error) {
      if (!(error instanceof MembankError && error.code === 'DATA_DIR_LOCKED')) throw error;
    }
    const holder = dataDirHolder(dataDir);
    if (holder?.url && (await answers(holder.url))) {
      say(`${dataDir} is in use by process ${holder.pid}; working through it at ${holder.url}`);
      return remoteBackend(holder.url, apiKey, onRefused);
    }
    if (Date.now() > deadline) {
      throw new MembankError(
        'DATA_DIR_LOCKED',
        `The data directory ${dataDir} is in use by ${holder ? `process ${holder.pid}` : 'another process'}, which does not serve HTTP (an import or a restore?). Wait for it, or give --data-dir another directory.`,
      );
    }
    if (!told) {
      say(`${dataDir} is in use by ${holder ? `process ${holder.pid}` : 'another process'}; waiting for it to serve`);
      told = true;
    }
    await sleep(100 + Math.random() * 150);
  }
}

/**
 * Operations that go to the current backend, opened on first use and opened again when it goes away (see
 * remoteBackend). Their events follow the backend too.
 */
export function switchingBackend(open: (onRefused: () => Promise<Backend>) => Promise<Backend>) {
  let current: Promise<Backend> | undefined;
  let stopEvents: (() => void) | undefined;
  const changeListeners = new Set<(change: Change) => void>();
  const runListeners = new Set<(run: ForgetRunEvent) => void>();
  let covers: ReadonlySet<Change['kind']> = new Set();

  const start = (): Promise<Backend> => {
    const opening: Promise<Backend> = open(() => failover(opening)).then(
      (backend) => {
        stopEvents?.();
        covers = backend.ops.events?.covers ?? new Set();
        const offChange = backend.ops.events?.onChange((change) => changeListeners.forEach((l) => l(change)));
        const offRuns = backend.ops.events?.onForgetRun((run) => runListeners.forEach((l) => l(run)));
        stopEvents = () => {
          offChange?.();
          offRuns?.();
        };
        return backend;
      },
      (error: unknown) => {
        if (current === opening) current = undefined; // the next call tries again
        throw error;
      },
    );
    current = opening;
    return opening;
  };

  /** The backend `gone` stopped answering: open anew, once, however many calls noticed it. */
  const failover = (gone: Promise<Backend>): Promise<Backend> => (current === gone || current === undefined ? start() : current);

  const backend = () => current ?? start();

  const events: OpsEvents = {
    get covers() {
      return covers;
    },
    onChange(listener) {
      changeListeners.add(listener);
      return () => changeListeners.delete(listener);
    },
    onForgetRun(listener) {
      runListeners.add(listener);
      return () => runListeners.delete(listener);
    },
  };
  const forward = Object.fromEntries(
    OPERATIONS.map((name) => [name, async (...args: unknown[]) => ((await backend()).ops[name] as (...a: unknown[]) => unknown)(...args)]),
  ) as unknown as MembankOps;

  return {
    ops: { ...bindOps(forward), events } satisfies MembankOps,
    backend,
    async close(): Promise<void> {
      stopEvents?.();
      const opened = await current?.catch(() => undefined);
      await opened?.close();
    },
  };
}

export interface McpCommandOptions {
  namespace: string;
  url?: string;
  apiKey?: string;
  dataDir?: string;
  env: CliEnvironment;
  err: NodeJS.WritableStream;
}

/** Runs the stdio server until the host closes stdin (or a signal comes); resolves once it serves. */
export async function runMcp(options: McpCommandOptions): Promise<void> {
  const { StdioServerTransport } = await import('@modelcontextprotocol/sdk/server/stdio.js');
  // stdout carries the protocol: everything else goes to stderr, which hosts keep in their logs.
  const say: Say = (line) => options.err.write(`membank mcp: ${line}\n`);
  const url = options.url ?? options.env.url;
  let switching;
  if (url) {
    say(`working through the service at ${url}`);
    switching = switchingBackend(async () => remoteBackend(url, options.apiKey ?? options.env.apiKey));
  } else {
    const { dir, source } = mcpDataDir(options.dataDir, options.env);
    say(`data directory ${dir} (${SOURCE_NOTE[source]})`);
    switching = switchingBackend((onRefused) => openDataDir({ dataDir: dir, apiKey: options.apiKey ?? options.env.apiKey, say, onRefused }));
  }
  const { ops } = switching;
  // Opened now, not at the first call, so that the host's first call does not wait for it.
  switching.backend().catch((error: unknown) => say(`cannot open membank: ${(error as Error).message}`));

  const hub = createResourceHub({ ops, onError: (error) => say(`reading a subscribed resource failed: ${(error as Error).message}`) });
  const server = createMcpServer({
    ops,
    namespace: options.namespace,
    hub,
    onUnexpectedError: (error, where) => say(`${where} failed: ${error instanceof Error ? error.stack : String(error)}`),
  });

  // The host ends the server by closing stdin (or by a signal): checkpoint and release the data directory.
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    Promise.all([server.close(), switching.close()]).then(
      () => process.exit(0),
      (error: unknown) => {
        say(`shutdown failed: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.stdin.on('end', stop);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  await server.connect(new StdioServerTransport());
}
