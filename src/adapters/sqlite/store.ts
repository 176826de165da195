/**
 * The SQLite system of record (better-sqlite3, WAL). Every write is one transaction that also advances the
 * change sequence; a write is acknowledged only after its transaction commits.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { anyTermQuery } from '../../core/keywords.js';
import type { Scope } from '../../core/scope.js';
import { MembankError } from '../../core/errors.js';
import {
  asLabel,
  DEFAULT_FORGETTING,
  DEFAULT_SETTINGS,
  type NamespaceSettings,
  type JobRecord,
  type Label,
  type LabeledVector,
  type MemoryRecord,
  type MemoryWrite,
  type Metadata,
  type NamespaceRecord,
  type Space,
} from '../../core/types.js';
import type {
  ChangesSince,
  DeleteOutcome,
  ForgetPolicy,
  ForgetRun,
  KeywordHit,
  MemoryFields,
  MemoryPage,
  NewNamespace,
  Store,
  WriteOutcome,
} from '../../ports/store.js';
import { createSqliteFactStore } from './fact-store.js';
import { createSqliteKeyStore } from './key-store.js';
import { compileFilter } from './filter-sql.js';
import { migrate } from './migrate.js';

export interface SqliteStoreOptions {
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
  /** Told about repairs and conversions made at open (full-text index rebuilt, vacuum mode changed). */
  onNotice?: (message: string) => void;
  /** Called with the open connection: the fault-injection seam of the disk-fault tests (max_page_count, query_only). */
  onOpen?: (db: Database.Database) => void;
}

/** The full-text row of a memory, as migrations/004_full_text_search.sql's triggers write it. */
const FULL_TEXT_ROWS = `SELECT label, coalesce(text, ''),
  (SELECT coalesce(group_concat(value, ' '), '') FROM json_tree(memories.metadata) WHERE type = 'text' AND length(value) <= 64),
  'n' || namespace_id
  FROM memories`;

/** SQL for a scope over `memories` (aliased m): metadata filter and event-time window. */
function scopeSql(scope: Scope): { sql: string; params: (string | number)[] } {
  const parts: string[] = [];
  const params: (string | number)[] = [];
  if (scope.visibleAt !== undefined) {
    parts.push('(m.expires_at IS NULL OR m.expires_at > ?)');
    params.push(scope.visibleAt);
  }
  if (scope.filter) {
    const where = compileFilter(scope.filter);
    parts.push(where.sql);
    params.push(...where.params);
  }
  if (scope.after !== undefined) {
    parts.push('m.event_at >= ?');
    params.push(scope.after);
  }
  if (scope.before !== undefined) {
    parts.push('m.event_at < ?');
    params.push(scope.before);
  }
  return { sql: parts.length === 0 ? '1' : parts.join(' AND '), params };
}

const nsToken = (namespaceId: number): string => `"n${namespaceId}"`;

/** SQL for a forgetting policy over `memories` (aliased m); see ForgetPolicy. */
function forgetSql(policy: ForgetPolicy): { sql: string; params: (string | number)[] } {
  const reasons: string[] = [];
  const params: (string | number)[] = [];
  if (policy.expired) {
    reasons.push('(m.expires_at IS NOT NULL AND m.expires_at <= ?)');
    params.push(policy.now);
  }
  if (policy.retention) {
    // exp(−Δt / (S·τ)) < threshold  ⇔  Δt > −ln(threshold) · S · τ
    reasons.push('(coalesce(m.last_recalled_at, m.created_at) + ? * m.strength < ?)');
    params.push(-Math.log(policy.retention.threshold) * policy.retention.timescale * 1000, policy.now);
  }
  const parts = [reasons.length > 0 ? `(${reasons.join(' OR ')})` : '1'];
  if (policy.olderThan !== undefined) {
    parts.push('m.event_at < ?');
    params.push(policy.olderThan);
  }
  if (policy.filter) {
    const where = compileFilter(policy.filter);
    parts.push(where.sql);
    params.push(...where.params);
  }
  if (policy.protect) {
    const where = compileFilter(policy.protect);
    parts.push(`NOT COALESCE(${where.sql}, 0)`);
    params.push(...where.params);
  }
  return { sql: parts.join(' AND '), params };
}

interface NamespaceRow {
  id: number;
  name: string;
  space: Space;
  dimensions: number;
  embedder: string | null;
  embedder_revision: string | null;
  hnsw_m: number;
  hnsw_ef_construction: number;
  hnsw_ef_search: number;
  settings: string;
  created_at: number;
}

const BATCH = 5000;
/** Columns of a memory, in the order `fromRow` reads them; fields not asked for are read as empty. */
function memoryColumns(fields: MemoryFields): string {
  return [
    'label, id, event_at, created_at, updated_at, document_id, chunk_index',
    'importance, strength, recall_count, last_recalled_at, expires_at',
    fields.text ? 'text' : 'NULL',
    fields.metadata ? 'metadata' : `'{}'`,
    fields.vector ? 'vector' : 'NULL',
  ].join(', ');
}

const ALL = { text: true, metadata: true, vector: false };
/** A memory not yet expired at the time bound to the statement's parameter `@now` (or the last `?`). */
const VISIBLE = '(expires_at IS NULL OR expires_at > @now)';
const ALL_WITH_VECTOR = { text: true, metadata: true, vector: true };

type MemoryRow = [
  number, string, number, number, number, string | null, number | null,
  number | null, number, number, number | null, number | null,
  string | null, string, Buffer | null,
];

function fromRow(row: MemoryRow): MemoryRecord {
  const memory: MemoryRecord = {
    label: asLabel(row[0]),
    id: row[1],
    timestamp: row[2],
    createdAt: row[3],
    updatedAt: row[4],
    documentId: row[5],
    chunkIndex: row[6],
    importance: row[7],
    strength: row[8],
    recallCount: row[9],
    lastRecalledAt: row[10],
    expiresAt: row[11],
    text: row[12],
    metadata: row[13] === '{}' ? {} : (JSON.parse(row[13]) as Metadata),
  };
  if (row[14]) memory.vector = blobToVector(row[14]);
  return memory;
}

/**
 * The full-text index is derived from `memories` by triggers; should it ever disagree in size (a database
 * restored without it, a crash of an older build), it is rebuilt, like the vector indexes.
 */
function checkFullText(db: Database.Database, onNotice?: (message: string) => void): void {
  const indexed = db.prepare('SELECT COUNT(*) FROM memories_fts_docsize').pluck().get() as number;
  const stored = db.prepare('SELECT COUNT(*) FROM memories').pluck().get() as number;
  if (indexed === stored) return;
  db.transaction(() => {
    db.exec(`INSERT INTO memories_fts (memories_fts) VALUES ('delete-all')`);
    db.exec(`INSERT INTO memories_fts (rowid, text, tags, ns) ${FULL_TEXT_ROWS}`);
  })();
  onNotice?.(`full-text index rebuilt from the memories (it had ${indexed} entries for ${stored} memories)`);
}

export function vectorToBlob(vector: Float32Array): Buffer {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
}

export function blobToVector(blob: Buffer): Float32Array {
  // A Float32Array view needs 4-byte alignment; copy when the driver's buffer is not aligned.
  if (blob.byteOffset % 4 === 0) return new Float32Array(blob.buffer, blob.byteOffset, blob.byteLength / 4);
  return new Float32Array(new Uint8Array(blob).buffer);
}

function settingsOf(json: string): NamespaceSettings {
  const stored = JSON.parse(json) as Partial<NamespaceSettings>;
  return { ...DEFAULT_SETTINGS, ...stored, forgetting: { ...DEFAULT_FORGETTING, ...stored.forgetting } };
}

function toNamespace(row: NamespaceRow): NamespaceRecord {
  return {
    id: row.id,
    name: row.name,
    space: row.space,
    dimensions: row.dimensions,
    embedder: row.embedder,
    embedderRevision: row.embedder_revision,
    hnsw: { m: row.hnsw_m, efConstruction: row.hnsw_ef_construction, efSearch: row.hnsw_ef_search },
    settings: settingsOf(row.settings),
    createdAt: row.created_at,
  };
}

/**
 * Refuses a damaged database before anything reads or writes it: garbage in the header fails the first
 * statement (SQLITE_NOTADB), damaged b-tree pages fail `quick_check`. Serving from it could answer wrong data.
 */
function checkIntact(db: Database.Database, file: string): void {
  let problems: string[];
  try {
    db.pragma('journal_mode = WAL');
    problems = (db.pragma('quick_check(5)', { simple: false }) as { quick_check: string }[]).map((row) => row.quick_check);
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

export function createSqliteStore(options: SqliteStoreOptions): Store {
  mkdirSync(dirname(options.file), { recursive: true });
  const db = new Database(options.file);
  checkIntact(db, options.file);
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
  checkFullText(db, options.onNotice);
  options.onOpen?.(db);

  const sql = {
    insertNamespace: db.prepare(
      `INSERT INTO namespaces (name, space, dimensions, embedder, embedder_revision, hnsw_m, hnsw_ef_construction, hnsw_ef_search, settings, created_at)
       VALUES (@name, @space, @dimensions, @embedder, @embedderRevision, @m, @efConstruction, @efSearch, @settings, @createdAt) RETURNING *`,
    ),
    namespaceByName: db.prepare('SELECT * FROM namespaces WHERE name = ?'),
    namespaces: db.prepare('SELECT * FROM namespaces ORDER BY name'),
    deleteNamespace: db.prepare('DELETE FROM namespaces WHERE id = ?'),
    count: db.prepare('SELECT COUNT(*) AS n FROM memories WHERE namespace_id = ?').pluck(),
    countWithoutText: db.prepare('SELECT COUNT(*) AS n FROM memories WHERE namespace_id = ? AND text IS NULL').pluck(),
    nextSeq: db.prepare(`UPDATE counters SET value = value + 1 WHERE name = 'seq' RETURNING value`).pluck(),
    currentSeq: db.prepare(`SELECT value FROM counters WHERE name = 'seq'`).pluck(),
    // Replacing a memory replaces it whole: its strength and recalls start again.
    upsert: db.prepare(
      `INSERT INTO memories (namespace_id, id, text, metadata, vector, event_at, created_at, updated_at, document_id, chunk_index,
         importance, strength, expires_at, seq)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (namespace_id, id) DO UPDATE SET
         text = excluded.text, metadata = excluded.metadata, vector = excluded.vector, event_at = excluded.event_at,
         updated_at = excluded.updated_at, document_id = excluded.document_id, chunk_index = excluded.chunk_index,
         importance = excluded.importance, strength = excluded.strength, recall_count = 0, last_recalled_at = NULL,
         expires_at = excluded.expires_at, seq = excluded.seq
       RETURNING label`,
    ).pluck(),
    deleteById: db.prepare('DELETE FROM memories WHERE namespace_id = ? AND id = ? RETURNING label').pluck(),
    documentChunks: db.prepare('SELECT label, id FROM memories WHERE namespace_id = ? AND document_id = ?'),
    deleteByLabel: db.prepare('DELETE FROM memories WHERE label = ?'),
    recordDeletion: db.prepare('INSERT INTO deletions (seq, namespace_id, label) VALUES (?, ?, ?)'),
    timelineBefore: db
      .prepare(
        `SELECT ${memoryColumns(ALL_WITH_VECTOR)} FROM memories WHERE namespace_id = ? AND (event_at, label) < (?, ?)
         AND document_id IS NULL ORDER BY event_at DESC, label DESC LIMIT ?`,
      )
      .raw(),
    timelineAfter: db
      .prepare(
        `SELECT ${memoryColumns(ALL_WITH_VECTOR)} FROM memories WHERE namespace_id = ? AND (event_at, label) > (?, ?)
         AND document_id IS NULL ORDER BY event_at, label LIMIT ?`,
      )
      .raw(),
    documentRange: db
      .prepare(
        `SELECT ${memoryColumns(ALL_WITH_VECTOR)} FROM memories WHERE namespace_id = ? AND document_id = ?
         AND chunk_index BETWEEN ? AND ? ORDER BY chunk_index`,
      )
      .raw(),
    // Expired memories are invisible to reads from the moment they expire, before any pruning removes them.
    memoryById: db.prepare(`SELECT ${memoryColumns(ALL)} FROM memories WHERE namespace_id = ? AND id = ? AND ${VISIBLE}`).raw(),
    memoryByIdWithVector: db
      .prepare(`SELECT ${memoryColumns(ALL_WITH_VECTOR)} FROM memories WHERE namespace_id = ? AND id = ? AND ${VISIBLE}`)
      .raw(),
    page: db
      .prepare(`SELECT ${memoryColumns(ALL)} FROM memories WHERE namespace_id = ? AND label > ? AND ${VISIBLE} ORDER BY label LIMIT ?`)
      .raw(),
    pageWithVector: db
      .prepare(`SELECT ${memoryColumns(ALL_WITH_VECTOR)} FROM memories WHERE namespace_id = ? AND label > ? AND ${VISIBLE} ORDER BY label LIMIT ?`)
      .raw(),
    expiringLabels: db.prepare('SELECT label, expires_at FROM memories WHERE namespace_id = ? AND expires_at IS NOT NULL').raw(),
    reinforce: db.prepare(
      'UPDATE memories SET strength = strength + ?, recall_count = recall_count + ?, last_recalled_at = max(coalesce(last_recalled_at, 0), ?) WHERE label = ?',
    ),
    maxLabel: db.prepare('SELECT max(label) FROM memories WHERE namespace_id = ?').pluck(),
    insertRun: db.prepare(
      'INSERT INTO forget_runs (namespace_id, at, trigger, expired, forgotten, duration_ms) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    runs: db.prepare('SELECT at, trigger, expired, forgotten, duration_ms FROM forget_runs WHERE namespace_id = ? ORDER BY id DESC LIMIT ?'),
    updateSettings: db.prepare('UPDATE namespaces SET settings = ? WHERE id = ? RETURNING *'),
    // `+namespace_id` keeps the planner on the primary key: without it, SQLite scans the namespace's index.
    vectorsByLabels: db.prepare(
      `SELECT label, vector FROM memories WHERE +namespace_id = ? AND label IN (SELECT value FROM json_each(?))`,
    ),
    vectorsAfter: db.prepare(
      'SELECT label, vector FROM memories WHERE namespace_id = ? AND label > ? ORDER BY label LIMIT ?',
    ),
    changedAfter: db.prepare(
      'SELECT label, vector FROM memories WHERE namespace_id = ? AND seq > ? AND label > ? ORDER BY label LIMIT ?',
    ),
    removedAfter: db.prepare('SELECT DISTINCT label FROM deletions WHERE namespace_id = ? AND seq > ?').pluck(),
    trim: db.prepare('DELETE FROM deletions WHERE namespace_id = ? AND seq <= ?'),
    textsSince: db.prepare(
      'SELECT label, text FROM memories WHERE namespace_id = ? AND seq > ? AND label > ? ORDER BY label LIMIT ?',
    ),
    insertJob: db.prepare(
      `INSERT INTO jobs (id, kind, namespace_id, status, done, total, params, error, created_at, updated_at)
       VALUES (@id, @kind, @namespaceId, @status, @done, @total, @params, @error, @createdAt, @updatedAt)`,
    ),
    updateJob: db.prepare('UPDATE jobs SET status = ?, done = ?, total = ?, error = ?, updated_at = ? WHERE id = ?'),
    job: db.prepare('SELECT * FROM jobs WHERE id = ?'),
    failJobs: db.prepare(`UPDATE jobs SET status = 'failed', error = ?, updated_at = ? WHERE status = 'running' RETURNING id`).pluck(),
    dropStaged: db.prepare('DELETE FROM staged_vectors WHERE job_id = ?'),
    stage: db.prepare('INSERT OR REPLACE INTO staged_vectors (job_id, label, vector) VALUES (?, ?, ?)'),
    unstaged: db.prepare(
      `SELECT COUNT(*) FROM memories m WHERE m.namespace_id = ?
       AND NOT EXISTS (SELECT 1 FROM staged_vectors s WHERE s.job_id = ? AND s.label = m.label)`,
    ).pluck(),
    swapVectors: db.prepare(
      `UPDATE memories SET seq = ?, vector = (SELECT s.vector FROM staged_vectors s WHERE s.job_id = ? AND s.label = memories.label)
       WHERE namespace_id = ?`,
    ),
    swapNamespace: db.prepare('UPDATE namespaces SET embedder = ?, dimensions = ?, embedder_revision = ? WHERE id = ? RETURNING *'),
  };

  const nextSeq = (): number => sql.nextSeq.get() as number;

  // Query results are read on the hot path: one statement per (fields, count), in raw mode, reading only
  // the columns asked for. Cached, and bounded.
  const byLabelsCache = new Map<string, Database.Statement>();
  const byLabels = (fields: MemoryFields, count: number): Database.Statement => {
    const key = `${Number(fields.text)}${Number(fields.metadata)}${Number(fields.vector)}:${count}`;
    let statement = byLabelsCache.get(key);
    if (!statement) {
      if (byLabelsCache.size >= 256) byLabelsCache.clear();
      statement = db
        .prepare(`SELECT ${memoryColumns(fields)} FROM memories WHERE +namespace_id = ? AND label IN (${'?, '.repeat(count - 1)}?)`)
        .raw();
      byLabelsCache.set(key, statement);
    }
    return statement;
  };
  const removeLabels = (namespaceId: number, labels: number[], seq: number): void => {
    for (const label of labels) {
      sql.deleteByLabel.run(label);
      sql.recordDeletion.run(seq, namespaceId, label);
    }
  };

  const write = db.transaction(
    (namespaceId: number, memories: MemoryWrite[], replaceDocument: string | undefined, now: number): WriteOutcome => {
      const seq = nextSeq();
      const removed: Label[] = [];
      if (replaceDocument !== undefined) {
        const keep = new Set(memories.map((m) => m.id));
        const stale = (sql.documentChunks.all(namespaceId, replaceDocument) as { label: number; id: string }[])
          .filter((row) => !keep.has(row.id))
          .map((row) => row.label);
        removeLabels(namespaceId, stale, seq);
        removed.push(...stale.map(asLabel));
      }
      const labels = memories.map((m) =>
        asLabel(
          sql.upsert.get(
            namespaceId,
            m.id,
            m.text,
            JSON.stringify(m.metadata),
            vectorToBlob(m.vector),
            m.timestamp,
            now,
            now,
            m.documentId,
            m.chunkIndex,
            m.importance,
            m.strength,
            m.expiresAt,
            seq,
          ) as number,
        ),
      );
      return { seq, labels, removed };
    },
  );

  const deleteMemory = db.transaction((namespaceId: number, id: string): DeleteOutcome | undefined => {
    const label = sql.deleteById.get(namespaceId, id) as number | undefined;
    if (label === undefined) return undefined;
    const seq = nextSeq();
    sql.recordDeletion.run(seq, namespaceId, label);
    return { seq, removed: [asLabel(label)] };
  });

  const deleteLabels = db.transaction((namespaceId: number, labels: Label[]): DeleteOutcome | undefined => {
    if (labels.length === 0) return undefined;
    const seq = nextSeq();
    removeLabels(namespaceId, labels, seq);
    return { seq, removed: labels };
  });

  const reinforce = db.transaction((recalls: { label: Label; recalls: number; at: number }[]) => {
    for (const r of recalls) sql.reinforce.run(r.recalls, r.recalls, r.at, r.label);
  });

  const deleteDocument = db.transaction((namespaceId: number, documentId: string): DeleteOutcome | undefined => {
    const labels = (sql.documentChunks.all(namespaceId, documentId) as { label: number }[]).map((r) => r.label);
    if (labels.length === 0) return undefined;
    const seq = nextSeq();
    removeLabels(namespaceId, labels, seq);
    return { seq, removed: labels.map(asLabel) };
  });

  async function* batches(
    fetch: (after: number) => { label: number; vector: Buffer }[],
  ): AsyncIterable<LabeledVector[]> {
    let after = 0;
    for (;;) {
      const rows = fetch(after);
      if (rows.length === 0) return;
      after = rows[rows.length - 1]!.label;
      yield rows.map((row) => ({ label: asLabel(row.label), vector: blobToVector(row.vector) }));
      if (rows.length < BATCH) return;
    }
  }

  type VectorRow = { label: number; vector: Buffer };
  type JobRow = {
    id: string; kind: 'reembed'; namespace_id: number; status: JobRecord['status']; done: number; total: number;
    params: string; error: string | null; created_at: number; updated_at: number;
  };

  const failInterrupted = db.transaction((reason: string): number => {
    const ids = sql.failJobs.all(reason, Date.now()) as string[];
    for (const id of ids) sql.dropStaged.run(id);
    return ids.length;
  });

  const stage = db.transaction((jobId: string, vectors: LabeledVector[]) => {
    for (const { label, vector } of vectors) sql.stage.run(jobId, label, vectorToBlob(vector));
  });

  const swap = db.transaction(
    (namespaceId: number, jobId: string, embedding: { embedder: string; dimensions: number; revision: string }) => {
      const missing = sql.unstaged.get(namespaceId, jobId) as number;
      if (missing > 0) throw new Error(`${missing} memories have no re-embedded vector`);
      const seq = nextSeq();
      sql.swapVectors.run(seq, jobId, namespaceId);
      const row = sql.swapNamespace.get(embedding.embedder, embedding.dimensions, embedding.revision, namespaceId) as NamespaceRow;
      sql.dropStaged.run(jobId);
      return { seq, namespace: toNamespace(row) };
    },
  );

  return {
    facts: createSqliteFactStore(db),
    keys: createSqliteKeyStore(db),
    async createNamespace(input: NewNamespace) {
      const row = sql.insertNamespace.get({
        name: input.name,
        space: input.space,
        dimensions: input.dimensions,
        embedder: input.embedder,
        embedderRevision: input.embedderRevision,
        m: input.hnsw.m,
        efConstruction: input.hnsw.efConstruction,
        efSearch: input.hnsw.efSearch,
        settings: JSON.stringify(input.settings),
        createdAt: Date.now(),
      }) as NamespaceRow;
      return toNamespace(row);
    },
    async getNamespace(name) {
      const row = sql.namespaceByName.get(name) as NamespaceRow | undefined;
      return row && toNamespace(row);
    },
    async listNamespaces() {
      return (sql.namespaces.all() as NamespaceRow[]).map(toNamespace);
    },
    async deleteNamespace(id) {
      return sql.deleteNamespace.run(id).changes > 0;
    },
    async countMemories(namespaceId) {
      return sql.count.get(namespaceId) as number;
    },
    async countWithoutText(namespaceId) {
      return sql.countWithoutText.get(namespaceId) as number;
    },
    async writeMemories(namespaceId, memories, replaceDocument, now = Date.now()) {
      return write(namespaceId, memories, replaceDocument, now);
    },
    async deleteMemory(namespaceId, id) {
      return deleteMemory(namespaceId, id);
    },
    async deleteDocument(namespaceId, documentId) {
      return deleteDocument(namespaceId, documentId);
    },
    async getMemory(namespaceId, id, withVector, now) {
      const row = (withVector ? sql.memoryByIdWithVector : sql.memoryById).get(namespaceId, id, { now }) as MemoryRow | undefined;
      return row && fromRow(row);
    },
    async listMemories(namespaceId, after, limit, withVector, now): Promise<MemoryPage> {
      const rows = (withVector ? sql.pageWithVector : sql.page).all(namespaceId, after ?? 0, { now }, limit + 1) as MemoryRow[];
      const more = rows.length > limit;
      const memories = rows.slice(0, limit).map(fromRow);
      return { memories, next: more ? memories[memories.length - 1]!.label : null };
    },
    async memoriesByLabels(namespaceId, labels, fields) {
      if (labels.length === 0) return [];
      return (byLabels(fields, labels.length).all(namespaceId, ...labels) as MemoryRow[]).map(fromRow);
    },
    async matchingLabels(namespaceId, scope, limit) {
      const where = scopeSql(scope);
      const rows = db
        .prepare(`SELECT label FROM memories m WHERE namespace_id = ? AND ${where.sql} ORDER BY label LIMIT ?`)
        .pluck()
        .all(namespaceId, ...where.params, limit) as number[];
      return rows.map(asLabel);
    },
    async keywordSearch(namespaceIds, terms, limit, scope): Promise<KeywordHit[]> {
      if (terms.length === 0 || namespaceIds.length === 0) return [];
      const match = `(${anyTermQuery(terms, ['text', 'tags'])}) AND {ns} : (${namespaceIds.map(nsToken).join(' OR ')})`;
      const where = scopeSql(scope);
      // Only the text column scores; tags and namespace tokens weigh 0. The join reads each match's row by its
      // primary key, for the scope.
      const rows = db
        .prepare(
          `SELECT f.rowid, m.namespace_id, bm25(memories_fts, 1.0, 0.0, 0.0) AS bm25_rank
           FROM memories_fts f JOIN memories m ON m.label = f.rowid
           WHERE memories_fts MATCH ? AND ${where.sql} ORDER BY bm25_rank LIMIT ?`,
        )
        .raw()
        .all(match, ...where.params, limit) as [number, number, number][];
      // FTS5's bm25() is negative, lower is better.
      return rows.map(([label, namespaceId, rank]) => ({ label: asLabel(label), namespaceId, score: -rank }));
    },
    async taggedTerms(namespaceIds, terms) {
      if (namespaceIds.length === 0) return [];
      const namespaces = namespaceIds.map(nsToken).join(' OR ');
      const tagged = db.prepare('SELECT 1 FROM memories_fts WHERE memories_fts MATCH ? LIMIT 1').pluck();
      return terms.filter((term) => tagged.get(`(${anyTermQuery([term], ['tags'])}) AND {ns} : (${namespaces})`) !== undefined);
    },
    async adjacentMemories(namespaceId, memory, before, after) {
      if (memory.documentId !== null && memory.chunkIndex !== null) {
        const rows = (
          sql.documentRange.all(namespaceId, memory.documentId, memory.chunkIndex - before, memory.chunkIndex + after) as MemoryRow[]
        ).map(fromRow);
        return {
          before: rows.filter((m) => m.chunkIndex! < memory.chunkIndex!),
          after: rows.filter((m) => m.chunkIndex! > memory.chunkIndex!),
        };
      }
      const earlier = before === 0 ? [] : (sql.timelineBefore.all(namespaceId, memory.timestamp, memory.label, before) as MemoryRow[]);
      const later = after === 0 ? [] : (sql.timelineAfter.all(namespaceId, memory.timestamp, memory.label, after) as MemoryRow[]);
      return { before: earlier.map(fromRow).reverse(), after: later.map(fromRow) };
    },
    async vectorsByLabels(namespaceId, labels) {
      if (labels.length === 0) return [];
      const rows = sql.vectorsByLabels.all(namespaceId, JSON.stringify(labels)) as VectorRow[];
      return rows.map((row) => ({ label: asLabel(row.label), vector: blobToVector(row.vector) }));
    },
    allVectors(namespaceId) {
      return batches((after) => sql.vectorsAfter.all(namespaceId, after, BATCH) as VectorRow[]);
    },
    async currentSeq() {
      return sql.currentSeq.get() as number;
    },
    async changesSince(namespaceId, seq): Promise<ChangesSince> {
      const removed = (sql.removedAfter.all(namespaceId, seq) as number[]).map(asLabel);
      const upserted = batches((after) => sql.changedAfter.all(namespaceId, seq, after, BATCH) as VectorRow[]);
      return { upserted, removed };
    },
    async trimChanges(namespaceId, seq) {
      sql.trim.run(namespaceId, seq);
    },
    async textsSince(namespaceId, seq, afterLabel, limit) {
      const rows = sql.textsSince.all(namespaceId, seq, afterLabel, limit) as { label: number; text: string | null }[];
      return rows.map((row) => ({ label: asLabel(row.label), text: row.text }));
    },
    async createJob(job) {
      sql.insertJob.run({ ...job, params: JSON.stringify(job.params) });
    },
    async updateJob(id, fields) {
      sql.updateJob.run(fields.status, fields.done, fields.total, fields.error, Date.now(), id);
      if (fields.status !== 'running') sql.dropStaged.run(id);
    },
    async getJob(id) {
      const row = sql.job.get(id) as JobRow | undefined;
      return (
        row && {
          id: row.id,
          kind: row.kind,
          namespaceId: row.namespace_id,
          status: row.status,
          done: row.done,
          total: row.total,
          params: JSON.parse(row.params) as JobRecord['params'],
          error: row.error,
          createdAt: row.created_at,
          updatedAt: row.updated_at,
        }
      );
    },
    async failInterruptedJobs(reason) {
      return failInterrupted(reason);
    },
    async stageVectors(jobId, vectors) {
      stage(jobId, vectors);
    },
    async swapEmbedding(namespaceId, jobId, embedding) {
      return swap(namespaceId, jobId, embedding);
    },
    async expiringLabels(namespaceId) {
      return (sql.expiringLabels.all(namespaceId) as [number, number][]).map(([label, expiresAt]) => ({ label: asLabel(label), expiresAt }));
    },
    async reinforce(recalls) {
      reinforce(recalls);
    },
    async forgetCandidates(namespaceId, policy, afterLabel, window) {
      const where = forgetSql(policy);
      const until = afterLabel + window;
      const rows = db
        .prepare(
          `SELECT label, id, (expires_at IS NOT NULL AND expires_at <= ?) FROM memories m
           WHERE label > ? AND label <= ? AND namespace_id = ? AND ${where.sql} ORDER BY label`,
        )
        .raw()
        .all(policy.now, afterLabel, until, namespaceId, ...where.params) as [number, string, number][];
      const last = (sql.maxLabel.get(namespaceId) as number | null) ?? 0;
      return {
        candidates: rows.map(([label, id, expired]) => ({ label: asLabel(label), id, expired: expired === 1 })),
        next: until < last ? until : null,
      };
    },
    async deleteLabels(namespaceId, labels) {
      return deleteLabels(namespaceId, labels);
    },
    async eraseLabels(namespaceId, filter) {
      const where = compileFilter(filter);
      const rows = db
        .prepare(
          `SELECT label FROM memories m WHERE namespace_id = ? AND ${where.sql}
           UNION
           SELECT label FROM memories WHERE namespace_id = ? AND document_id IN
             (SELECT document_id FROM memories m WHERE namespace_id = ? AND document_id IS NOT NULL AND ${where.sql})`,
        )
        .pluck()
        .all(namespaceId, ...where.params, namespaceId, namespaceId, ...where.params) as number[];
      return rows.map(asLabel);
    },
    async vacuumStep(pages) {
      db.pragma(`incremental_vacuum(${Math.max(1, Math.floor(pages))})`);
      return db.pragma('freelist_count', { simple: true }) as number;
    },
    async truncateLog() {
      db.pragma('wal_checkpoint(TRUNCATE)');
    },
    async recordForgetRun(namespaceId, run) {
      sql.insertRun.run(namespaceId, run.at, run.trigger, run.expired, run.forgotten, run.durationMs);
    },
    async forgetRuns(namespaceId, limit) {
      const rows = sql.runs.all(namespaceId, limit) as { at: number; trigger: ForgetRun['trigger']; expired: number; forgotten: number; duration_ms: number }[];
      return rows.map((r) => ({ at: r.at, trigger: r.trigger, expired: r.expired, forgotten: r.forgotten, durationMs: r.duration_ms }));
    },
    async updateSettings(namespaceId, settings) {
      return toNamespace(sql.updateSettings.get(JSON.stringify(settings), namespaceId) as NamespaceRow);
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
