/** Webhooks in PostgreSQL: `webhooks` and `webhook_cursors`, shared by every node of the cluster. */
import type { ChangeOp } from '../../ports/change-log.js';
import type { WebhookCursor, WebhookRecord, WebhookStore } from '../../ports/webhook-store.js';
import type { PostgresDatabase } from './database.js';

interface WebhookRow {
  id: string;
  url: string;
  namespaces: string[];
  events: ChangeOp[];
  secret: string;
  created_at: number;
}

interface CursorRow {
  webhook_id: string;
  namespace_id: number;
  delivered_seq: number;
  attempts: number;
  next_at: number;
  last_attempt_at: number | null;
  last_error: string | null;
}

const toWebhook = (row: WebhookRow): WebhookRecord => ({
  id: row.id,
  url: row.url,
  namespaces: row.namespaces,
  events: row.events,
  secret: row.secret,
  createdAt: row.created_at,
});

const toCursor = (row: CursorRow): WebhookCursor => ({
  webhookId: row.webhook_id,
  namespaceId: row.namespace_id,
  deliveredSeq: row.delivered_seq,
  attempts: row.attempts,
  nextAt: row.next_at,
  lastAttemptAt: row.last_attempt_at,
  lastError: row.last_error,
});

export function createPostgresWebhookStore(db: PostgresDatabase): WebhookStore {
  return {
    async insert(hook) {
      await db.transaction(
        (sql) => sql`INSERT INTO webhooks (id, url, namespaces, events, secret, created_at)
          VALUES (${hook.id}, ${hook.url}, ${sql.json(hook.namespaces)}::jsonb, ${sql.json(hook.events)}::jsonb, ${hook.secret}, ${hook.createdAt})`,
      );
    },
    async list() {
      return (await db.read((sql) => sql<WebhookRow[]>`SELECT * FROM webhooks ORDER BY created_at, id`)).map(toWebhook);
    },
    async get(id) {
      const [row] = await db.read((sql) => sql<WebhookRow[]>`SELECT * FROM webhooks WHERE id = ${id}`);
      return row && toWebhook(row);
    },
    async delete(id) {
      const rows = await db.transaction((sql) => sql`DELETE FROM webhooks WHERE id = ${id} RETURNING id`);
      return rows.length > 0;
    },
    async startCursor(webhookId, namespaceId, seq) {
      await db.transaction(
        (sql) => sql`INSERT INTO webhook_cursors (webhook_id, namespace_id, delivered_seq) VALUES (${webhookId}, ${namespaceId}, ${seq})
          ON CONFLICT DO NOTHING`,
      );
    },
    async cursors(webhookId) {
      const rows = await db.read((sql) => sql<CursorRow[]>`SELECT * FROM webhook_cursors WHERE webhook_id = ${webhookId} ORDER BY namespace_id`);
      return rows.map(toCursor);
    },
    async due(now, limit) {
      const rows = await db.read(
        (sql) => sql<CursorRow[]>`
          SELECT c.* FROM webhook_cursors c JOIN namespaces n ON n.id = c.namespace_id
          WHERE n.head_seq > c.delivered_seq AND c.next_at <= ${now} ORDER BY c.next_at LIMIT ${limit}`,
      );
      return rows.map(toCursor);
    },
    async claim(cursor, now, until) {
      const rows = await db.transaction(
        (sql) => sql`UPDATE webhook_cursors SET next_at = ${until}
          WHERE webhook_id = ${cursor.webhookId} AND namespace_id = ${cursor.namespaceId} AND delivered_seq = ${cursor.deliveredSeq}
            AND next_at <= ${now} RETURNING webhook_id`,
      );
      return rows.length > 0;
    },
    async delivered(webhookId, namespaceId, seq, at) {
      await db.transaction(
        (sql) => sql`UPDATE webhook_cursors SET delivered_seq = GREATEST(delivered_seq, ${seq}), attempts = 0, next_at = 0,
            last_attempt_at = ${at}, last_error = NULL
          WHERE webhook_id = ${webhookId} AND namespace_id = ${namespaceId}`,
      );
    },
    async failed(webhookId, namespaceId, error, at, nextAt) {
      const [row] = await db.transaction(
        (sql) => sql<{ attempts: number }[]>`UPDATE webhook_cursors SET attempts = attempts + 1, next_at = ${nextAt}, last_attempt_at = ${at},
            last_error = ${error.slice(0, 500)}
          WHERE webhook_id = ${webhookId} AND namespace_id = ${namespaceId} RETURNING attempts`,
      );
      return row?.attempts ?? 0;
    },
  };
}
