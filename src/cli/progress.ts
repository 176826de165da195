/** The ingest progress line: a bar, items done of total, rate and ETA. Pure, so it is tested without a terminal. */

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function formatProgress({ done, total, elapsedMs, width = 24 }: { done: number; total: number; elapsedMs: number; width?: number }): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(fraction * width);
  const rate = elapsedMs > 0 ? done / (elapsedMs / 1000) : 0;
  const eta = rate > 0 ? (total - done) / rate : Infinity;
  const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
  return `${bar} ${done}/${total} items  ${rate.toFixed(1)}/s  ETA ${done >= total ? '0s' : formatDuration(eta)}`;
}

/** Redraws one line on a terminal, at most every 100 ms; prints nothing when the stream is not a terminal. */
export function progressLine(stream: NodeJS.WriteStream, total: number) {
  const started = Date.now();
  let last = 0;
  let done = 0;
  const draw = (force: boolean) => {
    if (!stream.isTTY) return;
    const now = Date.now();
    if (!force && now - last < 100) return;
    last = now;
    stream.write(`\r${formatProgress({ done, total, elapsedMs: now - started })}\u001b[K`);
  };
  return {
    advance(n: number) {
      done += n;
      draw(false);
    },
    finish() {
      draw(true);
      if (stream.isTTY) stream.write('\n');
      return { done, elapsedMs: Date.now() - started };
    },
  };
}
