/** Forgetting in PostgreSQL: what a policy selects (in bounded label windows), erase selections, and runs. */
import { asLabel } from '../../core/types.js';
import type { ForgetPolicy, ForgetRun, ForgetStore } from '../../ports/forget-store.js';
import type { PostgresDatabase, Sql } from './database.js';
import { compileFilter } from './filter-sql.js';
import { timeParam } from './memory-store.js';

/** SQL for a forgetting policy over `memories` (aliased m); see ForgetPolicy. */
function forgetSql(sql: Sql, policy: ForgetPolicy) {
  const reasons = [];
  if (policy.expired) reasons.push(sql`(m.expires_at IS NOT NULL AND m.expires_at <= ${timeParam(policy.now)})`);
  if (policy.retention) {
    // exp(−Δt / (S·τ)) < threshold  ⇔  Δt > −ln(threshold) · S · τ
    const scale = -Math.log(policy.retention.threshold) * policy.retention.timescale * 1000;
    reasons.push(sql`(coalesce(m.last_recalled_at, m.created_at) + ${scale}::float8 * m.strength < ${timeParam(policy.now)})`);
  }
  const parts = [reasons.length > 0 ? sql`(${reasons.reduce((all, r) => sql`${all} OR ${r}`)})` : sql`true`];
  // A pinned memory goes only when it expired.
  parts.push(sql`(NOT m.pinned OR (m.expires_at IS NOT NULL AND m.expires_at <= ${policy.now}))`);
  if (policy.olderThan !== undefined) parts.push(sql`m.event_at < ${policy.olderThan}`);
  if (policy.filter) parts.push(compileFilter(sql, policy.filter));
  if (policy.protect) parts.push(sql`NOT COALESCE(${compileFilter(sql, policy.protect)}, false)`);
  return parts.reduce((all, part) => sql`${all} AND ${part}`);
}

export function createPostgresForgetStore(db: PostgresDatabase): ForgetStore {
  return {
    async candidates(namespaceId, policy, afterLabel, window) {
      const until = afterLabel + window;
      const [rows, [last]] = await db.read((sql) =>
        Promise.all([
          sql<{ label: number; id: string; expired: boolean }[]>`
            SELECT label, id, (expires_at IS NOT NULL AND expires_at <= ${timeParam(policy.now)}) AS expired FROM memories m
            WHERE label > ${afterLabel} AND label <= ${until} AND namespace_id = ${namespaceId} AND ${forgetSql(sql, policy)}
            ORDER BY label`,
          sql<{ max: number | null }[]>`SELECT max(label) AS max FROM memories WHERE namespace_id = ${namespaceId}`,
        ]),
      );
      return {
        candidates: rows.map((r) => ({ label: asLabel(r.label), id: r.id, expired: r.expired })),
        next: until < (last?.max ?? 0) ? until : null,
      };
    },
    async eraseLabels(namespaceId, filter) {
      const rows = await db.read(
        (sql) => sql<{ label: number }[]>`
          SELECT label FROM memories m WHERE namespace_id = ${namespaceId} AND ${compileFilter(sql, filter)}
          UNION
          SELECT label FROM memories WHERE namespace_id = ${namespaceId} AND document_id IN
            (SELECT document_id FROM memories m WHERE namespace_id = ${namespaceId} AND document_id IS NOT NULL AND ${compileFilter(sql, filter)})
          ORDER BY label`,
      );
      return rows.map((r) => asLabel(r.label));
    },
    async recordRun(namespaceId, run) {
      await db.transaction(
        (sql) => sql`INSERT INTO forget_runs (namespace_id, at, trigger, expired, forgotten, duration_ms)
                     VALUES (${namespaceId}, ${run.at}, ${run.trigger}, ${run.expired}, ${run.forgotten}, ${Math.round(run.durationMs)})`,
      );
    },
    async runs(namespaceId, limit) {
      const rows = await db.read(
        (sql) => sql<{ at: number; trigger: ForgetRun['trigger']; expired: number; forgotten: number; duration_ms: number }[]>`
          SELECT at, trigger, expired, forgotten, duration_ms FROM forget_runs WHERE namespace_id = ${namespaceId} ORDER BY id DESC LIMIT ${limit}`,
      );
      return rows.map((r) => ({ at: r.at, trigger: r.trigger, expired: r.expired, forgotten: r.forgotten, durationMs: r.duration_ms }));
    },
  };
}
