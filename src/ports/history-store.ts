/**
 * The port for the history of memories: what happened to each (created, updated with its previous version,
 * a duplicate folded in, expired or forgotten), recorded by the memory store in the transaction of each change.
 * A removal leaves only its tombstone: never the text.
 */
import type { Metadata } from '../core/types.js';

export type HistoryOp = 'created' | 'updated' | 'deduplicated' | 'expired' | 'forgotten';

/** Why a memory went: its expiry, its retention, an erase, or a delete. */
export type RemovalPolicy = 'ttl' | 'retention' | 'erase' | 'delete';

export interface HistoryEvent {
  /** The namespace's change sequence at the event (a skipped duplicate changes nothing: the head then). */
  seq: number;
  /** Epoch ms. */
  at: number;
  op: HistoryOp;
  /** For `updated`: the version it replaced. */
  previous?: { text: string | null; metadata: Metadata };
  /** For `deduplicated`. */
  similarity?: number;
  /** For `expired` and `forgotten`. */
  policy?: RemovalPolicy;
}

export interface HistoryStore {
  /** A memory's events, oldest first, at most `limit`. */
  events(namespaceId: number, memoryId: string, limit: number): Promise<HistoryEvent[]>;
}
