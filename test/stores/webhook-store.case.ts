/** One suite, every WebhookStore implementation: records, cursors that start once, due cursors, outcomes. */
import { describe, expect, it } from 'vitest';
import type { WebhookRecord, WebhookStore } from '../../src/ports/webhook-store.js';

export interface WebhookStoreHarness {
  webhooks: WebhookStore;
  /** A namespace id, and a way to move its change head (as writes would). */
  namespaceId: number;
  setHead(seq: number): Promise<void>;
  close(): Promise<void>;
}

const hook = (id: string): WebhookRecord => ({
  id,
  url: 'https://example.com/hook',
  namespaces: ['team-*'],
  events: ['created', 'deleted'],
  secret: 'sixteen-chars-at-least',
  createdAt: 1_700_000_000_000,
});

export function webhookStoreSuite(name: string, open: () => Promise<WebhookStoreHarness>): void {
  describe(`WebhookStore: ${name}`, () => {
    const withStore = (test: (h: WebhookStoreHarness) => Promise<void>) => async () => {
      const harness = await open();
      try {
        await test(harness);
      } finally {
        await harness.close();
      }
    };

    it(
      'keeps webhooks with every field, and deletes them with their cursors',
      withStore(async ({ webhooks, namespaceId }) => {
        await webhooks.insert(hook('aaaaaaaaaaaaaaaa'));
        await webhooks.insert(hook('bbbbbbbbbbbbbbbb'));
        expect(await webhooks.get('aaaaaaaaaaaaaaaa')).toEqual(hook('aaaaaaaaaaaaaaaa'));
        expect((await webhooks.list()).map((h) => h.id)).toEqual(['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb']);
        await webhooks.startCursor('aaaaaaaaaaaaaaaa', namespaceId, 0);
        expect(await webhooks.delete('aaaaaaaaaaaaaaaa')).toBe(true);
        expect(await webhooks.delete('aaaaaaaaaaaaaaaa')).toBe(false);
        expect(await webhooks.get('aaaaaaaaaaaaaaaa')).toBeUndefined();
        expect(await webhooks.cursors('aaaaaaaaaaaaaaaa')).toEqual([]);
      }),
    );

    it(
      'starts a cursor once, answers it due while the head is past it and its time came, and records outcomes',
      withStore(async ({ webhooks, namespaceId, setHead }) => {
        const id = 'cccccccccccccccc';
        await webhooks.insert(hook(id));
        await webhooks.startCursor(id, namespaceId, 3);
        await webhooks.startCursor(id, namespaceId, 0);
        expect(await webhooks.cursors(id)).toEqual([
          { webhookId: id, namespaceId, deliveredSeq: 3, attempts: 0, nextAt: 0, lastAttemptAt: null, lastError: null },
        ]);
        await setHead(3);
        expect(await webhooks.due(1000, 10)).toEqual([]);
        await setHead(5);
        const [due] = await webhooks.due(1000, 10);
        expect(due!.deliveredSeq).toBe(3);
        // One claimer wins; the cursor is not due while claimed, and a claim of a cursor that moved on fails.
        expect(await webhooks.claim(due!, 1000, 1500)).toBe(true);
        expect(await webhooks.claim(due!, 1000, 1500)).toBe(false);
        expect(await webhooks.due(1499, 10)).toEqual([]);
        expect(await webhooks.claim({ ...due!, deliveredSeq: 2 }, 1500, 1600)).toBe(false);
        expect(await webhooks.failed(id, namespaceId, 'answered 500', 1000, 2000)).toBe(1);
        expect(await webhooks.failed(id, namespaceId, 'timeout', 2000, 4000)).toBe(2);
        expect(await webhooks.due(3999, 10)).toEqual([]);
        expect(await webhooks.due(4000, 10)).toMatchObject([{ attempts: 2, nextAt: 4000, lastAttemptAt: 2000, lastError: 'timeout' }]);
        await webhooks.delivered(id, namespaceId, 5, 4100);
        expect(await webhooks.cursors(id)).toEqual([
          { webhookId: id, namespaceId, deliveredSeq: 5, attempts: 0, nextAt: 0, lastAttemptAt: 4100, lastError: null },
        ]);
        expect(await webhooks.due(5000, 10)).toEqual([]);
        // Never backwards (a late, repeated success).
        await webhooks.delivered(id, namespaceId, 4, 4200);
        expect((await webhooks.cursors(id))[0]!.deliveredSeq).toBe(5);
      }),
    );
  });
}
