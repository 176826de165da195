/**
 * One writer per data directory. The lock is an exclusive SQLite lock on `<dataDir>/membank.lock`: the
 * operating system drops it when the holder dies, even by `kill -9`, so a crash never leaves a stale lock.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MembankError } from '../../core/errors.js';

export interface DataDirLock {
  release(): void;
}

export function lockDataDir(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const lockFile = join(dataDir, 'membank.lock');
  const pidFile = join(dataDir, 'membank.pid');
  const db = new Database(lockFile, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (error) {
    db.close();
    if (error instanceof Error && /locked|busy/i.test(error.message)) {
      let holder = 'another process';
      try {
        holder = `process ${readFileSync(pidFile, 'utf8').trim()}`;
      } catch (readError) {
        if ((readError as NodeJS.ErrnoException).code !== 'ENOENT') throw readError;
      }
      throw new MembankError(
        'DATA_DIR_LOCKED',
        `The data directory ${dataDir} is in use by ${holder}. Stop it, or give this process another --data-dir.`,
      );
    }
    throw error;
  }
  writeFileSync(pidFile, `${process.pid}\n`);
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      rmSync(pidFile, { force: true });
      db.exec('COMMIT');
      db.close();
    },
  };
}
