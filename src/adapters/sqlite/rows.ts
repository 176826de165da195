/** Conversions between SQLite rows and the core's records: vectors as float32 BLOBs, JSON columns, namespaces. */
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
import type { MemoryFields } from '../../ports/memory-store.js';

export function vectorToBlob(vector: Float32Array): Buffer {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
}

export function blobToVector(blob: Buffer): Float32Array {
  // A Float32Array view needs 4-byte alignment; copy when the driver's buffer is not aligned.
  if (blob.byteOffset % 4 === 0) return new Float32Array(blob.buffer, blob.byteOffset, blob.byteLength / 4);
  return new Float32Array(new Uint8Array(blob).buffer);
}

export interface NamespaceRow {
  id: number;
  uid: string;
  name: string;
  metadata: string;
  dimensions_open: number;
  space: Space;
  dimensions: number;
  embedder: string | null;
  embedder_revision: string | null;
  hnsw_m: number;
  hnsw_ef_construction: number;
  hnsw_ef_search: number;
  hnsw_threshold: number | null;
  settings: string;
  created_at: number;
  generation: number;
}

function settingsOf(json: string): NamespaceSettings {
  const stored = JSON.parse(json) as Partial<NamespaceSettings>;
  return {
    ...DEFAULT_SETTINGS,
    ...stored,
    forgetting: { ...DEFAULT_FORGETTING, ...stored.forgetting },
    dedupe: { ...DEFAULT_DEDUPE, ...stored.dedupe },
    history: { ...DEFAULT_HISTORY, ...stored.history },
  };
}

export function toNamespace(row: NamespaceRow): NamespaceRecord {
  return {
    id: row.id,
    uid: row.uid,
    name: row.name,
    space: row.space,
    dimensions: row.dimensions,
    dimensionsOpen: row.dimensions_open === 1,
    metadata: JSON.parse(row.metadata) as Metadata,
    embedder: row.embedder,
    embedderRevision: row.embedder_revision,
    hnsw: { m: row.hnsw_m, efConstruction: row.hnsw_ef_construction, efSearch: row.hnsw_ef_search, threshold: row.hnsw_threshold },
    settings: settingsOf(row.settings),
    createdAt: row.created_at,
    generation: row.generation,
  };
}

/** Columns of a memory, in the order `fromRow` reads them; fields not asked for are read as empty. */
export function memoryColumns(fields: MemoryFields): string {
  return [
    'label, id, event_at, created_at, updated_at, document_id, chunk_index',
    'importance, strength, recall_count, last_recalled_at, expires_at, pinned',
    fields.text ? 'text' : 'NULL',
    fields.metadata ? 'metadata' : `'{}'`,
    fields.vector ? 'vector' : 'NULL',
  ].join(', ');
}

export type MemoryRow = [
  number, string, number, number, number, string | null, number | null,
  number | null, number, number, number | null, number | null, number,
  string | null, string, Buffer | null,
];

export function fromRow(row: MemoryRow): MemoryRecord {
  const memory: MemoryRecord = {
    label: asLabel(row[0]),
    id: row[1],
    timestamp: row[2],
    createdAt: row[3],
    updatedAt: row[4],
    documentId: row[5],
    chunkIndex: row[6],
    importance: row[7],
    strength: row[8],
    recallCount: row[9],
    lastRecalledAt: row[10],
    expiresAt: row[11],
    pinned: row[12] === 1,
    text: row[13],
    metadata: row[14] === '{}' ? {} : (JSON.parse(row[14]) as Metadata),
  };
  if (row[15]) memory.vector = blobToVector(row[15]);
  return memory;
}
