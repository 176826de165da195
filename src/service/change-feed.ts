/**
 * The change feed of a namespace: its change log read after a seq, a page at a time, with long polling. A
 * change committed on this node wakes waiters at once; with a shared store (several nodes) the log is also
 * read again every second, so changes made by other nodes arrive too. A `since` older than what the log still
 * holds is refused (CHANGES_EXPIRED) rather than answered with a gap.
 */
import { MembankError } from '../core/errors.js';
import type { ChangeRecord } from '../ports/change-log.js';
import type { Store } from '../ports/store.js';
import type { NamespaceRegistry } from './namespaces.js';
import type { ChangeEvent } from './writes.js';

/** How often a waiting reader looks at the log again without a local change (other nodes' writes). */
const POLL_MS = 1000;

export interface ChangePage {
  changes: ChangeRecord[];
  /** The seq to ask after next: the last one answered, or `since` when none. */
  next: number;
}

export function createChangeFeed({
  store,
  registry,
  onChange,
}: {
  store: Store;
  registry: NamespaceRegistry;
  onChange: (listener: (event: ChangeEvent) => void) => () => void;
}) {
  async function read(name: string, since: number, limit: number): Promise<ChangePage> {
    const state = await registry.get(name, true);
    const horizon = await store.changes.horizon(state.record.id);
    if (since < horizon) {
      throw new MembankError(
        'CHANGES_EXPIRED',
        `Namespace "${name}" keeps its changes after seq ${horizon} only; ${since} is older. Read the namespace again and follow the feed from its seq.`,
        { since, oldest: horizon },
      );
    }
    const changes = await store.changes.since(state.record.id, since, limit);
    return { changes, next: changes.length > 0 ? changes[changes.length - 1]!.seq : since };
  }

  /** Resolves after a change to the namespace (on this node), after POLL_MS, or when `signal` aborts. */
  function nudge(name: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        stop();
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.min(ms, POLL_MS));
      const stop = onChange((event) => {
        if (event.namespace === name && event.kind === 'memories') done();
      });
      signal?.addEventListener('abort', done);
    });
  }

  return {
    read,

    /** The seq a reader starting from the oldest change the log holds asks after. */
    async oldest(name: string): Promise<number> {
      return store.changes.horizon((await registry.get(name, true)).record.id);
    },

    /** Like `read`, but when nothing is there waits up to `waitMs` for a change. */
    async poll(name: string, since: number, limit: number, waitMs: number, signal?: AbortSignal): Promise<ChangePage> {
      const deadline = Date.now() + waitMs;
      for (;;) {
        const page = await read(name, since, limit);
        const left = deadline - Date.now();
        if (page.changes.length > 0 || left <= 0 || signal?.aborted) return page;
        await nudge(name, left, signal);
      }
    },

    /** Calls `deliver` with each page of changes after `since`, as they come, until `signal` aborts. */
    async follow(name: string, since: number, deliver: (page: ChangePage) => void, signal: AbortSignal): Promise<void> {
      let after = since;
      while (!signal.aborted) {
        const page = await read(name, after, 1000);
        if (page.changes.length > 0) {
          deliver(page);
          after = page.next;
          continue;
        }
        await nudge(name, POLL_MS, signal);
      }
    },
  };
}

export type ChangeFeed = ReturnType<typeof createChangeFeed>;
