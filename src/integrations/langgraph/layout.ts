/**
 * How LangGraph items live in one membank namespace.
 *
 * An item `(namespace tuple, key)` is the memory with id `label1.label2:key` (labels cannot hold "." or ":", so
 * the first ":" ends the tuple); an id over membank's 256 characters, or holding control characters, becomes
 * `.h:<sha-256 of it>` (no label starts with "."). Its metadata is `{langgraph: {...}, value}`: the value as
 * given, and under `langgraph` the tuple (`namespace`, `path`: its labels joined by ".", for listing the
 * namespaces from the field's distinct values and for filters on one namespace, and `l0`, `l1`… one label each,
 * for prefix filters), the `key`, the item's id (`item`), `part`, `indexed` and the write's `gen`eration.
 *
 * An item whose value yields several texts to embed (several `fields`, or `[*]` paths) has one memory per text:
 * part 0 is the item itself, parts 1… are `.p<i>:<item id>` with the same metadata, and a search keeps each
 * item's best part, as InMemoryStore keeps each item's best vector. An item with no text to embed (`index:
 * false`) is stored with a placeholder vector and `indexed: false`, so that searches with a query never meet it.
 */
import type { Memory, Where } from '../../client/index.js';

export const META = 'langgraph';
/** The metadata path of an item's namespace path (its labels joined by "."). */
export const PATH_FIELD = `${META}.path`;

export interface ItemMeta {
  namespace: string[];
  path: string;
  key: string;
  item: string;
  part: number;
  indexed: boolean;
  gen: string;
  [label: `l${number}`]: string;
}

/** What an item is read from: a listed memory, or a query result with its metadata. */
export type ItemSource = Pick<Memory, 'id' | 'createdAt' | 'updatedAt'> & { metadata?: Memory['metadata'] };

export interface StoredItem {
  memory: ItemSource;
  meta: ItemMeta;
  value: Record<string, unknown>;
}

const MAX_ID = 256;
const usable = (id: string) => id.length <= MAX_ID && !/\p{Cc}/u.test(id);

async function sha256(text: string): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

const fit = async (id: string) => (usable(id) ? id : `.h:${await sha256(id)}`);

export const itemId = (namespace: string[], key: string): Promise<string> => fit(`${namespace.join('.')}:${key}`);
export const partId = (item: string, part: number): Promise<string> => fit(`.p${part}:${item}`);

export const pathOf = (namespace: string[]): string => namespace.join('.');

/** Whether a namespace (as its path) lies under a prefix: the prefix itself or below it, as LangGraph matches them. */
export const isUnder = (prefix: string[], path: string): boolean => {
  const head = pathOf(prefix);
  return prefix.length === 0 || path === head || path.startsWith(`${head}.`);
};

export function itemMeta(namespace: string[], key: string, item: string, part: number, indexed: boolean, gen: string): ItemMeta {
  const meta: ItemMeta = { namespace, path: pathOf(namespace), key, item, part, indexed, gen };
  namespace.forEach((label, i) => (meta[`l${i}`] = label));
  return meta;
}

/** The clauses selecting items under a namespace prefix. */
export const prefixClauses = (prefix: string[]): Where[] => prefix.map((label, i) => ({ [`${META}.l${i}`]: label }));

/** A memory as a stored item, or undefined for a memory that is not one (another writer's, or a part). */
export function readItem(memory: ItemSource, parts: 'items' | 'any' = 'items'): StoredItem | undefined {
  const meta = memory.metadata?.[META] as ItemMeta | undefined;
  if (typeof meta !== 'object' || meta === null || !Array.isArray(meta.namespace)) return undefined;
  if (parts === 'items' && meta.part !== 0) return undefined;
  return { memory, meta, value: (memory.metadata?.value ?? {}) as Record<string, unknown> };
}

/** A vector for memories that must never be found by a vector search (they carry `indexed: false`). */
export const placeholder = (dimensions: number): number[] => Array.from({ length: dimensions }, (_, i) => (i === 0 ? 1 : 0));
