/**
 * Builds the MCP server of one session, bound to one namespace: every tool of TOOLS and GRAPH_TOOLS, the
 * resources (resources.ts) with subscriptions (subscriptions.ts), the prompts, completions, and log
 * notifications filtered by the level the client sets. The namespace is created on first use (a no-op when it
 * exists).
 */
import { readFileSync } from 'node:fs';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  CompleteRequestSchema,
  ErrorCode,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type CallToolResult,
  type ServerNotification,
} from '@modelcontextprotocol/sdk/types.js';
import { CancelledError, LOG_LEVELS, type LogLevel, type ToolContext } from './call.js';
import { complete } from './completions.js';
import { GRAPH_TOOLS, GraphError } from './graph.js';
import type { MembankOps } from './ops.js';
import { PROMPT_NAMESPACE_ARGS, registerPrompts } from './prompts.js';
import { listResources, listTemplates, readResource } from './resources.js';
import type { ResourceHub, SessionSubscriptions } from './subscriptions.js';
import { TOOLS, type ToolDefinition } from './tools.js';

export interface McpServerOptions {
  ops: MembankOps;
  namespace: string;
  /** Defaults to membank's own tools plus the reference memory server's. */
  tools?: ToolDefinition[];
  /** Which namespaces this session may read through resources and completions (default: all). */
  canSee?: (namespace: string) => boolean;
  /**
   * Where subscriptions are kept, shared by the sessions of one process. Without one (a stateless HTTP
   * request, which no notification could reach), resources/subscribe is refused.
   */
  hub?: ResourceHub;
  version?: string;
  /** Called with failures that are not membank errors (bugs, broken connections), which deserve a log line. */
  onUnexpectedError?: (error: unknown, where: string) => void;
}

export const ALL_TOOLS: ToolDefinition[] = [...TOOLS, ...GRAPH_TOOLS];

/** The package's version, which the server reports in its initialize answer. */
export const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const INSTRUCTIONS = `membank is a long-term memory. Before answering a question about the user, their work or the past, call get_context (or recall) with the question. Store what is worth keeping with remember (one memory) or remember_many, long texts with add_documents, and stable facts as subject–predicate–object triples with add_facts. forget deletes by id or erases by a metadata filter. The knowledge-graph tools (create_entities, add_observations, read_graph…) work as in the reference memory server. Resources: membank://namespaces/{namespace}[/memories/{id} | /facts | /entities/{name}].`;

const severity = (level: LogLevel) => LOG_LEVELS.indexOf(level);

export function createMcpServer({
  ops,
  namespace,
  tools = ALL_TOOLS,
  canSee = () => true,
  hub,
  version = VERSION,
  onUnexpectedError,
}: McpServerOptions): McpServer {
  const server = new McpServer(
    { name: 'membank', title: 'membank', version },
    {
      capabilities: { logging: {}, completions: {}, resources: { subscribe: hub !== undefined, listChanged: hub !== undefined } },
      instructions: INSTRUCTIONS,
    },
  );
  const low = server.server;

  // Log notifications: what the client asked for with logging/setLevel, `info` and up until it does.
  let logLevel: LogLevel = 'info';
  const logs = (level: LogLevel) => severity(level) >= severity(logLevel);
  low.setRequestHandler(SetLevelRequestSchema, async (request) => {
    logLevel = request.params.level;
    return {};
  });
  const notify = (notification: ServerNotification) => {
    if (!server.isConnected()) return;
    low.notification(notification).catch((error: unknown) => onUnexpectedError?.(error, notification.method));
  };

  const created = new Map<string, Promise<unknown>>();
  const ensureNamespace = (name: string) => {
    let ready = created.get(name);
    if (!ready) {
      ready = ops.createNamespace({ name }).catch((error: unknown) => {
        created.delete(name); // let the next call try again
        throw error;
      });
      created.set(name, ready);
    }
    return ready;
  };

  for (const tool of tools) {
    const annotations = { readOnlyHint: tool.effect === 'read', destructiveHint: tool.effect === 'delete', openWorldHint: false };
    const config = { title: tool.title, description: tool.description, inputSchema: tool.input, annotations };
    server.registerTool(tool.name, config, async (args: unknown, extra) => {
      const token = extra._meta?.progressToken;
      const ctx: ToolContext = {
        signal: extra.signal,
        events: ops.events,
        async progress(progress, total, message) {
          if (token === undefined || extra.signal.aborted) return;
          const params = { progressToken: token, progress, ...(total !== undefined && { total }), ...(message !== undefined && { message }) };
          await extra.sendNotification({ method: 'notifications/progress', params }).catch((error: unknown) => onUnexpectedError?.(error, 'progress'));
        },
        log(level, data) {
          if (!logs(level)) return;
          extra.sendNotification({ method: 'notifications/message', params: { level, logger: 'membank', data: { tool: tool.name, ...data } } }).catch((error: unknown) => onUnexpectedError?.(error, 'log'));
        },
      };
      try {
        await ensureNamespace(namespace);
        const { text, structured } = await tool.run(ops, namespace, args as never, ctx);
        return { content: [{ type: 'text', text }], structuredContent: structured } satisfies CallToolResult;
      } catch (error) {
        const expected = typeof (error as { code?: unknown }).code === 'string' || error instanceof GraphError || error instanceof CancelledError;
        if (!expected) onUnexpectedError?.(error, tool.name);
        const result = toolError(error);
        ctx.log('error', { event: 'error', ...(result.structuredContent as { error: Record<string, string> }).error });
        return result;
      }
    });
  }

  registerPrompts(server, ops, { namespace, canSee, ready: ensureNamespace });

  low.setRequestHandler(ListResourcesRequestSchema, (request) => listResources(ops, { namespace, canSee, cursor: request.params?.cursor }));
  low.setRequestHandler(ListResourceTemplatesRequestSchema, () => listTemplates());
  low.setRequestHandler(ReadResourceRequestSchema, (request) => readResource(ops, request.params.uri, canSee));
  low.setRequestHandler(CompleteRequestSchema, (request) =>
    complete({ ops, namespace, canSee, promptNamespaceArgs: PROMPT_NAMESPACE_ARGS }, request.params),
  );

  let subscriptions: SessionSubscriptions | undefined;
  if (hub) {
    subscriptions = hub.attach({
      namespace,
      canSee,
      updated: (uri) => notify({ method: 'notifications/resources/updated', params: { uri } }),
      listChanged: () => notify({ method: 'notifications/resources/list_changed' }),
      forgetRun: (run) => {
        const level: LogLevel = run.expired + run.forgotten > 0 ? 'notice' : 'debug';
        if (logs(level)) notify({ method: 'notifications/message', params: { level, logger: 'membank', data: { event: 'forgetting-run', ...run } } });
      },
    });
    low.onclose = () => subscriptions?.close();
  }
  low.setRequestHandler(SubscribeRequestSchema, async (request) => {
    if (!subscriptions) {
      throw new McpError(ErrorCode.InvalidRequest, 'Subscriptions need a session: send initialize without Mcp-Session-Id, then the Mcp-Session-Id it answers with on every request.');
    }
    await subscriptions.subscribe(request.params.uri);
    return {};
  });
  low.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    subscriptions?.unsubscribe(request.params.uri);
    return {};
  });
  return server;
}

/** A failed call as the tool's own result (isError), so the model reads what went wrong and can retry. */
function toolError(error: unknown): CallToolResult {
  const { code, message } = error as { code?: string; message?: string };
  const text = code ? `${code}: ${message}` : `Error: ${message ?? String(error)}`;
  return { isError: true, content: [{ type: 'text', text }], structuredContent: { error: { code: code ?? 'ERROR', message: message ?? String(error) } } };
}
