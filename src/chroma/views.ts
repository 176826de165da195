/**
 * How Chroma's answers look: collections with their `configuration_json`, and float32 numbers written the way
 * Chroma writes them (the shortest decimal that reads back as the same float32, so `0.1` stays `0.1` rather
 * than 0.10000000149011612).
 *
 * A collection is a namespace: its id is the namespace's uid, its metadata the namespace's metadata, its HNSW
 * settings the namespace's. What Chroma keeps of a collection's configuration and membank has no use for (the
 * client's embedding function, `resize_factor`, `sync_threshold`) rides in the namespace's metadata under the
 * reserved key `chroma:configuration`, which Chroma's view of the metadata leaves out.
 */
import { createHash } from 'node:crypto';
import type { Metadata, MetadataValue, NamespaceRecord } from '../core/types.js';
import { collectionOf, DEFAULT_DATABASE, DEFAULT_TENANT } from './names.js';

/** Where a collection's Chroma-only configuration is kept among its namespace's metadata. */
export const CONFIGURATION_KEY = 'chroma:configuration';

/** Chroma's configuration that membank keeps without using it. */
export interface ChromaConfiguration {
  embeddingFunction: unknown;
  resizeFactor: number;
  syncThreshold: number;
}

/** Chroma 1.0's values for a collection created without them. */
export const DEFAULT_CONFIGURATION: ChromaConfiguration = { embeddingFunction: null, resizeFactor: 1.2, syncThreshold: 1000 };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The configuration kept in a namespace's metadata, Chroma's defaults for what is not there. */
export function configurationOf(metadata: Metadata): ChromaConfiguration {
  const kept = metadata[CONFIGURATION_KEY];
  if (!isObject(kept)) return DEFAULT_CONFIGURATION;
  return {
    embeddingFunction: kept.embedding_function ?? null,
    resizeFactor: typeof kept.resize_factor === 'number' ? kept.resize_factor : DEFAULT_CONFIGURATION.resizeFactor,
    syncThreshold: typeof kept.sync_threshold === 'number' ? kept.sync_threshold : DEFAULT_CONFIGURATION.syncThreshold,
  };
}

/**
 * Namespace metadata holding the caller's metadata and a configuration; the reserved key only when the
 * configuration differs from Chroma's defaults, so that a plain collection's namespace carries nothing of it.
 */
export function namespaceMetadata(user: Record<string, unknown> | null, configuration: ChromaConfiguration): Metadata {
  const out: Metadata = { ...((user ?? {}) as Metadata) };
  delete out[CONFIGURATION_KEY];
  const kept: Record<string, MetadataValue> = {};
  if (configuration.embeddingFunction !== null) kept.embedding_function = configuration.embeddingFunction as MetadataValue;
  if (configuration.resizeFactor !== DEFAULT_CONFIGURATION.resizeFactor) kept.resize_factor = configuration.resizeFactor;
  if (configuration.syncThreshold !== DEFAULT_CONFIGURATION.syncThreshold) kept.sync_threshold = configuration.syncThreshold;
  if (Object.keys(kept).length > 0) out[CONFIGURATION_KEY] = kept;
  return out;
}

/** The caller's metadata of a collection, as Chroma shows it: without the reserved key, null when empty. */
export function userMetadataOf(metadata: Metadata): Record<string, unknown> | null {
  const { [CONFIGURATION_KEY]: _configuration, ...user } = metadata;
  return Object.keys(user).length > 0 ? user : null;
}

/** A UUID (version 4 layout) from a hash, so that the same seed always gives the same id. */
export function derivedUuid(seed: string): string {
  const b = createHash('sha256').update(seed).digest();
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = b.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The shortest decimal of a float32. */
export function f32(x: number): number {
  const target = Math.fround(x);
  if (!Number.isFinite(target) || Number.isInteger(target)) return target;
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number(target.toPrecision(digits));
    if (Math.fround(candidate) === target) return candidate;
  }
  return Number(target.toPrecision(9));
}

export const f32s = (vector: Float32Array): number[] => Array.from(vector, f32);

export interface CollectionView {
  id: string;
  name: string;
  configuration_json: {
    hnsw: { space: string; ef_construction: number; ef_search: number; max_neighbors: number; resize_factor: number; sync_threshold: number };
    spann: null;
    embedding_function: unknown;
  };
  metadata: Record<string, unknown> | null;
  dimension: number | null;
  tenant: string;
  database: string;
  log_position: number;
  version: number;
}

export function collectionView(record: NamespaceRecord): CollectionView {
  const { tenant, database, name } = collectionOf(record.name);
  const configuration = configurationOf(record.metadata);
  return {
    id: record.uid,
    name,
    configuration_json: {
      hnsw: {
        space: record.space,
        ef_construction: record.hnsw.efConstruction,
        ef_search: record.hnsw.efSearch,
        max_neighbors: record.hnsw.m,
        resize_factor: configuration.resizeFactor,
        sync_threshold: configuration.syncThreshold,
      },
      spann: null,
      embedding_function: configuration.embeddingFunction,
    },
    metadata: userMetadataOf(record.metadata),
    // Null until the first record decides them, as Chroma shows a collection that has none.
    dimension: record.dimensionsOpen ? null : record.dimensions,
    tenant,
    database,
    log_position: 0,
    version: 0,
  };
}

/** Chroma's default database has the nil UUID. */
export const DEFAULT_DATABASE_ID = '00000000-0000-0000-0000-000000000000';

export const isDefaultDatabase = (tenant: string, database: string): boolean => tenant === DEFAULT_TENANT && database === DEFAULT_DATABASE;
