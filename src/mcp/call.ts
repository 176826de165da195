/**
 * What a tool call may do besides answering: report progress (when the caller sent a progress token), notice
 * that the caller cancelled it, and send log notifications. Long operations are cut here into batches of the
 * service's ordinary calls, so that progress is real and a cancellation stops the work between two batches.
 */
import type { OpsEvents } from './ops.js';

/** MCP's log levels, least severe first (RFC 5424's syslog levels). */
export const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ToolContext {
  /** Aborted when the caller cancels the call (notifications/cancelled) or the connection goes. */
  signal: AbortSignal;
  /** Tells the caller how far the call got; a no-op without a progress token. `done` must grow call to call. */
  progress(done: number, total?: number, message?: string): Promise<void>;
  /** A log notification about this call, sent when the session's level lets it through. */
  log(level: LogLevel, data: Record<string, unknown>): void;
  /** What the operations report as changing (in-process: every writer's memory changes). */
  events?: OpsEvents;
}

/** For callers outside MCP (the CLI): nothing to report to, nothing to cancel. */
export const quietContext = (): ToolContext => ({
  signal: new AbortController().signal,
  progress: async () => {},
  log: () => {},
});

export class CancelledError extends Error {
  override readonly name = 'CancelledError';
  constructor(readonly done: number) {
    super(`Cancelled after ${done} items.`);
  }
}

/**
 * Runs `run` over `items` in batches of `size`, one batch at a time, reporting progress after each and stopping
 * between two batches when the call is cancelled (the batches already written stay written).
 */
export async function inBatches<T, R>(
  items: T[],
  size: number,
  ctx: ToolContext,
  run: (batch: T[]) => Promise<R[]>,
  describe: (done: number, total: number) => string,
): Promise<R[]> {
  const results: R[] = [];
  await ctx.progress(0, items.length, describe(0, items.length));
  for (let start = 0; start < items.length; start += size) {
    if (ctx.signal.aborted) throw new CancelledError(start);
    results.push(...(await run(items.slice(start, start + size))));
    const done = Math.min(start + size, items.length);
    await ctx.progress(done, items.length, describe(done, items.length));
  }
  return results;
}

/**
 * Reports the memory changes the feed sees in `namespace` while `work` runs (in-process, a delete by filter
 * tells one change per batch it commits), as progress growing from `offset`, without a total; without a feed
 * that sees every writer's memory changes, nothing.
 */
export async function withChangeProgress<R>(ctx: ToolContext, namespace: string, offset: number, unit: string, work: () => Promise<R>): Promise<R> {
  let batches = 0;
  const stop = ctx.events?.covers.has('memories')
    ? ctx.events.onChange((change) => {
        if (change.kind !== 'memories' || change.namespace !== namespace) return;
        batches++;
        void ctx.progress(offset + batches, undefined, `${batches} ${unit} committed`);
      })
    : undefined;
  try {
    return await work();
  } finally {
    stop?.();
  }
}
