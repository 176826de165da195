/**
 * Access control at the HTTP edge. Until the first API key is created every request is open (a local
 * service); from then on, every route but /healthz needs a valid `Authorization: Bearer <key>` (revoking the
 * last key locks the service rather than opening it), each route needs a
 * role (read < write < admin), and a namespace the key's patterns do not cover answers 404, as if it did not
 * exist. Keys are read from SQLite on every request, so a revocation counts at once, also one made by
 * `membank keys revoke` in another process. Optional rate limit per key (per address when open).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { type Access, canDo, canSee, OPEN_ACCESS, type Role } from '../core/access.js';
import { MembankError } from '../core/errors.js';
import { createRateLimiter } from '../core/rate-limit.js';
import type { KeyService } from '../service/key-service.js';

/** The role a route needs. Reads: GET, and the POSTs that only search. */
export function requiredRole(method: string, path: string): Role {
  if (path === '/v1/keys' || path.startsWith('/v1/keys/')) return 'admin';
  if (path === '/v1/webhooks' || path.startsWith('/v1/webhooks/')) return 'admin';
  if (method === 'DELETE' && /^\/v1\/namespaces\/[^/]+\/?$/.test(path)) return 'admin';
  if (method === 'GET' || method === 'HEAD') return 'read';
  if (method === 'POST' && (/^\/v1\/namespaces\/[^/]+\/(query|context|facts\/search)\/?$/.test(path) || /^\/v1\/(query|embeddings)\/?$/.test(path))) {
    return 'read';
  }
  return 'write';
}

export function accessOf(res: Response): Access {
  return (res.locals.access as Access | undefined) ?? OPEN_ACCESS;
}

/** Throws NAMESPACE_NOT_FOUND for a namespace the request may not see. */
export function assertVisible(res: Response, namespace: string): void {
  if (!canSee(accessOf(res), namespace)) throw new MembankError('NAMESPACE_NOT_FOUND', `Namespace "${namespace}" does not exist.`);
}

export function authenticate(options: { keys: KeyService; rateLimit: number; clock?: () => number }): RequestHandler {
  const limiter = options.rateLimit > 0 ? createRateLimiter(options.rateLimit) : null;
  const clock = options.clock ?? Date.now;
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.path === '/healthz') return next();
    (async () => {
      let access: Access = OPEN_ACCESS;
      if (await options.keys.anyCreated()) {
        const match = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
        const key = match ? await options.keys.verify(match[1]!) : undefined;
        if (!key) throw new MembankError('UNAUTHORIZED', match ? 'The API key is not valid (unknown, malformed or revoked).' : undefined);
        access = { kind: 'key', key };
      }
      if (limiter) {
        const wait = limiter.take(access.kind === 'key' ? `key:${access.key.id}` : `ip:${req.ip}`, clock());
        if (wait > 0) {
          res.set('Retry-After', String(Math.max(1, Math.ceil(wait))));
          throw new MembankError('RATE_LIMITED', undefined, { retryAfterSeconds: Math.ceil(wait * 1000) / 1000 });
        }
      }
      const needed = requiredRole(req.method, req.path);
      if (!canDo(access, needed)) {
        throw new MembankError('FORBIDDEN', `This route needs a ${needed} key; this one is ${access.kind === 'key' ? access.key.role : 'open'}.`);
      }
      res.locals.access = access;
    })().then(() => next(), next);
  };
}
