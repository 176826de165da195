/**
 * The operations the MCP server is written against. Two implementations: the MembankClient (a running service,
 * over REST) satisfies the interface as it is; `inProcessOps` calls the services directly (the /mcp mount, and
 * `membank mcp` embedded), validating with the same zod schemas as the REST routes so both paths accept and
 * refuse the same input.
 *
 * Both may carry `events`: what changed, for resource subscriptions and log notifications. In-process they come
 * from the service's change feed; over REST only this process's own writes can be seen (`withOwnEvents`), and
 * `covers` says which kinds of change the feed sees from every writer, so that the rest is polled.
 */
import { z } from 'zod';
import {
  contextBody,
  createNamespaceBody,
  deleteFactsBody,
  entityQuery,
  eraseBody,
  forgetBody,
  jobId,
  listMemoriesQuery,
  namespaceName,
  queryBody,
  readFactsQuery,
  reembedBody,
  searchFactsBody,
  writeDocumentsBody,
  writeFactsBody,
  writeMemoriesBody,
  type IncludeField,
} from '../api/schemas.js';
import type { MembankClient } from '../client/client.js';
import { sourceOf } from '../core/context.js';
import { fromZod } from '../http/errors.js';
import { contextMemoryView, factView, hitView, memoryView, namespaceStatsView, namespaceView } from '../http/views.js';
import type { ContextService } from '../service/context-service.js';
import type { FactService } from '../service/fact-service.js';
import type { ChangeEvent, MemoryService } from '../service/memory-service.js';

/**
 * A committed change as the MCP edge needs it. The service's feed names every memory a change touched, deletes by
 * filter, erases and forgetting runs included, so subscriptions to other memories hear nothing of it. Empty `ids`
 * (or `entities`) mean "some, not known which", which only this process's own writes over REST still give (a
 * forgetting run, an erase by filter, a document's delete: their answers do not list the ids) and a fact deleted
 * by id.
 */
export type Change =
  | { kind: 'memories'; namespace: string; ids: string[] }
  | { kind: 'facts'; namespace: string; entities: string[] }
  | { kind: 'namespace'; namespace: string; op: 'created' | 'updated' | 'deleted' };

/** A forgetting run (scheduled or manual), as log notifications report it. */
export interface ForgetRunEvent {
  namespace: string;
  trigger: 'scheduled' | 'manual';
  expired: number;
  forgotten: number;
  durationMs: number;
}

export interface OpsEvents {
  /** The kinds of change this feed reports for every writer; other kinds it reports for this process at most. */
  covers: ReadonlySet<Change['kind']>;
  onChange(listener: (change: Change) => void): () => void;
  onForgetRun(listener: (run: ForgetRunEvent) => void): () => void;
}

/** The client's methods that the MCP server uses. */
export const OPERATIONS = [
  'createNamespace',
  'listNamespaces',
  'getNamespace',
  'writeMemories',
  'writeDocuments',
  'listMemories',
  'getMemory',
  'deleteMemory',
  'deleteDocument',
  'query',
  'context',
  'forget',
  'erase',
  'reembed',
  'getJob',
  'writeFacts',
  'readFacts',
  'searchFacts',
  'deleteFact',
  'deleteFacts',
  'entity',
] as const satisfies readonly (keyof MembankClient)[];

export type MembankOps = Pick<MembankClient, (typeof OPERATIONS)[number]> & { events?: OpsEvents };

/** The operations of an object that has them (a client instance keeps its methods on the prototype). */
export function bindOps(source: MembankOps): MembankOps {
  const bound = Object.fromEntries(OPERATIONS.map((name) => [name, (source[name] as (...args: unknown[]) => unknown).bind(source)]));
  return { ...(bound as Omit<MembankOps, 'events'>), ...(source.events && { events: source.events }) };
}

function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw fromZod(result.error);
  return result.data;
}

const text = (value: unknown) => (value === undefined ? undefined : String(value));

/** A tiny fan-out; a listener that throws is the listener's bug and must not fail the write that was told. */
function listeners<T>() {
  const set = new Set<(value: T) => void>();
  return {
    add(listener: (value: T) => void): () => void {
      set.add(listener);
      return () => set.delete(listener);
    },
    emit(value: T): void {
      for (const listener of set) {
        try {
          listener(value);
        } catch (error) {
          // Said on stderr, as Node says what it cannot act on; the write that was told has happened.
          process.emitWarning(`a membank change listener failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        }
      }
    },
  };
}

/**
 * The service's change event in the edge's terms (the one place that knows its shape): `{kind: 'memories',
 * namespace, op, ids, seq}`, whose ids are exactly the memories written or deleted.
 */
export function changeOf(event: ChangeEvent): Change {
  return event.kind === 'memories'
    ? { kind: 'memories', namespace: event.namespace, ids: [...event.ids] }
    : { kind: 'namespace', namespace: event.namespace, op: event.op };
}

/** What erase was given as the body the route takes: a selection (`{filter?, textFilter?, ids?}`), else a bare `Where`. */
function eraseSelection(what: unknown): z.output<typeof eraseBody> {
  const selection = eraseBody.safeParse(what);
  return selection.success ? selection.data : parse(eraseBody, { filter: what });
}

const factEntities = (facts: { subject?: string; object?: string }[]): string[] => [
  ...new Set(facts.flatMap((f) => [f.subject, f.object]).filter((name): name is string => typeof name === 'string')),
];

export function inProcessOps({ service, facts, context }: { service: MemoryService; facts: FactService; context: ContextService }): MembankOps {
  const ns = (name: string) => parse(namespaceName, name);
  // The service reports memories and namespaces; facts change through FactService, which reports nothing, so
  // the facts written here are told by this object itself (writes over REST are not: see `covers`).
  const changes = listeners<Change>();
  const forgetRuns = listeners<ForgetRunEvent>();
  service.onForgetRun((namespace, run) => forgetRuns.emit({ namespace, ...run }));
  const factsChanged = (namespace: string, entities: string[]) => changes.emit({ kind: 'facts', namespace, entities });

  return {
    events: {
      covers: new Set(['memories', 'namespace']),
      onChange(listener) {
        const stopService = service.onChange((event) => listener(changeOf(event)));
        const stopLocal = changes.add(listener);
        return () => {
          stopService();
          stopLocal();
        };
      },
      onForgetRun: (listener) => forgetRuns.add(listener),
    },
    async createNamespace(body) {
      return namespaceView((await service.createNamespace(parse(createNamespaceBody, body))).namespace);
    },
    async listNamespaces() {
      return (await service.listNamespaces()).map(namespaceView);
    },
    async getNamespace(name) {
      return namespaceStatsView(await service.describeNamespace(ns(name)));
    },
    async writeMemories(name, memories) {
      return (await service.writeMemories(ns(name), parse(writeMemoriesBody, { memories }).memories)).ids;
    },
    async writeDocuments(name, documents, chunking) {
      const body = parse(writeDocumentsBody, chunking === undefined ? { documents } : { documents, chunking });
      return (await service.writeDocuments(ns(name), body.documents, body.chunking)).documents;
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
      const memory = await service.getMemory(ns(name), id, options.vector === true);
      return { ...memoryView(memory), retention: await service.retentionOf(name, memory) };
    },
    async deleteMemory(name, id) {
      await service.deleteMemory(ns(name), id);
    },
    async deleteDocument(name, id) {
      await service.deleteDocument(ns(name), id);
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
    async forget(name, body) {
      return service.forget(ns(name), parse(forgetBody, body));
    },
    async erase(name: string, what: unknown) {
      return service.erase(ns(name), eraseSelection(what));
    },
    async reembed(name, embedder) {
      return service.reembed(ns(name), parse(reembedBody, { embedder }).embedder);
    },
    async getJob(id) {
      return service.getJob(parse(jobId, id));
    },
    async writeFacts(name, inputs) {
      const parsed = parse(writeFactsBody, { facts: inputs }).facts;
      const { ids } = await facts.write(ns(name), parsed);
      factsChanged(name, factEntities(parsed));
      return ids;
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
      factsChanged(name, []);
    },
    async deleteFacts(name, pattern) {
      const parsed = parse(deleteFactsBody, pattern);
      const { deleted } = await facts.deleteMatching(ns(name), parsed);
      if (deleted > 0) factsChanged(name, factEntities([parsed]));
      return deleted;
    },
    async entity(name, entity, depth) {
      const { depth: parsedDepth } = parse(entityQuery, { depth: text(depth) });
      const graph = await facts.entity(ns(name), entity, parsedDepth);
      return { nodes: graph.nodes, edges: graph.edges.map(factView) };
    },
  };
}

/**
 * Operations over REST that tell their own writes as changes: a client sees no one else's, so `covers` is empty
 * and subscriptions to what others change are polled (see resources.ts).
 */
export function withOwnEvents(ops: MembankOps): MembankOps {
  const changes = listeners<Change>();
  const told =
    <A extends unknown[], R>(run: (...args: A) => Promise<R>, change: (args: A, result: R) => Change | undefined) =>
    async (...args: A): Promise<R> => {
      const result = await run(...args);
      const what = change(args, result);
      if (what) changes.emit(what);
      return result;
    };
  const memories = (namespace: string, ids: string[]): Change => ({ kind: 'memories', namespace, ids });
  const factsOf = (namespace: string, entities: string[]): Change => ({ kind: 'facts', namespace, entities });
  return {
    ...bindOps(ops),
    events: {
      covers: new Set(),
      onChange: (listener) => changes.add(listener),
      onForgetRun: () => () => {},
    },
    createNamespace: told(ops.createNamespace.bind(ops), ([body]) => ({ kind: 'namespace', namespace: body.name, op: 'created' })),
    writeMemories: told(ops.writeMemories.bind(ops), ([namespace], ids) => memories(namespace, ids)),
    writeDocuments: told(ops.writeDocuments.bind(ops), ([namespace], docs) => memories(namespace, docs.flatMap((d) => d.chunks))),
    deleteMemory: told(ops.deleteMemory.bind(ops), ([namespace, id]) => memories(namespace, [id])),
    deleteDocument: told(ops.deleteDocument.bind(ops), ([namespace]) => memories(namespace, [])),
    forget: told(ops.forget.bind(ops), ([namespace, body], outcome) => (outcome.dryRun || body.dryRun ? undefined : memories(namespace, []))),
    // An erase by ids touches those (at most); one by a filter alone, some not known.
    erase: told(ops.erase.bind(ops) as (ns: string, what: unknown) => Promise<number>, ([namespace, what]) => {
      const ids = eraseBody.safeParse(what).data?.ids;
      return memories(namespace, ids ?? []);
    }) as MembankOps['erase'],
    writeFacts: told(ops.writeFacts.bind(ops), ([namespace, facts]) => factsOf(namespace, factEntities(facts))),
    deleteFact: told(ops.deleteFact.bind(ops), ([namespace]) => factsOf(namespace, [])),
    deleteFacts: told(ops.deleteFacts.bind(ops), ([namespace, pattern]) => factsOf(namespace, factEntities([pattern]))),
  };
}
