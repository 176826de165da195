/**
 * One suite, every store (SQLite; PostgreSQL once its memory store exists): what issue 18 adds to the memory
 * store and its history port. Duplicates decided inside the write (skip and merge), history with capped
 * versions and tombstones that keep no text, and pinned memories.
 */
import { describe, expect, it } from 'vitest';
import { asLabel, type MemoryWrite } from '../../src/core/types.js';
import type { Store } from '../../src/ports/store.js';

export interface HygieneStoreHarness {
  store: Pick<Store, 'memories' | 'history' | 'changes'>;
  namespaceId: number;
  close(): Promise<void>;
}

const NOW = 1_700_000_000_000;

const memory = (id: string, text: string | null, extra: Partial<MemoryWrite> = {}): MemoryWrite => ({
  id,
  text,
  metadata: {},
  vector: new Float32Array(8).fill(0.5),
  timestamp: NOW,
  documentId: null,
  chunkIndex: null,
  importance: null,
  strength: 1,
  expiresAt: null,
  pinned: false,
  ...extra,
});

export function hygieneStoreSuite(name: string, open: () => Promise<HygieneStoreHarness>): void {
  describe(`memory hygiene in the store: ${name}`, () => {
    const withStore = (test: (h: HygieneStoreHarness) => Promise<void>) => async () => {
      const harness = await open();
      try {
        await test(harness);
      } finally {
        await harness.close();
      }
    };
    const write = (h: HygieneStoreHarness, memories: MemoryWrite[], maxVersions?: number) =>
      h.store.memories.write(h.namespaceId, memories, { now: NOW, generation: 0, maxVersions });

    it(
      'folds a write with dedupe into the live memory of equal normalized text: a recall, no new row, no change logged',
      withStore(async (h) => {
        const first = await write(h, [memory('a', 'Ann likes  TEA', { metadata: { x: 1 } })]);
        const again = await write(h, [memory('b', 'ann likes tea', { dedupe: { onDuplicate: 'skip' }, metadata: { y: 2 } })]);
        expect(again.written[0]).toMatchObject({ label: first.written[0]!.label, seq: 0, duplicate: { id: 'a', similarity: 1, row: null } });
        expect(again.seq).toBe(first.seq);
        expect(await h.store.memories.count(h.namespaceId)).toBe(1);
        const a = await h.store.memories.get(h.namespaceId, 'a', false, NOW);
        expect(a).toMatchObject({ metadata: { x: 1 }, strength: 2, recallCount: 1, lastRecalledAt: NOW });
        expect((await h.store.changes.since(h.namespaceId, 0, 10)).map((c) => c.op)).toEqual(['created']);
        expect((await h.store.history.events(h.namespaceId, 'a', 10)).map((e) => [e.op, e.similarity])).toEqual([
          ['created', undefined],
          ['deduplicated', 1],
        ]);
        // Without dedupe (an explicit id), the same text is another memory; a text outside is not a duplicate.
        await write(h, [memory('c', 'ann likes tea'), memory('d', 'Ann likes coffee', { dedupe: { onDuplicate: 'skip' } })]);
        expect(await h.store.memories.count(h.namespaceId)).toBe(3);
      }),
    );

    it(
      'merges metadata into the duplicate as one logged update, with the row a cache applies; a near duplicate named by label folds too',
      withStore(async (h) => {
        const first = await write(h, [memory('a', 'the meeting is on friday', { metadata: { room: 1, who: 'ann' } })]);
        const merged = await write(h, [memory('z', 'The meeting is on Friday', { metadata: { room: 2 }, dedupe: { onDuplicate: 'merge' } })]);
        const duplicate = merged.written[0]!.duplicate!;
        expect(duplicate.row).toMatchObject({ label: first.written[0]!.label, metadata: { room: 2, who: 'ann' }, seq: merged.seq });
        expect(merged.seq).toBe(first.seq + 1);
        expect((await h.store.memories.get(h.namespaceId, 'a', false, NOW))!.metadata).toEqual({ room: 2, who: 'ann' });
        expect((await h.store.changes.since(h.namespaceId, first.seq, 10)).map((c) => [c.op, c.id])).toEqual([['updated', 'a']]);
        const near = await write(h, [memory('n', 'another wording', { dedupe: { onDuplicate: 'skip', near: { label: first.written[0]!.label, similarity: 0.97 } } })]);
        expect(near.written[0]!.duplicate).toMatchObject({ id: 'a', similarity: 0.97 });
        // A near duplicate named by a label that is gone is stored.
        const gone = await write(h, [memory('m', 'yet another', { dedupe: { onDuplicate: 'skip', near: { label: asLabel(999_999), similarity: 0.99 } } })]);
        expect(gone.written[0]!.duplicate).toBeUndefined();
      }),
    );

    it(
      'ignores expired memories and document chunks as duplicates',
      withStore(async (h) => {
        await write(h, [memory('old', 'short lived', { expiresAt: NOW - 1 }), memory('d#0', 'in a document', { documentId: 'd', chunkIndex: 0 })]);
        const out = await write(h, [
          memory('n1', 'short lived', { dedupe: { onDuplicate: 'skip' } }),
          memory('n2', 'in a document', { dedupe: { onDuplicate: 'skip' } }),
        ]);
        expect(out.written.map((w) => w.duplicate)).toEqual([undefined, undefined]);
      }),
    );

    it(
      'keeps the previous versions of updates up to maxVersions, and only a tombstone once deleted',
      withStore(async (h) => {
        await write(h, [memory('a', 'v0', { metadata: { v: 0 } })], 2);
        for (let v = 1; v <= 4; v++) await write(h, [memory('a', `v${v}`, { metadata: { v } })], 2);
        await h.store.memories.update(h.namespaceId, [{ id: 'a', text: 'v5' }], { now: NOW + 5, generation: 0, maxVersions: 2 });
        const events = await h.store.history.events(h.namespaceId, 'a', 100);
        expect(events.map((e) => e.op)).toEqual(['created', 'updated', 'updated']);
        expect(events.slice(1).map((e) => e.previous)).toEqual([
          { text: 'v3', metadata: { v: 3 } },
          { text: 'v4', metadata: { v: 4 } },
        ]);
        expect(events[2]!.at).toBe(NOW + 5);
        expect(events.map((e) => e.seq)).toEqual([...events.map((e) => e.seq)].sort((x, y) => x - y));
        const deleted = await h.store.memories.deleteById(h.namespaceId, 'a', NOW + 6);
        expect(await h.store.history.events(h.namespaceId, 'a', 100)).toEqual([{ seq: deleted!.seq, at: NOW + 6, op: 'forgotten', policy: 'delete' }]);
        await write(h, [memory('e', 'expiring'), memory('f', 'fading'), memory('g', 'erased')]);
        const labels = async (id: string) => (await h.store.memories.get(h.namespaceId, id, false, NOW))!.label;
        await h.store.memories.deleteLabels(h.namespaceId, [await labels('e')], 'expired', NOW);
        await h.store.memories.deleteLabels(h.namespaceId, [await labels('f')], 'forgotten', NOW);
        await h.store.memories.deleteLabels(h.namespaceId, [await labels('g')], 'erased', NOW);
        const last = async (id: string) => (await h.store.history.events(h.namespaceId, id, 100)).map((e) => [e.op, e.policy]);
        expect(await last('e')).toEqual([['expired', 'ttl']]);
        expect(await last('f')).toEqual([['forgotten', 'retention']]);
        expect(await last('g')).toEqual([['forgotten', 'erase']]);
        expect(await h.store.history.events(h.namespaceId, 'never', 100)).toEqual([]);
      }),
    );

    it(
      'lists pinned memories not expired, and pins or unpins by update',
      withStore(async (h) => {
        await write(h, [memory('p', 'pinned', { pinned: true }), memory('q', 'plain'), memory('r', 'pinned, expired', { pinned: true, expiresAt: NOW })]);
        expect((await h.store.memories.pinned(h.namespaceId, NOW, 10)).map((m) => m.id)).toEqual(['p']);
        await h.store.memories.update(h.namespaceId, [{ id: 'q', pinned: true }, { id: 'p', pinned: false }], { now: NOW, generation: 0 });
        expect((await h.store.memories.pinned(h.namespaceId, NOW, 10)).map((m) => [m.id, m.pinned])).toEqual([['q', true]]);
        // A pinned duplicate pins the memory it folds into.
        await write(h, [memory('x', 'Pinned', { pinned: true, dedupe: { onDuplicate: 'skip' } })]);
        expect((await h.store.memories.pinned(h.namespaceId, NOW, 10)).map((m) => m.id)).toEqual(['p', 'q']);
      }),
    );
  });
}
