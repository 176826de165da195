/**
 * The JSONL export format (see ../sqlite/portable.ts) read from and written to PostgreSQL, so that a data
 * directory moves to a cluster losslessly (`membank export --data-dir … | membank import --database-url …`)
 * and back. Lines carry SQLite's encodings (JSON columns as text, booleans as 0/1, BLOBs as base64): both
 * stores read each other's exports. Labels and change numbers are not carried; they are assigned anew.
 */
import { MembankError } from '../../core/errors.js';
import type { ExportLine } from '../sqlite/portable.js';
import type { PostgresDatabase, TransactionSql } from './database.js';

type Row = Record<string, unknown>;

/** Hidden namespaces that index a namespace's fact sentences are named after its internal id. */
const FACT_INDEX_PREFIX = '~facts.';
/** Rows per INSERT of an import (well under PostgreSQL's 65,535 parameters). */
const INSERT_BATCH = 200;

interface Columns {
  /** Column name → PostgreSQL type name (udt_name: jsonb, bool, bytea, int8, …). */
  namespaces: Map<string, string>;
  memories: Map<string, string>;
  facts: Map<string, string>;
}

async function columnsOf(sql: PostgresDatabase['sql'] | TransactionSql): Promise<Columns> {
  const rows = await sql<{ table_name: keyof Columns; column_name: string; udt_name: string }[]>`
    SELECT table_name, column_name, udt_name FROM information_schema.columns
    WHERE table_schema = current_schema() AND table_name IN ('namespaces', 'memories', 'facts')`;
  const columns: Columns = { namespaces: new Map(), memories: new Map(), facts: new Map() };
  for (const row of rows) columns[row.table_name].set(row.column_name, row.udt_name);
  return columns;
}

/** A PostgreSQL row in the export's encoding. */
function encodeRow(row: Row, types: Map<string, string>, drop: string[]): Row {
  const out: Row = {};
  for (const [key, value] of Object.entries(row)) {
    if (drop.includes(key)) continue;
    const type = types.get(key);
    if (value === null || value === undefined) out[key] = null;
    else if (Buffer.isBuffer(value)) out[key] = { $base64: value.toString('base64') };
    else if (type === 'jsonb' || type === 'json') out[key] = JSON.stringify(value);
    else if (type === 'bool') out[key] = value ? 1 : 0;
    else if (type === '_text') out[key] = JSON.stringify(value);
    else out[key] = value;
  }
  return out;
}

/** An export's value for a PostgreSQL column of this type. */
function decodeValue(sql: TransactionSql, value: unknown, type: string | undefined): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'object' && '$base64' in value) return Buffer.from(String((value as { $base64: string }).$base64), 'base64');
  if (type === 'jsonb' || type === 'json') return sql.json((typeof value === 'string' ? JSON.parse(value) : value) as never);
  if (type === 'bool') return value === true || value === 1 || value === '1';
  if (type === '_text') return typeof value === 'string' ? (JSON.parse(value) as string[]) : value;
  return value;
}

/** Every line of an export of the database, in an order that import can replay; one snapshot. */
export async function* exportPostgres(db: PostgresDatabase, options: { namespaces?: string[] } = {}): AsyncGenerator<ExportLine> {
  const reserved = await db.sql.reserve();
  try {
    // One repeatable-read transaction: the export is a snapshot while the nodes write.
    await reserved`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`;
    await reserved`SET LOCAL statement_timeout = 0`;
    const columns = await columnsOf(reserved as unknown as TransactionSql);
    yield { type: 'membank-export', version: 1, exportedAt: new Date().toISOString() };
    const all = await reserved<Row[]>`SELECT * FROM namespaces ORDER BY id`;
    const visible = all.filter((n) => !String(n.name).startsWith(FACT_INDEX_PREFIX));
    const chosen = options.namespaces ? visible.filter((n) => options.namespaces!.includes(String(n.name))) : visible;
    const missing = (options.namespaces ?? []).filter((name) => !chosen.some((n) => n.name === name));
    if (missing.length > 0) throw new MembankError('NAMESPACE_NOT_FOUND', `No namespace named ${missing.join(', ')} in the database.`);
    const memories = async function* (namespaceId: unknown): AsyncGenerator<Row> {
      let after = 0;
      for (;;) {
        const rows = await reserved<Row[]>`SELECT * FROM memories WHERE namespace_id = ${namespaceId as number} AND label > ${after} ORDER BY label LIMIT 1000`;
        yield* rows;
        if (rows.length < 1000) return;
        after = rows[rows.length - 1]!.label as number;
      }
    };
    const memoryDrop = ['label', 'namespace_id', 'seq'];
    for (const ns of chosen) {
      const name = String(ns.name);
      // head_seq and trimmed_seq travel as SQLite's export has them; PostgreSQL-only columns are left out.
      yield { type: 'namespace', row: encodeRow(ns, columns.namespaces, ['id']) };
      for await (const row of memories(ns.id)) yield { type: 'memory', namespace: name, row: encodeRow(row, columns.memories, memoryDrop) };
      for (const row of await reserved<Row[]>`SELECT * FROM facts WHERE namespace_id = ${ns.id as number} ORDER BY position`) {
        yield { type: 'fact', namespace: name, row: encodeRow(row, columns.facts, ['position', 'namespace_id']) };
      }
      const hidden = all.find((n) => n.name === `${FACT_INDEX_PREFIX}${String(ns.id)}`);
      if (hidden) {
        yield { type: 'namespace', row: encodeRow(hidden, columns.namespaces, ['id', 'name']), factIndexOf: name };
        for await (const row of memories(hidden.id)) {
          yield { type: 'memory', namespace: name, factIndex: true, row: encodeRow(row, columns.memories, memoryDrop) };
        }
      }
    }
    if (!options.namespaces) {
      const keyTypes = new Map([['namespaces', '_text']]);
      for (const row of await reserved<Row[]>`SELECT id, hash, role, namespaces, created_at, revoked_at FROM api_keys ORDER BY created_at, id COLLATE "C"`) {
        yield { type: 'key', row: encodeRow(row, keyTypes, []) };
      }
    }
    await reserved`COMMIT`;
  } finally {
    await reserved`ROLLBACK`.catch(() => undefined);
    reserved.release();
  }
}

export interface PostgresImportSummary {
  namespaces: number;
  memories: number;
  facts: number;
}

/**
 * Imports export lines (from SQLite or PostgreSQL) into the database, in one transaction. Namespaces that
 * exist there already are refused: nothing is merged or overwritten. Nodes running on the database see the
 * imported namespaces at their next request (their heads are new to them).
 */
export async function importIntoPostgres(db: PostgresDatabase, lines: Iterable<ExportLine> | AsyncIterable<ExportLine>): Promise<PostgresImportSummary> {
  return db.sql.begin(async (tx) => {
    await tx`SET LOCAL statement_timeout = 0`;
    const columns = await columnsOf(tx);
    const summary: PostgresImportSummary = { namespaces: 0, memories: 0, facts: 0 };
    const ids = new Map<string, number>(); // namespace name -> new id
    const hiddenIds = new Map<string, number>(); // namespace name -> new id of its fact index
    const heads = new Map<number, number>(); // namespace id -> its head, which every imported row takes as its seq
    const idOf = (map: Map<string, number>, name: string) => {
      const id = map.get(name);
      if (id === undefined) throw new MembankError('VALIDATION_FAILED', `The export names namespace "${name}" before defining it.`);
      return id;
    };
    const pending: { table: 'memories' | 'facts'; rows: Row[] } = { table: 'memories', rows: [] };
    const flush = async () => {
      if (pending.rows.length === 0) return;
      const types = columns[pending.table];
      // Rows of one export share their columns; keep those this database has (an export from a newer version
      // may carry more).
      const keys = [...new Set(pending.rows.flatMap((r) => Object.keys(r)))].filter((k) => types.has(k));
      const rows = pending.rows.map((r) => Object.fromEntries(keys.map((k) => [k, decodeValue(tx, r[k], types.get(k))]))) as Record<string, never>[];
      await tx`INSERT INTO ${tx(pending.table)} ${tx(rows, keys)}`;
      pending.rows = [];
    };
    const add = async (table: 'memories' | 'facts', row: Row) => {
      if (pending.table !== table) await flush();
      pending.table = table;
      pending.rows.push(row);
      if (pending.rows.length >= INSERT_BATCH) await flush();
    };
    const insertNamespace = async (row: Row, name: string): Promise<number> => {
      const types = columns.namespaces;
      const entries = Object.entries({ ...row, name }).filter(([k]) => types.has(k) && k !== 'id');
      const record = Object.fromEntries(entries.map(([k, v]) => [k, decodeValue(tx, v, types.get(k))])) as Record<string, never>;
      const [inserted] = await tx<{ id: number; head_seq: number }[]>`
        INSERT INTO namespaces ${tx(record, Object.keys(record))} RETURNING id, head_seq`;
      // No change log travels: caches of the namespace must load it whole, never replay across the import.
      await tx`UPDATE namespaces SET trimmed_seq = head_seq WHERE id = ${inserted!.id}`;
      heads.set(inserted!.id, inserted!.head_seq);
      return inserted!.id;
    };
    let lineNo = 0;
    for await (const line of lines) {
      lineNo++;
      if (line.type === 'membank-export') continue;
      if (line.type === 'namespace') {
        await flush();
        if (line.factIndexOf !== undefined) {
          hiddenIds.set(line.factIndexOf, await insertNamespace(line.row, `${FACT_INDEX_PREFIX}${idOf(ids, line.factIndexOf)}`));
          continue;
        }
        const name = String(line.row.name ?? '');
        const [taken] = await tx`SELECT 1 FROM namespaces WHERE name = ${name}`;
        if (taken) throw new MembankError('NAMESPACE_CONFLICT', `Namespace "${name}" already exists in the database; import does not merge into it.`);
        ids.set(name, await insertNamespace(line.row, name));
        summary.namespaces++;
      } else if (line.type === 'memory') {
        const namespaceId = idOf(line.factIndex ? hiddenIds : ids, line.namespace);
        await add('memories', { ...line.row, namespace_id: namespaceId, seq: heads.get(namespaceId) ?? 0 });
        if (!line.factIndex) summary.memories++;
      } else if (line.type === 'fact') {
        await add('facts', { ...line.row, namespace_id: idOf(ids, line.namespace) });
        summary.facts++;
      } else if (line.type === 'key') {
        await flush();
        const k = line.row;
        const namespaces = decodeValue(tx, k.namespaces, '_text') as string[];
        // A key imported twice is the same key; another key with the same id or hash is refused.
        const kept = await tx`
          INSERT INTO api_keys (id, hash, role, namespaces, created_at, revoked_at)
          VALUES (${String(k.id)}, ${String(k.hash)}, ${String(k.role)}, ${namespaces}::text[], ${Number(k.created_at)}, ${k.revoked_at === null ? null : Number(k.revoked_at)})
          ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id WHERE api_keys.hash = EXCLUDED.hash RETURNING id`;
        if (kept.length === 0) throw new MembankError('VALIDATION_FAILED', `Another API key with id "${String(k.id)}" exists in the database.`);
      } else {
        throw new MembankError('VALIDATION_FAILED', `Line ${lineNo}: unknown line type ${JSON.stringify((line as { type?: unknown }).type)}.`);
      }
    }
    await flush();
    return summary;
  }) as Promise<PostgresImportSummary>;
}
