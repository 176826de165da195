/**
 * One suite, every MemoryStore and ChangeLog implementation (SQLite, PostgreSQL): upserts and their change
 * numbers, document replacement, deletes, reads and their fields, partial updates, recalls, cache feeds, and
 * writers on two connections numbering one namespace's changes without gaps.
 */
import { describe, expect, it } from 'vitest';
import type { MemoryWrite } from '../../src/core/types.js';
import type { Store } from '../../src/ports/store.js';
import { newNamespace, type StoreHarness, vec, withHarness } from './harness.js';

const memory = (id: string, extra: Partial<MemoryWrite> = {}): MemoryWrite => ({
  id,
  text: `text of ${id}`,
  metadata: { speaker: 'ann', n: id.length },
  vector: vec(1, 2, 3, id.length),
  timestamp: 1_000,
  documentId: null,
  chunkIndex: null,
  importance: null,
  strength: 1,
  expiresAt: null,
  ...extra,
});

const ALL = { text: true, metadata: true, vector: true };
const changes = async (store: Store, ns: number) => (await store.changes.since(ns, 0, 1000)).map((c) => `${c.seq}:${c.op}:${c.id}`);

export function memoryStoreSuite(name: string, open: () => Promise<StoreHarness>): void {
  describe(`MemoryStore and ChangeLog: ${name}`, () => {
    it(
      'upserts by id: numbers every change, keeps the label and creation time, resets recalls',
      withHarness(open, async ({ store, other }) => {
        const { id: ns } = await store.namespaces.create(newNamespace());
        const first = await store.memories.write(ns, [memory('a'), memory('bb', { importance: 0.25, strength: 1.5, expiresAt: 9e12 })], { now: 10, generation: 0 });
        expect(first).toMatchObject({ firstSeq: 1, seq: 2, removed: [] });
        expect(first.written.map((w) => w.seq)).toEqual([1, 2]);
        const [a, bb] = first.written.map((w) => w.label);
        await store.memories.reinforce([{ label: bb!, recalls: 2, at: 15 }]);
        const second = await other.memories.write(ns, [memory('c'), memory('bb', { text: 'new', metadata: { k: [1, 'x'] } })], { now: 20, generation: 0 });
        expect(second).toMatchObject({ firstSeq: 3, seq: 4 });
        expect(second.written[1]!.label).toBe(bb);
        expect(await store.memories.get(ns, 'bb', true, 20)).toEqual({
          label: bb, id: 'bb', text: 'new', metadata: { k: [1, 'x'] }, timestamp: 1_000, createdAt: 10, updatedAt: 20,
          documentId: null, chunkIndex: null, importance: null, strength: 1, recallCount: 0, lastRecalledAt: null, expiresAt: null, pinned: false,
          vector: vec(1, 2, 3, 2),
        });
        expect(await changes(other, ns)).toEqual(['1:created:a', '2:created:bb', '3:created:c', '4:updated:bb']);
        expect(await other.namespaces.head(ns)).toEqual({ seq: 4, generation: 0 });
        expect((await store.memories.get(ns, 'a', false, 20))!.label).toBe(a);
        expect(await store.memories.count(ns)).toBe(3);
        // The same id twice in one write: created, then updated, each with its own number.
        const twice = await store.memories.write(ns, [memory('d', { text: 'one' }), memory('d', { text: 'two' })], { now: 30, generation: 0 });
        expect(twice.written[0]!.label).toBe(twice.written[1]!.label);
        expect((await changes(store, ns)).slice(4)).toEqual(['5:created:d', '6:updated:d']);
        expect((await store.memories.get(ns, 'd', false, 30))!.text).toBe('two');
      }),
    );

    it(
      'stores lone surrogates (not Unicode) as replacement characters, found by the same id, instead of failing',
      withHarness(open, async ({ store }) => {
        const { id: ns } = await store.namespaces.create(newNamespace());
        await store.memories.write(ns, [memory('\ud800', { text: 'lone \udc00 surrogates', metadata: { k: 'v\udfff' } })], { now: 1, generation: 0 });
        const got = await store.memories.get(ns, '\ud800', false, 1);
        expect(got!.text).toMatch(/^lone \ufffd+ surrogates$/);
        expect(await store.memories.deleteById(ns, '\ud800', 2)).toMatchObject({ seq: 2 });
      }),
    );

    it(
      'refuses, writing nothing, a write made for another generation',
      withHarness(open, async ({ store }) => {
        const { id: ns } = await store.namespaces.create(newNamespace());
        await expect(store.memories.write(ns, [memory('a')], { now: 1, generation: 1 })).rejects.toMatchObject({ code: 'EMBEDDER_MISMATCH' });
        expect(await store.namespaces.head(ns)).toEqual({ seq: 0, generation: 0 });
        expect(await store.memories.count(ns)).toBe(0);
      }),
    );

    it(
      'replaces a document: chunks not rewritten go first, logged as deleted',
      withHarness(open, async ({ store, other }) => {
        const { id: ns } = await store.namespaces.create(newNamespace());
        const chunk = (i: number, text = `chunk ${i}`) => memory(`doc#${i}`, { documentId: 'doc', chunkIndex: i, text });
        const v1 = await store.memories.write(ns, [chunk(0), chunk(1), chunk(2)], { replaceDocument: 'doc', now: 1, generation: 0 });
        const v2 = await other.memories.write(ns, [chunk(0, 'again')], { replaceDocument: 'doc', now: 2, generation: 0 });
        expect(v2).toMatchObject({ firstSeq: 4, seq: 6, removed: [v1.written[1]!.label, v1.written[2]!.label] });
        expect(v2.written).toEqual([{ label: v1.written[0]!.label, seq: 6 }]);
        expect((await changes(store, ns)).slice(3)).toEqual(['4:deleted:doc#1', '5:deleted:doc#2', '6:updated:doc#0']);
        expect(await store.changes.removedSince(ns, 3)).toEqual(expect.arrayContaining([v1.written[1]!.label, v1.written[2]!.label]));
        expect(await store.changes.removedSince(ns, 5)).toEqual([]);
        const gone = await store.memories.deleteDocument(ns, 'doc', 3);
        expect(gone).toEqual({ firstSeq: 7, seq: 7, removed: [v1.written[0]!.label], ids: ['doc#0'] });
        expect(await store.memories.deleteDocument(ns, 'doc', 3)).toBeUndefined();
      }),
    );

    it(
      'deletes by id and by label with the reason logged; what is gone takes no number',
      withHarness(open, async ({ store, other }) => {
        const { id: ns } = await store.namespaces.create(newNamespace());
        const w = await store.memories.write(ns, ['a', 'b', 'c', 'd'].map((id) => memory(id)), { now: 1, generation: 0 });
        const [a, b, c, d] = w.written.map((x) => x.label);
        expect(await other.memories.deleteById(ns, 'a', 2)).toEqual({ firstSeq: 5, seq: 5, removed: [a], ids: ['a'] });
        expect(await store.memories.deleteById(ns, 'a', 2)).toBeUndefined();
        expect(await store.memories.deleteLabels(ns, [d!, a!, b!], 'forgotten', 3)).toEqual({ firstSeq: 6, seq: 7, removed: [d, b], ids: ['d', 'b'] });
        expect(await store.memories.deleteLabels(ns, [a!], 'expired', 3)).toBeUndefined();
        expect((await changes(store, ns)).slice(4)).toEqual(['5:deleted:a', '6:forgotten:d', '7:forgotten:b']);
        expect(await store.namespaces.head(ns)).toEqual({ seq: 7, generation: 0 });
        expect((await store.memories.list(ns, null, 10, false, 3)).memories.map((m) => m.label)).toEqual([c]);
      }),
    );

    it(
      'reads: expiry hides, pages by label, fields not asked for are empty',
      withHarness(open, async ({ store }) => {
        const { id: ns } = await store.namespaces.create(newNamespace());
        const w = await store.memories.write(ns, [memory('a'), memory('b', { expiresAt: 50 }), memory('c'), memory('n', { text: null })], { now: 1, generation: 0 });
        const [a, b, c] = w.written.map((x) => x.label);
        expect(await store.memories.get(ns, 'b', false, 49)).toMatchObject({ id: 'b', expiresAt: 50 });
        expect(await store.memories.get(ns, 'b', false, 50)).toBeUndefined();
        expect((await store.memories.get(ns, 'a', false, 1))!.vector).toBeUndefined();
        const page = await store.memories.list(ns, null, 2, false, 60);
        expect(page.memories.map((m) => m.id)).toEqual(['a', 'c']);
        expect(page.next).toBe(c);
        const rest = await store.memories.list(ns, page.next, 2, true, 60);
        expect(rest).toMatchObject({ next: null, memories: [{ id: 'n', text: null }] });
        expect(rest.memories[0]!.vector).toEqual(vec(1, 2, 3, 1));
        const bare = await store.memories.byLabels(ns, [c!, a!, 999_999_999 as never], { text: false, metadata: false, vector: false });
        expect(bare.map((m) => [m.id, m.text, m.metadata, m.vector]).sort()).toEqual([['a', null, {}, undefined], ['c', null, {}, undefined]]);
        const full = await store.memories.byLabels(ns, [b!], ALL);
        expect(full[0]).toMatchObject({ id: 'b', text: 'text of b', metadata: { speaker: 'ann', n: 1 }, vector: vec(1, 2, 3, 1) });
        expect((await store.memories.byIds(ns, ['c', 'b', 'zz', 'a'], ALL, 60)).map((m) => m.id)).toEqual(['a', 'c']);
        expect(await store.memories.byIds(ns, [], ALL, 60)).toEqual([]);
        // "Whatever the time": expired ones too.
        expect((await store.memories.byIds(ns, ['b'], ALL, Number.NEGATIVE_INFINITY)).map((m) => m.id)).toEqual(['b']);
        expect(await store.memories.countWithoutText(ns)).toBe(1);
      }),
    );

    it(
      'patches the fields given, keeping strength, recalls and times; skips missing ids',
      withHarness(open, async ({ store, other }) => {
        const { id: ns } = await store.namespaces.create(newNamespace());
        const w = await store.memories.write(ns, [memory('a'), memory('b')], { now: 1, generation: 0 });
        await store.memories.reinforce([{ label: w.written[0]!.label, recalls: 1, at: 5 }, { label: w.written[0]!.label, recalls: 1, at: 4 }]);
        const out = await other.memories.update(ns, [{ id: 'a', text: null, metadata: { x: 1 } }, { id: 'zz', text: 'no' }, { id: 'b', vector: vec(0, 0, 0, 1) }], { now: 9, generation: 0 });
        expect(out).toMatchObject({ firstSeq: 3, seq: 4, missing: ['zz'], removed: [] });
        expect(out.rows.map((r) => [r.label, r.seq, r.text, r.metadata])).toEqual([
          [w.written[0]!.label, 3, null, { x: 1 }],
          [w.written[1]!.label, 4, 'text of b', { speaker: 'ann', n: 1 }],
        ]);
        expect(out.rows[1]!.vector).toEqual(vec(0, 0, 0, 1));
        expect(await store.memories.get(ns, 'a', true, 9)).toMatchObject({ text: null, metadata: { x: 1 }, strength: 3, recallCount: 2, lastRecalledAt: 5, createdAt: 1, updatedAt: 9, vector: vec(1, 2, 3, 1) });
        expect((await changes(store, ns)).slice(2)).toEqual(['3:updated:a', '4:updated:b']);
        expect(await store.memories.update(ns, [{ id: 'zz' }], { now: 9, generation: 0 })).toMatchObject({ seq: 0, missing: ['zz'], rows: [] });
        await expect(store.memories.update(ns, [{ id: 'a', text: 'x' }], { now: 9, generation: 3 })).rejects.toMatchObject({ code: 'EMBEDDER_MISMATCH' });
      }),
    );

    it(
      'feeds caches: table rows at a head, rows since a seq, field values, texts',
      withHarness(open, async ({ store }) => {
        const { id: ns } = await store.namespaces.create(newNamespace());
        const w = await store.memories.write(
          ns,
          [memory('a', { metadata: { s: 'x', n: 2, b: true, o: { deep: 1.5 }, l: [1] } }), memory('b', { documentId: 'd', chunkIndex: 0, expiresAt: 7 }), memory('c', { metadata: { s: 3 } })],
          { now: 1, generation: 0 },
        );
        const [a, b, c] = w.written.map((x) => x.label);
        const table = await store.memories.tableRows(ns);
        expect(table.seq).toBe(3);
        const rows = [];
        for await (const batch of table.rows) rows.push(...batch);
        expect(rows).toEqual([
          { label: a, vector: vec(1, 2, 3, 1), eventAt: 1_000, expiresAt: null, documentId: null, chunkIndex: null, seq: 1 },
          { label: b, vector: vec(1, 2, 3, 1), eventAt: 1_000, expiresAt: 7, documentId: 'd', chunkIndex: 0, seq: 2 },
          { label: c, vector: vec(1, 2, 3, 1), eventAt: 1_000, expiresAt: null, documentId: null, chunkIndex: null, seq: 3 },
        ]);
        await store.memories.update(ns, [{ id: 'a', text: 'changed' }], { now: 2, generation: 0 });
        const since = [];
        for await (const batch of store.memories.rowsSince(ns, 3)) since.push(...batch);
        expect(since).toEqual([{ ...rows[0], seq: 4, text: 'changed', metadata: { s: 'x', n: 2, b: true, o: { deep: 1.5 }, l: [1] } }]);
        const values = async (path: string[]) => {
          const out = [];
          for await (const batch of store.memories.fieldValues(ns, path)) out.push(...batch);
          return out;
        };
        expect(await values(['s'])).toEqual([[a, 'x'], [b, undefined], [c, 3]]);
        expect(await values(['b'])).toEqual([[a, true], [b, undefined], [c, undefined]]);
        expect(await values(['o', 'deep'])).toEqual([[a, 1.5], [b, undefined], [c, undefined]]);
        expect(await values(['o'])).toEqual([[a, undefined], [b, undefined], [c, undefined]]);
        const texts = [];
        for await (const batch of store.memories.texts(ns)) texts.push(...batch);
        expect(texts).toEqual([[a, 'changed'], [b, 'text of b'], [c, 'text of c']]);
        expect(await store.memories.textsSince(ns, 3, 0, 10)).toEqual([{ label: a, text: 'changed' }]);
        expect(await store.memories.textsSince(ns, -1, a!, 1)).toEqual([{ label: b, text: 'text of b' }]);
      }),
    );

    it(
      'numbers the changes of writers on two connections without gaps, in commit order',
      withHarness(open, async ({ store, other }) => {
        const { id: ns } = await store.namespaces.create(newNamespace());
        const outcomes = await Promise.all(
          Array.from({ length: 24 }, (_, i) =>
            (i % 2 ? other : store).memories.write(ns, [memory(`m${i % 6}`), memory(`u${i}`)], { now: i, generation: 0 }),
          ),
        );
        const seqs = outcomes.flatMap((o) => o.written.map((w) => w.seq)).sort((x, y) => x - y);
        expect(seqs).toEqual(Array.from({ length: 48 }, (_, i) => i + 1));
        for (const o of outcomes) expect(o.written.map((w) => w.seq)).toEqual([o.firstSeq, o.firstSeq + 1]);
        const log = await store.changes.since(ns, 0, 1000);
        expect(log.map((c) => c.seq)).toEqual(seqs);
        // Each id's last logged change is the row as stored.
        const last = new Map(log.map((c) => [c.id, c.seq]));
        const rows = [];
        for await (const batch of (await store.memories.tableRows(ns)).rows) rows.push(...batch);
        expect(rows).toHaveLength(30);
        for (const row of rows) expect(row.seq).toBe(last.get((await store.memories.byLabels(ns, [row.label], { text: false, metadata: false, vector: false }))[0]!.id));
        expect(await store.namespaces.head(ns)).toEqual({ seq: 48, generation: 0 });
      }),
    );

    it(
      'pages the change log and trims it by age, raising the horizon',
      withHarness(open, async ({ store }) => {
        const { id: ns } = await store.namespaces.create(newNamespace());
        await store.memories.write(ns, [memory('a'), memory('b')], { now: 100, generation: 0 });
        await store.memories.deleteById(ns, 'a', 200);
        expect((await store.changes.since(ns, 1, 1)).map((c) => [c.seq, c.op, c.id, c.at])).toEqual([[2, 'created', 'b', 100]]);
        expect(await store.changes.horizon(ns)).toBe(0);
        expect(await store.changes.trim(150)).toBeGreaterThanOrEqual(2);
        expect(await store.changes.horizon(ns)).toBe(2);
        expect((await store.changes.since(ns, 0, 10)).map((c) => c.seq)).toEqual([3]);
      }),
    );
  });
}
