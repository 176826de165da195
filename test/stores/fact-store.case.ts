/**
 * One suite, every FactStore implementation (SQLite, PostgreSQL): dedupe, supersession, history reads, entity
 * reads, deletes and namespace isolation, plus concurrent writers on two connections.
 */
import { describe, expect, it } from 'vitest';
import type { FactRecord } from '../../src/core/types.js';
import type { FactStore, FactWrite } from '../../src/ports/fact-store.js';

export interface FactStoreHarness {
  facts: FactStore;
  /** The same database through another connection, as another node would see it. */
  other: FactStore;
  /** Two namespaces, to check that nothing crosses between them. */
  namespaces: [number, number];
  close(): Promise<void>;
}

const fact = (subject: string, predicate: string, object: string, extra: Partial<FactWrite> = {}): FactWrite => ({
  subject,
  predicate,
  object,
  confidence: null,
  source: null,
  validFrom: null,
  validTo: null,
  metadata: {},
  replace: false,
  ...extra,
});

const triples = (facts: FactRecord[]) => facts.map((f) => `${f.subject}|${f.predicate}|${f.object}`);

/** Lets the clock move, so that facts written one after the other have distinct times. */
const tick = () => new Promise((resolve) => setTimeout(resolve, 3));

let nextId = 0;
const newId = () => `f${(nextId++).toString().padStart(6, '0')}`;

export function factStoreSuite(name: string, open: () => Promise<FactStoreHarness>): void {
  describe(`FactStore: ${name}`, () => {
    const withStore = (test: (h: FactStoreHarness) => Promise<void>) => async () => {
      const harness = await open();
      try {
        await test(harness);
      } finally {
        await harness.close();
      }
    };

    it(
      'writes a fact with every field, reads it back by id, pattern and count',
      withStore(async ({ facts, namespaces: [ns] }) => {
        const before = Date.now();
        const id = newId();
        const metadata = { from: 'chat', turn: 3, tags: ['a', 'b'], nested: { ok: true, none: null }, ratio: 0.25 };
        const outcome = await facts.write(
          ns,
          fact('Alice', 'lives_in', 'Paris ☕', { confidence: 0.9, source: 'turn 3', validFrom: 1_700_000_000_000, validTo: 1_800_000_000_000, metadata }),
          id,
        );
        expect(outcome).toEqual({ id, created: true, superseded: [], seq: expect.any(Number) });
        const [stored] = await facts.byIds(ns, [id]);
        expect(stored).toEqual({
          id,
          subject: 'Alice',
          predicate: 'lives_in',
          object: 'Paris ☕',
          confidence: 0.9,
          source: 'turn 3',
          validFrom: 1_700_000_000_000,
          validTo: 1_800_000_000_000,
          createdAt: expect.any(Number),
          invalidatedAt: null,
          supersededBy: null,
          metadata,
          sightings: 1,
          lastSeenAt: stored!.createdAt,
        });
        expect(stored!.createdAt).toBeGreaterThanOrEqual(before);
        expect(stored!.createdAt).toBeLessThanOrEqual(Date.now());
        expect(await facts.count(ns)).toBe(1);
        expect(triples(await facts.query(ns, { subject: 'alice', limit: 10 }))).toEqual(['Alice|lives_in|Paris ☕']);
      }),
    );

    it(
      'records a sighting instead of a second copy, matching on normalized keys',
      withStore(async ({ facts, namespaces: [ns] }) => {
        const first = await facts.write(ns, fact('Bob', 'Works At', 'ACME'), newId());
        const again = await facts.write(ns, fact('  bob ', 'works   at', 'acme'), newId());
        // NFKC: the full-width letters are the same key.
        const wide = await facts.write(ns, fact('Ｂｏｂ', 'works at', 'ACME'), newId());
        expect(again).toEqual({ id: first.id, created: false, superseded: [], seq: first.seq + 1 });
        expect(wide).toEqual({ id: first.id, created: false, superseded: [], seq: first.seq + 2 });
        const [stored] = await facts.byIds(ns, [first.id]);
        expect(stored).toMatchObject({ subject: 'Bob', predicate: 'Works At', object: 'ACME', sightings: 3 });
        expect(stored!.lastSeenAt).toBeGreaterThanOrEqual(stored!.createdAt);
        expect(await facts.count(ns)).toBe(1);
      }),
    );

    it(
      'supersedes rival objects when asked, keeping the history; keeps both when not',
      withStore(async ({ facts, namespaces: [ns] }) => {
        const paris = await facts.write(ns, fact('carol', 'lives_in', 'Paris', { validFrom: 1_000 }), newId());
        const lyon = await facts.write(ns, fact('carol', 'lives_in', 'Lyon', { validFrom: 2_000, validTo: 2_500 }), newId());
        await tick();
        const romeId = newId();
        const rome = await facts.write(ns, fact('Carol', 'lives_in', 'Rome', { validFrom: 3_000, replace: true }), romeId);
        // In no particular order.
        expect({ ...rome, superseded: [...rome.superseded].sort() }).toEqual({ id: romeId, created: true, superseded: [paris.id, lyon.id].sort(), seq: lyon.seq + 1 });

        const closed = await facts.byIds(ns, [paris.id, lyon.id]);
        const byId = new Map(closed.map((f) => [f.id, f]));
        // valid_to is kept where it was known, and set to the new fact's start where it was not.
        expect(byId.get(paris.id)).toMatchObject({ validTo: 3_000, supersededBy: romeId, invalidatedAt: expect.any(Number) });
        expect(byId.get(lyon.id)).toMatchObject({ validTo: 2_500, supersededBy: romeId, invalidatedAt: expect.any(Number) });

        expect(triples(await facts.query(ns, { subject: 'carol', limit: 10 }))).toEqual(['Carol|lives_in|Rome']);
        expect(triples(await facts.query(ns, { subject: 'carol', history: true, limit: 10 }))).toEqual([
          'carol|lives_in|Paris',
          'carol|lives_in|Lyon',
          'Carol|lives_in|Rome',
        ]);
        // What held in the world at 1,500, and at 2,200 (Lyon only until 2,500).
        expect(triples(await facts.query(ns, { subject: 'carol', asOf: 1_500, limit: 10 }))).toEqual(['carol|lives_in|Paris']);
        expect(triples(await facts.query(ns, { subject: 'carol', asOf: 2_200, limit: 10 }))).toEqual([
          'carol|lives_in|Paris',
          'carol|lives_in|Lyon',
        ]);
        expect(triples(await facts.query(ns, { subject: 'carol', asOf: 2_600, limit: 10 }))).toEqual(['carol|lives_in|Paris']);

        // What membank believed before the supersession.
        const invalidatedAt = byId.get(paris.id)!.invalidatedAt!;
        const believed = await facts.query(ns, { subject: 'carol', knownAt: invalidatedAt - 1, limit: 10 });
        expect(triples(believed)).toEqual(['carol|lives_in|Paris', 'carol|lives_in|Lyon']);
        expect(triples(await facts.query(ns, { subject: 'carol', knownAt: invalidatedAt, limit: 10 }))).toEqual(['Carol|lives_in|Rome']);

        // Superseding again the current object only records a sighting.
        expect(await facts.write(ns, fact('carol', 'lives_in', 'rome', { replace: true }), newId())).toEqual({
          id: romeId,
          created: false,
          superseded: [],
          seq: rome.seq + 1,
        });
        // Without replace, two objects of one predicate stand side by side.
        await facts.write(ns, fact('carol', 'likes', 'tea'), newId());
        await facts.write(ns, fact('carol', 'likes', 'jazz'), newId());
        expect(triples(await facts.query(ns, { subject: 'carol', predicate: 'likes', limit: 10 }))).toEqual([
          'carol|likes|tea',
          'carol|likes|jazz',
        ]);
      }),
    );

    it(
      'reads by predicate, object, limit, in write order',
      withStore(async ({ facts, namespaces: [ns] }) => {
        for (let i = 0; i < 12; i++) await facts.write(ns, fact(`user${i}`, i % 2 ? 'owns' : 'likes', i % 3 ? 'cats' : 'dogs'), newId());
        expect(triples(await facts.query(ns, { predicate: 'OWNS', object: 'cats', limit: 10 }))).toEqual([
          'user1|owns|cats',
          'user5|owns|cats',
          'user7|owns|cats',
          'user11|owns|cats',
        ]);
        expect(triples(await facts.query(ns, { object: 'dogs', limit: 3 }))).toEqual(['user0|likes|dogs', 'user3|owns|dogs', 'user6|likes|dogs']);
        expect(await facts.query(ns, { limit: 100 })).toHaveLength(12);
        expect(await facts.query(ns, { subject: 'nobody', limit: 100 })).toEqual([]);
      }),
    );

    it(
      'finds the active facts touching entities, as subject or object',
      withStore(async ({ facts, namespaces: [ns] }) => {
        await facts.write(ns, fact('Dana', 'knows', 'Eve'), newId());
        await facts.write(ns, fact('Eve', 'lives_in', 'Oslo'), newId());
        await facts.write(ns, fact('Eve', 'lives_in', 'Bergen', { replace: true }), newId());
        await facts.write(ns, fact('Frank', 'knows', 'Gina'), newId());
        expect(triples(await facts.touching(ns, ['EVE']))).toEqual(['Dana|knows|Eve', 'Eve|lives_in|Bergen']);
        expect(triples(await facts.touching(ns, ['gina', 'oslo']))).toEqual(['Frank|knows|Gina']);
        expect(await facts.touching(ns, ['nobody'])).toEqual([]);
        expect(await facts.touching(ns, [])).toEqual([]);
      }),
    );

    it(
      'deletes by id and keeps namespaces apart',
      withStore(async ({ facts, namespaces: [a, b] }) => {
        const inA = await facts.write(a, fact('hal', 'is', 'a computer'), newId());
        const inB = await facts.write(b, fact('hal', 'is', 'a computer'), newId());
        expect(inB.created).toBe(true);
        expect(inB.id).not.toBe(inA.id);
        // Supersession in one namespace leaves the other alone.
        await facts.write(a, fact('hal', 'is', 'retired', { replace: true }), newId());
        expect(triples(await facts.query(b, { subject: 'hal', limit: 10 }))).toEqual(['hal|is|a computer']);
        expect(await facts.byIds(a, [inB.id])).toEqual([]);
        // Every write and every delete that removed something takes the namespace's next change number.
        const retired = (await facts.query(a, { subject: 'hal', object: 'retired', limit: 1 })).length;
        expect(retired).toBe(1);
        const head = inA.seq + 1;
        expect(await facts.delete(a, [inB.id])).toEqual({ deleted: 0, seq: head });
        expect(await facts.count(b)).toBe(1);

        expect(await facts.delete(a, [inA.id, 'missing', inA.id])).toEqual({ deleted: 1, seq: head + 1 });
        expect(await facts.byIds(a, [inA.id])).toEqual([]);
        expect(await facts.count(a)).toBe(1);
        expect(await facts.delete(a, [])).toEqual({ deleted: 0, seq: head + 1 });
        expect((await facts.write(b, fact('hal', 'is', 'kind'), newId())).seq).toBe(inB.seq + 1);
        expect(await facts.byIds(a, [])).toEqual([]);
      }),
    );

    it(
      'shows a write made through one connection to the other at once',
      withStore(async ({ facts, other, namespaces: [ns] }) => {
        const written = await facts.write(ns, fact('ivy', 'plays', 'chess'), newId());
        expect(triples(await other.query(ns, { subject: 'ivy', limit: 10 }))).toEqual(['ivy|plays|chess']);
        expect(await other.write(ns, fact('IVY', 'plays', 'Chess'), newId())).toMatchObject({ id: written.id, created: false });
      }),
    );

    it(
      'never makes two current facts out of concurrent writers on two connections',
      withStore(async ({ facts, other, namespaces: [ns] }) => {
        // The same fact from 16 writers at once: one creates it, the others record sightings.
        const same = await Promise.all(
          Array.from({ length: 16 }, (_, i) => (i % 2 ? other : facts).write(ns, fact('jack', 'owns', 'a boat'), newId())),
        );
        expect(same.filter((o) => o.created)).toHaveLength(1);
        expect(new Set(same.map((o) => o.id)).size).toBe(1);
        const [boat] = await facts.query(ns, { subject: 'jack', limit: 10 });
        expect(boat!.sightings).toBe(16);

        // Rival objects of a single-valued predicate at once: whatever the order, exactly one stays current,
        // and every other is closed by the fact that came after it.
        const cities = ['Oslo', 'Rome', 'Lima', 'Pune', 'Kyiv', 'Baku', 'Riga', 'Doha'];
        const outcomes = await Promise.all(
          cities.map((city, i) => (i % 2 ? other : facts).write(ns, fact('jack', 'lives_in', city, { replace: true }), newId())),
        );
        expect(outcomes.every((o) => o.created)).toBe(true);
        const current = await facts.query(ns, { subject: 'jack', predicate: 'lives_in', limit: 10 });
        expect(current).toHaveLength(1);
        const all = await facts.query(ns, { subject: 'jack', predicate: 'lives_in', history: true, limit: 10 });
        expect(all).toHaveLength(cities.length);
        expect(all.filter((f) => f.supersededBy === null).map((f) => f.id)).toEqual([current[0]!.id]);
        // Each write superseded exactly the one current before it: a chain, no fact closed twice.
        const superseded = outcomes.flatMap((o) => o.superseded);
        expect(superseded).toHaveLength(cities.length - 1);
        expect(new Set(superseded).size).toBe(cities.length - 1);
      }),
    );
  });
}
