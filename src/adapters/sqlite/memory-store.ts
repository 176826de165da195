/**
 * Memories in SQLite. Each write is one transaction that takes the next numbers of its namespace's change
 * sequence (`namespaces.head_seq`, advanced inside the transaction), stamps each changed row with its number
 * and logs the change in `changes`; a write is acknowledged only after its transaction commits.
 */
import type Database from 'better-sqlite3';
import { MembankError } from '../../core/errors.js';
import type { Scalar } from '../../core/filter.js';
import { normalizeText } from '../../core/normalize.js';
import { scalarAt, type TableRow } from '../../core/table/index.js';
import { asLabel, DEFAULT_HISTORY, type Label, type MemoryWrite, type Metadata } from '../../core/types.js';
import type { ChangeOp } from '../../ports/change-log.js';
import type { HistoryOp, RemovalPolicy } from '../../ports/history-store.js';
import type { DeleteOutcome, Duplicate, MemoryFields, MemoryPage, MemoryPatch, MemoryStore, RemovalReason, WriteOutcome } from '../../ports/memory-store.js';
import { textKey } from '../text-key.js';
import { inBatches } from './database.js';
import { blobToVector, fromRow, memoryColumns, type MemoryRow, vectorToBlob } from './rows.js';

const BATCH = 5000;
const ALL = { text: true, metadata: true, vector: false };
const ALL_WITH_VECTOR = { text: true, metadata: true, vector: true };
/** A memory not yet expired at the time bound to the statement's parameter `@now`. */
const VISIBLE = '(expires_at IS NULL OR expires_at > @now)';
const TABLE_COLUMNS = 'label, vector, event_at, expires_at, document_id, chunk_index, seq';

type TableTuple = [number, Buffer, number, number | null, string | null, number | null, number];
type FullTuple = [...TableTuple, string | null, string];

const tableRow = (t: TableTuple): TableRow => ({
  label: asLabel(t[0]),
  vector: blobToVector(t[1]),
  eventAt: t[2],
  expiresAt: t[3],
  documentId: t[4],
  chunkIndex: t[5],
  seq: t[6],
});

/** A JSON value read by json_extract with its json_type, as the scalar filters compare (undefined otherwise). */
function scalarOf(value: unknown, type: string | null): Scalar | undefined {
  switch (type) {
    case 'text':
      return value as string;
    case 'integer':
    case 'real':
      return Number(value);
    case 'true':
      return true;
    case 'false':
      return false;
    default:
      return undefined;
  }
}

export function createSqliteMemoryStore(db: Database.Database): MemoryStore {
  const sql = {
    advance: db.prepare('UPDATE namespaces SET head_seq = head_seq + ? WHERE id = ? RETURNING head_seq, generation').raw(),
    logChange: db.prepare('INSERT INTO changes (namespace_id, seq, at, op, memory_id, label) VALUES (?, ?, ?, ?, ?, ?)'),
    // Replacing a memory replaces it whole: its strength and recalls start again; created_at stays.
    insert: db
      .prepare(
        `INSERT INTO memories (namespace_id, id, text, metadata, vector, event_at, created_at, updated_at, document_id, chunk_index,
           importance, strength, expires_at, seq, text_key, pinned)
         VALUES (@ns, @id, @text, @metadata, @vector, @eventAt, @now, @now, @documentId, @chunkIndex, @importance, @strength, @expiresAt, @seq,
           @textKey, @pinned)
         ON CONFLICT (namespace_id, id) DO NOTHING RETURNING label`,
      )
      .pluck(),
    update: db
      .prepare(
        `UPDATE memories SET text = @text, metadata = @metadata, vector = @vector, event_at = @eventAt, updated_at = @now,
           document_id = @documentId, chunk_index = @chunkIndex, importance = @importance, strength = @strength,
           recall_count = 0, last_recalled_at = NULL, expires_at = @expiresAt, seq = @seq, text_key = @textKey, pinned = @pinned
         WHERE namespace_id = @ns AND id = @id RETURNING label`,
      )
      .pluck(),
    patch: db
      .prepare(
        `UPDATE memories SET text = CASE WHEN @setText THEN @text ELSE text END, metadata = coalesce(@metadata, metadata),
           vector = coalesce(@vector, vector), updated_at = @now, seq = @seq,
           text_key = CASE WHEN @setText THEN @textKey ELSE text_key END, pinned = coalesce(@pinned, pinned)
         WHERE namespace_id = @ns AND id = @id RETURNING ${TABLE_COLUMNS}, text, metadata`,
      )
      .raw(),
    labelOf: db.prepare('SELECT label FROM memories WHERE namespace_id = ? AND id = ?').pluck(),
    previous: db.prepare('SELECT text, metadata FROM memories WHERE namespace_id = ? AND id = ?'),
    // Live memories outside documents with this text key (a key's matches are compared by normalized text).
    sameText: db.prepare(
      `SELECT label, id, text, metadata FROM memories WHERE namespace_id = ? AND text_key = ? AND document_id IS NULL
         AND (expires_at IS NULL OR expires_at > ?) ORDER BY label LIMIT 16`,
    ),
    liveByLabel: db.prepare(
      'SELECT label, id, text, metadata FROM memories WHERE label = ? AND namespace_id = ? AND (expires_at IS NULL OR expires_at > ?)',
    ),
    // A duplicate write is a recall of the memory it folds into (see core/retention.ts); `pinned` only pins.
    recallDuplicate: db.prepare(
      `UPDATE memories SET strength = strength + 1, recall_count = recall_count + 1, last_recalled_at = max(coalesce(last_recalled_at, 0), @now),
         pinned = max(pinned, @pinned) WHERE label = @label`,
    ),
    mergeDuplicate: db
      .prepare(`UPDATE memories SET metadata = @metadata, updated_at = @now, seq = @seq WHERE label = @label RETURNING ${TABLE_COLUMNS}, text, metadata`)
      .raw(),
    pinned: db.prepare(`SELECT ${memoryColumns(ALL)} FROM memories WHERE namespace_id = @ns AND pinned = 1 AND ${VISIBLE} ORDER BY label LIMIT @limit`).raw(),
    addHistory: db.prepare(
      `INSERT INTO memory_history (namespace_id, memory_id, seq, at, op, reason, text, metadata, similarity)
       VALUES (@ns, @id, @seq, @at, @op, @reason, @text, @metadata, @similarity)`,
    ),
    // Earlier versions beyond the namespace's cap go, oldest first (and so do as many duplicate notes).
    capHistory: db.prepare(
      `DELETE FROM memory_history WHERE namespace_id = @ns AND memory_id = @id AND op = @op AND id NOT IN
         (SELECT id FROM memory_history WHERE namespace_id = @ns AND memory_id = @id AND op = @op ORDER BY id DESC LIMIT @keep)`,
    ),
    forgetHistory: db.prepare('DELETE FROM memory_history WHERE namespace_id = ? AND memory_id = ?'),
    deleteById: db.prepare('DELETE FROM memories WHERE namespace_id = ? AND id = ? RETURNING label').pluck(),
    deleteLabel: db.prepare('DELETE FROM memories WHERE label = ? AND namespace_id = ? RETURNING id').pluck(),
    documentChunks: db.prepare('SELECT label, id FROM memories WHERE namespace_id = ? AND document_id = ? ORDER BY chunk_index'),
    count: db.prepare('SELECT COUNT(*) FROM memories WHERE namespace_id = ?').pluck(),
    countWithoutText: db.prepare('SELECT COUNT(*) FROM memories WHERE namespace_id = ? AND text IS NULL').pluck(),
    byId: db.prepare(`SELECT ${memoryColumns(ALL)} FROM memories WHERE namespace_id = @ns AND id = @id AND ${VISIBLE}`).raw(),
    byIdWithVector: db.prepare(`SELECT ${memoryColumns(ALL_WITH_VECTOR)} FROM memories WHERE namespace_id = @ns AND id = @id AND ${VISIBLE}`).raw(),
    page: db
      .prepare(`SELECT ${memoryColumns(ALL)} FROM memories WHERE namespace_id = @ns AND label > @after AND ${VISIBLE} ORDER BY label LIMIT @limit`)
      .raw(),
    pageWithVector: db
      .prepare(
        `SELECT ${memoryColumns(ALL_WITH_VECTOR)} FROM memories WHERE namespace_id = @ns AND label > @after AND ${VISIBLE} ORDER BY label LIMIT @limit`,
      )
      .raw(),
    reinforce: db.prepare(
      'UPDATE memories SET strength = strength + ?, recall_count = recall_count + ?, last_recalled_at = max(coalesce(last_recalled_at, 0), ?) WHERE label = ?',
    ),
    head: db.prepare('SELECT head_seq FROM namespaces WHERE id = ?').pluck(),
    tableRows: db.prepare(`SELECT ${TABLE_COLUMNS} FROM memories WHERE namespace_id = ? AND label > ? ORDER BY label LIMIT ?`).raw(),
    rowsSince: db
      .prepare(`SELECT ${TABLE_COLUMNS}, text, metadata FROM memories WHERE namespace_id = ? AND seq > ? AND label > ? ORDER BY label LIMIT ?`)
      .raw(),
    fieldValues: db
      .prepare(`SELECT label, json_extract(metadata, ?), json_type(metadata, ?) FROM memories WHERE namespace_id = ? AND label > ? ORDER BY label LIMIT ?`)
      .raw(),
    texts: db.prepare('SELECT label, text FROM memories WHERE namespace_id = ? AND label > ? ORDER BY label LIMIT ?').raw(),
    metadataAfter: db.prepare('SELECT label, metadata FROM memories WHERE namespace_id = ? AND label > ? ORDER BY label LIMIT ?').raw(),
    textsSince: db.prepare('SELECT label, text FROM memories WHERE namespace_id = ? AND seq > ? AND label > ? ORDER BY label LIMIT ?'),
  };

  /**
   * Takes `count` numbers of the namespace's sequence; answers the first. With `generation`, refuses (throwing,
   * so the transaction rolls back) when the namespace was re-embedded since the caller's vectors were made.
   */
  const take = (namespaceId: number, count: number, generation?: number): number => {
    const [head, current] = sql.advance.get(count, namespaceId) as [number, number];
    if (generation !== undefined && current !== generation) {
      throw new MembankError('EMBEDDER_MISMATCH', 'The namespace was re-embedded while this write was being embedded; it was not written. Send it again.');
    }
    return head - count + 1;
  };

  const log = (namespaceId: number, seq: number, at: number, op: ChangeOp, id: string, label: number): void => {
    sql.logChange.run(namespaceId, seq, at, op, id, label);
  };

  type History = { op: HistoryOp; reason?: RemovalPolicy; previous?: { text: string | null; metadata: string }; similarity?: number };
  const record = (namespaceId: number, id: string, seq: number, at: number, event: History, maxVersions: number): void => {
    sql.addHistory.run({
      ns: namespaceId,
      id,
      seq,
      at,
      op: event.op,
      reason: event.reason ?? null,
      text: event.previous?.text ?? null,
      metadata: event.previous?.metadata ?? null,
      similarity: event.similarity ?? null,
    });
    if (event.op === 'updated' || event.op === 'deduplicated') sql.capHistory.run({ ns: namespaceId, id, op: event.op, keep: maxVersions });
  };

  /** What a removal leaves of a memory's history: its tombstone alone. */
  const TOMBSTONES: Record<ChangeOp, History | undefined> = {
    created: undefined,
    updated: undefined,
    deleted: { op: 'forgotten', reason: 'delete' },
    expired: { op: 'expired', reason: 'ttl' },
    forgotten: { op: 'forgotten', reason: 'retention' },
    erased: { op: 'forgotten', reason: 'erase' },
  };
  const bury = (namespaceId: number, id: string, seq: number, at: number, op: ChangeOp): void => {
    sql.forgetHistory.run(namespaceId, id);
    const tombstone = TOMBSTONES[op];
    if (tombstone) record(namespaceId, id, seq, at, tombstone, 0);
  };

  type Found = { label: number; id: string; text: string | null; metadata: string };
  /** The live memory a write folds into, if any: equal normalized text first, then the near one named. */
  const duplicateOf = (namespaceId: number, m: MemoryWrite, key: string | null, now: number): { row: Found; similarity: number } | undefined => {
    if (key !== null) {
      const normalized = normalizeText(m.text!);
      const equal = (sql.sameText.all(namespaceId, key, now) as Found[]).find((row) => row.text !== null && normalizeText(row.text) === normalized);
      if (equal) return { row: equal, similarity: 1 };
    }
    const near = m.dedupe?.near;
    const row = near && (sql.liveByLabel.get(near.label, namespaceId, now) as Found | undefined);
    return row ? { row, similarity: near.similarity } : undefined;
  };

  const write = db.transaction(
    (namespaceId: number, memories: MemoryWrite[], replaceDocument: string | undefined, now: number, generation: number, maxVersions: number): WriteOutcome => {
      let stale: { label: number; id: string }[] = [];
      if (replaceDocument !== undefined) {
        const keep = new Set(memories.map((m) => m.id));
        stale = (sql.documentChunks.all(namespaceId, replaceDocument) as { label: number; id: string }[]).filter((row) => !keep.has(row.id));
      }
      const keys = memories.map((m) => textKey(m.text));
      // Duplicates are decided first, so that the write takes as many numbers as it makes changes.
      const found = memories.map((m, i) => (m.dedupe ? duplicateOf(namespaceId, m, keys[i]!, now) : undefined));
      const changes = memories.filter((m, i) => found[i] === undefined || m.dedupe!.onDuplicate === 'merge').length;
      const firstSeq = take(namespaceId, stale.length + changes, generation);
      let seq = firstSeq;
      for (const row of stale) {
        sql.deleteLabel.get(row.label, namespaceId);
        log(namespaceId, seq, now, 'deleted', row.id, row.label);
        bury(namespaceId, row.id, seq++, now, 'deleted');
      }
      const written = memories.map((m, i): WriteOutcome['written'][number] => {
        const dup = found[i];
        if (dup) {
          sql.recallDuplicate.run({ label: dup.row.label, now, pinned: m.pinned ? 1 : 0 });
          const duplicate: Duplicate = { id: dup.row.id, similarity: dup.similarity, row: null };
          let at = firstSeq + stale.length + changes - 1;
          if (m.dedupe!.onDuplicate === 'merge') {
            at = seq++;
            const metadata = { ...(JSON.parse(dup.row.metadata) as Metadata), ...m.metadata };
            const t = sql.mergeDuplicate.get({ label: dup.row.label, metadata: JSON.stringify(metadata), now, seq: at }) as FullTuple;
            log(namespaceId, at, now, 'updated', dup.row.id, dup.row.label);
            duplicate.row = { ...tableRow(t as unknown as TableTuple), text: t[7], metadata };
          }
          record(namespaceId, dup.row.id, at, now, { op: 'deduplicated', similarity: dup.similarity }, maxVersions);
          return { label: asLabel(dup.row.label), seq: duplicate.row ? at : 0, duplicate };
        }
        const params = {
          ns: namespaceId,
          id: m.id,
          text: m.text,
          metadata: JSON.stringify(m.metadata),
          vector: vectorToBlob(m.vector),
          eventAt: m.timestamp,
          now,
          documentId: m.documentId,
          chunkIndex: m.chunkIndex,
          importance: m.importance,
          strength: m.strength,
          expiresAt: m.expiresAt,
          seq,
          textKey: keys[i],
          pinned: m.pinned ? 1 : 0,
        };
        const inserted = sql.insert.get(params) as number | undefined;
        let label = inserted;
        if (label === undefined) {
          const previous = sql.previous.get(namespaceId, m.id) as { text: string | null; metadata: string };
          label = sql.update.get(params) as number;
          record(namespaceId, m.id, seq, now, { op: 'updated', previous }, maxVersions);
        } else {
          record(namespaceId, m.id, seq, now, { op: 'created' }, maxVersions);
        }
        log(namespaceId, seq, now, inserted === undefined ? 'updated' : 'created', m.id, label);
        return { label: asLabel(label), seq: seq++ };
      });
      return { firstSeq, seq: seq - 1, written, removed: stale.map((row) => asLabel(row.label)) };
    },
  );

  /** Deletes rows found by `find`, then numbers and logs what was really deleted. */
  const remove = db.transaction((namespaceId: number, rows: { label: number; id: string }[], op: ChangeOp, now: number): DeleteOutcome | undefined => {
    if (rows.length === 0) return undefined;
    const firstSeq = take(namespaceId, rows.length);
    rows.forEach((row, i) => {
      log(namespaceId, firstSeq + i, now, op, row.id, row.label);
      bury(namespaceId, row.id, firstSeq + i, now, op);
    });
    return { firstSeq, seq: firstSeq + rows.length - 1, removed: rows.map((row) => asLabel(row.label)), ids: rows.map((row) => row.id) };
  });

  const deleteLabels = db.transaction((namespaceId: number, labels: Label[], op: ChangeOp, now: number) => {
    const rows: { label: number; id: string }[] = [];
    for (const label of labels) {
      const id = sql.deleteLabel.get(label, namespaceId) as string | undefined;
      if (id !== undefined) rows.push({ label, id });
    }
    return remove(namespaceId, rows, op, now);
  });

  const update = db.transaction((namespaceId: number, patches: MemoryPatch[], now: number, generation: number, maxVersions: number) => {
    const found = patches.filter((p) => sql.labelOf.get(namespaceId, p.id) !== undefined);
    const missing = patches.filter((p) => !found.includes(p)).map((p) => p.id);
    if (found.length === 0) return { firstSeq: 0, seq: 0, written: [], removed: [], missing, rows: [] };
    const firstSeq = take(namespaceId, found.length, generation);
    const rows = found.map((p, i) => {
      const seq = firstSeq + i;
      const previous = sql.previous.get(namespaceId, p.id) as { text: string | null; metadata: string };
      const t = sql.patch.get({
        ns: namespaceId,
        id: p.id,
        setText: p.text !== undefined ? 1 : 0,
        text: p.text ?? null,
        textKey: p.text === undefined ? null : textKey(p.text),
        metadata: p.metadata === undefined ? null : JSON.stringify(p.metadata),
        vector: p.vector === undefined ? null : vectorToBlob(p.vector),
        pinned: p.pinned === undefined ? null : p.pinned ? 1 : 0,
        now,
        seq,
      }) as FullTuple;
      record(namespaceId, p.id, seq, now, { op: 'updated', previous }, maxVersions);
      log(namespaceId, seq, now, 'updated', p.id, t[0]);
      return { ...tableRow(t as unknown as TableTuple), text: t[7], metadata: JSON.parse(t[8]) as Metadata };
    });
    return { firstSeq, seq: firstSeq + found.length - 1, written: rows.map((r) => ({ label: r.label, seq: r.seq })), removed: [], missing, rows };
  });

  const reinforce = db.transaction((recalls: { label: Label; recalls: number; at: number }[]) => {
    for (const r of recalls) sql.reinforce.run(r.recalls, r.recalls, r.at, r.label);
  });

  // Query results are read on the hot path: one statement per (fields, count), in raw mode, reading only
  // the columns asked for. Cached, and bounded.
  const byLabelsCache = new Map<string, Database.Statement>();
  const byLabels = (fields: MemoryFields, count: number): Database.Statement => {
    const key = `${Number(fields.text)}${Number(fields.metadata)}${Number(fields.vector)}:${count}`;
    let statement = byLabelsCache.get(key);
    if (!statement) {
      if (byLabelsCache.size >= 256) byLabelsCache.clear();
      // `+namespace_id` keeps the planner on the primary key: without it, SQLite scans the namespace's index.
      statement = db
        .prepare(`SELECT ${memoryColumns(fields)} FROM memories WHERE +namespace_id = ? AND label IN (${'?, '.repeat(count - 1)}?)`)
        .raw();
      byLabelsCache.set(key, statement);
    }
    return statement;
  };

  return {
    async write(namespaceId, memories, { replaceDocument, now, generation, maxVersions = DEFAULT_HISTORY.maxVersions }) {
      return write(namespaceId, memories, replaceDocument, now, generation, maxVersions);
    },
    async deleteById(namespaceId, id, now) {
      return db.transaction(() => {
        const label = sql.deleteById.get(namespaceId, id) as number | undefined;
        return label === undefined ? undefined : remove(namespaceId, [{ label, id }], 'deleted', now);
      })();
    },
    async deleteDocument(namespaceId, documentId, now) {
      return db.transaction(() => {
        const rows = sql.documentChunks.all(namespaceId, documentId) as { label: number; id: string }[];
        for (const row of rows) sql.deleteLabel.get(row.label, namespaceId);
        return remove(namespaceId, rows, 'deleted', now);
      })();
    },
    async deleteLabels(namespaceId, labels, reason: RemovalReason, now) {
      return deleteLabels(namespaceId, labels, reason, now);
    },
    async get(namespaceId, id, withVector, now) {
      const row = (withVector ? sql.byIdWithVector : sql.byId).get({ ns: namespaceId, id, now }) as MemoryRow | undefined;
      return row && fromRow(row);
    },
    async list(namespaceId, after, limit, withVector, now): Promise<MemoryPage> {
      const rows = (withVector ? sql.pageWithVector : sql.page).all({ ns: namespaceId, after: after ?? 0, now, limit: limit + 1 }) as MemoryRow[];
      const more = rows.length > limit;
      const memories = rows.slice(0, limit).map(fromRow);
      return { memories, next: more ? memories[memories.length - 1]!.label : null };
    },
    async byLabels(namespaceId, labels, fields) {
      if (labels.length === 0) return [];
      return (byLabels(fields, labels.length).all(namespaceId, ...labels) as MemoryRow[]).map(fromRow);
    },
    async byIds(namespaceId, ids, fields, now) {
      if (ids.length === 0) return [];
      const rows = db
        .prepare(
          `SELECT ${memoryColumns(fields)} FROM memories WHERE namespace_id = ? AND id IN (SELECT value FROM json_each(?))
           AND (expires_at IS NULL OR expires_at > ?) ORDER BY label`,
        )
        .raw()
        .all(namespaceId, JSON.stringify(ids), now) as MemoryRow[];
      return rows.map(fromRow);
    },
    async update(namespaceId, patches, { now, generation, maxVersions = DEFAULT_HISTORY.maxVersions }) {
      return update(namespaceId, patches, now, generation, maxVersions);
    },
    async pinned(namespaceId, now, limit) {
      return (sql.pinned.all({ ns: namespaceId, now, limit }) as MemoryRow[]).map(fromRow);
    },
    async count(namespaceId) {
      return sql.count.get(namespaceId) as number;
    },
    async countWithoutText(namespaceId) {
      return sql.countWithoutText.get(namespaceId) as number;
    },
    async reinforce(recalls) {
      reinforce(recalls);
    },
    async tableRows(namespaceId) {
      // The caller holds the namespace's write lock, so batches read between other namespaces' writes still
      // form one snapshot of this namespace.
      const seq = sql.head.get(namespaceId) as number;
      const rows = inBatches((after) => sql.tableRows.all(namespaceId, after, BATCH) as TableTuple[], (t) => t[0], BATCH);
      return {
        seq,
        rows: (async function* () {
          for await (const batch of rows) yield batch.map(tableRow);
        })(),
      };
    },
    async *rowsSince(namespaceId, seq) {
      for await (const batch of inBatches((after) => sql.rowsSince.all(namespaceId, seq, after, BATCH) as FullTuple[], (t) => t[0], BATCH)) {
        yield batch.map((t) => ({ ...tableRow(t as unknown as TableTuple), text: t[7], metadata: JSON.parse(t[8]) }));
      }
    },
    async *fieldValues(namespaceId, path) {
      // SQLite's JSON paths quote a key in double quotes, with no escape: a key holding `"` (or a `\` or a
      // control character, which it may read specially) cannot be named, so its values are read from the metadata.
      if (path.some((segment) => /["\\\p{Cc}]/u.test(segment))) {
        const read = (after: number) => sql.metadataAfter.all(namespaceId, after, BATCH) as [number, string][];
        for await (const batch of inBatches(read, (t) => t[0], BATCH)) {
          yield batch.map(([label, metadata]) => [asLabel(label), scalarAt(JSON.parse(metadata) as Metadata, path)]);
        }
        return;
      }
      const jsonPath = '$' + path.map((segment) => `."${segment}"`).join('');
      const read = (after: number) => sql.fieldValues.all(jsonPath, jsonPath, namespaceId, after, BATCH) as [number, unknown, string | null][];
      for await (const batch of inBatches(read, (t) => t[0], BATCH)) {
        yield batch.map(([label, value, type]) => [asLabel(label), scalarOf(value, type)]);
      }
    },
    async *texts(namespaceId) {
      const read = (after: number) => sql.texts.all(namespaceId, after, BATCH) as [number, string | null][];
      for await (const batch of inBatches(read, (t) => t[0], BATCH)) yield batch.map(([label, text]) => [asLabel(label), text]);
    },
    async textsSince(namespaceId, seq, afterLabel, limit) {
      const rows = sql.textsSince.all(namespaceId, seq, afterLabel, limit) as { label: number; text: string | null }[];
      return rows.map((row) => ({ label: asLabel(row.label), text: row.text }));
    },
  };
}
