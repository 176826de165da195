/** One suite, every KeyStore implementation (SQLite, PostgreSQL): lookup by hash, listing, revocation. */
import { describe, expect, it } from 'vitest';
import type { ApiKeyRecord } from '../../src/core/access.js';
import type { KeyStore } from '../../src/ports/key-store.js';

export interface KeyStoreHarness {
  keys: KeyStore;
  /** The same database through another connection, as another node would see it. */
  other: KeyStore;
  close(): Promise<void>;
}

const key = (id: string, extra: Partial<ApiKeyRecord> = {}): ApiKeyRecord => ({
  id,
  role: 'write',
  namespaces: ['team-a.*', 'notes'],
  createdAt: 1_700_000_000_000,
  revokedAt: null,
  ...extra,
});

export function keyStoreSuite(name: string, open: () => Promise<KeyStoreHarness>): void {
  describe(`KeyStore: ${name}`, () => {
    const withStore = (test: (h: KeyStoreHarness) => Promise<void>) => async () => {
      const harness = await open();
      try {
        await test(harness);
      } finally {
        await harness.close();
      }
    };

    it(
      'finds a key by its hash, with every field',
      withStore(async ({ keys }) => {
        expect(await keys.anyCreated()).toBe(false);
        expect(await keys.list()).toEqual([]);
        await keys.insert(key('k1'), 'hash-1');
        await keys.insert(key('k2', { role: 'admin', namespaces: [] }), 'hash-2');
        expect(await keys.byHash('hash-1')).toEqual(key('k1'));
        expect(await keys.byHash('hash-2')).toEqual(key('k2', { role: 'admin', namespaces: [] }));
        expect(await keys.byHash('hash-3')).toBeUndefined();
        expect(await keys.anyCreated()).toBe(true);
      }),
    );

    it(
      'lists keys by creation time, then id in byte order',
      withStore(async ({ keys }) => {
        await keys.insert(key('b', { createdAt: 2 }), 'h-b');
        await keys.insert(key('a', { createdAt: 2 }), 'h-a');
        await keys.insert(key('Z', { createdAt: 2 }), 'h-Z');
        await keys.insert(key('c', { createdAt: 1, role: 'read' }), 'h-c');
        expect((await keys.list()).map((k) => k.id)).toEqual(['c', 'Z', 'a', 'b']);
      }),
    );

    it(
      'revokes once; a revoked key is listed but no longer found, and the service stays locked',
      withStore(async ({ keys, other }) => {
        await keys.insert(key('k1'), 'hash-1');
        expect(await other.byHash('hash-1')).toMatchObject({ id: 'k1' });
        expect(await keys.revoke('k1', 1_800_000_000_000)).toBe(true);
        expect(await keys.revoke('k1', 1_900_000_000_000)).toBe(false);
        expect(await keys.revoke('nope', 1_900_000_000_000)).toBe(false);
        // Seen through the other connection at once.
        expect(await other.byHash('hash-1')).toBeUndefined();
        expect(await other.list()).toEqual([key('k1', { revokedAt: 1_800_000_000_000 })]);
        // Revoking the last key must not open the service.
        expect(await other.anyCreated()).toBe(true);
      }),
    );

    it(
      'refuses a second key with the same id or hash',
      withStore(async ({ keys }) => {
        await keys.insert(key('k1'), 'hash-1');
        await expect(keys.insert(key('k1'), 'hash-9')).rejects.toThrow();
        await expect(keys.insert(key('k9'), 'hash-1')).rejects.toThrow();
        expect((await keys.list()).map((k) => k.id)).toEqual(['k1']);
      }),
    );
  });
}
