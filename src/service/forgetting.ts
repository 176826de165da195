/**
 * Forgetting runs over one namespace: expired memories and, when asked, faded ones (retention below a
 * threshold), in bounded steps so that queries keep flowing. Label windows are scanned for what the policy
 * selects, and the selection is removed a batch per transaction, yielding between batches; each batch is
 * durable on its own, so a run cut short by a crash leaves a consistent namespace. Protected memories are
 * never selected.
 */
import type { Logger } from 'pino';
import type { ForgetInput, ForgettingInput } from '../api/schemas.js';
import { unwrap } from '../core/errors.js';
import { parseFilter } from '../core/filter.js';
import { initialStrength, memoryRetention } from '../core/retention.js';
import type { ForgettingSettings, Label, NamespaceRecord } from '../core/types.js';
import type { ForgetPolicy, ForgetRun } from '../ports/forget-store.js';
import type { Store } from '../ports/store.js';

/** Labels scanned per statement, and memories deleted per transaction. */
const SCAN_WINDOW = 4096;
export const DELETE_BATCH = 64;
/** Memories listed by a dry run when no limit is given. */
const DRY_RUN_LIST = 1000;

export interface ForgetOutcome {
  dryRun: boolean;
  expired: number;
  forgotten: number;
  /** In a dry run: what would go (up to the limit, or 1,000), with each one's retention now (the console's histogram). */
  memories?: { id: string; reason: 'expired' | 'retention' | 'policy'; retention: number }[];
  durationMs: number;
}

/** The namespace a run works on, as the memory service holds it (its record may change while the run goes). */
export interface ForgetTarget {
  readonly record: NamespaceRecord;
  readonly deleted: boolean;
  /** Deletes memories as one change, index included; `expired` says which of the reasons. */
  remove(labels: Label[], reason: 'expired' | 'forgotten'): Promise<void>;
}

export interface ForgetDeps {
  store: Store;
  logger: Logger;
  now: () => number;
  onRun: (namespace: string, run: ForgetRun) => void;
}

/** Lets waiting requests run between two steps of a long job (a resolved promise would not). */
export function yieldToQueries(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Runs a policy. Scheduled runs remove expired memories, and, when the namespace's forgetting is enabled,
 * faded ones; manual runs do what the input says. Every run but a dry run is recorded and logged.
 */
export async function runForgetting(
  deps: ForgetDeps,
  target: ForgetTarget,
  input: ForgetInput,
  trigger: ForgetRun['trigger'],
): Promise<ForgetOutcome> {
  const { store, logger } = deps;
  const started = performance.now();
  const settings = target.record.settings.forgetting;
  const at = deps.now();
  const retentionBelow = trigger === 'scheduled' ? (settings.enabled ? settings.threshold : undefined) : input.retentionBelow;
  const policy: ForgetPolicy = {
    now: at,
    expired: input.expired,
    retention: retentionBelow === undefined ? undefined : { threshold: retentionBelow, timescale: settings.timescale },
    olderThan: input.olderThan,
    filter: input.filter,
    protect: settings.protect ? unwrap(parseFilter(settings.protect)) : undefined,
  };
  const limit = input.limit ?? (input.dryRun ? DRY_RUN_LIST : Number.MAX_SAFE_INTEGER);
  const outcome: ForgetOutcome = { dryRun: input.dryRun, expired: 0, forgotten: 0, durationMs: 0 };
  if (input.dryRun) outcome.memories = [];
  const selectsByReason = policy.expired || policy.retention;

  for (let after: number | null = 0; after !== null && outcome.expired + outcome.forgotten < limit; ) {
    if (target.deleted) break;
    const { candidates, next } = await store.forgetting.candidates(target.record.id, policy, after, SCAN_WINDOW);
    after = next;
    const taken = candidates.slice(0, limit - outcome.expired - outcome.forgotten);
    for (const c of taken) {
      if (c.expired) outcome.expired++;
      else outcome.forgotten++;
    }
    if (input.dryRun) {
      const reason = (expired: boolean) => (expired ? ('expired' as const) : selectsByReason ? ('retention' as const) : ('policy' as const));
      // Each with its retention now, on the namespace's curve (what the console's histogram shows).
      const found = await store.memories.byLabels(target.record.id, taken.map((c) => c.label), { text: false, metadata: false, vector: false });
      const retentionOf = new Map(found.map((m) => [m.label, memoryRetention(m, at, settings.timescale)]));
      outcome.memories!.push(...taken.map((c) => ({ id: c.id, reason: reason(c.expired), retention: retentionOf.get(c.label) ?? 0 })));
    } else {
      // Expired and faded memories go in separate batches, so that the change log says which was which.
      for (const reason of ['expired', 'forgotten'] as const) {
        const chosen = taken.filter((c) => c.expired === (reason === 'expired'));
        for (let i = 0; i < chosen.length; i += DELETE_BATCH) {
          await target.remove(chosen.slice(i, i + DELETE_BATCH).map((c) => c.label), reason);
          await yieldToQueries();
        }
      }
    }
    await yieldToQueries();
  }
  outcome.durationMs = Math.round(performance.now() - started);
  if (!input.dryRun && !target.deleted) {
    const run: ForgetRun = { at, trigger, expired: outcome.expired, forgotten: outcome.forgotten, durationMs: outcome.durationMs };
    await store.forgetting.recordRun(target.record.id, run);
    deps.onRun(target.record.name, run);
    if (outcome.expired + outcome.forgotten > 0) await store.compact();
    logger.info({ namespace: target.record.name, trigger, expired: outcome.expired, forgotten: outcome.forgotten, ms: outcome.durationMs }, 'forgetting run');
  }
  return outcome;
}

/** Settings after a change: the given fields replace the current ones. */
export function mergeForgetting(current: ForgettingSettings, change: ForgettingInput): ForgettingSettings {
  return {
    enabled: change.enabled ?? current.enabled,
    timescale: change.timescale ?? current.timescale,
    threshold: change.threshold ?? current.threshold,
    schedule: change.schedule ?? current.schedule,
    protect: change.protect === undefined ? current.protect : change.protect,
  };
}

/** A write's importance, initial strength and expiry. */
export function lifetime(input: { importance?: number; ttl?: number; expiresAt?: number }, at: number) {
  return {
    importance: input.importance ?? null,
    strength: initialStrength(input.importance ?? 0),
    expiresAt: input.expiresAt ?? (input.ttl === undefined ? null : at + input.ttl * 1000),
  };
}
