/**
 * Scheduled forgetting for every namespace with one timer per distinct cron expression, not one per namespace:
 * at each tick the store says which namespaces on that schedule have something to forget (expired memories,
 * or retention forgetting enabled), and only those run, one after another. Nothing is loaded to find out.
 */
import { Cron } from 'croner';
import type { Logger } from 'pino';
import type { Store } from '../ports/store.js';

export interface SchedulerOptions {
  store: Store;
  logger: Logger;
  now: () => number;
  /** Runs one namespace's scheduled forgetting. */
  run: (namespace: string) => Promise<void>;
  /** Whether this node runs a schedule's tick (cluster mode: one node per tick); default yes. */
  claim?: (schedule: string, tick: number) => Promise<boolean>;
}

export function createScheduler(options: SchedulerOptions) {
  const { store, logger } = options;
  const crons = new Map<string, Cron>();
  let stopped = false;

  async function tick(schedule: string, cron: Cron): Promise<void> {
    if (stopped) return;
    const at = options.now();
    // The tick's own time (to the second) names it for a claim, whichever node's clock fires first.
    const tickTime = Math.floor((cron.currentRun()?.getTime() ?? at) / 1000);
    if (options.claim && !(await options.claim(schedule, tickTime))) return;
    const due = await store.namespaces.dueOn(schedule, at);
    for (const name of due) {
      if (stopped) return;
      await options.run(name).catch((error: unknown) => logger.error({ err: error, namespace: name }, 'scheduled forgetting failed'));
    }
  }

  return {
    /** Makes sure a timer runs for this cron expression. */
    ensure(schedule: string): void {
      if (stopped || crons.has(schedule)) return;
      const cron: Cron = new Cron(schedule, { protect: true, unref: true }, () =>
        tick(schedule, cron).catch((error: unknown) => logger.error({ err: error, schedule }, 'a forgetting tick failed')),
      );
      crons.set(schedule, cron);
    },

    /** Starts a timer for every schedule in use. */
    async start(): Promise<void> {
      for (const schedule of await store.namespaces.schedules()) this.ensure(schedule);
    },

    /** Timers running (one per distinct schedule). */
    get timers(): number {
      return crons.size;
    },

    stop(): void {
      stopped = true;
      for (const cron of crons.values()) cron.stop();
      crons.clear();
    },
  };
}

export type Scheduler = ReturnType<typeof createScheduler>;
