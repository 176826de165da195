/**
 * The OpenAPI 3.1 document of the REST API, built from the same zod schemas that validate requests (so it
 * cannot drift from what the server accepts), and the /docs page: Swagger UI served from the swagger-ui-dist
 * package (no CDN), pointed at /openapi.json, where one can try requests.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import express from 'express';
import { z } from 'zod';
import {
  changesQuery,
  createWebhookBody,
  contextBody,
  createKeyBody,
  createNamespaceBody,
  deleteFactsBody,
  embeddingsBody,
  entityQuery,
  eraseBody,
  factCommandsBody,
  fieldValuesQuery,
  filter,
  findMemoriesBody,
  forgetBody,
  getMemoryQuery,
  jobId,
  LIMITS,
  listMemoriesQuery,
  multiQueryBody,
  namespaceName,
  patchMemoryBody,
  patchNamespaceBody,
  queryBody,
  readFactsQuery,
  reembedBody,
  searchFactsBody,
  updateMemoriesBody,
  webhookId,
  writeDocumentsBody,
  writeFactsBody,
  writeMemoriesBody,
} from '../api/schemas.js';
import { ERROR_CODES } from '../core/errors.js';
import { HTTP_STATUS } from './errors.js';

type JsonSchema = Record<string, unknown>;

export interface RouteDoc {
  method: 'get' | 'post' | 'patch' | 'delete';
  /** Express syntax (`:ns`); written as `{ns}` in the document. */
  path: string;
  summary: string;
  tag: string;
  body?: z.ZodType;
  query?: z.ZodObject;
  /** The success status and what it carries. */
  ok: [number, string];
}

/** Every route of the service. test/openapi.test.ts checks this table against the app's router. */
export const ROUTES: RouteDoc[] = [
  { method: 'get', path: '/healthz', summary: 'Service status and the embedders loaded so far', tag: 'service', ok: [200, '{status, namespaces, embedders}'] },
  { method: 'post', path: '/v1/namespaces', summary: 'Create a namespace (idempotent with the same settings)', tag: 'namespaces', body: createNamespaceBody, ok: [201, 'The namespace (200 when it existed with the same settings)'] },
  { method: 'get', path: '/v1/namespaces', summary: 'List namespaces', tag: 'namespaces', ok: [200, '{namespaces}'] },
  { method: 'get', path: '/v1/namespaces/:ns', summary: 'A namespace with counts and index statistics', tag: 'namespaces', ok: [200, 'The namespace, count, factCount and index'] },
  { method: 'patch', path: '/v1/namespaces/:ns', summary: "Change a namespace's name, metadata, forgetting, dedupe, history or search settings", tag: 'namespaces', body: patchNamespaceBody, ok: [200, 'The namespace'] },
  { method: 'delete', path: '/v1/namespaces/:ns', summary: 'Delete a namespace, its memories and index files (admin keys)', tag: 'namespaces', ok: [204, 'Deleted'] },
  { method: 'post', path: '/v1/namespaces/:ns/forget', summary: 'Run a forgetting policy now (expired, faded, older, filtered), or list what it would remove', tag: 'forgetting', body: forgetBody, ok: [200, '{dryRun, expired, forgotten, durationMs, memories?}'] },
  { method: 'post', path: '/v1/namespaces/:ns/memories/delete', summary: 'Erase the memories a filter (whole documents included), a text filter or ids select, then compact the database', tag: 'forgetting', body: eraseBody, ok: [200, '{deleted}'] },
  { method: 'post', path: '/v1/namespaces/:ns/memories', summary: 'Write memories (an existing id is replaced; a duplicate without id folds into the live memory)', tag: 'memories', body: writeMemoriesBody, ok: [201, '{ids, seq, duplicates: [{index, id, similarity}]}'] },
  { method: 'post', path: '/v1/namespaces/:ns/memories/list', summary: 'List the memories a filter, a text filter or ids select, in insertion order, by cursor or offset', tag: 'memories', body: findMemoriesBody, ok: [200, '{memories, nextCursor}'] },
  { method: 'post', path: '/v1/namespaces/:ns/memories/update', summary: 'Change given fields (text, vector, metadata, pinned) of existing memories, keeping strength and recalls', tag: 'memories', body: updateMemoriesBody, ok: [200, '{updated, missing, seq}'] },
  { method: 'patch', path: '/v1/namespaces/:ns/memories/:id', summary: 'Change given fields (text, vector, metadata, pinned) of one memory, keeping strength and recalls', tag: 'memories', body: patchMemoryBody, ok: [200, 'The memory, with seq'] },
  { method: 'get', path: '/v1/namespaces/:ns/changes', summary: "The namespace's changes after a seq (long-polling with wait=; Server-Sent Events with Accept: text/event-stream, resumable with Last-Event-ID); 410 when the log no longer holds changes that old", tag: 'memories', query: changesQuery, ok: [200, '{changes: [{seq, at, op, id}], next}'] },
  { method: 'get', path: '/v1/namespaces/:ns/values', summary: 'The distinct values of a metadata field, with how many memories hold each', tag: 'memories', query: fieldValuesQuery, ok: [200, '{field, values: [{value, count}]}'] },
  { method: 'get', path: '/v1/namespaces/:ns/memories', summary: 'List memories in insertion order, by cursor', tag: 'memories', query: listMemoriesQuery, ok: [200, '{memories, nextCursor}'] },
  { method: 'get', path: '/v1/namespaces/:ns/memories/:id/history', summary: "A memory's history: created, updated (with the version replaced), deduplicated, expired, forgotten (a removal leaves only its tombstone)", tag: 'memories', ok: [200, '{events: [{seq, at, op, previous?, similarity?, policy?}]}'] },
  { method: 'get', path: '/v1/namespaces/:ns/memories/:id', summary: 'One memory', tag: 'memories', query: getMemoryQuery, ok: [200, 'The memory'] },
  { method: 'delete', path: '/v1/namespaces/:ns/memories/:id', summary: 'Delete one memory', tag: 'memories', ok: [204, 'Deleted'] },
  { method: 'post', path: '/v1/namespaces/:ns/documents', summary: 'Write documents, split into chunk memories', tag: 'memories', body: writeDocumentsBody, ok: [201, '{documents: [{id, chunks}]}'] },
  { method: 'delete', path: '/v1/namespaces/:ns/documents/:id', summary: 'Delete a document and all its chunks', tag: 'memories', ok: [204, 'Deleted'] },
  { method: 'post', path: '/v1/namespaces/:ns/query', summary: 'The k best memories for a text (hybrid, keyword or vector search) or a vector, filtered, re-ranked', tag: 'memories', body: queryBody, ok: [200, '{results: [{id, score, distance, timestamp, text, metadata, neighbors?, explain?}]}; with include: ["explain"], explain is {<component>: {value, weight}, …, score}, components among vector, keyword, rrf, mention, neighbor, recency, retention, and Σ value · weight = score'] },
  { method: 'post', path: '/v1/query', summary: 'One search over several namespaces that share an embedder, merged by score', tag: 'memories', body: multiQueryBody, ok: [200, '{results: [{id, namespace, score, distance, timestamp, text, metadata, explain?}]} (explain as for one namespace)'] },
  { method: 'post', path: '/v1/namespaces/:ns/context', summary: 'Memories (and facts) for a prompt, as text within a token budget', tag: 'memories', body: contextBody, ok: [200, '{context, tokens, memories, facts}'] },
  { method: 'post', path: '/v1/namespaces/:ns/facts', summary: 'Write facts (subject, predicate, object)', tag: 'facts', body: writeFactsBody, ok: [201, '{ids, seq}'] },
  { method: 'get', path: '/v1/namespaces/:ns/facts', summary: 'Read facts by pattern, at a time, with history', tag: 'facts', query: readFactsQuery, ok: [200, '{facts}'] },
  { method: 'post', path: '/v1/namespaces/:ns/facts/search', summary: 'Facts closest in meaning to a text', tag: 'facts', body: searchFactsBody, ok: [200, '{results: [{...fact, score}]}'] },
  { method: 'post', path: '/v1/namespaces/:ns/facts/delete', summary: 'Delete the facts matching a pattern', tag: 'facts', body: deleteFactsBody, ok: [200, '{deleted, seq}'] },
  { method: 'post', path: '/v1/namespaces/:ns/facts/commands', summary: "Run Ret-LLM's MEM_WRITE / MEM_READ commands found in a text", tag: 'facts', body: factCommandsBody, ok: [200, '{results}'] },
  { method: 'delete', path: '/v1/namespaces/:ns/facts/:id', summary: 'Delete one fact', tag: 'facts', ok: [204, 'Deleted; Membank-Seq header'] },
  { method: 'get', path: '/v1/namespaces/:ns/entities/:name', summary: "An entity's neighbourhood in the fact graph", tag: 'facts', query: entityQuery, ok: [200, '{nodes, edges}'] },
  { method: 'post', path: '/v1/namespaces/:ns/reembed', summary: 'Re-embed a namespace with another embedder, in the background', tag: 'namespaces', body: reembedBody, ok: [202, '{job}'] },
  { method: 'get', path: '/v1/jobs/:id', summary: 'A background job', tag: 'service', ok: [200, '{id, namespace, status, done, total, rate, eta, error?}'] },
  { method: 'get', path: '/v1/keys', summary: 'API keys (never the keys themselves; admin keys)', tag: 'keys', ok: [200, '{keys: [{id, role, namespaces, createdAt, revokedAt}]}'] },
  { method: 'post', path: '/v1/keys', summary: 'Create an API key; the answer is the only time the key is shown (admin keys, or anyone while no key exists)', tag: 'keys', body: createKeyBody, ok: [201, '{id, key, role, namespaces, createdAt}'] },
  { method: 'delete', path: '/v1/keys/:id', summary: 'Revoke an API key, at once (admin keys)', tag: 'keys', ok: [204, 'Revoked'] },
  { method: 'post', path: '/v1/webhooks', summary: 'Register a webhook told of namespaces\' changes, signed with its secret (admin keys; loopback and private targets refused unless allowed)', tag: 'webhooks', body: createWebhookBody, ok: [201, '{id, url, namespaces, events, createdAt}'] },
  { method: 'get', path: '/v1/webhooks', summary: 'Webhooks, each with where its deliveries stand per namespace (admin keys)', tag: 'webhooks', ok: [200, '{webhooks: [{id, url, namespaces, events, createdAt, deliveries}]}'] },
  { method: 'get', path: '/v1/webhooks/:id', summary: 'One webhook with its delivery state (admin keys)', tag: 'webhooks', ok: [200, '{id, url, namespaces, events, createdAt, deliveries: [{namespace, deliveredSeq, pending, attempts, nextAttemptAt, lastAttemptAt, lastError}]}'] },
  { method: 'delete', path: '/v1/webhooks/:id', summary: 'Delete a webhook; its deliveries stop (admin keys)', tag: 'webhooks', ok: [204, 'Deleted'] },
  { method: 'get', path: '/v1/models', summary: "Embedders, in OpenAI's shape", tag: 'embeddings', ok: [200, '{object: "list", data}'] },
  { method: 'post', path: '/v1/embeddings', summary: "Embed texts, in OpenAI's shape", tag: 'embeddings', body: embeddingsBody, ok: [200, '{object: "list", data, model, usage}'] },
  { method: 'post', path: '/mcp', summary: 'MCP over Streamable HTTP (JSON-RPC); ?namespace= picks the namespace (default "default")', tag: 'mcp', ok: [200, 'A JSON-RPC response'] },
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics', tag: 'service', ok: [200, 'Prometheus text format'] },
  { method: 'get', path: '/openapi.json', summary: 'This document', tag: 'service', ok: [200, 'OpenAPI 3.1'] },
];

const VECTOR_SCHEMA = {
  type: 'array',
  items: { type: 'number' },
  minItems: 1,
  maxItems: LIMITS.maxDimensions,
  description: 'Finite numbers, as many as the namespace has dimensions.',
};
const FILTER_SCHEMA = {
  type: 'object',
  description: 'A metadata filter in Chroma\'s Where language: {field: value}, {field: {$eq|$ne|$gt|$gte|$lt|$lte|$in|$nin: …}}, {$and: […]}, {$or: […]}.',
};

/** The request side of a schema (what a client sends); the two schemas JSON Schema cannot express are spelled out. */
export function jsonSchema(schema: z.ZodType): JsonSchema {
  const out = z.toJSONSchema(schema, {
    io: 'input',
    target: 'draft-2020-12',
    unrepresentable: 'any',
    override(ctx) {
      if (ctx.zodSchema === filter) Object.assign(ctx.jsonSchema, FILTER_SCHEMA);
      // The only custom schema of the API is the vector, checked in one pass for speed.
      else if ((ctx.zodSchema as { _zod: { def: { type: string } } })._zod.def.type === 'custom') Object.assign(ctx.jsonSchema, VECTOR_SCHEMA);
    },
  }) as JsonSchema;
  delete out.$schema;
  return out;
}

const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string', enum: ERROR_CODES }, message: { type: 'string' }, details: {} },
    },
  },
};

export function openApiDocument(options: { version?: string; serverUrl?: string } = {}): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  const errorStatuses = [...new Set(Object.values(HTTP_STATUS))].sort();
  for (const route of ROUTES) {
    const path = route.path.replace(/:(\w+)/g, '{$1}');
    const parameters: unknown[] = [...route.path.matchAll(/:(\w+)/g)].map(([, name]) => ({
      name,
      in: 'path',
      required: true,
      schema: name === 'ns' ? jsonSchema(namespaceName) : name === 'id' && route.path.startsWith('/v1/jobs') ? jsonSchema(jobId) : name === 'id' && route.path.startsWith('/v1/webhooks') ? jsonSchema(webhookId) : { type: 'string' },
    }));
    if (route.query) {
      const query = jsonSchema(route.query) as { properties?: Record<string, JsonSchema>; required?: string[] };
      for (const [name, schema] of Object.entries(query.properties ?? {})) {
        parameters.push({ name, in: 'query', required: query.required?.includes(name) ?? false, schema });
      }
    }
    if (route.path === '/mcp') parameters.push({ name: 'namespace', in: 'query', required: false, schema: jsonSchema(namespaceName) });
    const [status, description] = route.ok;
    paths[path] ??= {};
    paths[path][route.method] = {
      summary: route.summary,
      tags: [route.tag],
      operationId: `${route.method}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())}`,
      ...(parameters.length > 0 && { parameters }),
      ...(route.body && { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(route.body) } } } }),
      responses: {
        [status]: { description },
        ...Object.fromEntries(
          errorStatuses.map((code) => [
            code,
            {
              description: ERROR_CODES.filter((c) => HTTP_STATUS[c] === code).join(', '),
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
            },
          ]),
        ),
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'membank',
      version: options.version ?? '0.1.0',
      description: 'A durable retrieval memory service for LLM applications. Request schemas are generated from the zod schemas the server validates with.',
    },
    ...(options.serverUrl && { servers: [{ url: options.serverUrl }] }),
    paths,
    components: { schemas: { Error: errorSchema } },
  };
}

/** GET /openapi.json and GET /docs. */
export function createDocsRouter(): express.Router {
  const router = express.Router();
  let document: JsonSchema | undefined; // built once, on first request: the schemas do not change at run time
  router.get('/openapi.json', (_req, res) => {
    document ??= openApiDocument();
    res.json(document);
  });

  const assets = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  // Swagger UI's own page, with its initializer pointed at our document instead of the petstore demo.
  const page = readFileSync(join(assets, 'index.html'), 'utf8');
  router.get('/docs', (req, res, next) => {
    if (!req.originalUrl.split('?')[0]!.endsWith('/')) return res.redirect(301, '/docs/');
    next();
  });
  router.get('/docs/', (_req, res) => {
    res.type('html').send(page);
  });
  router.get('/docs/swagger-initializer.js', (_req, res) => {
    res.type('application/javascript').send(
      `window.onload = function () {\n  window.ui = SwaggerUIBundle({ url: '../openapi.json', dom_id: '#swagger-ui', deepLinking: true,\n    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: 'StandaloneLayout' });\n};\n`,
    );
  });
  router.use('/docs', express.static(assets, { index: false }));
  return router;
}
