/** Which memories a read may see: a metadata filter, a text filter, given ids, and an event-time window. */
import { type FilterNode, matchesFilter } from './filter.js';
import { matchesText, type TextFilter } from './text-filter.js';
import type { MemoryRecord } from './types.js';

export interface Scope {
  filter?: FilterNode;
  /** On the memory's text (substring or RE2 pattern). */
  text?: TextFilter;
  /** Only these labels (the memories of given ids). */
  labels?: ReadonlySet<number>;
  /** Event time at or after this (epoch ms). */
  after?: number;
  /** Event time before this (epoch ms). */
  before?: number;
  /** Only memories not expired at this time (epoch ms). */
  visibleAt?: number;
}

/** True when the scope restricts nothing but expiry (which the vector index path handles on its own). */
export const isUnscoped = (scope: Scope): boolean =>
  scope.filter === undefined && scope.text === undefined && scope.labels === undefined && scope.after === undefined && scope.before === undefined;

export function inScope(scope: Scope, memory: Pick<MemoryRecord, 'label' | 'metadata' | 'text' | 'timestamp' | 'expiresAt'>): boolean {
  if (scope.visibleAt !== undefined && memory.expiresAt !== null && memory.expiresAt <= scope.visibleAt) return false;
  if (scope.after !== undefined && memory.timestamp < scope.after) return false;
  if (scope.before !== undefined && memory.timestamp >= scope.before) return false;
  if (scope.labels !== undefined && !scope.labels.has(memory.label)) return false;
  if (scope.text !== undefined && !matchesText(scope.text, memory.text)) return false;
  return scope.filter === undefined || matchesFilter(scope.filter, memory.metadata);
}
