/**
 * Recall reinforcement, batched: a query only notes which memories it returned, and one transaction writes
 * the notes every second (or as soon as many are pending), so that queries never wait on a write. Notes not yet
 * written when the process is killed are lost: they are statistics, not data.
 */
import type { Logger } from 'pino';
import type { Label } from '../core/types.js';
import type { Store } from '../ports/store.js';

/** Pending recalls are written at least this often (ms), or as soon as this many are pending. */
const INTERVAL_MS = 1000;
const BATCH = 5000;
/** Recalls written per transaction: a busy second's recalls are written in slices, with queries in between. */
const SLICE = 500;

export function createRecallRecorder({ store, logger, now }: { store: Store; logger: Logger; now: () => number }) {
  const pending = new Map<number, { recalls: number; at: number }>();
  let flushing: Promise<void> | null = null;
  const report = (error: unknown) => logger.error({ err: error }, 'recording recalls failed');

  const flush = async (): Promise<void> => {
    if (pending.size === 0) return;
    const batch = [...pending].map(([label, r]) => ({ label: label as Label, ...r }));
    pending.clear();
    for (let i = 0; i < batch.length; i += SLICE) {
      if (i > 0) await new Promise((resolve) => setImmediate(resolve));
      await store.memories.reinforce(batch.slice(i, i + SLICE));
    }
  };
  const timer = setInterval(() => {
    flushing ??= flush()
      .catch(report)
      .finally(() => (flushing = null));
  }, INTERVAL_MS);
  timer.unref();

  return {
    /** Notes one recall of each memory, now. */
    note(labels: Label[]): void {
      const at = now();
      for (const label of labels) pending.set(label, { recalls: (pending.get(label)?.recalls ?? 0) + 1, at });
      if (pending.size >= BATCH && flushing === null) {
        flushing = flush()
          .catch(report)
          .finally(() => (flushing = null));
      }
    },
    /** Writes the pending recalls now. */
    flush,
    /** Stops the timer and writes what is pending. */
    async close(): Promise<void> {
      clearInterval(timer);
      await flushing;
      await flush().catch(report);
    },
  };
}
