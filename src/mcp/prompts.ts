/**
 * membank's MCP prompts, for hosts that offer prompts to their user (a slash command, a menu):
 * - `recall`: what membank knows about a question (the /context text: memories with time and source, and facts),
 *   as a message to start the conversation from;
 * - `remember`: asks the model to store what it learned in the conversation, with the tools made for it.
 * MCP prompt arguments are strings; a namespace argument defaults to the session's.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { LIMITS, namespaceName } from '../api/schemas.js';
import type { MembankOps } from './ops.js';

/** Prompt name → its arguments that name a namespace, for completion. */
export const PROMPT_NAMESPACE_ARGS: Record<string, string[]> = { recall: ['namespace'], remember: ['namespace'] };

const namespaceArg = namespaceName.optional().describe('The namespace (default: the one this server is bound to).');

export function registerPrompts(server: McpServer, ops: MembankOps, scope: { namespace: string; canSee: (ns: string) => boolean; ready: (ns: string) => Promise<unknown> }): void {
  const target = (given: string | undefined) => {
    const ns = given ?? scope.namespace;
    if (!scope.canSee(ns)) throw new Error(`Namespace "${ns}" does not exist.`);
    return ns;
  };

  server.registerPrompt(
    'recall',
    {
      title: 'Recall',
      description: 'What membank remembers about a question or topic (memories with their time and source, and facts), to start from.',
      argsSchema: {
        query: z.string().min(1).max(10_000).describe('The question or topic.'),
        namespace: namespaceArg,
        maxTokens: z
          .string()
          .regex(/^\d+$/, 'a whole number of tokens')
          .optional()
          .describe(`Token budget of the text (default 1000, at most ${LIMITS.maxContextTokens}).`),
      },
    },
    async ({ query, namespace, maxTokens }) => {
      const ns = target(namespace);
      await scope.ready(ns);
      const built = await ops.context(ns, { query, maxTokens: maxTokens === undefined ? 1000 : Number(maxTokens), includeFacts: true });
      const text = built.context
        ? `Here is what I remember that may bear on "${query}" (from membank, namespace "${ns}"):\n\n${built.context}`
        : `I have no memories that bear on "${query}" (membank, namespace "${ns}").`;
      return {
        description: `membank's context for "${query}"`,
        messages: [{ role: 'user', content: { type: 'text', text } }],
      };
    },
  );

  server.registerPrompt(
    'remember',
    {
      title: 'Remember what you learned',
      description: 'Asks the model to store what it learned in this conversation as memories and facts.',
      argsSchema: {
        topic: z.string().max(1000).optional().describe('What to focus on (default: everything worth keeping).'),
        namespace: namespaceArg,
      },
    },
    async ({ topic, namespace }) => {
      const ns = target(namespace);
      const focus = topic ? ` Focus on: ${topic}.` : '';
      const text = [
        `Look back over our conversation and store in membank (namespace "${ns}") what is worth knowing later.${focus}`,
        '- Each thing about me, my work or a decision we made: one memory with the `remember` tool (or several at once with `remember_many`), in a self-contained sentence that will make sense without this conversation, with `importance` near 1 for what must not be forgotten and `ttl` for what holds only for a while.',
        '- Stable facts (who, what, where, since when): `add_facts` as subject–predicate–object triples, with mode "replace" when a fact supersedes an older one.',
        '- Before storing, `recall` what membank already has, so as not to store the same thing twice.',
        '- Leave out small talk, passwords, keys and anything I asked you not to keep.',
        'Then tell me in a few words what you stored.',
      ].join('\n');
      return { description: 'Store what was learned', messages: [{ role: 'user', content: { type: 'text', text } }] };
    },
  );
}
