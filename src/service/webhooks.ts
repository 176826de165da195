/**
 * Webhooks: registered targets that are told of each namespace's changes. The change log is the outbox: per
 * webhook and namespace a cursor in the store says how far deliveries went, so a write does no work for them,
 * and deliveries resume where they stopped after a restart. Each delivery POSTs `{namespace, events}` (up to
 * BATCH changes, in seq order), signed with the webhook's secret; only a 2xx answer advances the cursor
 * (at-least-once), and one cursor has one delivery in flight at a time (in order per namespace). A failure is
 * retried with exponential backoff, from `retryBaseMs` up to `retryCapMs`, for as long as the webhook exists.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { CreateWebhookInput } from '../api/schemas.js';
import { patternMatches } from '../core/access.js';
import { MembankError } from '../core/errors.js';
import type { NamespaceRecord } from '../core/types.js';
import type { ChangeOp } from '../ports/change-log.js';
import type { Store } from '../ports/store.js';
import type { WebhookSender } from '../ports/webhook-sender.js';
import type { WebhookCursor, WebhookRecord } from '../ports/webhook-store.js';
import type { ChangeEvent } from './writes.js';

export const ALL_OPS: ChangeOp[] = ['created', 'updated', 'deleted', 'expired', 'forgotten', 'erased'];

export interface WebhookTiming {
  /** A delivery's answer is waited for this long. */
  timeoutMs: number;
  /** The first retry after a failure; each next one waits twice as long, up to `retryCapMs`. */
  retryBaseMs: number;
  retryCapMs: number;
  /** How often due deliveries are looked for without a local change (retries, other nodes' writes). */
  pollMs: number;
}

export const DEFAULT_WEBHOOK_TIMING: WebhookTiming = { timeoutMs: 10_000, retryBaseMs: 10_000, retryCapMs: 3_600_000, pollMs: 1000 };

/** Changes per delivery, and deliveries in flight at once (over all webhooks and namespaces). */
const BATCH = 100;
const CONCURRENCY = 8;
/** A claim on a cursor outlasts the delivery's timeout by this much (store round trips). */
const CLAIM_MARGIN_MS = 5000;
/** How often cursors are made for namespaces created elsewhere (other nodes). */
const RECONCILE_MS = 30_000;

export interface WebhookDelivery {
  namespace: string;
  deliveredSeq: number;
  /** Changes committed and not delivered yet. */
  pending: number;
  attempts: number;
  nextAttemptAt: number | null;
  lastAttemptAt: number | null;
  lastError: string | null;
}

export interface WebhookOptions {
  store: Store;
  sender: WebhookSender;
  logger: Logger;
  now: () => number;
  timing?: Partial<WebhookTiming>;
  onChange: (listener: (event: ChangeEvent) => void) => () => void;
}

/** The wait before attempt `attempts + 1` after `attempts` failures in a row: doubling from the base, capped. */
export function retryDelay(attempts: number, timing: Pick<WebhookTiming, 'retryBaseMs' | 'retryCapMs'> = DEFAULT_WEBHOOK_TIMING): number {
  return Math.min(timing.retryCapMs, timing.retryBaseMs * 2 ** Math.max(0, attempts - 1));
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`, as the receiver recomputes it. */
export function signature(secret: string, body: string, unixSeconds: number): string {
  return `t=${unixSeconds},v1=${createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex')}`;
}

export function createWebhooks(options: WebhookOptions) {
  const { store, sender, logger, now } = options;
  const timing = { ...DEFAULT_WEBHOOK_TIMING, ...options.timing };
  const inFlight = new Map<string, Promise<void>>();
  const closing = new AbortController();
  let hooks = new Map<string, WebhookRecord>();
  let ticking = false;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let reconciler: NodeJS.Timeout | undefined;
  let stopListening: (() => void) | undefined;

  const matches = (hook: WebhookRecord, name: string) => !name.startsWith('~') && hook.namespaces.some((p) => patternMatches(p, name));
  const backoff = (attempts: number) => retryDelay(attempts, timing);
  const key = (c: Pick<WebhookCursor, 'webhookId' | 'namespaceId'>) => `${c.webhookId}:${c.namespaceId}`;

  async function reload(): Promise<void> {
    hooks = new Map((await store.webhooks.list()).map((h) => [h.id, h]));
  }

  /** Cursors for matching namespaces that have none (created since, or on another node): from their first change. */
  async function reconcile(): Promise<void> {
    await reload();
    if (hooks.size === 0) return;
    const namespaces = await store.namespaces.list();
    for (const hook of hooks.values()) {
      for (const ns of namespaces) if (matches(hook, ns.name)) await store.webhooks.startCursor(hook.id, ns.id, 0);
    }
  }

  async function deliver(cursor: WebhookCursor): Promise<void> {
    const hook = hooks.get(cursor.webhookId) ?? (await store.webhooks.get(cursor.webhookId));
    const ns = await store.namespaces.byId(cursor.namespaceId);
    if (!hook || !ns) return;
    // Another node (or an earlier tick) may deliver it: one delivery per cursor at a time, in seq order.
    const at0 = now();
    if (!(await store.webhooks.claim(cursor, at0, at0 + 2 * timing.timeoutMs + CLAIM_MARGIN_MS))) return;
    let from = cursor.deliveredSeq;
    const horizon = await store.changes.horizon(ns.id);
    if (from < horizon) {
      logger.warn({ webhook: hook.id, namespace: ns.name, from, horizon }, 'webhook deliveries skip changes the log no longer holds');
      from = horizon;
    }
    // The head before the log: every change up to it is committed, so an empty read up to it may be passed over
    // (a log entry that is no memory's change, such as PostgreSQL's re-embedding mark, is not delivered).
    const head = (await store.namespaces.head(ns.id))?.seq ?? from;
    const changes = await store.changes.since(ns.id, from, BATCH);
    if (changes.length === 0) {
      if (head > from) await store.webhooks.delivered(hook.id, ns.id, head, now());
      return;
    }
    const last = changes[changes.length - 1]!.seq;
    const events = changes.filter((c) => hook.events.includes(c.op)).map((c) => ({ seq: c.seq, at: new Date(c.at).toISOString(), op: c.op, id: c.id }));
    if (events.length === 0) return store.webhooks.delivered(hook.id, ns.id, last, now());
    const body = JSON.stringify({ namespace: ns.name, events });
    const headers = {
      'membank-signature': signature(hook.secret, body, Math.floor(Date.now() / 1000)),
      'membank-webhook-id': hook.id,
      'user-agent': 'membank-webhooks',
    };
    let failure: string;
    try {
      const status = await sender.send(hook.url, body, headers, timing.timeoutMs, closing.signal);
      if (status >= 200 && status < 300) {
        await store.webhooks.delivered(hook.id, ns.id, last, now());
        if (changes.length === BATCH) again = true;
        return;
      }
      failure = `answered ${status}`;
    } catch (error) {
      // Stopping is not the target's failure: the delivery is made again after the restart.
      if (closing.signal.aborted) return;
      failure = error instanceof Error ? error.message : String(error);
    }
    const at = now();
    const attempts = await store.webhooks.failed(hook.id, ns.id, failure, at, at + backoff(cursor.attempts + 1));
    logger.warn({ webhook: hook.id, namespace: ns.name, attempts, error: failure }, 'webhook delivery failed; retrying later');
  }

  async function tick(): Promise<void> {
    if (ticking) {
      again = true;
      return;
    }
    ticking = true;
    try {
      do {
        again = false;
        // Not only the webhooks this node knows: in cluster mode another node may have created one.
        if (closing.signal.aborted) return;
        const due = (await store.webhooks.due(now(), BATCH)).filter((c) => !inFlight.has(key(c)));
        for (const cursor of due) {
          while (inFlight.size >= CONCURRENCY) await Promise.race(inFlight.values());
          if (closing.signal.aborted) return;
          const k = key(cursor);
          const running = deliver(cursor)
            .catch((error: unknown) => logger.error({ err: error, webhook: cursor.webhookId }, 'webhook delivery failed'))
            .finally(() => {
              inFlight.delete(k);
              // A cursor done may have more to deliver.
              again = true;
            });
          inFlight.set(k, running);
        }
        await Promise.all(inFlight.values());
      } while (again && !closing.signal.aborted);
    } finally {
      ticking = false;
    }
  }

  const kick = () => {
    void tick().catch((error: unknown) => logger.error({ err: error }, 'webhook dispatch failed'));
  };

  return {
    async start(): Promise<void> {
      await reconcile();
      stopListening = options.onChange((event) => {
        if (hooks.size === 0) return;
        if (event.kind === 'namespace' && event.op === 'created') {
          void (async () => {
            const ns = await store.namespaces.byName(event.namespace);
            for (const hook of hooks.values()) if (ns && matches(hook, ns.name)) await store.webhooks.startCursor(hook.id, ns.id, 0);
          })().catch((error: unknown) => logger.error({ err: error }, 'starting webhook deliveries failed'));
        }
        if (event.kind === 'memories') kick();
      });
      timer = setInterval(kick, timing.pollMs);
      timer.unref();
      reconciler = setInterval(() => void reconcile().catch((error: unknown) => logger.warn({ err: error }, 'webhook reconcile failed')), RECONCILE_MS);
      reconciler.unref();
      kick();
    },

    async create(input: CreateWebhookInput): Promise<WebhookRecord> {
      const refused = await sender.refuse(input.url);
      if (refused) throw new MembankError('WEBHOOK_URL_REFUSED', `Refusing webhook URL ${input.url}: ${refused}.`, { reason: refused });
      const hook: WebhookRecord = {
        id: randomBytes(8).toString('hex'),
        url: input.url,
        namespaces: input.namespaces,
        events: input.events ?? ALL_OPS,
        secret: input.secret,
        createdAt: now(),
      };
      await store.webhooks.insert(hook);
      // Existing namespaces are followed from now on, not from their first change.
      for (const ns of await store.namespaces.list()) {
        if (matches(hook, ns.name)) await store.webhooks.startCursor(hook.id, ns.id, (await store.namespaces.head(ns.id))?.seq ?? 0);
      }
      hooks.set(hook.id, hook);
      logger.info({ webhook: hook.id, url: hook.url, namespaces: hook.namespaces }, 'webhook created');
      return hook;
    },

    async list(): Promise<(WebhookRecord & { deliveries: WebhookDelivery[] })[]> {
      const out = [];
      for (const hook of await store.webhooks.list()) out.push({ ...hook, deliveries: await deliveries(hook.id) });
      return out;
    },

    async get(id: string): Promise<WebhookRecord & { deliveries: WebhookDelivery[] }> {
      const hook = await store.webhooks.get(id);
      if (!hook) throw new MembankError('WEBHOOK_NOT_FOUND', `No webhook "${id}".`);
      return { ...hook, deliveries: await deliveries(id) };
    },

    async remove(id: string): Promise<void> {
      if (!(await store.webhooks.delete(id))) throw new MembankError('WEBHOOK_NOT_FOUND', `No webhook "${id}".`);
      hooks.delete(id);
      logger.info({ webhook: id }, 'webhook deleted');
    },

    /** Delivers what is due now (tests). */
    flush: () => tick(),

    async close(): Promise<void> {
      closing.abort();
      stopListening?.();
      clearInterval(timer);
      clearInterval(reconciler);
      await Promise.all(inFlight.values());
    },
  };

  async function deliveries(webhookId: string): Promise<WebhookDelivery[]> {
    const out: WebhookDelivery[] = [];
    for (const c of await store.webhooks.cursors(webhookId)) {
      const ns: NamespaceRecord | undefined = await store.namespaces.byId(c.namespaceId);
      if (!ns) continue;
      const head = (await store.namespaces.head(ns.id))?.seq ?? c.deliveredSeq;
      out.push({
        namespace: ns.name,
        deliveredSeq: c.deliveredSeq,
        pending: Math.max(0, head - c.deliveredSeq),
        attempts: c.attempts,
        nextAttemptAt: c.attempts > 0 ? c.nextAt : null,
        lastAttemptAt: c.lastAttemptAt,
        lastError: c.lastError,
      });
    }
    return out;
  }
}

export type Webhooks = ReturnType<typeof createWebhooks>;
