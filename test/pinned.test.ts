/**
 * Pinned memories against a real server with a clock the tests move: never forgotten by retention or a
 * policy (an expiry still applies), changed by PATCH, and first in /context within pinnedShare of the budget.
 */
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Running, startMembank } from './helpers.js';

const DAY = 86_400_000;

describe('pinned memories', () => {
  let m: Running;
  let clock = Date.UTC(2026, 0, 1);
  beforeAll(async () => {
    m = await startMembank(undefined, {}, { clock: () => clock });
  });
  afterAll(() => m.close());

  const ok = async (method: string, path: string, body?: unknown) => {
    const response = await m.api.call(method, path, body);
    expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBeLessThan(300);
    return response.body;
  };
  const ids = async (ns: string) => ((await ok('GET', `/v1/namespaces/${ns}/memories`)).memories as { id: string }[]).map((x) => x.id).sort();

  it('survives retention and policy runs, goes when it expires, and PATCH pins or unpins', async () => {
    await ok('POST', '/v1/namespaces', { name: 'keep', forgetting: { enabled: true, timescale: 86_400, threshold: 0.05 } });
    await ok('POST', '/v1/namespaces/keep/memories', {
      memories: [
        { id: 'name', text: 'The user is called Ann.', pinned: true },
        { id: 'plain', text: 'It rained on Tuesday.' },
        { id: 'brief', text: 'The parcel arrives today.', pinned: true, ttl: 3600 },
        { id: 'later', text: 'Pin me later.' },
      ],
    });
    expect((await ok('GET', '/v1/namespaces/keep/memories/name')).pinned).toBe(true);
    expect((await ok('GET', '/v1/namespaces/keep/memories/plain')).pinned).toBe(false);
    const patched = await ok('PATCH', '/v1/namespaces/keep/memories/later', { pinned: true });
    expect(patched.pinned).toBe(true);
    clock += 30 * DAY;
    const run = await ok('POST', '/v1/namespaces/keep/forget', { retentionBelow: 0.5 });
    // The faded plain memory goes; so does the pinned one whose expiry passed (as expired): TTL still applies.
    expect(run).toMatchObject({ forgotten: 1, expired: 1 });
    expect(await ids('keep')).toEqual(['later', 'name']);
    // A policy with neither reason selects any memory, never a pinned one.
    expect((await ok('POST', '/v1/namespaces/keep/forget', { olderThan: clock + 1 })).forgotten).toBe(0);
    await ok('PATCH', '/v1/namespaces/keep/memories/later', { pinned: false });
    expect((await ok('POST', '/v1/namespaces/keep/forget', { retentionBelow: 0.5 })).forgotten).toBe(1);
    expect(await ids('keep')).toEqual(['name']);
    // Erase means erase, pinned or not.
    expect((await ok('POST', '/v1/namespaces/keep/memories/delete', { ids: ['name'] })).deleted).toBe(1);
  });

  it('/context puts pinned memories first, within pinnedShare of the budget, before the query’s results', async () => {
    await ok('POST', '/v1/namespaces', { name: 'ctx' });
    const pinned = Array.from({ length: 30 }, (_, i) => ({ id: `p${i}`, text: `Standing preference number ${i}: the user wants answers in British English.`, pinned: true }));
    await ok('POST', '/v1/namespaces/ctx/memories', {
      memories: [...pinned, { id: 'q', text: 'The user parked the car on level 3.' }, { id: 'r', text: 'The user bought oat milk.' }],
    });
    const body = await ok('POST', '/v1/namespaces/ctx/context', { query: 'Where did I park?', maxTokens: 300, k: 2 });
    expect(body.context.startsWith('Pinned memories:\n- ')).toBe(true);
    const [pinnedPart, rest] = body.context.split('\nRelevant memories:\n');
    expect(rest).toContain('parked the car on level 3');
    expect(countTokens(pinnedPart)).toBeLessThanOrEqual(0.3 * 300);
    const pinnedShown = body.memories.filter((x: { pinned: boolean }) => x.pinned);
    expect(pinnedShown.length).toBeGreaterThan(0);
    expect(pinnedShown.length).toBeLessThan(30);
    expect(body.memories.slice(0, pinnedShown.length).every((x: { pinned: boolean }) => x.pinned)).toBe(true);
    expect(body.tokens).toBeLessThanOrEqual(300);
    // A larger share fits more; none leaves them out.
    const wide = await ok('POST', '/v1/namespaces/ctx/context', { query: 'Where did I park?', maxTokens: 300, k: 2, pinnedShare: 0.6 });
    expect(wide.memories.filter((x: { pinned: boolean }) => x.pinned).length).toBeGreaterThan(pinnedShown.length);
    const none = await ok('POST', '/v1/namespaces/ctx/context', { query: 'Where did I park?', maxTokens: 300, k: 2, pinnedShare: 0 });
    expect(none.context).not.toContain('Pinned memories:');
    expect((await m.api.post('/v1/namespaces/ctx/context', { query: 'x', maxTokens: 300, pinnedShare: 2 })).status).toBe(400);
  });
});
