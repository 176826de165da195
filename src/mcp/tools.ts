/**
 * membank's own MCP tools. Each tool is one entry of TOOLS (name, description, input schema built from the REST
 * schemas' fields, and a run function over MembankOps), so a new capability is one more entry here, plus its
 * method on MembankOps (the client's method, and a call to the service in inProcessOps). Results are short text
 * an LLM reads well, plus the same data as structuredContent. Long calls (many memories, documents, forgetting
 * by filter, re-embedding) report progress and stop between batches when cancelled (see call.ts).
 */
import { z } from 'zod';
import { contextBody, documentInput, memoryInput, queryBody, readFactsQuery, reembedBody, searchFactsBody, writeFactsBody } from '../api/schemas.js';
import type { Fact, MemoryRequest, QueryResult } from '../client/types.js';
import { chunkText, DEFAULT_CHUNKING } from '../core/chunking.js';
import { CancelledError, inBatches, quietContext, withChangeProgress, type ToolContext } from './call.js';
import type { MembankOps } from './ops.js';

export interface ToolResult {
  text: string;
  structured: Record<string, unknown>;
}

export interface ToolDefinition<S extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  input: S;
  /** Hints for hosts: a read-only tool may run without asking; a destructive one deserves a confirmation. */
  effect: 'read' | 'write' | 'delete';
  run(ops: MembankOps, namespace: string, args: z.output<S>, ctx: ToolContext): Promise<ToolResult>;
}

/** Keeps each entry's args typed by its own schema while TOOLS holds them all. */
export const defineTool = <S extends z.ZodObject>(tool: ToolDefinition<S>): ToolDefinition => tool as unknown as ToolDefinition;

/**
 * Filters are validated by the service (Chroma's Where language); the tool schema only says it is an object,
 * because the REST schema's transform has no JSON Schema of its own.
 */
const whereFilter = z
  .record(z.string(), z.unknown())
  .describe('Metadata filter in Chroma\'s Where language, e.g. {"user": "ann"} or {"year": {"$gte": 2020}}.');

const memoryShape = memoryInput.shape;
const rememberItem = z.strictObject({
  text: memoryShape.text.unwrap().describe('What to remember, in plain words.'),
  metadata: memoryShape.metadata.describe('Optional JSON fields to filter on later, e.g. {"user": "ann"}.'),
  timestamp: memoryShape.timestamp.describe('When it happened (ISO 8601 or epoch ms); defaults to now.'),
  id: memoryShape.id.describe('Optional stable id; remembering the same id again replaces it.'),
  importance: memoryShape.importance.describe('0 to 1: how much it matters; important memories fade up to five times slower.'),
  ttl: memoryShape.ttl.describe('Seconds until it expires (for things true only for a while).'),
  pinned: memoryShape.pinned.describe('Always in context (get_context, the context prompt) and never forgotten, e.g. the user\'s name or standing preferences.'),
});

/** Memories per write of remember_many: one request each, between which progress is told and a cancel stops. */
export const WRITE_BATCH = 100;
/** How often a re-embedding job is looked at while a call waits for it. */
const JOB_POLL_MS = 200;
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

const day = (iso: string) => iso.slice(0, 10);
const compact = (value: unknown) => (value && typeof value === 'object' && Object.keys(value).length > 0 ? ` ${JSON.stringify(value)}` : '');

export function formatHits(hits: QueryResult[]): string {
  if (hits.length === 0) return 'No memories found.';
  return hits
    .map((hit, i) => `${i + 1}. ${hit.text ?? '(no text)'}\n   id: ${hit.id} · ${day(hit.timestamp)} · score ${hit.score.toFixed(3)}${compact(hit.metadata)}`)
    .join('\n');
}

export function formatFacts(facts: (Fact & { score?: number })[]): string {
  if (facts.length === 0) return 'No facts found.';
  return facts
    .map((f) => {
      const when = [f.validFrom && `from ${day(f.validFrom)}`, f.validTo && `until ${day(f.validTo)}`].filter(Boolean).join(' ');
      const score = f.score === undefined ? '' : ` · score ${f.score.toFixed(3)}`;
      const status = f.invalidatedAt ? ' · superseded' : '';
      return `- ${f.subject} · ${f.predicate} · ${f.object}${when ? ` (${when})` : ''}\n  id: ${f.id}${score}${status}`;
    })
    .join('\n');
}


export const TOOLS: ToolDefinition[] = [
  defineTool({
    name: 'remember',
    effect: 'write',
    title: 'Remember',
    description: 'Store a memory (something about the user, a decision, a note) so it can be recalled later by meaning. One memory per call; call it several times for several.',
    input: rememberItem,
    async run(ops, ns, memory) {
      // A duplicate of a live memory (same text once normalized) reinforces it: the id is the existing one.
      const [id] = await ops.writeMemories(ns, [memory as MemoryRequest]);
      return { text: `Remembered (id: ${id}).`, structured: { id } };
    },
  }),
  defineTool({
    name: 'remember_many',
    effect: 'write',
    title: 'Remember many',
    description: `Store many memories in one call (up to 10,000, e.g. a conversation's turns or an imported list), ${WRITE_BATCH} per write; reports progress and stops between writes when cancelled.`,
    input: z.strictObject({ memories: z.array(rememberItem).min(1).max(10_000).describe('The memories, each as for remember.') }),
    async run(ops, ns, { memories }, ctx) {
      const started = performance.now();
      const ids = await inBatches(memories, WRITE_BATCH, ctx, (batch) => ops.writeMemories(ns, batch as MemoryRequest[]), (done, total) => `stored ${done} of ${total}`);
      ctx.log('info', { event: 'ingest', namespace: ns, memories: ids.length, ms: Math.round(performance.now() - started) });
      return { text: `Remembered ${plural(ids.length, 'memory', 'memories')}.`, structured: { ids } };
    },
  }),
  defineTool({
    name: 'add_documents',
    effect: 'write',
    title: 'Add documents',
    description:
      'Store long texts (notes, pages, transcripts) as documents: each is cut into overlapping chunks that are recalled like memories, and can be forgotten as a whole by its id. Reports progress in chunks, document by document, and stops between documents when cancelled.',
    input: z.strictObject({
      documents: z
        .array(
          z.strictObject({
            text: documentInput.shape.text.describe('The document, in plain text or Markdown.'),
            id: documentInput.shape.id.describe('Optional stable id; adding the same id again replaces the document.'),
            metadata: documentInput.shape.metadata.describe('Optional JSON fields, given to every chunk, to filter on later.'),
            timestamp: documentInput.shape.timestamp.describe('When it was written (ISO 8601 or epoch ms); defaults to now.'),
          }),
        )
        .min(1)
        .max(100),
    }),
    async run(ops, ns, { documents }, ctx) {
      const started = performance.now();
      // The service cuts each document with the same function and settings, so the total is exact.
      const total = documents.reduce((n, d) => n + chunkText(d.text, DEFAULT_CHUNKING).length, 0);
      let done = 0;
      const written: { id: string; chunks: string[] }[] = [];
      await ctx.progress(0, total, `0 of ${total} chunks`);
      for (const document of documents) {
        if (ctx.signal.aborted) throw new CancelledError(written.length);
        const [result] = await ops.writeDocuments(ns, [document]);
        written.push(result!);
        done += result!.chunks.length;
        await ctx.progress(done, Math.max(total, done), `${done} of ${total} chunks (${written.length} of ${documents.length} documents)`);
      }
      ctx.log('info', { event: 'ingest', namespace: ns, documents: written.length, chunks: done, ms: Math.round(performance.now() - started) });
      const list = written.map((d) => `${d.id} (${plural(d.chunks.length, 'chunk')})`).join(', ');
      return { text: `Added ${plural(written.length, 'document')}: ${list}.`, structured: { documents: written } };
    },
  }),
  defineTool({
    name: 'recall',
    effect: 'read',
    title: 'Recall',
    description: 'Find the memories closest in meaning to a question, best first.',
    input: z.strictObject({
      query: queryBody.shape.query.unwrap().describe('What to look for, as a question or keywords.'),
      k: z.int().min(1).max(100).default(5).describe('How many memories to return.'),
      filter: whereFilter.optional(),
    }),
    async run(ops, ns, { query, k, filter }) {
      const results = await ops.query(ns, { query, k, ...(filter && { filter }) });
      return { text: formatHits(results), structured: { results } };
    },
  }),
  defineTool({
    name: 'get_context',
    effect: 'read',
    title: 'Get context',
    description:
      'The memories (and, with includeFacts, the facts) most relevant to a question, as ready-to-read lines with time and source, within a token budget. Use it before answering a question about the user or the past.',
    input: z.strictObject({
      query: contextBody.shape.query.describe('The question or topic.'),
      maxTokens: contextBody.shape.maxTokens.default(1000).describe('Token budget of the context text.'),
      includeFacts: contextBody.shape.includeFacts,
      order: contextBody.shape.order,
    }),
    async run(ops, ns, args) {
      const built = await ops.context(ns, args);
      return { text: built.context || 'No relevant memories.', structured: built as unknown as Record<string, unknown> };
    },
  }),
  defineTool({
    name: 'forget',
    effect: 'delete',
    title: 'Forget',
    description:
      'Delete memories by id, or erase every memory whose metadata matches a filter (for good: rows, index entries, text). Reports progress; a cancel stops between two deletions by id, while an erase by filter, once begun, runs to its end.',
    input: z
      .strictObject({
        ids: z.array(memoryShape.id.unwrap()).min(1).max(1000).optional(),
        filter: whereFilter.optional(),
      })
      .refine((a) => (a.ids === undefined) !== (a.filter === undefined), { message: 'Give exactly one of ids or filter.' }),
    async run(ops, ns, args, ctx) {
      const { deleted, missing } = await forgetMemories(ops, ns, args, ctx);
      if (deleted > 0) ctx.log('info', { event: 'forget', namespace: ns, deleted });
      const note = missing.length > 0 ? ` (${missing.length} not found: ${missing.slice(0, 10).join(', ')})` : '';
      return { text: `Forgot ${deleted} ${deleted === 1 ? 'memory' : 'memories'}${note}.`, structured: { deleted, missing } };
    },
  }),
  defineTool({
    name: 'add_facts',
    effect: 'write',
    title: 'Add facts',
    description:
      'Record facts as subject–predicate–object triples, e.g. {subject: "Ann", predicate: "lives_in", object: "Paris"}. mode "replace" supersedes the current object of the same subject and predicate.',
    input: writeFactsBody,
    async run(ops, ns, { facts }) {
      const ids = await ops.writeFacts(ns, facts);
      return { text: `Recorded ${ids.length} ${ids.length === 1 ? 'fact' : 'facts'}: ${ids.join(', ')}`, structured: { ids } };
    },
  }),
  defineTool({
    name: 'query_facts',
    effect: 'read',
    title: 'Query facts',
    description: 'Read facts matching a subject, predicate and/or object (exact, case-insensitive). asOf: what held at a time; history: include superseded facts.',
    input: z.strictObject({
      subject: readFactsQuery.shape.subject,
      predicate: readFactsQuery.shape.predicate,
      object: readFactsQuery.shape.object,
      asOf: readFactsQuery.shape.asOf,
      knownAt: readFactsQuery.shape.knownAt,
      history: z.boolean().optional(),
      limit: z.int().min(1).max(1000).default(100),
    }),
    async run(ops, ns, args) {
      const facts = await ops.readFacts(ns, args);
      return { text: formatFacts(facts), structured: { facts } };
    },
  }),
  defineTool({
    name: 'search_facts',
    effect: 'read',
    title: 'Search facts',
    description: 'Find the facts closest in meaning to a question, best first.',
    input: z.strictObject({ ...searchFactsBody.shape, filter: whereFilter.optional() }),
    async run(ops, ns, args) {
      const results = await ops.searchFacts(ns, args);
      return { text: formatFacts(results), structured: { results } };
    },
  }),
  defineTool({
    name: 'reembed',
    effect: 'write',
    title: 'Re-embed',
    description:
      "Re-embed every memory of the namespace with another embedder (e.g. a better model), in a background job; the namespace keeps answering meanwhile. Waits for the job and reports its progress; cancelling stops the wait, not the job.",
    input: z.strictObject({ embedder: reembedBody.shape.embedder.describe('The embedder, e.g. "use-lite" or "transformers:Xenova/all-MiniLM-L6-v2".') }),
    async run(ops, ns, { embedder }, ctx) {
      let job = await ops.reembed(ns, embedder);
      let reported = -1;
      while (job.status === 'running') {
        if (job.done > reported) {
          reported = job.done;
          await ctx.progress(job.done, job.total, `${job.done} of ${job.total} memories re-embedded`);
        }
        await abortableSleep(JOB_POLL_MS, ctx.signal);
        job = await ops.getJob(job.id);
      }
      if (job.status !== 'done') throw new Error(`The re-embedding job ${job.id} ${job.status}: ${job.error ?? 'no reason given'}.`);
      if (reported < job.total) await ctx.progress(job.total, job.total, `${job.total} of ${job.total} memories re-embedded`);
      ctx.log('info', { event: 'reembed', namespace: ns, embedder, memories: job.total });
      return { text: `Re-embedded ${plural(job.total, 'memory', 'memories')} with ${embedder} (job ${job.id}).`, structured: { job } };
    },
  }),
];

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new CancelledError(0));
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new CancelledError(0));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}


/** Deletes memories by id and/or erases those matching a metadata filter (the CLI's forget uses it too). */
export async function forgetMemories(
  ops: MembankOps,
  ns: string,
  { ids, filter }: { ids?: string[]; filter?: Record<string, unknown> },
  ctx: ToolContext = quietContext(),
): Promise<{ deleted: number; missing: string[] }> {
  const missing: string[] = [];
  let deleted = 0;
  if (ids) {
    await inBatches(
      ids,
      1,
      ctx,
      async ([id]) => {
        try {
          await ops.deleteMemory(ns, id!);
          deleted++;
        } catch (error) {
          if ((error as { code?: string }).code !== 'MEMORY_NOT_FOUND') throw error;
          missing.push(id!);
        }
        return [];
      },
      (done, total) => `${done} of ${total} deleted or not found`,
    );
  }
  if (filter) {
    if (ctx.signal.aborted) throw new CancelledError(deleted);
    deleted += await withChangeProgress(ctx, ns, ids?.length ?? 0, 'batches of erased memories', () => ops.erase(ns, filter));
  }
  return { deleted, missing };
}
