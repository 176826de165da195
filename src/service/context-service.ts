/**
 * Prompt-time context: a query's memories (and optionally facts) as text fitted to a token budget, counted
 * with the o200k_base tokenizer (GPT-4o and later OpenAI models; other tokenizers count within a few percent).
 */
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import type { ContextInput } from '../api/schemas.js';
import { buildContext, type Context } from '../core/context.js';
import type { FactService } from './fact-service.js';
import type { MemoryService } from './memory-service.js';

/** Facts looked up for a context that includes them. */
const CONTEXT_FACTS = 10;
/** Pinned memories read for a context (the budget share decides how many fit). */
const CONTEXT_PINNED = 200;

export function createContextService({ memories, facts }: { memories: MemoryService; facts: FactService }) {
  return {
    async build(namespace: string, input: ContextInput): Promise<Context> {
      const [hits, factHits, pinned] = await Promise.all([
        memories.query(namespace, {
          query: input.query,
          k: input.k,
          mode: input.mode,
          filter: input.filter,
          after: input.after,
          before: input.before,
          include: ['text', 'metadata'],
          reinforce: input.reinforce,
        }),
        input.includeFacts ? facts.search(namespace, { query: input.query, k: CONTEXT_FACTS }) : [],
        input.pinnedShare > 0 ? memories.pinnedMemories(namespace, CONTEXT_PINNED) : [],
      ]);
      const scores = new Map(hits.map((hit) => [hit.memory.id, hit.score]));
      return buildContext(
        factHits,
        hits.map((hit) => ({ memory: hit.memory, score: hit.score })),
        {
          maxTokens: input.maxTokens,
          order: input.order,
          countTokens,
          // A pinned memory the query did not return has score 0.
          pinned: pinned.map((memory) => ({ memory, score: scores.get(memory.id) ?? 0 })),
          pinnedShare: input.pinnedShare,
        },
      );
    },
  };
}

export type ContextService = ReturnType<typeof createContextService>;
