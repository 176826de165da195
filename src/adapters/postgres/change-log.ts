/** The change log in PostgreSQL: rows of `changes`, written by the memory store inside each write's transaction. */
import { asLabel } from '../../core/types.js';
import type { ChangeLog, ChangeOp, ChangeRecord } from '../../ports/change-log.js';
import type { PostgresDatabase } from './database.js';

/** Ops that take a memory away: a cache replaying the log removes their labels. */
const REMOVALS = ['deleted', 'expired', 'forgotten', 'erased'];

export function createPostgresChangeLog(db: PostgresDatabase): ChangeLog {
  return {
    async since(namespaceId, seq, limit) {
      const rows = await db.read(
        (sql) => sql<{ seq: number; at: number; op: ChangeOp; memory_id: string; label: number }[]>`
          SELECT seq, at, op, memory_id, label FROM changes WHERE namespace_id = ${namespaceId} AND seq > ${seq}
            AND label IS NOT NULL ORDER BY seq LIMIT ${limit}`,
      );
      return rows.map((r): ChangeRecord => ({ seq: r.seq, at: r.at, op: r.op, id: r.memory_id, label: asLabel(r.label) }));
    },
    async removedSince(namespaceId, seq) {
      const rows = await db.read(
        (sql) => sql<{ label: number }[]>`
          SELECT DISTINCT label FROM changes WHERE namespace_id = ${namespaceId} AND seq > ${seq} AND op = ANY(${REMOVALS}::text[])`,
      );
      return rows.map((r) => asLabel(r.label));
    },
    async horizon(namespaceId) {
      const [row] = await db.read((sql) => sql<{ trimmed: number }[]>`SELECT trimmed_seq AS trimmed FROM namespaces WHERE id = ${namespaceId}`);
      return row?.trimmed ?? 0;
    },
    async trim(before) {
      return db.transaction(async (tx) => {
        // What goes: each namespace's trimmed_seq first rises to the last number trimmed away.
        await tx`
          UPDATE namespaces n SET trimmed_seq = GREATEST(n.trimmed_seq, t.last)
          FROM (SELECT namespace_id, max(seq) AS last FROM changes WHERE at < ${before} GROUP BY namespace_id) t
          WHERE n.id = t.namespace_id`;
        const result = await tx`DELETE FROM changes WHERE at < ${before}`;
        return result.count;
      });
    },
  };
}
