/** API keys in SQLite: only hashes are stored. Read on every request, so a revocation by another process counts at once. */
import type Database from 'better-sqlite3';
import type { ApiKeyRecord, Role } from '../../core/access.js';
import type { KeyStore } from '../../ports/key-store.js';

interface KeyRow {
  id: string;
  role: Role;
  namespaces: string;
  created_at: number;
  revoked_at: number | null;
}

const toKey = (row: KeyRow): ApiKeyRecord => ({
  id: row.id,
  role: row.role,
  namespaces: JSON.parse(row.namespaces) as string[],
  createdAt: row.created_at,
  revokedAt: row.revoked_at,
});

export function createSqliteKeyStore(db: Database.Database): KeyStore {
  const sql = {
    insert: db.prepare('INSERT INTO api_keys (id, hash, role, namespaces, created_at) VALUES (?, ?, ?, ?, ?)'),
    byHash: db.prepare('SELECT * FROM api_keys WHERE hash = ? AND revoked_at IS NULL'),
    list: db.prepare('SELECT * FROM api_keys ORDER BY created_at, id'),
    revoke: db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
    anyCreated: db.prepare('SELECT EXISTS (SELECT 1 FROM api_keys)').pluck(),
  };
  return {
    async insert(key, hash) {
      sql.insert.run(key.id, hash, key.role, JSON.stringify(key.namespaces), key.createdAt);
    },
    async byHash(hash) {
      const row = sql.byHash.get(hash) as KeyRow | undefined;
      return row && toKey(row);
    },
    async list() {
      return (sql.list.all() as KeyRow[]).map(toKey);
    },
    async revoke(id, at) {
      return sql.revoke.run(at, id).changes > 0;
    },
    async anyCreated() {
      return sql.anyCreated.get() === 1;
    },
  };
}
