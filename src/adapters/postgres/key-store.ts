/**
 * API keys in PostgreSQL: only hashes are stored. Read on every request, from the shared database, so a key
 * revoked through one node is refused by every node at once.
 */
import type { ApiKeyRecord, Role } from '../../core/access.js';
import type { KeyStore } from '../../ports/key-store.js';
import type { PostgresDatabase } from './database.js';

interface KeyRow {
  id: string;
  role: Role;
  namespaces: string[];
  created_at: number;
  revoked_at: number | null;
}

const toKey = (row: KeyRow): ApiKeyRecord => ({
  id: row.id,
  role: row.role,
  namespaces: row.namespaces,
  createdAt: row.created_at,
  revokedAt: row.revoked_at,
});

export function createPostgresKeyStore(db: PostgresDatabase): KeyStore {
  return {
    async insert(key, hash) {
      await db.transaction(
        (sql) => sql`INSERT INTO api_keys (id, hash, role, namespaces, created_at)
                     VALUES (${key.id}, ${hash}, ${key.role}, ${key.namespaces}::text[], ${key.createdAt})`,
      );
    },
    async byHash(hash) {
      const [row] = await db.read(
        (sql) => sql<KeyRow[]>`SELECT id, role, namespaces, created_at, revoked_at FROM api_keys
                               WHERE hash = ${hash} AND revoked_at IS NULL`,
      );
      return row && toKey(row);
    },
    async list() {
      const rows = await db.read(
        (sql) => sql<KeyRow[]>`SELECT id, role, namespaces, created_at, revoked_at FROM api_keys ORDER BY created_at, id COLLATE "C"`,
      );
      return rows.map(toKey);
    },
    async revoke(id, at) {
      const result = await db.transaction(
        (sql) => sql`UPDATE api_keys SET revoked_at = ${at} WHERE id = ${id} AND revoked_at IS NULL`,
      );
      return result.count > 0;
    },
    async anyCreated() {
      const [row] = await db.read((sql) => sql<{ any: boolean }[]>`SELECT EXISTS (SELECT 1 FROM api_keys) AS any`);
      return row!.any;
    },
  };
}
