/**
 * Facts in PostgreSQL, with the SQLite store's semantics. A write is one transaction (dedupe, supersession,
 * insert) that first takes an advisory lock on its namespace, subject and predicate: writers of the same
 * fact, or of rival objects of one predicate, run one after the other whatever node or connection they come
 * from, so that each sees what the previous one committed (SQLite gets this from its single writer).
 */
import { normalizeKey } from '../../core/facts.js';
import type { FactRecord, Metadata } from '../../core/types.js';
import type { FactQuery, FactStore, FactWrite, FactWriteOutcome } from '../../ports/fact-store.js';
import type { PostgresDatabase, Sql, TransactionSql } from './database.js';
import { jsonText } from './rows.js';

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
  metadata: Metadata;
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
  metadata: row.metadata,
  sightings: row.sightings,
  lastSeenAt: row.last_seen_at,
});

/**
 * The first key of the two-key advisory locks of fact writes ('fact'); migrations lock with the one-key form,
 * which PostgreSQL keeps apart from this one.
 */
const FACT_LOCK = 0x66616374;

const COLUMNS = ['id', 'subject', 'predicate', 'object', 'confidence', 'source', 'valid_from', 'valid_to', 'created_at',
  'invalidated_at', 'superseded_by', 'metadata', 'sightings', 'last_seen_at'];

export function createPostgresFactStore(db: PostgresDatabase): FactStore {
  // The namespace's next change number, taken last in the write's transaction (after the advisory lock), so
  // that fact writers wait on the row only for as long as memory writers do.
  const advance = async (sql: TransactionSql, namespaceId: number): Promise<number> => {
    const [row] = await sql<{ head_seq: number }[]>`UPDATE namespaces SET head_seq = head_seq + 1 WHERE id = ${namespaceId} RETURNING head_seq`;
    return row?.head_seq ?? 0;
  };
  const write = (namespaceId: number, fact: FactWrite, newId: string): Promise<FactWriteOutcome> =>
    db.transaction(async (sql) => {
      const now = Date.now();
      const [subject, predicate, object] = [normalizeKey(fact.subject), normalizeKey(fact.predicate), normalizeKey(fact.object)];
      // Two different (subject, predicate) may share a hash: they then wait for each other, which is harmless.
      await sql`SELECT pg_advisory_xact_lock(${FACT_LOCK}, hashtext(${`${namespaceId}\u001f${subject}\u001f${predicate}`}))`;
      const [existing] = await sql<{ id: string }[]>`
        SELECT id FROM facts WHERE namespace_id = ${namespaceId} AND subject_key = ${subject}
          AND predicate_key = ${predicate} AND object_key = ${object} AND invalidated_at IS NULL`;
      if (existing) {
        await sql`UPDATE facts SET sightings = sightings + 1, last_seen_at = ${now} WHERE id = ${existing.id}`;
        return { id: existing.id, created: false, superseded: [], seq: await advance(sql, namespaceId) };
      }
      const superseded = fact.replace
        ? (
            await sql<{ id: string }[]>`
              WITH closed AS (
                UPDATE facts SET valid_to = COALESCE(valid_to, ${fact.validFrom ?? now}), invalidated_at = ${now},
                  superseded_by = ${newId}
                WHERE namespace_id = ${namespaceId} AND subject_key = ${subject} AND predicate_key = ${predicate}
                  AND object_key <> ${object} AND invalidated_at IS NULL
                RETURNING id, position)
              SELECT id FROM closed ORDER BY position`
          ).map((row) => row.id)
        : [];
      await sql`
        INSERT INTO facts (id, namespace_id, subject, predicate, object, subject_key, predicate_key, object_key,
          confidence, source, valid_from, valid_to, created_at, metadata, last_seen_at)
        VALUES (${newId}, ${namespaceId}, ${fact.subject}, ${fact.predicate}, ${fact.object}, ${subject}, ${predicate},
          ${object}, ${fact.confidence}, ${fact.source}, ${fact.validFrom}, ${fact.validTo}, ${now},
          ${jsonText(fact.metadata)}::text::jsonb, ${now})`;
      return { id: newId, created: true, superseded, seq: await advance(sql, namespaceId) };
    });

  const select = (sql: Sql, namespaceId: number, query: FactQuery) => {
    const conditions = [sql`namespace_id = ${namespaceId}`];
    if (query.subject !== undefined) conditions.push(sql`subject_key = ${normalizeKey(query.subject)}`);
    if (query.predicate !== undefined) conditions.push(sql`predicate_key = ${normalizeKey(query.predicate)}`);
    if (query.object !== undefined) conditions.push(sql`object_key = ${normalizeKey(query.object)}`);
    if (query.asOf !== undefined) {
      conditions.push(sql`(valid_from IS NULL OR valid_from <= ${query.asOf}) AND (valid_to IS NULL OR valid_to > ${query.asOf})`);
    }
    if (query.knownAt !== undefined) {
      conditions.push(sql`created_at <= ${query.knownAt} AND (invalidated_at IS NULL OR invalidated_at > ${query.knownAt})`);
    }
    if (query.asOf === undefined && query.knownAt === undefined && !query.history) conditions.push(sql`invalidated_at IS NULL`);
    const where = conditions.reduce((all, condition) => sql`${all} AND ${condition}`);
    return sql<FactRow[]>`SELECT ${sql(COLUMNS)} FROM facts WHERE ${where} ORDER BY position LIMIT ${query.limit}`;
  };

  return {
    write,
    async query(namespaceId, query) {
      return (await db.read((sql) => select(sql, namespaceId, query))).map(toFact);
    },
    async byIds(namespaceId, ids) {
      if (ids.length === 0) return [];
      const rows = await db.read(
        (sql) => sql<FactRow[]>`SELECT ${sql(COLUMNS)} FROM facts WHERE namespace_id = ${namespaceId} AND id = ANY(${ids}::text[])
                                ORDER BY position`,
      );
      return rows.map(toFact);
    },
    async touching(namespaceId, names) {
      if (names.length === 0) return [];
      const keys = names.map(normalizeKey);
      const rows = await db.read(
        (sql) => sql<FactRow[]>`
          SELECT ${sql(COLUMNS)} FROM facts WHERE namespace_id = ${namespaceId} AND invalidated_at IS NULL
            AND (subject_key = ANY(${keys}::text[]) OR object_key = ANY(${keys}::text[]))
          ORDER BY position`,
      );
      return rows.map(toFact);
    },
    async delete(namespaceId, ids) {
      return db.transaction(async (sql) => {
        const result = ids.length === 0 ? { count: 0 } : await sql`DELETE FROM facts WHERE namespace_id = ${namespaceId} AND id = ANY(${ids}::text[])`;
        if (result.count > 0) return { deleted: result.count, seq: await advance(sql, namespaceId) };
        const [row] = await sql<{ head_seq: number }[]>`SELECT head_seq FROM namespaces WHERE id = ${namespaceId}`;
        return { deleted: 0, seq: row?.head_seq ?? 0 };
      });
    },
    async count(namespaceId) {
      const [row] = await db.read((sql) => sql<{ n: number }[]>`SELECT COUNT(*) AS n FROM facts WHERE namespace_id = ${namespaceId}`);
      return row!.n;
    },
  };
}
