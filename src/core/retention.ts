/**
 * The forgetting curve of MemoryBank (Zhong et al. 2023, after Ebbinghaus): retention R = exp(−Δt / (S·τ)),
 * with Δt the time since the memory was last recalled (or stored), S its strength and τ the namespace's time
 * scale. S starts at 1, raised by importance; each recall adds 1 and resets the clock, as in the paper. (The
 * MemoryBank repository's code computes exp(−t/5·S), which makes strong memories fade faster; this follows the
 * paper.)
 */

export interface RetentionState {
  strength: number;
  recallCount: number;
  /** Epoch ms of the last recall, or of the write when never recalled. */
  lastTouchedAt: number;
}

/** Strength a memory starts with: 1, plus up to 4 for importance 1 (it then fades five times slower). */
export function initialStrength(importance = 0): number {
  const clamped = Math.min(1, Math.max(0, importance));
  return 1 + 4 * clamped;
}

export function retention(state: Pick<RetentionState, 'strength' | 'lastTouchedAt'>, nowMs: number, timescaleSeconds: number): number {
  const elapsedSeconds = Math.max(0, nowMs - state.lastTouchedAt) / 1000;
  return Math.exp(-elapsedSeconds / (state.strength * timescaleSeconds));
}

/** A stored memory's retention now: its clock runs from its last recall, or from its write when never recalled. */
export function memoryRetention(
  memory: { strength: number; lastRecalledAt: number | null; createdAt: number },
  nowMs: number,
  timescaleSeconds: number,
): number {
  return retention({ strength: memory.strength, lastTouchedAt: memory.lastRecalledAt ?? memory.createdAt }, nowMs, timescaleSeconds);
}

/** A recall: one more unit of strength, and the clock starts again. */
export function recall(state: RetentionState, nowMs: number): RetentionState {
  return { strength: state.strength + 1, recallCount: state.recallCount + 1, lastTouchedAt: nowMs };
}

/** Seconds after the last touch at which retention falls below `threshold`. */
export function secondsUntil(threshold: number, strength: number, timescaleSeconds: number): number {
  return -Math.log(threshold) * strength * timescaleSeconds;
}
