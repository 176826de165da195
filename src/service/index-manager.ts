/**
 * Keeps each namespace's vector index a faithful cache of SQLite. At start an index is loaded from its last
 * checkpoint and the changes committed since are replayed; when the saved index is missing, of other settings,
 * corrupt, unreadable or stale, it is rebuilt from SQLite and the log says why. Checkpoints are written
 * atomically: the index file is named after the change sequence it reflects, and a small meta file, replaced
 * by rename, points at it with its size and checksum.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { NamespaceRecord } from '../core/types.js';
import type { Store } from '../ports/store.js';
import type { PersistentVectorIndex, VectorIndexFactory } from '../ports/vector-index.js';

const FORMAT = 1;

interface IndexMeta {
  format: number;
  kind: string;
  namespaceId: number;
  space: string;
  dimensions: number;
  m: number;
  efConstruction: number;
  /** The change sequence the saved index reflects. */
  seq: number;
  deleted: number;
  file: string;
  bytes: number;
  sha256: string;
  savedAt: number;
}

export interface LiveIndex {
  index: PersistentVectorIndex;
  /** Change sequence of the last checkpoint (0 when none). */
  checkpointSeq: number;
  checkpointAt: number | null;
  /** Changes applied since the last checkpoint. */
  pending: number;
}

export interface IndexManagerOptions {
  dir: string;
  store: Store;
  factory: VectorIndexFactory;
  logger: Logger;
}

export interface OpenReport {
  how: 'loaded' | 'rebuilt' | 'created';
  reason?: string;
  replayed: number;
  ms: number;
}

function sha256(file: string): string {
  const hash = createHash('sha256');
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(8 << 20);
    for (let n = readSync(fd, buffer); n > 0; n = readSync(fd, buffer)) hash.update(buffer.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function writeFileAtomic(file: string, content: string): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, content);
  fsyncPath(tmp);
  renameSync(tmp, file);
}

export function createIndexManager(options: IndexManagerOptions) {
  const { dir, store, factory, logger } = options;
  mkdirSync(dir, { recursive: true });

  const metaPath = (namespaceId: number): string => join(dir, `ns-${namespaceId}.meta.json`);
  const shapeOf = (ns: NamespaceRecord) => ({ space: ns.space, dimensions: ns.dimensions, hnsw: ns.hnsw });

  function readMeta(ns: NamespaceRecord): { meta: IndexMeta } | { problem: string } {
    let meta: IndexMeta;
    try {
      meta = JSON.parse(readFileSync(metaPath(ns.id), 'utf8')) as IndexMeta;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return { problem: code === 'ENOENT' ? 'no saved index' : `unreadable index metadata (${String(error)})` };
    }
    if (meta.format !== FORMAT) {
      return { problem: `saved index is format ${String(meta.format)}, this version reads format ${FORMAT}` };
    }
    if (
      meta.kind !== factory.kind ||
      meta.namespaceId !== ns.id ||
      meta.space !== ns.space ||
      meta.dimensions !== ns.dimensions ||
      meta.m !== ns.hnsw.m ||
      meta.efConstruction !== ns.hnsw.efConstruction
    ) {
      return { problem: 'saved index has other settings' };
    }
    const file = join(dir, meta.file);
    if (!existsSync(file)) return { problem: 'saved index file is missing' };
    if (statSync(file).size !== meta.bytes || sha256(file) !== meta.sha256) {
      return { problem: 'saved index file is corrupt (size or checksum mismatch)' };
    }
    return { meta };
  }

  async function rebuild(ns: NamespaceRecord): Promise<LiveIndex> {
    const seq = await store.currentSeq();
    const count = await store.countMemories(ns.id);
    const index = factory.create(shapeOf(ns), Math.ceil(count * 1.1));
    for await (const batch of store.allVectors(ns.id)) {
      for (const { label, vector } of batch) index.upsert(label, vector);
    }
    const live: LiveIndex = { index, checkpointSeq: 0, checkpointAt: null, pending: count };
    await checkpoint(ns, live, seq);
    return live;
  }

  /** Loads the namespace's index, replaying later changes, or rebuilds it from SQLite. */
  async function open(ns: NamespaceRecord): Promise<{ live: LiveIndex; report: OpenReport }> {
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    const saved = readMeta(ns);
    let problem: string;
    if ('meta' in saved) {
      const { meta } = saved;
      try {
        const index = factory.load(join(dir, meta.file), shapeOf(ns), meta.deleted);
        const changes = await store.changesSince(ns.id, meta.seq);
        let replayed = 0;
        for (const label of changes.removed) if (index.remove(label)) replayed++;
        for await (const batch of changes.upserted) {
          for (const { label, vector } of batch) index.upsert(label, vector);
          replayed += batch.length;
        }
        const expected = await store.countMemories(ns.id);
        const { elements } = index.stats();
        if (elements === expected) {
          const live: LiveIndex = { index, checkpointSeq: meta.seq, checkpointAt: meta.savedAt, pending: replayed };
          return { live, report: { how: 'loaded', replayed, ms: elapsed() } };
        }
        problem = `saved index is stale (${elements} vectors after replay, SQLite has ${expected})`;
      } catch (error) {
        problem = `saved index is unreadable (${error instanceof Error ? error.message : String(error)})`;
      }
    } else {
      problem = saved.problem;
    }
    const count = await store.countMemories(ns.id);
    if (count > 0 || problem !== 'no saved index') {
      logger.warn({ namespace: ns.name, reason: problem, memories: count }, 'rebuilding index from SQLite');
    }
    const live = await rebuild(ns);
    const how = count === 0 && problem === 'no saved index' ? 'created' : 'rebuilt';
    return { live, report: { how, reason: problem, replayed: 0, ms: elapsed() } };
  }

  /** Writes the index and its meta atomically, then forgets the change records it covers. */
  async function checkpoint(ns: NamespaceRecord, live: LiveIndex, seq: number): Promise<void> {
    const name = `ns-${ns.id}.${seq}.idx`;
    const file = join(dir, name);
    const tmp = `${file}.tmp`;
    live.index.save(tmp);
    fsyncPath(tmp);
    renameSync(tmp, file);
    const meta: IndexMeta = {
      format: FORMAT,
      kind: factory.kind,
      namespaceId: ns.id,
      space: ns.space,
      dimensions: ns.dimensions,
      m: ns.hnsw.m,
      efConstruction: ns.hnsw.efConstruction,
      seq,
      deleted: live.index.stats().deleted,
      file: name,
      bytes: statSync(file).size,
      sha256: sha256(file),
      savedAt: Date.now(),
    };
    writeFileAtomic(metaPath(ns.id), JSON.stringify(meta));
    fsyncPath(dir);
    const keep = new Set([name, `ns-${ns.id}.meta.json`]);
    for (const other of readdirSync(dir)) {
      // Older checkpoints, and temporary files left by a crash mid-checkpoint.
      if (other.startsWith(`ns-${ns.id}.`) && !keep.has(other)) rmSync(join(dir, other), { force: true });
    }
    await store.trimChanges(ns.id, seq);
    live.checkpointSeq = seq;
    live.checkpointAt = meta.savedAt;
    live.pending = 0;
  }

  function removeFiles(namespaceId: number): void {
    for (const file of readdirSync(dir)) {
      if (file.startsWith(`ns-${namespaceId}.`)) rmSync(join(dir, file), { force: true });
    }
  }

  /** Removes files of namespaces that no longer exist (a crash between the delete and the file removal). */
  function removeOrphans(liveIds: Set<number>): void {
    for (const file of readdirSync(dir)) {
      const match = /^ns-(\d+)\./.exec(file);
      if (match && !liveIds.has(Number(match[1]))) rmSync(join(dir, file), { force: true });
    }
  }

  return { open, rebuild, checkpoint, removeFiles, removeOrphans };
}

export type IndexManager = ReturnType<typeof createIndexManager>;
