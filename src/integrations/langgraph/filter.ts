/**
 * LangGraph's store filters (`{field: value}` or `{field: {$eq|$ne|$gt|$gte|$lt|$lte|$in|$nin: …}}` on an item's
 * top-level value fields) as membank `Where` clauses on the stored item, and a matcher with membank's own
 * semantics for the listings that are filtered here rather than on the server.
 */
import { MembankError, type Where, type WhereScalar } from '../../client/index.js';

/** A value field membank can address: one metadata path segment (dots would read as nesting). */
const FIELD = /^[A-Za-z0-9_-]{1,100}$/;
const ORDER_OPS = new Set(['$gt', '$gte', '$lt', '$lte']);
const OPS = new Set(['$eq', '$ne', '$in', '$nin', ...ORDER_OPS]);

const isScalar = (v: unknown): v is WhereScalar =>
  typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

const refuse = (message: string): never => {
  throw new MembankError(0, 'VALIDATION_FAILED', message);
};

/** Stands for a filter no item can match (`$in: []`), which membank's language has no literal for. */
export const NOTHING = Symbol('nothing');

/**
 * The clauses of a LangGraph filter on `value.<field>`, or NOTHING. Several operators on one field become
 * several clauses (membank takes one operator per object).
 */
export function translateFilter(filter: Record<string, unknown> | undefined): Where[] | typeof NOTHING {
  const clauses: Where[] = [];
  for (const [field, condition] of Object.entries(filter ?? {})) {
    if (!FIELD.test(field)) {
      refuse(`Filter field "${field}" cannot be searched by membank: fields are top-level value keys of letters, digits, "_" and "-".`);
    }
    const path = `value.${field}`;
    if (isScalar(condition)) {
      clauses.push({ [path]: condition });
      continue;
    }
    if (typeof condition !== 'object' || condition === null || Array.isArray(condition) || Object.keys(condition).length === 0) {
      refuse(`Filter field "${field}": expected a string, number, boolean or operator object, got ${JSON.stringify(condition)}.`);
    }
    for (const [op, operand] of Object.entries(condition as Record<string, unknown>)) {
      if (!OPS.has(op)) refuse(`Filter field "${field}": unknown operator ${op} (expected one of ${[...OPS].join(' ')}).`);
      if (ORDER_OPS.has(op)) {
        if (typeof operand !== 'number' || !Number.isFinite(operand)) refuse(`Filter field "${field}": ${op} takes a number, got ${JSON.stringify(operand)}.`);
        clauses.push({ [path]: { [op]: operand } as Where[string] });
      } else if (op === '$in' || op === '$nin') {
        if (!Array.isArray(operand) || !operand.every(isScalar)) refuse(`Filter field "${field}": ${op} takes an array of strings, numbers or booleans.`);
        const values = operand as WhereScalar[];
        if (values.length === 0) {
          if (op === '$in') return NOTHING;
          continue; // $nin of nothing excludes nothing
        }
        clauses.push({ [path]: { [op]: values } as Where[string] });
      } else {
        if (!isScalar(operand)) refuse(`Filter field "${field}": ${op} takes a string, number or boolean, got ${JSON.stringify(operand)}.`);
        clauses.push({ [path]: { [op]: operand } as Where[string] });
      }
    }
  }
  return clauses;
}

/** All clauses at once, as one `Where` (undefined for none). */
export function allOf(clauses: Where[]): Where | undefined {
  if (clauses.length === 0) return undefined;
  return clauses.length === 1 ? clauses[0] : { $and: clauses };
}

function lookup(metadata: unknown, path: string): unknown {
  let current = metadata;
  for (const segment of path.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    current = Object.hasOwn(current, segment) ? (current as Record<string, unknown>)[segment] : undefined;
  }
  return current;
}

const same = (a: unknown, b: WhereScalar) => typeof a === typeof b && a === b;

/** Whether metadata matches a `Where`, as the server decides it (typed equality; `$ne`/`$nin` match a missing field). */
export function matches(where: Where | undefined, metadata: unknown): boolean {
  if (where === undefined) return true;
  return Object.entries(where).every(([key, condition]) => {
    if (key === '$and') return (condition as Where[]).every((w) => matches(w, metadata));
    if (key === '$or') return (condition as Where[]).some((w) => matches(w, metadata));
    const value = lookup(metadata, key);
    if (isScalar(condition)) return same(value, condition);
    const [[op, operand]] = Object.entries(condition as Record<string, unknown>) as [[string, unknown]];
    switch (op) {
      case '$eq':
        return same(value, operand as WhereScalar);
      case '$ne':
        return !same(value, operand as WhereScalar);
      case '$in':
        return (operand as WhereScalar[]).some((v) => same(value, v));
      case '$nin':
        return !(operand as WhereScalar[]).some((v) => same(value, v));
      default: {
        if (typeof value !== 'number') return false;
        const n = operand as number;
        return op === '$gt' ? value > n : op === '$gte' ? value >= n : op === '$lt' ? value < n : value <= n;
      }
    }
  });
}
