/**
 * Resource subscriptions and the notifications that follow changes, for every MCP session of one process (the
 * sessions of /mcp, or the one stdio session). A change reaches a session as:
 * - notifications/resources/updated for each subscribed resource it touches (at most one per resource every
 *   `throttleMs`: a large write is one notification, not thousands);
 * - notifications/resources/list_changed when a namespace the session may see comes or goes, or memories of its
 *   own namespace are written or deleted (its resources/list changed), at most once a second;
 * - a log notification for each forgetting run in a namespace it may see.
 *
 * Changes come from the operations' feed (`ops.events`). What the feed does not see from every writer — facts
 * in-process; everything over REST, where only this process's own writes are known — is found by reading the
 * subscribed resources every `pollMs` and comparing (and, over REST, the namespace list), so a subscription is
 * told of every change, late by at most that much.
 */
import type { Change, ForgetRunEvent, MembankOps } from './ops.js';
import { parseUri, resourceContent, type ResourceRef } from './resources.js';

export interface SessionSink {
  /** The namespace the session is bound to. */
  namespace: string;
  canSee(namespace: string): boolean;
  updated(uri: string): void;
  listChanged(): void;
  forgetRun(run: ForgetRunEvent): void;
}

export interface SessionSubscriptions {
  /** Starts watching a resource (a URI that is not membank's simply never changes). */
  subscribe(uri: string): Promise<void>;
  unsubscribe(uri: string): void;
  close(): void;
}

export interface ResourceHub {
  attach(sink: SessionSink): SessionSubscriptions;
  /** Sessions attached now. */
  readonly sessions: number;
}

export interface HubOptions {
  ops: MembankOps;
  pollMs?: number;
  throttleMs?: number;
  /** Told when a poll fails (the service is unreachable, say); polling goes on. */
  onError?: (error: unknown) => void;
}

const LIST_THROTTLE_MS = 1000;
const NOTHING: ReadonlySet<Change['kind']> = new Set();

/** The kinds of change a resource's contents depend on. */
const dependsOn = (ref: ResourceRef): Change['kind'][] =>
  ref.kind === 'memory' ? ['memories', 'namespace'] : ref.kind === 'namespace' ? ['memories', 'namespace'] : ['facts', 'namespace'];

/** Whether a change may have changed the resource (when unsure, yes: a spurious notification costs one read). */
export function touches(change: Change, ref: ResourceRef): boolean {
  if (change.namespace !== ref.namespace) return false;
  switch (change.kind) {
    case 'namespace':
      return ref.kind === 'namespace' || change.op !== 'updated';
    case 'memories':
      return ref.kind === 'namespace' || (ref.kind === 'memory' && (change.ids.length === 0 || change.ids.includes(ref.id)));
    case 'facts':
      return (
        ref.kind === 'facts' ||
        (ref.kind === 'entity' && (change.entities.length === 0 || change.entities.some((e) => e.toLowerCase() === ref.name.toLowerCase())))
      );
  }
}

/** What a poll compares: the contents, without what moves on its own (the index's checkpoint). */
async function fingerprint(ops: MembankOps, ref: ResourceRef): Promise<string> {
  try {
    const content = (await resourceContent(ops, ref)) as Record<string, unknown>;
    if (ref.kind === 'namespace' && content.index && typeof content.index === 'object') {
      const { lastCheckpoint: _checkpoint, pendingChanges: _pending, ...index } = content.index as Record<string, unknown>;
      return JSON.stringify({ ...content, index });
    }
    return JSON.stringify(content);
  } catch (error) {
    if (['NAMESPACE_NOT_FOUND', 'MEMORY_NOT_FOUND'].includes((error as { code?: string }).code ?? '')) return 'missing';
    throw error;
  }
}

function throttled(ms: number, send: () => void) {
  let timer: NodeJS.Timeout | undefined;
  return {
    fire() {
      if (timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        send();
      }, ms);
      timer.unref();
    },
    cancel() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}

interface Session {
  sink: SessionSink;
  /** uri → its parsed form (undefined for URIs that are not membank's) and its throttle. */
  subscriptions: Map<string, { ref: ResourceRef | undefined; notify: ReturnType<typeof throttled> }>;
  list: ReturnType<typeof throttled>;
}

export function createResourceHub({ ops, pollMs = 2000, throttleMs = 250, onError }: HubOptions): ResourceHub {
  const sessions = new Set<Session>();
  // Read at each use: the operations may switch to another backend that sees more (see cli/mcp.ts).
  const covers = (): ReadonlySet<Change['kind']> => ops.events?.covers ?? NOTHING;
  /** Polled resources: uri → last fingerprint (undefined until the first read answers). */
  const polled = new Map<string, { ref: ResourceRef; last: string | undefined; stale: boolean }>();
  let namespaceNames: string | undefined;
  let detach: (() => void) | undefined;
  let pollTimer: NodeJS.Timeout | undefined;
  let polling = false;

  const needsPoll = (ref: ResourceRef) => dependsOn(ref).some((kind) => !covers().has(kind));

  function onChange(change: Change): void {
    for (const session of sessions) {
      if (!session.sink.canSee(change.namespace)) continue;
      if (change.kind === 'namespace' && change.op !== 'updated') session.list.fire();
      if (change.kind === 'memories' && change.namespace === session.sink.namespace) session.list.fire();
      for (const [uri, { ref, notify }] of session.subscriptions) {
        if (!ref || !touches(change, ref)) continue;
        notify.fire();
        // Told already: the next poll takes the new contents as its basis instead of telling it again.
        const entry = polled.get(uri);
        if (entry) entry.stale = true;
      }
    }
  }

  async function pollOnce(): Promise<void> {
    if (!covers().has('namespace')) {
      const names = JSON.stringify((await ops.listNamespaces()).map((n) => n.name).sort());
      if (namespaceNames !== undefined && names !== namespaceNames) for (const session of sessions) session.list.fire();
      namespaceNames = names;
    }
    for (const [uri, entry] of polled) {
      const now = await fingerprint(ops, entry.ref);
      const changed = entry.last !== undefined && !entry.stale && now !== entry.last;
      entry.last = now;
      entry.stale = false;
      if (!changed) continue;
      for (const session of sessions) session.subscriptions.get(uri)?.notify.fire();
    }
  }

  function schedulePoll(): void {
    const wanted = sessions.size > 0 && (polled.size > 0 || !covers().has('namespace'));
    if (!wanted) {
      clearTimeout(pollTimer);
      pollTimer = undefined;
      return;
    }
    if (pollTimer || polling) return;
    pollTimer = setTimeout(() => {
      pollTimer = undefined;
      polling = true;
      pollOnce()
        .catch((error: unknown) => onError?.(error))
        .finally(() => {
          polling = false;
          schedulePoll();
        });
    }, pollMs);
    pollTimer.unref();
  }

  function forgetRun(run: ForgetRunEvent): void {
    for (const session of sessions) if (session.sink.canSee(run.namespace)) session.sink.forgetRun(run);
  }

  function stillPolled(uri: string): boolean {
    for (const session of sessions) if (session.subscriptions.has(uri)) return true;
    return false;
  }

  return {
    get sessions() {
      return sessions.size;
    },
    attach(sink) {
      const session: Session = { sink, subscriptions: new Map(), list: throttled(LIST_THROTTLE_MS, () => sink.listChanged()) };
      sessions.add(session);
      if (!detach && ops.events) {
        const stopChanges = ops.events.onChange(onChange);
        const stopRuns = ops.events.onForgetRun(forgetRun);
        detach = () => {
          stopChanges();
          stopRuns();
        };
      }
      schedulePoll();
      return {
        async subscribe(uri) {
          if (session.subscriptions.has(uri)) return;
          const parsed = parseUri(uri);
          const ref = parsed && sink.canSee(parsed.namespace) ? parsed : undefined;
          session.subscriptions.set(uri, { ref, notify: throttled(throttleMs, () => sink.updated(uri)) });
          if (ref && needsPoll(ref) && !polled.has(uri)) {
            const entry = { ref, last: undefined as string | undefined, stale: false };
            polled.set(uri, entry);
            // The basis to compare with: what the resource holds when the subscription starts.
            entry.last = await fingerprint(ops, ref).catch((error: unknown) => {
              onError?.(error);
              return undefined;
            });
          }
          schedulePoll();
        },
        unsubscribe(uri) {
          session.subscriptions.get(uri)?.notify.cancel();
          session.subscriptions.delete(uri);
          if (!stillPolled(uri)) polled.delete(uri);
          schedulePoll();
        },
        close() {
          if (!sessions.delete(session)) return;
          for (const [uri, { notify }] of session.subscriptions) {
            notify.cancel();
            if (!stillPolled(uri)) polled.delete(uri);
          }
          session.list.cancel();
          if (sessions.size === 0) {
            detach?.();
            detach = undefined;
            namespaceNames = undefined;
          }
          schedulePoll();
        },
      };
    },
  };
}
