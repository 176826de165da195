/**
 * The key stores index a memory's text by for deduplication: SHA-256 of its normalized text (see
 * core/normalize.ts), 128 bits in hex. A store still compares the normalized texts of a key's matches.
 */
import { createHash } from 'node:crypto';
import { normalizeText } from '../core/normalize.js';

export function textKey(text: string | null): string | null {
  if (text === null) return null;
  return createHash('sha256').update(normalizeText(text)).digest('hex').slice(0, 32);
}
