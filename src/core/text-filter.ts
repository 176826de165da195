/**
 * Filters on a memory's text (Chroma's `where_document` language): a case-sensitive substring
 * (`$contains`, `$not_contains`) or an RE2 regular expression (`$regex`, `$not_regex`), combined with `$and` and
 * `$or`. RE2 (re2js) runs in time linear in the text, so that no pattern can stall the server the way a
 * backtracking engine can (`(a+)+b`). A memory without text matches only the negative operators.
 *
 * @example
 * { "$contains": "robot" }
 * { "$or": [ { "$contains": "robot" }, { "$regex": "(?i)android" } ] }
 */
import { RE2JS } from 're2js';
import { fail, ok, type Result } from './errors.js';

export type TextFilter =
  | { kind: 'and' | 'or'; children: TextFilter[] }
  | { kind: 'contains'; text: string; negate: boolean }
  | { kind: 'regex'; source: string; pattern: RE2JS; negate: boolean };

export const TEXT_FILTER_LIMITS = { maxDepth: 8, maxClauses: 128, maxPatternChars: 4096, maxTextChars: 10_000 } as const;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

class TextFilterError extends Error {}

/** Parses a text filter, or says precisely what is wrong with it. */
export function parseTextFilter(input: unknown): Result<TextFilter> {
  let clauses = 0;
  const parse = (value: unknown, at: string, depth: number): TextFilter => {
    if (depth > TEXT_FILTER_LIMITS.maxDepth) throw new TextFilterError(`${at}: text filters nest at most ${TEXT_FILTER_LIMITS.maxDepth} deep.`);
    if (++clauses > TEXT_FILTER_LIMITS.maxClauses) throw new TextFilterError(`A text filter may have at most ${TEXT_FILTER_LIMITS.maxClauses} clauses.`);
    if (!isObject(value)) throw new TextFilterError(`${at}: expected an object.`);
    const keys = Object.keys(value);
    if (keys.length !== 1) throw new TextFilterError(`${at}: expected exactly one operator, got ${keys.length}.`);
    const op = keys[0]!;
    const arg = value[op];
    switch (op) {
      case '$and':
      case '$or':
        if (!Array.isArray(arg) || arg.length === 0) throw new TextFilterError(`${at}.${op}: expected a non-empty array of text filters.`);
        return { kind: op === '$and' ? 'and' : 'or', children: arg.map((child, i) => parse(child, `${at}.${op}[${i}]`, depth + 1)) };
      case '$contains':
      case '$not_contains':
        if (typeof arg !== 'string' || arg.length === 0 || arg.length > TEXT_FILTER_LIMITS.maxTextChars) {
          throw new TextFilterError(`${at}.${op}: expected a string of 1 to ${TEXT_FILTER_LIMITS.maxTextChars} characters.`);
        }
        return { kind: 'contains', text: arg, negate: op === '$not_contains' };
      case '$regex':
      case '$not_regex': {
        if (typeof arg !== 'string' || arg.length === 0 || arg.length > TEXT_FILTER_LIMITS.maxPatternChars) {
          throw new TextFilterError(`${at}.${op}: expected a pattern of 1 to ${TEXT_FILTER_LIMITS.maxPatternChars} characters.`);
        }
        let pattern: RE2JS;
        try {
          pattern = RE2JS.compile(arg);
        } catch (error) {
          throw new TextFilterError(`${at}.${op}: not a valid RE2 pattern (${error instanceof Error ? error.message : String(error)}).`);
        }
        return { kind: 'regex', source: arg, pattern, negate: op === '$not_regex' };
      }
      default:
        throw new TextFilterError(`${at}: unknown operator ${op} (expected $contains, $not_contains, $regex, $not_regex, $and or $or).`);
    }
  };
  try {
    return ok(parse(input, 'textFilter', 1));
  } catch (error) {
    if (error instanceof TextFilterError) return fail('VALIDATION_FAILED', error.message, { path: 'textFilter' });
    throw error;
  }
}

export function matchesText(filter: TextFilter, text: string | null): boolean {
  switch (filter.kind) {
    case 'and':
      return filter.children.every((child) => matchesText(child, text));
    case 'or':
      return filter.children.some((child) => matchesText(child, text));
    case 'contains':
      return text === null ? filter.negate : text.includes(filter.text) !== filter.negate;
    case 'regex':
      return text === null ? filter.negate : filter.pattern.matcher(text).find() !== filter.negate;
  }
}
