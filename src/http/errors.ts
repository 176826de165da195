/** The one place that maps errors to HTTP: a status per error code, and the JSON error body. */
import type { ErrorRequestHandler } from 'express';
import type { Logger } from 'pino';
import { ZodError } from 'zod';
import { type ErrorCode, ERRORS, MembankError } from '../core/errors.js';

export const HTTP_STATUS: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 400,
  INVALID_JSON: 400,
  DIMENSION_MISMATCH: 400,
  INVALID_VECTOR: 400,
  NO_EMBEDDER: 400,
  UNKNOWN_EMBEDDER: 400,
  EMBEDDER_FAILED: 503,
  EMBEDDER_MISMATCH: 409,
  JOB_NOT_FOUND: 404,
  JOB_CONFLICT: 409,
  NAMESPACE_NOT_FOUND: 404,
  MEMORY_NOT_FOUND: 404,
  DOCUMENT_NOT_FOUND: 404,
  FACT_NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  NAMESPACE_CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  DATA_DIR_LOCKED: 503,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  KEY_NOT_FOUND: 404,
  CHANGES_EXPIRED: 410,
  WEBHOOK_NOT_FOUND: 404,
  WEBHOOK_URL_REFUSED: 400,
  INSECURE_BIND: 500,
  STORAGE_FULL: 507,
  STORAGE_UNAVAILABLE: 503,
  DATABASE_CORRUPT: 503,
  SHUTTING_DOWN: 503,
  INTERNAL: 500,
};

/**
 * Failures that pass by themselves: the answer says when to try again (Retry-After, seconds), which the
 * client honours. STORAGE_UNAVAILABLE: the database is restarting, failing over or out of connections.
 */
export const RETRY_AFTER_SECONDS: Partial<Record<ErrorCode, number>> = {
  STORAGE_UNAVAILABLE: 1,
};

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

export function fromZod(error: ZodError): MembankError {
  const issues = error.issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.message,
  }));
  const first = issues[0];
  const message = first ? `${first.path ? `${first.path}: ` : ''}${first.message}` : 'Invalid request.';
  return new MembankError('VALIDATION_FAILED', message, { issues });
}

/** Errors thrown by body-parser carry a `type`; map the ones a client causes. */
function fromBodyParser(error: { type?: string; message?: string }): MembankError | undefined {
  switch (error.type) {
    case 'entity.parse.failed':
      return new MembankError('INVALID_JSON', `The request body is not valid JSON: ${error.message ?? ''}`.trim());
    case 'entity.too.large':
      return new MembankError('PAYLOAD_TOO_LARGE');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new MembankError('UNSUPPORTED_MEDIA_TYPE', error.message);
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new MembankError('VALIDATION_FAILED', error.message);
    default:
      return undefined;
  }
}

/**
 * Disk and database faults, from SQLite (better-sqlite3's `code`) or from the file system (index checkpoints):
 * the client learns that nothing was written and whether waiting for space can help.
 */
function fromStorage(error: { code?: unknown }): MembankError | undefined {
  const code = typeof error.code === 'string' ? error.code : '';
  if (/^SQLITE_FULL$|^ENOSPC$|^EDQUOT$/.test(code)) return new MembankError('STORAGE_FULL');
  if (/^SQLITE_(READONLY|IOERR|BUSY|LOCKED|CANTOPEN)|^(EROFS|EIO|EACCES|EPERM)$/.test(code)) {
    return new MembankError('STORAGE_UNAVAILABLE', `${ERRORS.STORAGE_UNAVAILABLE} (${code})`);
  }
  if (/^SQLITE_(CORRUPT|NOTADB)/.test(code)) return new MembankError('DATABASE_CORRUPT');
  return undefined;
}

/** body-parser's other client errors, such as a gzip or brotli body that does not decompress: a 400 it exposes. */
function isUnreadableBody(error: unknown): error is { message: string } {
  const e = error as { status?: unknown; expose?: unknown; message?: unknown } | null;
  return typeof e === 'object' && e !== null && e.status === 400 && e.expose === true && typeof e.message === 'string';
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    let known: MembankError | undefined;
    if (error instanceof MembankError) known = error;
    else if (error instanceof ZodError) known = fromZod(error);
    // The router throws a URIError when a path segment is not valid percent-encoded UTF-8 (`%E0%80%AF`).
    else if (error instanceof URIError) known = new MembankError('VALIDATION_FAILED', `The path is not valid percent-encoded UTF-8: ${error.message}`);
    else if (typeof error === 'object' && error !== null && 'type' in error) {
      known = fromBodyParser(error as { type?: string; message?: string });
    } else if (typeof error === 'object' && error !== null && 'code' in error) {
      known = fromStorage(error as { code?: unknown });
      // The operator must see these: the client only learns that nothing was written.
      if (known) logger.error({ err: error, method: req.method, url: req.originalUrl }, 'storage fault');
    }
    if (!known && isUnreadableBody(error)) {
      known = new MembankError('VALIDATION_FAILED', `The request body could not be read: ${error.message}`);
    }
    if (!known) {
      logger.error({ err: error, reqId: res.locals.requestId, method: req.method, url: req.originalUrl }, 'unhandled error');
      known = new MembankError('INTERNAL');
    }
    const body: ErrorBody = { error: { code: known.code, message: known.message } };
    if (known.details !== undefined) body.error.details = known.details;
    if (res.headersSent) return;
    const retryAfter = RETRY_AFTER_SECONDS[known.code];
    if (retryAfter !== undefined) res.set('Retry-After', String(retryAfter));
    res.status(HTTP_STATUS[known.code]).json(body);
  };
}
