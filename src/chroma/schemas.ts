/**
 * Chroma's request bodies as zod schemas, after Chroma 1.0's OpenAPI document and its deserializer's habits:
 * unknown fields are ignored (except inside HNSW and SPANN settings, which are closed), `null` means absent,
 * metadata values are strings, numbers or booleans. A body that does not fit is a 422, as in Chroma.
 * Embeddings come as arrays of numbers or, when the client read `supports_base64_encoding`, as base64 strings
 * of little-endian float32s; they are checked in one pass rather than by a schema per number.
 */
import { z } from 'zod';
import { invalidArgument, unprocessable } from './errors.js';

export const INCLUDE = ['distances', 'documents', 'embeddings', 'metadatas', 'uris'] as const;
export type Include = (typeof INCLUDE)[number];

const scalar = z.union([z.string(), z.number(), z.boolean()], { error: 'data did not match any variant of untagged enum MetadataValue' });
/** What a record or collection may carry as metadata. */
const metadata = z.record(z.string(), scalar);
/** In an update, `null` removes a key. */
const metadataPatch = z.record(z.string(), scalar.nullable());

const count = z.int().min(0).max(2 ** 32 - 1);
const ids = z.array(z.string());
const nullableTexts = z.array(z.string().nullable()).nullish();
const include = z.array(z.enum(INCLUDE));

/** Embeddings as given: number arrays or base64 strings, `null` where an update leaves one unchanged. */
const embeddingsPayload = z.custom<(number[] | string | null)[]>(
  (value) =>
    Array.isArray(value) &&
    value.every(
      (e) =>
        e === null ||
        typeof e === 'string' ||
        (Array.isArray(e) && e.every((x) => typeof x === 'number' && Number.isFinite(x))),
    ),
  { error: 'data did not match any variant of untagged enum EmbeddingsPayload' },
);

const records = {
  ids,
  embeddings: embeddingsPayload.nullish(),
  documents: nullableTexts,
  uris: nullableTexts,
};

export const addBody = z.object({ ...records, metadatas: z.array(metadata.nullable()).nullish() });
export const updateBody = z.object({ ...records, metadatas: z.array(metadataPatch.nullable()).nullish() });

const filters = { where: z.unknown().optional(), where_document: z.unknown().optional() };

export const getBody = z.object({
  ...filters,
  ids: ids.nullish(),
  limit: count.nullish(),
  offset: count.nullish(),
  include: include.optional(),
});

export const queryBody = z
  .object({
    ...filters,
    ids: ids.nullish(),
    query_embeddings: embeddingsPayload.nullish(),
    /** membank's addition: texts the collection's embedder embeds (a namespace with a server-side embedder). */
    query_texts: z.array(z.string()).nullish(),
    n_results: count.nullish(),
    include: include.optional(),
  })
  .refine((q) => q.query_embeddings != null || q.query_texts != null, { error: 'missing field `query_embeddings`' });

export const deleteBody = z.object({ ...filters, ids: ids.nullish() });

const space = z.enum(['l2', 'cosine', 'ip'], { error: (issue) => `unknown variant \`${String(issue.input)}\`, expected one of \`l2\`, \`cosine\`, \`ip\`` });
const knob = count.nullish();

export const hnswConfiguration = z.strictObject({
  space: space.nullish(),
  ef_construction: knob,
  ef_search: knob,
  max_neighbors: knob,
  num_threads: knob,
  resize_factor: z.number().nullish(),
  sync_threshold: knob,
  batch_size: knob,
});

const spannConfiguration = z.strictObject({
  space: space.nullish(),
  ef_construction: knob,
  ef_search: knob,
  max_neighbors: knob,
  merge_threshold: knob,
  reassign_neighbor_count: knob,
  search_nprobe: knob,
  split_threshold: knob,
  write_nprobe: knob,
});

const embeddingFunction = z.union([
  z.object({ type: z.literal('legacy') }),
  z.object({ type: z.literal('known'), name: z.string(), config: z.unknown() }),
]);

export const createCollectionBody = z.object({
  name: z.string(),
  metadata: metadata.nullish(),
  configuration: z
    .object({ hnsw: hnswConfiguration.nullish(), spann: spannConfiguration.nullish(), embedding_function: embeddingFunction.nullish() })
    .nullish(),
  get_or_create: z.boolean().optional(),
});

export const updateCollectionBody = z.object({
  new_name: z.string().nullish(),
  new_metadata: metadata.nullish(),
  new_configuration: z
    .object({
      hnsw: z
        .strictObject({
          ef_search: knob,
          max_neighbors: knob,
          num_threads: knob,
          resize_factor: z.number().nullish(),
          sync_threshold: knob,
          batch_size: knob,
        })
        .nullish(),
      spann: z.strictObject({ ef_search: knob, search_nprobe: knob }).nullish(),
      embedding_function: embeddingFunction.nullish(),
    })
    .nullish(),
});

export const nameBody = z.object({ name: z.string() });

export const pageQuery = z.object({
  limit: z.coerce.number({ error: 'invalid digit found in string' }).pipe(count).optional(),
  offset: z.coerce.number({ error: 'invalid digit found in string' }).pipe(count).optional(),
});

export type AddBody = z.output<typeof addBody>;
export type UpdateBody = z.output<typeof updateBody>;
export type GetBody = z.output<typeof getBody>;
export type QueryBody = z.output<typeof queryBody>;
export type CreateCollectionBody = z.output<typeof createCollectionBody>;
export type UpdateCollectionBody = z.output<typeof updateCollectionBody>;

/** Parses a body, answering Chroma's 422 with the path of the first problem. */
export function parseBody<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const at = issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i > 0 ? '.' : ''}${String(p)}`)).join('');
  throw unprocessable(at ? `${at}: ${issue.message}` : issue.message);
}

/** Parses a query string, answering 400 as Chroma does for one it cannot read. */
export function parsePage(value: unknown): z.output<typeof pageQuery> {
  const result = pageQuery.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw invalidArgument(`Failed to deserialize query string: ${issue.path.join('.')}: ${issue.message}`);
}

/** Decodes embeddings to float32 vectors; `null` stays `null` (an update that keeps the stored vector). */
export function decodeEmbeddings(payload: (number[] | string | null)[]): (Float32Array | null)[] {
  return payload.map((e, i) => {
    if (e === null) return null;
    if (typeof e !== 'string') return Float32Array.from(e);
    const bytes = Buffer.from(e, 'base64');
    if (bytes.length % 4 !== 0) throw unprocessable(`embeddings[${i}]: base64 embeddings are little-endian float32s (a multiple of 4 bytes)`);
    const out = new Float32Array(bytes.length / 4);
    for (let j = 0; j < out.length; j++) out[j] = bytes.readFloatLE(j * 4);
    return out;
  });
}
