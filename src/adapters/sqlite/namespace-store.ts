/** Namespaces in SQLite: records, settings, change-sequence heads, and the forgetting schedules in use. */
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { MembankError } from '../../core/errors.js';
import { DEFAULT_FORGETTING, type NamespaceRecord } from '../../core/types.js';
import type { NamespacePatch, NamespaceStore, NewNamespace } from '../../ports/namespace-store.js';
import { type NamespaceRow, toNamespace } from './rows.js';

/** Settings JSON may predate a key: the default then applies, in SQL as in `toNamespace`. */
const SCHEDULE = `coalesce(json_extract(settings, '$.forgetting.schedule'), @defaultSchedule)`;

export function createSqliteNamespaceStore(db: Database.Database): NamespaceStore {
  const sql = {
    insert: db.prepare(
      `INSERT INTO namespaces (uid, name, space, dimensions, dimensions_open, metadata, embedder, embedder_revision, hnsw_m,
         hnsw_ef_construction, hnsw_ef_search, hnsw_threshold, settings, created_at)
       VALUES (@uid, @name, @space, @dimensions, @open, @metadata, @embedder, @embedderRevision, @m, @efConstruction, @efSearch,
         @threshold, @settings, @createdAt)
       RETURNING *`,
    ),
    byName: db.prepare('SELECT * FROM namespaces WHERE name = ?'),
    byId: db.prepare('SELECT * FROM namespaces WHERE id = ?'),
    byUid: db.prepare('SELECT * FROM namespaces WHERE uid = ?'),
    byNameTaken: db.prepare('SELECT 1 FROM namespaces WHERE name = ? AND id != ?').pluck(),
    list: db.prepare(`SELECT * FROM namespaces WHERE name > @after AND (@internal OR name NOT LIKE '~%') ORDER BY name LIMIT @limit`),
    delete: db.prepare('DELETE FROM namespaces WHERE id = ?'),
    count: db.prepare(`SELECT COUNT(*) FROM namespaces WHERE name NOT LIKE '~%'`).pluck(),
    update: db.prepare(
      `UPDATE namespaces SET name = coalesce(@name, name), metadata = coalesce(@metadata, metadata), settings = coalesce(@settings, settings),
         hnsw_ef_search = coalesce(@efSearch, hnsw_ef_search),
         hnsw_threshold = CASE WHEN @setThreshold THEN @threshold ELSE hnsw_threshold END
       WHERE id = @id RETURNING *`,
    ),
    settle: db.prepare('UPDATE namespaces SET dimensions = ?, dimensions_open = 0 WHERE id = ? AND dimensions_open = 1'),
    head: db.prepare('SELECT head_seq AS seq, generation FROM namespaces WHERE id = ?'),
    schedules: db.prepare(`SELECT DISTINCT ${SCHEDULE} FROM namespaces WHERE name NOT LIKE '~%'`).pluck(),
    dueOn: db
      .prepare(
        `SELECT name FROM namespaces n WHERE name NOT LIKE '~%' AND ${SCHEDULE} = @schedule
         AND (json_extract(settings, '$.forgetting.enabled') = 1
              OR EXISTS (SELECT 1 FROM memories m WHERE m.namespace_id = n.id AND m.expires_at IS NOT NULL AND m.expires_at <= @now))
         ORDER BY name`,
      )
      .pluck(),
  };

  return {
    async create(input: NewNamespace): Promise<NamespaceRecord> {
      const row = sql.insert.get({
        uid: randomUUID(),
        name: input.name,
        space: input.space,
        // A namespace whose first write decides keeps a placeholder (the column is positive) until then.
        dimensions: input.dimensions ?? 1,
        open: input.dimensions === null ? 1 : 0,
        metadata: JSON.stringify(input.metadata ?? {}),
        embedder: input.embedder,
        embedderRevision: input.embedderRevision,
        m: input.hnsw.m,
        efConstruction: input.hnsw.efConstruction,
        efSearch: input.hnsw.efSearch,
        threshold: input.hnsw.threshold,
        settings: JSON.stringify(input.settings),
        createdAt: Date.now(),
      }) as NamespaceRow;
      return toNamespace(row);
    },
    async byName(name) {
      const row = sql.byName.get(name) as NamespaceRow | undefined;
      return row && toNamespace(row);
    },
    async byId(id) {
      const row = sql.byId.get(id) as NamespaceRow | undefined;
      return row && toNamespace(row);
    },
    async list(options = {}) {
      const rows = sql.list.all({
        after: options.after ?? '',
        internal: options.internal ? 1 : 0,
        limit: options.limit ?? -1,
      }) as NamespaceRow[];
      return rows.map(toNamespace);
    },
    async count() {
      return sql.count.get() as number;
    },
    async delete(id) {
      return sql.delete.run(id).changes > 0;
    },
    async byUid(uid) {
      const row = sql.byUid.get(uid) as NamespaceRow | undefined;
      return row && toNamespace(row);
    },
    async update(id, patch: NamespacePatch) {
      if (patch.name !== undefined && sql.byNameTaken.get(patch.name, id)) {
        throw new MembankError('NAMESPACE_CONFLICT', `A namespace named "${patch.name}" exists already.`);
      }
      const row = sql.update.get({
        id,
        name: patch.name ?? null,
        metadata: patch.metadata === undefined ? null : JSON.stringify(patch.metadata),
        settings: patch.settings === undefined ? null : JSON.stringify(patch.settings),
        efSearch: patch.hnsw?.efSearch ?? null,
        setThreshold: patch.hnsw && 'threshold' in patch.hnsw ? 1 : 0,
        threshold: patch.hnsw?.threshold ?? null,
      }) as NamespaceRow | undefined;
      return row && toNamespace(row);
    },
    async settleDimensions(id, dimensions) {
      sql.settle.run(dimensions, id);
      const row = sql.byId.get(id) as NamespaceRow | undefined;
      return row && toNamespace(row);
    },
    async head(id) {
      return sql.head.get(id) as { seq: number; generation: number } | undefined;
    },
    async schedules() {
      return sql.schedules.all({ defaultSchedule: DEFAULT_FORGETTING.schedule }) as string[];
    },
    async dueOn(schedule, now) {
      return sql.dueOn.all({ schedule, now, defaultSchedule: DEFAULT_FORGETTING.schedule }) as string[];
    },
  };
}
