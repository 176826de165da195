/** Helpers shared by the benchmark scripts: a membank server in its own process, and a light HTTP client. */
import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import { join } from 'node:path';

const MAIN = join(import.meta.dirname, '..', '..', 'src', 'main.ts');

/** Starts `src/main.ts` on a free port over `dataDir` and resolves once it is ready. */
export function startServer(dataDir: string, extraArgs: string[] = []): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--port', '0', '--data-dir', dataDir, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  process.on('exit', () => child.kill('SIGKILL')); // never leave a server behind
  let out = '';
  let ready = false;
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      // Keep the tail of the server's log, to say why it stopped if it does.
      out = (out + chunk.toString()).slice(-20_000);
      const match = ready ? null : /membank ready on (http:\/\/[\d.:]+)/.exec(out);
      if (match) {
        ready = true;
        resolve({ child, url: match[1]! });
      }
    });
    child.on('exit', (code, signal) => {
      if (!ready) reject(new Error(`server exited ${code}: ${out}`));
      else if (code !== 0 && signal !== 'SIGTERM' && signal !== 'SIGKILL') process.stderr.write(`server exited ${code ?? signal}; its last log lines:\n${out.slice(-4000)}\n`);
    });
  });
}

export async function stopServer(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  await new Promise((resolve) => child.on('exit', resolve));
}

// A keep-alive client on node:http: lighter than fetch, so that latencies are mostly the server's.
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/**
 * POSTs JSON and resolves with the answer. A kept-alive socket that the server closed while idle (its
 * keep-alive timeout, during a long pause of the benchmark) fails the next request with ECONNRESET or EPIPE
 * before anything was done: that one is sent again. (Every request the benchmarks send is idempotent.)
 */
export async function post(url: string, body: unknown): Promise<any> {
  try {
    return await postOnce(url, body);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ECONNRESET' && code !== 'EPIPE') throw error;
    return postOnce(url, body);
  }
}

function postOnce(url: string, body: unknown): Promise<any> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if ((response.statusCode ?? 500) >= 300) reject(new Error(`${response.statusCode} ${text}`));
          else resolve(JSON.parse(text));
        });
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

export const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
