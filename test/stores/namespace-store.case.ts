/** One suite, every NamespaceStore implementation (SQLite, PostgreSQL): records, listing, patches, heads, schedules. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_FORGETTING, DEFAULT_SETTINGS } from '../../src/core/types.js';
import { newNamespace, type StoreHarness, vec, withHarness } from './harness.js';

export function namespaceStoreSuite(name: string, open: () => Promise<StoreHarness>): void {
  describe(`NamespaceStore: ${name}`, () => {
    it(
      'creates a namespace with every field and finds it by name, id and uid',
      withHarness(open, async ({ store, other }) => {
        const input = newNamespace({ metadata: { team: 'a', n: 1.5, nested: { ok: true } }, embedder: 'hash', embedderRevision: 'r1', dimensions: 8 });
        const created = await store.namespaces.create(input);
        expect(created).toMatchObject({
          name: input.name,
          space: 'cosine',
          dimensions: 8,
          dimensionsOpen: false,
          metadata: { team: 'a', n: 1.5, nested: { ok: true } },
          embedder: 'hash',
          embedderRevision: 'r1',
          hnsw: input.hnsw,
          settings: DEFAULT_SETTINGS,
          generation: 0,
        });
        expect(created.uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(await other.namespaces.byName(input.name)).toEqual(created);
        expect(await other.namespaces.byId(created.id)).toEqual(created);
        expect(await other.namespaces.byUid(created.uid)).toEqual(created);
        expect(await other.namespaces.byName('nope')).toBeUndefined();
        expect(await other.namespaces.byUid('nope')).toBeUndefined();
        expect(await other.namespaces.head(created.id)).toEqual({ seq: 0, generation: 0 });
        expect(await other.namespaces.head(created.id + 10_000)).toBeUndefined();
        // The same name twice is refused as a unique violation (the registry answers it as an existing namespace).
        await expect(other.namespaces.create(input)).rejects.toThrow(/UNIQUE|duplicate key/);
      }),
    );

    it(
      'lists in byte order of names, pages, hides internal namespaces unless asked, counts',
      withHarness(open, async ({ store }) => {
        const prefix = newNamespace().name;
        const names = [`${prefix}-b`, `${prefix}-B`, `${prefix}-a`, `${prefix}-é`, `${prefix}-_`];
        for (const n of names) await store.namespaces.create(newNamespace({ name: n }));
        await store.namespaces.create(newNamespace({ name: `~${prefix}` }));
        const mine = (await store.namespaces.list({ internal: true })).map((r) => r.name).filter((n) => n.includes(prefix));
        expect(mine).toEqual([...names].sort().concat(`~${prefix}`));
        const visible = (await store.namespaces.list()).map((r) => r.name);
        expect(visible).not.toContain(`~${prefix}`);
        const page = await store.namespaces.list({ after: `${prefix}-B`, limit: 2 });
        expect(page.map((r) => r.name)).toEqual([`${prefix}-_`, `${prefix}-a`]);
        expect(await store.namespaces.count()).toBe(visible.length);
      }),
    );

    it(
      'patches name, metadata, settings and search settings, refusing a taken name',
      withHarness(open, async ({ store, other }) => {
        const a = await store.namespaces.create(newNamespace());
        const b = await store.namespaces.create(newNamespace());
        await expect(other.namespaces.update(a.id, { name: b.name })).rejects.toMatchObject({ code: 'NAMESPACE_CONFLICT' });
        const settings = { ...DEFAULT_SETTINGS, forgetting: { ...DEFAULT_FORGETTING, enabled: true, schedule: '*/5 * * * *' } };
        const renamed = await other.namespaces.update(a.id, { name: `${a.name}-x`, metadata: { v: 2 }, settings, hnsw: { efSearch: 99, threshold: 5 } });
        expect(renamed).toMatchObject({ id: a.id, uid: a.uid, name: `${a.name}-x`, metadata: { v: 2 }, settings, hnsw: { ...a.hnsw, efSearch: 99, threshold: 5 } });
        // Fields not given stay; a threshold given as null clears it.
        const again = await store.namespaces.update(a.id, { hnsw: { efSearch: 99, threshold: null } });
        expect(again).toMatchObject({ name: `${a.name}-x`, metadata: { v: 2 }, settings, hnsw: { efSearch: 99, threshold: null } });
        expect(await store.namespaces.update(a.id + 10_000, { metadata: {} })).toBeUndefined();
        expect(await store.namespaces.byName(a.name)).toBeUndefined();
      }),
    );

    it(
      'settles open dimensions once; the first writer decides',
      withHarness(open, async ({ store, other }) => {
        const ns = await store.namespaces.create(newNamespace({ dimensions: null }));
        expect(ns).toMatchObject({ dimensionsOpen: true, dimensions: 1 });
        expect(await other.namespaces.settleDimensions(ns.id, 3)).toMatchObject({ dimensionsOpen: false, dimensions: 3 });
        expect(await store.namespaces.settleDimensions(ns.id, 7)).toMatchObject({ dimensionsOpen: false, dimensions: 3 });
        expect(await store.namespaces.settleDimensions(ns.id + 10_000, 7)).toBeUndefined();
      }),
    );

    it(
      'deletes a namespace with everything in it',
      withHarness(open, async ({ store, other }) => {
        const ns = await store.namespaces.create(newNamespace());
        await store.memories.write(ns.id, [{ id: 'm', text: 't', metadata: {}, vector: vec(1, 0, 0, 0), timestamp: 1, documentId: null, chunkIndex: null, importance: null, strength: 1, expiresAt: null }], { now: 1, generation: 0 });
        expect(await other.namespaces.delete(ns.id)).toBe(true);
        expect(await store.namespaces.delete(ns.id)).toBe(false);
        expect(await store.namespaces.byId(ns.id)).toBeUndefined();
        expect(await store.memories.count(ns.id)).toBe(0);
        expect(await store.namespaces.head(ns.id)).toBeUndefined();
      }),
    );

    it(
      'tells the schedules in use and which namespaces on one are due',
      withHarness(open, async ({ store }) => {
        const schedule = `${Math.floor(Math.random() * 59)} 3 * * *`;
        const enabled = await store.namespaces.create(
          newNamespace({ settings: { ...DEFAULT_SETTINGS, forgetting: { ...DEFAULT_FORGETTING, enabled: true, schedule } } }),
        );
        const expiring = await store.namespaces.create(
          newNamespace({ settings: { ...DEFAULT_SETTINGS, forgetting: { ...DEFAULT_FORGETTING, enabled: false, schedule } } }),
        );
        await store.namespaces.create(newNamespace({ settings: { ...DEFAULT_SETTINGS, forgetting: { ...DEFAULT_FORGETTING, enabled: false, schedule } } }));
        await store.memories.write(
          expiring.id,
          [{ id: 'e', text: null, metadata: {}, vector: vec(1, 0, 0, 0), timestamp: 1, documentId: null, chunkIndex: null, importance: null, strength: 1, expiresAt: 1_000 }],
          { now: 1, generation: 0 },
        );
        const schedules = await store.namespaces.schedules();
        expect(schedules.filter((s) => s === schedule)).toEqual([schedule]);
        expect(await store.namespaces.dueOn(schedule, 999)).toEqual([enabled.name]);
        expect(await store.namespaces.dueOn(schedule, 1_000)).toEqual([enabled.name, expiring.name].sort());
      }),
    );
  });
}
