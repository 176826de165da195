/**
 * membank's data as MCP resources, with stable URIs:
 *
 *   membank://namespaces/{namespace}                a namespace: settings, counts, index (JSON)
 *   membank://namespaces/{namespace}/memories/{id}  a memory: text, metadata, times, strength (JSON)
 *   membank://namespaces/{namespace}/facts          the namespace's current facts (JSON, at most 1,000)
 *   membank://namespaces/{namespace}/entities/{name} an entity: the facts about it and its neighbours (JSON)
 *
 * Ids and entity names are percent-encoded as RFC 6570 expands a simple variable, so the templates listed by
 * resources/templates/list expand to exactly these URIs. resources/list pages through the namespaces a caller may
 * see, then the facts and the memories of the session's namespace.
 */
import { ErrorCode, McpError, type ListResourcesResult, type ReadResourceResult, type Resource, type ResourceTemplate } from '@modelcontextprotocol/sdk/types.js';
import { namespaceName } from '../api/schemas.js';
import type { MembankOps } from './ops.js';

export type ResourceRef =
  | { kind: 'namespace'; namespace: string }
  | { kind: 'memory'; namespace: string; id: string }
  | { kind: 'facts'; namespace: string }
  | { kind: 'entity'; namespace: string; name: string };

/** MCP's code for a resource that does not exist (the specification's example error). */
export const RESOURCE_NOT_FOUND = -32002;
/** Entries of one resources/list page. */
export const LIST_PAGE = 100;
/** Facts a facts resource holds. */
const FACTS_READ = 1000;
const JSON_TYPE = 'application/json';

/** RFC 6570 simple expansion: everything but the unreserved characters is percent-encoded. */
const encode = (value: string) => encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export const uriOf = (ref: ResourceRef): string => {
  const base = `membank://namespaces/${ref.namespace}`;
  switch (ref.kind) {
    case 'namespace':
      return base;
    case 'memory':
      return `${base}/memories/${encode(ref.id)}`;
    case 'facts':
      return `${base}/facts`;
    case 'entity':
      return `${base}/entities/${encode(ref.name)}`;
  }
};

const URI = /^membank:\/\/namespaces\/([^/?#]+)(?:\/(?:(memories|entities)\/([^/?#]+)|(facts)))?$/;

/** The resource a URI names, or undefined when it is not one of membank's. */
export function parseUri(uri: string): ResourceRef | undefined {
  const match = URI.exec(uri);
  if (!match) return undefined;
  const [, namespace, collection, encoded, facts] = match;
  if (!namespaceName.safeParse(namespace).success) return undefined;
  const ns = namespace!;
  if (facts) return { kind: 'facts', namespace: ns };
  if (!collection) return { kind: 'namespace', namespace: ns };
  let value: string;
  try {
    value = decodeURIComponent(encoded!);
  } catch {
    return undefined; // a malformed percent-escape names nothing
  }
  return collection === 'memories' ? { kind: 'memory', namespace: ns, id: value } : { kind: 'entity', namespace: ns, name: value };
}

export const TEMPLATES: (ResourceTemplate & { variables: string[] })[] = [
  {
    uriTemplate: 'membank://namespaces/{namespace}',
    name: 'namespace',
    title: 'Namespace',
    description: "A namespace's settings, memory and fact counts, index state and latest forgetting runs.",
    mimeType: JSON_TYPE,
    variables: ['namespace'],
  },
  {
    uriTemplate: 'membank://namespaces/{namespace}/memories/{id}',
    name: 'memory',
    title: 'Memory',
    description: 'One memory: its text, metadata, event time, importance, strength and recalls.',
    mimeType: JSON_TYPE,
    variables: ['namespace', 'id'],
  },
  {
    uriTemplate: 'membank://namespaces/{namespace}/facts',
    name: 'facts',
    title: 'Facts',
    description: "The namespace's current facts (subject, predicate, object, validity), at most 1,000.",
    mimeType: JSON_TYPE,
    variables: ['namespace'],
  },
  {
    uriTemplate: 'membank://namespaces/{namespace}/entities/{name}',
    name: 'entity',
    title: 'Entity',
    description: 'An entity of the facts (a subject or object) with the facts that link it to its neighbours.',
    mimeType: JSON_TYPE,
    variables: ['namespace', 'name'],
  },
];

export const notFound = (uri: string, why = 'Resource not found'): McpError => new McpError(RESOURCE_NOT_FOUND, `${why}: ${uri}`, { uri });

const missing = (error: unknown) => ['NAMESPACE_NOT_FOUND', 'MEMORY_NOT_FOUND'].includes((error as { code?: string }).code ?? '');

/** The resource's contents as JSON text; what it is made of is what a subscription to it watches. */
export async function resourceContent(ops: MembankOps, ref: ResourceRef): Promise<unknown> {
  switch (ref.kind) {
    case 'namespace':
      return ops.getNamespace(ref.namespace);
    case 'memory':
      return ops.getMemory(ref.namespace, ref.id);
    case 'facts':
      return { facts: await ops.readFacts(ref.namespace, { limit: FACTS_READ }) };
    case 'entity':
      return ops.entity(ref.namespace, ref.name);
  }
}

export async function readResource(ops: MembankOps, uri: string, canSee: (ns: string) => boolean): Promise<ReadResourceResult> {
  const ref = parseUri(uri);
  // A namespace the caller may not see reads as one that does not exist, as on every REST route.
  if (!ref || !canSee(ref.namespace)) throw notFound(uri);
  let content: unknown;
  try {
    content = await resourceContent(ops, ref);
  } catch (error) {
    if (missing(error)) throw notFound(uri, (error as Error).message);
    throw error;
  }
  return { contents: [{ uri: uriOf(ref), mimeType: JSON_TYPE, text: JSON.stringify(content, null, 2) }] };
}

type Cursor = { s: 'n'; a?: string } | { s: 'f' } | { s: 'm'; c?: string };

const encodeCursor = (cursor: Cursor) => Buffer.from(JSON.stringify(cursor)).toString('base64url');

function decodeCursor(text: string): Cursor {
  try {
    const cursor = JSON.parse(Buffer.from(text, 'base64url').toString()) as Cursor;
    if (cursor && ['n', 'f', 'm'].includes(cursor.s)) return cursor;
  } catch {
    // fall through: not a cursor of ours
  }
  throw new McpError(ErrorCode.InvalidParams, 'The cursor is not one this server returned.');
}

const preview = (text: string | null) => {
  if (text === null) return '(vector only)';
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 80 ? `${line.slice(0, 79)}…` : line;
};

/**
 * One page of resources/list: the namespaces the caller may see (by name), then the session's namespace's
 * facts resource and its memories (in the order the service lists them). The cursor says where the next page
 * starts; a page holds at most LIST_PAGE entries.
 */
export async function listResources(ops: MembankOps, options: { namespace: string; canSee: (ns: string) => boolean; cursor?: string }): Promise<ListResourcesResult> {
  const resources: Resource[] = [];
  let state: Cursor | undefined = options.cursor === undefined ? { s: 'n' } : decodeCursor(options.cursor);
  const ns = options.namespace;
  while (state && resources.length < LIST_PAGE) {
    if (state.s === 'n') {
      const after: string | undefined = state.a;
      const names: string[] = (await ops.listNamespaces())
        .map((n) => n.name)
        .filter((name) => options.canSee(name) && (after === undefined || name > after))
        .sort();
      const page: string[] = names.slice(0, LIST_PAGE - resources.length);
      for (const name of page) {
        resources.push({ uri: uriOf({ kind: 'namespace', namespace: name }), name, title: `Namespace ${name}`, mimeType: JSON_TYPE });
      }
      state = page.length < names.length ? { s: 'n', a: page.at(-1)! } : { s: 'f' };
    } else if (state.s === 'f') {
      const exists = options.canSee(ns) && (await ops.listNamespaces()).some((n) => n.name === ns);
      if (!exists) {
        state = undefined;
        break;
      }
      resources.push({ uri: uriOf({ kind: 'facts', namespace: ns }), name: `${ns} facts`, title: `Facts of ${ns}`, mimeType: JSON_TYPE });
      state = { s: 'm' };
    } else {
      let page;
      try {
        page = await ops.listMemories(ns, { limit: LIST_PAGE - resources.length, cursor: state.c });
      } catch (error) {
        if (!missing(error)) throw error;
        state = undefined; // the namespace went away between two pages
        break;
      }
      for (const memory of page.memories) {
        resources.push({
          uri: uriOf({ kind: 'memory', namespace: ns, id: memory.id }),
          name: memory.id,
          title: preview(memory.text),
          mimeType: JSON_TYPE,
          annotations: { lastModified: memory.updatedAt },
        });
      }
      state = page.nextCursor ? { s: 'm', c: page.nextCursor } : undefined;
    }
  }
  return { resources, ...(state && { nextCursor: encodeCursor(state) }) };
}

export const listTemplates = () => ({ resourceTemplates: TEMPLATES.map(({ variables: _variables, ...template }) => template) });
