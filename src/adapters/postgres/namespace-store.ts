/** Namespaces in PostgreSQL: records, settings, change-sequence heads, and the forgetting schedules in use. */
import { randomUUID } from 'node:crypto';
import { MembankError } from '../../core/errors.js';
import { DEFAULT_FORGETTING, type NamespaceRecord } from '../../core/types.js';
import type { NamespacePatch, NamespaceStore, NewNamespace } from '../../ports/namespace-store.js';
import type { PostgresDatabase } from './database.js';
import { jsonText, type NamespaceRow, toNamespace } from './rows.js';

const isUniqueViolation = (error: unknown): boolean => (error as { code?: unknown } | null)?.code === '23505';

export function createPostgresNamespaceStore(db: PostgresDatabase): NamespaceStore {
  const one = async (query: (sql: PostgresDatabase['sql']) => Promise<NamespaceRow[]>): Promise<NamespaceRecord | undefined> => {
    const [row] = await db.read(query);
    return row && toNamespace(row);
  };
  return {
    async create(input: NewNamespace): Promise<NamespaceRecord> {
      const [row] = await db.transaction(
        (sql) => sql<NamespaceRow[]>`
          INSERT INTO namespaces (uid, name, space, dimensions, dimensions_open, metadata, embedder, embedder_revision, hnsw_m,
            hnsw_ef_construction, hnsw_ef_search, hnsw_threshold, settings, created_at)
          VALUES (${randomUUID()}, ${input.name}, ${input.space}, ${input.dimensions ?? 1}, ${input.dimensions === null},
            ${jsonText(input.metadata ?? {})}::text::jsonb, ${input.embedder}, ${input.embedderRevision}, ${input.hnsw.m}, ${input.hnsw.efConstruction},
            ${input.hnsw.efSearch}, ${input.hnsw.threshold}, ${jsonText(input.settings)}::text::jsonb, ${Date.now()})
          RETURNING *`,
      );
      return toNamespace(row!);
    },
    byName: (name) => one((sql) => sql<NamespaceRow[]>`SELECT * FROM namespaces WHERE name = ${name}`),
    byId: (id) => one((sql) => sql<NamespaceRow[]>`SELECT * FROM namespaces WHERE id = ${id}`),
    byUid: (uid) => one((sql) => sql<NamespaceRow[]>`SELECT * FROM namespaces WHERE uid = ${uid}`),
    async list(options = {}) {
      const rows = await db.read(
        (sql) => sql<NamespaceRow[]>`
          SELECT * FROM namespaces WHERE name > ${options.after ?? ''} AND (${options.internal ?? false} OR name NOT LIKE '~%')
          ORDER BY name ${options.limit === undefined || options.limit < 0 ? sql`` : sql`LIMIT ${options.limit}`}`,
      );
      return rows.map(toNamespace);
    },
    async count() {
      const [row] = await db.read((sql) => sql<{ n: number }[]>`SELECT COUNT(*)::int AS n FROM namespaces WHERE name NOT LIKE '~%'`);
      return row!.n;
    },
    async delete(id) {
      const result = await db.transaction((sql) => sql`DELETE FROM namespaces WHERE id = ${id}`);
      return result.count > 0;
    },
    async update(id, patch: NamespacePatch) {
      const conflict = () => new MembankError('NAMESPACE_CONFLICT', `A namespace named "${patch.name}" exists already.`);
      if (patch.name !== undefined) {
        const [taken] = await db.read((sql) => sql`SELECT 1 FROM namespaces WHERE name = ${patch.name!} AND id <> ${id}`);
        if (taken) throw conflict();
      }
      const setThreshold = patch.hnsw !== undefined && 'threshold' in patch.hnsw;
      try {
        const [row] = await db.transaction(
          (sql) => sql<NamespaceRow[]>`
            UPDATE namespaces SET name = coalesce(${patch.name ?? null}, name),
              metadata = coalesce(${patch.metadata === undefined ? null : jsonText(patch.metadata)}::text::jsonb, metadata),
              settings = coalesce(${patch.settings === undefined ? null : jsonText(patch.settings)}::text::jsonb, settings),
              hnsw_ef_search = coalesce(${patch.hnsw?.efSearch ?? null}::int, hnsw_ef_search),
              hnsw_threshold = CASE WHEN ${setThreshold} THEN ${patch.hnsw?.threshold ?? null}::int ELSE hnsw_threshold END
            WHERE id = ${id} RETURNING *`,
        );
        return row && toNamespace(row);
      } catch (error) {
        // Taken by another node between the check and the update.
        if (isUniqueViolation(error)) throw conflict();
        throw error;
      }
    },
    async settleDimensions(id, dimensions) {
      const [row] = await db.transaction(
        (sql) => sql<NamespaceRow[]>`
          WITH settled AS (UPDATE namespaces SET dimensions = ${dimensions}, dimensions_open = false WHERE id = ${id} AND dimensions_open RETURNING *)
          SELECT * FROM settled UNION ALL SELECT * FROM namespaces WHERE id = ${id} AND NOT EXISTS (SELECT 1 FROM settled)`,
      );
      return row && toNamespace(row);
    },
    async head(id) {
      const [row] = await db.read((sql) => sql<{ seq: number; generation: number }[]>`SELECT head_seq AS seq, generation FROM namespaces WHERE id = ${id}`);
      return row && { seq: row.seq, generation: row.generation };
    },
    async schedules() {
      const rows = await db.read(
        (sql) => sql<{ schedule: string }[]>`
          SELECT DISTINCT coalesce(settings #>> '{forgetting,schedule}', ${DEFAULT_FORGETTING.schedule}) AS schedule
          FROM namespaces WHERE name NOT LIKE '~%'`,
      );
      return rows.map((r) => r.schedule);
    },
    async dueOn(schedule, now) {
      const rows = await db.read(
        (sql) => sql<{ name: string }[]>`
          SELECT name FROM namespaces n WHERE name NOT LIKE '~%'
            AND coalesce(settings #>> '{forgetting,schedule}', ${DEFAULT_FORGETTING.schedule}) = ${schedule}
            AND (settings #> '{forgetting,enabled}' = 'true'::jsonb
                 OR EXISTS (SELECT 1 FROM memories m WHERE m.namespace_id = n.id AND m.expires_at IS NOT NULL AND m.expires_at <= ${now}))
          ORDER BY name`,
      );
      return rows.map((r) => r.name);
    },
  };
}
