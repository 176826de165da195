/**
 * Which subscribed resources hear of a change: the service's change feed names every memory a change touched
 * (deletes by filter, erases and forgetting runs included), so a subscription to one memory is told of exactly
 * the changes to it; over REST, this process's own erase by ids is as precise. Also: memory-id completions that
 * looked at only part of a namespace say so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MembankClient } from '../src/client/index.js';
import { ID_SCAN_LIMIT, complete } from '../src/mcp/completions.js';
import { inProcessOps, type MembankOps, withOwnEvents } from '../src/mcp/ops.js';
import { uriOf } from '../src/mcp/resources.js';
import { createResourceHub } from '../src/mcp/subscriptions.js';
import { type Running, startMembank } from './helpers.js';

let m: Running;
beforeAll(async () => {
  m = await startMembank();
});
afterAll(() => m.close());

const memoryUri = (namespace: string, id: string) => uriOf({ kind: 'memory', namespace, id });
const settle = () => new Promise((resolve) => setTimeout(resolve, 120));

/** A hub over `ops` with one session subscribed to each of `ids` in `namespace`; `told` lists what it heard. */
async function watch(ops: MembankOps, namespace: string, ids: string[]) {
  const told: string[] = [];
  const hub = createResourceHub({ ops, throttleMs: 20, pollMs: 3_600_000 });
  const session = hub.attach({ namespace, canSee: () => true, updated: (uri) => told.push(uri), listChanged: () => {}, forgetRun: () => {} });
  for (const id of ids) await session.subscribe(memoryUri(namespace, id));
  return { told, close: () => session.close() };
}

async function seed(ops: MembankOps, namespace: string): Promise<void> {
  await ops.createNamespace({ name: namespace });
  await ops.writeMemories(namespace, [
    { id: 'ann-1', text: 'ann likes green tea', metadata: { user: 'ann' } },
    { id: 'bob-1', text: 'bob runs at dawn', metadata: { user: 'bob' } },
    { id: 'bob-2', text: 'bob plays the cello', metadata: { user: 'bob' } },
    { id: 'cat-1', text: 'the cat sleeps all day', metadata: { user: 'cat' } },
  ]);
}

describe('resources/updated after changes the service names', () => {
  it('an erase by filter, a delete by text filter and a forgetting run tell only the memories they removed', async () => {
    const { service, facts, context } = m.membank;
    const ops = inProcessOps({ service, facts, context });
    await seed(ops, 'precise');
    const { told, close } = await watch(ops, 'precise', ['ann-1', 'bob-1', 'cat-1']);

    expect(await ops.erase('precise', { user: 'bob' })).toBe(2);
    await settle();
    expect(told).toEqual([memoryUri('precise', 'bob-1')]);

    told.length = 0;
    await service.deleteMatching('precise', { textFilter: { kind: 'contains', text: 'cat', negate: false } });
    await settle();
    expect(told).toEqual([memoryUri('precise', 'cat-1')]);

    told.length = 0;
    expect((await ops.forget('precise', { filter: { user: 'ann' } })).forgotten).toBe(1);
    await settle();
    expect(told).toEqual([memoryUri('precise', 'ann-1')]);
    close();
  });

  it("over REST, this process's own erase by ids tells those memories; one by a filter, every subscribed one", async () => {
    const ops = withOwnEvents(new MembankClient({ url: m.url }));
    await seed(ops, 'precise-rest');
    const { told, close } = await watch(ops, 'precise-rest', ['ann-1', 'bob-1', 'cat-1']);

    expect(await ops.erase('precise-rest', { ids: ['bob-1', 'nope'] })).toBe(1);
    await settle();
    expect(told).toEqual([memoryUri('precise-rest', 'bob-1')]);

    told.length = 0;
    expect(await ops.erase('precise-rest', { user: 'cat' })).toBe(1);
    await settle();
    expect(told.sort()).toEqual(['ann-1', 'bob-1', 'cat-1'].map((id) => memoryUri('precise-rest', id)));
    close();
  });
});

describe('memory-id completion', () => {
  it('says hasMore and gives no total when it looked at only the first memories', async () => {
    const { service, facts, context } = m.membank;
    const ops = inProcessOps({ service, facts, context });
    await ops.createNamespace({ name: 'many-ids' });
    const total = ID_SCAN_LIMIT + 10;
    for (let start = 0; start < total; start += 1000) {
      const size = Math.min(1000, total - start);
      await ops.writeMemories('many-ids', Array.from({ length: size }, (_, i) => ({ id: `n${start + i}`, text: `note ${start + i}` })));
    }
    const scope = { ops, namespace: 'many-ids', canSee: () => true, promptNamespaceArgs: {} };
    const ref = { type: 'ref/resource' as const, uri: 'membank://namespaces/{namespace}/memories/{id}' };
    // Only the last ten match, and they lie past the scan.
    const cut = await complete(scope, { ref, argument: { name: 'id', value: `n${ID_SCAN_LIMIT}` } });
    expect(cut.completion).toEqual({ values: [], hasMore: true });
    const few = await complete(scope, { ref, argument: { name: 'id', value: 'n1999' } });
    expect(few.completion).toMatchObject({ values: ['n1999'], hasMore: true });
    expect(few.completion.total).toBeUndefined();

    await ops.createNamespace({ name: 'few-ids' });
    await ops.writeMemories('few-ids', [{ id: 'x1', text: 'a' }, { id: 'x2', text: 'b' }, { id: 'y1', text: 'c' }]);
    const whole = await complete({ ...scope, namespace: 'few-ids' }, { ref, argument: { name: 'id', value: 'x' } });
    expect(whole.completion).toEqual({ values: ['x1', 'x2'], total: 2, hasMore: false });
  });
});
