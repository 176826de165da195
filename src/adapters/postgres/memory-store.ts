/**
 * Memories in PostgreSQL, with the SQLite store's semantics. Each write is one transaction that takes the next
 * numbers of its namespace's change sequence (`UPDATE namespaces SET head_seq = head_seq + n … RETURNING`,
 * whose row lock orders the writers of one namespace across every node), stamps each changed row with its
 * number and logs the change in `changes`. A write of many memories is one statement (rows from one JSON
 * parameter, vectors cut out of one BYTEA), not one round trip per row. After commit, `onCommitted` hears the
 * namespace's new head (cluster mode sends it to the other nodes).
 */
import { MembankError } from '../../core/errors.js';
import type { Scalar } from '../../core/filter.js';
import { normalizeText } from '../../core/normalize.js';
import type { TableRow } from '../../core/table/index.js';
import { asLabel, DEFAULT_HISTORY, type Label, type MemoryWrite, type Metadata } from '../../core/types.js';
import type { ChangeOp } from '../../ports/change-log.js';
import type { HistoryOp, RemovalPolicy } from '../../ports/history-store.js';
import type { DeleteOutcome, Duplicate, MemoryFields, MemoryPage, MemoryPatch, MemoryStore, RemovalReason, WriteOutcome } from '../../ports/memory-store.js';
import { textKey } from '../text-key.js';
import type { PostgresDatabase, Sql, TransactionSql } from './database.js';
import { fromRow, jsonText, type MemoryRow, packVectors, tableRow, type TableTuple, vectorToBytes } from './rows.js';

const BATCH = 5000;
const TABLE_COLUMNS = 'label, vector, event_at, expires_at, document_id, chunk_index, seq';
const ALL = { text: true, metadata: true, vector: false };
const ALL_WITH_VECTOR = { text: true, metadata: true, vector: true };

/** Columns of a memory; fields not asked for are read as empty. (Constant text of this module only.) */
const columns = (fields: MemoryFields): string =>
  [
    'label, id, event_at, created_at, updated_at, document_id, chunk_index, importance, strength, recall_count, last_recalled_at, expires_at, pinned',
    fields.text ? 'text' : 'NULL::text AS text',
    fields.metadata ? 'metadata' : `'{}'::jsonb AS metadata`,
    fields.vector ? 'vector' : 'NULL::bytea AS vector',
  ].join(', ');

const notFound = (namespaceId: number) => new MembankError('NAMESPACE_NOT_FOUND', `Namespace ${namespaceId} does not exist (deleted meanwhile).`);
const reembedded = () =>
  new MembankError('EMBEDDER_MISMATCH', 'The namespace was re-embedded while this write was being embedded; it was not written. Send it again.');

/** Reads rows in label order, a batch at a time. */
async function* inBatches<T extends { label: number }>(read: (after: number) => Promise<T[]>): AsyncIterable<T[]> {
  let after = 0;
  for (;;) {
    const rows = await read(after);
    if (rows.length === 0) return;
    after = rows[rows.length - 1]!.label;
    yield rows;
    if (rows.length < BATCH) return;
  }
}

/** A time as a BIGINT parameter: callers pass ±Infinity for "whatever the time", which BIGINT cannot hold. */
export const timeParam = (ms: number): number =>
  Number.isFinite(ms) ? Math.floor(ms) : ms > 0 ? Number.MAX_SAFE_INTEGER : -Number.MAX_SAFE_INTEGER;

const scalarOf = (value: unknown): Scalar | undefined =>
  typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number' ? value : undefined;

export interface PostgresMemoryStoreOptions {
  /** Told after a commit that advanced a namespace's change sequence. */
  onCommitted?: (namespaceId: number, seq: number) => void;
}

export function createPostgresMemoryStore(db: PostgresDatabase, options: PostgresMemoryStoreOptions = {}): MemoryStore {
  const committed = <T extends { seq: number } | undefined>(namespaceId: number, outcome: T): T => {
    if (outcome && outcome.seq > 0) options.onCommitted?.(namespaceId, outcome.seq);
    return outcome;
  };

  /** Locks the namespace's row: every writer of the namespace takes it first, so they are ordered and never deadlock. */
  const locked = async (tx: TransactionSql, namespaceId: number): Promise<boolean> => {
    const [row] = await tx`SELECT id FROM namespaces WHERE id = ${namespaceId} FOR NO KEY UPDATE`;
    return row !== undefined;
  };
  const lock = async (tx: TransactionSql, namespaceId: number): Promise<void> => {
    if (!(await locked(tx, namespaceId))) throw notFound(namespaceId);
  };

  /** Takes `count` numbers of the namespace's sequence; answers the first. Refuses a write made for another generation. */
  const take = async (tx: TransactionSql, namespaceId: number, count: number, generation?: number): Promise<number> => {
    const [row] = await tx<{ head_seq: number; generation: number }[]>`
      UPDATE namespaces SET head_seq = head_seq + ${count} WHERE id = ${namespaceId} RETURNING head_seq, generation`;
    if (!row) throw notFound(namespaceId);
    if (generation !== undefined && row.generation !== generation) throw reembedded();
    return row.head_seq - count + 1;
  };

  const log = async (tx: TransactionSql, namespaceId: number, at: number, changes: { seq: number; op: ChangeOp; id: string; label: number }[]) => {
    if (changes.length === 0) return;
    await tx`
      INSERT INTO changes (namespace_id, seq, at, op, memory_id, label)
      SELECT ${namespaceId}, c.seq, ${at}, c.op, c.id, c.label
      FROM jsonb_to_recordset(${jsonText(changes)}::text::jsonb) AS c(seq bigint, op text, id text, label bigint)`;
  };

  /**
   * Upserts memories with seqs from `firstSeq` on, in one statement, and logs them: each row's label, and
   * whether it was created (xmax = 0 only on a row this statement inserted).
   */
  const upsert = async (tx: TransactionSql, namespaceId: number, memories: MemoryWrite[], firstSeq: number, now: number) => {
    const { blob, offsets, lengths } = packVectors(memories.map((m) => m.vector));
    const rows = memories.map((m, i) => ({
      i,
      id: m.id,
      text: m.text,
      metadata: m.metadata,
      event_at: m.timestamp,
      document_id: m.documentId,
      chunk_index: m.chunkIndex,
      importance: m.importance,
      strength: m.strength,
      expires_at: m.expiresAt,
      seq: firstSeq + i,
      off: offsets[i]! + 1,
      len: lengths[i]!,
      text_key: textKey(m.text),
      pinned: m.pinned === true,
    }));
    // Replacing a memory replaces it whole: its strength and recalls start again; created_at stays.
    const written = await tx<{ label: number; id: string; seq: number; created: boolean }[]>`
      WITH up AS (
        INSERT INTO memories (namespace_id, id, text, metadata, vector, event_at, created_at, updated_at, document_id, chunk_index,
          importance, strength, expires_at, seq, text_key, pinned)
        SELECT ${namespaceId}, r.id, r.text, r.metadata, substring(${blob}::bytea FROM r.off FOR r.len), r.event_at, ${now}, ${now},
          r.document_id, r.chunk_index, r.importance, r.strength, r.expires_at, r.seq, r.text_key, r.pinned
        FROM jsonb_to_recordset(${jsonText(rows)}::text::jsonb) AS r(i int, id text, text text, metadata jsonb, event_at bigint,
          document_id text, chunk_index int, importance float8, strength float8, expires_at bigint, seq bigint, off int, len int,
          text_key text, pinned boolean)
        ORDER BY r.i
        ON CONFLICT (namespace_id, id) DO UPDATE SET text = EXCLUDED.text, metadata = EXCLUDED.metadata, vector = EXCLUDED.vector,
          event_at = EXCLUDED.event_at, updated_at = EXCLUDED.updated_at, document_id = EXCLUDED.document_id,
          chunk_index = EXCLUDED.chunk_index, importance = EXCLUDED.importance, strength = EXCLUDED.strength, recall_count = 0,
          last_recalled_at = NULL, expires_at = EXCLUDED.expires_at, seq = EXCLUDED.seq, text_key = EXCLUDED.text_key,
          pinned = EXCLUDED.pinned
        RETURNING label, id, seq, (xmax = 0) AS created),
      logged AS (
        INSERT INTO changes (namespace_id, seq, at, op, memory_id, label)
        SELECT ${namespaceId}, seq, ${now}, CASE WHEN created THEN 'created' ELSE 'updated' END, id, label FROM up)
      SELECT label, id, seq, created FROM up`;
    const bySeq = new Map(written.map((w) => [w.seq, w]));
    return memories.map((_, i) => ({ label: asLabel(bySeq.get(firstSeq + i)!.label), seq: firstSeq + i, created: bySeq.get(firstSeq + i)!.created }));
  };

  type HistoryEntry = { id: string; seq: number; op: HistoryOp; reason?: RemovalPolicy; text?: string | null; metadata?: Metadata; similarity?: number };
  /** Records events of memories' histories, in order, and caps the earlier versions (and duplicate notes) kept. */
  const record = async (tx: TransactionSql, namespaceId: number, at: number, events: HistoryEntry[], maxVersions: number) => {
    if (events.length === 0) return;
    const rows = events.map((e, n) => ({ n, id: e.id, seq: e.seq, op: e.op, reason: e.reason ?? null, text: e.text ?? null, metadata: e.metadata ?? null, similarity: e.similarity ?? null }));
    await tx`
      INSERT INTO memory_history (namespace_id, memory_id, seq, at, op, reason, text, metadata, similarity)
      SELECT ${namespaceId}, e.id, e.seq, ${at}, e.op, e.reason, e.text, e.metadata, e.similarity
      FROM jsonb_to_recordset(${jsonText(rows)}::text::jsonb) AS e(n int, id text, seq bigint, op text, reason text, text text, metadata jsonb, similarity float8)
      ORDER BY e.n`;
    const capped = [...new Set(events.filter((e) => e.op === 'updated' || e.op === 'deduplicated').map((e) => e.id))];
    if (capped.length === 0) return;
    await tx`
      DELETE FROM memory_history h USING (
        SELECT id, row_number() OVER (PARTITION BY memory_id, op ORDER BY id DESC) AS rn FROM memory_history
        WHERE namespace_id = ${namespaceId} AND memory_id = ANY(${capped}::text[]) AND op IN ('updated', 'deduplicated')) x
      WHERE h.id = x.id AND x.rn > ${maxVersions}`;
  };

  /** What a removal leaves of a memory's history: its tombstone alone. */
  const TOMBSTONES: Partial<Record<ChangeOp, { op: HistoryOp; reason: RemovalPolicy }>> = {
    deleted: { op: 'forgotten', reason: 'delete' },
    expired: { op: 'expired', reason: 'ttl' },
    forgotten: { op: 'forgotten', reason: 'retention' },
    erased: { op: 'forgotten', reason: 'erase' },
  };
  const bury = async (tx: TransactionSql, namespaceId: number, at: number, rows: { id: string; seq: number }[], op: ChangeOp) => {
    if (rows.length === 0) return;
    await tx`DELETE FROM memory_history WHERE namespace_id = ${namespaceId} AND memory_id = ANY(${rows.map((r) => r.id)}::text[])`;
    const tombstone = TOMBSTONES[op];
    if (tombstone) await record(tx, namespaceId, at, rows.map((r) => ({ id: r.id, seq: r.seq, ...tombstone })), 0);
  };

  type Found = { label: number; id: string; text: string | null; metadata: Metadata; text_key?: string | null };
  /** For each memory with `dedupe`, the live memory it folds into: equal normalized text first, then the near one named. */
  const duplicates = async (tx: TransactionSql, namespaceId: number, memories: MemoryWrite[], keys: (string | null)[], now: number) => {
    const wanted = [...new Set(memories.flatMap((m, i) => (m.dedupe && keys[i] ? [keys[i]!] : [])))];
    const same = wanted.length === 0 ? [] : await tx<Found[]>`
      SELECT label, id, text, metadata, text_key FROM memories WHERE namespace_id = ${namespaceId} AND text_key = ANY(${wanted}::text[])
        AND document_id IS NULL AND (expires_at IS NULL OR expires_at > ${now}) ORDER BY label`;
    const nearLabels = memories.flatMap((m) => (m.dedupe?.near ? [m.dedupe.near.label as number] : []));
    const near = nearLabels.length === 0 ? [] : await tx<Found[]>`
      SELECT label, id, text, metadata FROM memories WHERE namespace_id = ${namespaceId} AND label = ANY(${nearLabels}::bigint[])
        AND (expires_at IS NULL OR expires_at > ${now})`;
    return memories.map((m, i): { row: Found; similarity: number } | undefined => {
      if (!m.dedupe) return undefined;
      if (keys[i]) {
        const normalized = normalizeText(m.text!);
        const equal = same.find((row) => row.text_key === keys[i] && row.text !== null && normalizeText(row.text) === normalized);
        if (equal) return { row: equal, similarity: 1 };
      }
      const close = m.dedupe.near && near.find((row) => row.label === m.dedupe!.near!.label);
      return close ? { row: close, similarity: m.dedupe.near!.similarity } : undefined;
    });
  };

  const write = (namespaceId: number, memories: MemoryWrite[], replaceDocument: string | undefined, now: number, generation: number, maxVersions: number) =>
    db.transaction(async (tx): Promise<WriteOutcome> => {
      const dedupe = memories.some((m) => m.dedupe);
      // Under the namespace's row lock, every earlier writer of the namespace has committed: its rows are seen.
      if (replaceDocument !== undefined || dedupe) await lock(tx, namespaceId);
      let stale: { label: number; id: string }[] = [];
      if (replaceDocument !== undefined) {
        const keep = new Set(memories.map((m) => m.id));
        const chunks = await tx<{ label: number; id: string }[]>`
          SELECT label, id FROM memories WHERE namespace_id = ${namespaceId} AND document_id = ${replaceDocument}
          ORDER BY chunk_index NULLS FIRST, label`;
        stale = chunks.filter((row) => !keep.has(row.id));
      }
      const keys = memories.map((m) => textKey(m.text));
      const found = dedupe ? await duplicates(tx, namespaceId, memories, keys, now) : memories.map(() => undefined);
      const fresh = memories.filter((_, i) => found[i] === undefined);
      const merges = memories.filter((m, i) => found[i] !== undefined && m.dedupe!.onDuplicate === 'merge').length;
      const total = stale.length + fresh.length + merges;
      const firstSeq = await take(tx, namespaceId, total, generation);
      if (stale.length > 0) {
        await tx`DELETE FROM memories WHERE namespace_id = ${namespaceId} AND label = ANY(${stale.map((row) => row.label)}::bigint[])`;
        const numbered = stale.map((row, i) => ({ seq: firstSeq + i, op: 'deleted' as const, id: row.id, label: row.label }));
        await log(tx, namespaceId, now, numbered);
        await bury(tx, namespaceId, now, numbered, 'deleted');
      }
      const start = firstSeq + stale.length;
      const previous = new Map(
        fresh.length === 0
          ? []
          : (
              await tx<{ id: string; text: string | null; metadata: Metadata }[]>`
                SELECT id, text, metadata FROM memories WHERE namespace_id = ${namespaceId} AND id = ANY(${fresh.map((m) => m.id)}::text[])`
            ).map((row) => [row.id, row]),
      );
      let stored: { label: Label; seq: number; created: boolean }[] = [];
      if (fresh.length > 0) {
        // The same id twice in one write: one row at a time, as SQLite does (created, then updated).
        if (new Set(fresh.map((m) => m.id)).size === fresh.length) stored = await upsert(tx, namespaceId, fresh, start, now);
        else for (const [i, m] of fresh.entries()) stored.push(...(await upsert(tx, namespaceId, [m], start + i, now)));
      }
      const events: HistoryEntry[] = [];
      const seen = new Set<string>();
      fresh.forEach((m, i) => {
        const before = seen.has(m.id) ? undefined : previous.get(m.id);
        seen.add(m.id);
        events.push(
          stored[i]!.created || !before
            ? { id: m.id, seq: stored[i]!.seq, op: 'created' }
            : { id: m.id, seq: stored[i]!.seq, op: 'updated', text: before.text, metadata: before.metadata },
        );
      });
      let seq = start + fresh.length;
      let next = 0;
      const written: WriteOutcome['written'] = [];
      for (const [i, m] of memories.entries()) {
        const dup = found[i];
        if (!dup) {
          const { label, seq: at } = stored[next++]!;
          written.push({ label, seq: at });
          continue;
        }
        await tx`
          UPDATE memories SET strength = strength + 1, recall_count = recall_count + 1,
            last_recalled_at = GREATEST(coalesce(last_recalled_at, 0), ${now}), pinned = pinned OR ${m.pinned === true}
          WHERE label = ${dup.row.label}`;
        const duplicate: Duplicate = { id: dup.row.id, similarity: dup.similarity, row: null };
        let at = firstSeq + total - 1;
        if (m.dedupe!.onDuplicate === 'merge') {
          at = seq++;
          const metadata = { ...dup.row.metadata, ...m.metadata };
          const [t] = await tx<TableTuple[]>`
            UPDATE memories SET metadata = ${jsonText(metadata)}::text::jsonb, updated_at = ${now}, seq = ${at}
            WHERE label = ${dup.row.label} RETURNING ${tx.unsafe(TABLE_COLUMNS)}, text, metadata`;
          await log(tx, namespaceId, now, [{ seq: at, op: 'updated', id: dup.row.id, label: dup.row.label }]);
          duplicate.row = tableRow(t!, true);
        }
        events.push({ id: dup.row.id, seq: at, op: 'deduplicated', similarity: dup.similarity });
        written.push({ label: asLabel(dup.row.label), seq: duplicate.row ? at : 0, duplicate });
      }
      await record(tx, namespaceId, now, events, maxVersions);
      return { firstSeq, seq: firstSeq + total - 1, written, removed: stale.map((row) => asLabel(row.label)) };
    });

  /** Numbers and logs what a delete removed, in the order given. */
  const removed = async (tx: TransactionSql, namespaceId: number, rows: { label: number; id: string }[], op: ChangeOp, now: number) => {
    if (rows.length === 0) return undefined;
    const firstSeq = await take(tx, namespaceId, rows.length);
    const numbered = rows.map((row, i) => ({ seq: firstSeq + i, op, id: row.id, label: row.label }));
    await log(tx, namespaceId, now, numbered);
    await bury(tx, namespaceId, now, numbered, op);
    const outcome: DeleteOutcome = {
      firstSeq,
      seq: firstSeq + rows.length - 1,
      removed: rows.map((row) => asLabel(row.label)),
      ids: rows.map((row) => row.id),
    };
    return outcome;
  };

  const select = (sql: Sql, fields: MemoryFields) => sql.unsafe(columns(fields));

  return {
    async write(namespaceId, memories, { replaceDocument, now, generation, maxVersions = DEFAULT_HISTORY.maxVersions }) {
      return committed(namespaceId, await write(namespaceId, memories, replaceDocument, now, generation, maxVersions));
    },
    async pinned(namespaceId, now, limit) {
      const rows = await db.read(
        (sql) => sql<MemoryRow[]>`
          SELECT ${select(sql, ALL)} FROM memories WHERE namespace_id = ${namespaceId} AND pinned
            AND (expires_at IS NULL OR expires_at > ${now}) ORDER BY label LIMIT ${limit}`,
      );
      return rows.map(fromRow);
    },
    async deleteById(namespaceId, id, now) {
      const outcome = await db.transaction(async (tx) => {
        if (!(await locked(tx, namespaceId))) return undefined;
        const rows = await tx<{ label: number; id: string }[]>`
          DELETE FROM memories WHERE namespace_id = ${namespaceId} AND id = ${id} RETURNING label, id`;
        return removed(tx, namespaceId, rows, 'deleted', now);
      });
      return committed(namespaceId, outcome);
    },
    async deleteDocument(namespaceId, documentId, now) {
      const outcome = await db.transaction(async (tx) => {
        if (!(await locked(tx, namespaceId))) return undefined;
        const rows = await tx<{ label: number; id: string; chunk_index: number | null }[]>`
          DELETE FROM memories WHERE namespace_id = ${namespaceId} AND document_id = ${documentId} RETURNING label, id, chunk_index`;
        rows.sort((a, b) => (a.chunk_index ?? -Infinity) - (b.chunk_index ?? -Infinity) || a.label - b.label);
        return removed(tx, namespaceId, rows, 'deleted', now);
      });
      return committed(namespaceId, outcome);
    },
    async deleteLabels(namespaceId, labels, reason: RemovalReason, now) {
      if (labels.length === 0) return undefined;
      const outcome = await db.transaction(async (tx) => {
        if (!(await locked(tx, namespaceId))) return undefined;
        const rows = await tx<{ label: number; id: string }[]>`
          DELETE FROM memories WHERE namespace_id = ${namespaceId} AND label = ANY(${labels}::bigint[]) RETURNING label, id`;
        const order = new Map(labels.map((label, i) => [label as number, i]));
        rows.sort((a, b) => order.get(a.label)! - order.get(b.label)!);
        return removed(tx, namespaceId, rows, reason, now);
      });
      return committed(namespaceId, outcome);
    },
    async get(namespaceId, id, withVector, now) {
      const [row] = await db.read(
        (sql) => sql<MemoryRow[]>`
          SELECT ${select(sql, withVector ? ALL_WITH_VECTOR : ALL)} FROM memories
          WHERE namespace_id = ${namespaceId} AND id = ${id} AND (expires_at IS NULL OR expires_at > ${timeParam(now)})`,
      );
      return row && fromRow(row);
    },
    async list(namespaceId, after, limit, withVector, now): Promise<MemoryPage> {
      const rows = await db.read(
        (sql) => sql<MemoryRow[]>`
          SELECT ${select(sql, withVector ? ALL_WITH_VECTOR : ALL)} FROM memories
          WHERE namespace_id = ${namespaceId} AND label > ${after ?? 0} AND (expires_at IS NULL OR expires_at > ${timeParam(now)})
          ORDER BY label LIMIT ${limit + 1}`,
      );
      const more = rows.length > limit;
      const memories = rows.slice(0, limit).map(fromRow);
      return { memories, next: more ? memories[memories.length - 1]!.label : null };
    },
    async byLabels(namespaceId, labels, fields) {
      if (labels.length === 0) return [];
      const rows = await db.read(
        (sql) => sql<MemoryRow[]>`
          SELECT ${select(sql, fields)} FROM memories WHERE label = ANY(${labels}::bigint[]) AND namespace_id = ${namespaceId}`,
      );
      return rows.map(fromRow);
    },
    async byIds(namespaceId, ids, fields, now) {
      if (ids.length === 0) return [];
      const rows = await db.read(
        (sql) => sql<MemoryRow[]>`
          SELECT ${select(sql, fields)} FROM memories WHERE namespace_id = ${namespaceId} AND id = ANY(${ids}::text[])
            AND (expires_at IS NULL OR expires_at > ${timeParam(now)}) ORDER BY label`,
      );
      return rows.map(fromRow);
    },
    async update(namespaceId, patches, { now, generation, maxVersions = DEFAULT_HISTORY.maxVersions }) {
      const outcome = await db.transaction(async (tx) => {
        if (!(await locked(tx, namespaceId))) {
          return { firstSeq: 0, seq: 0, written: [], removed: [] as Label[], missing: patches.map((p) => p.id), rows: [] as TableRow[] };
        }
        const existing = await tx<{ id: string; text: string | null; metadata: Metadata }[]>`
          SELECT id, text, metadata FROM memories WHERE namespace_id = ${namespaceId} AND id = ANY(${patches.map((p) => p.id)}::text[])`;
        const ids = new Set(existing.map((row) => row.id));
        const found = patches.filter((p) => ids.has(p.id));
        const missing = patches.filter((p) => !ids.has(p.id)).map((p) => p.id);
        if (found.length === 0) return { firstSeq: 0, seq: 0, written: [], removed: [], missing, rows: [] as TableRow[] };
        const firstSeq = await take(tx, namespaceId, found.length, generation);
        // Each patch's previous version: the stored one, or the one an earlier patch of the same id made.
        const versions = new Map(existing.map((row) => [row.id, { text: row.text, metadata: row.metadata }]));
        const events: HistoryEntry[] = found.map((p, i) => {
          const before = versions.get(p.id)!;
          versions.set(p.id, { text: p.text !== undefined ? p.text : before.text, metadata: p.metadata ?? before.metadata });
          return { id: p.id, seq: firstSeq + i, op: 'updated', text: before.text, metadata: before.metadata };
        });
        // One statement per patch (pipelined on the transaction's connection): the same id twice applies twice, in order.
        const updated = await Promise.all(
          found.map(
            (p: MemoryPatch, i) => tx<TableTuple[]>`
              UPDATE memories SET text = CASE WHEN ${p.text !== undefined} THEN ${p.text ?? null}::text ELSE text END,
                metadata = coalesce(${p.metadata === undefined ? null : jsonText(p.metadata)}::text::jsonb, metadata),
                vector = coalesce(${p.vector === undefined ? null : vectorToBytes(p.vector)}::bytea, vector),
                text_key = CASE WHEN ${p.text !== undefined} THEN ${p.text === undefined ? null : textKey(p.text)}::text ELSE text_key END,
                pinned = coalesce(${p.pinned ?? null}::boolean, pinned),
                updated_at = ${now}, seq = ${firstSeq + i}
              WHERE namespace_id = ${namespaceId} AND id = ${p.id} RETURNING ${tx.unsafe(TABLE_COLUMNS)}, text, metadata`,
          ),
        );
        const rows = updated.map(([t]) => tableRow(t!, true));
        await log(tx, namespaceId, now, rows.map((row, i) => ({ seq: row.seq, op: 'updated' as const, id: found[i]!.id, label: row.label })));
        await record(tx, namespaceId, now, events, maxVersions);
        return {
          firstSeq,
          seq: firstSeq + found.length - 1,
          written: rows.map((r) => ({ label: r.label, seq: r.seq })),
          removed: [] as Label[],
          missing,
          rows,
        };
      });
      return committed(namespaceId, outcome);
    },
    async count(namespaceId) {
      const [row] = await db.read((sql) => sql<{ n: number }[]>`SELECT COUNT(*) AS n FROM memories WHERE namespace_id = ${namespaceId}`);
      return row!.n;
    },
    async countWithoutText(namespaceId) {
      const [row] = await db.read(
        (sql) => sql<{ n: number }[]>`SELECT COUNT(*) AS n FROM memories WHERE namespace_id = ${namespaceId} AND text IS NULL`,
      );
      return row!.n;
    },
    async reinforce(recalls) {
      if (recalls.length === 0) return;
      // Several recalls of one memory add up, and its clock restarts at the latest.
      const byLabel = new Map<number, { label: number; n: number; at: number }>();
      for (const r of recalls) {
        const known = byLabel.get(r.label);
        if (known) {
          known.n += r.recalls;
          known.at = Math.max(known.at, r.at);
        } else byLabel.set(r.label, { label: r.label, n: r.recalls, at: r.at });
      }
      await db.transaction(
        (tx) => tx`
          UPDATE memories m SET strength = m.strength + r.n, recall_count = m.recall_count + r.n::int,
            last_recalled_at = GREATEST(coalesce(m.last_recalled_at, 0), r.at)
          FROM jsonb_to_recordset(${jsonText([...byLabel.values()])}::text::jsonb) AS r(label bigint, n float8, at bigint)
          WHERE m.label = r.label`,
      );
    },
    async tableRows(namespaceId) {
      // The head first: every row read after it is at least that new, and replaying the log from it is idempotent
      // (labels are never reused, so a row read twice or removed after being read comes out right).
      const [head] = await db.read((sql) => sql<{ seq: number }[]>`SELECT head_seq AS seq FROM namespaces WHERE id = ${namespaceId}`);
      const read = (after: number) =>
        db.read(
          (sql) => sql<TableTuple[]>`
            SELECT ${sql.unsafe(TABLE_COLUMNS)} FROM memories WHERE namespace_id = ${namespaceId} AND label > ${after}
            ORDER BY label LIMIT ${BATCH}`,
        );
      return {
        seq: head?.seq ?? 0,
        rows: (async function* () {
          for await (const batch of inBatches(read)) yield batch.map((t) => tableRow(t));
        })(),
      };
    },
    async *rowsSince(namespaceId, seq) {
      const read = (after: number) =>
        db.read(
          (sql) => sql<TableTuple[]>`
            SELECT ${sql.unsafe(TABLE_COLUMNS)}, text, metadata FROM memories
            WHERE namespace_id = ${namespaceId} AND seq > ${seq} AND label > ${after} ORDER BY label LIMIT ${BATCH}`,
        );
      for await (const batch of inBatches(read)) yield batch.map((t) => tableRow(t, true));
    },
    async *fieldValues(namespaceId, path) {
      const read = (after: number) =>
        db.read(
          (sql) => sql<{ label: number; value: unknown }[]>`
            SELECT label, metadata #> ${path as string[]}::text[] AS value FROM memories
            WHERE namespace_id = ${namespaceId} AND label > ${after} ORDER BY label LIMIT ${BATCH}`,
        );
      for await (const batch of inBatches(read)) yield batch.map((row): [Label, Scalar | undefined] => [asLabel(row.label), scalarOf(row.value)]);
    },
    async *texts(namespaceId) {
      const read = (after: number) =>
        db.read(
          (sql) => sql<{ label: number; text: string | null }[]>`
            SELECT label, text FROM memories WHERE namespace_id = ${namespaceId} AND label > ${after} ORDER BY label LIMIT ${BATCH}`,
        );
      for await (const batch of inBatches(read)) yield batch.map((row): [Label, string | null] => [asLabel(row.label), row.text]);
    },
    async textsSince(namespaceId, seq, afterLabel, limit) {
      const rows = await db.read(
        (sql) => sql<{ label: number; text: string | null }[]>`
          SELECT label, text FROM memories WHERE namespace_id = ${namespaceId} AND seq > ${seq} AND label > ${afterLabel}
          ORDER BY label LIMIT ${limit}`,
      );
      return rows.map((row) => ({ label: asLabel(row.label), text: row.text }));
    },
  };
}
