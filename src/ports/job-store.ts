/** The port for background jobs (re-embedding) and the vectors they stage before swapping them in. */
import type { JobRecord, LabeledVector, NamespaceRecord } from '../core/types.js';

export interface JobStore {
  create(job: JobRecord): Promise<void>;
  update(id: string, fields: Pick<JobRecord, 'status' | 'done' | 'total' | 'error'>): Promise<void>;
  get(id: string): Promise<JobRecord | undefined>;
  /** Marks jobs left running by a previous process as failed, and drops their staged vectors. */
  failInterrupted(reason: string): Promise<number>;
  stage(jobId: string, vectors: LabeledVector[]): Promise<void>;
  /**
   * In one transaction: every memory of the namespace takes its staged vector, and the namespace its new
   * embedder and a new generation. Fails, changing nothing, when a memory has no staged vector.
   */
  swap(
    namespaceId: number,
    jobId: string,
    embedding: { embedder: string; dimensions: number; revision: string },
  ): Promise<{ seq: number; namespace: NamespaceRecord }>;
}
