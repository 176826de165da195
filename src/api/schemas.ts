/**
 * The v1 API contract as zod schemas: the single source of truth for request validation at every edge (HTTP
 * today; MCP and the client later) and for the types the service accepts.
 */
import { z } from 'zod';
import { parseFilter } from '../core/filter.js';
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
  /** Texts in one POST /v1/embeddings request (OpenAI's own limit). */
  maxEmbeddingInputs: 2048,
} as const;

export const namespaceName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'Namespace names are 1 to 64 letters, digits, "_", "." or "-".');

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

export const createNamespaceBody = z.strictObject({
  name: namespaceName,
  space: z.enum(SPACES).optional(),
  embedder: z.string().min(1).max(200).nullable().optional(),
  dimensions: z.int().min(1).max(LIMITS.maxDimensions).optional(),
  facts: z
    .strictObject({
      singleValued: z.array(z.string().min(1).max(200)).max(200),
    })
    .optional(),
  hnsw: z
    .strictObject({
      m: z.int().min(2).max(100).optional(),
      efConstruction: z.int().min(10).max(2000).optional(),
      efSearch: z.int().min(1).max(10_000).optional(),
    })
    .optional(),
});

export const memoryInput = z
  .strictObject({
    id: id.optional(),
    text: nonBlank(LIMITS.maxMemoryChars).optional(),
    vector: vector.optional(),
    metadata: metadata.optional(),
    timestamp: timestamp.optional(),
  })
  .refine((m) => m.text !== undefined || m.vector !== undefined, {
    message: 'A memory needs a text, a vector, or both.',
  });

export const writeMemoriesBody = z.strictObject({
  memories: z.array(memoryInput).min(1).max(LIMITS.maxMemoriesPerRequest),
});

export const chunkingOptions = z
  .strictObject({
    maxChars: z.int().min(100).max(20_000).optional(),
    overlap: z.int().min(0).max(10_000).optional(),
  })
  .refine((c) => c.overlap === undefined || c.overlap < (c.maxChars ?? 1000), {
    message: 'chunking.overlap must be smaller than chunking.maxChars.',
  });

export const documentInput = z.strictObject({
  id: id.optional(),
  text: nonBlank(LIMITS.maxDocumentChars),
  metadata: metadata.optional(),
  timestamp: timestamp.optional(),
});

export const writeDocumentsBody = z.strictObject({
  documents: z.array(documentInput).min(1).max(LIMITS.maxDocumentsPerRequest),
  chunking: chunkingOptions.optional(),
});

export const includeField = z.enum(['text', 'metadata', 'vector']);

export const queryBody = z
  .strictObject({
    query: nonBlank(LIMITS.maxMemoryChars).optional(),
    vector: vector.optional(),
    k: z.int().min(1).max(LIMITS.maxK).default(10),
    filter: filter.optional(),
    include: z.array(includeField).max(3).optional(),
    /** When given, must be the namespace's embedder: guards a client that embeds queries itself. */
    embedder: z.string().min(1).max(300).optional(),
  })
  .refine((q) => (q.query === undefined) !== (q.vector === undefined), {
    message: 'Give exactly one of query (a text) or vector.',
  });

export const listMemoriesQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(LIMITS.maxPageSize).default(100),
  cursor: z.string().max(64).optional(),
  include: z.literal('vector').optional(),
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

export const reembedBody = z.strictObject({
  embedder: z.string().min(1).max(300),
});

export const jobId = z.string().uuid('Job ids are UUIDs.');

export type CreateNamespaceInput = z.output<typeof createNamespaceBody>;
export type MemoryInput = z.output<typeof memoryInput>;
export type DocumentInput = z.output<typeof documentInput>;
export type ChunkingInput = z.output<typeof chunkingOptions>;
export type QueryInput = z.output<typeof queryBody>;
export type IncludeField = z.output<typeof includeField>;
