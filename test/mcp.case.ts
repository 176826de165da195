/** One MCP suite, run over every transport (Streamable HTTP at /mcp, stdio through the CLI). */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { describe, expect, it } from 'vitest';
import type { MembankClient } from '../src/client/index.js';

export interface McpHarness {
  /** A connected SDK client bound to `namespace`. */
  connect(namespace: string): Promise<Client>;
  /** REST access to the same service, to check what the tools stored. */
  rest: () => MembankClient;
}

type Content = { type: string; text: string }[];

export async function call(client: Client, name: string, args: Record<string, unknown> = {}) {
  const result = await client.callTool({ name, arguments: args });
  return {
    isError: result.isError as boolean | undefined,
    text: (result.content as Content).map((c) => c.text).join('\n'),
    structured: result.structuredContent as any,
  };
}

export function mcpSuite(label: string, harness: McpHarness): void {
  describe(`MCP over ${label}`, () => {
    it('lists our tools and the reference memory server\'s, with JSON Schemas from zod', async () => {
      const client = await harness.connect(`${label}-list`);
      const { tools } = await client.listTools();
      const names = tools.map((t) => t.name).sort();
      expect(names).toEqual(
        [
          'add_documents', 'add_facts', 'add_observations', 'create_entities', 'create_relations', 'delete_entities', 'delete_observations',
          'delete_relations', 'forget', 'get_context', 'open_nodes', 'query_facts', 'read_graph', 'recall', 'reembed', 'remember', 'remember_many',
          'search_facts', 'search_nodes',
        ].sort(),
      );
      const remember = tools.find((t) => t.name === 'remember')!;
      expect(remember.inputSchema).toMatchObject({ type: 'object', required: ['text'], additionalProperties: false });
      const hints = Object.fromEntries(tools.map((t) => [t.name, [t.annotations?.readOnlyHint, t.annotations?.destructiveHint]]));
      expect(hints).toMatchObject({ recall: [true, false], read_graph: [true, false], remember: [false, false], forget: [false, true], delete_entities: [false, true] });
      await client.close();
    });

    it('remembers with importance and ttl, and gives a prompt context within a token budget', async () => {
      const ns = `${label}-ctx`;
      const client = await harness.connect(ns);
      const vital = await call(client, 'remember', { text: 'Ann is allergic to peanuts', metadata: { speaker: 'Ann' }, importance: 1 });
      await call(client, 'remember', { text: 'Ann parked on level 3 today', ttl: 3600 });
      const stored = await harness.rest().getMemory(ns, vital.structured.id);
      expect(stored.strength).toBe(5);
      const brief = (await harness.rest().listMemories(ns)).memories.find((m) => m.text === 'Ann parked on level 3 today')!;
      expect(brief.expiresAt).not.toBeNull();
      await call(client, 'add_facts', { facts: [{ subject: 'Ann', predicate: 'allergic_to', object: 'peanuts' }] });

      const context = await call(client, 'get_context', { query: 'What is Ann allergic to?', maxTokens: 120, includeFacts: true });
      expect(context.isError).toBeFalsy();
      expect(context.text).toContain('Known facts:\n- Ann allergic to peanuts');
      expect(context.text).toContain('Ann: Ann is allergic to peanuts');
      expect(context.structured.tokens).toBeLessThanOrEqual(120);
      // A pinned memory is in every context, first, whatever the question.
      await call(client, 'remember', { text: 'The user prefers metric units', pinned: true });
      const pinned = await call(client, 'get_context', { query: 'What is Ann allergic to?', maxTokens: 200 });
      expect(pinned.text.startsWith('Pinned memories:\n- ')).toBe(true);
      expect(pinned.text).toContain('The user prefers metric units');
      const tooSmall = await call(client, 'get_context', { query: 'x', maxTokens: 3 });
      expect(tooSmall.isError).toBe(true);
      await client.close();
    });

    it('remembers, recalls and forgets in a namespace created on first use', async () => {
      const ns = `${label}-mem`;
      const client = await harness.connect(ns);
      const first = await call(client, 'remember', { text: 'Ann adopted a puppy named Rex', metadata: { user: 'ann' } });
      expect(first.isError).toBeFalsy();
      expect(first.text).toBe(`Remembered (id: ${first.structured.id}).`);
      const second = await call(client, 'remember', { text: 'Bob moved to Lisbon in spring', metadata: { user: 'bob' }, id: 'bob-move', timestamp: '2024-04-01' });
      expect(second.structured).toEqual({ id: 'bob-move' });
      expect((await harness.rest().getMemory(ns, 'bob-move')).timestamp).toBe('2024-04-01T00:00:00.000Z');
      expect((await harness.rest().getNamespace(ns)).count).toBe(2);
      // Remembering the same thing again stores nothing new: the answer names the memory it reinforced.
      const repeated = await call(client, 'remember', { text: 'ann adopted a puppy  named Rex' });
      expect(repeated.structured).toEqual({ id: first.structured.id });
      expect((await harness.rest().getNamespace(ns)).count).toBe(2);
      expect((await harness.rest().getMemory(ns, first.structured.id)).recallCount).toBeGreaterThanOrEqual(1);

      const recalled = await call(client, 'recall', { query: 'puppy named Rex', k: 1 });
      expect(recalled.structured.results[0].text).toBe('Ann adopted a puppy named Rex');
      expect(recalled.text).toContain('1. Ann adopted a puppy named Rex');
      const filtered = await call(client, 'recall', { query: 'puppy', k: 5, filter: { user: 'bob' } });
      expect(filtered.structured.results.map((r: any) => r.id)).toEqual(['bob-move']);

      const forgotten = await call(client, 'forget', { filter: { user: 'ann' } });
      expect(forgotten.structured.deleted).toBe(1);
      const byId = await call(client, 'forget', { ids: ['bob-move', 'nope'] });
      expect(byId.structured).toEqual({ deleted: 1, missing: ['nope'] });
      expect((await harness.rest().getNamespace(ns)).count).toBe(0);
      await client.close();
    });

    it('forgets by filter in a namespace without an embedder', async () => {
      const ns = `${label}-vectors`;
      await harness.rest().createNamespace({ name: ns, embedder: null, dimensions: 2 });
      await harness.rest().writeMemories(ns, [
        { id: 'a', vector: [1, 0], metadata: { tag: 'x' } },
        { id: 'b', vector: [0, 1], metadata: { tag: 'y' } },
        { id: 'c', vector: [1, 1], metadata: { tag: 'x' } },
      ]);
      const client = await harness.connect(ns);
      const result = await call(client, 'forget', { filter: { tag: 'x' } });
      expect(result.structured).toEqual({ deleted: 2, missing: [] });
      expect((await harness.rest().listMemories(ns)).memories.map((m) => m.id)).toEqual(['b']);
      await client.close();
    });

    it('answers bad input with a readable tool error, not a crash', async () => {
      const client = await harness.connect(`${label}-bad`);
      const bad = await call(client, 'recall', { query: 'x', k: 0 });
      expect(bad.isError).toBe(true);
      expect((await call(client, 'remember', { text: '   ' })).isError).toBe(true);
      expect((await call(client, 'remember', { text: 'x', surprise: 1 })).isError).toBe(true);
      const badFilter = await call(client, 'recall', { query: 'x', filter: { a: { $regex: 'x' } } });
      expect(badFilter.isError).toBe(true);
      expect(badFilter.text).toContain('VALIDATION_FAILED');
      const missing = await call(client, 'add_observations', { observations: [{ entityName: 'Ghost', contents: ['boo'] }] });
      expect(missing.isError).toBe(true);
      expect(missing.text).toContain('Entity with name Ghost not found');
      // The server still works after those.
      expect((await call(client, 'remember', { text: 'still here' })).isError).toBeFalsy();
      await client.close();
    });

    it('adds, queries and searches facts', async () => {
      const client = await harness.connect(`${label}-facts`);
      await call(client, 'add_facts', { facts: [{ subject: 'Ann', predicate: 'lives_in', object: 'Paris' }] });
      await call(client, 'add_facts', { facts: [{ subject: 'Ann', predicate: 'lives_in', object: 'Rome', mode: 'replace', validFrom: '2024-05-01' }] });
      const current = await call(client, 'query_facts', { subject: 'Ann', predicate: 'lives_in' });
      expect(current.structured.facts.map((f: any) => f.object)).toEqual(['Rome']);
      expect(current.text).toContain('Ann · lives_in · Rome (from 2024-05-01)');
      const history = await call(client, 'query_facts', { subject: 'Ann', history: true });
      expect(history.structured.facts).toHaveLength(2);
      const found = await call(client, 'search_facts', { query: 'where does Ann live', k: 1 });
      expect(found.structured.results[0].object).toBe('Rome');
      await client.close();
    });

    it('is a drop-in for the reference memory server', async () => {
      const ns = `${label}-graph`;
      const client = await harness.connect(ns);
      const created = await call(client, 'create_entities', {
        entities: [
          { name: 'Ann', entityType: 'person', observations: ['likes green tea', 'speaks Portuguese'] },
          { name: 'Acme', entityType: 'company', observations: ['makes anvils'] },
        ],
      });
      expect(created.structured.entities.map((e: any) => e.name)).toEqual(['Ann', 'Acme']);
      // Creating an existing entity again reports nothing new, as the reference does.
      const again = await call(client, 'create_entities', { entities: [{ name: 'Ann', entityType: 'person', observations: [] }] });
      expect(again.structured.entities).toEqual([]);
      const relations = await call(client, 'create_relations', { relations: [{ from: 'Ann', to: 'Acme', relationType: 'works_at' }] });
      expect(relations.structured.relations).toHaveLength(1);
      expect((await call(client, 'create_relations', { relations: [{ from: 'Ann', to: 'Acme', relationType: 'works_at' }] })).structured.relations).toEqual([]);
      // An observation equal to a present one once normalized (case, whitespace) is a duplicate: not added.
      const added = await call(client, 'add_observations', {
        observations: [{ entityName: 'Ann', contents: ['Likes  GREEN tea', 'runs marathons', 'runs marathons '] }],
      });
      expect(added.structured.results).toEqual([{ entityName: 'Ann', addedObservations: ['runs marathons'] }]);

      const graph = await call(client, 'read_graph');
      expect(JSON.parse(graph.text)).toEqual(graph.structured);
      expect(graph.structured.entities).toEqual([
        { name: 'Ann', entityType: 'person', observations: ['likes green tea', 'speaks Portuguese', 'runs marathons'] },
        { name: 'Acme', entityType: 'company', observations: ['makes anvils'] },
      ]);
      expect(graph.structured.relations).toEqual([{ from: 'Ann', to: 'Acme', relationType: 'works_at' }]);
      // Relations are facts: the facts tools see them.
      expect((await call(client, 'query_facts', { subject: 'Ann', predicate: 'works_at' })).structured.facts[0].object).toBe('Acme');

      const search = await call(client, 'search_nodes', { query: 'anvils' });
      expect(search.structured.entities[0].name).toBe('Acme');
      const opened = await call(client, 'open_nodes', { names: ['Acme', 'Nobody'] });
      expect(opened.structured.entities.map((e: any) => e.name)).toEqual(['Acme']);
      expect(opened.structured.relations).toEqual([{ from: 'Ann', to: 'Acme', relationType: 'works_at' }]);

      await call(client, 'delete_observations', { deletions: [{ entityName: 'Ann', observations: ['speaks Portuguese'] }] });
      await call(client, 'delete_relations', { relations: [{ from: 'Ann', to: 'Acme', relationType: 'works_at' }] });
      await call(client, 'delete_entities', { entityNames: ['Acme'] });
      const after = await call(client, 'read_graph');
      expect(after.structured).toEqual({
        entities: [{ name: 'Ann', entityType: 'person', observations: ['likes green tea', 'runs marathons'] }],
        relations: [],
      });
      await client.close();
    });

    it('loses nothing under 50 parallel tool calls', async () => {
      const ns = `${label}-parallel`;
      const client = await harness.connect(ns);
      await call(client, 'create_entities', { entities: [{ name: 'Hub', entityType: 'thing', observations: [] }] });
      const calls = Array.from({ length: 50 }, (_, i) => {
        switch (i % 3) {
          case 0:
            return call(client, 'remember', { text: `parallel memory ${i}`, id: `p${i}` });
          case 1:
            return call(client, 'add_observations', { observations: [{ entityName: 'Hub', contents: [`observation ${i}`] }] });
          default:
            return call(client, 'create_relations', { relations: [{ from: 'Hub', to: `Node${i}`, relationType: 'links_to' }] });
        }
      });
      const results = await Promise.all(calls);
      expect(results.filter((r) => r.isError).map((r) => r.text)).toEqual([]);

      const expectMemories = Array.from({ length: 50 }, (_, i) => i).filter((i) => i % 3 === 0);
      const expectObservations = Array.from({ length: 50 }, (_, i) => i).filter((i) => i % 3 === 1);
      const expectRelations = Array.from({ length: 50 }, (_, i) => i).filter((i) => i % 3 === 2);
      const rest = harness.rest();
      for (const i of expectMemories) expect((await rest.getMemory(ns, `p${i}`)).text).toBe(`parallel memory ${i}`);
      const graph = (await call(client, 'open_nodes', { names: ['Hub'] })).structured;
      expect([...graph.entities[0].observations].sort()).toEqual(expectObservations.map((i) => `observation ${i}`).sort());
      expect(graph.relations.map((r: any) => r.to).sort()).toEqual(expectRelations.map((i) => `Node${i}`).sort());
      await client.close();
    });
  });
}
