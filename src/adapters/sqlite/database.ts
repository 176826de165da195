/**
 * Opens the SQLite database of a data directory: refuses a damaged file, sets the pragmas membank relies on
 * (WAL, synchronous, secure delete, incremental auto-vacuum, memory-mapped reads) and applies migrations.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { MembankError } from '../../core/errors.js';
import { migrate } from './migrate.js';

export interface SqliteOpenOptions {
  /** Path of the database file. */
  file: string;
  /**
   * `full` (default) syncs the WAL on every commit, so an acknowledged write survives power loss as well as a
   * killed process; `normal` survives a killed process only, and writes faster.
   */
  synchronous?: 'full' | 'normal';
  /** Bytes of the database file to memory-map for reads (default 4 GiB). */
  mmapBytes?: number;
  /** Called with the names of migrations applied at open. */
  onMigrated?: (applied: string[]) => void;
  /** Told about conversions made at open (vacuum mode changed), and about a check skipped at open. */
  onNotice?: (message: string) => void;
  /**
   * Files up to this size (default 1 GiB, about a second to read here) get SQLite's whole `quick_check` at
   * open; larger ones a structural check only (header, schema, each table's root), so that start time does
   * not grow with the data.
   */
  fullCheckMaxBytes?: number;
  /** Called with the open connection: the fault-injection seam of the disk-fault tests (max_page_count, query_only). */
  onOpen?: (db: Database.Database) => void;
}

/**
 * Refuses a damaged database before anything reads or writes it: garbage in the header fails the first
 * statement (SQLITE_NOTADB), damaged b-tree pages fail `quick_check`. Serving from it could answer wrong data.
 */
function checkIntact(db: Database.Database, file: string, full: boolean): void {
  let problems: string[];
  try {
    db.pragma('journal_mode = WAL');
    if (full) {
      problems = (db.pragma('quick_check(5)', { simple: false }) as { quick_check: string }[]).map((row) => row.quick_check);
    } else {
      // Reading the schema and the first row of every table fails on damaged roots (SQLITE_CORRUPT).
      const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%'`).pluck().all() as string[];
      for (const table of tables) db.prepare(`SELECT * FROM "${table.replaceAll('"', '""')}" LIMIT 1`).all();
      problems = ['ok'];
    }
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (!/^SQLITE_(NOTADB|CORRUPT)/.test(code)) throw error;
    problems = [(error as Error).message];
  }
  if (problems.length === 1 && problems[0] === 'ok') return;
  db.close();
  throw new MembankError(
    'DATABASE_CORRUPT',
    `The database ${file} is damaged (${problems.join('; ').replace(/\s*\n\s*/g, '; ')}); membank will not serve from it. Restore it from a backup.`,
  );
}

export function openDatabase(options: SqliteOpenOptions): Database.Database {
  mkdirSync(dirname(options.file), { recursive: true });
  const db = new Database(options.file);
  const bytes = existsSync(options.file) ? statSync(options.file).size : 0;
  const full = bytes <= (options.fullCheckMaxBytes ?? 2 ** 30);
  checkIntact(db, options.file, full);
  if (!full) {
    options.onNotice?.(
      `the database is ${Math.round(bytes / 2 ** 20)} MiB: checked its structure at open, not every page (run PRAGMA quick_check with the sqlite3 shell on a copy to check it whole)`,
    );
  }
  // Erased memories must not linger: deleted content is overwritten with zeros (secure_delete), and freed pages
  // can be returned to the file system (incremental auto-vacuum; set before the first table, or by one VACUUM).
  db.pragma('secure_delete = ON');
  const fresh = (db.prepare('SELECT COUNT(*) FROM sqlite_master').pluck().get() as number) === 0;
  if (fresh) db.pragma('auto_vacuum = INCREMENTAL');
  db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // Query results are random row reads: map the file and keep a large page cache, so that a read is a memory
  // access rather than a system call. (Virtual address space, not resident memory.)
  db.pragma(`mmap_size = ${options.mmapBytes ?? 4 * 1024 ** 3}`);
  db.pragma('cache_size = -65536');
  const applied = migrate(db);
  options.onMigrated?.(applied);
  if (db.pragma('auto_vacuum', { simple: true }) !== 2) {
    db.pragma('auto_vacuum = INCREMENTAL');
    db.exec('VACUUM');
    options.onNotice?.('database converted to incremental auto-vacuum (one VACUUM), so that erased data can be compacted away');
  }
  options.onOpen?.(db);
  return db;
}

/** Reads a statement's rows in label order, a batch at a time, without holding a statement open between batches. */
export async function* inBatches<T>(read: (after: number) => T[], labelOf: (row: T) => number, batch: number): AsyncIterable<T[]> {
  let after = 0;
  for (;;) {
    const rows = read(after);
    if (rows.length === 0) return;
    after = labelOf(rows[rows.length - 1]!);
    yield rows;
    if (rows.length < batch) return;
  }
}
