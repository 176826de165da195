/**
 * Stand-ins for service features that the Chroma API needs and the service does not have yet, built on the
 * service's public methods. Each is marked `// until the service has …`; when the feature lands, the function's
 * body becomes one call into the service and its callers stay as they are.
 *
 * What they cost meanwhile (README, "Chroma-compatible API"): collection UUIDs are derived from namespace
 * names, so a renamed collection keeps its old UUID only until a restart; collection metadata and the
 * embedding-function configuration are kept in this process only; listings, `where_document` and `ids`
 * filters scan the namespace; a partial update rewrites the memory (its recall strength starts again); a
 * rename copies the namespace.
 */
import { createHash } from 'node:crypto';
import type { MemoryInput } from '../api/schemas.js';
import { isMembankError } from '../core/errors.js';
import { type FilterNode, matchesFilter } from '../core/filter.js';
import type { Metadata, MemoryRecord, NamespaceRecord } from '../core/types.js';
import type { MemoryService } from '../service/memory-service.js';
import { type DocumentFilter, type Folded, matchesDocument } from './where.js';

/** Dimensions of a namespace made for a collection before its first record says how many it has. */
export const PLACEHOLDER_DIMENSIONS = 1;

/** Memories read or written per service call. */
const PAGE = 1000;

/** What Chroma keeps per collection and membank's namespaces do not (yet). */
export interface CollectionExtras {
  metadata: Metadata | null;
  embeddingFunction: unknown;
  resizeFactor: number;
  syncThreshold: number;
}

export interface Scan {
  ids?: string[];
  filter: Folded<FilterNode>;
  document: Folded<DocumentFilter>;
  offset: number;
  limit?: number;
  withVector: boolean;
}

/** A change to one stored memory: only the fields given change. */
export interface MemoryPatch {
  text?: string;
  metadata?: Metadata;
  vector?: Float32Array;
}

/** A UUID (version 4 layout) from a hash, so that the same name always gives the same id. */
export function derivedUuid(seed: string): string {
  const b = createHash('sha256').update(seed).digest();
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = b.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function createInterim(service: MemoryService) {
  /** UUIDs a renamed collection keeps: uuid → namespace, namespace → uuid. */
  const keptUuid = new Map<string, string>();
  const uuidOfRenamed = new Map<string, string>();
  /** uuid → namespace, for every namespace seen; rebuilt from the namespace list on a miss. */
  const byUuid = new Map<string, string>();
  const extras = new Map<string, CollectionExtras>();
  /** Work on one namespace that must not interleave (fixing its dimensions, renaming it). */
  const locks = new Map<string, Promise<unknown>>();

  function locked<T>(namespace: string, work: () => Promise<T>): Promise<T> {
    const before = locks.get(namespace) ?? Promise.resolve();
    const run = before.then(work, work);
    const tail = run.catch(() => undefined);
    locks.set(namespace, tail);
    void tail.then(() => locks.get(namespace) === tail && locks.delete(namespace));
    return run;
  }

  /** Waits for work in progress on a namespace (it may be missing while it is being recreated or renamed). */
  async function settled(namespace: string): Promise<void> {
    await locks.get(namespace);
  }

  // until the service has a stable public UUID per namespace
  function uuidOf(namespace: string): string {
    const id = uuidOfRenamed.get(namespace) ?? derivedUuid(`membank-namespace:${namespace}`);
    byUuid.set(id, namespace);
    return id;
  }

  // until the service has a stable public UUID per namespace (and a lookup by it)
  async function namespaceOfUuid(id: string): Promise<string | undefined> {
    const known = keptUuid.get(id) ?? byUuid.get(id);
    if (known !== undefined) return known;
    for (const record of await service.listNamespaces()) uuidOf(record.name);
    return byUuid.get(id);
  }

  // until the service keeps user metadata (and Chroma's configuration) on namespaces, at create and patch
  function extrasOf(namespace: string): CollectionExtras {
    return extras.get(namespace) ?? { metadata: null, embeddingFunction: null, resizeFactor: 1.2, syncThreshold: 1000 };
  }
  function setExtras(namespace: string, value: CollectionExtras): void {
    extras.set(namespace, value);
  }

  /** Forgets what this process kept about a namespace that was deleted. */
  function forget(namespace: string): void {
    extras.delete(namespace);
    const kept = uuidOfRenamed.get(namespace);
    if (kept !== undefined) keptUuid.delete(kept);
    uuidOfRenamed.delete(namespace);
    for (const [id, name] of byUuid) if (name === namespace) byUuid.delete(id);
  }

  // until the service lets a namespace's dimensions be set by its first write (today it asks for them at creation)
  async function isDimensionless(record: NamespaceRecord): Promise<boolean> {
    if (record.embedder !== null || record.dimensions !== PLACEHOLDER_DIMENSIONS) return false;
    const stats = await service.describeNamespace(record.name);
    return stats.count === 0 && stats.facts === 0;
  }

  // until the service lets a namespace's dimensions be set by its first write
  /** Gives a dimensionless namespace its dimensions (it is empty: recreated with the same settings). */
  function fixDimensions(namespace: string, dimensions: number): Promise<NamespaceRecord> {
    return locked(namespace, async () => {
      const record = await service.namespace(namespace);
      if (record.dimensions === dimensions || !(await isDimensionless(record))) return record;
      await service.deleteNamespace(namespace);
      const { namespace: created } = await service.createNamespace({ ...settingsOf(record), name: namespace, dimensions });
      return created;
    });
  }

  // until the service has renameNamespace(from, to)
  /** Copies the namespace to its new name in label order (so Chroma's order survives), then deletes the old. */
  function rename(from: string, to: string): Promise<void> {
    return locked(from, async () => {
      const record = await service.namespace(from);
      const id = uuidOf(from);
      await service.createNamespace({
        ...settingsOf(record),
        name: to,
        dimensions: record.embedder === null ? record.dimensions : undefined,
      });
      let cursor: string | undefined;
      do {
        const page = await service.listMemories(from, { limit: PAGE, cursor, withVector: true });
        if (page.memories.length > 0) await service.writeMemories(to, page.memories.map((m) => rewrite(m, {})));
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      const kept = extras.get(from);
      await service.deleteNamespace(from);
      forget(from);
      if (kept) extras.set(to, kept);
      keptUuid.set(id, to);
      uuidOfRenamed.set(to, id);
      byUuid.set(id, to);
    });
  }

  // until the service lists memories with a filter, a text filter, an offset and ids
  /** The namespace's memories that pass the scan's filters, in label (insertion) order. */
  async function scan(namespace: string, q: Scan): Promise<MemoryRecord[]> {
    const { filter, document } = q;
    if (filter === false || document === false || q.limit === 0) return [];
    const passes = (m: MemoryRecord): boolean =>
      (filter === true || matchesFilter(filter, m.metadata)) && (document === true || matchesDocument(document, m.text));
    const end = q.limit === undefined ? Infinity : q.offset + q.limit;
    if (q.ids !== undefined) {
      const found: MemoryRecord[] = [];
      for (const id of new Set(q.ids)) {
        const memory = await getOrUndefined(namespace, id, q.withVector);
        if (memory) found.push(memory);
      }
      return found.sort((a, b) => a.label - b.label).filter(passes).slice(q.offset, end);
    }
    const out: MemoryRecord[] = [];
    let seen = 0;
    let cursor: string | undefined;
    do {
      const page = await service.listMemories(namespace, { limit: PAGE, cursor, withVector: q.withVector });
      for (const memory of page.memories) {
        if (!passes(memory)) continue;
        if (seen++ >= q.offset) out.push(memory);
        if (seen >= end) return out;
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return out;
  }

  // until the service lists memories by ids in one call
  async function getOrUndefined(namespace: string, id: string, withVector: boolean): Promise<MemoryRecord | undefined> {
    try {
      return await service.getMemory(namespace, id, withVector);
    } catch (error) {
      if (isMembankError(error) && error.code === 'MEMORY_NOT_FOUND') return undefined;
      throw error;
    }
  }

  // until the service updates memories in part (text, metadata, vector), keeping their strength and recalls
  /**
   * Rewrites stored memories with the patches applied. A patch without vector keeps the stored one, unless its
   * text changed in a namespace with an embedder: then the service embeds the new text.
   */
  async function patch(namespace: string, changes: { memory: MemoryRecord; patch: MemoryPatch }[], reembed: boolean): Promise<void> {
    for (let i = 0; i < changes.length; i += PAGE) {
      const batch = changes.slice(i, i + PAGE).map(({ memory, patch: p }) => {
        const input = rewrite(memory, p);
        if (reembed && p.text !== undefined && p.vector === undefined) delete input.vector;
        return input;
      });
      await service.writeMemories(namespace, batch);
    }
  }

  return { settled, uuidOf, namespaceOfUuid, extrasOf, setExtras, forget, isDimensionless, fixDimensions, rename, scan, getOrUndefined, patch };
}

export type Interim = ReturnType<typeof createInterim>;

/** A stored memory as a write that keeps its time, importance and expiry, with a patch applied. */
function rewrite(memory: MemoryRecord, patch: MemoryPatch): MemoryInput {
  const text = patch.text ?? memory.text;
  const vector = patch.vector ?? memory.vector;
  return {
    id: memory.id,
    ...(text !== null && { text }),
    ...(vector && { vector: Array.from(vector) }),
    metadata: (patch.metadata ?? memory.metadata) as MemoryInput['metadata'],
    timestamp: memory.timestamp,
    ...(memory.importance !== null && { importance: memory.importance }),
    ...(memory.expiresAt !== null && { expiresAt: memory.expiresAt }),
  };
}

/** The settings to create a namespace like this one (under another name or with other dimensions). */
function settingsOf(record: NamespaceRecord) {
  return {
    space: record.space,
    embedder: record.embedder,
    hnsw: { m: record.hnsw.m, efConstruction: record.hnsw.efConstruction, efSearch: record.hnsw.efSearch, ...(record.hnsw.threshold !== null && { threshold: record.hnsw.threshold }) },
    forgetting: record.settings.forgetting,
    facts: { singleValued: record.settings.facts.singleValued },
  };
}
