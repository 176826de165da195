/**
 * How Chroma's answers look: collections with their `configuration_json`, and float32 numbers written the way
 * Chroma writes them (the shortest decimal that reads back as the same float32, so `0.1` stays `0.1` rather
 * than 0.10000000149011612).
 */
import type { NamespaceRecord } from '../core/types.js';
import type { CollectionExtras } from './interim.js';
import { collectionOf, DEFAULT_DATABASE, DEFAULT_TENANT } from './names.js';

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

export function collectionView(record: NamespaceRecord, id: string, extras: CollectionExtras, dimensionless: boolean): CollectionView {
  const { tenant, database, name } = collectionOf(record.name);
  return {
    id,
    name,
    configuration_json: {
      hnsw: {
        space: record.space,
        ef_construction: record.hnsw.efConstruction,
        ef_search: record.hnsw.efSearch,
        max_neighbors: record.hnsw.m,
        resize_factor: extras.resizeFactor,
        sync_threshold: extras.syncThreshold,
      },
      spann: null,
      embedding_function: extras.embeddingFunction ?? null,
    },
    metadata: extras.metadata,
    dimension: dimensionless ? null : record.dimensions,
    tenant,
    database,
    log_position: 0,
    version: 0,
  };
}

/** Chroma's default database has the nil UUID. */
export const DEFAULT_DATABASE_ID = '00000000-0000-0000-0000-000000000000';

export const isDefaultDatabase = (tenant: string, database: string): boolean => tenant === DEFAULT_TENANT && database === DEFAULT_DATABASE;
