/** What the service holds for a namespace it has touched: its record, its write lock, and its cached search state. */
import type { NamespaceRecord } from '../core/types.js';
import { Mutex } from './mutex.js';
import type { Resident } from './residents/resident.js';

export interface NamespaceState {
  record: NamespaceRecord;
  /** Serializes this node's writes (and cache loads) to the namespace, so the cache applies changes in commit order. */
  readonly lock: Mutex;
  deleted: boolean;
  /** The namespace's search structures in memory, when loaded. */
  resident: Resident | null;
  /** A load in progress: concurrent first queries wait on the same one. */
  loading: Promise<Resident> | null;
  /** The last change sequence number known to be committed for it. */
  head: number;
}

export function newState(record: NamespaceRecord, head: number): NamespaceState {
  return { record, lock: new Mutex(), deleted: false, resident: null, loading: null, head };
}
