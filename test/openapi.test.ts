/** /openapi.json covers every route and describes what the server really accepts; /docs is served locally. */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/http/app.js';
import type { ContextService } from '../src/service/context-service.js';
import type { FactService } from '../src/service/fact-service.js';
import type { KeyService } from '../src/service/key-service.js';
import type { MemoryService } from '../src/service/memory-service.js';
import { silentLogger, startMembank, type Running } from './helpers.js';

let running: Running;
let doc: any;
beforeAll(async () => {
  running = await startMembank();
  const answer = await fetch(`${running.url}/openapi.json`);
  expect(answer.status).toBe(200);
  doc = await answer.json();
});
afterAll(() => running.close());

/** `METHOD /path/{param}` of every route registered on the app itself, read from Express's router. */
function appRoutes(): string[] {
  // The routes are registered at creation; the service is only called by requests, so none is needed here.
  const app = createApp({
    service: { onForgetRun: () => {} } as unknown as MemoryService,
    facts: {} as FactService,
    context: {} as ContextService,
    keys: {} as KeyService,
    logger: silentLogger,
    maxBodyBytes: 1024,
  });
  const stack = (app as unknown as { router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] } }).router.stack;
  return stack.flatMap((layer) =>
    layer.route
      ? Object.keys(layer.route.methods)
          .filter((m) => m !== '_all')
          .map((m) => `${m.toUpperCase()} ${layer.route!.path.replace(/:(\w+)/g, '{$1}')}`)
      : [],
  );
}

describe('OpenAPI', () => {
  it('is OpenAPI 3.1 and lists every route of the app', () => {
    expect(doc.openapi).toBe('3.1.0');
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops as object).map((m) => `${m.toUpperCase()} ${path}`));
    const routes = appRoutes();
    expect(routes.length).toBeGreaterThan(20);
    expect(routes.filter((r) => !documented.includes(r))).toEqual([]);
    expect(documented).toContain('POST /mcp');
  });

  it('has request schemas that accept what the server accepts and refuse what it refuses', async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    const bodyOf = (path: string, method = 'post') => ajv.compile(doc.paths[path][method].requestBody.content['application/json'].schema);
    const query = bodyOf('/v1/namespaces/{ns}/query');
    const write = bodyOf('/v1/namespaces/{ns}/memories');

    await running.api.post('/v1/namespaces', { name: 'oa' });
    const cases: [string, ReturnType<typeof bodyOf>, unknown][] = [
      ['/v1/namespaces/oa/query', query, { query: 'x', k: 3, filter: { user: 'ann' } }],
      ['/v1/namespaces/oa/query', query, { query: 'x', k: 0 }],
      ['/v1/namespaces/oa/query', query, { query: 'x', surprise: true }],
      ['/v1/namespaces/oa/memories', write, { memories: [{ text: 'a', timestamp: '2024-01-01T00:00:00Z', metadata: { a: 1 } }] }],
      ['/v1/namespaces/oa/memories', write, { memories: [{ text: 'a', timestamp: 1700000000000 }] }],
      ['/v1/namespaces/oa/memories', write, { memories: [] }],
      ['/v1/namespaces/oa/memories', write, { memories: [{ text: 'a', vector: 'nope' }] }],
    ];
    for (const [path, validate, body] of cases) {
      const answer = await running.api.post(path, body);
      expect(validate(body), `${path} ${JSON.stringify(body)}: ${JSON.stringify(validate.errors)}`).toBe(answer.status < 400);
    }
    // Every schema in the document compiles.
    for (const ops of Object.values(doc.paths) as any[]) {
      for (const op of Object.values(ops) as any[]) {
        const schema = op.requestBody?.content['application/json'].schema;
        if (schema) expect(() => ajv.compile(schema)).not.toThrow();
      }
    }
  });

  it('documents query parameters, path parameters and every error code', () => {
    const list = doc.paths['/v1/namespaces/{ns}/memories'].get;
    expect(list.parameters.map((p: any) => `${p.in}:${p.name}`)).toEqual(['path:ns', 'query:limit', 'query:cursor', 'query:include']);
    expect(doc.components.schemas.Error.properties.error.properties.code.enum).toContain('NAMESPACE_NOT_FOUND');
    expect(list.responses['404'].description).toContain('NAMESPACE_NOT_FOUND');
  });
});

describe('/docs', () => {
  it('serves Swagger UI from the package, pointed at /openapi.json, with nothing from a CDN', async () => {
    const redirect = await fetch(`${running.url}/docs`, { redirect: 'manual' });
    expect(redirect.status).toBe(301);
    const page = await fetch(`${running.url}/docs/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('swagger-ui-bundle.js');
    expect(html).not.toMatch(/(src|href)="https?:/);
    const init = await (await fetch(`${running.url}/docs/swagger-initializer.js`)).text();
    expect(init).toContain("url: '../openapi.json'");
    const bundle = await fetch(`${running.url}/docs/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toContain('javascript');
  });
});
