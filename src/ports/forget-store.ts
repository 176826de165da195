/** The port for forgetting: which memories a policy selects, and the record of runs. */
import type { FilterNode } from '../core/filter.js';
import type { Label } from '../core/types.js';

/**
 * What a forgetting run removes: memories expired (`expired`) or whose retention fell below a threshold
 * (`retention`), or, when neither is given, any memory; always restricted by `olderThan`, `filter`, and never
 * one that `protect` matches, nor a pinned one that has not expired.
 */
export interface ForgetPolicy {
  now: number;
  expired?: boolean;
  /** Retention below `threshold` on a curve of time scale `timescale` seconds. */
  retention?: { threshold: number; timescale: number };
  /** Event time before this (epoch ms). */
  olderThan?: number;
  filter?: FilterNode;
  protect?: FilterNode;
}

export interface ForgetCandidate {
  label: Label;
  id: string;
  /** Expired, as opposed to faded. */
  expired: boolean;
}

export interface ForgetRun {
  at: number;
  trigger: 'scheduled' | 'manual';
  expired: number;
  forgotten: number;
  durationMs: number;
}

export interface ForgetStore {
  /**
   * Memories a policy selects, among labels in (afterLabel, afterLabel + window]: bounded work per call. `next`
   * is where to go on, or null past the namespace's last label.
   */
  candidates(namespaceId: number, policy: ForgetPolicy, afterLabel: number, window: number): Promise<{ candidates: ForgetCandidate[]; next: number | null }>;
  /** Labels of the memories matching a filter, and of every chunk of the documents they belong to. */
  eraseLabels(namespaceId: number, filter: FilterNode): Promise<Label[]>;
  recordRun(namespaceId: number, run: ForgetRun): Promise<void>;
  /** The namespace's latest runs, most recent first. */
  runs(namespaceId: number, limit: number): Promise<ForgetRun[]>;
}
