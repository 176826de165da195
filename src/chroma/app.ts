/**
 * Chroma's HTTP API v2 on Express 5, served on its own port (`--chroma-port`), so that Chroma's clients and
 * every framework built on them (LangChain's `Chroma` store, LlamaIndex, Mastra, Mem0) talk to membank
 * unchanged. Routes, bodies, answers and error statuses follow Chroma 1.0's; what differs is in the README.
 */
import express, { type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import { MembankError } from '../core/errors.js';
import type { KeyService } from '../service/key-service.js';
import type { MemoryService } from '../service/memory-service.js';
import { accessOf, authenticate, identityOf, need } from './auth.js';
import { createCollections } from './collections.js';
import { chromaError, chromaErrorHandler } from './errors.js';
import type { DatabaseRef } from './names.js';
import { createRecords } from './records.js';
import {
  addBody,
  createCollectionBody,
  deleteBody,
  getBody,
  nameBody,
  parseBody,
  parsePage,
  queryBody,
  updateBody,
  updateCollectionBody,
} from './schemas.js';

export interface ChromaAppOptions {
  service: MemoryService;
  keys: KeyService;
  logger: Logger;
  /** Largest accepted request body, in bytes (Chroma's clients send up to `max_batch_size` records at once). */
  maxBodyBytes: number;
  /** Requests per second per key (0: no limit). */
  rateLimit?: number;
  /**
   * Whether `POST /api/v2/reset` deletes every namespace (admin keys only). Off by default, as in Chroma.
   * @example createChromaApp({ ...deps, allowReset: config.chromaAllowReset })
   */
  allowReset?: boolean;
}

/** The version of Chroma whose API this serves. */
export const CHROMA_VERSION = '1.0.0';

/** Records per add, upsert or update that clients are told they may send (Chroma 1.0's figure). */
export const MAX_BATCH_SIZE = 5461;

const refOf = (req: Request): DatabaseRef => ({ tenant: String(req.params.tenant), database: String(req.params.database) });

/** Chroma reads bodies only as JSON, and says so with a 415. */
const jsonOnly: RequestHandler = (req, _res, next) => {
  if (req.is('application/json')) return next();
  next(chromaError(415, 'ChromaError', 'Expected request with `Content-Type: application/json`'));
};

export function createChromaApp({ service, keys, logger, maxBodyBytes, rateLimit = 0, allowReset = false }: ChromaAppOptions): express.Express {
  const collections = createCollections({ service, logger });
  const records = createRecords({ service });
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(authenticate({ keys, rateLimit }));
  app.use(express.json({ limit: maxBodyBytes, strict: false }));

  const read = need('read');
  const write = need('write');
  const admin = need('admin');
  const base = '/api/v2/tenants/:tenant/databases/:database';
  const collection = `${base}/collections/:collection`;
  const collectionOf = (req: Request, res: Response) => collections.byId(refOf(req), String(req.params.collection), res);

  app.get('/api/v2/heartbeat', (_req, res) => {
    res.json({ 'nanosecond heartbeat': Date.now() * 1e6 });
  });
  app.get('/api/v2/version', (_req, res) => {
    res.json(CHROMA_VERSION);
  });
  app.get('/api/v2/healthcheck', async (_req, res) => {
    const ready = (await service.health()).status === 'ok';
    res.status(ready ? 200 : 503).json({ is_executor_ready: ready, is_log_client_ready: ready });
  });
  app.get('/api/v2/auth/identity', (_req, res) => {
    res.json(identityOf(accessOf(res)));
  });
  app.get('/api/v2/pre-flight-checks', (_req, res) => {
    res.json({ max_batch_size: MAX_BATCH_SIZE, supports_base64_encoding: true });
  });
  app.post('/api/v2/reset', async (_req, res) => {
    if (!allowReset) throw chromaError(403, 'ChromaError', 'Reset is disabled by config');
    if (!isAdmin(res)) throw new MembankError('FORBIDDEN', 'Reset deletes every namespace: it needs an admin key.');
    await collections.reset();
    res.json(true);
  });

  app.post('/api/v2/tenants', admin, jsonOnly, async (req, res) => {
    await collections.createTenant(parseBody(nameBody, req.body).name);
    res.json({});
  });
  app.get('/api/v2/tenants/:tenant', read, async (req, res) => {
    res.json(await collections.getTenant(String(req.params.tenant)));
  });
  app.get('/api/v2/tenants/:tenant/databases', read, async (req, res) => {
    res.json(await collections.listDatabases(String(req.params.tenant), parsePage(req.query)));
  });
  app.post('/api/v2/tenants/:tenant/databases', admin, jsonOnly, async (req, res) => {
    await collections.createDatabase({ tenant: String(req.params.tenant), database: parseBody(nameBody, req.body).name });
    res.json({});
  });
  app.get(base, read, async (req, res) => {
    res.json(await collections.getDatabase(refOf(req)));
  });
  app.delete(base, admin, async (req, res) => {
    await collections.deleteDatabase(refOf(req));
    res.json({});
  });

  app.get(`${base}/collections`, read, async (req, res) => {
    res.json(await collections.list(refOf(req), parsePage(req.query), res));
  });
  app.post(`${base}/collections`, write, jsonOnly, async (req, res) => {
    res.json(await collections.create(refOf(req), parseBody(createCollectionBody, req.body), res));
  });
  app.get(`${base}/collections_count`, read, async (req, res) => {
    res.json(await collections.count(refOf(req), res));
  });
  app.get(collection, read, async (req, res) => {
    res.json(await collections.get(refOf(req), String(req.params.collection), res));
  });
  app.put(collection, write, jsonOnly, async (req, res) => {
    await collections.modify(refOf(req), String(req.params.collection), parseBody(updateCollectionBody, req.body), res);
    res.json({});
  });
  app.delete(collection, admin, async (req, res) => {
    await collections.remove(refOf(req), String(req.params.collection), res);
    res.json({});
  });

  app.post(`${collection}/add`, write, jsonOnly, async (req, res) => {
    const body = parseBody(addBody, req.body);
    await records.add(await collectionOf(req, res), body, 'add');
    res.status(201).json({});
  });
  app.post(`${collection}/upsert`, write, jsonOnly, async (req, res) => {
    const body = parseBody(addBody, req.body);
    await records.add(await collectionOf(req, res), body, 'upsert');
    res.json({});
  });
  app.post(`${collection}/update`, write, jsonOnly, async (req, res) => {
    const body = parseBody(updateBody, req.body);
    await records.update(await collectionOf(req, res), body);
    res.json({});
  });
  app.post(`${collection}/delete`, write, jsonOnly, async (req, res) => {
    const body = parseBody(deleteBody, req.body);
    await records.delete(await collectionOf(req, res), body);
    res.json({});
  });
  app.post(`${collection}/get`, read, jsonOnly, async (req, res) => {
    const body = parseBody(getBody, req.body);
    res.json(await records.get(await collectionOf(req, res), body));
  });
  app.post(`${collection}/query`, read, jsonOnly, async (req, res) => {
    const body = parseBody(queryBody, req.body);
    res.json(await records.query(await collectionOf(req, res), body));
  });
  app.get(`${collection}/count`, read, async (req, res) => {
    res.json(await records.count(await collectionOf(req, res)));
  });
  app.post(`${collection}/fork`, write, async (req, res) => {
    await collectionOf(req, res);
    throw chromaError(501, 'ChromaError', 'membank does not fork collections (Chroma Cloud only).');
  });

  app.use((req: Request) => {
    throw chromaError(404, 'NotFoundError', `No route for ${req.method} ${req.path}.`);
  });
  app.use(chromaErrorHandler(logger));
  return app;
}

function isAdmin(res: Response): boolean {
  const access = accessOf(res);
  return access.kind === 'open' || access.key.role === 'admin';
}
