/**
 * Chroma's error shape, `{error, message}`, with the statuses Chroma 1.0 answers for the same mistakes: 400
 * (InvalidArgumentError) for arguments it understood but refuses, 422 for a body that does not deserialize into
 * its types, 404 (NotFoundError), 409 for a name taken. Errors are MembankErrors as everywhere in membank; the
 * Chroma-specific status and name ride in `details.chroma` when a code alone would not say them.
 */
import type { ErrorRequestHandler } from 'express';
import type { Logger } from 'pino';
import { type ErrorCode, MembankError } from '../core/errors.js';

/** The error names Chroma puts in `error`. */
export type ChromaErrorName =
  | 'InvalidArgumentError'
  | 'NotFoundError'
  | 'ChromaError'
  | 'InternalError'
  | 'AuthorizationError'
  | 'RateLimitError';

interface ChromaErrorDetails {
  chroma: { status: number; name: ChromaErrorName };
}

const CODE_OF: Record<number, ErrorCode> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NAMESPACE_NOT_FOUND',
  409: 'NAMESPACE_CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'VALIDATION_FAILED',
};

/** An error with Chroma's own status, name and message. */
export function chromaError(status: number, name: ChromaErrorName, message: string): MembankError {
  const details: ChromaErrorDetails = { chroma: { status, name } };
  return new MembankError(CODE_OF[status] ?? 'INTERNAL', message, details);
}

/** A body that does not match Chroma's types: Chroma's deserializer answers 422. */
export const unprocessable = (message: string): MembankError =>
  chromaError(422, 'ChromaError', `Failed to deserialize the JSON body into the target type: ${message}`);

export const invalidArgument = (message: string): MembankError => chromaError(400, 'InvalidArgumentError', message);

export const collectionNotFound = (nameOrId: string, byId = false): MembankError =>
  chromaError(404, 'NotFoundError', `Collection [${nameOrId}] does not exists${byId ? '.' : ''}`);

/** Status and Chroma name of each membank error code that the service or the edge may raise. */
const FROM_CODE: Record<ErrorCode, [number, ChromaErrorName]> = {
  VALIDATION_FAILED: [400, 'InvalidArgumentError'],
  INVALID_JSON: [400, 'InvalidArgumentError'],
  DIMENSION_MISMATCH: [400, 'InvalidArgumentError'],
  INVALID_VECTOR: [400, 'InvalidArgumentError'],
  NO_EMBEDDER: [400, 'InvalidArgumentError'],
  UNKNOWN_EMBEDDER: [400, 'InvalidArgumentError'],
  EMBEDDER_FAILED: [503, 'InternalError'],
  EMBEDDER_MISMATCH: [409, 'ChromaError'],
  JOB_NOT_FOUND: [404, 'NotFoundError'],
  JOB_CONFLICT: [409, 'ChromaError'],
  NAMESPACE_NOT_FOUND: [404, 'NotFoundError'],
  MEMORY_NOT_FOUND: [404, 'NotFoundError'],
  DOCUMENT_NOT_FOUND: [404, 'NotFoundError'],
  FACT_NOT_FOUND: [404, 'NotFoundError'],
  ROUTE_NOT_FOUND: [404, 'NotFoundError'],
  NAMESPACE_CONFLICT: [409, 'ChromaError'],
  PAYLOAD_TOO_LARGE: [413, 'ChromaError'],
  UNSUPPORTED_MEDIA_TYPE: [415, 'ChromaError'],
  DATA_DIR_LOCKED: [503, 'InternalError'],
  UNAUTHORIZED: [401, 'AuthorizationError'],
  FORBIDDEN: [403, 'AuthorizationError'],
  RATE_LIMITED: [429, 'RateLimitError'],
  KEY_NOT_FOUND: [404, 'NotFoundError'],
  CHANGES_EXPIRED: [410, 'ChromaError'],
  WEBHOOK_NOT_FOUND: [404, 'NotFoundError'],
  WEBHOOK_URL_REFUSED: [400, 'InvalidArgumentError'],
  INSECURE_BIND: [500, 'InternalError'],
  STORAGE_FULL: [507, 'InternalError'],
  STORAGE_UNAVAILABLE: [503, 'InternalError'],
  DATABASE_CORRUPT: [503, 'InternalError'],
  SHUTTING_DOWN: [503, 'InternalError'],
  INTERNAL: [500, 'InternalError'],
};

export function chromaStatusOf(error: MembankError): { status: number; name: ChromaErrorName } {
  const chroma = (error.details as Partial<ChromaErrorDetails> | undefined)?.chroma;
  if (chroma) return chroma;
  const [status, name] = FROM_CODE[error.code];
  return { status, name };
}

/** Disk and database faults (better-sqlite3's and the file system's codes): nothing was written. */
function fromStorage(code: string): MembankError | undefined {
  if (/^SQLITE_FULL$|^ENOSPC$|^EDQUOT$/.test(code)) return new MembankError('STORAGE_FULL');
  if (/^SQLITE_(READONLY|IOERR|BUSY|LOCKED|CANTOPEN)|^(EROFS|EIO|EACCES|EPERM)$/.test(code)) return new MembankError('STORAGE_UNAVAILABLE');
  if (/^SQLITE_(CORRUPT|NOTADB)/.test(code)) return new MembankError('DATABASE_CORRUPT');
  return undefined;
}

/** What went wrong, as a MembankError: ours, body-parser's (which carry a `type`), storage faults, or unknown. */
function known(error: unknown): MembankError | undefined {
  if (error instanceof MembankError) return error;
  // The router throws a URIError for a path segment that is not valid percent-encoded UTF-8.
  if (error instanceof URIError) return invalidArgument(`The path is not valid percent-encoded UTF-8: ${error.message}`);
  if (typeof error !== 'object' || error === null) return undefined;
  const { type, message, code } = error as { type?: unknown; message?: unknown; code?: unknown };
  const text = typeof message === 'string' ? message : '';
  switch (type) {
    case 'entity.parse.failed':
      return invalidArgument(`Failed to parse the request body as JSON: ${text}`);
    case 'entity.too.large':
      return new MembankError('PAYLOAD_TOO_LARGE', `${text}: raise --max-body-bytes (MEMBANK_MAX_BODY_BYTES) for larger batches.`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new MembankError('UNSUPPORTED_MEDIA_TYPE', text);
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return invalidArgument(text);
  }
  if (typeof code === 'string') return fromStorage(code);
  return undefined;
}

export function chromaErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    let found = known(error);
    if (!found) {
      logger.error({ err: error, method: req.method, url: req.originalUrl }, 'unhandled error (Chroma API)');
      found = new MembankError('INTERNAL');
    } else if (/^(STORAGE_|DATABASE_)/.test(found.code)) {
      logger.error({ err: error, method: req.method, url: req.originalUrl }, 'storage fault (Chroma API)');
    }
    const { status, name } = chromaStatusOf(found);
    if (!res.headersSent) res.status(status).json({ error: name, message: found.message });
  };
}
