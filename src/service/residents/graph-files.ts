/**
 * Checkpoint files of namespaces' HNSW graphs, one node's cache of what the store holds. A checkpoint is
 * written atomically: the graph file is named after the change sequence it reflects, and a small meta file,
 * replaced by rename, points at it with its size and checksum. Reading one says precisely why a checkpoint
 * cannot be used (missing, other settings, corrupt, unreadable), so that the log can say why a graph is rebuilt.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NamespaceRecord } from '../../core/types.js';
import type { IndexShape, PersistentVectorIndex, VectorIndexFactory } from '../../ports/vector-index.js';

const FORMAT = 1;

interface GraphMeta {
  format: number;
  kind: string;
  namespaceId: number;
  /** The namespace's generation the graph was built for (absent before generations: 0). */
  generation?: number;
  space: string;
  dimensions: number;
  m: number;
  efConstruction: number;
  /** The change sequence the saved graph reflects. */
  seq: number;
  deleted: number;
  file: string;
  bytes: number;
  sha256: string;
  savedAt: number;
}

export interface Checkpoint {
  graph: PersistentVectorIndex;
  seq: number;
  savedAt: number;
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

export const shapeOf = (ns: NamespaceRecord): IndexShape => ({ space: ns.space, dimensions: ns.dimensions, hnsw: ns.hnsw });

export function createGraphFiles(dir: string, factory: VectorIndexFactory) {
  mkdirSync(dir, { recursive: true });
  const metaPath = (namespaceId: number): string => join(dir, `ns-${namespaceId}.meta.json`);

  function readMeta(ns: NamespaceRecord): { meta: GraphMeta } | { problem: string } {
    let meta: GraphMeta;
    try {
      meta = JSON.parse(readFileSync(metaPath(ns.id), 'utf8')) as GraphMeta;
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
      (meta.generation ?? 0) !== ns.generation ||
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

  return {
    /** The namespace's last checkpoint, or why there is none to use. */
    async read(ns: NamespaceRecord): Promise<{ checkpoint: Checkpoint } | { problem: string }> {
      const saved = readMeta(ns);
      if ('problem' in saved) return saved;
      const { meta } = saved;
      try {
        const graph = await factory.load(join(dir, meta.file), shapeOf(ns), meta.deleted);
        return { checkpoint: { graph, seq: meta.seq, savedAt: meta.savedAt } };
      } catch (error) {
        return { problem: `saved index is unreadable (${error instanceof Error ? error.message : String(error)})` };
      }
    },

    /** True when the namespace has a checkpoint meta file (whether or not it is usable). */
    exists(namespaceId: number): boolean {
      return existsSync(metaPath(namespaceId));
    },

    /** Writes the graph and its meta atomically, and removes older checkpoints; answers when it was saved. */
    async write(ns: NamespaceRecord, graph: PersistentVectorIndex, seq: number): Promise<number> {
      const name = `ns-${ns.id}.${seq}.idx`;
      const file = join(dir, name);
      const tmp = `${file}.tmp`;
      await graph.save(tmp);
      fsyncPath(tmp);
      renameSync(tmp, file);
      const meta: GraphMeta = {
        format: FORMAT,
        kind: factory.kind,
        namespaceId: ns.id,
        generation: ns.generation,
        space: ns.space,
        dimensions: ns.dimensions,
        m: ns.hnsw.m,
        efConstruction: ns.hnsw.efConstruction,
        seq,
        deleted: graph.stats().deleted,
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
      return meta.savedAt;
    },

    remove(namespaceId: number): void {
      for (const file of readdirSync(dir)) {
        if (file.startsWith(`ns-${namespaceId}.`)) rmSync(join(dir, file), { force: true });
      }
    },

    /** Ids of the namespaces that have files here. */
    namespaceIds(): number[] {
      const ids = new Set<number>();
      for (const file of readdirSync(dir)) {
        const match = /^ns-(\d+)\./.exec(file);
        if (match) ids.add(Number(match[1]));
      }
      return [...ids];
    },

    /** Removes files of namespaces that no longer exist (a crash between a delete and the file removal). */
    removeOrphans(isLive: (namespaceId: number) => boolean): number {
      let removed = 0;
      for (const file of readdirSync(dir)) {
        const match = /^ns-(\d+)\./.exec(file);
        if (match && !isLive(Number(match[1]))) {
          rmSync(join(dir, file), { force: true });
          removed++;
        }
      }
      return removed;
    },

    /** A folder for temporary files (graphs being built). */
    scratch: dir,
  };
}

export type GraphFiles = ReturnType<typeof createGraphFiles>;
