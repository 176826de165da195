/** The port for facts, beside the memories of the Store. */
import type { FactPattern, FactRecord } from '../core/types.js';

export type FactWrite = Pick<FactRecord, 'subject' | 'predicate' | 'object' | 'confidence' | 'source' | 'validFrom' | 'validTo' | 'metadata'> & {
  /** Close the active facts with the same subject and predicate and another object. */
  replace: boolean;
};

export interface FactWriteOutcome {
  id: string;
  /** False when the same fact was already active: its sighting was recorded instead. */
  created: boolean;
  /** Ids of the facts this one superseded. */
  superseded: string[];
  /**
   * The namespace's change sequence after the write: a fact write takes the next number, as a memory write
   * does (no change-log record: caches hold no facts, and reads of facts go to the store).
   */
  seq: number;
}

export interface FactQuery extends FactPattern {
  /** What held in the world at this time (validFrom/validTo). */
  asOf?: number;
  /** What membank believed at this time (createdAt/invalidatedAt). */
  knownAt?: number;
  /** Include superseded facts (ignored when asOf or knownAt is given). */
  history?: boolean;
  limit: number;
}

export interface FactStore {
  /** Writes one fact in one transaction: dedupe, supersession, insert. `newId` is used when one is created. */
  write(namespaceId: number, fact: FactWrite, newId: string): Promise<FactWriteOutcome>;
  query(namespaceId: number, query: FactQuery): Promise<FactRecord[]>;
  byIds(namespaceId: number, ids: string[]): Promise<FactRecord[]>;
  /** Facts whose subject or object is one of these names (normalized), active only. */
  touching(namespaceId: number, names: string[]): Promise<FactRecord[]>;
  /** Deletes in one transaction; `seq` is the namespace's change sequence after it (advanced when any went). */
  delete(namespaceId: number, ids: string[]): Promise<{ deleted: number; seq: number }>;
  count(namespaceId: number): Promise<number>;
}
