/** One suite, every JobStore implementation (SQLite, PostgreSQL): records, staging, the swap, interrupted jobs. */
import { describe, expect, it } from 'vitest';
import type { JobRecord, MemoryWrite } from '../../src/core/types.js';
import { newNamespace, type StoreHarness, vec, withHarness } from './harness.js';

const job = (id: string, namespaceId: number, extra: Partial<JobRecord> = {}): JobRecord => ({
  id,
  kind: 'reembed',
  namespaceId,
  status: 'running',
  done: 0,
  total: 2,
  params: { embedder: 'other' },
  error: null,
  createdAt: 1_000,
  updatedAt: 1_000,
  ...extra,
});

const memory = (id: string): MemoryWrite => ({
  id, text: id, metadata: {}, vector: vec(1, 0, 0, 0), timestamp: 1, documentId: null, chunkIndex: null, importance: null, strength: 1, expiresAt: null,
});

export function jobStoreSuite(name: string, open: () => Promise<StoreHarness>): void {
  describe(`JobStore: ${name}`, () => {
    it(
      'creates, reads and updates a job',
      withHarness(open, async ({ store, other }) => {
        const { id: ns } = await store.namespaces.create(newNamespace());
        const id = `job-${ns}`;
        await store.jobs.create(job(id, ns));
        expect(await other.jobs.get(id)).toEqual(job(id, ns));
        await store.jobs.update(id, { status: 'done', done: 2, total: 2, error: null });
        const done = await other.jobs.get(id);
        expect(done).toMatchObject({ status: 'done', done: 2, total: 2, error: null, createdAt: 1_000 });
        expect(done!.updatedAt).toBeGreaterThan(1_000);
        expect(await other.jobs.get('nope')).toBeUndefined();
      }),
    );

    it(
      'swaps staged vectors in one transaction, advancing the generation and the head; refuses a swap with a vector missing',
      withHarness(open, async ({ store, other }) => {
        const ns = await store.namespaces.create(newNamespace({ embedder: 'first', embedderRevision: 'r1' }));
        const w = await store.memories.write(ns.id, [memory('a'), memory('b')], { now: 1, generation: 0 });
        const [a, b] = w.written.map((x) => x.label);
        const id = `swap-${ns.id}`;
        await store.jobs.create(job(id, ns.id));
        await store.jobs.stage(id, [{ label: a!, vector: vec(0, 1, 0, 0, 0) }]);
        await expect(other.jobs.swap(ns.id, id, { embedder: 'other', dimensions: 5, revision: 'r2' })).rejects.toThrow(/1 memories have no re-embedded vector/);
        expect(await store.namespaces.head(ns.id)).toEqual({ seq: 2, generation: 0 });
        // Staging again replaces.
        await store.jobs.stage(id, [{ label: a!, vector: vec(0, 2, 0, 0, 0) }, { label: b!, vector: vec(0, 0, 3, 0, 0) }]);
        const swapped = await other.jobs.swap(ns.id, id, { embedder: 'other', dimensions: 5, revision: 'r2' });
        expect(swapped.seq).toBe(3);
        expect(swapped.namespace).toMatchObject({ id: ns.id, embedder: 'other', dimensions: 5, embedderRevision: 'r2', generation: 1 });
        expect(await store.namespaces.head(ns.id)).toEqual({ seq: 3, generation: 1 });
        expect((await store.memories.get(ns.id, 'a', true, 1))!.vector).toEqual(vec(0, 2, 0, 0, 0));
        expect((await store.memories.get(ns.id, 'b', true, 1))!.vector).toEqual(vec(0, 0, 3, 0, 0));
        // A write embedded for the old generation is refused.
        await expect(store.memories.write(ns.id, [memory('c')], { now: 2, generation: 0 })).rejects.toMatchObject({ code: 'EMBEDDER_MISMATCH' });
      }),
    );

    it(
      'marks jobs left running as failed at start',
      withHarness(open, async ({ store }) => {
        const { id: ns } = await store.namespaces.create(newNamespace());
        const id = `left-${ns}`;
        await store.jobs.create(job(id, ns));
        await store.jobs.stage(id, [{ label: 1 as never, vector: vec(1) }]);
        expect(await store.jobs.failInterrupted('interrupted')).toBeGreaterThanOrEqual(1);
        expect(await store.jobs.get(id)).toMatchObject({ status: 'failed', error: 'interrupted' });
        expect(await store.jobs.failInterrupted('interrupted')).toBe(0);
      }),
    );
  });
}
