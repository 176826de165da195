/**
 * The v1 API contract as zod schemas: the single source of truth for request validation at every edge (HTTP
 * today; MCP and the client later) and for the types the service accepts.
 */
import { Cron } from 'croner';
import { z } from 'zod';
import { parseFilter } from '../core/filter.js';
import { parseTextFilter } from '../core/text-filter.js';
import { SPACES } from '../core/types.js';

/** Documented limits. The body size limit is configuration (MEMBANK_MAX_BODY_BYTES). */
export const LIMITS = {
  /** Memories in one write request. */
  maxMemoriesPerRequest: 1000,
  /** Documents in one write request. */
  maxDocumentsPerRequest: 100,
  /** Characters in one memory's text, and in a query. */
  maxMemoryChars: 100_000,
  /** Characters in one document. */
  maxDocumentChars: 1_000_000,
  /** Characters in an id. */
  maxIdChars: 256,
  /** Vector dimensions. */
  maxDimensions: 4096,
  /** Bytes of one memory's metadata, as JSON. */
  maxMetadataBytes: 65_536,
  /** Levels of nesting in metadata: validating deeper JSON recursively would exhaust the stack. */
  maxMetadataDepth: 32,
  /** Results of one query. */
  maxK: 1000,
  /** Memories in one page of a listing. */
  maxPageSize: 1000,
  /** A memory's ttl, in seconds (100 years). */
  maxTtlSeconds: 3_153_600_000,
  /** Memories one forget call removes (or lists, in a dry run). */
  maxForgetLimit: 1_000_000,
  /** Adjacent memories returned on each side of a result (`expand`). */
  maxExpand: 20,
  /** Namespaces in one POST /v1/query. */
  maxQueryNamespaces: 20,
  /** Token budget of one context. */
  maxContextTokens: 100_000,
  /** Texts in one POST /v1/embeddings request (OpenAI's own limit). */
  maxEmbeddingInputs: 2048,
} as const;

export const namespaceName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'Namespace names are 1 to 64 letters, digits, "_", "." or "-".')
  // "." and ".." cannot be addressed in a URL path (clients normalize them away), so they are not names.
  .refine((name) => !/^\.+$/.test(name), 'A namespace name needs a character other than ".".');

const id = z
  .string()
  .min(1)
  .max(LIMITS.maxIdChars)
  .regex(/^[^\p{Cc}]+$/u, 'Ids must not contain control characters.');

const nonBlank = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => s.trim().length > 0, 'Must contain some non-whitespace text.');

/** ISO 8601 text or epoch milliseconds, as epoch milliseconds. */
const timestamp = z.union([
  z.int().min(0).max(8.64e15),
  z
    .string()
    .max(64)
    .transform((text, ctx) => {
      const ms = /^\d{1,16}$/.test(text) ? Number(text) : Date.parse(text);
      if (Number.isNaN(ms)) {
        ctx.addIssue({ code: 'custom', message: `Expected an ISO 8601 date-time or epoch milliseconds, got "${text}".` });
        return z.NEVER;
      }
      return ms;
    }),
]);

/** How deeply arrays and objects nest, measured without recursion so that hostile depth cannot overflow the stack. */
function nestingDepth(value: unknown): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [node, depth] = pending.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > LIMITS.maxMetadataDepth) break;
    for (const child of Object.values(node)) pending.push([child, depth + 1]);
  }
  return deepest;
}

const metadata = z
  .unknown()
  .refine((m) => nestingDepth(m) <= LIMITS.maxMetadataDepth, {
    message: `Metadata nests at most ${LIMITS.maxMetadataDepth} levels deep.`,
  })
  .pipe(
    z
      .record(z.string().min(1).max(128), z.json())
      .refine((m) => JSON.stringify(m).length <= LIMITS.maxMetadataBytes, {
        message: `Metadata must be at most ${LIMITS.maxMetadataBytes} bytes as JSON.`,
      }),
  );

/** Checked in one pass rather than one zod schema per element: vectors are the bulk of a write. */
const vector = z.custom<number[]>(
  (value) =>
    Array.isArray(value) &&
    value.length >= 1 &&
    value.length <= LIMITS.maxDimensions &&
    value.every((x) => typeof x === 'number' && Number.isFinite(x)),
  { message: `Expected an array of 1 to ${LIMITS.maxDimensions} finite numbers.` },
);

export const filter = z.unknown().transform((value, ctx) => {
  const parsed = parseFilter(value);
  if (!parsed.ok) {
    ctx.addIssue({ code: 'custom', message: parsed.message });
    return z.NEVER;
  }
  return parsed.value;
});

/** Ids of memories, as a selection names them. */
const memoryIds = z.array(z.string().min(1).max(LIMITS.maxIdChars)).min(1).max(LIMITS.maxPageSize);

/** A filter on memories' texts (Chroma's `where_document`): `$contains`, `$not_contains`, `$regex`, `$not_regex`, `$and`, `$or`. */
export const textFilter = z.unknown().transform((value, ctx) => {
  const parsed = parseTextFilter(value);
  if (!parsed.ok) {
    ctx.addIssue({ code: 'custom', message: parsed.message });
    return z.NEVER;
  }
  return parsed.value;
});

/** A cron expression croner accepts (5 fields, or 6 with seconds). */
const cronExpression = z
  .string()
  .min(1)
  .max(200)
  .refine((expression) => {
    try {
      new Cron(expression, { paused: true }).stop();
      return true;
    } catch {
      return false;
    }
  }, 'Not a cron expression (e.g. "0 * * * *" for hourly, "*/10 * * * * *" for every 10 seconds).');

/** A `Where` filter kept as given (it is stored in the namespace's settings), checked like any filter. */
const storedFilter = z.record(z.string(), z.unknown()).superRefine((value, ctx) => {
  const parsed = parseFilter(value);
  if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
});

export const forgettingSettings = z.strictObject({
  enabled: z.boolean().optional(),
  /** τ in seconds. */
  timescale: z.number().min(1).max(1e10).optional(),
  threshold: z.number().gt(0).lt(1).optional(),
  schedule: cronExpression.optional(),
  protect: storedFilter.nullable().optional(),
});

/** Deduplication of writes without an explicit id (see Memory hygiene in the README). */
export const dedupeSettings = z.strictObject({
  mode: z.enum(['off', 'exact', 'near']),
  /** Cosine similarity at or above which `near` folds a write into a live memory. */
  threshold: z.number().gt(0).max(1).optional(),
});

/** How much history is kept of each memory. */
export const historySettings = z.strictObject({
  /** Earlier versions (text and metadata) kept per memory. */
  maxVersions: z.int().min(0).max(1000),
});

export const onDuplicate = z.enum(['skip', 'merge']);

export const patchNamespaceBody = z
  .strictObject({
    forgetting: forgettingSettings.optional(),
    dedupe: dedupeSettings.optional(),
    history: historySettings.optional(),
    /** A new name; the namespace keeps its id, memories, facts and indexes. */
    name: namespaceName.optional(),
    /** Replaces the namespace's metadata. */
    metadata: metadata.optional(),
    /** Hybrid search defaults of the namespace: merged over those it has (a query's own options win). */
    hybrid: z.lazy(() => hybridOverrides).optional(),
    /** Search-time settings (the graph's structure, m and efConstruction, is fixed at creation). */
    hnsw: z
      .strictObject({
        efSearch: z.int().min(1).max(10_000).optional(),
        threshold: z.int().min(0).max(100_000_000).nullable().optional(),
      })
      .optional(),
  })
  .refine((p) => Object.values(p).some((v) => v !== undefined), {
    message: 'Nothing to change: give forgetting, dedupe, history, name, metadata, hybrid or hnsw.',
  });

export const createNamespaceBody = z.strictObject({
  forgetting: forgettingSettings.optional(),
  dedupe: dedupeSettings.optional(),
  history: historySettings.optional(),
  name: namespaceName,
  space: z.enum(SPACES).optional(),
  embedder: z.string().min(1).max(200).nullable().optional(),
  /** With `embedder: null`, required; `null` lets the first write decide. */
  dimensions: z.int().min(1).max(LIMITS.maxDimensions).nullable().optional(),
  /** The caller's description of the namespace (a JSON object). */
  metadata: metadata.optional(),
  facts: z
    .strictObject({
      singleValued: z.array(z.string().min(1).max(200)).max(200),
    })
    .optional(),
  /** Hybrid search defaults of the namespace (any of a query's `hybrid` options); a query's own win. */
  hybrid: z.lazy(() => hybridOverrides).optional(),
  hnsw: z
    .strictObject({
      m: z.int().min(2).max(100).optional(),
      efConstruction: z.int().min(10).max(2000).optional(),
      efSearch: z.int().min(1).max(10_000).optional(),
      /** Vectors above which the namespace gets an HNSW graph (exact search below); default the service's. */
      threshold: z.int().min(0).max(100_000_000).optional(),
    })
    .optional(),
});

/** How long a memory lasts and how strongly it starts (see Forgetting in the README). */
const retentionFields = {
  /** In [0, 1]: raises the memory's initial strength from 1 up to 5. */
  importance: z.number().min(0).max(1).optional(),
  /** Seconds until it expires. */
  ttl: z.int().min(1).max(LIMITS.maxTtlSeconds).optional(),
  expiresAt: timestamp.optional(),
  /** Never forgotten by retention or a forgetting policy (an expiry still applies); first in a context. */
  pinned: z.boolean().optional(),
};

export const memoryInput = z
  .strictObject({
    id: id.optional(),
    text: nonBlank(LIMITS.maxMemoryChars).optional(),
    vector: vector.optional(),
    metadata: metadata.optional(),
    timestamp: timestamp.optional(),
    ...retentionFields,
    /** What a duplicate of a live memory does: `skip` (default) or `merge` its metadata into it; overrides the body's. */
    onDuplicate: onDuplicate.optional(),
  })
  .refine((m) => m.text !== undefined || m.vector !== undefined, {
    message: 'A memory needs a text, a vector, or both.',
  })
  .refine((m) => m.ttl === undefined || m.expiresAt === undefined, { message: 'Give ttl or expiresAt, not both.', path: ['ttl'] });

export const writeMemoriesBody = z.strictObject({
  memories: z.array(memoryInput).min(1).max(LIMITS.maxMemoriesPerRequest),
  /** What duplicates do unless a memory says otherwise (default `skip`). */
  onDuplicate: onDuplicate.optional(),
});

export const chunkingOptions = z
  .strictObject({
    maxChars: z.int().min(100).max(20_000).optional(),
    overlap: z.int().min(0).max(10_000).optional(),
  })
  .refine((c) => c.overlap === undefined || c.overlap < (c.maxChars ?? 1000), {
    message: 'chunking.overlap must be smaller than chunking.maxChars.',
  });

export const documentInput = z
  .strictObject({
    id: id.optional(),
    text: nonBlank(LIMITS.maxDocumentChars),
    metadata: metadata.optional(),
    timestamp: timestamp.optional(),
    ...retentionFields,
  })
  .refine((m) => m.ttl === undefined || m.expiresAt === undefined, { message: 'Give ttl or expiresAt, not both.', path: ['ttl'] });

export const writeDocumentsBody = z.strictObject({
  documents: z.array(documentInput).min(1).max(LIMITS.maxDocumentsPerRequest),
  chunking: chunkingOptions.optional(),
});

/** `explain` (queries): each result's score in parts, `{<component>: {value, weight}, …, score}`. */
export const includeField = z.enum(['text', 'metadata', 'vector', 'explain']);

export const SEARCH_MODES = ['vector', 'keyword', 'hybrid'] as const;

/** Hybrid ranking, with the defaults chosen by cross-validation on the LoCoMo development split (see the README). */
export const hybridOptions = z.strictObject({
  /** `weighted`: normalized scores, `vectorWeight` on the vector side; `rrf`: reciprocal rank fusion. */
  fusion: z.enum(['weighted', 'rrf']).default('weighted'),
  vectorWeight: z.number().min(0).max(1).default(0.3),
  rrfK: z.int().min(1).max(1000).default(60),
  /** Candidates taken from each of the vector and keyword searches before fusion. */
  candidates: z.int().min(1).max(LIMITS.maxK).default(100),
  /** Added to memories whose tags (the string values of `tagFields`) the query names, such as a speaker. */
  mentionBoost: z.number().min(0).max(10).default(0.3),
  /** Metadata fields that name who a memory is about or by (dotted paths); their words are what a query can mention. */
  tagFields: z.array(z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/).max(128)).max(16).default(['speaker', 'user', 'author', 'name', 'role']),
  /** Share of the best adjacent memory's score added to each memory. */
  neighborWeight: z.number().min(0).max(10).default(0.5),
  /** Whether a leading "Name: " of a memory's text counts as a tag (a speaker), as metadata `speaker` would. */
  speakerPrefix: z.boolean().default(true),
  /** Whether the names a query mentions stay in the text embedded for the vector side. */
  mentionsInVector: z.boolean().default(false),
  /** BM25 of the keyword side: term saturation and length normalization (FTS5's: 1.2 and 0.75). */
  bm25K1: z.number().min(0).max(10).default(1.2),
  bm25B: z.number().min(0).max(1).default(0.5),
  /**
   * Pseudo-relevance feedback (RM3-style) on the keyword side: the `feedbackTerms` most telling words of the
   * best `feedbackDocs` keyword hits join the keyword query, weighing `feedbackWeight` (0 terms: off).
   */
  feedbackTerms: z.int().min(0).max(50).default(0),
  feedbackDocs: z.int().min(1).max(50).default(5),
  feedbackWeight: z.number().min(0).max(1).default(0.3),
  /**
   * Added, times how well a memory's time fits it, when the query names a time ("in June", "last May", "on
   * 13 October 2023"): a soft window read relative to the latest memory (see the README).
   */
  timeWeight: z.number().min(0).max(10).default(0.3),
});

export const HYBRID_DEFAULTS: z.output<typeof hybridOptions> = hybridOptions.parse({});

type Overrides<S> = { [K in keyof S]: S[K] extends z.ZodDefault<infer T> ? z.ZodOptional<T> : never };

/**
 * Hybrid options as a query or a namespace's settings give them: only those set, no defaults filled in, so
 * that a query's options override its namespace's, which override the defaults.
 */
export const hybridOverrides = z.strictObject(
  Object.fromEntries(Object.entries(hybridOptions.shape).map(([key, schema]) => [key, schema.unwrap().optional()])) as Overrides<
    typeof hybridOptions.shape
  >,
);

/** The options a query runs with: the defaults, then the namespace's settings, then the query's own. */
export const effectiveHybrid = (...layers: (HybridOverrides | undefined)[]): HybridOptions =>
  layers.some((l) => l !== undefined) ? hybridOptions.parse(Object.assign({}, ...layers)) : HYBRID_DEFAULTS;

const searchFields = {
  query: nonBlank(LIMITS.maxMemoryChars).optional(),
  vector: vector.optional(),
  /** Default: `hybrid` for a text query (`keyword` in a namespace without embedder), `vector` for a vector. */
  mode: z.enum(SEARCH_MODES).optional(),
  k: z.int().min(1).max(LIMITS.maxK).default(10),
  filter: filter.optional(),
  /** On the memories' texts: `{"$contains": "robot"}`, `{"$regex": "(?i)android"}`, with `$and` / `$or`. */
  textFilter: textFilter.optional(),
  /** Event-time window: at or after `after`, before `before`. */
  after: timestamp.optional(),
  before: timestamp.optional(),
  include: z.array(includeField).max(4).optional(),
  /** When given, must be the namespace's embedder: guards a client that embeds queries itself. */
  embedder: z.string().min(1).max(300).optional(),
  /** Over the namespace's `hybrid` settings (the first namespace's, over several), over the defaults. */
  hybrid: hybridOverrides.optional(),
  /** Maximal marginal relevance: re-rank `fetchK` candidates trading relevance (λ) for diversity (1 − λ). */
  mmr: z.strictObject({ lambda: z.number().min(0).max(1).default(0.5), fetchK: z.int().min(1).max(LIMITS.maxK).optional() }).optional(),
  /** Drop results scoring below this. */
  minScore: z.number().min(-1e9).max(1e9).optional(),
  /** Adds `weight · 2^(−age / halfLife)` to each score; `halfLife` in seconds. */
  recency: z.strictObject({ weight: z.number().min(0).max(10), halfLife: z.number().min(1).max(1e12) }).optional(),
  /** Whether returning a memory counts as recalling it (strength + 1, its clock restarts). */
  reinforce: z.boolean().default(true),
  /** Adds `retention · weight` to each score (retention in [0, 1], see Forgetting). */
  rank: z.strictObject({ retention: z.number().min(0).max(10) }).optional(),
  /** Returns each result with the memories around it (same document, or same namespace in time order). */
  expand: z.strictObject({ before: z.int().min(0).max(LIMITS.maxExpand).default(1), after: z.int().min(0).max(LIMITS.maxExpand).default(1) }).optional(),
  /**
   * `strong` (default): the answer reflects every write acknowledged before the query was sent, by any node;
   * `eventual`: a node answers from what it has (faster in cluster mode; the same on a single node).
   */
  consistency: z.enum(['strong', 'eventual']).optional(),
};

type SearchShape = { query?: string; vector?: number[]; mode?: (typeof SEARCH_MODES)[number]; after?: number; before?: number };

/** The checks every search body shares; zod 4 keeps the object's type (and `.shape`) through refinements. */
const searchChecks = <S extends z.ZodType<SearchShape>>(schema: S): S =>
  schema
    .refine((q) => (q.query === undefined) !== (q.vector === undefined), {
      message: 'Give exactly one of query (a text) or vector.',
    })
    .refine((q) => q.vector === undefined || q.mode === undefined || q.mode === 'vector', {
      message: 'Keyword and hybrid searches need the query text: give query, not vector.',
      path: ['mode'],
    })
    .refine((q) => q.after === undefined || q.before === undefined || q.after < q.before, {
      message: 'after must be earlier than before.',
      path: ['after'],
    });

export const queryBody = searchChecks(z.strictObject(searchFields));

/** POST /v1/query: one search over several namespaces that share an embedder, merged by score. */
export const multiQueryBody = searchChecks(
  z.strictObject({ ...searchFields, namespaces: z.array(namespaceName).min(1).max(LIMITS.maxQueryNamespaces) }),
);

export const forgetBody = z
  .strictObject({
    retentionBelow: z.number().gt(0).max(1).optional(),
    expired: z.literal(true).optional(),
    /** Event time before this. */
    olderThan: timestamp.optional(),
    filter: filter.optional(),
    limit: z.int().min(1).max(LIMITS.maxForgetLimit).optional(),
    dryRun: z.boolean().default(false),
  })
  .refine((f) => f.retentionBelow !== undefined || f.expired !== undefined || f.olderThan !== undefined || f.filter !== undefined, {
    message: 'Say what to forget: retentionBelow, expired, olderThan and/or filter.',
  });

/**
 * What to erase: memories matching a metadata filter (with every chunk of the documents they belong to), or a
 * text filter, or given ids.
 */
export const eraseBody = z
  .strictObject({
    filter: filter.optional(),
    textFilter: textFilter.optional(),
    ids: memoryIds.optional(),
    /**
     * `false`: delete without compacting the database afterwards (for frequent deletes; the rows' content is
     * still overwritten in place, but freed pages stay in the file until a later erase or forgetting run).
     */
    compact: z.boolean().default(true),
  })
  .refine((b) => b.filter !== undefined || b.textFilter !== undefined || b.ids !== undefined, {
    message: 'Give a filter, a textFilter or ids (erasing a whole namespace is DELETE of the namespace).',
  });

export const contextBody = z.strictObject({
  query: nonBlank(LIMITS.maxMemoryChars),
  /** Token budget of the context text (GPT o200k tokens). */
  maxTokens: z.int().min(16).max(LIMITS.maxContextTokens),
  k: z.int().min(1).max(100).default(20),
  mode: z.enum(SEARCH_MODES).optional(),
  filter: filter.optional(),
  after: timestamp.optional(),
  before: timestamp.optional(),
  /** Order of the memory lines: by time (a conversation reads in order; default) or by score. */
  order: z.enum(['time', 'score']).default('time'),
  includeFacts: z.boolean().default(false),
  reinforce: z.boolean().default(true),
  /** Share of `maxTokens` the namespace's pinned memories may take; they come first. */
  pinnedShare: z.number().min(0).max(1).default(0.3),
});

/** A listing by selection: any of a metadata filter, a text filter and ids; a page after a cursor or an offset. */
export const findMemoriesBody = z
  .strictObject({
    filter: filter.optional(),
    textFilter: textFilter.optional(),
    ids: memoryIds.optional(),
    limit: z.int().min(1).max(LIMITS.maxPageSize).default(100),
    cursor: z.string().max(64).optional(),
    offset: z.int().min(0).max(100_000_000).optional(),
    include: z.array(z.literal('vector')).max(1).optional(),
    consistency: z.enum(['strong', 'eventual']).optional(),
  })
  .refine((b) => b.cursor === undefined || b.offset === undefined, { message: 'Give a cursor or an offset, not both.', path: ['offset'] });

/** A change to one memory: the fields given replace the stored ones; strength, recalls and times stay. */
const memoryPatch = z.strictObject({
  text: nonBlank(LIMITS.maxMemoryChars).optional(),
  vector: vector.optional(),
  metadata: metadata.optional(),
  pinned: z.boolean().optional(),
});

export const patchMemoryBody = memoryPatch.refine((p) => Object.values(p).some((v) => v !== undefined), {
  message: 'Nothing to change: give text, vector, metadata or pinned.',
});

export const updateMemoriesBody = z.strictObject({
  memories: z.array(memoryPatch.extend({ id: z.string().min(1).max(LIMITS.maxIdChars) })).min(1).max(LIMITS.maxMemoriesPerRequest),
});

export const fieldValuesQuery = z.strictObject({
  field: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/).max(128),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});

export const listMemoriesQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(LIMITS.maxPageSize).default(100),
  cursor: z.string().max(64).optional(),
  include: z.literal('vector').optional(),
});

/** GET …/changes: changes after `since`, at most `limit`, waiting up to `wait` seconds for one when there is none. */
export const changesQuery = z.strictObject({
  since: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(LIMITS.maxPageSize).default(100),
  wait: z.coerce.number().min(0).max(60).default(0),
});

export const getMemoryQuery = z.strictObject({
  include: z.literal('vector').optional(),
});

/** POST /v1/embeddings, in OpenAI's shape. Token-array inputs are not supported. */
export const embeddingsBody = z.strictObject({
  model: z.string().min(1).max(200),
  input: z.union(
    [
      nonBlank(LIMITS.maxMemoryChars),
      z.array(nonBlank(LIMITS.maxMemoryChars)).min(1).max(LIMITS.maxEmbeddingInputs),
    ],
    { error: `input must be a non-empty text or an array of 1 to ${LIMITS.maxEmbeddingInputs} texts (token arrays are not supported).` },
  ),
  encoding_format: z.enum(['float', 'base64']).optional(),
  dimensions: z.int().min(1).max(LIMITS.maxDimensions).optional(),
  user: z.string().max(256).optional(),
});

const factField = z
  .string()
  .max(1000)
  .refine((s) => s.trim().length > 0, 'Must contain some non-whitespace text.');

export const factInput = z.strictObject({
  subject: factField,
  predicate: factField,
  object: factField,
  confidence: z.number().min(0).max(1).optional(),
  source: z.string().max(1000).optional(),
  validFrom: timestamp.optional(),
  validTo: timestamp.optional(),
  metadata: metadata.optional(),
  mode: z.enum(['replace', 'add']).optional(),
});

export const writeFactsBody = z.strictObject({
  facts: z.array(factInput).min(1).max(LIMITS.maxMemoriesPerRequest),
});

const booleanText = z.enum(['true', 'false']).transform((v) => v === 'true');

export const readFactsQuery = z.strictObject({
  subject: factField.optional(),
  predicate: factField.optional(),
  object: factField.optional(),
  asOf: timestamp.optional(),
  knownAt: timestamp.optional(),
  history: booleanText.optional(),
  limit: z.coerce.number().int().min(1).max(LIMITS.maxPageSize).default(100),
});

export const searchFactsBody = z.strictObject({
  query: nonBlank(LIMITS.maxMemoryChars),
  k: z.int().min(1).max(LIMITS.maxK).default(10),
  filter: filter.optional(),
  history: z.boolean().optional(),
});

export const deleteFactsBody = z
  .strictObject({ subject: factField.optional(), predicate: factField.optional(), object: factField.optional() })
  .refine((p) => p.subject !== undefined || p.predicate !== undefined || p.object !== undefined, {
    message: 'Give at least one of subject, predicate, object (deleting every fact is DELETE of the namespace).',
  });

export const entityQuery = z.strictObject({
  depth: z.coerce.number().int().min(1).max(3).default(1),
});

export const factCommandsBody = z.strictObject({
  text: z.string().min(1).max(LIMITS.maxMemoryChars),
});

export const createKeyBody = z.strictObject({
  role: z.enum(['read', 'write', 'admin']),
  /** Namespace patterns (`*` matches any run of characters); admin keys see every namespace. */
  namespaces: z.array(z.string().regex(/^[A-Za-z0-9_.*-]{1,64}$/, 'Patterns are namespace names in which * matches any run of characters.')).max(100).default([]),
});

/** POST /v1/webhooks: where to deliver which namespaces' changes, and the secret deliveries are signed with. */
export const createWebhookBody = z.strictObject({
  url: z.string().min(1).max(2000),
  /** Namespace patterns (`*` matches any run of characters); default every namespace. */
  namespaces: z
    .array(z.string().regex(/^[A-Za-z0-9_.*-]{1,64}$/, 'Patterns are namespace names in which * matches any run of characters.'))
    .min(1)
    .max(100)
    .default(['*']),
  /** Ops delivered (default all). */
  events: z.array(z.enum(['created', 'updated', 'deleted', 'expired', 'forgotten', 'erased'])).min(1).max(6).optional(),
  /** Signs each delivery (HMAC-SHA256); at least 16 characters. */
  secret: z.string().min(16).max(256),
});

export const webhookId = z.string().regex(/^[0-9a-f]{16}$/, 'Webhook ids are 16 hexadecimal digits (see GET /v1/webhooks).');

export const keyId = z.string().regex(/^[0-9a-f]{12}$/, 'Key ids are 12 hexadecimal digits (see GET /v1/keys).');

export const reembedBody = z.strictObject({
  embedder: z.string().min(1).max(300),
});

export const jobId = z.string().uuid('Job ids are UUIDs.');

export type CreateNamespaceInput = z.output<typeof createNamespaceBody>;
export type PatchNamespaceInput = z.output<typeof patchNamespaceBody>;
export type MemoryInput = z.output<typeof memoryInput>;
export type DocumentInput = z.output<typeof documentInput>;
export type ChunkingInput = z.output<typeof chunkingOptions>;
export type QueryInput = z.output<typeof queryBody>;
export type MultiQueryInput = z.output<typeof multiQueryBody>;
export type ContextInput = z.output<typeof contextBody>;
export type HybridOptions = z.output<typeof hybridOptions>;
export type HybridOverrides = z.output<typeof hybridOverrides>;
export type ForgettingInput = z.output<typeof forgettingSettings>;
export type ForgetInput = z.output<typeof forgetBody>;
export type OnDuplicate = z.output<typeof onDuplicate>;
export type CreateWebhookInput = z.output<typeof createWebhookBody>;
export type DedupeInput = z.output<typeof dedupeSettings>;
export type IncludeField = z.output<typeof includeField>;
