/** The history of memories in SQLite: rows of `memory_history`, written by the memory store in each change's transaction. */
import type Database from 'better-sqlite3';
import type { Metadata } from '../../core/types.js';
import type { HistoryEvent, HistoryOp, HistoryStore, RemovalPolicy } from '../../ports/history-store.js';

type Row = [number, number, HistoryOp, RemovalPolicy | null, string | null, string | null, number | null];

export function createSqliteHistoryStore(db: Database.Database): HistoryStore {
  const events = db
    .prepare('SELECT seq, at, op, reason, text, metadata, similarity FROM memory_history WHERE namespace_id = ? AND memory_id = ? ORDER BY id LIMIT ?')
    .raw();
  return {
    async events(namespaceId, memoryId, limit) {
      return (events.all(namespaceId, memoryId, limit) as Row[]).map(([seq, at, op, reason, text, metadata, similarity]): HistoryEvent => ({
        seq,
        at,
        op,
        ...(op === 'updated' && { previous: { text, metadata: JSON.parse(metadata ?? '{}') as Metadata } }),
        ...(similarity !== null && { similarity }),
        ...(reason !== null && { policy: reason }),
      }));
    },
  };
}
