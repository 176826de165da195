/** LlamaIndex's `MetadataFilters` as a membank `Where`; the operators membank cannot evaluate are refused by name. */
import type { MetadataFilter, MetadataFilters } from '@llamaindex/core/vector-store';
import { MembankError, type Where } from '../../client/index.js';

const OPERATORS: Record<string, string> = { '==': '$eq', '!=': '$ne', '>': '$gt', '<': '$lt', '>=': '$gte', '<=': '$lte', in: '$in', nin: '$nin' };

function clause(filter: MetadataFilter): Where {
  const op = OPERATORS[filter.operator];
  if (op === undefined) {
    throw new MembankError(
      0,
      'VALIDATION_FAILED',
      `membank cannot filter with the "${filter.operator}" operator (on "${filter.key}"); it has ${Object.keys(OPERATORS).join(' ')}.`,
    );
  }
  return { [filter.key]: op === '$eq' ? (filter.value as Where[string]) : ({ [op]: filter.value } as Where[string]) };
}

/** The filters as one `Where` (undefined when there are none); the server checks fields and values. */
export function toWhere(filters: MetadataFilters | undefined): Where | undefined {
  const clauses = (filters?.filters ?? []).map(clause);
  if (clauses.length === 0) return undefined;
  if (clauses.length === 1) return clauses[0];
  return filters?.condition === 'or' ? { $or: clauses } : { $and: clauses };
}
