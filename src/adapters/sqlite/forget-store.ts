/** Forgetting in SQLite: what a policy selects (in bounded label windows), erase selections, and runs. */
import type Database from 'better-sqlite3';
import { asLabel } from '../../core/types.js';
import type { ForgetPolicy, ForgetRun, ForgetStore } from '../../ports/forget-store.js';
import { compileFilter } from './filter-sql.js';

/** SQL for a forgetting policy over `memories` (aliased m); see ForgetPolicy. */
function forgetSql(policy: ForgetPolicy): { sql: string; params: (string | number)[] } {
  const reasons: string[] = [];
  const params: (string | number)[] = [];
  if (policy.expired) {
    reasons.push('(m.expires_at IS NOT NULL AND m.expires_at <= ?)');
    params.push(policy.now);
  }
  if (policy.retention) {
    // exp(−Δt / (S·τ)) < threshold  ⇔  Δt > −ln(threshold) · S · τ
    reasons.push('(coalesce(m.last_recalled_at, m.created_at) + ? * m.strength < ?)');
    params.push(-Math.log(policy.retention.threshold) * policy.retention.timescale * 1000, policy.now);
  }
  const parts = [reasons.length > 0 ? `(${reasons.join(' OR ')})` : '1'];
  // A pinned memory goes only when it expired.
  parts.push('(m.pinned = 0 OR (m.expires_at IS NOT NULL AND m.expires_at <= ?))');
  params.push(policy.now);
  if (policy.olderThan !== undefined) {
    parts.push('m.event_at < ?');
    params.push(policy.olderThan);
  }
  if (policy.filter) {
    const where = compileFilter(policy.filter);
    parts.push(where.sql);
    params.push(...where.params);
  }
  if (policy.protect) {
    const where = compileFilter(policy.protect);
    parts.push(`NOT COALESCE(${where.sql}, 0)`);
    params.push(...where.params);
  }
  return { sql: parts.join(' AND '), params };
}

export function createSqliteForgetStore(db: Database.Database): ForgetStore {
  const sql = {
    maxLabel: db.prepare('SELECT max(label) FROM memories WHERE namespace_id = ?').pluck(),
    insertRun: db.prepare('INSERT INTO forget_runs (namespace_id, at, trigger, expired, forgotten, duration_ms) VALUES (?, ?, ?, ?, ?, ?)'),
    runs: db.prepare('SELECT at, trigger, expired, forgotten, duration_ms FROM forget_runs WHERE namespace_id = ? ORDER BY id DESC LIMIT ?'),
  };
  return {
    async candidates(namespaceId, policy, afterLabel, window) {
      const where = forgetSql(policy);
      const until = afterLabel + window;
      const rows = db
        .prepare(
          `SELECT label, id, (expires_at IS NOT NULL AND expires_at <= ?) FROM memories m
           WHERE label > ? AND label <= ? AND namespace_id = ? AND ${where.sql} ORDER BY label`,
        )
        .raw()
        .all(policy.now, afterLabel, until, namespaceId, ...where.params) as [number, string, number][];
      const last = (sql.maxLabel.get(namespaceId) as number | null) ?? 0;
      return {
        candidates: rows.map(([label, id, expired]) => ({ label: asLabel(label), id, expired: expired === 1 })),
        next: until < last ? until : null,
      };
    },
    async eraseLabels(namespaceId, filter) {
      const where = compileFilter(filter);
      const rows = db
        .prepare(
          `SELECT label FROM memories m WHERE namespace_id = ? AND ${where.sql}
           UNION
           SELECT label FROM memories WHERE namespace_id = ? AND document_id IN
             (SELECT document_id FROM memories m WHERE namespace_id = ? AND document_id IS NOT NULL AND ${where.sql})`,
        )
        .pluck()
        .all(namespaceId, ...where.params, namespaceId, namespaceId, ...where.params) as number[];
      return rows.map(asLabel);
    },
    async recordRun(namespaceId, run) {
      sql.insertRun.run(namespaceId, run.at, run.trigger, run.expired, run.forgotten, run.durationMs);
    },
    async runs(namespaceId, limit) {
      const rows = sql.runs.all(namespaceId, limit) as { at: number; trigger: ForgetRun['trigger']; expired: number; forgotten: number; duration_ms: number }[];
      return rows.map((r) => ({ at: r.at, trigger: r.trigger, expired: r.expired, forgotten: r.forgotten, durationMs: r.duration_ms }));
    },
  };
}
