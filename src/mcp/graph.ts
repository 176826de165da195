/**
 * A drop-in for the reference `@modelcontextprotocol/server-memory`: the same tool names and argument shapes,
 * stored as membank memories and facts so that parallel calls never lose a write (the reference rewrites one
 * JSONL file per call) and search_nodes ranks by meaning.
 *
 * Mapping (every record is addressed by a deterministic id, so concurrent or repeated writes converge):
 * - an entity is a memory `kg:e:<hash(name)>`, text "name (entityType)", metadata {kg: "entity", entity, entityType};
 * - each observation is its own memory `kg:o:<hash(name, content)>`, text "name: content",
 *   metadata {kg: "observation", entity, observation}: adding one never rewrites the entity;
 * - a relation is a fact ⟨from, relationType, to⟩ (mode "add") with metadata {kg: "relation"}.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Fact, Memory, MemoryRequest } from '../client/types.js';
import { normalizeText } from '../core/normalize.js';
import type { MembankOps } from './ops.js';
import { defineTool, type ToolDefinition, type ToolResult } from './tools.js';

export interface Entity {
  name: string;
  entityType: string;
  observations: string[];
}

export interface Relation {
  from: string;
  to: string;
  relationType: string;
}

export interface KnowledgeGraph {
  entities: Entity[];
  relations: Relation[];
}

const MAX_K = 1000;
const hash = (...parts: string[]) => createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 40);
export const entityId = (name: string) => `kg:e:${hash(name)}`;
export const observationId = (name: string, content: string) => `kg:o:${hash(name, content)}`;

const notFound = (error: unknown, code: string) => (error as { code?: string }).code === code;

const entityMemory = (e: { name: string; entityType: string }): MemoryRequest => ({
  id: entityId(e.name),
  text: `${e.name} (${e.entityType})`,
  metadata: { kg: 'entity', entity: e.name, entityType: e.entityType },
});

/** `addedAt` orders an entity's observations as they were added, also within one request. */
const observationMemories = (name: string, contents: string[]): MemoryRequest[] => {
  const now = Date.now();
  return contents.map((content, i) => ({
    id: observationId(name, content),
    text: `${name}: ${content}`,
    metadata: { kg: 'observation', entity: name, observation: content, addedAt: now + i / 1000 },
  }));
};

const byAddedAt = (a: { addedAt: number }, b: { addedAt: number }) => a.addedAt - b.addedAt;

const asRelation = (f: Fact): Relation => ({ from: f.subject, to: f.object, relationType: f.predicate });
const isRelation = (f: Fact) => f.metadata.kg === 'relation';
const relationKey = (r: Relation) => JSON.stringify([r.from, r.relationType, r.to]);

/** The graph operations over MembankOps, usable without MCP (the JSONL migration uses them too). */
export function knowledgeGraph(ops: MembankOps, ns: string) {
  async function getEntity(name: string): Promise<Memory | null> {
    try {
      return await ops.getMemory(ns, entityId(name));
    } catch (error) {
      if (notFound(error, 'MEMORY_NOT_FOUND')) return null;
      throw error;
    }
  }

  /** An entity's observations in the order they were added (an exact, filtered search returns them all). */
  async function observationsOf(name: string): Promise<string[]> {
    const hits = await ops.query(ns, { query: name, k: MAX_K, filter: { kg: 'observation', entity: name }, include: ['metadata'] });
    return hits
      .map((h) => ({ addedAt: Number(h.metadata?.addedAt ?? 0), text: String(h.metadata?.observation ?? '') }))
      .sort(byAddedAt)
      .map((o) => o.text);
  }

  async function relationsOf(name: string): Promise<Fact[]> {
    const [out, into] = await Promise.all([ops.readFacts(ns, { subject: name, limit: MAX_K }), ops.readFacts(ns, { object: name, limit: MAX_K })]);
    const byId = new Map([...out, ...into].filter(isRelation).map((f) => [f.id, f]));
    return [...byId.values()];
  }

  async function entitiesNamed(names: string[]): Promise<Entity[]> {
    const found = await Promise.all(
      [...new Set(names)].map(async (name) => {
        const memory = await getEntity(name);
        if (!memory) return null;
        return { name, entityType: String(memory.metadata.entityType ?? ''), observations: await observationsOf(name) };
      }),
    );
    return found.filter((e): e is Entity => e !== null);
  }

  /** Entities plus the relations that touch them. */
  async function subgraph(names: string[]): Promise<KnowledgeGraph> {
    const entities = await entitiesNamed(names);
    const relations = new Map<string, Relation>();
    for (const entity of entities) {
      for (const fact of await relationsOf(entity.name)) relations.set(fact.id, asRelation(fact));
    }
    return { entities, relations: [...relations.values()] };
  }

  return {
    async createEntities(entities: Entity[]): Promise<Entity[]> {
      const created: Entity[] = [];
      for (const entity of uniqueBy(entities, (e) => e.name)) {
        if (!(await getEntity(entity.name))) created.push(entity);
      }
      // Existing entities are left as they are (as the reference does); new ones are written with their
      // observations in one request, so an entity never appears without them.
      for (const entity of created) {
        await ops.writeMemories(ns, [entityMemory(entity), ...observationMemories(entity.name, uniqueBy(entity.observations, (o) => o))]);
      }
      return created;
    },

    async createRelations(relations: Relation[]): Promise<Relation[]> {
      const created: Relation[] = [];
      for (const r of uniqueBy(relations, relationKey)) {
        const existing = await ops.readFacts(ns, { subject: r.from, predicate: r.relationType, object: r.to, limit: 1 });
        if (existing.length > 0) continue;
        await ops.writeFacts(ns, [{ subject: r.from, predicate: r.relationType, object: r.to, mode: 'add', metadata: { kg: 'relation' } }]);
        created.push(r);
      }
      return created;
    },

    async addObservations(items: { entityName: string; contents: string[] }[]): Promise<{ entityName: string; addedObservations: string[] }[]> {
      const results = [];
      for (const { entityName, contents } of items) {
        if (!(await getEntity(entityName))) throw new GraphError(`Entity with name ${entityName} not found`);
        // An observation equal to one present once normalized (case, whitespace, Unicode forms) is a duplicate,
        // as membank's dedupe defines it.
        const present = new Set((await observationsOf(entityName)).map(normalizeText));
        const added = uniqueBy(contents, normalizeText).filter((c) => !present.has(normalizeText(c)));
        if (added.length > 0) await ops.writeMemories(ns, observationMemories(entityName, added));
        results.push({ entityName, addedObservations: added });
      }
      return results;
    },

    async deleteEntities(names: string[]): Promise<void> {
      for (const name of names) {
        for (const fact of await relationsOf(name)) await deleteQuietly(() => ops.deleteFact(ns, fact.id), 'FACT_NOT_FOUND');
        for (const content of await observationsOf(name)) {
          await deleteQuietly(() => ops.deleteMemory(ns, observationId(name, content)), 'MEMORY_NOT_FOUND');
        }
        await deleteQuietly(() => ops.deleteMemory(ns, entityId(name)), 'MEMORY_NOT_FOUND');
      }
    },

    async deleteObservations(deletions: { entityName: string; observations: string[] }[]): Promise<void> {
      for (const { entityName, observations } of deletions) {
        for (const content of observations) {
          await deleteQuietly(() => ops.deleteMemory(ns, observationId(entityName, content)), 'MEMORY_NOT_FOUND');
        }
      }
    },

    async deleteRelations(relations: Relation[]): Promise<void> {
      for (const r of relations) {
        const facts = await ops.readFacts(ns, { subject: r.from, predicate: r.relationType, object: r.to, limit: MAX_K });
        for (const fact of facts.filter(isRelation)) await deleteQuietly(() => ops.deleteFact(ns, fact.id), 'FACT_NOT_FOUND');
      }
    },

    async readGraph(): Promise<KnowledgeGraph> {
      const entities = new Map<string, Entity>();
      const observations: { entity: string; content: string; addedAt: number }[] = [];
      let cursor: string | undefined;
      do {
        const page = await ops.listMemories(ns, { limit: MAX_K, cursor });
        for (const m of page.memories) {
          const name = String(m.metadata.entity ?? '');
          if (m.metadata.kg === 'entity') entities.set(name, { name, entityType: String(m.metadata.entityType ?? ''), observations: [] });
          if (m.metadata.kg === 'observation') observations.push({ entity: name, content: String(m.metadata.observation ?? ''), addedAt: Number(m.metadata.addedAt ?? 0) });
        }
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      observations.sort(byAddedAt);
      for (const o of observations) entities.get(o.entity)?.observations.push(o.content);
      const relations = new Map<string, Relation>();
      for (const name of entities.keys()) for (const fact of await relationsOf(name)) relations.set(fact.id, asRelation(fact));
      return { entities: [...entities.values()], relations: [...relations.values()] };
    },

    /** Entities ranked by meaning: their names, types and observations are all embedded. */
    async searchNodes(query: string, limit = 10): Promise<KnowledgeGraph> {
      const hits = await ops.query(ns, { query, k: 50, filter: { kg: { $in: ['entity', 'observation'] } }, include: ['metadata'] });
      const names = [...new Set(hits.map((h) => String(h.metadata?.entity ?? '')))].slice(0, limit);
      return subgraph(names);
    },

    openNodes: subgraph,
  };
}

export class GraphError extends Error {
  override readonly name = 'GraphError';
}

async function deleteQuietly(remove: () => Promise<void>, missingCode: string): Promise<void> {
  try {
    await remove();
  } catch (error) {
    // Deleting what is already gone is what a concurrent delete of the same thing looks like: not an error.
    if (!notFound(error, missingCode)) throw error;
  }
}

function uniqueBy<T>(items: T[], key: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const k = key(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

// The reference server's argument shapes, field for field.
const entitySchema = z.object({
  name: z.string().min(1).max(1000).describe('The name of the entity'),
  entityType: z.string().min(1).max(1000).describe('The type of the entity'),
  observations: z.array(z.string().min(1).max(10_000)).describe('An array of observation contents associated with the entity'),
});
const relationSchema = z.object({
  from: z.string().min(1).max(1000).describe('The name of the entity where the relation starts'),
  to: z.string().min(1).max(1000).describe('The name of the entity where the relation ends'),
  relationType: z.string().min(1).max(1000).describe('The type of the relation'),
});

const json = (value: Record<string, unknown>): ToolResult => ({ text: JSON.stringify(value, null, 2), structured: value });

export const GRAPH_TOOLS: ToolDefinition[] = [
  defineTool({
    name: 'create_entities',
    effect: 'write',
    title: 'Create entities',
    description: 'Create multiple new entities in the knowledge graph',
    input: z.object({ entities: z.array(entitySchema) }),
    run: async (ops, ns, { entities }) => json({ entities: await knowledgeGraph(ops, ns).createEntities(entities) }),
  }),
  defineTool({
    name: 'create_relations',
    effect: 'write',
    title: 'Create relations',
    description: 'Create multiple new relations between entities in the knowledge graph. Relations should be in active voice',
    input: z.object({ relations: z.array(relationSchema) }),
    run: async (ops, ns, { relations }) => json({ relations: await knowledgeGraph(ops, ns).createRelations(relations) }),
  }),
  defineTool({
    name: 'add_observations',
    effect: 'write',
    title: 'Add observations',
    description: 'Add new observations to existing entities in the knowledge graph',
    input: z.object({
      observations: z.array(
        z.object({
          entityName: z.string().min(1).max(1000).describe('The name of the entity to add the observations to'),
          contents: z.array(z.string().min(1).max(10_000)).describe('An array of observation contents to add'),
        }),
      ),
    }),
    run: async (ops, ns, { observations }) => json({ results: await knowledgeGraph(ops, ns).addObservations(observations) }),
  }),
  defineTool({
    name: 'delete_entities',
    effect: 'delete',
    title: 'Delete entities',
    description: 'Delete multiple entities and their associated relations from the knowledge graph',
    input: z.object({ entityNames: z.array(z.string().min(1).max(1000)).describe('An array of entity names to delete') }),
    async run(ops, ns, { entityNames }) {
      await knowledgeGraph(ops, ns).deleteEntities(entityNames);
      return { text: 'Entities deleted successfully', structured: { success: true, message: 'Entities deleted successfully' } };
    },
  }),
  defineTool({
    name: 'delete_observations',
    effect: 'delete',
    title: 'Delete observations',
    description: 'Delete specific observations from entities in the knowledge graph',
    input: z.object({
      deletions: z.array(
        z.object({
          entityName: z.string().min(1).max(1000).describe('The name of the entity containing the observations'),
          observations: z.array(z.string().max(10_000)).describe('An array of observations to delete'),
        }),
      ),
    }),
    async run(ops, ns, { deletions }) {
      await knowledgeGraph(ops, ns).deleteObservations(deletions);
      return { text: 'Observations deleted successfully', structured: { success: true, message: 'Observations deleted successfully' } };
    },
  }),
  defineTool({
    name: 'delete_relations',
    effect: 'delete',
    title: 'Delete relations',
    description: 'Delete multiple relations from the knowledge graph',
    input: z.object({ relations: z.array(relationSchema).describe('An array of relations to delete') }),
    async run(ops, ns, { relations }) {
      await knowledgeGraph(ops, ns).deleteRelations(relations);
      return { text: 'Relations deleted successfully', structured: { success: true, message: 'Relations deleted successfully' } };
    },
  }),
  defineTool({
    name: 'read_graph',
    effect: 'read',
    title: 'Read graph',
    description: 'Read the entire knowledge graph',
    input: z.object({}),
    run: async (ops, ns) => json({ ...(await knowledgeGraph(ops, ns).readGraph()) }),
  }),
  defineTool({
    name: 'search_nodes',
    effect: 'read',
    title: 'Search nodes',
    description: 'Search for nodes in the knowledge graph by meaning: matches entity names, types and observation content, best first',
    input: z.object({ query: z.string().min(1).max(10_000).describe('The search query to match against entity names, types, and observation content') }),
    run: async (ops, ns, { query }) => json({ ...(await knowledgeGraph(ops, ns).searchNodes(query)) }),
  }),
  defineTool({
    name: 'open_nodes',
    effect: 'read',
    title: 'Open nodes',
    description: 'Open specific nodes in the knowledge graph by their names',
    input: z.object({ names: z.array(z.string().min(1).max(1000)).describe('An array of entity names to retrieve') }),
    run: async (ops, ns, { names }) => json({ ...(await knowledgeGraph(ops, ns).openNodes(names)) }),
  }),
];

/**
 * Imports the reference server's memory file (JSON lines of {type: "entity", name, entityType, observations}
 * and {type: "relation", from, to, relationType}). Idempotent: importing the same file twice adds nothing.
 */
export async function importReferenceJsonl(ops: MembankOps, ns: string, text: string): Promise<{ entities: number; relations: number; observations: number }> {
  const graph = knowledgeGraph(ops, ns);
  const entities: Entity[] = [];
  const relations: Relation[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      throw new GraphError(`Line ${i + 1} is not JSON.`);
    }
    const { type, ...rest } = record as { type?: string };
    const schema = type === 'entity' ? entitySchema : type === 'relation' ? relationSchema : undefined;
    if (!schema) throw new GraphError(`Line ${i + 1}: expected type "entity" or "relation", got ${JSON.stringify(type)}.`);
    const parsed = schema.safeParse(rest);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new GraphError(`Line ${i + 1}: ${issue.path.join('.') || type}: ${issue.message}`);
    }
    if (type === 'entity') entities.push(parsed.data as Entity);
    else relations.push(parsed.data as Relation);
  });
  await graph.createEntities(entities);
  // An entity that already existed may still lack some of the file's observations.
  await graph.addObservations(entities.map((e) => ({ entityName: e.name, contents: e.observations })));
  await graph.createRelations(relations);
  return {
    entities: entities.length,
    relations: relations.length,
    observations: entities.reduce((n, e) => n + e.observations.length, 0),
  };
}
