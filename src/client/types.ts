/**
 * The client's request and response types, derived from the server's own code so they are never written twice:
 * request bodies are the zod schemas' input types, answers are the return types of the HTTP views. Type-only
 * imports: nothing of the server (zod included) is loaded at run time.
 */
import type { z } from 'zod';
import type {
  chunkingOptions,
  contextBody,
  createKeyBody,
  createNamespaceBody,
  eraseBody,
  fieldValuesQuery,
  findMemoriesBody,
  forgetBody,
  multiQueryBody,
  patchNamespaceBody,
  documentInput,
  embeddingsBody,
  factInput,
  memoryInput,
  queryBody,
  readFactsQuery,
  searchFactsBody,
  deleteFactsBody,
  updateMemoriesBody,
  createWebhookBody,
} from '../api/schemas.js';
import type { ErrorCode } from '../core/errors.js';
import type {
  changeView,
  factView,
  historyEventView,
  hitView,
  keyView,
  memoryView,
  namespaceStatsView,
  namespaceView,
  webhookView,
} from '../http/views.js';
import type { ForgetOutcome, MemoryService, JobView } from '../service/memory-service.js';

export type { ErrorCode };

// Requests: what a caller may send (zod's input side: timestamps as ISO text or epoch ms, defaults optional).
export type CreateNamespaceRequest = z.input<typeof createNamespaceBody>;
/** A namespace's settings without its name, as an integration creates it on first use. */
export type NamespaceSettings = Omit<CreateNamespaceRequest, 'name'>;
export type MemoryRequest = z.input<typeof memoryInput>;
export type DocumentRequest = z.input<typeof documentInput>;
export type ChunkingRequest = z.input<typeof chunkingOptions>;
export type QueryRequest = z.input<typeof queryBody>;
export type FactRequest = z.input<typeof factInput>;
/** Query-string parameters travel as text; the client accepts their natural types. */
export type ReadFactsRequest = Omit<z.input<typeof readFactsQuery>, 'history' | 'limit'> & { history?: boolean; limit?: number };
export type SearchFactsRequest = z.input<typeof searchFactsBody>;
export type FactPatternRequest = z.input<typeof deleteFactsBody>;
export type EmbeddingsRequest = z.input<typeof embeddingsBody>;
export type MultiQueryRequest = z.input<typeof multiQueryBody>;
export type ContextRequest = z.input<typeof contextBody>;
/** A new name (the namespace keeps its id, memories and indexes), metadata, forgetting or search settings. */
export type PatchNamespaceRequest = z.input<typeof patchNamespaceBody>;
export type ForgetRequest = z.input<typeof forgetBody>;
/** What erase or a listing selects: memories matching a metadata filter, a text filter and/or given ids (all must hold). */
export type Selection = Omit<z.input<typeof eraseBody>, 'filter' | 'textFilter'> & { filter?: Where; textFilter?: TextFilter };
export type EraseRequest = Selection;
/**
 * One page of the memories a selection matches, in insertion order: after `cursor` (a previous page's
 * `nextCursor`) or skipping `offset`. `vector: true` includes the vectors.
 */
export type FindMemoriesRequest = Omit<z.input<typeof findMemoriesBody>, 'filter' | 'textFilter' | 'include'> & Selection & { vector?: boolean };
/** A change to one memory: the fields given replace the stored ones; its strength, recalls and times stay. */
export type MemoryPatchRequest = Omit<z.input<typeof updateMemoriesBody>['memories'][number], 'id'>;
export type MemoryUpdateRequest = z.input<typeof updateMemoriesBody>['memories'][number];
export type FieldValuesRequest = z.input<typeof fieldValuesQuery>;
export type CreateKeyRequest = z.input<typeof createKeyBody>;
export type CreateWebhookRequest = z.input<typeof createWebhookBody>;

/** One value a filter compares with: comparisons are typed ("5" never equals 5). */
export type WhereScalar = string | number | boolean;
/** One operator on one field; `$gt…$lte` take numbers, `$ne` and `$nin` also match memories without the field. */
export type WhereOperator =
  | { $eq: WhereScalar }
  | { $ne: WhereScalar }
  | { $gt: number }
  | { $gte: number }
  | { $lt: number }
  | { $lte: number }
  | { $in: WhereScalar[] }
  | { $nin: WhereScalar[] };
/**
 * A metadata filter in Chroma's `Where` language, as every `filter` field takes it. A field is a metadata key, or
 * a dotted path into nested objects; several fields in one object must all hold.
 * @example { user: 'ann', year: { $gte: 2020 }, $or: [{ pinned: true }, { tag: { $in: ['a', 'b'] } }] }
 */
export type Where = { $and?: Where[]; $or?: Where[] } & { [field: string]: WhereScalar | WhereOperator | Where[] | undefined };

/**
 * A filter on memories' texts (Chroma's `where_document`): a case-sensitive substring or an RE2 pattern, combined
 * with `$and` and `$or`. A memory without text matches only `$not_contains` and `$not_regex`.
 * @example { $or: [{ $contains: 'robot' }, { $regex: '(?i)android' }] }
 */
export type TextFilter =
  | { $contains: string }
  | { $not_contains: string }
  | { $regex: string }
  | { $not_regex: string }
  | { $and: TextFilter[] }
  | { $or: TextFilter[] };

// Answers: the views' shapes, as they arrive in JSON.
export type Namespace = ReturnType<typeof namespaceView>;
export type NamespaceStats = ReturnType<typeof namespaceStatsView>;
export type Memory = ReturnType<typeof memoryView>;
export type QueryResult = ReturnType<typeof hitView>;
export type Fact = ReturnType<typeof factView>;
export type ScoredFact = Fact & { score: number };
export type Job = JobView;
export type ForgetResult = ForgetOutcome;
export type ApiKey = ReturnType<typeof keyView>;
export type HistoryEvent = ReturnType<typeof historyEventView>;
export type ChangeEntry = ReturnType<typeof changeView>;
export interface ChangePage {
  changes: ChangeEntry[];
  /** The seq to ask after next. */
  next: number;
}
export type Webhook = ReturnType<typeof webhookView>;
export type CreatedApiKey = ApiKey & { key: string };
export interface Context {
  context: string;
  tokens: number;
  memories: (Memory & { score: number; source: string })[];
  facts: Fact[];
}
export type Health = Awaited<ReturnType<MemoryService['health']>>;
/** The answer of updateMemories: which ids changed, which do not exist (none is created), and the change sequence after. */
export type UpdateResult = Awaited<ReturnType<MemoryService['updateMemories']>>;
/** A distinct value of a metadata field and how many memories hold it. */
export type FieldValue = Awaited<ReturnType<MemoryService['fieldValues']>>[number];

export interface MemoryPage {
  memories: Memory[];
  nextCursor: string | null;
}

export interface EntityGraph {
  nodes: { name: string }[];
  edges: Fact[];
}

export type FactCommandResult =
  | { command: string; ok: true; id: string }
  | { command: string; ok: true; facts: Fact[] }
  | { command: string; ok: false; error: string };

export interface EmbeddingsResponse {
  object: 'list';
  data: { object: 'embedding'; index: number; embedding: number[] | string }[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

export interface ModelList {
  object: 'list';
  data: { id: string; object: 'model'; created: number; owned_by: string }[];
}
