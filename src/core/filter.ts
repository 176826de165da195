/**
 * Metadata filters in Chroma's `Where` language, parsed into a small tree that adapters compile (the SQLite
 * store to parameterized SQL) and that `matchesFilter` evaluates in memory.
 *
 * @example
 * { "speaker": "Caroline" }                                  // equality
 * { "year": { "$gte": 2020 }, "tag": { "$in": ["a", "b"] } }  // several fields: all must hold
 * { "$or": [ { "pinned": true }, { "score": { "$gt": 0.5 } } ] }
 *
 * Semantics: a field is a metadata key, or a dotted path into nested objects (`user.id`). Comparisons are typed:
 * "5" never equals 5. `$gt/$gte/$lt/$lte` take numbers. `$ne` and `$nin` also match memories that lack the field.
 */
import { fail, ok, type Result } from './errors.js';
import type { Metadata, MetadataValue } from './types.js';

export type Scalar = string | number | boolean;
export type CompareOp = '$eq' | '$ne' | '$gt' | '$gte' | '$lt' | '$lte';
export type ListOp = '$in' | '$nin';

export type FilterNode =
  | { kind: 'and'; children: FilterNode[] }
  | { kind: 'or'; children: FilterNode[] }
  | { kind: 'compare'; path: string[]; op: CompareOp; value: Scalar }
  | { kind: 'list'; path: string[]; op: ListOp; values: Scalar[] };

export const FILTER_LIMITS = { maxDepth: 8, maxClauses: 128, maxListValues: 1000, maxFieldLength: 128 } as const;

const FIELD = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const COMPARE_OPS = new Set<string>(['$eq', '$ne', '$gt', '$gte', '$lt', '$lte']);
const ORDER_OPS = new Set<string>(['$gt', '$gte', '$lt', '$lte']);
const LIST_OPS = new Set<string>(['$in', '$nin']);

const isScalar = (v: unknown): v is Scalar =>
  typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

class FilterError extends Error {}

/** Parses a `Where` object into a FilterNode, or says precisely what is wrong with it. */
export function parseFilter(input: unknown): Result<FilterNode> {
  let clauses = 0;
  const count = (): void => {
    if (++clauses > FILTER_LIMITS.maxClauses) {
      throw new FilterError(`A filter may have at most ${FILTER_LIMITS.maxClauses} clauses.`);
    }
  };

  const parseWhere = (where: unknown, at: string, depth: number): FilterNode => {
    if (depth > FILTER_LIMITS.maxDepth) throw new FilterError(`${at}: filters nest at most ${FILTER_LIMITS.maxDepth} deep.`);
    if (!isPlainObject(where)) throw new FilterError(`${at}: expected an object, got ${describe(where)}.`);
    const keys = Object.keys(where);
    if (keys.length === 0) throw new FilterError(`${at}: an empty filter matches nothing useful; omit it instead.`);
    const children = keys.map((key) => parseEntry(key, where[key], `${at}.${key}`, depth));
    return children.length === 1 ? children[0]! : { kind: 'and', children };
  };

  const parseEntry = (key: string, value: unknown, at: string, depth: number): FilterNode => {
    if (key === '$and' || key === '$or') {
      if (!Array.isArray(value) || value.length === 0) {
        throw new FilterError(`${at}: expected a non-empty array of filters.`);
      }
      const children = value.map((child, i) => parseWhere(child, `${at}[${i}]`, depth + 1));
      return { kind: key === '$and' ? 'and' : 'or', children };
    }
    if (key.startsWith('$')) throw new FilterError(`${at}: unknown operator ${key} (expected $and or $or here).`);
    if (key.length > FILTER_LIMITS.maxFieldLength || !FIELD.test(key)) {
      throw new FilterError(
        `${at}: field names are letters, digits, '_' and '-', dot-separated for nesting, at most ${FILTER_LIMITS.maxFieldLength} characters.`,
      );
    }
    const path = key.split('.');
    count();
    if (isScalar(value)) return { kind: 'compare', path, op: '$eq', value };
    if (!isPlainObject(value)) throw new FilterError(`${at}: expected a string, number, boolean or operator object, got ${describe(value)}.`);
    const ops = Object.keys(value);
    if (ops.length !== 1) throw new FilterError(`${at}: an operator object takes exactly one operator, got ${ops.length}.`);
    const op = ops[0]!;
    const operand = value[op];
    if (COMPARE_OPS.has(op)) {
      if (ORDER_OPS.has(op)) {
        if (typeof operand !== 'number' || !Number.isFinite(operand)) {
          throw new FilterError(`${at}.${op}: expected a finite number, got ${describe(operand)}.`);
        }
      } else if (!isScalar(operand)) {
        throw new FilterError(`${at}.${op}: expected a string, number or boolean, got ${describe(operand)}.`);
      }
      return { kind: 'compare', path, op: op as CompareOp, value: operand as Scalar };
    }
    if (LIST_OPS.has(op)) {
      if (!Array.isArray(operand) || operand.length === 0 || operand.length > FILTER_LIMITS.maxListValues) {
        throw new FilterError(`${at}.${op}: expected an array of 1 to ${FILTER_LIMITS.maxListValues} values.`);
      }
      const bad = operand.findIndex((v) => !isScalar(v));
      if (bad >= 0) throw new FilterError(`${at}.${op}[${bad}]: expected a string, number or boolean.`);
      return { kind: 'list', path, op: op as ListOp, values: operand as Scalar[] };
    }
    throw new FilterError(`${at}: unknown operator ${op} (expected one of $eq $ne $gt $gte $lt $lte $in $nin).`);
  };

  try {
    return ok(parseWhere(input, 'filter', 1));
  } catch (error) {
    if (error instanceof FilterError) return fail('VALIDATION_FAILED', error.message, { path: 'filter' });
    throw error;
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return typeof value;
}

function lookup(metadata: Metadata, path: string[]): MetadataValue | undefined {
  let current: MetadataValue | undefined = metadata;
  for (const segment of path) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = Object.hasOwn(current, segment) ? current[segment] : undefined;
  }
  return current;
}

const sameScalar = (a: MetadataValue | undefined, b: Scalar): boolean => typeof a === typeof b && a === b;

/** Evaluates a filter against one memory's metadata, with the same semantics as the SQL compilation. */
export function matchesFilter(node: FilterNode, metadata: Metadata): boolean {
  switch (node.kind) {
    case 'and':
      return node.children.every((child) => matchesFilter(child, metadata));
    case 'or':
      return node.children.some((child) => matchesFilter(child, metadata));
    case 'list': {
      const value = lookup(metadata, node.path);
      const found = node.values.some((candidate) => sameScalar(value, candidate));
      return node.op === '$in' ? found : !found;
    }
    case 'compare': {
      const value = lookup(metadata, node.path);
      switch (node.op) {
        case '$eq':
          return sameScalar(value, node.value);
        case '$ne':
          return !sameScalar(value, node.value);
        default: {
          if (typeof value !== 'number') return false;
          const operand = node.value as number;
          if (node.op === '$gt') return value > operand;
          if (node.op === '$gte') return value >= operand;
          if (node.op === '$lt') return value < operand;
          return value <= operand;
        }
      }
    }
  }
}
