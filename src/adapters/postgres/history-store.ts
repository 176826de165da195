/** The history of memories in PostgreSQL: rows of `memory_history`, written by the memory store in each change's transaction. */
import type { Metadata } from '../../core/types.js';
import type { HistoryEvent, HistoryOp, HistoryStore, RemovalPolicy } from '../../ports/history-store.js';
import type { PostgresDatabase } from './database.js';

interface Row {
  seq: number;
  at: number;
  op: HistoryOp;
  reason: RemovalPolicy | null;
  text: string | null;
  metadata: Metadata | null;
  similarity: number | null;
}

export function createPostgresHistoryStore(db: PostgresDatabase): HistoryStore {
  return {
    async events(namespaceId, memoryId, limit) {
      const rows = await db.read(
        (sql) => sql<Row[]>`
          SELECT seq, at, op, reason, text, metadata, similarity FROM memory_history
          WHERE namespace_id = ${namespaceId} AND memory_id = ${memoryId} ORDER BY id LIMIT ${limit}`,
      );
      return rows.map(
        (row): HistoryEvent => ({
          seq: row.seq,
          at: row.at,
          op: row.op,
          ...(row.op === 'updated' && { previous: { text: row.text, metadata: row.metadata ?? {} } }),
          ...(row.similarity !== null && { similarity: row.similarity }),
          ...(row.reason !== null && { policy: row.reason }),
        }),
      );
    },
  };
}
