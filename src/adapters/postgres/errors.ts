/**
 * What a PostgreSQL failure means to a client. The driver reports a lost or refused connection with its own
 * codes (CONNECTION_CLOSED, CONNECT_TIMEOUT) or Node's socket codes (ECONNREFUSED), and the server with a
 * SQLSTATE (57P01 when it shuts down, 53300 when it has no connection slot left). Each of those means "the
 * database is not there right now": STORAGE_UNAVAILABLE, which the HTTP edge answers 503 with Retry-After.
 */
import { MembankError } from '../../core/errors.js';

/** Node and driver codes of a connection that could not be made or was lost. */
const CONNECTION_CODES: Record<string, string> = {
  CONNECTION_CLOSED: 'the connection was lost',
  CONNECTION_DESTROYED: 'the connection was lost',
  CONNECT_TIMEOUT: 'no connection could be made in time',
  ECONNREFUSED: 'the connection was refused',
  ECONNRESET: 'the connection was reset',
  EPIPE: 'the connection was lost',
  ETIMEDOUT: 'the connection timed out',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be resolved',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  EHOSTDOWN: 'the host is down',
  ENETDOWN: 'the network is down',
};

/** SQLSTATEs of a server that dropped or refused the session, or could not serve the statement now. */
const UNAVAILABLE_STATES: Record<string, string> = {
  '57P01': 'the server is shutting down',
  '57P02': 'the server crashed',
  '57P03': 'the server is starting up or shutting down',
  '57P04': 'the database was dropped',
  '53300': 'the server has no connection slot left (too many connections)',
  '53400': 'a server limit was reached',
  '53200': 'the server is out of memory',
  '53000': 'the server is out of resources',
  '57014': 'the statement timed out',
  '55P03': 'a lock could not be taken in time',
  '25006': 'the server is read-only (a standby, or the primary during a failover)',
  '40001': 'the transaction could not be serialized with concurrent ones',
  '40P01': 'the transaction deadlocked with a concurrent one',
  '58000': 'the server had a system error',
  '58030': 'the server had an I/O error',
  '3D000': 'the database does not exist',
  '28000': 'the server refused the credentials',
  '28P01': 'the server refused the password',
};

interface DriverError {
  code?: unknown;
  name?: unknown;
  message?: unknown;
}

const codeOf = (error: unknown): string => {
  const code = (error as DriverError | null)?.code;
  return typeof code === 'string' ? code : '';
};

/** A failure of the connection itself, before or while a statement ran (never one the statement caused). */
export function isConnectionError(error: unknown): boolean {
  const code = codeOf(error);
  return code in CONNECTION_CODES || /^08/.test(code) || /^57P0[123]$/.test(code);
}

/**
 * A connection that had been open and is now dead (the server restarted, or ended the session): a fresh one
 * may well work. Unlike a connection refused, which says the server is not there now.
 */
export function isLostConnection(error: unknown): boolean {
  return ['CONNECTION_CLOSED', 'CONNECTION_DESTROYED', 'ECONNRESET', 'EPIPE', '57P01', '57P02', '08006'].includes(codeOf(error));
}

/** A failure after which the server has rolled the transaction back and the same transaction may succeed. */
export function isRetryableConflict(error: unknown): boolean {
  return ['40001', '40P01'].includes(codeOf(error));
}

function unavailable(reason: string): MembankError {
  return new MembankError(
    'STORAGE_UNAVAILABLE',
    `The database cannot be used right now (${reason}); the request was not completed. Retry after the time in Retry-After.`,
  );
}

/** A driver or server error as a MembankError, or undefined when it is none of the expected ones (a bug: 500). */
export function storageErrorOf(error: unknown): MembankError | undefined {
  if (error instanceof MembankError) return error;
  const code = codeOf(error);
  if (code === 'CONNECTION_ENDED') return new MembankError('SHUTTING_DOWN');
  const connection = CONNECTION_CODES[code];
  if (connection) return unavailable(connection);
  if (/^08/.test(code)) return unavailable(`connection failure ${code}`);
  const state = UNAVAILABLE_STATES[code];
  if (state) return unavailable(`${state}, ${code}`);
  // Every foreign key of the schema leads to a namespace (or a job of one): another request or node deleted
  // it while this one ran, which SQLite's single writer never lets happen in between.
  if (code === '23503') return new MembankError('NAMESPACE_NOT_FOUND', 'The namespace was deleted while this request ran.');
  if (code === '53100') return new MembankError('STORAGE_FULL', 'The disk of the database server is full: nothing was written.');
  // TEXT and JSONB cannot hold U+0000 in PostgreSQL (SQLite can): the input, not the server, is at fault.
  if (code === '22P05' || code === '22021') {
    return new MembankError('VALIDATION_FAILED', 'Text cannot contain the character U+0000 (NUL) in this database.');
  }
  return undefined;
}

/** Rethrows a driver error as a MembankError where it is an expected one. */
export function rethrowStorageError(error: unknown): never {
  throw storageErrorOf(error) ?? error;
}
