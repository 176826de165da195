/**
 * MCP over Streamable HTTP, as a router any server can mount (at /mcp). Two ways in, both bound to
 * `?namespace=` (default "default"):
 * - with sessions: an `initialize` POST without `Mcp-Session-Id` opens a session and answers with its id; the
 *   client then sends it on every request, opens a GET stream for server-to-client messages (resource updates,
 *   list changes, log notifications) and ends the session with DELETE. A session stays bound to the API key that
 *   opened it; one idle for `sessionIdleMs` with no stream open is closed.
 * - stateless: any other POST without a session id gets its own server and transport for that one request, so
 *   clients that keep no session (and any number of parallel calls) work as before. Subscriptions need a session.
 * Answers to POSTs stream as server-sent events, so that progress and log notifications of a long tool call
 * reach the caller before its result.
 */
import { randomUUID } from 'node:crypto';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import express, { type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { namespaceName } from '../api/schemas.js';
import { canSee, type Access } from '../core/access.js';
import { accessOf, assertVisible } from '../http/auth.js';
import { fromZod } from '../http/errors.js';
import type { MembankOps } from './ops.js';
import { createMcpServer } from './server.js';
import { createResourceHub } from './subscriptions.js';

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

export interface McpRouterOptions {
  ops: MembankOps;
  logger: Logger;
  /** A session without requests for this long, and with no stream open, is closed (default 30 minutes). */
  sessionIdleMs?: number;
  /** How often subscribed resources that no change feed covers are read again (default 2 s). */
  pollMs?: number;
}

export type McpRouter = express.Router & {
  /** Ends every session (their streams included), so that the HTTP server can close. */
  close(): Promise<void>;
  readonly sessions: number;
};

interface Session {
  transport: StreamableHTTPServerTransport;
  /** Who opened it: a later request must come with the same key. */
  holder: string;
  lastSeen: number;
  streams: number;
}

/**
 * Until server.ts mounts this router itself (and can call its close), the app it is mounted on keeps its close
 * here, so that closing the service ends the sessions' streams first: an open event stream would keep the HTTP
 * server from ever closing.
 */
const CLOSERS = 'membank.mcpSessionClosers';

type WithClosers = { locals: Record<string, unknown> };

/** Ends the MCP sessions of every router mounted on `app` (server.ts calls it before closing the HTTP server). */
export async function endMcpSessions(app: WithClosers): Promise<void> {
  const closers = app.locals[CLOSERS] as Set<() => Promise<void>> | undefined;
  await Promise.all([...(closers ?? [])].map((close) => close()));
}

const holderOf = (access: Access) => (access.kind === 'key' ? `key:${access.key.id}` : 'open');

/** JSON-RPC's error shape rather than membank's: MCP clients read these answers. */
const rpcError = (res: Response, status: number, code: number, message: string) => res.status(status).json({ jsonrpc: '2.0', error: { code, message }, id: null });

export function createMcpRouter({ ops, logger, sessionIdleMs = 30 * 60_000, pollMs }: McpRouterOptions): McpRouter {
  const router = express.Router() as McpRouter;
  const sessions = new Map<string, Session>();
  const hub = createResourceHub({ ops, pollMs, onError: (error) => logger.warn({ err: error }, 'MCP: reading a subscribed resource failed') });
  const onUnexpectedError = (res: Response) => (error: unknown, where: string) => logger.error({ err: error, where, reqId: res.locals.requestId }, 'MCP request failed');

  const sweep = () => {
    const now = Date.now();
    for (const session of sessions.values()) {
      if (session.streams === 0 && now - session.lastSeen > sessionIdleMs) void session.transport.close();
    }
  };

  /** The session a request names, if it may use it; otherwise answered 404, which tells the client to start anew. */
  const sessionOf = (req: Request, res: Response): Session | undefined => {
    const id = req.get('mcp-session-id')!;
    const session = sessions.get(id);
    if (!session || session.holder !== holderOf(accessOf(res))) {
      rpcError(res, 404, -32001, 'Session not found: it ended or never existed. Initialize a new one.');
      return undefined;
    }
    session.lastSeen = Date.now();
    return session;
  };

  router.use((req: Request, res: Response, next) => {
    const app = req.app as unknown as WithClosers;
    ((app.locals[CLOSERS] ??= new Set()) as Set<() => Promise<void>>).add(router.close);
    if (originAllowed(req.get('origin'), req.get('host'))) return next();
    rpcError(res, 403, -32000, `Origin ${req.get('origin')} may not use this MCP endpoint.`);
  });

  router.post('/', async (req: Request, res: Response) => {
    if (req.get('mcp-session-id') !== undefined) {
      const session = sessionOf(req, res);
      if (session) await session.transport.handleRequest(req, res, req.body);
      return;
    }
    const parsed = namespaceName.safeParse(req.query.namespace ?? 'default');
    if (!parsed.success) throw fromZod(parsed.error);
    // An API key reaches only the namespaces its patterns allow, here as on every REST route.
    assertVisible(res, parsed.data);
    const access = accessOf(res);
    const visible = (ns: string) => canSee(access, ns);

    if (isInitializeRequest(req.body)) {
      sweep();
      const server = createMcpServer({ ops, namespace: parsed.data, canSee: visible, hub, onUnexpectedError: onUnexpectedError(res) });
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        onsessioninitialized: (id) => {
          sessions.set(id, { transport, holder: holderOf(access), lastSeen: Date.now(), streams: 0 });
        },
      });
      transport.onclose = () => {
        if (transport.sessionId) sessions.delete(transport.sessionId);
        server.close().catch((error: unknown) => logger.warn({ err: error }, 'closing an MCP server failed'));
      };
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
      return;
    }

    const server = createMcpServer({ ops, namespace: parsed.data, canSee: visible, onUnexpectedError: onUnexpectedError(res) });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      transport.close().catch((error: unknown) => logger.warn({ err: error }, 'closing an MCP transport failed'));
      server.close().catch((error: unknown) => logger.warn({ err: error }, 'closing an MCP server failed'));
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });

  router.get('/', async (req: Request, res: Response) => {
    if (req.get('mcp-session-id') === undefined) {
      res.set('allow', 'POST');
      return rpcError(res, 405, -32000, 'A GET stream belongs to a session: send initialize first, then GET with its Mcp-Session-Id.');
    }
    const session = sessionOf(req, res);
    if (!session) return;
    session.streams++;
    res.on('close', () => {
      session.streams--;
      session.lastSeen = Date.now();
    });
    await session.transport.handleRequest(req, res);
  });

  router.delete('/', async (req: Request, res: Response) => {
    if (req.get('mcp-session-id') === undefined) {
      res.set('allow', 'POST');
      return rpcError(res, 405, -32000, 'DELETE ends a session: send it with the Mcp-Session-Id to end.');
    }
    const session = sessionOf(req, res);
    if (session) await session.transport.handleRequest(req, res);
  });

  router.all('/', (req: Request, res: Response) => {
    res.set('allow', 'GET, POST, DELETE');
    rpcError(res, 405, -32000, `${req.method} is not part of MCP's Streamable HTTP transport.`);
  });

  router.close = async () => {
    await Promise.all([...sessions.values()].map((session) => session.transport.close()));
    sessions.clear();
  };
  Object.defineProperty(router, 'sessions', { get: () => sessions.size });
  return router;
}
