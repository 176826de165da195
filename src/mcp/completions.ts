/**
 * completion/complete: suggestions for the arguments of membank's prompts and resource templates — namespace
 * names, entity names (the subjects and objects of facts) and memory ids, by prefix. An argument membank knows
 * nothing to suggest for (or a prompt or template it does not have) gets an empty list, which the specification
 * allows: there is simply nothing to complete.
 */
import type { CompleteRequest, CompleteResult } from '@modelcontextprotocol/sdk/types.js';
import type { MembankOps } from './ops.js';
import { TEMPLATES } from './resources.js';

/** The most values one answer carries (the specification's limit). */
const MAX_VALUES = 100;
/** Memories looked at for an id prefix: there is no index by id prefix, so the search is bounded. */
export const ID_SCAN_LIMIT = 2000;
/** Facts looked at for entity names. */
const FACT_SCAN_LIMIT = 1000;

const EMPTY: CompleteResult = { completion: { values: [], hasMore: false } };

function answer(values: string[]): CompleteResult {
  return { completion: { values: values.slice(0, MAX_VALUES), total: values.length, hasMore: values.length > MAX_VALUES } };
}

async function namespaces(ops: MembankOps, prefix: string, canSee: (ns: string) => boolean): Promise<string[]> {
  return (await ops.listNamespaces())
    .map((n) => n.name)
    .filter((name) => canSee(name) && name.startsWith(prefix))
    .sort();
}

async function memoryIds(ops: MembankOps, ns: string, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor: string | undefined;
  let seen = 0;
  do {
    const page = await ops.listMemories(ns, { limit: 1000, cursor });
    seen += page.memories.length;
    for (const m of page.memories) if (m.id.startsWith(prefix)) found.push(m.id);
    cursor = page.nextCursor ?? undefined;
  } while (cursor && seen < ID_SCAN_LIMIT && found.length <= MAX_VALUES);
  return found;
}

/** Facts match names without regard to case, so completions do too. */
async function entityNames(ops: MembankOps, ns: string, prefix: string): Promise<string[]> {
  const facts = await ops.readFacts(ns, { limit: FACT_SCAN_LIMIT });
  const lower = prefix.toLowerCase();
  const names = new Set(facts.flatMap((f) => [f.subject, f.object]).filter((name) => name.toLowerCase().startsWith(lower)));
  return [...names].sort((a, b) => a.localeCompare(b));
}

export interface CompletionScope {
  ops: MembankOps;
  /** The session's namespace: the one an id or a name is completed in when the request does not say. */
  namespace: string;
  canSee: (ns: string) => boolean;
  /** Prompt name → its arguments that take a namespace. */
  promptNamespaceArgs: Record<string, string[]>;
}

export async function complete(scope: CompletionScope, params: CompleteRequest['params']): Promise<CompleteResult> {
  const { ops, canSee } = scope;
  const { ref, argument } = params;
  const given = params.context?.arguments ?? {};
  const ns = given.namespace ?? scope.namespace;
  try {
    if (ref.type === 'ref/prompt') {
      return scope.promptNamespaceArgs[ref.name]?.includes(argument.name) ? answer(await namespaces(ops, argument.value, canSee)) : EMPTY;
    }
    const template = TEMPLATES.find((t) => t.uriTemplate === ref.uri);
    if (!template?.variables.includes(argument.name)) return EMPTY;
    if (argument.name === 'namespace') return answer(await namespaces(ops, argument.value, canSee));
    if (!canSee(ns)) return EMPTY;
    if (argument.name === 'id') return answer(await memoryIds(ops, ns, argument.value));
    if (argument.name === 'name') return answer(await entityNames(ops, ns, argument.value));
    return EMPTY;
  } catch (error) {
    // Suggestions in a namespace that does not exist (yet), or could not: none.
    if (['NAMESPACE_NOT_FOUND', 'VALIDATION_FAILED'].includes((error as { code?: string }).code ?? '')) return EMPTY;
    throw error;
  }
}
