/**
 * Compiles a metadata filter to a parameterized SQL expression over the `metadata` JSON column. Nothing the
 * caller wrote is spliced into the SQL text: field paths and values travel as parameters.
 */
import type { FilterNode, Scalar } from '../../core/filter.js';

export interface SqlFragment {
  sql: string;
  params: (string | number)[];
}

const jsonPath = (path: string[]): string => '$' + path.map((segment) => `."${segment}"`).join('');

const NUMBER_TYPES = `('integer', 'real')`;

function equalsAny(path: string, values: Scalar[]): SqlFragment {
  const parts: string[] = [];
  const params: (string | number)[] = [];
  const strings = values.filter((v): v is string => typeof v === 'string');
  const numbers = values.filter((v): v is number => typeof v === 'number');
  const booleans = [...new Set(values.filter((v): v is boolean => typeof v === 'boolean'))];
  if (strings.length > 0) {
    parts.push(`(json_type(metadata, ?) = 'text' AND json_extract(metadata, ?) IN (SELECT value FROM json_each(?)))`);
    params.push(path, path, JSON.stringify(strings));
  }
  if (numbers.length > 0) {
    parts.push(
      `(json_type(metadata, ?) IN ${NUMBER_TYPES} AND json_extract(metadata, ?) IN (SELECT value FROM json_each(?)))`,
    );
    params.push(path, path, JSON.stringify(numbers));
  }
  if (booleans.length > 0) {
    // The literals come from this code, never from the caller.
    parts.push(`(json_type(metadata, ?) IN (${booleans.map((b) => (b ? `'true'` : `'false'`)).join(', ')}))`);
    params.push(path);
  }
  return { sql: parts.length === 1 ? parts[0]! : `(${parts.join(' OR ')})`, params };
}

const negate = (fragment: SqlFragment): SqlFragment => ({
  // COALESCE: a missing field makes the positive test NULL, and its negation must then be true.
  sql: `(NOT COALESCE(${fragment.sql}, 0))`,
  params: fragment.params,
});

export function compileFilter(node: FilterNode): SqlFragment {
  switch (node.kind) {
    case 'and':
    case 'or': {
      const children = node.children.map(compileFilter);
      return {
        sql: `(${children.map((c) => c.sql).join(node.kind === 'and' ? ' AND ' : ' OR ')})`,
        params: children.flatMap((c) => c.params),
      };
    }
    case 'list': {
      const positive = equalsAny(jsonPath(node.path), node.values);
      return node.op === '$in' ? positive : negate(positive);
    }
    case 'compare': {
      const path = jsonPath(node.path);
      if (node.op === '$eq' || node.op === '$ne') {
        const positive = equalsAny(path, [node.value]);
        return node.op === '$eq' ? positive : negate(positive);
      }
      const operator = { $gt: '>', $gte: '>=', $lt: '<', $lte: '<=' }[node.op];
      return {
        sql: `(json_type(metadata, ?) IN ${NUMBER_TYPES} AND json_extract(metadata, ?) ${operator} ?)`,
        params: [path, path, node.value as number],
      };
    }
  }
}
