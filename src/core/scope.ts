/** Which memories a read may see: a metadata filter and an event-time window. */
import { type FilterNode, matchesFilter } from './filter.js';
import type { MemoryRecord } from './types.js';

export interface Scope {
  filter?: FilterNode;
  /** Event time at or after this (epoch ms). */
  after?: number;
  /** Event time before this (epoch ms). */
  before?: number;
  /** Only memories not expired at this time (epoch ms). */
  visibleAt?: number;
}

/** True when the scope restricts nothing but expiry (which the vector index path handles on its own). */
export const isUnscoped = (scope: Scope): boolean =>
  scope.filter === undefined && scope.after === undefined && scope.before === undefined;

export function inScope(scope: Scope, memory: Pick<MemoryRecord, 'metadata' | 'timestamp' | 'expiresAt'>): boolean {
  if (scope.visibleAt !== undefined && memory.expiresAt !== null && memory.expiresAt <= scope.visibleAt) return false;
  if (scope.after !== undefined && memory.timestamp < scope.after) return false;
  if (scope.before !== undefined && memory.timestamp >= scope.before) return false;
  return scope.filter === undefined || matchesFilter(scope.filter, memory.metadata);
}
