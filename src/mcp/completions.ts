/**
 * completion/complete: suggestions for the arguments of membank's prompts and resource templates — namespace
 * names, entity names (the subjects and objects of facts) and memory ids, by prefix. An argument membank knows
 * nothing to suggest for (or a prompt or template it does not have) gets an empty list, which the specification
 * allows: there is simply nothing to complete. Where only part of the candidates is looked at (memory ids, facts),
 * an answer that may have missed some says `hasMore` and gives no `total`.
 */
import type { CompleteRequest, CompleteResult } from '@modelcontextprotocol/sdk/types.js';
import type { MembankOps } from './ops.js';
import { TEMPLATES } from './resources.js';

/** The most values one answer carries (the specification's limit). */
const MAX_VALUES = 100;
/**
 * Memories looked at for an id prefix. The service has no lookup by id prefix (findMemories selects by metadata,
 * text and whole ids), so the completion reads the namespace in insertion order and stops here.
 */
export const ID_SCAN_LIMIT = 2000;
/** Facts looked at for entity names. */
const FACT_SCAN_LIMIT = 1000;

const EMPTY: CompleteResult = { completion: { values: [], hasMore: false } };

/** Values found, and whether every candidate was looked at (when not, the total is unknown). */
interface Found {
  values: string[];
  complete: boolean;
}

function answer({ values, complete }: Found): CompleteResult {
  const hasMore = values.length > MAX_VALUES || !complete;
  // `total` only when it is known: a scan cut short may have missed matches.
  return { completion: { values: values.slice(0, MAX_VALUES), ...(complete && { total: values.length }), hasMore } };
}

async function namespaces(ops: MembankOps, prefix: string, canSee: (ns: string) => boolean): Promise<Found> {
  const values = (await ops.listNamespaces())
    .map((n) => n.name)
    .filter((name) => canSee(name) && name.startsWith(prefix))
    .sort();
  return { values, complete: true };
}

/** Ids starting with the prefix among the first ID_SCAN_LIMIT memories; it stops early once a page is full. */
async function memoryIds(ops: MembankOps, ns: string, prefix: string): Promise<Found> {
  const values: string[] = [];
  let cursor: string | undefined;
  let seen = 0;
  do {
    const page = await ops.listMemories(ns, { limit: Math.min(1000, ID_SCAN_LIMIT - seen), cursor });
    seen += page.memories.length;
    for (const m of page.memories) if (m.id.startsWith(prefix)) values.push(m.id);
    cursor = page.nextCursor ?? undefined;
  } while (cursor && seen < ID_SCAN_LIMIT && values.length <= MAX_VALUES);
  return { values, complete: cursor === undefined };
}

/** Facts match names without regard to case, so completions do too. */
async function entityNames(ops: MembankOps, ns: string, prefix: string): Promise<Found> {
  const facts = await ops.readFacts(ns, { limit: FACT_SCAN_LIMIT });
  const lower = prefix.toLowerCase();
  const names = new Set(facts.flatMap((f) => [f.subject, f.object]).filter((name) => name.toLowerCase().startsWith(lower)));
  return { values: [...names].sort((a, b) => a.localeCompare(b)), complete: facts.length < FACT_SCAN_LIMIT };
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
