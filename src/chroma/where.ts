/**
 * Chroma's two filter languages, checked by Chroma's rules and answered with its "Invalid where clause" (400)
 * for what it refuses.
 *
 * `where` (metadata) becomes membank's FilterNode, which the service evaluates. Chroma's rules are stricter
 * than membank's own `Where`: one key per object (several fields need `$and`), `$gt`/`$gte`/`$lt`/`$lte` on
 * numbers only, `$in`/`$nin` with a non-empty list of one type. Keys are flat: `a.b` is the key "a.b", not a
 * path. `$and: []` matches everything and `$or: []` nothing, as in Chroma; both fold away here, so a filter is
 * `true`, `false` or a FilterNode.
 *
 * `where_document` becomes membank's own TextFilter (core/text-filter.ts), which the service evaluates on the
 * memories' texts: `$contains`/`$not_contains` (a case-sensitive substring) and `$regex`/`$not_regex`, run by
 * RE2 (re2js), whose time is linear in the text, so that no pattern can stall the server the way a backtracking
 * engine can (`(a+)+b`); its syntax is the one Chroma's Rust regex crate reads. A record without a document
 * matches only the negative operators. Parsed here rather than by the core's parser because Chroma's rules and
 * messages differ: empty `$and`/`$or` fold away, an empty `$contains` is allowed, and refusals say what Chroma
 * says.
 *
 * @example
 * { "$and": [ { "genre": "sf" }, { "year": { "$gte": 1980 } } ] }
 * { "$or": [ { "$contains": "robot" }, { "$regex": "(?i)android" } ] }
 */
import { RE2JS } from 're2js';
import type { FilterNode, Scalar } from '../core/filter.js';
import type { TextFilter } from '../core/text-filter.js';
import { invalidArgument } from './errors.js';

export type Folded<T> = true | false | T;

const LIMITS = { depth: 32, clauses: 1000, pattern: 4096 } as const;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isScalar = (v: unknown): v is Scalar =>
  typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

class Refusal extends Error {}

function fold<T extends object>(kind: 'and' | 'or', children: Folded<T>[], build: (children: T[]) => T): Folded<T> {
  const absorbing = kind === 'or'; // `true` decides an $or, `false` an $and
  if (children.includes(absorbing)) return absorbing;
  const rest = children.filter((c): c is T => typeof c === 'object');
  if (rest.length === 0) return !absorbing;
  return rest.length === 1 ? rest[0]! : build(rest);
}

/** Parses Chroma's `where`; `undefined`/`null` (no filter) is `true`. */
export function parseWhere(input: unknown): Folded<FilterNode> {
  if (input === undefined || input === null) return true;
  let clauses = 0;
  const clause = (value: unknown, depth: number): Folded<FilterNode> => {
    if (depth > LIMITS.depth) throw new Refusal(`filters nest at most ${LIMITS.depth} deep`);
    if (++clauses > LIMITS.clauses) throw new Refusal(`a filter has at most ${LIMITS.clauses} clauses`);
    if (!isObject(value)) throw new Refusal('expected an object');
    const keys = Object.keys(value);
    if (keys.length !== 1) throw new Refusal(`expected exactly one key, got ${keys.length} (combine fields with $and)`);
    const key = keys[0]!;
    const operand = value[key];
    if (key === '$and' || key === '$or') {
      if (!Array.isArray(operand)) throw new Refusal(`${key} takes a list of filters`);
      const kind = key === '$and' ? 'and' : 'or';
      return fold<FilterNode>(kind, operand.map((child) => clause(child, depth + 1)), (children) => ({ kind, children }));
    }
    if (key.startsWith('$')) throw new Refusal(`unknown operator ${key}`);
    const path = [key];
    if (isScalar(operand)) return { kind: 'compare', path, op: '$eq', value: operand };
    if (!isObject(operand)) throw new Refusal(`${key}: expected a string, number, boolean or operator object`);
    const ops = Object.keys(operand);
    if (ops.length !== 1) throw new Refusal(`${key}: an operator object takes exactly one operator`);
    const op = ops[0]!;
    const arg = operand[op];
    switch (op) {
      case '$eq':
      case '$ne':
        if (!isScalar(arg)) throw new Refusal(`${key}.${op}: expected a string, number or boolean`);
        return { kind: 'compare', path, op, value: arg };
      case '$gt':
      case '$gte':
      case '$lt':
      case '$lte':
        if (typeof arg !== 'number' || !Number.isFinite(arg)) throw new Refusal(`${key}.${op}: expected a number`);
        return { kind: 'compare', path, op, value: arg };
      case '$in':
      case '$nin': {
        if (!Array.isArray(arg) || arg.length === 0 || !arg.every(isScalar)) {
          throw new Refusal(`${key}.${op}: expected a non-empty list of strings, numbers or booleans`);
        }
        if (new Set(arg.map((v) => typeof v)).size > 1) throw new Refusal(`${key}.${op}: the values must all be of one type`);
        return { kind: 'list', path, op, values: arg };
      }
      default:
        throw new Refusal(`${key}: unknown operator ${op}`);
    }
  };
  try {
    return clause(input, 1);
  } catch (error) {
    if (error instanceof Refusal) throw invalidArgument(`Invalid where clause: ${error.message}`);
    throw error;
  }
}

/** Parses Chroma's `where_document`; `undefined`/`null` is `true`. */
export function parseWhereDocument(input: unknown): Folded<TextFilter> {
  if (input === undefined || input === null) return true;
  let clauses = 0;
  const clause = (value: unknown, depth: number): Folded<TextFilter> => {
    if (depth > LIMITS.depth || ++clauses > LIMITS.clauses) throw new Refusal('the filter is too large');
    if (!isObject(value)) throw new Refusal('expected an object');
    const keys = Object.keys(value);
    if (keys.length !== 1) throw new Refusal(`expected exactly one operator, got ${keys.length}`);
    const op = keys[0]!;
    const arg = value[op];
    switch (op) {
      case '$and':
      case '$or': {
        if (!Array.isArray(arg)) throw new Refusal(`${op} takes a list of filters`);
        const kind = op === '$and' ? 'and' : 'or';
        return fold<TextFilter>(kind, arg.map((child) => clause(child, depth + 1)), (children) => ({ kind, children }));
      }
      case '$contains':
      case '$not_contains':
        if (typeof arg !== 'string') throw new Refusal(`${op} takes a string`);
        return { kind: 'contains', text: arg, negate: op === '$not_contains' };
      case '$regex':
      case '$not_regex': {
        if (typeof arg !== 'string') throw new Refusal(`${op} takes a string`);
        if (arg.length > LIMITS.pattern) throw new Refusal(`${op}: patterns are at most ${LIMITS.pattern} characters`);
        let pattern: RE2JS;
        try {
          pattern = RE2JS.compile(arg);
        } catch (error) {
          // Chroma's own message, typo included.
          throw invalidArgument(`Regex syntax errror: ${error instanceof Error ? error.message : String(error)}`);
        }
        return { kind: 'regex', source: arg, pattern, negate: op === '$not_regex' };
      }
      default:
        throw new Refusal(`unknown operator ${op}`);
    }
  };
  try {
    return clause(input, 1);
  } catch (error) {
    if (error instanceof Refusal) throw invalidArgument(`Invalid where document clause: ${error.message}`);
    throw error;
  }
}
