/**
 * One writer per data directory. The lock is an exclusive SQLite lock on `<dataDir>/membank.lock`: the
 * operating system drops it when the holder dies, even by `kill -9`, so a crash never leaves a stale lock.
 *
 * The holder says who it is (`membank.pid`) and, once it serves HTTP, where (`membank.endpoint`: its pid and
 * URL), so that a process that finds the directory taken — a second `membank mcp` started by another desktop
 * host — can talk to the holder instead of failing. Those two files are notes, not the lock: a note left by a
 * holder that crashed names a process that is gone, and `dataDirHolder` ignores it.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MembankError } from '../../core/errors.js';

export interface DataDirLock {
  /** Records where the holder serves, for processes that find the directory in use. */
  advertise(url: string): void;
  release(): void;
}

/** The live process holding a data directory, and its URL once it serves. */
export interface DataDirHolder {
  pid: number;
  url?: string;
}

const pidFile = (dataDir: string) => join(dataDir, 'membank.pid');
const endpointFile = (dataDir: string) => join(dataDir, 'membank.endpoint');

export function lockDataDir(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const lockFile = join(dataDir, 'membank.lock');
  const db = new Database(lockFile, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (error) {
    db.close();
    if (error instanceof Error && /locked|busy/i.test(error.message)) {
      const holder = readHolderPid(dataDir);
      throw new MembankError(
        'DATA_DIR_LOCKED',
        `The data directory ${dataDir} is in use by ${holder === undefined ? 'another process' : `process ${holder}`}. Stop it, or give this process another --data-dir.`,
      );
    }
    throw error;
  }
  // A crashed holder's endpoint would point the next process at a dead port.
  rmSync(endpointFile(dataDir), { force: true });
  writeFileSync(pidFile(dataDir), `${process.pid}\n`);
  let released = false;
  return {
    advertise(url) {
      // Written whole, then renamed: a reader never sees half of it.
      const temp = `${endpointFile(dataDir)}.${process.pid}.tmp`;
      writeFileSync(temp, `${JSON.stringify({ pid: process.pid, url })}\n`);
      renameSync(temp, endpointFile(dataDir));
    },
    release() {
      if (released) return;
      released = true;
      rmSync(endpointFile(dataDir), { force: true });
      rmSync(pidFile(dataDir), { force: true });
      db.exec('COMMIT');
      db.close();
    },
  };
}

function readHolderPid(dataDir: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(pidFile(dataDir), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Who holds the data directory, as its notes say, if that process is alive: a directory whose lock is taken
 * but whose holder has not written its notes yet (it is starting) reads as undefined, as does a free one.
 */
export function dataDirHolder(dataDir: string): DataDirHolder | undefined {
  const pid = readHolderPid(dataDir);
  if (pid === undefined || !alive(pid)) return undefined;
  let endpoint: { pid?: unknown; url?: unknown } | undefined;
  try {
    endpoint = JSON.parse(readFileSync(endpointFile(dataDir), 'utf8')) as { pid?: unknown; url?: unknown };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && !(error instanceof SyntaxError)) throw error;
  }
  return endpoint?.pid === pid && typeof endpoint.url === 'string' ? { pid, url: endpoint.url } : { pid };
}
