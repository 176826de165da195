/**
 * Servers that speak Chroma's API, for the side-by-side scripts: a real Chroma 1.0 (the Rust server that
 * `chromadb`'s CLI starts, from the binding pinned in package.json) and membank with its Chroma port, each in
 * its own process so that their memory can be measured apart.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const MAIN = join(ROOT, 'src', 'main.ts');
const CHROMA_BIN = join(ROOT, 'node_modules', '.bin', 'chroma');

export interface Running {
  name: string;
  child: ChildProcess;
  /** Base URL of the Chroma API. */
  url: string;
  /**
   * Resolves once everything added is indexed as queries will use it (call it after a first query). membank
   * writes an unloaded namespace only to its store, loads it on its first query and then builds a large
   * namespace's HNSW graph in a worker, answering exactly meanwhile; a benchmark that wants graph-speed
   * queries, and an add rate that includes the build, waits for this.
   */
  indexed(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitFor(url: string, child: ChildProcess, output: () => string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}):\n${output()}`);
    try {
      if ((await fetch(`${url}/api/v2/heartbeat`)).ok) return;
    } catch {
      // not listening yet: try again shortly
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the server at ${url} did not answer within 30 s:\n${output()}`);
}

function track(child: ChildProcess): () => string {
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  process.on('exit', () => child.kill('SIGKILL')); // never leave a server behind
  return () => output;
}

/** Starts Chroma 1.0 over `dataDir` on a free port. */
export async function startChroma(dataDir: string): Promise<Running> {
  const port = await freePort();
  const child = spawn(CHROMA_BIN, ['run', '--path', dataDir, '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = track(child);
  const url = `http://localhost:${port}`;
  await waitFor(url, child, output);
  // Chroma indexes an add before it answers it (in local mode), so there is nothing to wait for.
  return { name: 'chroma', child, url, indexed: async () => {} };
}

/** Starts membank over `dataDir` with its Chroma API on a free port. */
export async function startMembankChroma(dataDir: string, extraArgs: string[] = []): Promise<Running> {
  const port = await freePort();
  const apiPort = await freePort();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', MAIN, '--port', String(apiPort), '--chroma-port', String(port), '--data-dir', dataDir, '--log-level', 'warn', ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output = track(child);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(url, child, output);
  const api = `http://127.0.0.1:${apiPort}/v1/namespaces`;
  const indexed = async (): Promise<void> => {
    for (;;) {
      const { namespaces } = (await (await fetch(api)).json()) as { namespaces: { name: string }[] };
      const states = await Promise.all(
        namespaces.map(async ({ name }) => ((await (await fetch(`${api}/${encodeURIComponent(name)}`)).json()) as { index: { loaded: boolean; building: boolean } }).index),
      );
      if (states.every((index) => index.loaded && !index.building)) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  return { name: 'membank', child, url, indexed };
}

export async function stop(server: Running): Promise<void> {
  if (server.child.exitCode !== null) return;
  server.child.kill('SIGTERM');
  await new Promise((resolve) => server.child.once('exit', resolve));
}

/** Resident memory of a process and its children (the Chroma CLI is a Node wrapper around its server), in MB. */
export function rssMb(pid: number): number {
  const children = (() => {
    try {
      return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  })();
  const own = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  return own + children.reduce((sum, child) => sum + rssMb(child), 0);
}
