/** The REST API (v1) on Express 5: validation with the API's zod schemas, then a call into the service. */
import express, { type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import type { z } from 'zod';
import {
  changesQuery,
  contextBody,
  createKeyBody,
  createNamespaceBody,
  createWebhookBody,
  webhookId,
  deleteFactsBody,
  embeddingsBody,
  entityQuery,
  eraseBody,
  fieldValuesQuery,
  findMemoriesBody,
  patchMemoryBody,
  updateMemoriesBody,
  forgetBody,
  factCommandsBody,
  getMemoryQuery,
  readFactsQuery,
  searchFactsBody,
  writeFactsBody,
  jobId,
  keyId,
  reembedBody,
  type IncludeField,
  listMemoriesQuery,
  namespaceName,
  patchNamespaceBody,
  multiQueryBody,
  queryBody,
  writeDocumentsBody,
  writeMemoriesBody,
} from '../api/schemas.js';
import { canSee } from '../core/access.js';
import { sourceOf } from '../core/context.js';
import { MembankError } from '../core/errors.js';
import type { ChangeRecord } from '../ports/change-log.js';
import type { ContextService } from '../service/context-service.js';
import type { FactService } from '../service/fact-service.js';
import type { KeyService } from '../service/key-service.js';
import type { Webhooks } from '../service/webhooks.js';
import type { MemoryService } from '../service/memory-service.js';
import { accessOf, assertVisible, authenticate } from './auth.js';
import { errorHandler, fromZod } from './errors.js';
import { createMetrics, metricsHandler, requestObserver, type Metrics } from './metrics.js';
import { createDocsRouter } from './openapi.js';
import { changeView, contextMemoryView, factView, historyEventView, hitView, keyView, memoryView, namespaceStatsView, namespaceView, webhookView } from './views.js';

export interface AppOptions {
  service: MemoryService;
  facts: FactService;
  context: ContextService;
  keys: KeyService;
  /** Absent: the webhook routes answer 404 (apps built without them, as some tests do). */
  webhooks?: Webhooks;
  /** Requests per second per key (0: no limit). */
  rateLimit?: number;
  logger: Logger;
  /** Largest accepted request body, in bytes. */
  maxBodyBytes: number;
  /** Shared with the embedders' meter (server.ts); a fresh registry when absent. */
  metrics?: Metrics;
  /** Aborted when the server shuts down: change feeds held open (long polls, event streams) end. */
  shutdown?: AbortSignal;
  /**
   * Other edges served beside the REST API (the MCP endpoint), mounted by server.ts behind the same request
   * logging, metrics and API-key checks.
   */
  edges?: { path: string; handler: RequestHandler }[];
}

function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw fromZod(result.error);
  return result.data;
}

/** The body, which must be JSON; an absent or non-JSON body is a 415 rather than a confusing schema error. */
function jsonBody(req: Request): unknown {
  if (!req.is('application/json')) {
    throw new MembankError('UNSUPPORTED_MEDIA_TYPE', 'Send the body as JSON with Content-Type: application/json.');
  }
  return req.body;
}

/** OpenAI's base64 encoding: the float32 values' little-endian bytes. */
function encodeBase64Embedding(vector: Float32Array): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((x, i) => bytes.writeFloatLE(x, i * 4));
  return bytes.toString('base64');
}

/** An estimate for `usage` (words and punctuation marks); the embedders do not all expose a tokenizer. */
function estimateTokens(text: string): number {
  return text.match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu)?.length ?? 0;
}

function nsParam(req: Request): string {
  return parse(namespaceName, req.params.ns);
}

/** An event stream's comment line sent this often, so that proxies keep it open. */
const HEARTBEAT_MS = 15_000;

export function createApp({
  service,
  facts,
  context,
  keys,
  webhooks,
  rateLimit = 0,
  logger,
  maxBodyBytes,
  metrics = createMetrics(),
  edges = [],
  shutdown = new AbortController().signal,
}: AppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  metrics.watch(service);
  app.use(requestObserver(metrics, logger));
  // Who is asking comes before reading what they sent.
  app.use(authenticate({ keys, rateLimit }));
  app.use(express.json({ limit: maxBodyBytes, strict: false }));
  // Behind the same body parser and limit: the MCP router reads the parsed JSON-RPC message.
  for (const edge of edges) app.use(edge.path, edge.handler);
  app.param('ns', (_req, res, next, ns: string) => {
    try {
      assertVisible(res, ns);
      next();
    } catch (error) {
      next(error);
    }
  });

  app.get('/healthz', async (_req, res) => {
    res.json(await service.health());
  });

  app.post('/v1/namespaces', async (req, res) => {
    const input = parse(createNamespaceBody, jsonBody(req));
    if (!canSee(accessOf(res), input.name)) throw new MembankError('FORBIDDEN', `This API key may not create namespace "${input.name}".`);
    const { namespace, created } = await service.createNamespace(input);
    res.status(created ? 201 : 200).json(namespaceView(namespace));
  });

  app.get('/v1/namespaces', async (_req, res) => {
    const access = accessOf(res);
    res.json({ namespaces: (await service.listNamespaces()).filter((ns) => canSee(access, ns.name)).map(namespaceView) });
  });

  app.get('/v1/namespaces/:ns', async (req, res) => {
    res.json(namespaceStatsView(await service.describeNamespace(nsParam(req))));
  });

  app.patch('/v1/namespaces/:ns', async (req, res) => {
    const ns = nsParam(req);
    const patch = parse(patchNamespaceBody, jsonBody(req));
    if (patch.name !== undefined && !canSee(accessOf(res), patch.name)) {
      throw new MembankError('FORBIDDEN', `This API key may not name a namespace "${patch.name}".`);
    }
    res.json(namespaceView(await service.patchNamespace(ns, patch)));
  });

  app.post('/v1/namespaces/:ns/forget', async (req, res) => {
    const ns = nsParam(req);
    res.json(await service.forget(ns, parse(forgetBody, jsonBody(req))));
  });

  app.post('/v1/namespaces/:ns/memories/delete', async (req, res) => {
    const ns = nsParam(req);
    res.json({ deleted: await service.erase(ns, parse(eraseBody, jsonBody(req))) });
  });

  app.delete('/v1/namespaces/:ns', async (req, res) => {
    await service.deleteNamespace(nsParam(req));
    res.status(204).end();
  });

  app.post('/v1/namespaces/:ns/memories', async (req, res) => {
    const ns = nsParam(req);
    const { memories, onDuplicate } = parse(writeMemoriesBody, jsonBody(req));
    const { ids, seq, duplicates } = await service.writeMemories(ns, memories, { onDuplicate });
    res.status(201).json({ ids, seq, duplicates });
  });

  app.get('/v1/namespaces/:ns/memories', async (req, res) => {
    const ns = nsParam(req);
    const { limit, cursor, include } = parse(listMemoriesQuery, req.query);
    const page = await service.listMemories(ns, { limit, cursor, withVector: include === 'vector' });
    res.json({ memories: page.memories.map(memoryView), nextCursor: page.nextCursor });
  });

  app.post('/v1/namespaces/:ns/memories/list', async (req, res) => {
    const ns = nsParam(req);
    const { include, ...selection } = parse(findMemoriesBody, jsonBody(req));
    const page = await service.findMemories(ns, { ...selection, withVector: include?.includes('vector') === true });
    res.json({ memories: page.memories.map(memoryView), nextCursor: page.nextCursor });
  });

  app.post('/v1/namespaces/:ns/memories/update', async (req, res) => {
    const ns = nsParam(req);
    const { memories } = parse(updateMemoriesBody, jsonBody(req));
    res.json(await service.updateMemories(ns, memories as Parameters<typeof service.updateMemories>[1]));
  });

  app.patch('/v1/namespaces/:ns/memories/:id', async (req, res) => {
    const ns = nsParam(req);
    const id = String(req.params.id);
    const patch = parse(patchMemoryBody, jsonBody(req));
    const result = await service.updateMemories(ns, [{ id, ...patch } as Parameters<typeof service.updateMemories>[1][number]]);
    if (result.missing.length > 0) throw new MembankError('MEMORY_NOT_FOUND', `No memory "${id}" in namespace "${ns}".`);
    const memory = await service.getMemory(ns, id, false);
    res.json({ ...memoryView(memory), seq: result.seq });
  });

  app.get('/v1/namespaces/:ns/changes', async (req, res) => {
    const ns = nsParam(req);
    const query = parse(changesQuery, req.query);
    // The request ends with its connection, or with the server.
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    const signal = AbortSignal.any([gone.signal, shutdown]);
    const lastEventId = req.headers['last-event-id'];
    const resume = typeof lastEventId === 'string' && /^\d{1,15}$/.test(lastEventId) ? Number(lastEventId) : undefined;
    const first = await service.changes.read(ns, resume ?? query.since ?? (await service.changes.oldest(ns)), query.limit);
    if (!(req.headers.accept ?? '').includes('text/event-stream')) {
      const page = first.changes.length > 0 || query.wait === 0 ? first : await service.changes.poll(ns, first.next, query.limit, query.wait * 1000, signal);
      res.json({ changes: page.changes.map(changeView), next: page.next });
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write('retry: 2000\n\n');
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    const send = (page: { changes: ChangeRecord[] }) => {
      for (const change of page.changes) res.write(`id: ${change.seq}\nevent: change\ndata: ${JSON.stringify(changeView(change))}\n\n`);
    };
    try {
      send(first);
      await service.changes.follow(ns, first.next, send, signal);
    } catch (error) {
      // The stream has begun: an error is an event, then the end.
      const code = error instanceof MembankError ? error.code : 'INTERNAL';
      if (code === 'INTERNAL') logger.error({ err: error, namespace: ns }, 'change feed failed');
      res.write(`event: error\ndata: ${JSON.stringify({ code, message: error instanceof MembankError ? error.message : 'The change feed failed.' })}\n\n`);
    } finally {
      clearInterval(heartbeat);
      res.end();
    }
  });

  app.get('/v1/namespaces/:ns/values', async (req, res) => {
    const ns = nsParam(req);
    const { field, limit } = parse(fieldValuesQuery, req.query);
    res.json({ field, values: await service.fieldValues(ns, field, limit) });
  });

  app.get('/v1/namespaces/:ns/memories/:id/history', async (req, res) => {
    const events = await service.memoryHistory(nsParam(req), String(req.params.id));
    res.json({ events: events.map(historyEventView) });
  });

  app.get('/v1/namespaces/:ns/memories/:id', async (req, res) => {
    const ns = nsParam(req);
    const { include } = parse(getMemoryQuery, req.query);
    const memory = await service.getMemory(ns, String(req.params.id), include === 'vector');
    res.json({ ...memoryView(memory), retention: await service.retentionOf(ns, memory) });
  });

  app.delete('/v1/namespaces/:ns/memories/:id', async (req, res) => {
    const seq = await service.deleteMemory(nsParam(req), String(req.params.id));
    res.status(204).setHeader('Membank-Seq', String(seq)).end();
  });

  app.post('/v1/namespaces/:ns/documents', async (req, res) => {
    const ns = nsParam(req);
    const { documents, chunking } = parse(writeDocumentsBody, jsonBody(req));
    res.status(201).json(await service.writeDocuments(ns, documents, chunking));
  });

  app.delete('/v1/namespaces/:ns/documents/:id', async (req, res) => {
    const seq = await service.deleteDocument(nsParam(req), String(req.params.id));
    res.status(204).setHeader('Membank-Seq', String(seq)).end();
  });

  app.post('/v1/namespaces/:ns/query', async (req, res) => {
    const ns = nsParam(req);
    const input = parse(queryBody, jsonBody(req));
    const include = new Set<IncludeField>(input.include ?? ['text', 'metadata']);
    const hits = await service.query(ns, input);
    res.json({ results: hits.map((hit) => hitView(hit, include)) });
  });

  app.post('/v1/namespaces/:ns/context', async (req, res) => {
    const ns = nsParam(req);
    const built = await context.build(ns, parse(contextBody, jsonBody(req)));
    res.json({
      context: built.text,
      tokens: built.tokens,
      memories: built.memories.map(({ memory, score }) => contextMemoryView(memory, score, sourceOf(memory))),
      facts: built.facts.map(factView),
    });
  });

  app.post('/v1/query', async (req, res) => {
    const { namespaces, ...input } = parse(multiQueryBody, jsonBody(req));
    for (const name of namespaces) assertVisible(res, name);
    const include = new Set<IncludeField>(input.include ?? ['text', 'metadata']);
    const hits = await service.queryMany(namespaces, input);
    res.json({ results: hits.map((hit) => hitView(hit, include, true)) });
  });

  app.post('/v1/namespaces/:ns/facts', async (req, res) => {
    const ns = nsParam(req);
    const body = parse(writeFactsBody, jsonBody(req));
    res.status(201).json(await facts.write(ns, body.facts));
  });

  app.get('/v1/namespaces/:ns/facts', async (req, res) => {
    const ns = nsParam(req);
    const query = parse(readFactsQuery, req.query);
    res.json({ facts: (await facts.read(ns, query)).map(factView) });
  });

  app.post('/v1/namespaces/:ns/facts/search', async (req, res) => {
    const ns = nsParam(req);
    const body = parse(searchFactsBody, jsonBody(req));
    const results = await facts.search(ns, body);
    res.json({ results: results.map((fact) => ({ ...factView(fact), score: fact.score })) });
  });

  app.post('/v1/namespaces/:ns/facts/delete', async (req, res) => {
    const ns = nsParam(req);
    res.json(await facts.deleteMatching(ns, parse(deleteFactsBody, jsonBody(req))));
  });

  app.post('/v1/namespaces/:ns/facts/commands', async (req, res) => {
    const ns = nsParam(req);
    const results = await facts.commands(ns, parse(factCommandsBody, jsonBody(req)).text);
    res.json({ results: results.map((r) => ('facts' in r ? { ...r, facts: r.facts.map(factView) } : r)) });
  });

  app.delete('/v1/namespaces/:ns/facts/:id', async (req, res) => {
    const seq = await facts.deleteOne(nsParam(req), String(req.params.id));
    res.status(204).setHeader('Membank-Seq', String(seq)).end();
  });

  app.get('/v1/namespaces/:ns/entities/:name', async (req, res) => {
    const ns = nsParam(req);
    const { depth } = parse(entityQuery, req.query);
    const graph = await facts.entity(ns, String(req.params.name), depth);
    res.json({ nodes: graph.nodes, edges: graph.edges.map(factView) });
  });

  app.post('/v1/namespaces/:ns/reembed', async (req, res) => {
    const ns = nsParam(req);
    const { embedder } = parse(reembedBody, jsonBody(req));
    res.status(202).json({ job: await service.reembed(ns, embedder) });
  });

  app.get('/v1/jobs/:id', async (req, res) => {
    const id = parse(jobId, req.params.id);
    const job = await service.getJob(id);
    if (job.namespace !== null && !canSee(accessOf(res), job.namespace)) throw new MembankError('JOB_NOT_FOUND', `No job "${id}".`);
    res.json(job);
  });

  app.get('/v1/keys', async (_req, res) => {
    res.json({ keys: (await keys.list()).map(keyView) });
  });

  app.post('/v1/keys', async (req, res) => {
    const created = await keys.create(parse(createKeyBody, jsonBody(req)));
    res.status(201).json({ ...keyView(created.record), key: created.key });
  });

  app.delete('/v1/keys/:id', async (req, res) => {
    await keys.revoke(parse(keyId, req.params.id));
    res.status(204).end();
  });

  if (webhooks) {
    app.post('/v1/webhooks', async (req, res) => {
      res.status(201).json(webhookView(await webhooks.create(parse(createWebhookBody, jsonBody(req)))));
    });
    app.get('/v1/webhooks', async (_req, res) => {
      res.json({ webhooks: (await webhooks.list()).map(webhookView) });
    });
    app.get('/v1/webhooks/:id', async (req, res) => {
      res.json(webhookView(await webhooks.get(parse(webhookId, req.params.id))));
    });
    app.delete('/v1/webhooks/:id', async (req, res) => {
      await webhooks.remove(parse(webhookId, req.params.id));
      res.status(204).end();
    });
  }

  app.get('/v1/models', (_req, res) => {
    const data = service.embedderNames().map((id) => ({ id, object: 'model', created: 0, owned_by: 'membank' }));
    res.json({ object: 'list', data });
  });

  app.post('/v1/embeddings', async (req, res) => {
    const body = parse(embeddingsBody, jsonBody(req));
    const texts = typeof body.input === 'string' ? [body.input] : body.input;
    const vectors = await service.embedTexts(body.model, texts);
    const dimensions = vectors[0]!.length;
    if (body.dimensions !== undefined && body.dimensions !== dimensions) {
      throw new MembankError('DIMENSION_MISMATCH', `Model "${body.model}" makes ${dimensions}-dimensional vectors, not ${body.dimensions}.`);
    }
    const tokens = texts.reduce((sum, text) => sum + estimateTokens(text), 0);
    res.json({
      object: 'list',
      data: vectors.map((vector, index) => ({
        object: 'embedding',
        index,
        embedding: body.encoding_format === 'base64' ? encodeBase64Embedding(vector) : Array.from(vector),
      })),
      model: body.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  });

  app.get('/metrics', metricsHandler(metrics));
  app.use(createDocsRouter());

  app.use((req: Request, _res: Response) => {
    throw new MembankError('ROUTE_NOT_FOUND', `No route for ${req.method} ${req.path}.`);
  });
  app.use(errorHandler(logger));
  return app;
}
