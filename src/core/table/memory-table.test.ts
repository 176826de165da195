import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exactSearch } from '../distance.js';
import { matchesFilter, parseFilter } from '../filter.js';
import { asLabel, type Label, type Metadata } from '../types.js';
import { scalarAt } from './field-index.js';
import { MemoryTable, type TableRow } from './memory-table.js';

function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1664525 + 1013904223) % 4294967296;
    return s / 4294967296;
  };
}

const vec = (r: () => number, d: number) => Float32Array.from({ length: d }, () => r() * 2 - 1);

function row(label: number, vector: Float32Array, extra: Partial<TableRow> = {}): TableRow {
  return { label: asLabel(label), vector, eventAt: label, expiresAt: null, documentId: null, chunkIndex: null, seq: label, ...extra };
}

describe('MemoryTable', () => {
  it('answers exact nearest neighbours like the reference, through upserts, replacements and removals', () => {
    const r = random(3);
    for (const space of ['cosine', 'l2', 'ip'] as const) {
      const table = new MemoryTable({ space, dimensions: 6 });
      const live = new Map<number, Float32Array>();
      for (let i = 1; i <= 500; i++) {
        const v = vec(r, 6);
        table.upsert(row(i, v));
        live.set(i, v);
      }
      for (let i = 1; i <= 500; i += 3) {
        expect(table.remove(asLabel(i))).toBe(true);
        live.delete(i);
      }
      expect(table.remove(asLabel(1))).toBe(false);
      for (let i = 2; i <= 500; i += 7) {
        const v = vec(r, 6);
        table.upsert(row(i, v));
        live.set(i, v);
      }
      for (let i = 501; i <= 600; i++) {
        const v = vec(r, 6);
        table.upsert(row(i, v)); // reuses freed slots
        live.set(i, v);
      }
      expect(table.size).toBe(live.size);
      for (let q = 0; q < 20; q++) {
        const query = vec(r, 6);
        const got = table.nearest(query, 10, undefined, undefined);
        const want = exactSearch(space, query, [...live].map(([label, vector]) => ({ label: label as Label, vector })), 10);
        expect(got.map((n) => n.label)).toEqual(want.map((n) => n.label));
        got.forEach((n, i) => expect(n.distance).toBeCloseTo(want[i]!.distance, 5));
      }
    }
  });

  it('gives back the slack of its block when trimmed, and keeps answering and growing afterwards', () => {
    const r = random(5);
    const table = new MemoryTable({ space: 'l2', dimensions: 4 });
    const live = new Map<number, Float32Array>();
    for (let i = 1; i <= 10; i++) {
      const v = vec(r, 4);
      live.set(i, v);
      table.upsert(row(i, v, { expiresAt: i === 3 ? 10 ** 15 : null }));
    }
    expect(table.flat.capacity).toBeGreaterThan(10);
    const before = table.bytes();
    table.trim();
    expect(table.flat.capacity).toBe(10);
    expect(table.bytes()).toBeLessThan(before);
    const reference = (q: Float32Array) =>
      exactSearch('l2', q, [...live].map(([label, vector]) => ({ label: asLabel(label), vector })), 5).map((n) => n.label);
    const q = vec(r, 4);
    expect(table.nearest(q, 5, undefined, 0).map((n) => n.label)).toEqual(reference(q));
    expect(table.seqOf(asLabel(7))).toBe(7);
    for (let i = 11; i <= 14; i++) {
      const v = vec(r, 4);
      live.set(i, v);
      table.upsert(row(i, v));
    }
    expect(table.nearest(q, 5, undefined, 0).map((n) => n.label)).toEqual(reference(q));
    expect(table.hasExpiring).toBe(true);
  });

  it('hides expired memories from exact search and from graph acceptors, counting only live expiries', () => {
    const table = new MemoryTable({ space: 'l2', dimensions: 2 });
    table.upsert(row(1, Float32Array.of(0, 0), { expiresAt: 100 }));
    table.upsert(row(2, Float32Array.of(1, 0)));
    expect(table.hasExpiring).toBe(true);
    expect(table.nearest(Float32Array.of(0, 0), 1, undefined, 50)[0]!.label).toBe(1);
    expect(table.nearest(Float32Array.of(0, 0), 1, undefined, 100)[0]!.label).toBe(2);
    expect(table.acceptor(undefined, 100)!(asLabel(1))).toBe(false);
    table.upsert(row(1, Float32Array.of(0, 0))); // replaced without expiry
    expect(table.hasExpiring).toBe(false);
    expect(table.acceptor(undefined, 100)).toBeUndefined();
  });

  it('evaluates every filter exactly as matchesFilter does, before and after changes', () => {
    const value = fc.oneof(fc.constantFrom('a', 'b', 'c', '5'), fc.integer({ min: 0, max: 6 }), fc.boolean(), fc.constant(null));
    const metadata = fc.record(
      { kind: value, n: fc.integer({ min: 0, max: 6 }), nested: fc.record({ v: value }, { requiredKeys: [] }) },
      { requiredKeys: [] },
    );
    const leaf = fc.oneof(
      fc.record({ kind: fc.constantFrom('a', 'b', 5, true) }),
      fc.record({ n: fc.record({ $gte: fc.integer({ min: 0, max: 6 }) }) }),
      fc.record({ n: fc.record({ $lt: fc.integer({ min: 0, max: 6 }) }) }),
      fc.record({ 'nested.v': fc.record({ $ne: fc.constantFrom('a', 2, false) }) }),
      fc.record({ kind: fc.record({ $in: fc.array(fc.constantFrom('a', 'c', 1, '5'), { minLength: 1, maxLength: 3 }) }) }),
      fc.record({ n: fc.record({ $nin: fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 3 }) }) }),
    );
    const where = fc.oneof(leaf, fc.record({ $and: fc.array(leaf, { minLength: 1, maxLength: 3 }) }), fc.record({ $or: fc.array(leaf, { minLength: 1, maxLength: 3 }) }));
    fc.assert(
      fc.property(fc.array(metadata, { minLength: 1, maxLength: 60 }), where, fc.array(fc.nat(), { maxLength: 20 }), (metas, filter, changes) => {
        const node = parseFilter(filter);
        if (!node.ok) return;
        const table = new MemoryTable({ space: 'l2', dimensions: 1 });
        const current = new Map<number, Metadata>();
        metas.forEach((m, i) => {
          table.upsert(row(i + 1, Float32Array.of(i), { metadata: m as Metadata }));
          current.set(i + 1, m as Metadata);
        });
        for (const path of table.missingFields(node.value)) {
          table.addField(path, [...current].map(([label, m]) => [asLabel(label), scalarAt(m, path)]));
        }
        // Changes after indexing: removals and rewrites keep the postings in step.
        for (const c of changes) {
          const label = (c % metas.length) + 1;
          if (c % 3 === 0) {
            table.remove(asLabel(label));
            current.delete(label);
          } else {
            const m = metas[(c * 7) % metas.length]! as Metadata;
            table.upsert(row(label, Float32Array.of(label), { metadata: m }));
            current.set(label, m);
          }
        }
        const set = table.scope({ filter: node.value })!;
        const got = new Set<number>();
        set.forEach((slot) => got.add(table.flat.labelAt(slot)));
        const want = [...current].filter(([, m]) => matchesFilter(node.value, m)).map(([label]) => label);
        expect([...got].sort((a, b) => a - b)).toEqual(want.sort((a, b) => a - b));
        expect(set.size).toBe(want.length);
      }),
      { numRuns: 300 },
    );
  });

  it('drops its field postings when a row comes without metadata, rather than answering from stale ones', () => {
    const table = new MemoryTable({ space: 'l2', dimensions: 1 });
    table.upsert(row(1, Float32Array.of(0), { metadata: { k: 'x' } }));
    table.addField(['k'], [[asLabel(1), 'x']]);
    expect(table.hasField(['k'])).toBe(true);
    table.upsert(row(2, Float32Array.of(1)));
    expect(table.hasField(['k'])).toBe(false);
  });

  it('restricts by event-time window, intersected with the filter', () => {
    const table = new MemoryTable({ space: 'l2', dimensions: 1 });
    for (let i = 1; i <= 10; i++) table.upsert(row(i, Float32Array.of(i), { eventAt: i * 10, metadata: { even: i % 2 === 0 } }));
    table.addField(['even'], Array.from({ length: 10 }, (_, i) => [asLabel(i + 1), (i + 1) % 2 === 0] as [Label, boolean]));
    const labels = (set: ReturnType<MemoryTable['scope']>) => {
      const out: number[] = [];
      set!.forEach((slot) => out.push(table.flat.labelAt(slot)));
      return out.sort((a, b) => a - b);
    };
    expect(labels(table.scope({ after: 30, before: 70 }))).toEqual([3, 4, 5, 6]);
    const even = parseFilter({ even: true });
    expect(even.ok && labels(table.scope({ after: 30, before: 70, filter: even.value }))).toEqual([4, 6]);
    expect(table.scope({})).toBeUndefined();
  });

  it('gives the neighbours in time outside documents and by chunk inside them, as the store would', () => {
    const r = random(9);
    const table = new MemoryTable({ space: 'l2', dimensions: 1 });
    const rows: TableRow[] = [];
    for (let i = 1; i <= 200; i++) {
      const inDoc = r() < 0.3;
      const x = row(i, Float32Array.of(i), {
        eventAt: Math.floor(r() * 50),
        documentId: inDoc ? `d${i % 4}` : null,
        chunkIndex: inDoc ? Math.floor(r() * 40) : null,
      });
      // One chunk index per document: a later chunk with the same index replaces the earlier one.
      const clash = rows.findIndex((o) => o.documentId !== null && o.documentId === x.documentId && o.chunkIndex === x.chunkIndex);
      if (clash >= 0) {
        table.remove(rows[clash]!.label);
        rows.splice(clash, 1);
      }
      table.upsert(x);
      rows.push(x);
    }
    for (const drop of rows.filter((_, i) => i % 9 === 0)) {
      table.remove(drop.label);
      rows.splice(rows.indexOf(drop), 1);
    }
    const timeline = rows.filter((x) => x.documentId === null).sort((a, b) => a.eventAt - b.eventAt || a.label - b.label);
    for (const x of rows) {
      const got = table.adjacent(x.label, 2, 3);
      if (x.documentId === null) {
        const at = timeline.indexOf(x);
        expect(got.before).toEqual(timeline.slice(Math.max(0, at - 2), at).map((o) => o.label));
        expect(got.after).toEqual(timeline.slice(at + 1, at + 4).map((o) => o.label));
      } else {
        const chunks = rows.filter((o) => o.documentId === x.documentId && o !== x).sort((a, b) => a.chunkIndex! - b.chunkIndex!);
        expect(got.before).toEqual(chunks.filter((o) => o.chunkIndex! >= x.chunkIndex! - 2 && o.chunkIndex! < x.chunkIndex!).map((o) => o.label));
        expect(got.after).toEqual(chunks.filter((o) => o.chunkIndex! > x.chunkIndex! && o.chunkIndex! <= x.chunkIndex! + 3).map((o) => o.label));
      }
    }
  });

  it('ranks by BM25 over stemmed words, follows rewrites, and collects the words of tag fields', () => {
    const table = new MemoryTable({ space: 'l2', dimensions: 1 });
    const texts: [number, string, Metadata][] = [
      [1, 'I went running in the park', { speaker: 'Caroline' }],
      [2, 'The park was closed for painting', { speaker: 'Melanie Ann' }],
      [3, 'She paints landscapes', { speaker: 'Caroline' }],
      [4, 'Nothing to see here', { speaker: 'Bob' }],
    ];
    texts.forEach(([label, text, metadata]) => table.upsert(row(label, Float32Array.of(label), { text, metadata })));
    table.buildKeywords(texts.map(([label, text]) => [asLabel(label), text]));
    const search = (terms: string[]) => table.keywordSearch(terms, 10, table.keywordStats(terms), undefined, undefined).map((h) => h.label);
    expect(search(['paint'])).toEqual([3, 2]); // shorter document first
    expect(search(['park', 'run'])[0]).toBe(1);
    table.upsert(row(3, Float32Array.of(3), { text: 'She sings', metadata: { speaker: 'Caroline' } }));
    expect(search(['paint'])).toEqual([2]);
    table.addField(['speaker'], texts.map(([label, , m]) => [asLabel(label), scalarAt(m, ['speaker'])]));
    expect([...table.tagWords([['speaker']])].sort()).toEqual(['ann', 'bob', 'caroline', 'melanie']);
    table.remove(asLabel(4));
    expect(table.tagWords([['speaker']]).has('bob')).toBe(false);
  });
});
