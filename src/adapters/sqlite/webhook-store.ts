/** Webhooks in SQLite: `webhooks` and `webhook_cursors` (how far each webhook's deliveries went per namespace). */
import type Database from 'better-sqlite3';
import type { ChangeOp } from '../../ports/change-log.js';
import type { WebhookCursor, WebhookRecord, WebhookStore } from '../../ports/webhook-store.js';

interface WebhookRow {
  id: string;
  url: string;
  namespaces: string;
  events: string;
  secret: string;
  created_at: number;
}

type CursorRow = [string, number, number, number, number, number | null, string | null];

const toWebhook = (row: WebhookRow): WebhookRecord => ({
  id: row.id,
  url: row.url,
  namespaces: JSON.parse(row.namespaces) as string[],
  events: JSON.parse(row.events) as ChangeOp[],
  secret: row.secret,
  createdAt: row.created_at,
});

const toCursor = ([webhookId, namespaceId, deliveredSeq, attempts, nextAt, lastAttemptAt, lastError]: CursorRow): WebhookCursor => ({
  webhookId,
  namespaceId,
  deliveredSeq,
  attempts,
  nextAt,
  lastAttemptAt,
  lastError,
});

const CURSOR = 'c.webhook_id, c.namespace_id, c.delivered_seq, c.attempts, c.next_at, c.last_attempt_at, c.last_error';

export function createSqliteWebhookStore(db: Database.Database): WebhookStore {
  const sql = {
    insert: db.prepare('INSERT INTO webhooks (id, url, namespaces, events, secret, created_at) VALUES (@id, @url, @namespaces, @events, @secret, @createdAt)'),
    list: db.prepare('SELECT * FROM webhooks ORDER BY created_at, id'),
    get: db.prepare('SELECT * FROM webhooks WHERE id = ?'),
    delete: db.prepare('DELETE FROM webhooks WHERE id = ?'),
    start: db.prepare('INSERT INTO webhook_cursors (webhook_id, namespace_id, delivered_seq) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
    cursors: db.prepare(`SELECT ${CURSOR} FROM webhook_cursors c WHERE c.webhook_id = ? ORDER BY c.namespace_id`).raw(),
    due: db
      .prepare(
        `SELECT ${CURSOR} FROM webhook_cursors c JOIN namespaces n ON n.id = c.namespace_id
         WHERE n.head_seq > c.delivered_seq AND c.next_at <= ? ORDER BY c.next_at LIMIT ?`,
      )
      .raw(),
    claim: db.prepare('UPDATE webhook_cursors SET next_at = ? WHERE webhook_id = ? AND namespace_id = ? AND delivered_seq = ? AND next_at <= ?'),
    delivered: db.prepare(
      `UPDATE webhook_cursors SET delivered_seq = max(delivered_seq, ?), attempts = 0, next_at = 0, last_attempt_at = ?, last_error = NULL
       WHERE webhook_id = ? AND namespace_id = ?`,
    ),
    failed: db
      .prepare(
        `UPDATE webhook_cursors SET attempts = attempts + 1, next_at = ?, last_attempt_at = ?, last_error = ?
         WHERE webhook_id = ? AND namespace_id = ? RETURNING attempts`,
      )
      .pluck(),
  };
  return {
    async insert(webhook) {
      sql.insert.run({ ...webhook, namespaces: JSON.stringify(webhook.namespaces), events: JSON.stringify(webhook.events) });
    },
    async list() {
      return (sql.list.all() as WebhookRow[]).map(toWebhook);
    },
    async get(id) {
      const row = sql.get.get(id) as WebhookRow | undefined;
      return row && toWebhook(row);
    },
    async delete(id) {
      return sql.delete.run(id).changes > 0;
    },
    async startCursor(webhookId, namespaceId, seq) {
      sql.start.run(webhookId, namespaceId, seq);
    },
    async cursors(webhookId) {
      return (sql.cursors.all(webhookId) as CursorRow[]).map(toCursor);
    },
    async due(now, limit) {
      return (sql.due.all(now, limit) as CursorRow[]).map(toCursor);
    },
    async claim(cursor, now, until) {
      return sql.claim.run(until, cursor.webhookId, cursor.namespaceId, cursor.deliveredSeq, now).changes > 0;
    },
    async delivered(webhookId, namespaceId, seq, at) {
      sql.delivered.run(seq, at, webhookId, namespaceId);
    },
    async failed(webhookId, namespaceId, error, at, nextAt) {
      return (sql.failed.get(nextAt, at, error.slice(0, 500), webhookId, namespaceId) as number | undefined) ?? 0;
    },
  };
}
