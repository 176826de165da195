/**
 * The operations the MCP tools are written against. Two implementations: the MembankClient (stdio mode, talking
 * to a running service) satisfies the interface as it is; `inProcessOps` calls the services directly (the /mcp
 * mount), validating with the same zod schemas as the REST routes so both paths accept and refuse the same input.
 */
import { z } from 'zod';
import {
  contextBody,
  createNamespaceBody,
  deleteFactsBody,
  eraseBody,
  listMemoriesQuery,
  namespaceName,
  queryBody,
  readFactsQuery,
  searchFactsBody,
  writeFactsBody,
  writeMemoriesBody,
  type IncludeField,
} from '../api/schemas.js';
import type { MembankClient } from '../client/client.js';
import { fromZod } from '../http/errors.js';
import { sourceOf } from '../core/context.js';
import { contextMemoryView, factView, hitView, memoryView, namespaceView } from '../http/views.js';
import type { ContextService } from '../service/context-service.js';
import type { FactService } from '../service/fact-service.js';
import type { MemoryService } from '../service/memory-service.js';

export type MembankOps = Pick<
  MembankClient,
  | 'createNamespace'
  | 'writeMemories'
  | 'listMemories'
  | 'getMemory'
  | 'deleteMemory'
  | 'query'
  | 'context'
  | 'erase'
  | 'writeFacts'
  | 'readFacts'
  | 'searchFacts'
  | 'deleteFact'
  | 'deleteFacts'
>;

function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw fromZod(result.error);
  return result.data;
}

const text = (value: unknown) => (value === undefined ? undefined : String(value));

export function inProcessOps({ service, facts, context }: { service: MemoryService; facts: FactService; context: ContextService }): MembankOps {
  const ns = (name: string) => parse(namespaceName, name);
  return {
    async createNamespace(body) {
      return namespaceView((await service.createNamespace(parse(createNamespaceBody, body))).namespace);
    },
    async writeMemories(name, memories) {
      return (await service.writeMemories(ns(name), parse(writeMemoriesBody, { memories }).memories)).ids;
    },
    async listMemories(name, options = {}) {
      const { limit, cursor, include } = parse(listMemoriesQuery, {
        limit: text(options.limit),
        cursor: options.cursor,
        include: options.vector ? 'vector' : undefined,
      });
      const page = await service.listMemories(ns(name), { limit, cursor, withVector: include === 'vector' });
      return { memories: page.memories.map(memoryView), nextCursor: page.nextCursor };
    },
    async getMemory(name, id, options = {}) {
      return memoryView(await service.getMemory(ns(name), id, options.vector === true));
    },
    async deleteMemory(name, id) {
      await service.deleteMemory(ns(name), id);
    },
    async query(name, body) {
      const input = parse(queryBody, body);
      const include = new Set<IncludeField>(input.include ?? ['text', 'metadata']);
      return (await service.query(ns(name), input)).map((hit) => hitView(hit, include));
    },
    async context(name, body) {
      const built = await context.build(ns(name), parse(contextBody, body));
      return {
        context: built.text,
        tokens: built.tokens,
        memories: built.memories.map(({ memory, score }) => contextMemoryView(memory, score, sourceOf(memory))),
        facts: built.facts.map(factView),
      };
    },
    async erase(name, filter) {
      return service.erase(ns(name), parse(eraseBody, { filter }));
    },
    async writeFacts(name, inputs) {
      return facts.write(ns(name), parse(writeFactsBody, { facts: inputs }).facts);
    },
    async readFacts(name, query = {}) {
      const parsed = parse(readFactsQuery, { ...query, history: text(query.history), limit: text(query.limit) });
      return (await facts.read(ns(name), parsed)).map(factView);
    },
    async searchFacts(name, body) {
      const results = await facts.search(ns(name), parse(searchFactsBody, body));
      return results.map((fact) => ({ ...factView(fact), score: fact.score }));
    },
    async deleteFact(name, id) {
      await facts.deleteOne(ns(name), id);
    },
    async deleteFacts(name, pattern) {
      return facts.deleteMatching(ns(name), parse(deleteFactsBody, pattern));
    },
  };
}
