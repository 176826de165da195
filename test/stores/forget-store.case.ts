/** One suite, every ForgetStore implementation (SQLite, PostgreSQL): policies, filters, erase selections, runs. */
import { describe, expect, it } from 'vitest';
import { parseFilter } from '../../src/core/filter.js';
import { unwrap } from '../../src/core/errors.js';
import type { Metadata, MemoryWrite } from '../../src/core/types.js';
import { newNamespace, type StoreHarness, vec, withHarness } from './harness.js';

const memory = (id: string, metadata: Metadata, extra: Partial<MemoryWrite> = {}): MemoryWrite => ({
  id, text: id, metadata, vector: vec(1, 0, 0, 0), timestamp: 100, documentId: null, chunkIndex: null, importance: null, strength: 1, expiresAt: null, ...extra,
});
const where = (filter: unknown) => unwrap(parseFilter(filter));

export function forgetStoreSuite(name: string, open: () => Promise<StoreHarness>): void {
  describe(`ForgetStore: ${name}`, () => {
    it(
      'selects by expiry, retention, age, filter and protection, in label windows',
      withHarness(open, async ({ store }) => {
        const { id: ns } = await store.namespaces.create(newNamespace());
        const w = await store.memories.write(
          ns,
          [
            memory('expired', { kind: 'note' }, { expiresAt: 500 }),
            memory('faded', { kind: 'note', score: 1 }),
            memory('strong', { kind: 'note' }, { strength: 100 }),
            memory('pinned', { kind: 'note', pinned: true }, { expiresAt: 500 }),
            memory('recent', { kind: 'chat', score: '1' }, { timestamp: 5_000 }),
          ],
          { now: 0, generation: 0 },
        );
        const label = (i: number) => w.written[i]!.label;
        const ids = async (policy: Parameters<typeof store.forgetting.candidates>[1], after = 0, window = 1000) =>
          (await store.forgetting.candidates(ns, policy, after, window)).candidates.map((c) => `${c.id}${c.expired ? '!' : ''}`);
        expect(await ids({ now: 1_000, expired: true })).toEqual(['expired!', 'pinned!']);
        // Retention exp(−Δt/(S·τ)) below 0.5 with τ = 1 s: Δt > 0.69 s · S.
        expect(await ids({ now: 1_000, retention: { threshold: 0.5, timescale: 1 } })).toEqual(['expired!', 'faded', 'pinned!', 'recent']);
        expect(await ids({ now: 1_000, retention: { threshold: 0.5, timescale: 1 }, protect: where({ pinned: true }) })).toEqual(['expired!', 'faded', 'recent']);
        expect(await ids({ now: 1_000, retention: { threshold: 0.5, timescale: 1 }, olderThan: 1_000 })).toEqual(['expired!', 'faded', 'pinned!']);
        expect(await ids({ now: 1_000, filter: where({ kind: 'chat' }) })).toEqual(['recent']);
        expect(await ids({ now: 1_000, filter: where({ score: { $gte: 1 } }) })).toEqual(['faded']);
        expect(await ids({ now: 1_000, filter: where({ score: { $ne: 1 } }) })).toEqual(['expired!', 'strong', 'pinned!', 'recent']);
        expect(await ids({ now: 1_000, filter: where({ $or: [{ score: { $in: ['1', 2] } }, { pinned: { $eq: true } }] }) })).toEqual(['pinned!', 'recent']);
        expect(await ids({ now: 1_000, filter: where({ kind: { $nin: ['note'] } }) })).toEqual(['recent']);
        // Windows: (after, after + window], and where to go on.
        const first = await store.forgetting.candidates(ns, { now: 1_000 }, label(0) - 1, 2);
        expect(first.candidates.map((c) => c.id)).toEqual(['expired', 'faded']);
        expect(first.next).toBe(label(0) + 1);
        const lastWindow = await store.forgetting.candidates(ns, { now: 1_000 }, label(3) - 1, 10);
        expect(lastWindow).toMatchObject({ next: null, candidates: [{ id: 'pinned' }, { id: 'recent' }] });
      }),
    );

    it(
      'erases what a filter matches with every chunk of the documents it touches',
      withHarness(open, async ({ store }) => {
        const { id: ns } = await store.namespaces.create(newNamespace());
        const w = await store.memories.write(
          ns,
          [
            memory('d0', { secret: true }, { documentId: 'd', chunkIndex: 0 }),
            memory('d1', {}, { documentId: 'd', chunkIndex: 1 }),
            memory('e0', {}, { documentId: 'e', chunkIndex: 0 }),
            memory('loose', { secret: true }),
            memory('other', { secret: 'true' }),
          ],
          { now: 0, generation: 0 },
        );
        const labels = w.written.map((x) => x.label);
        expect(await store.forgetting.eraseLabels(ns, where({ secret: true }))).toEqual([labels[0], labels[1], labels[3]]);
        expect(await store.forgetting.eraseLabels(ns, where({ secret: false }))).toEqual([]);
      }),
    );

    it(
      'records runs, most recent first',
      withHarness(open, async ({ store, other }) => {
        const { id: ns } = await store.namespaces.create(newNamespace());
        await store.forgetting.recordRun(ns, { at: 1, trigger: 'scheduled', expired: 2, forgotten: 3, durationMs: 4 });
        await other.forgetting.recordRun(ns, { at: 5, trigger: 'manual', expired: 0, forgotten: 1, durationMs: 2 });
        expect(await store.forgetting.runs(ns, 10)).toEqual([
          { at: 5, trigger: 'manual', expired: 0, forgotten: 1, durationMs: 2 },
          { at: 1, trigger: 'scheduled', expired: 2, forgotten: 3, durationMs: 4 },
        ]);
        expect(await store.forgetting.runs(ns, 1)).toHaveLength(1);
      }),
    );
  });
}
