/**
 * membankTools: membank as tools for the AI SDK's `generateText` / `streamText` (remember, recall, getContext,
 * forget). Input schemas are built from the fields of membank's own REST schemas, so the model is told the
 * same limits the server checks. Texts are embedded by the namespace's server-side embedder.
 */
import { tool } from 'ai';
import { z } from 'zod';
import { contextBody, memoryInput, queryBody } from '../../api/schemas.js';
import {
  type Connection,
  MembankClient,
  type NamespaceSettings,
  type QueryRequest,
  type Where,
  type WhereScalar,
} from '../../client/index.js';

export interface MembankToolsOptions {
  namespace: string;
  /**
   * Metadata every remembered memory gets, and that every recall, context and forget is restricted to: one
   * namespace can then hold many users' memories, and a model can reach only this user's.
   * @example { user: 'ann' }
   */
  scope?: Record<string, WhereScalar>;
  /** Memories per recall when the model does not say (default 5). */
  k?: number;
  /** Token budget of getContext when the model does not say (default 1000). */
  maxTokens?: number;
  /** Search mode of recall and getContext; the namespace's default (hybrid) unless given. */
  mode?: QueryRequest['mode'];
  /** Settings for the namespace when it does not exist yet (the server's default embedder), or `false`. */
  create?: false | NamespaceSettings;
}

/**
 * Filters are checked by the server (Chroma's Where language); the schema only says it is an object, because the
 * REST schema's parsing transform has no JSON Schema to show a model.
 */
const whereFilter = z
  .record(z.string(), z.unknown())
  .describe('Metadata filter in Chroma\'s Where language, e.g. {"topic": "travel"} or {"year": {"$gte": 2020}}.');

const memory = memoryInput.shape;

/** The four tools on one namespace. Pick the ones a model should have: `const { recall, getContext } = membankTools(…)`. */
export function membankTools(options: Connection & MembankToolsOptions) {
  const client = MembankClient.from(options);
  const { namespace, scope, mode } = options;
  let ready: Promise<unknown> | undefined;
  const ensure = (): Promise<unknown> => {
    if (options.create === false) return Promise.resolve();
    ready ??= client.ensureNamespace(namespace, options.create).catch((error: unknown) => {
      ready = undefined;
      throw error;
    });
    return ready;
  };
  const scoped = (filter: Record<string, unknown> | undefined): Where | undefined => {
    const parts = [scope && Object.keys(scope).length > 0 ? (scope as Where) : undefined, filter as Where | undefined].filter((w) => w !== undefined);
    return parts.length === 0 ? undefined : parts.length === 1 ? parts[0] : { $and: parts };
  };

  return {
    remember: tool({
      description:
        'Store a memory (something about the user, a decision, a note) so it can be recalled later by meaning. One memory per call; call it several times for several.',
      inputSchema: z.strictObject({
        text: memory.text.unwrap().describe('What to remember, in plain words.'),
        metadata: memory.metadata.describe('Optional JSON fields to filter on later, e.g. {"topic": "travel"}.'),
        timestamp: memory.timestamp.describe('When it happened (ISO 8601 or epoch ms); defaults to now.'),
        importance: memory.importance.describe('0 to 1: how much it matters; important memories fade up to five times slower.'),
        ttl: memory.ttl.describe('Seconds until it expires (for things true only for a while).'),
      }),
      execute: async (input) => {
        await ensure();
        const metadata = { ...(input.metadata as Record<string, unknown> | undefined), ...scope };
        const [id] = await client.writeMemories(namespace, [{ ...input, metadata }]);
        return { id: id! };
      },
    }),

    recall: tool({
      description: 'Find the memories closest in meaning to a question, best first.',
      inputSchema: z.strictObject({
        query: queryBody.shape.query.unwrap().describe('What to look for, as a question or keywords.'),
        k: z.int().min(1).max(100).optional().describe('How many memories to return.'),
        filter: whereFilter.optional(),
      }),
      execute: async ({ query, k, filter }) => {
        await ensure();
        const where = scoped(filter);
        const results = await client.query(namespace, {
          query,
          k: k ?? options.k ?? 5,
          include: ['text', 'metadata'],
          ...(mode && { mode }),
          ...(where && { filter: where }),
        });
        return { results: results.map((r) => ({ id: r.id, text: r.text ?? null, score: r.score, timestamp: r.timestamp, metadata: r.metadata ?? {} })) };
      },
    }),

    getContext: tool({
      description:
        'The memories (and, with includeFacts, the facts) most relevant to a question, as ready-to-read lines with time and source, within a token budget. Use it before answering a question about the user or the past.',
      inputSchema: z.strictObject({
        query: contextBody.shape.query.describe('The question or topic.'),
        maxTokens: contextBody.shape.maxTokens.optional().describe('Token budget of the context text.'),
        includeFacts: contextBody.shape.includeFacts.optional(),
      }),
      execute: async ({ query, maxTokens, includeFacts }) => {
        await ensure();
        const where = scoped(undefined);
        const built = await client.context(namespace, {
          query,
          maxTokens: maxTokens ?? options.maxTokens ?? 1000,
          ...(includeFacts !== undefined && { includeFacts }),
          ...(mode && { mode }),
          ...(where && { filter: where }),
        });
        return { context: built.context, tokens: built.tokens, memories: built.memories.map((m) => m.id) };
      },
    }),

    forget: tool({
      description: 'Delete memories for good: by id, or every memory whose metadata matches a filter.',
      inputSchema: z
        .strictObject({
          ids: z.array(memory.id.unwrap()).min(1).max(1000).optional(),
          filter: whereFilter.optional(),
        })
        .refine((a) => (a.ids === undefined) !== (a.filter === undefined), { message: 'Give exactly one of ids or filter.' }),
      execute: async ({ ids, filter }) => {
        await ensure();
        if (filter) return { deleted: await client.erase(namespace, { filter: scoped(filter)! }), missing: [] as string[] };
        // Outside the scope, a memory is as good as missing: the model must not reach it. One request finds the
        // ids that exist in scope, one erases them.
        const where = scoped(undefined);
        const found = await client.findMemories(namespace, { ids: ids!, ...(where && { filter: where }), limit: ids!.length });
        const present = new Set(found.memories.map((m) => m.id));
        const missing = [...new Set(ids)].filter((id) => !present.has(id));
        const deleted = present.size > 0 ? await client.erase(namespace, { ids: [...present] }) : 0;
        return { deleted, missing };
      },
    }),
  };
}
