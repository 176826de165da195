/**
 * Copies of a data directory's content: a JSONL export (every column of namespaces, memories and facts, so
 * nothing is lost: vectors, timestamps, history, and any column a later migration adds), its import into
 * another data directory, and a consistent backup while the service runs (SQLite's online backup API on a
 * read-only connection, which a running service's write lock does not block).
 *
 * Export and backup only read; import and restore take the data directory's lock, so they never run beside
 * a service. Indexes are not exported: the service rebuilds a missing index from SQLite at start.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MembankError } from '../../core/errors.js';
import { lockDataDir } from './data-dir-lock.js';
import { migrate } from './migrate.js';

const DB_FILE = 'membank.db';
/** Hidden namespaces that index a namespace's fact sentences are named after its internal id. */
const FACT_INDEX_PREFIX = '~facts.';

type Row = Record<string, unknown>;
export type ExportLine =
  | { type: 'membank-export'; version: 1; exportedAt: string }
  | { type: 'namespace'; row: Row; factIndexOf?: string }
  /** `factIndex`: a memory of the namespace's hidden fact-sentence index. */
  | { type: 'memory'; namespace: string; factIndex?: true; row: Row }
  | { type: 'fact'; namespace: string; row: Row }
  /** An API key (its SHA-256 hash, never the key), in a whole export only. */
  | { type: 'key'; row: Row };

/** BLOBs (vectors) travel as base64 under a marker key, so a row is plain JSON and round-trips bit for bit. */
function encodeRow(row: Row, drop: string[]): Row {
  const out: Row = {};
  for (const [key, value] of Object.entries(row)) {
    if (drop.includes(key)) continue;
    out[key] = Buffer.isBuffer(value) ? { $base64: value.toString('base64') } : value;
  }
  return out;
}

function decodeValue(value: unknown): unknown {
  if (value && typeof value === 'object' && '$base64' in value) return Buffer.from(String((value as { $base64: string }).$base64), 'base64');
  return value;
}

function openReadOnly(dataDir: string): Database.Database {
  const file = join(dataDir, DB_FILE);
  if (!existsSync(file)) throw new MembankError('VALIDATION_FAILED', `No membank database at ${file}.`);
  const db = new Database(file, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  return db;
}

/** Every line of an export, in an order that import can replay (a namespace before its memories and facts). */
export function* exportDataDir(dataDir: string, options: { namespaces?: string[] } = {}): Generator<ExportLine> {
  const db = openReadOnly(dataDir);
  try {
    // One read transaction: the export is a snapshot even while the service writes.
    db.exec('BEGIN');
    yield { type: 'membank-export', version: 1, exportedAt: new Date().toISOString() };
    const all = db.prepare('SELECT * FROM namespaces ORDER BY id').all() as Row[];
    const visible = all.filter((n) => !String(n.name).startsWith(FACT_INDEX_PREFIX));
    const chosen = options.namespaces ? visible.filter((n) => options.namespaces!.includes(String(n.name))) : visible;
    const missing = (options.namespaces ?? []).filter((name) => !chosen.some((n) => n.name === name));
    if (missing.length > 0) throw new MembankError('NAMESPACE_NOT_FOUND', `No namespace named ${missing.join(', ')} in ${dataDir}.`);
    const memories = db.prepare('SELECT * FROM memories WHERE namespace_id = ? ORDER BY label');
    const facts = db.prepare('SELECT * FROM facts WHERE namespace_id = ? ORDER BY rowid_');
    for (const ns of chosen) {
      const name = String(ns.name);
      yield { type: 'namespace', row: encodeRow(ns, ['id']) };
      for (const row of memories.iterate(ns.id) as Iterable<Row>) yield { type: 'memory', namespace: name, row: encodeRow(row, ['label', 'namespace_id', 'seq']) };
      for (const row of facts.iterate(ns.id) as Iterable<Row>) yield { type: 'fact', namespace: name, row: encodeRow(row, ['rowid_', 'namespace_id']) };
      // The fact sentences' embeddings, so that fact search works after import without re-embedding.
      const hidden = all.find((n) => n.name === `${FACT_INDEX_PREFIX}${ns.id}`);
      if (hidden) {
        yield { type: 'namespace', row: encodeRow(hidden, ['id', 'name']), factIndexOf: name };
        for (const row of memories.iterate(hidden.id) as Iterable<Row>) {
          yield { type: 'memory', namespace: name, factIndex: true, row: encodeRow(row, ['label', 'namespace_id', 'seq']) };
        }
      }
    }
    if (!options.namespaces) for (const row of db.prepare('SELECT * FROM api_keys ORDER BY created_at, id').iterate() as Iterable<Row>) yield { type: 'key', row };
    db.exec('COMMIT');
  } finally {
    db.close();
  }
}

export interface ImportSummary {
  namespaces: number;
  memories: number;
  facts: number;
}

/**
 * Imports export lines into a data directory that no service holds. Namespaces that already exist there are
 * refused (nothing is merged or overwritten); the whole import is one transaction.
 */
export function importIntoDataDir(dataDir: string, lines: Iterable<ExportLine>): ImportSummary {
  const lock = lockDataDir(dataDir);
  const db = new Database(join(dataDir, DB_FILE));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    migrate(db);
    const columns = (table: string) => new Set((db.prepare(`SELECT name FROM pragma_table_info('${table}')`).pluck().all() as string[]));
    const known = { namespaces: columns('namespaces'), memories: columns('memories'), facts: columns('facts') };
    const statements = new Map<string, Database.Statement>(); // rows of one table share their columns
    const insert = (table: keyof typeof known, row: Row, extra: Row): void => {
      // Columns this database lacks (an export from a newer version) are left out rather than failing.
      const entries = [...Object.entries(row).filter(([key]) => known[table].has(key)), ...Object.entries(extra)];
      const sql = `INSERT INTO ${table} (${entries.map(([k]) => `"${k}"`).join(', ')}) VALUES (${entries.map(() => '?').join(', ')})`;
      let statement = statements.get(sql);
      if (!statement) statements.set(sql, (statement = db.prepare(sql)));
      statement.run(...entries.map(([, v]) => decodeValue(v)));
    };
    const summary: ImportSummary = { namespaces: 0, memories: 0, facts: 0 };
    db.transaction(() => {
      const seq = db.prepare(`UPDATE counters SET value = value + 1 WHERE name = 'seq' RETURNING value`).pluck().get() as number;
      const ids = new Map<string, number>(); // namespace name -> new internal id
      const hiddenIds = new Map<string, number>(); // namespace name -> new id of its fact index
      const idOf = (map: Map<string, number>, name: string) => {
        const id = map.get(name);
        if (id === undefined) throw new MembankError('VALIDATION_FAILED', `The export names namespace "${name}" before defining it.`);
        return id;
      };
      const insertNamespace = (row: Row, name: string): number => {
        insert('namespaces', { ...row, name }, {});
        return db.prepare('SELECT id FROM namespaces WHERE name = ?').pluck().get(name) as number;
      };
      let lineNo = 0;
      for (const line of lines) {
        lineNo++;
        if (line.type === 'membank-export') continue;
        if (line.type === 'namespace' && line.factIndexOf !== undefined) {
          // Hidden fact indexes are named after their parent's internal id, which is new here.
          hiddenIds.set(line.factIndexOf, insertNamespace(line.row, `${FACT_INDEX_PREFIX}${idOf(ids, line.factIndexOf)}`));
        } else if (line.type === 'namespace') {
          const name = String(line.row.name ?? '');
          if (db.prepare('SELECT 1 FROM namespaces WHERE name = ?').get(name)) {
            throw new MembankError('NAMESPACE_CONFLICT', `Namespace "${name}" already exists in ${dataDir}; import does not merge into it.`);
          }
          ids.set(name, insertNamespace(line.row, name));
          summary.namespaces++;
        } else if (line.type === 'memory') {
          insert('memories', line.row, { namespace_id: idOf(line.factIndex ? hiddenIds : ids, line.namespace), seq });
          if (!line.factIndex) summary.memories++;
        } else if (line.type === 'fact') {
          insert('facts', line.row, { namespace_id: idOf(ids, line.namespace) });
          summary.facts++;
        } else if (line.type === 'key') {
          // A key imported twice is the same key; another key with the same id is refused.
          const same = db.prepare('SELECT 1 FROM api_keys WHERE id = ? AND hash = ?').get(line.row.id, line.row.hash);
          if (!same) db.prepare(`INSERT INTO api_keys (id, hash, role, namespaces, created_at, revoked_at) VALUES (@id, @hash, @role, @namespaces, @created_at, @revoked_at)`).run(line.row);
        } else {
          throw new MembankError('VALIDATION_FAILED', `Line ${lineNo}: unknown line type ${JSON.stringify((line as { type?: unknown }).type)}.`);
        }
      }
    })();
    return summary;
  } finally {
    db.close();
    lock.release();
  }
}

/**
 * A consistent copy of a data directory into `dest` (which must not hold a database), while a service may be
 * running: index files first, then SQLite's online backup, so the copied database is at least as new as every
 * copied index (the service replays the difference at start, or rebuilds an index that does not fit).
 */
export async function backupDataDir(dataDir: string, dest: string): Promise<{ bytes: number; indexes: number }> {
  if (existsSync(join(dest, DB_FILE))) throw new MembankError('VALIDATION_FAILED', `${dest} already holds a membank database; back up into a new directory.`);
  const db = openReadOnly(dataDir);
  try {
    mkdirSync(join(dest, 'indexes'), { recursive: true });
    let indexes = 0;
    const indexDir = join(dataDir, 'indexes');
    for (const meta of existsSync(indexDir) ? readdirSync(indexDir).filter((f) => f.endsWith('.meta.json')) : []) {
      if (copyIndex(indexDir, join(dest, 'indexes'), meta)) indexes++;
    }
    await db.backup(join(dest, DB_FILE));
    return { bytes: statSync(join(dest, DB_FILE)).size, indexes };
  } finally {
    db.close();
  }
}

/** Copies one index's current file and its meta; false when a checkpoint replaced it meanwhile (it is rebuilt). */
function copyIndex(from: string, to: string, meta: string): boolean {
  try {
    // The meta as read once: copying the file again could pick up a newer checkpoint's meta naming another file.
    const text = readFileSync(join(from, meta), 'utf8');
    const file = String((JSON.parse(text) as { file?: unknown }).file ?? '');
    if (!file || file.includes('/')) return false;
    copyFileSync(join(from, file), join(to, file));
    writeFileSync(join(to, meta), text);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** Restores a backup into an empty data directory (or one without a database), holding its lock meanwhile. */
export function restoreDataDir(backup: string, dataDir: string): { indexes: number } {
  if (!existsSync(join(backup, DB_FILE))) throw new MembankError('VALIDATION_FAILED', `${backup} is not a membank backup (no ${DB_FILE}).`);
  const lock = lockDataDir(dataDir);
  try {
    if (existsSync(join(dataDir, DB_FILE))) throw new MembankError('VALIDATION_FAILED', `${dataDir} already holds a membank database; restore into an empty data directory.`);
    mkdirSync(join(dataDir, 'indexes'), { recursive: true });
    let indexes = 0;
    const from = join(backup, 'indexes');
    for (const meta of existsSync(from) ? readdirSync(from).filter((f) => f.endsWith('.meta.json')) : []) {
      if (copyIndex(from, join(dataDir, 'indexes'), meta)) indexes++;
    }
    // The database last, so a restore cut short leaves no database and can simply be run again.
    copyFileSync(join(backup, DB_FILE), join(dataDir, `${DB_FILE}.partial`));
    renameSync(join(dataDir, `${DB_FILE}.partial`), join(dataDir, DB_FILE));
    return { indexes };
  } finally {
    lock.release();
  }
}
