/**
 * Where Chroma's tenants, databases and collections live among membank's namespaces. A collection of the
 * default tenant's default database is the namespace of the same name, so `my-docs` in Chroma is `my-docs` in
 * `GET /v1/namespaces`. A collection of any other database is the namespace `tenant..database..collection`:
 * Chroma forbids `..` in collection names, so no default collection can look like one, and an API key pattern
 * such as `acme..*` scopes a key to one tenant.
 */
import { chromaError } from './errors.js';

export const DEFAULT_TENANT = 'default_tenant';
export const DEFAULT_DATABASE = 'default_database';

/** A database's place: its tenant and name. */
export interface DatabaseRef {
  tenant: string;
  database: string;
}

/** membank namespace names are at most this long, which bounds what a prefixed collection name may be. */
const NAMESPACE_MAX = 64;
const SEPARATOR = '..';

const isDefault = (ref: DatabaseRef): boolean => ref.tenant === DEFAULT_TENANT && ref.database === DEFAULT_DATABASE;

/** Chroma's own rule for collection names (its message, word for word, so clients see what Chroma says). */
export function checkCollectionName(name: string, field = 'name'): void {
  const problems: string[] = [];
  if (!/^[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]$/.test(name)) {
    problems.push(
      `${field}: Expected a name containing 3-512 characters from [a-zA-Z0-9._-], starting and ending with a character in [a-zA-Z0-9]. Got: ${name}`,
    );
  } else if (name.includes(SEPARATOR)) {
    problems.push(`${field}: Expected a name that does not contains two consecutive periods (..). Got ${name}`);
  } else if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name) && name.split('.').every((part) => Number(part) <= 255)) {
    problems.push(`${field}: Expected a name that is not a valid ip address. Got ${name}`);
  }
  if (problems.length > 0) throw chromaError(400, 'InvalidArgumentError', `Validation error: ${problems.join('\n')}`);
}

/**
 * Tenant and database names other than the defaults become part of namespace names, so they follow the
 * collection-name alphabet (Chroma itself only asks for 3 characters or more).
 */
export function checkScopeName(kind: 'tenant' | 'database', name: string): void {
  const field = kind === 'tenant' ? 'name' : 'database_name';
  if (name.length < 3) {
    throw chromaError(400, 'InvalidArgumentError', `Validation error: ${field}: Validation error: length [{"min": Number(3), "value": String(${JSON.stringify(name)})}]`);
  }
  if (!/^[a-zA-Z0-9]([a-zA-Z0-9._-]*[a-zA-Z0-9])?$/.test(name) || name.includes(SEPARATOR)) {
    throw chromaError(
      400,
      'InvalidArgumentError',
      `Validation error: ${field}: membank keeps ${kind}s in namespace names, so a ${kind} name is letters, digits, "_", "-" and single "." (not first or last). Got: ${name}`,
    );
  }
}

/** The namespace prefix of a database's collections ('' for the default database). */
export function prefixOf(ref: DatabaseRef): string {
  return isDefault(ref) ? '' : `${ref.tenant}${SEPARATOR}${ref.database}${SEPARATOR}`;
}

/** The namespace holding a collection; refuses a name that would not fit in a namespace name. */
export function namespaceOf(ref: DatabaseRef, collection: string): string {
  const name = prefixOf(ref) + collection;
  if (name.length > NAMESPACE_MAX) {
    throw chromaError(
      400,
      'InvalidArgumentError',
      `membank keeps a collection as a namespace, whose name is at most ${NAMESPACE_MAX} characters; "${name}" has ${name.length}.`,
    );
  }
  return name;
}

/** The database and collection name a namespace stands for. */
export function collectionOf(namespace: string): DatabaseRef & { name: string } {
  const parts = namespace.split(SEPARATOR);
  if (parts.length === 3 && parts.every((p) => p.length > 0)) return { tenant: parts[0]!, database: parts[1]!, name: parts[2]! };
  return { tenant: DEFAULT_TENANT, database: DEFAULT_DATABASE, name: namespace };
}

export const sameDatabase = (a: DatabaseRef, b: DatabaseRef): boolean => a.tenant === b.tenant && a.database === b.database;
