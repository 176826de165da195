/** Facts in SQLite: each write is one transaction (dedupe, supersession, insert); reads use the key indexes. */
import type Database from 'better-sqlite3';
import { normalizeKey } from '../../core/facts.js';
import type { FactRecord, Metadata } from '../../core/types.js';
import type { FactQuery, FactStore, FactWrite, FactWriteOutcome } from '../../ports/fact-store.js';

interface FactRow {
  id: string;
  subject: string;
  predicate: string;
  object: string;
  confidence: number | null;
  source: string | null;
  valid_from: number | null;
  valid_to: number | null;
  created_at: number;
  invalidated_at: number | null;
  superseded_by: string | null;
  metadata: string;
  sightings: number;
  last_seen_at: number;
}

const toFact = (row: FactRow): FactRecord => ({
  id: row.id,
  subject: row.subject,
  predicate: row.predicate,
  object: row.object,
  confidence: row.confidence,
  source: row.source,
  validFrom: row.valid_from,
  validTo: row.valid_to,
  createdAt: row.created_at,
  invalidatedAt: row.invalidated_at,
  supersededBy: row.superseded_by,
  metadata: JSON.parse(row.metadata) as Metadata,
  sightings: row.sightings,
  lastSeenAt: row.last_seen_at,
});

export function createSqliteFactStore(db: Database.Database): FactStore {
  const sql = {
    active: db.prepare(
      `SELECT id FROM facts WHERE namespace_id = ? AND subject_key = ? AND predicate_key = ? AND object_key = ?
       AND invalidated_at IS NULL`,
    ).pluck(),
    sighting: db.prepare('UPDATE facts SET sightings = sightings + 1, last_seen_at = ? WHERE id = ?'),
    rivals: db.prepare(
      `SELECT id FROM facts WHERE namespace_id = ? AND subject_key = ? AND predicate_key = ? AND object_key <> ?
       AND invalidated_at IS NULL`,
    ).pluck(),
    close: db.prepare(
      'UPDATE facts SET valid_to = COALESCE(valid_to, ?), invalidated_at = ?, superseded_by = ? WHERE id = ?',
    ),
    insert: db.prepare(
      `INSERT INTO facts (id, namespace_id, subject, predicate, object, subject_key, predicate_key, object_key,
         confidence, source, valid_from, valid_to, created_at, metadata, last_seen_at)
       VALUES (@id, @namespaceId, @subject, @predicate, @object, @subjectKey, @predicateKey, @objectKey,
         @confidence, @source, @validFrom, @validTo, @now, @metadata, @now)`,
    ),
    touching: db.prepare(
      `SELECT * FROM facts WHERE namespace_id = ? AND invalidated_at IS NULL
       AND (subject_key IN (SELECT value FROM json_each(?)) OR object_key IN (SELECT value FROM json_each(?)))
       ORDER BY rowid_`,
    ),
    byIds: db.prepare('SELECT * FROM facts WHERE namespace_id = ? AND id IN (SELECT value FROM json_each(?))'),
    delete: db.prepare('DELETE FROM facts WHERE namespace_id = ? AND id = ?'),
    count: db.prepare('SELECT COUNT(*) FROM facts WHERE namespace_id = ?').pluck(),
    advance: db.prepare('UPDATE namespaces SET head_seq = head_seq + 1 WHERE id = ? RETURNING head_seq').pluck(),
    head: db.prepare('SELECT head_seq FROM namespaces WHERE id = ?').pluck(),
  };

  const write = db.transaction((namespaceId: number, fact: FactWrite, newId: string): FactWriteOutcome => {
    const now = Date.now();
    const keys = [normalizeKey(fact.subject), normalizeKey(fact.predicate), normalizeKey(fact.object)] as const;
    const existing = sql.active.get(namespaceId, ...keys) as string | undefined;
    if (existing) {
      sql.sighting.run(now, existing);
      return { id: existing, created: false, superseded: [], seq: sql.advance.get(namespaceId) as number };
    }
    const superseded = fact.replace ? (sql.rivals.all(namespaceId, keys[0], keys[1], keys[2]) as string[]) : [];
    for (const id of superseded) sql.close.run(fact.validFrom ?? now, now, newId, id);
    sql.insert.run({
      id: newId,
      namespaceId,
      subject: fact.subject,
      predicate: fact.predicate,
      object: fact.object,
      subjectKey: keys[0],
      predicateKey: keys[1],
      objectKey: keys[2],
      confidence: fact.confidence,
      source: fact.source,
      validFrom: fact.validFrom,
      validTo: fact.validTo,
      now,
      metadata: JSON.stringify(fact.metadata),
    });
    return { id: newId, created: true, superseded, seq: sql.advance.get(namespaceId) as number };
  });

  return {
    async write(namespaceId, fact, newId) {
      return write(namespaceId, fact, newId);
    },
    async query(namespaceId, query: FactQuery) {
      const where = ['namespace_id = ?'];
      const params: (string | number)[] = [namespaceId];
      for (const [field, value] of [
        ['subject_key', query.subject],
        ['predicate_key', query.predicate],
        ['object_key', query.object],
      ] as const) {
        if (value !== undefined) {
          where.push(`${field} = ?`);
          params.push(normalizeKey(value));
        }
      }
      if (query.asOf !== undefined) {
        where.push('(valid_from IS NULL OR valid_from <= ?) AND (valid_to IS NULL OR valid_to > ?)');
        params.push(query.asOf, query.asOf);
      }
      if (query.knownAt !== undefined) {
        where.push('created_at <= ? AND (invalidated_at IS NULL OR invalidated_at > ?)');
        params.push(query.knownAt, query.knownAt);
      }
      if (query.asOf === undefined && query.knownAt === undefined && !query.history) where.push('invalidated_at IS NULL');
      const rows = db
        .prepare(`SELECT * FROM facts WHERE ${where.join(' AND ')} ORDER BY rowid_ LIMIT ?`)
        .all(...params, query.limit) as FactRow[];
      return rows.map(toFact);
    },
    async byIds(namespaceId, ids) {
      if (ids.length === 0) return [];
      return (sql.byIds.all(namespaceId, JSON.stringify(ids)) as FactRow[]).map(toFact);
    },
    async touching(namespaceId, names) {
      const keys = JSON.stringify(names.map(normalizeKey));
      return (sql.touching.all(namespaceId, keys, keys) as FactRow[]).map(toFact);
    },
    async delete(namespaceId, ids) {
      return db.transaction(() => {
        let deleted = 0;
        for (const id of ids) deleted += sql.delete.run(namespaceId, id).changes;
        const seq = (deleted > 0 ? sql.advance.get(namespaceId) : sql.head.get(namespaceId)) as number;
        return { deleted, seq };
      })();
    },
    async count(namespaceId) {
      return sql.count.get(namespaceId) as number;
    },
  };
}
