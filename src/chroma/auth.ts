/**
 * Chroma's auth headers on membank's API keys. Chroma's clients send a token as `Authorization: Bearer <token>`
 * or `X-Chroma-Token: <token>`; either carries a membank key. The rules are the v1 API's: open until the first key
 * exists, then every route but the heartbeat, version and healthcheck needs a valid key; each route needs a role;
 * a collection whose namespace the key's patterns do not cover answers 404, as if it did not exist.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { type Access, canDo, canSee, OPEN_ACCESS, type Role } from '../core/access.js';
import { MembankError } from '../core/errors.js';
import { createRateLimiter } from '../core/rate-limit.js';
import type { KeyService } from '../service/key-service.js';
import { chromaError } from './errors.js';
import { collectionOf, DEFAULT_DATABASE, DEFAULT_TENANT } from './names.js';

/** Routes any client may call, as Chroma's own server answers them without credentials. */
const PUBLIC = new Set(['/api/v2/heartbeat', '/api/v2/version', '/api/v2/healthcheck']);

export function accessOf(res: Response): Access {
  return (res.locals.access as Access | undefined) ?? OPEN_ACCESS;
}

/** The token a Chroma client sent, from either of its headers. */
function tokenOf(req: Request): { token?: string; sent: boolean } {
  const chroma = req.get('x-chroma-token');
  if (chroma !== undefined) return { token: chroma.trim() || undefined, sent: true };
  const authorization = req.get('authorization');
  if (authorization === undefined) return { sent: false };
  return { token: /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1], sent: true };
}

export function authenticate(options: { keys: KeyService; rateLimit: number; clock?: () => number }): RequestHandler {
  const limiter = options.rateLimit > 0 ? createRateLimiter(options.rateLimit) : null;
  const clock = options.clock ?? Date.now;
  return (req: Request, res: Response, next: NextFunction) => {
    if (PUBLIC.has(req.path)) return next();
    (async () => {
      let access: Access = OPEN_ACCESS;
      if (await options.keys.anyCreated()) {
        const { token, sent } = tokenOf(req);
        const key = token ? await options.keys.verify(token) : undefined;
        if (!key) {
          throw new MembankError(
            'UNAUTHORIZED',
            sent
              ? 'The API key is not valid (unknown, malformed or revoked).'
              : 'This server needs a membank API key: send it as X-Chroma-Token or Authorization: Bearer.',
          );
        }
        access = { kind: 'key', key };
      }
      if (limiter) {
        const wait = limiter.take(access.kind === 'key' ? `key:${access.key.id}` : `ip:${req.ip}`, clock());
        if (wait > 0) {
          res.set('Retry-After', String(Math.max(1, Math.ceil(wait))));
          throw new MembankError('RATE_LIMITED');
        }
      }
      res.locals.access = access;
    })().then(() => next(), next);
  };
}

/** Route guard: the request's key must hold `role`. */
export function need(role: Role): RequestHandler {
  return (_req, res, next) => {
    const access = accessOf(res);
    if (canDo(access, role)) return next();
    next(new MembankError('FORBIDDEN', `This route needs a ${role} key; this one is ${access.kind === 'key' ? access.key.role : 'open'}.`));
  };
}

export const visible = (res: Response, namespace: string): boolean => canSee(accessOf(res), namespace);

/** Refuses to create what the key may not see (a 403, as v1's namespace creation). */
export function assertMayCreate(res: Response, namespace: string): void {
  if (!visible(res, namespace)) throw chromaError(403, 'AuthorizationError', `This API key may not create collection namespace "${namespace}".`);
}

/**
 * Chroma's identity: the tenant and databases a key works in. A key whose patterns all name one database
 * (`acme..prod..*`) works there, so a client that asks (Chroma's CloudClient does) lands in it; any other key,
 * and open access, works in the defaults.
 */
export function identityOf(access: Access): { user_id: string; tenant: string; databases: string[] } {
  if (access.kind === 'open') return { user_id: '', tenant: DEFAULT_TENANT, databases: [DEFAULT_DATABASE] };
  const scopes = new Set(
    access.key.role === 'admin' ? [] : access.key.namespaces.map((pattern) => {
      const { tenant, database } = collectionOf(pattern);
      return pattern.split('..').length === 3 && !tenant.includes('*') && !database.includes('*') ? `${tenant}\n${database}` : '';
    }),
  );
  const only = scopes.size === 1 ? [...scopes][0]! : '';
  if (only === '') return { user_id: access.key.id, tenant: DEFAULT_TENANT, databases: [DEFAULT_DATABASE] };
  const [tenant, database] = only.split('\n') as [string, string];
  return { user_id: access.key.id, tenant, databases: [database] };
}
