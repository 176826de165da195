/**
 * membank's own MCP tools. Each tool is one entry of TOOLS (name, description, input schema built from the REST
 * schemas' fields, and a run function over MembankOps), so a new capability is one more entry here, plus its
 * method on MembankOps (the client's method, and a call to the service in inProcessOps). Results are short text
 * an LLM reads well, plus the same data as structuredContent.
 */
import { z } from 'zod';
import { contextBody, memoryInput, queryBody, readFactsQuery, searchFactsBody, writeFactsBody } from '../api/schemas.js';
import type { Fact, MemoryRequest, QueryResult } from '../client/types.js';
import type { MembankOps } from './ops.js';

export interface ToolResult {
  text: string;
  structured: Record<string, unknown>;
}

export interface ToolDefinition<S extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  input: S;
  /** Hints for hosts: a read-only tool may run without asking; a destructive one deserves a confirmation. */
  effect: 'read' | 'write' | 'delete';
  run(ops: MembankOps, namespace: string, args: z.output<S>): Promise<ToolResult>;
}

/** Keeps each entry's args typed by its own schema while TOOLS holds them all. */
export const defineTool = <S extends z.ZodObject>(tool: ToolDefinition<S>): ToolDefinition => tool as unknown as ToolDefinition;

/**
 * Filters are validated by the service (Chroma's Where language); the tool schema only says it is an object,
 * because the REST schema's transform has no JSON Schema of its own.
 */
const whereFilter = z
  .record(z.string(), z.unknown())
  .describe('Metadata filter in Chroma\'s Where language, e.g. {"user": "ann"} or {"year": {"$gte": 2020}}.');

const memoryShape = memoryInput.shape;
const rememberItem = z.strictObject({
  text: memoryShape.text.unwrap().describe('What to remember, in plain words.'),
  metadata: memoryShape.metadata.describe('Optional JSON fields to filter on later, e.g. {"user": "ann"}.'),
  timestamp: memoryShape.timestamp.describe('When it happened (ISO 8601 or epoch ms); defaults to now.'),
  id: memoryShape.id.describe('Optional stable id; remembering the same id again replaces it.'),
  importance: memoryShape.importance.describe('0 to 1: how much it matters; important memories fade up to five times slower.'),
  ttl: memoryShape.ttl.describe('Seconds until it expires (for things true only for a while).'),
});

const day = (iso: string) => iso.slice(0, 10);
const compact = (value: unknown) => (value && typeof value === 'object' && Object.keys(value).length > 0 ? ` ${JSON.stringify(value)}` : '');

export function formatHits(hits: QueryResult[]): string {
  if (hits.length === 0) return 'No memories found.';
  return hits
    .map((hit, i) => `${i + 1}. ${hit.text ?? '(no text)'}\n   id: ${hit.id} · ${day(hit.timestamp)} · score ${hit.score.toFixed(3)}${compact(hit.metadata)}`)
    .join('\n');
}

export function formatFacts(facts: (Fact & { score?: number })[]): string {
  if (facts.length === 0) return 'No facts found.';
  return facts
    .map((f) => {
      const when = [f.validFrom && `from ${day(f.validFrom)}`, f.validTo && `until ${day(f.validTo)}`].filter(Boolean).join(' ');
      const score = f.score === undefined ? '' : ` · score ${f.score.toFixed(3)}`;
      const status = f.invalidatedAt ? ' · superseded' : '';
      return `- ${f.subject} · ${f.predicate} · ${f.object}${when ? ` (${when})` : ''}\n  id: ${f.id}${score}${status}`;
    })
    .join('\n');
}


export const TOOLS: ToolDefinition[] = [
  defineTool({
    name: 'remember',
    effect: 'write',
    title: 'Remember',
    description: 'Store a memory (something about the user, a decision, a note) so it can be recalled later by meaning. One memory per call; call it several times for several.',
    input: rememberItem,
    async run(ops, ns, memory) {
      const [id] = await ops.writeMemories(ns, [memory as MemoryRequest]);
      return { text: `Remembered (id: ${id}).`, structured: { id } };
    },
  }),
  defineTool({
    name: 'recall',
    effect: 'read',
    title: 'Recall',
    description: 'Find the memories closest in meaning to a question, best first.',
    input: z.strictObject({
      query: queryBody.shape.query.unwrap().describe('What to look for, as a question or keywords.'),
      k: z.int().min(1).max(100).default(5).describe('How many memories to return.'),
      filter: whereFilter.optional(),
    }),
    async run(ops, ns, { query, k, filter }) {
      const results = await ops.query(ns, { query, k, ...(filter && { filter }) });
      return { text: formatHits(results), structured: { results } };
    },
  }),
  defineTool({
    name: 'get_context',
    effect: 'read',
    title: 'Get context',
    description:
      'The memories (and, with includeFacts, the facts) most relevant to a question, as ready-to-read lines with time and source, within a token budget. Use it before answering a question about the user or the past.',
    input: z.strictObject({
      query: contextBody.shape.query.describe('The question or topic.'),
      maxTokens: contextBody.shape.maxTokens.default(1000).describe('Token budget of the context text.'),
      includeFacts: contextBody.shape.includeFacts,
      order: contextBody.shape.order,
    }),
    async run(ops, ns, args) {
      const built = await ops.context(ns, args);
      return { text: built.context || 'No relevant memories.', structured: built as unknown as Record<string, unknown> };
    },
  }),
  defineTool({
    name: 'forget',
    effect: 'delete',
    title: 'Forget',
    description: 'Delete memories by id, or erase every memory whose metadata matches a filter (for good: rows, index entries, text).',
    input: z
      .strictObject({
        ids: z.array(memoryShape.id.unwrap()).min(1).max(1000).optional(),
        filter: whereFilter.optional(),
      })
      .refine((a) => (a.ids === undefined) !== (a.filter === undefined), { message: 'Give exactly one of ids or filter.' }),
    async run(ops, ns, args) {
      const { deleted, missing } = await forgetMemories(ops, ns, args);
      const note = missing.length > 0 ? ` (${missing.length} not found: ${missing.slice(0, 10).join(', ')})` : '';
      return { text: `Forgot ${deleted} ${deleted === 1 ? 'memory' : 'memories'}${note}.`, structured: { deleted, missing } };
    },
  }),
  defineTool({
    name: 'add_facts',
    effect: 'write',
    title: 'Add facts',
    description:
      'Record facts as subject–predicate–object triples, e.g. {subject: "Ann", predicate: "lives_in", object: "Paris"}. mode "replace" supersedes the current object of the same subject and predicate.',
    input: writeFactsBody,
    async run(ops, ns, { facts }) {
      const ids = await ops.writeFacts(ns, facts);
      return { text: `Recorded ${ids.length} ${ids.length === 1 ? 'fact' : 'facts'}: ${ids.join(', ')}`, structured: { ids } };
    },
  }),
  defineTool({
    name: 'query_facts',
    effect: 'read',
    title: 'Query facts',
    description: 'Read facts matching a subject, predicate and/or object (exact, case-insensitive). asOf: what held at a time; history: include superseded facts.',
    input: z.strictObject({
      subject: readFactsQuery.shape.subject,
      predicate: readFactsQuery.shape.predicate,
      object: readFactsQuery.shape.object,
      asOf: readFactsQuery.shape.asOf,
      knownAt: readFactsQuery.shape.knownAt,
      history: z.boolean().optional(),
      limit: z.int().min(1).max(1000).default(100),
    }),
    async run(ops, ns, args) {
      const facts = await ops.readFacts(ns, args);
      return { text: formatFacts(facts), structured: { facts } };
    },
  }),
  defineTool({
    name: 'search_facts',
    effect: 'read',
    title: 'Search facts',
    description: 'Find the facts closest in meaning to a question, best first.',
    input: z.strictObject({ ...searchFactsBody.shape, filter: whereFilter.optional() }),
    async run(ops, ns, args) {
      const results = await ops.searchFacts(ns, args);
      return { text: formatFacts(results), structured: { results } };
    },
  }),
];


/** Deletes memories by id and/or erases those matching a metadata filter (the CLI's forget uses it too). */
export async function forgetMemories(
  ops: MembankOps,
  ns: string,
  { ids, filter }: { ids?: string[]; filter?: Record<string, unknown> },
): Promise<{ deleted: number; missing: string[] }> {
  const missing: string[] = [];
  let deleted = 0;
  for (const id of ids ?? []) {
    try {
      await ops.deleteMemory(ns, id);
      deleted++;
    } catch (error) {
      if ((error as { code?: string }).code !== 'MEMORY_NOT_FOUND') throw error;
      missing.push(id);
    }
  }
  if (filter) deleted += await ops.erase(ns, filter);
  return { deleted, missing };
}
