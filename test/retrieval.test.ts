/**
 * Retrieval beyond plain kNN, against a real server: full-text search kept in step with every write, the
 * three modes, filters and time windows in each, hybrid's mention boost and neighbour propagation, MMR,
 * thresholds, recency, neighbour expansion and several namespaces in one query.
 */
import { Writable } from 'node:stream';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Running, startMembank, tempDir } from './helpers.js';

const MODES = ['vector', 'keyword', 'hybrid'] as const;
const ids = (body: { results: { id: string }[] }) => body.results.map((r) => r.id);

describe('retrieval', () => {
  let m: Running;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = tempDir();
    m = await startMembank(dataDir);
  });
  afterAll(() => m.close());

  const create = async (name: string, extra: object = {}) => expect((await m.api.post('/v1/namespaces', { name, ...extra })).status).toBe(201);
  const write = async (ns: string, memories: object[]) => expect((await m.api.post(`/v1/namespaces/${ns}/memories`, { memories })).status).toBe(201);
  const query = async (ns: string, body: object) => {
    const response = await m.api.post(`/v1/namespaces/${ns}/query`, body);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    return response.body;
  };

  it('keyword search follows every write: insert, upsert, delete, document replace and delete, namespace delete', async () => {
    await create('kw');
    await write('kw', [
      { id: 'a', text: 'The violinist was practising scales' },
      { id: 'b', text: 'Gardening on Sunday mornings' },
    ]);
    expect(ids(await query('kw', { query: 'violinists practise', mode: 'keyword' }))).toEqual(['a']); // porter stems
    await write('kw', [{ id: 'a', text: 'Now a cellist' }]);
    expect(ids(await query('kw', { query: 'violinist', mode: 'keyword' }))).toEqual([]);
    expect(ids(await query('kw', { query: 'cellist', mode: 'keyword' }))).toEqual(['a']);
    expect((await m.api.del('/v1/namespaces/kw/memories/a')).status).toBe(204);
    expect(ids(await query('kw', { query: 'cellist', mode: 'keyword' }))).toEqual([]);

    const paragraph = (words: string) => `${words} `.repeat(8).trim();
    const doc = [paragraph('Tomatoes need sun.'), paragraph('Basil likes tomatoes.'), paragraph('Parsley grows slowly.')].join('\n\n');
    const written = await m.api.post('/v1/namespaces/kw/documents', { documents: [{ id: 'guide', text: doc }], chunking: { maxChars: 200, overlap: 0 } });
    expect(written.body.documents[0].chunks.length).toBe(3);
    const chunks = (await query('kw', { query: 'parsley', mode: 'keyword' })).results;
    expect(new Set(chunks.map((r: { documentId: string }) => r.documentId))).toEqual(new Set(['guide']));
    expect((await m.api.post('/v1/namespaces/kw/documents', { documents: [{ id: 'guide', text: 'Only tomatoes now.' }] })).status).toBe(201);
    expect(ids(await query('kw', { query: 'parsley', mode: 'keyword' }))).toEqual([]);
    expect((await m.api.del('/v1/namespaces/kw/documents/guide')).status).toBe(204);
    expect(ids(await query('kw', { query: 'tomatoes', mode: 'keyword' }))).toEqual([]);

    expect((await m.api.del('/v1/namespaces/kw')).status).toBe(204);
    await create('kw');
    expect(ids(await query('kw', { query: 'gardening', mode: 'keyword' }))).toEqual([]);
  });

  it('keyword search stays inside its namespace, and query syntax in the text is only words', async () => {
    await create('iso-a');
    await create('iso-b');
    await write('iso-a', [{ id: 'x', text: 'secret harbour plans' }]);
    await write('iso-b', [{ id: 'y', text: 'harbour festival' }]);
    expect(ids(await query('iso-b', { query: 'harbour', mode: 'keyword' }))).toEqual(['y']);
    for (const text of ['harbour" OR secret', 'NEAR(harbour secret)', '{text}: secret', 'harbour*', '"', '-- ; DROP TABLE memories']) {
      for (const mode of ['keyword', 'hybrid']) {
        const body = await query('iso-b', { query: text, mode });
        expect(ids(body)).not.toContain('x');
      }
    }
  });

  it('a namespace without embedder answers text queries by keywords', async () => {
    await create('plain', { embedder: null, dimensions: 3 });
    await write('plain', [
      { id: 'p1', text: 'blue whale song', vector: [1, 0, 0] },
      { id: 'p2', text: 'red fox', vector: [0, 1, 0] },
    ]);
    const body = await query('plain', { query: 'whales' });
    expect(ids(body)).toEqual(['p1']);
    expect(body.results[0].distance).toBeNull();
  });

  describe('filters and time windows apply in every mode', () => {
    beforeAll(async () => {
      await create('scoped');
      const memories = [];
      for (let i = 0; i < 60; i++) {
        memories.push({
          id: `m${i}`,
          text: `note ${i} about the harbour ${i % 2 ? 'boats' : 'lighthouse'}`,
          metadata: { user: i % 3 === 0 ? 'ann' : 'bob' },
          timestamp: Date.UTC(2024, 0, 1 + i),
        });
      }
      await write('scoped', memories);
    });

    for (const mode of MODES) {
      it(mode, async () => {
        const filtered = await query('scoped', { query: 'harbour boats', mode, k: 50, filter: { user: 'ann' } });
        expect(filtered.results.length).toBe(20);
        expect(filtered.results.every((r: { metadata: { user: string } }) => r.metadata.user === 'ann')).toBe(true);

        const after = Date.UTC(2024, 0, 11);
        const before = Date.UTC(2024, 0, 21);
        const windowed = await query('scoped', { query: 'harbour boats', mode, k: 50, after: new Date(after).toISOString(), before });
        expect(windowed.results.length).toBe(10);
        for (const r of windowed.results) {
          expect(Date.parse(r.timestamp)).toBeGreaterThanOrEqual(after);
          expect(Date.parse(r.timestamp)).toBeLessThan(before);
        }
      });
    }
  });

  it('hybrid: a query that names a tag (a speaker) prefers that speaker’s memories', async () => {
    await create('talk');
    await write('talk', [
      { id: 'ann-1', text: 'I went hiking in the Alps', metadata: { speaker: 'Ann' } },
      { id: 'bob-1', text: 'Ann, hiking sounds great, tell me more', metadata: { speaker: 'Bob' } },
      { id: 'bob-2', text: 'hiking with my dog every weekend is the best', metadata: { speaker: 'Bob' } },
      { id: 'bob-3', text: 'new hiking boots are expensive but worth it', metadata: { speaker: 'Bob' } },
      { id: 'bob-4', text: 'I mostly cook pasta', metadata: { speaker: 'Bob' } },
    ]);
    const question = 'Where did Ann go hiking?';
    expect(ids(await query('talk', { query: question, hybrid: { mentionBoost: 0, neighborWeight: 0 } }))[0]).toBe('bob-1');
    expect(ids(await query('talk', { query: question }))[0]).toBe('ann-1');
  });

  it('hybrid: the turn after a matching question rises with it', async () => {
    await create('chat');
    const turns = [
      ['Bob', 'What did you research last week?'],
      ['Ann', 'Adoption agencies, mostly.'],
    ];
    const filler = ['The weather was lovely', 'We watched a film', 'Lunch was pasta again', 'My cat sleeps all day', 'Trains were late', 'I bought new shoes'];
    const memories: object[] = [];
    let t = Date.UTC(2024, 5, 1);
    for (const [i, text] of filler.entries()) memories.push({ id: `f${i}`, text, metadata: { speaker: i % 2 ? 'Cy' : 'Ann' }, timestamp: (t += 1000) });
    for (const [i, [speaker, text]] of turns.entries()) memories.push({ id: `t${i}`, text, metadata: { speaker }, timestamp: (t += 1000) });
    for (const [i, text] of filler.entries()) memories.push({ id: `g${i}`, text: `${text} too`, metadata: { speaker: i % 2 ? 'Cy' : 'Ann' }, timestamp: (t += 1000) });
    await write('chat', memories);
    const question = 'What did Ann research?';
    const plain = ids(await query('chat', { query: question, k: 20, hybrid: { neighborWeight: 0 } }));
    const withNeighbors = ids(await query('chat', { query: question, k: 20 }));
    expect(withNeighbors.slice(0, 2)).toContain('t1');
    expect(plain.indexOf('t1')).toBeGreaterThan(withNeighbors.indexOf('t1'));
  });

  it('expand returns the memories around each hit: conversation turns by time, document chunks by position', async () => {
    const hit = (await query('chat', { query: 'What did you research last week?', mode: 'keyword', k: 1, expand: { before: 2, after: 1 } })).results[0];
    expect(hit.id).toBe('t0');
    expect(hit.neighbors.map((n: { id: string }) => n.id)).toEqual(['f4', 'f5', 't1']);
    expect(hit.neighbors[2]).toMatchObject({ text: 'Adoption agencies, mostly.' });

    await create('docs');
    const chapter = (name: string) => `${name} chapter. `.repeat(10).trim();
    const text = ['Alpha', 'Beta', 'Gamma', 'Delta'].map(chapter).join('\n\n');
    await m.api.post('/v1/namespaces/docs/documents', { documents: [{ id: 'book', text }], chunking: { maxChars: 150, overlap: 0 } });
    const chunk = (await query('docs', { query: 'gamma', mode: 'keyword', k: 1, expand: {} })).results[0];
    expect(chunk.chunkIndex).toBe(2);
    expect(chunk.neighbors.map((n: { text: string }) => n.text)).toEqual([chapter('Beta'), chapter('Delta')]);
  });

  it('MMR keeps near-duplicates out of the top results; minScore drops weak ones', async () => {
    await create('dupes', { embedder: null, dimensions: 3 });
    await write('dupes', [
      { id: 'd1', text: 'the red kite flies over the valley', vector: [1, 0, 0] },
      { id: 'd2', text: 'the red kite flies over the valley', vector: [1, 0, 0] },
      { id: 'd3', text: 'the red kite flies over the valley again', vector: [0.99, 0.1, 0] },
      { id: 'o1', text: 'red kites nest in the valley oaks', vector: [0.7, 0.7, 0] },
      { id: 'z', text: 'quarterly tax forms', vector: [0, 0, 1] },
    ]);
    const body = { vector: [1, 0.3, 0], k: 2 };
    const plain = ids(await query('dupes', body));
    expect(plain.every((id) => id.startsWith('d'))).toBe(true);
    const diverse = ids(await query('dupes', { ...body, mmr: { lambda: 0.5 } }));
    expect(diverse[0]).toBe(plain[0]);
    expect(diverse[1]).toBe('o1');
    expect(ids(await query('dupes', { ...body, mmr: { lambda: 1 } }))).toEqual(plain);

    const all = await query('dupes', { ...body, k: 5 });
    const cut = all.results[3].score;
    const kept = await query('dupes', { ...body, k: 5, minScore: cut });
    expect(kept.results.length).toBe(4);
    expect(kept.results.every((r: { score: number }) => r.score >= cut)).toBe(true);
  });

  it('recency puts the newer of two equal memories first', async () => {
    await create('recent');
    const now = Date.now();
    await write('recent', [
      { id: 'old', text: 'the team meets on Mondays', timestamp: now - 30 * 86_400_000 },
      { id: 'new', text: 'the team meets on Mondays', timestamp: now - 3_600_000 },
    ]);
    for (const mode of MODES) {
      const body = await query('recent', { query: 'when does the team meet', mode, k: 2, recency: { weight: 0.5, halfLife: 7 * 86_400 } });
      expect(ids(body), mode).toEqual(['new', 'old']);
      expect(body.results[0].score).toBeGreaterThan(body.results[1].score);
    }
  });

  it('context: the memories and facts for a prompt, deduplicated, with time and source, within a real token budget', async () => {
    await create('ctx');
    const day = (d: number) => Date.UTC(2024, 2, d, 9, 30);
    await write('ctx', [
      { id: 'c1', text: 'Dan moved to Oslo for a job at the harbour office', metadata: { speaker: 'Dan' }, timestamp: day(3) },
      { id: 'c2', text: 'Dan started learning Norwegian at the harbour library', metadata: { speaker: 'Dan' }, timestamp: day(1) },
      { id: 'c3', text: 'Dan started learning Norwegian at the harbour library', metadata: { speaker: 'Dan' }, timestamp: day(2) },
      { id: 'c4', text: 'Eve bakes bread on weekends', metadata: { speaker: 'Eve' }, timestamp: day(4) },
    ]);
    await m.api.post('/v1/namespaces/ctx/facts', { facts: [{ subject: 'Dan', predicate: 'lives_in', object: 'Oslo' }] });

    const response = await m.api.post('/v1/namespaces/ctx/context', { query: 'Dan harbour Norwegian Oslo', maxTokens: 200, includeFacts: true });
    expect(response.status).toBe(200);
    const { context, tokens, memories, facts } = response.body;
    expect(tokens).toBe(countTokens(context));
    expect(tokens).toBeLessThanOrEqual(200);
    expect(facts.map((f: { object: string }) => f.object)).toContain('Oslo');
    expect(context).toContain('Known facts:\n- Dan lives in Oslo');
    const lines = context.split('\n').filter((l: string) => l.startsWith('- ['));
    // The two identical memories count once; lines are in time order, each with its time and source.
    expect(lines.filter((l: string) => l.includes('learning Norwegian')).length).toBe(1);
    const times = memories.map((mm: { timestamp: string }) => Date.parse(mm.timestamp));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(lines[0]).toMatch(/^- \[2024-03-0\d 09:30\] Dan: .* \(source: c\d\)$/);
    expect(memories.every((mm: { source: string }) => mm.source.startsWith('c'))).toBe(true);
    expect(memories.every((mm: { vector?: unknown }) => mm.vector === undefined)).toBe(true); // prompts need no vectors

    const tight = (await m.api.post('/v1/namespaces/ctx/context', { query: 'Dan harbour Norwegian Oslo', maxTokens: 40, order: 'score' })).body;
    expect(tight.tokens).toBeLessThanOrEqual(40);
    expect(tight.tokens).toBe(countTokens(tight.context));
    expect(tight.memories.length).toBeGreaterThan(0);
    expect(tight.memories.length).toBeLessThan(memories.length);
    expect(tight.facts).toEqual([]);

    const bad = await m.api.post('/v1/namespaces/ctx/context', { query: 'x', maxTokens: 5 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
  });

  it('explain: each result carries the parts of its score, and they add up to it, in every mode', async () => {
    await create('why');
    const t = Date.UTC(2024, 3, 1);
    await write('why', [
      { id: 'w1', text: 'Ann adopted a grey cat from the shelter', metadata: { speaker: 'Ann' }, timestamp: t },
      { id: 'w2', text: 'What did you adopt?', metadata: { speaker: 'Bob' }, timestamp: t + 1000 },
      { id: 'w3', text: 'A grey cat, she sleeps all day', metadata: { speaker: 'Ann' }, timestamp: t + 2000 },
      { id: 'w4', text: 'Bob fixed his bicycle', metadata: { speaker: 'Bob' }, timestamp: t + 3000 },
    ]);
    const question = 'What did Ann adopt from the shelter?';
    type Part = { value: number; weight: number };
    const check = (results: { score: number; explain: Record<string, Part | number> }[], components: string[]) => {
      expect(results.length).toBeGreaterThan(0);
      for (const r of results) {
        const { score, ...parts } = r.explain;
        expect(score).toBe(r.score);
        expect(Object.keys(parts)).toEqual(components);
        const sum = Object.values(parts as Record<string, Part>).reduce((total, p) => total + p.value * p.weight, 0);
        expect(Math.abs(sum - r.score)).toBeLessThan(1e-9);
      }
    };
    const hybrid = await query('why', { query: question, include: ['explain'] });
    check(hybrid.results, ['vector', 'keyword', 'mention', 'neighbor']);
    expect(hybrid.results[0].text).toBeUndefined(); // include lists what comes back
    const first = hybrid.results.find((r: { id: string }) => r.id === 'w1').explain;
    expect(first.mention).toEqual({ value: 1, weight: 0.3 });
    expect(first.vector.weight).toBeCloseTo(0.3, 12);
    expect(hybrid.results.find((r: { id: string }) => r.id === 'w4').explain.mention.value).toBe(0);
    check((await query('why', { query: question, include: ['explain'], hybrid: { fusion: 'rrf' } })).results, ['rrf', 'mention', 'neighbor']);
    check((await query('why', { query: question, mode: 'keyword', include: ['explain'] })).results, ['keyword']);
    check((await query('why', { query: question, mode: 'vector', include: ['explain', 'text'] })).results, ['vector']);
    const reranked = await query('why', { query: question, include: ['explain'], recency: { weight: 0.2, halfLife: 86_400 }, rank: { retention: 0.5 } });
    check(reranked.results, ['vector', 'keyword', 'mention', 'neighbor', 'recency', 'retention']);
    const many = await m.api.post('/v1/query', { namespaces: ['why'], query: question, include: ['explain'], mode: 'keyword' });
    check(many.body.results, ['keyword']);
    expect((await query('why', { query: question })).results[0].explain).toBeUndefined();
  });

  describe('hybrid ranking does not move with the caller’s metadata schema or text format', () => {
    const turns: [string, string][] = [
      ['Ann', 'I adopted a grey cat from the shelter'],
      ['Bob', 'What did you name the cat?'],
      ['Ann', 'Her name is Luna, she sleeps all day'],
      ['Bob', 'I went hiking in the Alps in May'],
      ['Ann', 'Hiking sounds great, I prefer pottery classes'],
      ['Bob', 'My bicycle needed new brakes'],
      ['Ann', 'The pottery teacher showed us how to glaze a bowl'],
      ['Bob', 'I cooked a huge pot of chili for the team'],
    ];
    const at = (i: number) => Date.UTC(2023, 4, 8 + Math.floor(i / 4), 13, 56) + i * 1000;
    const questions = ['What pet did Ann adopt?', 'Where did Bob go hiking?', 'What does Ann make in pottery class?', 'What did Bob cook?', 'What did Ann name her cat in May?'];
    const ranking = async (ns: string, question: string) => (await query(ns, { query: question, k: 8, include: ['explain'] })).results.map((r: { id: string; score: number }) => [r.id, r.score]);

    it('dates, ids, indexes and captions in metadata change no ranking; "Name: text" ranks as text with speaker metadata', async () => {
      await create('fmt-plain');
      await create('fmt-rich');
      await create('fmt-prefixed');
      await write('fmt-plain', turns.map(([speaker, text], i) => ({ id: `t${i}`, text, timestamp: at(i), metadata: { speaker, session: 1 } })));
      await write(
        'fmt-rich',
        turns.map(([speaker, text], i) => ({
          id: `t${i}`,
          text,
          timestamp: at(i),
          // Short strings that name words of the questions: none of them is who speaks.
          metadata: { speaker, session: 1, session_date: '1:56 pm on 8 May, 2023', turn_index: i, dia_id: `D1:${i + 1}`, image_caption: 'a photo of a grey cat and a pottery bowl' },
        })),
      );
      await write('fmt-prefixed', turns.map(([speaker, text], i) => ({ id: `t${i}`, text: `${speaker}: ${text}`, timestamp: at(i), metadata: { speaker, session: 1 } })));
      await create('fmt-prefixed-only');
      await write('fmt-prefixed-only', turns.map(([speaker, text], i) => ({ id: `t${i}`, text: `${speaker}: ${text}`, timestamp: at(i) })));
      const parts = async (ns: string, question: string, part: string) =>
        Object.fromEntries(
          (await query(ns, { query: question, k: 8, include: ['explain'] })).results.map((r: { id: string; explain: Record<string, { value: number }> }) => [r.id, r.explain[part]!.value]),
        );
      for (const question of questions) {
        const plain = await ranking('fmt-plain', question);
        expect(await ranking('fmt-rich', question), question).toEqual(plain);
        // The speaker in the text is the speaker in metadata: the same memories get the mention boost, and the
        // same memory comes first (the embedder sees the prefix, so the rest may differ a little).
        const prefixed = await ranking('fmt-prefixed', question);
        expect(prefixed[0][0], question).toBe(plain[0][0]);
        expect(await parts('fmt-prefixed', question, 'mention'), question).toEqual(await parts('fmt-plain', question, 'mention'));
        expect(await parts('fmt-prefixed-only', question, 'mention'), question).toEqual(await parts('fmt-plain', question, 'mention'));
      }
    });

    it('a leading "Name: " is a speaker the mention boost sees, without metadata', async () => {
      await create('fmt-text-only');
      await write('fmt-text-only', turns.map(([speaker, text], i) => ({ id: `t${i}`, text: `${speaker}: ${text}`, timestamp: at(i) })));
      const results = (await query('fmt-text-only', { query: 'Where did Ann go hiking?', include: ['explain'] })).results;
      const mention = (id: string) => results.find((r: { id: string }) => r.id === id).explain.mention.value;
      expect(mention('t4')).toBe(1); // Ann's turn
      expect(mention('t3')).toBe(0); // Bob's
      expect(results[0].id).toBe('t4');
      const off = (await query('fmt-text-only', { query: 'Where did Ann go hiking?', include: ['explain'], hybrid: { speakerPrefix: false } })).results;
      expect(off.every((r: { explain: { mention: { value: number } } }) => r.explain.mention.value === 0)).toBe(true);
      // A document's chunk that starts "Introduction: " has no speaker: "introduction" stays a topical word.
      await m.api.post('/v1/namespaces/fmt-text-only/documents', { documents: [{ id: 'guide', text: 'Introduction: glazing a bowl takes patience' }] });
      const chunk = (await query('fmt-text-only', { query: 'What does the introduction say?', include: ['explain'] })).results[0];
      expect(chunk.documentId).toBe('guide');
      expect(chunk.explain.mention.value).toBe(0);
      expect(chunk.explain.keyword.value).toBe(1);
    });

    it('tagFields, a namespace setting (at creation or by PATCH, shown by GET), says which fields name who', async () => {
      await create('owners', { hybrid: { tagFields: ['owner'] } });
      expect((await m.api.get('/v1/namespaces/owners')).body.hybrid).toEqual({ tagFields: ['owner'] });
      await write('owners', turns.map(([speaker, text], i) => ({ id: `t${i}`, text, timestamp: at(i), metadata: { owner: speaker, speaker: 'someone' } })));
      const mentionOf = async (body: object = {}) =>
        (await query('owners', { query: 'Where did Ann go hiking?', include: ['explain'], ...body })).results.find((r: { id: string }) => r.id === 't4').explain.mention.value;
      expect(await mentionOf()).toBe(1);
      // A query's own options override the namespace's.
      expect(await mentionOf({ hybrid: { tagFields: ['speaker'] } })).toBe(0);
      const patched = await m.api.call('PATCH', '/v1/namespaces/owners', { hybrid: { tagFields: ['speaker'], vectorWeight: 0.5 } });
      expect(patched.status).toBe(200);
      expect(patched.body.hybrid).toEqual({ tagFields: ['speaker'], vectorWeight: 0.5 });
      expect(await mentionOf()).toBe(0);
      const weights = (await query('owners', { query: 'Where did Ann go hiking?', include: ['explain'] })).results[0].explain;
      expect(weights.vector.weight).toBe(0.5);
      const bad = await m.api.call('PATCH', '/v1/namespaces/owners', { hybrid: { vectorWeight: 2 } });
      expect(bad.status).toBe(400);
      expect((await m.api.post('/v1/namespaces', { name: 'owners2', hybrid: { nonsense: 1 } })).status).toBe(400);
    });

    it('a question that names a time prefers memories of that time, read relative to the latest memory', async () => {
      await create('diary', { hybrid: { timeWeight: 0.5 } });
      // The same words each time: only the time can tell them apart.
      await write('diary', [
        { id: 'may', text: 'Ann baked bread', timestamp: Date.UTC(2023, 4, 14), metadata: { speaker: 'Ann' } },
        { id: 'june', text: 'Ann baked bread', timestamp: Date.UTC(2023, 5, 20), metadata: { speaker: 'Ann' } },
        { id: 'aug', text: 'Ann baked bread', timestamp: Date.UTC(2023, 7, 2), metadata: { speaker: 'Ann' } },
        { id: 'oct', text: 'Ann started a pottery class', timestamp: Date.UTC(2023, 9, 20), metadata: { speaker: 'Ann' } },
      ]);
      const top = async (question: string) => (await query('diary', { query: question, k: 4, include: ['explain'] })).results;
      const lastMay = await top('What did Ann bake last May?');
      expect(lastMay[0].id).toBe('may');
      expect(lastMay[0].explain.time).toEqual({ value: 1, weight: 0.5 });
      expect((await top('What did Ann bake in June?'))[0].id).toBe('june');
      expect((await top('What did Ann bake on 2 August 2023?'))[0].id).toBe('aug');
      // No time named: no time part. Without timeWeight, no window: the three tie, and the earliest label wins.
      expect((await top('What did Ann bake?'))[0].explain.time).toBeUndefined();
      const off = (await query('diary', { query: 'What did Ann bake in June?', k: 4, include: ['explain'], hybrid: { timeWeight: 0 } })).results;
      expect(off[0].explain.time).toBeUndefined();
      expect(off.slice(0, 3).map((r: { score: number }) => r.score)).toEqual([off[0].score, off[0].score, off[0].score]);
    });
  });

  it('one query over several namespaces merges by score and names each result’s namespace', async () => {
    await create('user-ann');
    await create('shared');
    await write('user-ann', [{ id: 'u1', text: 'Ann is allergic to peanuts' }, { id: 'u2', text: 'Ann likes jazz' }]);
    await write('shared', [{ id: 's1', text: 'The office kitchen is peanut free' }, { id: 's2', text: 'Fire drill on Friday' }]);
    for (const mode of MODES) {
      const response = await m.api.post('/v1/query', { namespaces: ['user-ann', 'shared'], query: 'peanuts allergy', mode, k: 4 });
      expect(response.status).toBe(200);
      const results = response.body.results as { id: string; namespace: string; score: number }[];
      expect(new Set(results.map((r) => r.namespace))).toEqual(new Set(['user-ann', 'shared']));
      expect(results[0]).toMatchObject({ id: 'u1', namespace: 'user-ann' });
      for (let i = 1; i < results.length; i++) expect(results[i - 1]!.score).toBeGreaterThanOrEqual(results[i]!.score);
    }
    await create('other-embedder', { embedder: null, dimensions: 64 });
    const mixed = await m.api.post('/v1/query', { namespaces: ['user-ann', 'other-embedder'], query: 'peanuts' });
    expect(mixed.status).toBe(409);
    expect(mixed.body.error.code).toBe('EMBEDDER_MISMATCH');
  });
});

it('keyword search answers the same after a restart and after its namespace was unloaded, with nothing of it on disk', async () => {
  const dataDir = tempDir();
  const texts = ['lighthouse keeper on the cliff', 'harbour master at dawn', 'the keeper of the harbour lights', 'a quiet lighthouse'];
  const ask = async (api: Running['api'], ns: string) =>
    ids((await api.post(`/v1/namespaces/${ns}/query`, { query: 'lighthouse keeper', mode: 'keyword', k: 4 })).body);
  const first = await startMembank(dataDir);
  await first.api.post('/v1/namespaces', { name: 'n' });
  await first.api.post('/v1/namespaces/n/memories', { memories: texts.map((text, i) => ({ id: `t${i}`, text })) });
  const before = await ask(first.api, 'n');
  expect(before[0]).toBe('t0');
  await first.close();
  // The keyword index is built in memory from the texts in SQLite: no file of the data directory holds it.
  expect(new Database(join(dataDir, 'membank.db'), { readonly: true }).prepare("SELECT COUNT(*) FROM sqlite_master WHERE name LIKE '%fts%'").pluck().get()).toBe(0);

  const lines: string[] = [];
  const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }));
  // A budget so small that every namespace but the one in use is unloaded.
  const second = await startMembank(dataDir, { indexMemoryMb: 1 }, {}, logger);
  try {
    expect(await ask(second.api, 'n')).toEqual(before);
    await second.api.post('/v1/namespaces', { name: 'other' });
    await second.api.post('/v1/namespaces/other/memories', { memories: [{ id: 'big', text: 'filler '.repeat(20), vector: undefined }] });
    for (let i = 0; i < 20; i++) {
      await second.api.post('/v1/namespaces/other/memories', { memories: Array.from({ length: 100 }, (_, j) => ({ text: `filler text ${i} ${j} `.repeat(20) })) });
    }
    await ask(second.api, 'other');
    expect((await second.api.get('/v1/namespaces/n')).body.index.loaded).toBe(false);
    expect(await ask(second.api, 'n')).toEqual(before);
    expect(lines.filter((l) => l.includes('"msg":"index ready"') && l.includes('"namespace":"n"')).length).toBeGreaterThanOrEqual(2);
  } finally {
    await second.close();
  }
});
