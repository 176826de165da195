/** The port for API keys, beside the memories of the Store. */
import type { ApiKeyRecord } from '../core/access.js';

export interface KeyStore {
  insert(key: ApiKeyRecord, hash: string): Promise<void>;
  /** The valid (not revoked) key with this hash. */
  byHash(hash: string): Promise<ApiKeyRecord | undefined>;
  list(): Promise<ApiKeyRecord[]>;
  /** Revokes a key; false when no valid key has that id. */
  revoke(id: string, at: number): Promise<boolean>;
  /**
   * Whether any key was ever created, revoked or not: then every route but /healthz needs a valid one.
   * (Revoking the last key must lock the service, not open it.)
   */
  anyCreated(): Promise<boolean>;
}
