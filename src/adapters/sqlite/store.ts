/**
 * The SQLite system of record (better-sqlite3, WAL). Every write is one transaction that also advances the
 * change sequence; a write is acknowledged only after its transaction commits.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { MembankError } from '../../core/errors.js';
import type { FilterNode } from '../../core/filter.js';
import {
  asLabel,
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
import type { ChangesSince, DeleteOutcome, MemoryFields, MemoryPage, NewNamespace, Store, WriteOutcome } from '../../ports/store.js';
import { createSqliteFactStore } from './fact-store.js';
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
  /** Called with the open connection: the fault-injection seam of the disk-fault tests (max_page_count, query_only). */
  onOpen?: (db: Database.Database) => void;
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
    fields.text ? 'text' : 'NULL',
    fields.metadata ? 'metadata' : `'{}'`,
    fields.vector ? 'vector' : 'NULL',
  ].join(', ');
}

const ALL = { text: true, metadata: true, vector: false };
const ALL_WITH_VECTOR = { text: true, metadata: true, vector: true };

type MemoryRow = [number, string, number, number, number, string | null, number | null, string | null, string, Buffer | null];

function fromRow(row: MemoryRow): MemoryRecord {
  const memory: MemoryRecord = {
    label: asLabel(row[0]),
    id: row[1],
    timestamp: row[2],
    createdAt: row[3],
    updatedAt: row[4],
    documentId: row[5],
    chunkIndex: row[6],
    text: row[7],
    metadata: row[8] === '{}' ? {} : (JSON.parse(row[8]) as Metadata),
  };
  if (row[9]) memory.vector = blobToVector(row[9]);
  return memory;
}

export function vectorToBlob(vector: Float32Array): Buffer {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
}

export function blobToVector(blob: Buffer): Float32Array {
  // A Float32Array view needs 4-byte alignment; copy when the driver's buffer is not aligned.
  if (blob.byteOffset % 4 === 0) return new Float32Array(blob.buffer, blob.byteOffset, blob.byteLength / 4);
  return new Float32Array(new Uint8Array(blob).buffer);
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
    settings: { ...DEFAULT_SETTINGS, ...(JSON.parse(row.settings) as Partial<NamespaceSettings>) },
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
  db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // Query results are random row reads: map the file and keep a large page cache, so that a read is a memory
  // access rather than a system call. (Virtual address space, not resident memory.)
  db.pragma(`mmap_size = ${options.mmapBytes ?? 4 * 1024 ** 3}`);
  db.pragma('cache_size = -65536');
  const applied = migrate(db);
  options.onMigrated?.(applied);
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
    upsert: db.prepare(
      `INSERT INTO memories (namespace_id, id, text, metadata, vector, event_at, created_at, updated_at, document_id, chunk_index, seq)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (namespace_id, id) DO UPDATE SET
         text = excluded.text, metadata = excluded.metadata, vector = excluded.vector, event_at = excluded.event_at,
         updated_at = excluded.updated_at, document_id = excluded.document_id, chunk_index = excluded.chunk_index,
         seq = excluded.seq
       RETURNING label`,
    ).pluck(),
    deleteById: db.prepare('DELETE FROM memories WHERE namespace_id = ? AND id = ? RETURNING label').pluck(),
    documentChunks: db.prepare('SELECT label, id FROM memories WHERE namespace_id = ? AND document_id = ?'),
    deleteByLabel: db.prepare('DELETE FROM memories WHERE label = ?'),
    recordDeletion: db.prepare('INSERT INTO deletions (seq, namespace_id, label) VALUES (?, ?, ?)'),
    memoryById: db.prepare(`SELECT ${memoryColumns(ALL)} FROM memories WHERE namespace_id = ? AND id = ?`).raw(),
    memoryByIdWithVector: db
      .prepare(`SELECT ${memoryColumns(ALL_WITH_VECTOR)} FROM memories WHERE namespace_id = ? AND id = ?`)
      .raw(),
    page: db
      .prepare(`SELECT ${memoryColumns(ALL)} FROM memories WHERE namespace_id = ? AND label > ? ORDER BY label LIMIT ?`)
      .raw(),
    pageWithVector: db
      .prepare(`SELECT ${memoryColumns(ALL_WITH_VECTOR)} FROM memories WHERE namespace_id = ? AND label > ? ORDER BY label LIMIT ?`)
      .raw(),
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
    (namespaceId: number, memories: MemoryWrite[], replaceDocument: string | undefined): WriteOutcome => {
      const seq = nextSeq();
      const now = Date.now();
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
    async writeMemories(namespaceId, memories, replaceDocument) {
      return write(namespaceId, memories, replaceDocument);
    },
    async deleteMemory(namespaceId, id) {
      return deleteMemory(namespaceId, id);
    },
    async deleteDocument(namespaceId, documentId) {
      return deleteDocument(namespaceId, documentId);
    },
    async getMemory(namespaceId, id, withVector) {
      const row = (withVector ? sql.memoryByIdWithVector : sql.memoryById).get(namespaceId, id) as MemoryRow | undefined;
      return row && fromRow(row);
    },
    async listMemories(namespaceId, after, limit, withVector): Promise<MemoryPage> {
      const rows = (withVector ? sql.pageWithVector : sql.page).all(namespaceId, after ?? 0, limit + 1) as MemoryRow[];
      const more = rows.length > limit;
      const memories = rows.slice(0, limit).map(fromRow);
      return { memories, next: more ? memories[memories.length - 1]!.label : null };
    },
    async memoriesByLabels(namespaceId, labels, fields) {
      if (labels.length === 0) return [];
      return (byLabels(fields, labels.length).all(namespaceId, ...labels) as MemoryRow[]).map(fromRow);
    },
    async matchingLabels(namespaceId, filter: FilterNode, limit) {
      const where = compileFilter(filter);
      const rows = db
        .prepare(`SELECT label FROM memories WHERE namespace_id = ? AND ${where.sql} ORDER BY label LIMIT ?`)
        .pluck()
        .all(namespaceId, ...where.params, limit) as number[];
      return rows.map(asLabel);
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
    async close() {
      if (db.open) db.close();
    },
  };
}
