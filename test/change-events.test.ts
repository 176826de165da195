/** The service tells listeners about every committed change, after the commit. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../src/service/memory-service.js';
import { type Running, startMembank } from './helpers.js';

describe('onChange', () => {
  let running: Running;
  const events: ChangeEvent[] = [];
  beforeAll(async () => {
    running = await startMembank();
    running.membank.service.onChange((event) => events.push(event));
  });
  afterAll(() => running.close());

  it('reports namespace and memory changes in commit order, and nothing for refused writes', async () => {
    const { api } = running;
    expect((await api.post('/v1/namespaces', { name: 'ev' })).status).toBe(201);
    expect((await api.post('/v1/namespaces/ev/memories', { memories: [{ id: 'a', text: 'one' }, { id: 'b', text: 'two' }] })).status).toBe(201);
    expect((await api.post('/v1/namespaces/ev/memories', { memories: [{ vector: [1, 2] }] })).status).toBe(400);
    expect((await api.del('/v1/namespaces/ev/memories/a')).status).toBe(204);
    expect((await api.call('PATCH', '/v1/namespaces/ev', { forgetting: { enabled: true } })).status).toBe(200);
    expect((await api.del('/v1/namespaces/ev')).status).toBe(204);
    expect(events).toEqual([
      { kind: 'namespace', namespace: 'ev', op: 'created' },
      { kind: 'memories', namespace: 'ev', op: 'written', ids: ['a', 'b'], seq: 2 },
      { kind: 'memories', namespace: 'ev', op: 'deleted', ids: ['a'], seq: 3 },
      { kind: 'namespace', namespace: 'ev', op: 'updated' },
      { kind: 'namespace', namespace: 'ev', op: 'deleted' },
    ]);
  });
});
