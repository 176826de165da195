/**
 * The port for the change log: every change to a namespace's memories, numbered by the namespace's change
 * sequence, written in the same transaction as the change. Caches catch up from it; a removal is kept as its
 * id and label, never its text.
 */
import type { Label } from '../core/types.js';

export type ChangeOp = 'created' | 'updated' | 'deleted' | 'expired' | 'forgotten' | 'erased';

export interface ChangeRecord {
  seq: number;
  /** Epoch ms. */
  at: number;
  op: ChangeOp;
  id: string;
  label: Label;
}

export interface ChangeLog {
  /** Changes after `seq`, in order, at most `limit`. */
  since(namespaceId: number, seq: number, limit: number): Promise<ChangeRecord[]>;
  /** Labels removed after `seq`. */
  removedSince(namespaceId: number, seq: number): Promise<Label[]>;
  /** The highest seq whose record may be gone (trimmed): a cache older than it must reload rather than replay. */
  horizon(namespaceId: number): Promise<number>;
  /** Drops records older than `before` (epoch ms); answers how many. */
  trim(before: number): Promise<number>;
}
