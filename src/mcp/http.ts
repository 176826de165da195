/**
 * MCP over Streamable HTTP, mounted at /mcp on the running service. Stateless: every POST gets its own server
 * and transport bound to `?namespace=` (default "default"), so requests never share state and any number can
 * run in parallel. GET (a server-to-client stream) and DELETE (ending a session) have no meaning without
 * sessions and answer 405, as the specification allows.
 */
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import express, { type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { namespaceName } from '../api/schemas.js';
import { assertVisible } from '../http/auth.js';
import { fromZod } from '../http/errors.js';
import type { MembankOps } from './ops.js';
import { createMcpServer } from './server.js';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The MCP specification asks servers to check Origin against DNS rebinding: a web page whose name was made to
 * resolve to 127.0.0.1 must not drive the tools. Clients outside browsers send no Origin; a browser page may
 * use /mcp only from a loopback origin or the service's own.
 */
export function originAllowed(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  let hostname: string;
  try {
    ({ hostname } = new URL(origin));
  } catch {
    return false;
  }
  return LOOPBACK.has(hostname) || (host !== undefined && new URL(`http://${host}`).hostname === hostname);
}

export function createMcpRouter({ ops, logger }: { ops: MembankOps; logger: Logger }): express.Router {
  const router = express.Router();

  router.use((req: Request, res: Response, next) => {
    if (originAllowed(req.get('origin'), req.get('host'))) return next();
    res.status(403).json({ jsonrpc: '2.0', error: { code: -32000, message: `Origin ${req.get('origin')} may not use this MCP endpoint.` }, id: null });
  });

  router.post('/', async (req: Request, res: Response) => {
    const parsed = namespaceName.safeParse(req.query.namespace ?? 'default');
    if (!parsed.success) throw fromZod(parsed.error);
    // An API key reaches only the namespaces its patterns allow, here as on every REST route.
    assertVisible(res, parsed.data);
    const server = createMcpServer({
      ops,
      namespace: parsed.data,
      onUnexpectedError: (error, tool) => logger.error({ err: error, tool, reqId: res.locals.requestId }, 'MCP tool failed'),
    });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      transport.close().catch((error: unknown) => logger.warn({ err: error }, 'closing an MCP transport failed'));
      server.close().catch((error: unknown) => logger.warn({ err: error }, 'closing an MCP server failed'));
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });

  router.all('/', (req: Request, res: Response) => {
    // JSON-RPC's shape rather than membank's error body: MCP clients read this answer.
    res
      .status(405)
      .set('allow', 'POST')
      .json({ jsonrpc: '2.0', error: { code: -32000, message: `${req.method} is not supported: this MCP endpoint is stateless; POST JSON-RPC messages to it.` }, id: null });
  });
  return router;
}
