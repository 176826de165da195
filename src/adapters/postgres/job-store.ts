/**
 * Re-embedding jobs in PostgreSQL, with the vectors they stage until the swap. A job belongs to the node that
 * runs it (`owner`), which beats its heartbeat while the job runs; a job whose heartbeat stops (its node
 * died) is marked failed by whichever node notices, so it never stays "running" for ever, and its namespace
 * can be re-embedded again. At most one job runs per namespace across all nodes (a partial unique index).
 */
import { MembankError } from '../../core/errors.js';
import type { JobRecord, LabeledVector } from '../../core/types.js';
import type { JobStore } from '../../ports/job-store.js';
import type { PostgresDatabase } from './database.js';
import { jsonText, type NamespaceRow, packVectors, toNamespace } from './rows.js';

type JobRow = {
  id: string; kind: 'reembed'; namespace_id: number; status: JobRecord['status']; done: number; total: number;
  params: JobRecord['params']; error: string | null; created_at: number; updated_at: number;
};

export interface PostgresJobStoreOptions {
  /** This node's name, stable across its restarts (so that a restarted node fails its own jobs at once). */
  node: string;
  /** How often this node beats the heartbeat of its running jobs and looks for dead nodes' jobs (default 5 s). */
  heartbeatMs?: number;
  /** A running job whose heartbeat is older than this is taken for dead (default 30 s). */
  staleMs?: number;
  onError?: (error: unknown) => void;
}

export type PostgresJobStore = JobStore & {
  /** Beats the heartbeat of this node's running jobs and fails the jobs of dead nodes; answers how many it failed. */
  sweep(): Promise<number>;
  close(): void;
};

export function createPostgresJobStore(db: PostgresDatabase, options: PostgresJobStoreOptions): PostgresJobStore {
  const heartbeatMs = options.heartbeatMs ?? 5_000;
  const staleMs = options.staleMs ?? 30_000;
  const { node } = options;

  const sweep = () =>
    db.transaction(async (tx) => {
      const now = Date.now();
      await tx`UPDATE jobs SET heartbeat_at = ${now} WHERE owner = ${node} AND status = 'running'`;
      const failed = await tx<{ id: string }[]>`
        UPDATE jobs SET status = 'failed', updated_at = ${now},
          error = 'interrupted: the node running it (' || coalesce(owner, 'unknown') || ') stopped before the job finished'
        WHERE status = 'running' AND coalesce(heartbeat_at, updated_at) < ${now - staleMs} RETURNING id`;
      if (failed.length > 0) await tx`DELETE FROM staged_vectors WHERE job_id = ANY(${failed.map((f) => f.id)}::text[])`;
      return failed.length;
    });
  const timer = setInterval(() => {
    sweep().catch((error: unknown) => options.onError?.(error));
  }, heartbeatMs);
  timer.unref();

  return {
    async create(job) {
      try {
        await db.transaction(
          (sql) => sql`
            INSERT INTO jobs (id, kind, namespace_id, status, done, total, params, error, created_at, updated_at, owner, heartbeat_at)
            VALUES (${job.id}, ${job.kind}, ${job.namespaceId}, ${job.status}, ${job.done}, ${job.total}, ${jsonText(job.params)}::text::jsonb,
              ${job.error}, ${job.createdAt}, ${job.updatedAt}, ${node}, ${Date.now()})`,
        );
      } catch (error) {
        if ((error as { code?: unknown }).code === '23505') {
          throw new MembankError('JOB_CONFLICT', 'The namespace is already being re-embedded (by another node).');
        }
        throw error;
      }
    },
    async update(id, fields) {
      await db.transaction(async (sql) => {
        // A job another node has marked failed (this one was taken for dead) stays failed.
        await sql`
          UPDATE jobs SET status = ${fields.status}, done = ${fields.done}, total = ${fields.total}, error = ${fields.error},
            updated_at = ${Date.now()}, heartbeat_at = ${Date.now()}
          WHERE id = ${id} AND NOT (status = 'failed' AND ${fields.status} = 'running')`;
        if (fields.status !== 'running') await sql`DELETE FROM staged_vectors WHERE job_id = ${id}`;
      });
    },
    async get(id) {
      const [row] = await db.read((sql) => sql<JobRow[]>`SELECT * FROM jobs WHERE id = ${id}`);
      return (
        row && {
          id: row.id,
          kind: row.kind,
          namespaceId: row.namespace_id,
          status: row.status,
          done: row.done,
          total: row.total,
          params: row.params,
          error: row.error,
          createdAt: row.created_at,
          updatedAt: row.updated_at,
        }
      );
    },
    async failInterrupted(reason) {
      // At start: this node's own jobs (left by its previous process), and any whose node stopped beating.
      return db.transaction(async (tx) => {
        const now = Date.now();
        const failed = await tx<{ id: string }[]>`
          UPDATE jobs SET status = 'failed', error = ${reason}, updated_at = ${now}
          WHERE status = 'running' AND (owner = ${node} OR owner IS NULL OR coalesce(heartbeat_at, updated_at) < ${now - staleMs})
          RETURNING id`;
        if (failed.length > 0) await tx`DELETE FROM staged_vectors WHERE job_id = ANY(${failed.map((f) => f.id)}::text[])`;
        return failed.length;
      });
    },
    async stage(jobId, vectors: LabeledVector[]) {
      if (vectors.length === 0) return;
      const { blob, offsets, lengths } = packVectors(vectors.map((v) => v.vector));
      const rows = vectors.map((v, i) => ({ label: v.label, off: offsets[i]! + 1, len: lengths[i]! }));
      await db.transaction(
        (sql) => sql`
          INSERT INTO staged_vectors (job_id, label, vector)
          SELECT ${jobId}, r.label, substring(${blob}::bytea FROM r.off FOR r.len)
          FROM jsonb_to_recordset(${jsonText(rows)}::text::jsonb) AS r(label bigint, off int, len int)
          ON CONFLICT (job_id, label) DO UPDATE SET vector = EXCLUDED.vector`,
      );
    },
    async swap(namespaceId, jobId, embedding) {
      return db.transaction(async (tx) => {
        // The namespace's lock first, as every writer takes it: no write slips between the check and the swap.
        await tx`SELECT id FROM namespaces WHERE id = ${namespaceId} FOR NO KEY UPDATE`;
        const [missing] = await tx<{ n: number }[]>`
          SELECT COUNT(*) AS n FROM memories m WHERE m.namespace_id = ${namespaceId}
            AND NOT EXISTS (SELECT 1 FROM staged_vectors s WHERE s.job_id = ${jobId} AND s.label = m.label)`;
        if (missing!.n > 0) throw new Error(`${missing!.n} memories have no re-embedded vector`);
        await tx`
          UPDATE memories m SET vector = s.vector FROM staged_vectors s
          WHERE s.job_id = ${jobId} AND s.label = m.label AND m.namespace_id = ${namespaceId}`;
        const [row] = await tx<NamespaceRow[]>`
          UPDATE namespaces SET embedder = ${embedding.embedder}, dimensions = ${embedding.dimensions},
            embedder_revision = ${embedding.revision}, generation = generation + 1, head_seq = head_seq + 1
          WHERE id = ${namespaceId} RETURNING *`;
        await tx`DELETE FROM staged_vectors WHERE job_id = ${jobId}`;
        return { seq: row!.head_seq, namespace: toNamespace(row!) };
      });
    },
    sweep,
    close() {
      clearInterval(timer);
    },
  };
}
