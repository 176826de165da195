/**
 * Compiles a metadata filter to a SQL fragment over the `metadata` JSONB column (aliased `m`), with the
 * semantics of the SQLite store's (typed comparisons: "5" never equals 5; a negation matches memories that
 * lack the field). Paths and values travel as parameters, never spliced into the SQL text.
 */
import type { FilterNode, Scalar } from '../../core/filter.js';
import type postgres from 'postgres';
import type { Sql } from './database.js';

export type Fragment = postgres.PendingQuery<postgres.Row[]>;

function equalsAny(sql: Sql, path: string[], values: Scalar[]): Fragment {
  const at = sql`m.metadata #> ${path}::text[]`;
  const parts: Fragment[] = [];
  const strings = values.filter((v): v is string => typeof v === 'string');
  const numbers = values.filter((v): v is number => typeof v === 'number');
  const booleans = [...new Set(values.filter((v): v is boolean => typeof v === 'boolean'))];
  if (strings.length > 0) parts.push(sql`(jsonb_typeof(${at}) = 'string' AND (m.metadata #>> ${path}::text[]) = ANY(${strings}::text[]))`);
  if (numbers.length > 0) parts.push(sql`(CASE WHEN jsonb_typeof(${at}) = 'number' THEN (${at})::float8 = ANY(${numbers}::float8[]) ELSE false END)`);
  if (booleans.length === 2) parts.push(sql`(jsonb_typeof(${at}) = 'boolean')`);
  else if (booleans.length === 1) parts.push(sql`(CASE WHEN jsonb_typeof(${at}) = 'boolean' THEN (${at})::boolean = ${booleans[0]!} ELSE false END)`);
  return parts.length === 1 ? parts[0]! : sql`(${parts.reduce((all, part) => sql`${all} OR ${part}`)})`;
}

/** COALESCE: a missing field makes the positive test NULL, and its negation must then be true. */
const negate = (sql: Sql, fragment: Fragment): Fragment => sql`(NOT COALESCE(${fragment}, false))`;

export function compileFilter(sql: Sql, node: FilterNode): Fragment {
  switch (node.kind) {
    case 'and':
    case 'or': {
      const children = node.children.map((child) => compileFilter(sql, child));
      const joined = children.reduce((all, child) => (node.kind === 'and' ? sql`${all} AND ${child}` : sql`${all} OR ${child}`));
      return sql`(${joined})`;
    }
    case 'list': {
      const positive = equalsAny(sql, node.path, node.values);
      return node.op === '$in' ? positive : negate(sql, positive);
    }
    case 'compare': {
      if (node.op === '$eq' || node.op === '$ne') {
        const positive = equalsAny(sql, node.path, [node.value]);
        return node.op === '$eq' ? positive : negate(sql, positive);
      }
      const at = sql`m.metadata #> ${node.path}::text[]`;
      const value = node.value as number;
      const compared = {
        $gt: sql`(${at})::float8 > ${value}::float8`,
        $gte: sql`(${at})::float8 >= ${value}::float8`,
        $lt: sql`(${at})::float8 < ${value}::float8`,
        $lte: sql`(${at})::float8 <= ${value}::float8`,
      }[node.op];
      // CASE: the cast must not run on a value that is not a number.
      return sql`(CASE WHEN jsonb_typeof(${at}) = 'number' THEN ${compared} ELSE false END)`;
    }
  }
}
