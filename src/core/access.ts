/**
 * Who may do what: API keys carry a role and namespace patterns. Pure rules; the HTTP edge applies them to
 * requests, and answers a namespace a key may not see as if it did not exist.
 */

export const ROLES = ['read', 'write', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface ApiKeyRecord {
  id: string;
  role: Role;
  /** Namespace patterns; `*` matches any run of characters. Admin keys see every namespace. */
  namespaces: string[];
  createdAt: number;
  revokedAt: number | null;
}

/** What a request may do: everything (no keys configured), or what its key allows. */
export type Access = { kind: 'open' } | { kind: 'key'; key: ApiKeyRecord };

export const OPEN_ACCESS: Access = { kind: 'open' };

const RANK: Record<Role, number> = { read: 0, write: 1, admin: 2 };

export function roleAllows(granted: Role, needed: Role): boolean {
  return RANK[granted] >= RANK[needed];
}

/** `team-a.*` matches `team-a.notes`; every other character is literal. */
export function patternMatches(pattern: string, name: string): boolean {
  const regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's');
  return regex.test(name);
}

export function canSee(access: Access, namespace: string): boolean {
  if (access.kind === 'open' || access.key.role === 'admin') return true;
  return access.key.namespaces.some((pattern) => patternMatches(pattern, namespace));
}

export function canDo(access: Access, needed: Role): boolean {
  return access.kind === 'open' || roleAllows(access.key.role, needed);
}
