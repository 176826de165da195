/** The change log in SQLite: rows of `changes`, written by the memory store inside each write's transaction. */
import type Database from 'better-sqlite3';
import { asLabel } from '../../core/types.js';
import type { ChangeLog, ChangeOp, ChangeRecord } from '../../ports/change-log.js';

/** Ops that take a memory away: a cache replaying the log removes their labels. */
const REMOVALS = `('deleted', 'expired', 'forgotten', 'erased')`;

export function createSqliteChangeLog(db: Database.Database): ChangeLog {
  const sql = {
    since: db.prepare('SELECT seq, at, op, memory_id, label FROM changes WHERE namespace_id = ? AND seq > ? ORDER BY seq LIMIT ?').raw(),
    removedSince: db.prepare(`SELECT DISTINCT label FROM changes WHERE namespace_id = ? AND seq > ? AND op IN ${REMOVALS}`).pluck(),
    horizon: db.prepare('SELECT trimmed_seq FROM namespaces WHERE id = ?').pluck(),
    // What goes: each namespace's trimmed_seq first rises to the last number trimmed away.
    raise: db.prepare(
      `UPDATE namespaces SET trimmed_seq = max(trimmed_seq, (SELECT max(seq) FROM changes c WHERE c.namespace_id = namespaces.id AND c.at < ?))
       WHERE id IN (SELECT DISTINCT namespace_id FROM changes WHERE at < ?)`,
    ),
    trim: db.prepare('DELETE FROM changes WHERE at < ?'),
  };
  const trim = db.transaction((before: number): number => {
    sql.raise.run(before, before);
    return sql.trim.run(before).changes;
  });
  return {
    async since(namespaceId, seq, limit) {
      const rows = sql.since.all(namespaceId, seq, limit) as [number, number, ChangeOp, string, number][];
      return rows.map(([s, at, op, id, label]): ChangeRecord => ({ seq: s, at, op, id, label: asLabel(label) }));
    },
    async removedSince(namespaceId, seq) {
      return (sql.removedSince.all(namespaceId, seq) as number[]).map(asLabel);
    },
    async horizon(namespaceId) {
      return (sql.horizon.get(namespaceId) as number | undefined) ?? 0;
    },
    async trim(before) {
      return trim(before);
    },
  };
}
