/**
 * The rest of the MCP protocol, run over every transport with the SDK's own client: resources (pages, templates,
 * reads, subscriptions), prompts, completions, log notifications, progress and cancellation.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  CallToolResultSchema,
  LoggingMessageNotificationSchema,
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
  type LoggingMessageNotification,
  type Progress,
} from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { createHashEmbedder } from '../src/adapters/embedders/hash-embedder.js';
import { createEmbedderProvider, embedderTable } from '../src/adapters/embedders/provider.js';
import type { MembankClient } from '../src/client/index.js';
import type { Embedder } from '../src/ports/embedder.js';

/** The hash embedder, made to take `ms` a call, so that a re-embedding job runs long enough to report on. */
const slow = (embedder: Embedder, ms = 100): Embedder => ({
  ...embedder,
  embed: async (texts, priority) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return embedder.embed(texts, priority);
  },
});

/** The harnesses' service: the tests' `hash-64`, and a slow `hash-32` to re-embed into. */
export const protocolEmbedders = () =>
  createEmbedderProvider(
    embedderTable({
      'hash-64': { dimensions: 64, revision: 'hash-v1', create: async () => createHashEmbedder(64) },
      'hash-32': { dimensions: 32, revision: 'hash-v1', create: async () => slow(createHashEmbedder(32, 'hash-32')) },
    }),
    ['hash-64', 'hash-32'],
  );

export interface ProtocolHarness {
  /** A connected SDK client bound to `namespace`. */
  connect(namespace: string): Promise<Client>;
  /** REST access to the same service: another writer, whose changes subscriptions must see too. */
  rest: () => MembankClient;
  /** An embedder the service can re-embed into (see protocolEmbedders). */
  reembedTo: string;
}

const uri = (ns: string, rest = '') => `membank://namespaces/${ns}${rest}`;

export async function until<T>(check: () => T | undefined | false, ms = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const json = (result: { contents: object[] }) => JSON.parse(String((result.contents[0] as { text?: unknown }).text));

export function protocolSuite(label: string, harness: ProtocolHarness): void {
  describe(`MCP protocol over ${label}`, () => {
    it('lists resources page by page under stable URIs, with templates, and reads each kind', async () => {
      const ns = `${label}-res`;
      const rest = harness.rest();
      await rest.createNamespace({ name: ns });
      const ids = Array.from({ length: 130 }, (_, i) => `m-${String(i).padStart(3, '0')}`);
      await rest.writeMemories(ns, ids.map((id) => ({ id, text: `memory ${id} about the garden` })));
      await rest.writeMemories(ns, [{ id: 'a/b c', text: 'Ann keeps bees', metadata: { topic: 'bees' } }]);
      await rest.writeFacts(ns, [{ subject: 'Ann', predicate: 'keeps', object: 'bees' }]);
      const client = await harness.connect(ns);

      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await client.listResources(cursor === undefined ? {} : { cursor });
        expect(page.resources.length).toBeLessThanOrEqual(100);
        seen.push(...page.resources.map((r) => r.uri));
        cursor = page.nextCursor;
        pages++;
      } while (cursor);
      expect(pages).toBeGreaterThanOrEqual(2);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toEqual(expect.arrayContaining([uri(ns), uri(ns, '/facts'), ...ids.map((id) => uri(ns, `/memories/${id}`))]));
      // An id is percent-encoded as RFC 6570 expands {id}.
      expect(seen).toContain(uri(ns, '/memories/a%2Fb%20c'));
      await expect(client.listResources({ cursor: 'not-ours' })).rejects.toMatchObject({ code: -32602 });

      const { resourceTemplates } = await client.listResourceTemplates();
      expect(resourceTemplates.map((t) => t.uriTemplate).sort()).toEqual([
        'membank://namespaces/{namespace}',
        'membank://namespaces/{namespace}/entities/{name}',
        'membank://namespaces/{namespace}/facts',
        'membank://namespaces/{namespace}/memories/{id}',
      ]);

      const memory = await client.readResource({ uri: uri(ns, '/memories/a%2Fb%20c') });
      expect(memory.contents[0]).toMatchObject({ uri: uri(ns, '/memories/a%2Fb%20c'), mimeType: 'application/json' });
      expect(json(memory)).toMatchObject({ id: 'a/b c', text: 'Ann keeps bees', metadata: { topic: 'bees' } });
      expect(json(await client.readResource({ uri: uri(ns) }))).toMatchObject({ name: ns, count: 131, factCount: 1 });
      expect(json(await client.readResource({ uri: uri(ns, '/facts') })).facts.map((f: any) => f.object)).toEqual(['bees']);
      const entity = json(await client.readResource({ uri: uri(ns, '/entities/Ann') }));
      expect(entity.edges.map((f: any) => f.predicate)).toEqual(['keeps']);

      await expect(client.readResource({ uri: uri(ns, '/memories/nope') })).rejects.toMatchObject({ code: -32002 });
      await expect(client.readResource({ uri: uri('absent-ns') })).rejects.toMatchObject({ code: -32002 });
      await expect(client.readResource({ uri: 'test://static-text' })).rejects.toMatchObject({ code: -32002 });
      await client.close();
    });

    it('tells subscribers when a memory, its namespace or the facts change (whoever changed them), and stops when unsubscribed', async () => {
      const ns = `${label}-sub`;
      const rest = harness.rest();
      await rest.createNamespace({ name: ns });
      const client = await harness.connect(ns);
      const updated: string[] = [];
      let listChanges = 0;
      client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updated.push(n.params.uri));
      client.setNotificationHandler(ResourceListChangedNotificationSchema, () => void listChanges++);

      // A memory that does not exist yet can be watched: its creation is a change.
      const watched = uri(ns, '/memories/watched');
      await client.subscribeResource({ uri: watched });
      await client.subscribeResource({ uri: uri(ns) });
      await client.subscribeResource({ uri: uri(ns, '/facts') });
      await rest.writeMemories(ns, [{ id: 'watched', text: 'first version' }]);
      await until(() => updated.includes(watched) && updated.includes(uri(ns)), 15_000, 'updates of the memory and its namespace');

      await client.unsubscribeResource({ uri: watched });
      updated.length = 0;
      await rest.writeMemories(ns, [{ id: 'watched', text: 'second version' }, { id: 'other', text: 'another' }]);
      await until(() => updated.includes(uri(ns)), 15_000, 'the namespace update');
      expect(updated).not.toContain(watched);

      await rest.writeFacts(ns, [{ subject: 'Ann', predicate: 'likes', object: 'tea' }]);
      await until(() => updated.includes(uri(ns, '/facts')), 15_000, 'the facts update');

      const before = listChanges;
      await rest.createNamespace({ name: `${ns}-new` });
      await until(() => listChanges > before, 15_000, 'list_changed');
      await client.close();
    });

    it('offers a recall prompt with the context for a query, and one that asks to store what was learned', async () => {
      const ns = `${label}-prompt`;
      const rest = harness.rest();
      await rest.createNamespace({ name: ns });
      await rest.writeMemories(ns, [
        { text: "Ann's cat is called Miso" },
        { text: 'The boiler was serviced in May' },
        { text: 'Ann lives in Leeds', pinned: true },
      ]);
      await rest.writeFacts(ns, [{ subject: 'Ann', predicate: 'owns', object: 'a cat' }]);
      const client = await harness.connect(ns);

      const { prompts } = await client.listPrompts();
      const recall = prompts.find((p) => p.name === 'recall')!;
      expect(prompts.map((p) => p.name).sort()).toEqual(['recall', 'remember']);
      expect(recall.arguments?.map((a) => [a.name, a.required ?? false])).toEqual([
        ['query', true],
        ['namespace', false],
        ['maxTokens', false],
      ]);

      const got = await client.getPrompt({ name: 'recall', arguments: { query: "What is Ann's cat called?" } });
      expect(got.messages).toHaveLength(1);
      const text = (got.messages[0]!.content as { text: string }).text;
      expect(text).toContain('Miso');
      expect(text).toContain('Ann owns a cat');
      // Pinned memories are in the prompt whatever the question.
      expect(text).toContain('Pinned memories:\n- ');
      expect(text).toContain('Ann lives in Leeds');
      const remember = await client.getPrompt({ name: 'remember', arguments: { topic: 'the garden' } });
      const asked = (remember.messages[0]!.content as { text: string }).text;
      for (const part of ['Focus on: the garden', '`remember`', '`remember_many`', '`add_facts`', `namespace "${ns}"`]) expect(asked).toContain(part);
      await expect(client.getPrompt({ name: 'recall', arguments: { query: 'x', namespace: 'no spaces' } })).rejects.toMatchObject({ code: -32602 });
      await expect(client.getPrompt({ name: 'recall', arguments: { query: 'x', maxTokens: 'many' } })).rejects.toMatchObject({ code: -32602 });
      await client.close();
    });

    it('completes namespace names, memory ids by prefix and entity names', async () => {
      const ns = `${label}-complete`;
      const rest = harness.rest();
      await rest.createNamespace({ name: ns });
      await rest.writeMemories(ns, [{ id: 'note-1', text: 'one' }, { id: 'note-2', text: 'two' }, { id: 'other', text: 'three' }]);
      await rest.writeFacts(ns, [{ subject: 'Ann', predicate: 'knows', object: 'Anatole' }, { subject: 'Bob', predicate: 'knows', object: 'Ann' }]);
      const client = await harness.connect(ns);

      const names = await client.complete({ ref: { type: 'ref/prompt', name: 'recall' }, argument: { name: 'namespace', value: `${label}-comp` } });
      expect(names.completion.values).toEqual([ns]);
      const memoryTemplate = { type: 'ref/resource' as const, uri: 'membank://namespaces/{namespace}/memories/{id}' };
      const byPrefix = await client.complete({ ref: memoryTemplate, argument: { name: 'id', value: 'note-' } });
      expect(byPrefix.completion.values.sort()).toEqual(['note-1', 'note-2']);
      const elsewhere = await client.complete({ ref: memoryTemplate, argument: { name: 'id', value: 'm-1' }, context: { arguments: { namespace: `${label}-res` } } });
      expect(elsewhere.completion.values).toContain('m-129');
      const entities = await client.complete({ ref: { type: 'ref/resource', uri: 'membank://namespaces/{namespace}/entities/{name}' }, argument: { name: 'name', value: 'an' } });
      expect(entities.completion.values).toEqual(['Anatole', 'Ann']);
      const none = await client.complete({ ref: { type: 'ref/prompt', name: 'not_a_prompt' }, argument: { name: 'x', value: 'y' } });
      expect(none.completion).toMatchObject({ values: [], hasMore: false });
      await client.close();
    });

    it('sends log notifications about what it does, at the level the client sets', async () => {
      const client = await harness.connect(`${label}-logs`);
      const logs: LoggingMessageNotification['params'][] = [];
      client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params));

      await client.setLoggingLevel('info');
      const stored = await client.callTool({ name: 'remember_many', arguments: { memories: [{ text: 'one' }, { text: 'two' }] } });
      expect(stored.isError).toBeFalsy();
      await until(() => logs.find((l) => (l.data as any).event === 'ingest'), 5000, 'the ingest log');
      expect(logs.find((l) => (l.data as any).event === 'ingest')).toMatchObject({ level: 'info', logger: 'membank', data: { tool: 'remember_many', memories: 2 } });

      // A filter the service refuses (the tool's schema lets any object through).
      const badFilter = { query: 'x', filter: { a: { $regex: 'x' } } };
      await client.callTool({ name: 'recall', arguments: badFilter });
      await until(() => logs.find((l) => l.level === 'error'), 5000, 'the error log');
      expect(logs.find((l) => l.level === 'error')!.data).toMatchObject({ event: 'error', tool: 'recall', code: 'VALIDATION_FAILED' });

      await client.setLoggingLevel('error');
      logs.length = 0;
      await client.callTool({ name: 'remember_many', arguments: { memories: [{ text: 'three' }] } });
      await client.callTool({ name: 'recall', arguments: badFilter });
      // The error is told after the ingest would have been, on the same stream: once it is here, nothing else came.
      await until(() => logs.length > 0, 5000, 'the second error log');
      expect(logs.map((l) => l.level)).toEqual(['error']);
      await client.close();
    });

    it('reports progress of long calls when asked, and stops a cancelled one between batches', async () => {
      const ns = `${label}-progress`;
      const client = await harness.connect(ns);
      const rest = harness.rest();
      const call = async (name: string, args: Record<string, unknown>) => {
        const progress: Progress[] = [];
        const result = await client.callTool({ name, arguments: args }, CallToolResultSchema, { onprogress: (p) => void progress.push(p) });
        expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
        return { result, progress };
      };
      const increasing = (progress: Progress[]) => progress.every((p, i) => i === 0 || p.progress > progress[i - 1]!.progress);
      // The SDK's client handles a notification a microtask after the message it came in, and a response at once:
      // a progress notification that arrives in the same read as the result is dropped. So: a subset, in order.
      const subsetOf = (progress: Progress[], expected: [number, number][]) => {
        expect(progress.length).toBeGreaterThan(0);
        expect(increasing(progress)).toBe(true);
        for (const p of progress) expect(expected).toContainEqual([p.progress, p.total]);
      };

      const many = await call('remember_many', { memories: Array.from({ length: 250 }, (_, i) => ({ text: `fact number ${i}`, metadata: { batch: 'a' } })) });
      subsetOf(many.progress, [
        [0, 250],
        [100, 250],
        [200, 250],
        [250, 250],
      ]);

      const long = Array.from({ length: 60 }, (_, i) => `Paragraph ${i}: the quick brown fox jumps over the lazy dog near the river bank.`).join('\n\n');
      const docs = await call('add_documents', { documents: [{ id: 'long', text: long }, { id: 'short', text: 'A short note.' }] });
      const chunks = (docs.result.structuredContent as any).documents.reduce((n: number, d: any) => n + d.chunks.length, 0);
      expect(chunks).toBeGreaterThan(3);
      const longChunks = (docs.result.structuredContent as any).documents[0].chunks.length;
      subsetOf(docs.progress, [
        [0, chunks],
        [longChunks, chunks],
        [chunks, chunks],
      ]);

      const ids = (await rest.listMemories(ns, { limit: 5 })).memories.map((m) => m.id);
      const byIds = await call('forget', { ids });
      subsetOf(byIds.progress, [0, 1, 2, 3, 4, 5].map((n) => [n, 5]));
      const byFilter = await call('forget', { filter: { batch: 'a' } });
      expect((byFilter.result.structuredContent as any).deleted).toBe(245);
      expect(increasing(byFilter.progress)).toBe(true);

      const reembed = await call('reembed', { embedder: harness.reembedTo });
      const count = (await rest.getNamespace(ns)).count;
      subsetOf(reembed.progress, Array.from({ length: count + 1 }, (_, n) => [n, count]));
      expect((await rest.getNamespace(ns)).embedder).toBe(harness.reembedTo);

      // Cancelled at the first report: the batches written stay, the rest is never written.
      const controller = new AbortController();
      const cancelled = client.callTool(
        { name: 'remember_many', arguments: { memories: Array.from({ length: 5000 }, (_, i) => ({ text: `bulk ${i}`, metadata: { batch: 'b' } })) } },
        CallToolResultSchema,
        { signal: controller.signal, onprogress: (p) => p.progress > 0 && controller.abort('enough') },
      );
      await expect(cancelled).rejects.toThrow();
      const settled = async () => (await rest.query(ns, { query: 'bulk', k: 1000, filter: { batch: 'b' }, include: ['metadata'] })).length;
      let last = -1;
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 300));
        const now = await settled();
        if (now === last) break;
        last = now;
      }
      expect(last).toBeGreaterThanOrEqual(100);
      expect(last).toBeLessThan(1000);
      await client.close();
    });
  });
}
