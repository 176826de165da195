/** The mapping of PostgreSQL failures to membank's codes, on the errors the driver and server produce. */
import { describe, expect, it } from 'vitest';
import { MembankError } from '../../core/errors.js';
import { isConnectionError, isLostConnection, storageErrorOf } from './errors.js';

const failure = (code: string, message = code) => Object.assign(new Error(message), { code });

describe('storageErrorOf', () => {
  it.each([
    ['ECONNREFUSED', /connection was refused/],
    ['CONNECTION_CLOSED', /connection was lost/],
    ['CONNECT_TIMEOUT', /no connection could be made in time/],
    ['ENOTFOUND', /does not resolve/],
    ['57P01', /shutting down, 57P01/],
    ['57P03', /starting up or shutting down/],
    ['53300', /too many connections/],
    ['57014', /statement timed out/],
    ['25006', /read-only/],
    ['08006', /connection failure 08006/],
  ])('%s is STORAGE_UNAVAILABLE', (code, message) => {
    expect(storageErrorOf(failure(code))).toMatchObject({ code: 'STORAGE_UNAVAILABLE', message: expect.stringMatching(message) });
  });

  it('maps the rest by meaning, and leaves bugs alone', () => {
    expect(storageErrorOf(failure('CONNECTION_ENDED'))?.code).toBe('SHUTTING_DOWN');
    expect(storageErrorOf(failure('53100'))?.code).toBe('STORAGE_FULL');
    expect(storageErrorOf(failure('22021'))?.code).toBe('VALIDATION_FAILED');
    expect(storageErrorOf(failure('23503'))?.code).toBe('NAMESPACE_NOT_FOUND');
    const own = new MembankError('FACT_NOT_FOUND');
    expect(storageErrorOf(own)).toBe(own);
    // A missing table or a syntax error is a bug: it must surface as a 500 with its stack, not a 503.
    expect(storageErrorOf(failure('42P01'))).toBeUndefined();
    expect(storageErrorOf(failure('42601'))).toBeUndefined();
    expect(storageErrorOf(new Error('plain'))).toBeUndefined();
    expect(storageErrorOf(null)).toBeUndefined();
  });

  it('tells a lost connection (try a fresh one) from a refused one (the server is away)', () => {
    expect(isLostConnection(failure('CONNECTION_CLOSED'))).toBe(true);
    expect(isLostConnection(failure('57P01'))).toBe(true);
    expect(isLostConnection(failure('ECONNREFUSED'))).toBe(false);
    expect(isConnectionError(failure('ECONNREFUSED'))).toBe(true);
    expect(isConnectionError(failure('23505'))).toBe(false);
  });
});
