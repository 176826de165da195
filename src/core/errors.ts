/**
 * The one error model of membank. Every expected failure has a code from ERRORS; the HTTP edge maps the
 * code to a status in one place (src/http/errors.ts), and a test checks that every code has one.
 */

export const ERRORS = {
  VALIDATION_FAILED: 'The request does not match the documented schema.',
  INVALID_JSON: 'The request body is not valid JSON.',
  DIMENSION_MISMATCH: 'A vector has the wrong number of dimensions for this namespace.',
  INVALID_VECTOR: 'A vector cannot be indexed in this space.',
  NO_EMBEDDER: 'This namespace has no embedder, so texts cannot be embedded: supply vectors.',
  UNKNOWN_EMBEDDER: 'No embedder of that name is available.',
  EMBEDDER_FAILED: 'The embedder could not embed the texts.',
  EMBEDDER_MISMATCH: "The embedder is not the one this namespace's vectors were made with.",
  JOB_NOT_FOUND: 'No job with that id exists.',
  JOB_CONFLICT: 'A job is already running on this namespace.',
  NAMESPACE_NOT_FOUND: 'No namespace of that name exists.',
  MEMORY_NOT_FOUND: 'No memory with that id exists in this namespace.',
  DOCUMENT_NOT_FOUND: 'No document with that id exists in this namespace.',
  FACT_NOT_FOUND: 'No fact with that id exists in this namespace.',
  ROUTE_NOT_FOUND: 'No route matches this method and path.',
  NAMESPACE_CONFLICT: 'A namespace of that name exists with other settings.',
  PAYLOAD_TOO_LARGE: 'The request body is larger than the configured limit.',
  UNSUPPORTED_MEDIA_TYPE: 'The request body must be JSON (Content-Type: application/json).',
  DATA_DIR_LOCKED: 'Another membank process holds this data directory.',
  UNAUTHORIZED: 'This route needs a valid API key: Authorization: Bearer <key>.',
  FORBIDDEN: "This API key's role does not allow this.",
  RATE_LIMITED: 'Too many requests for this API key; retry after the time in Retry-After.',
  KEY_NOT_FOUND: 'No valid API key with that id exists.',
  CHANGES_EXPIRED: 'The change log no longer holds changes that old: read the namespace again, then follow the feed from its seq.',
  WEBHOOK_NOT_FOUND: 'No webhook with that id exists.',
  WEBHOOK_URL_REFUSED: 'The webhook URL is not allowed (http or https to a public address, unless private targets are allowed).',
  INSECURE_BIND: 'Refusing to serve a non-loopback address without API keys.',
  STORAGE_FULL: 'The disk holding the data directory is full: nothing was written. Reads still work; free some space and retry.',
  STORAGE_UNAVAILABLE: 'The storage cannot be used right now (a data directory read-only, locked or failing, or a database that cannot be reached): nothing was written. Retry after the time in Retry-After.',
  DATABASE_CORRUPT: 'The database file is damaged; membank will not answer from it. Restore it from a backup.',
  SHUTTING_DOWN: 'The service is shutting down.',
  INTERNAL: 'An internal error occurred.',
} as const;

export type ErrorCode = keyof typeof ERRORS;

export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];

export class MembankError extends Error {
  override readonly name = 'MembankError';
  constructor(
    readonly code: ErrorCode,
    message: string = ERRORS[code],
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export function isMembankError(value: unknown): value is MembankError {
  return value instanceof MembankError;
}

/** Expected failures inside the core are values; the edges turn them into thrown MembankErrors. */
export type Result<T> = { ok: true; value: T } | { ok: false; code: ErrorCode; message: string; details?: unknown };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T = never>(code: ErrorCode, message: string, details?: unknown): Result<T> {
  return details === undefined ? { ok: false, code, message } : { ok: false, code, message, details };
}

/** Unwraps a Result at an edge, throwing the failure as a MembankError. */
export function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  throw new MembankError(result.code, result.message, result.details);
}
