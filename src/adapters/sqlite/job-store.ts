/** Re-embedding jobs in SQLite, with the vectors they stage until the swap. */
import type Database from 'better-sqlite3';
import type { JobRecord, LabeledVector } from '../../core/types.js';
import type { JobStore } from '../../ports/job-store.js';
import { type NamespaceRow, toNamespace, vectorToBlob } from './rows.js';

type JobRow = {
  id: string; kind: 'reembed'; namespace_id: number; status: JobRecord['status']; done: number; total: number;
  params: string; error: string | null; created_at: number; updated_at: number;
};

export function createSqliteJobStore(db: Database.Database): JobStore {
  const sql = {
    insert: db.prepare(
      `INSERT INTO jobs (id, kind, namespace_id, status, done, total, params, error, created_at, updated_at)
       VALUES (@id, @kind, @namespaceId, @status, @done, @total, @params, @error, @createdAt, @updatedAt)`,
    ),
    update: db.prepare('UPDATE jobs SET status = ?, done = ?, total = ?, error = ?, updated_at = ? WHERE id = ?'),
    get: db.prepare('SELECT * FROM jobs WHERE id = ?'),
    fail: db.prepare(`UPDATE jobs SET status = 'failed', error = ?, updated_at = ? WHERE status = 'running' RETURNING id`).pluck(),
    dropStaged: db.prepare('DELETE FROM staged_vectors WHERE job_id = ?'),
    stage: db.prepare('INSERT OR REPLACE INTO staged_vectors (job_id, label, vector) VALUES (?, ?, ?)'),
    unstaged: db
      .prepare(
        `SELECT COUNT(*) FROM memories m WHERE m.namespace_id = ?
         AND NOT EXISTS (SELECT 1 FROM staged_vectors s WHERE s.job_id = ? AND s.label = m.label)`,
      )
      .pluck(),
    swapVectors: db.prepare(
      `UPDATE memories SET vector = (SELECT s.vector FROM staged_vectors s WHERE s.job_id = ? AND s.label = memories.label)
       WHERE namespace_id = ?`,
    ),
    swapNamespace: db.prepare(
      `UPDATE namespaces SET embedder = ?, dimensions = ?, embedder_revision = ?, generation = generation + 1, head_seq = head_seq + 1
       WHERE id = ? RETURNING *`,
    ),
  };

  const failInterrupted = db.transaction((reason: string): number => {
    const ids = sql.fail.all(reason, Date.now()) as string[];
    for (const id of ids) sql.dropStaged.run(id);
    return ids.length;
  });
  const stage = db.transaction((jobId: string, vectors: LabeledVector[]) => {
    for (const { label, vector } of vectors) sql.stage.run(jobId, label, vectorToBlob(vector));
  });
  const swap = db.transaction((namespaceId: number, jobId: string, embedding: { embedder: string; dimensions: number; revision: string }) => {
    const missing = sql.unstaged.get(namespaceId, jobId) as number;
    if (missing > 0) throw new Error(`${missing} memories have no re-embedded vector`);
    sql.swapVectors.run(jobId, namespaceId);
    const row = sql.swapNamespace.get(embedding.embedder, embedding.dimensions, embedding.revision, namespaceId) as NamespaceRow & { head_seq: number };
    sql.dropStaged.run(jobId);
    return { seq: row.head_seq, namespace: toNamespace(row) };
  });

  return {
    async create(job) {
      sql.insert.run({ ...job, params: JSON.stringify(job.params) });
    },
    async update(id, fields) {
      sql.update.run(fields.status, fields.done, fields.total, fields.error, Date.now(), id);
      if (fields.status !== 'running') sql.dropStaged.run(id);
    },
    async get(id) {
      const row = sql.get.get(id) as JobRow | undefined;
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
    async failInterrupted(reason) {
      return failInterrupted(reason);
    },
    async stage(jobId, vectors) {
      stage(jobId, vectors);
    },
    async swap(namespaceId, jobId, embedding) {
      return swap(namespaceId, jobId, embedding);
    },
  };
}
