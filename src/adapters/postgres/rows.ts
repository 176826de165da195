/** Conversions between PostgreSQL rows and the core's records: vectors as float32 LE BYTEA, JSONB columns. */
import {
  asLabel,
  DEFAULT_DEDUPE,
  DEFAULT_FORGETTING,
  DEFAULT_HISTORY,
  DEFAULT_SETTINGS,
  type MemoryRecord,
  type Metadata,
  type NamespaceRecord,
  type NamespaceSettings,
  type Space,
} from '../../core/types.js';
import type { TableRow } from '../../core/table/index.js';

/** A JSON escape of a UTF-16 surrogate, which JSON.stringify writes only for a lone one. */
const LONE_ESCAPE = /\\ud[89a-f][0-9a-f]{2}/i;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const wellFormed = (value: unknown): unknown => {
  if (typeof value === 'string') return value.replace(LONE_SURROGATE, '\ufffd');
  if (Array.isArray(value)) return value.map(wellFormed);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [wellFormed(k), wellFormed(v)]));
  return value;
};

/**
 * A value as JSON text for a `::jsonb` parameter. JSONB refuses a lone surrogate (`"\ud800"`, which
 * JSON.stringify writes for one, and which SQLite stores as it is): it becomes U+FFFD, as it does in every
 * TEXT column (the driver encodes strings as UTF-8), instead of failing the write.
 */
export function jsonText(value: unknown): string {
  const text = JSON.stringify(value);
  return LONE_ESCAPE.test(text) ? JSON.stringify(wellFormed(value)) : text;
}

export function vectorToBytes(vector: Float32Array): Buffer {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
}

export function bytesToVector(bytes: Buffer): Float32Array {
  // A Float32Array view needs 4-byte alignment; copy when the driver's buffer is not aligned.
  if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  return new Float32Array(new Uint8Array(bytes).buffer);
}

/**
 * Many vectors as one BYTEA parameter and the offset of each: a bulk statement cuts vector i out with
 * `substring(blob FROM offset + 1 FOR length)`, so a write of a thousand memories sends one parameter, not a
 * thousand (and no text encoding of the bytes).
 */
export function packVectors(vectors: Float32Array[]): { blob: Buffer; offsets: number[]; lengths: number[] } {
  const offsets: number[] = [];
  const lengths: number[] = [];
  let at = 0;
  for (const v of vectors) {
    offsets.push(at);
    lengths.push(v.byteLength);
    at += v.byteLength;
  }
  const blob = Buffer.allocUnsafe(at);
  vectors.forEach((v, i) => blob.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), offsets[i]));
  return { blob, offsets, lengths };
}

export interface NamespaceRow {
  id: number;
  uid: string;
  name: string;
  metadata: Metadata;
  dimensions_open: boolean;
  space: Space;
  dimensions: number;
  embedder: string | null;
  embedder_revision: string | null;
  hnsw_m: number;
  hnsw_ef_construction: number;
  hnsw_ef_search: number;
  hnsw_threshold: number | null;
  settings: Partial<NamespaceSettings>;
  created_at: number;
  generation: number;
  head_seq: number;
}

export function toNamespace(row: NamespaceRow): NamespaceRecord {
  const stored = row.settings;
  return {
    id: row.id,
    uid: row.uid,
    name: row.name,
    space: row.space,
    dimensions: row.dimensions,
    dimensionsOpen: row.dimensions_open,
    metadata: row.metadata,
    embedder: row.embedder,
    embedderRevision: row.embedder_revision,
    hnsw: { m: row.hnsw_m, efConstruction: row.hnsw_ef_construction, efSearch: row.hnsw_ef_search, threshold: row.hnsw_threshold },
    settings: {
      ...DEFAULT_SETTINGS,
      ...stored,
      forgetting: { ...DEFAULT_FORGETTING, ...stored.forgetting },
      dedupe: { ...DEFAULT_DEDUPE, ...stored.dedupe },
      history: { ...DEFAULT_HISTORY, ...stored.history },
    },
    createdAt: row.created_at,
    generation: row.generation,
  };
}

export interface MemoryRow {
  label: number;
  id: string;
  event_at: number;
  created_at: number;
  updated_at: number;
  document_id: string | null;
  chunk_index: number | null;
  importance: number | null;
  strength: number;
  recall_count: number;
  last_recalled_at: number | null;
  expires_at: number | null;
  pinned: boolean;
  text: string | null;
  metadata: Metadata;
  vector: Buffer | null;
}

export function fromRow(row: MemoryRow): MemoryRecord {
  const memory: MemoryRecord = {
    label: asLabel(row.label),
    id: row.id,
    timestamp: row.event_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    documentId: row.document_id,
    chunkIndex: row.chunk_index,
    importance: row.importance,
    strength: row.strength,
    recallCount: row.recall_count,
    lastRecalledAt: row.last_recalled_at,
    expiresAt: row.expires_at,
    pinned: row.pinned,
    text: row.text,
    metadata: row.metadata,
  };
  if (row.vector) memory.vector = bytesToVector(row.vector);
  return memory;
}

export interface TableTuple {
  label: number;
  vector: Buffer;
  event_at: number;
  expires_at: number | null;
  document_id: string | null;
  chunk_index: number | null;
  seq: number;
  text?: string | null;
  metadata?: Metadata;
}

export function tableRow(t: TableTuple, whole = false): TableRow {
  const row: TableRow = {
    label: asLabel(t.label),
    vector: bytesToVector(t.vector),
    eventAt: t.event_at,
    expiresAt: t.expires_at,
    documentId: t.document_id,
    chunkIndex: t.chunk_index,
    seq: t.seq,
  };
  if (whole) {
    row.text = t.text ?? null;
    row.metadata = t.metadata ?? {};
  }
  return row;
}
