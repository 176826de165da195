/**
 * API keys: `mbk_<id>_<secret>`, 192 random bits of secret. Only a SHA-256 of the whole key is stored (a slow
 * password hash buys nothing for random keys of this length); the key itself is shown once, at creation.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ApiKeyRecord, Role } from '../core/access.js';
import { MembankError } from '../core/errors.js';
import type { KeyStore } from '../ports/key-store.js';

const KEY_FORMAT = /^mbk_([0-9a-f]{12})_([A-Za-z0-9_-]{32})$/;

export const hashKey = (key: string): string => createHash('sha256').update(key).digest('hex');

export function createKeyService(keys: KeyStore, clock: () => number = Date.now) {
  return {
    async create(input: { role: Role; namespaces: string[] }): Promise<{ key: string; record: ApiKeyRecord }> {
      if (input.role !== 'admin' && input.namespaces.length === 0) {
        throw new MembankError('VALIDATION_FAILED', 'A read or write key needs at least one namespace pattern.', { path: 'namespaces' });
      }
      const id = randomBytes(6).toString('hex');
      const key = `mbk_${id}_${randomBytes(24).toString('base64url')}`;
      const record: ApiKeyRecord = { id, role: input.role, namespaces: input.namespaces, createdAt: clock(), revokedAt: null };
      await keys.insert(record, hashKey(key));
      return { key, record };
    },

    /** The valid key a bearer token names, or undefined. */
    async verify(token: string): Promise<ApiKeyRecord | undefined> {
      // Looked up by its hash: what an attacker can time is a B-tree search for a hash they cannot steer.
      return KEY_FORMAT.test(token) ? keys.byHash(hashKey(token)) : undefined;
    },

    list: (): Promise<ApiKeyRecord[]> => keys.list(),

    async revoke(id: string): Promise<void> {
      if (!(await keys.revoke(id, clock()))) throw new MembankError('KEY_NOT_FOUND', `No valid key with id "${id}".`);
    },

    anyCreated: (): Promise<boolean> => keys.anyCreated(),
  };
}

export type KeyService = ReturnType<typeof createKeyService>;
