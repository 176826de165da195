/**
 * One suite, every VectorIndex implementation (Hono's common-case pattern). The flat index (the exact-search
 * block of small namespaces) is exact, so it is also the reference that HNSW recall is measured against.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { flatIndexFactory } from '../src/adapters/exact/flat-index-factory.js';
import { DEFAULT_HNSW, asLabel, type Space } from '../src/core/types.js';
import type { VectorIndexFactory } from '../src/ports/vector-index.js';
import { randomVectors, tempDir } from './helpers.js';

const f32 = (xs: number[]) => Float32Array.from(xs);
const shape = (space: Space, dimensions: number) => ({ space, dimensions, hnsw: DEFAULT_HNSW });

export function vectorIndexSuite(name: string, factory: VectorIndexFactory): void {
  describe(`VectorIndex: ${name}`, () => {
    it('finds what was added, replaces on upsert, forgets on remove', () => {
      const index = factory.create(shape('l2', 2), 4);
      index.upsert(asLabel(1), f32([0, 0]));
      index.upsert(asLabel(2), f32([10, 10]));
      index.upsert(asLabel(3), f32([5, 5]));
      expect(index.search(f32([9, 9]), 1)).toEqual([{ label: 2, distance: expect.closeTo(Math.SQRT2, 5) }]);

      index.upsert(asLabel(2), f32([-1, -1])); // replace
      expect(index.search(f32([9, 9]), 1)[0]!.label).toBe(3);
      expect(index.stats().elements).toBe(3);

      expect(index.remove(asLabel(3))).toBe(true);
      expect(index.remove(asLabel(3))).toBe(false);
      expect(index.remove(asLabel(99))).toBe(false);
      expect(index.search(f32([9, 9]), 10).map((n) => n.label).sort()).toEqual([1, 2]);
      expect(index.stats().elements).toBe(2);
    });

    it('grows past its initial capacity and reuses deleted slots', () => {
      const index = factory.create(shape('cosine', 8), 1);
      const vectors = randomVectors(3000, 8, 7);
      vectors.forEach((v, i) => index.upsert(asLabel(i + 1), f32(v)));
      expect(index.stats().elements).toBe(3000);
      for (let i = 1; i <= 1000; i++) index.remove(asLabel(i));
      const capacity = index.stats().capacity;
      randomVectors(1000, 8, 8).forEach((v, i) => index.upsert(asLabel(10_000 + i), f32(v)));
      expect(index.stats().elements).toBe(3000);
      expect(index.stats().capacity).toBe(capacity);
      const labels = index.search(f32(vectors[1500]!), 1).map((n) => n.label);
      expect(labels).toEqual([1501]);
    });

    it('applies the accept filter', () => {
      const index = factory.create(shape('ip', 4), 100);
      randomVectors(500, 4, 3).forEach((v, i) => index.upsert(asLabel(i + 1), f32(v)));
      const hits = index.search(f32([1, 0, 0, 0]), 10, { accept: (label) => label % 5 === 0 });
      expect(hits).toHaveLength(10);
      expect(hits.every((n) => n.label % 5 === 0)).toBe(true);
    });

    it('saves and loads to identical answers', async () => {
      const dir = tempDir();
      const index = factory.create(shape('cosine', 16), 10);
      const vectors = randomVectors(800, 16, 11);
      vectors.forEach((v, i) => index.upsert(asLabel(i + 1), f32(v)));
      index.remove(asLabel(5));
      const file = join(dir, 'index.bin');
      await index.save(file);
      const loaded = await factory.load(file, shape('cosine', 16), index.stats().deleted);
      const held = new Set(loaded.labels());
      expect(index.labels().filter((label) => !held.has(label))).toEqual([]);
      expect(loaded.remove(asLabel(5))).toBe(false);
      expect(loaded.stats()).toMatchObject({ elements: 799, deleted: index.stats().deleted });
      for (const q of randomVectors(20, 16, 12)) {
        expect(loaded.search(f32(q), 10)).toEqual(index.search(f32(q), 10));
      }
      loaded.upsert(asLabel(5000), f32(vectors[0]!));
      expect(loaded.stats().elements).toBe(800);
    });

    it('builds a whole index at once (off the event loop) with the answers of one built by inserts', async () => {
      const vectors = randomVectors(1500, 12, 31);
      const labels = Float64Array.from(vectors, (_, i) => 100 + i);
      const block = new Float32Array(vectors.flat());
      const built = await factory.build(shape('l2', 12), labels, block, tempDir());
      expect(built.stats().elements).toBe(1500);
      const exact = flatIndexFactory.create(shape('l2', 12), 0);
      vectors.forEach((v, i) => exact.upsert(asLabel(100 + i), f32(v)));
      let found = 0;
      for (const q of randomVectors(50, 12, 32)) {
        const truth = new Set(exact.search(f32(q), 10).map((n) => n.label));
        found += built.search(f32(q), 10).filter((n) => truth.has(n.label)).length;
      }
      expect(found / 500).toBeGreaterThanOrEqual(0.98);
      expect(built.bytes()).toBeGreaterThan(1500 * 12 * 4);
    });

    it.each(['cosine', 'l2', 'ip'] as const)('recall@10 ≥ 0.98 against exact search (%s, 4,000 vectors)', (space) => {
      const dimensions = 32;
      const index = factory.create(shape(space, dimensions), 4000);
      const exact = flatIndexFactory.create(shape(space, dimensions), 4000);
      randomVectors(4000, dimensions, 21).forEach((v, i) => {
        index.upsert(asLabel(i + 1), f32(v));
        exact.upsert(asLabel(i + 1), f32(v));
      });
      let found = 0;
      const queries = randomVectors(200, dimensions, 22);
      for (const q of queries) {
        const truth = new Set(exact.search(f32(q), 10).map((n) => n.label));
        const hits = index.search(f32(q), 10);
        found += hits.filter((n) => truth.has(n.label)).length;
        // Distances are the space's own and match the exact ones for the same label.
        const exactDistances = new Map(exact.search(f32(q), 4000).map((n) => [n.label, n.distance]));
        for (const hit of hits) expect(hit.distance).toBeCloseTo(exactDistances.get(hit.label)!, 3);
      }
      expect(found / (queries.length * 10)).toBeGreaterThanOrEqual(0.98);
    });
  });
}
