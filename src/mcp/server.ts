/**
 * Builds an MCP server bound to one namespace: registers every tool of TOOLS and GRAPH_TOOLS over the given
 * operations. The namespace is created on first use (a no-op when it exists).
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { GRAPH_TOOLS, GraphError } from './graph.js';
import type { MembankOps } from './ops.js';
import { TOOLS, type ToolDefinition } from './tools.js';

export interface McpServerOptions {
  ops: MembankOps;
  namespace: string;
  /** Defaults to membank's own tools plus the reference memory server's. */
  tools?: ToolDefinition[];
  version?: string;
  /** Called with failures that are not membank errors (bugs, broken connections), which deserve a log line. */
  onUnexpectedError?: (error: unknown, tool: string) => void;
}

export const ALL_TOOLS: ToolDefinition[] = [...TOOLS, ...GRAPH_TOOLS];

export function createMcpServer({ ops, namespace, tools = ALL_TOOLS, version = '0.1.0', onUnexpectedError }: McpServerOptions): McpServer {
  const server = new McpServer({ name: 'membank', version });
  let ready: Promise<unknown> | undefined;
  const ensureNamespace = () => {
    ready ??= ops.createNamespace({ name: namespace }).catch((error: unknown) => {
      ready = undefined; // let the next call try again
      throw error;
    });
    return ready;
  };

  for (const tool of tools) {
    const annotations = { readOnlyHint: tool.effect === 'read', destructiveHint: tool.effect === 'delete', openWorldHint: false };
    const config = { title: tool.title, description: tool.description, inputSchema: tool.input, annotations };
    server.registerTool(tool.name, config, async (args: unknown) => {
      try {
        await ensureNamespace();
        const { text, structured } = await tool.run(ops, namespace, args as never);
        return { content: [{ type: 'text', text }], structuredContent: structured } satisfies CallToolResult;
      } catch (error) {
        if (typeof (error as { code?: unknown }).code !== 'string' && !(error instanceof GraphError)) onUnexpectedError?.(error, tool.name);
        return toolError(error);
      }
    });
  }
  return server;
}

/** A failed call as the tool's own result (isError), so the model reads what went wrong and can retry. */
function toolError(error: unknown): CallToolResult {
  const { code, message } = error as { code?: string; message?: string };
  const text = code ? `${code}: ${message}` : `Error: ${message ?? String(error)}`;
  return { isError: true, content: [{ type: 'text', text }], structuredContent: { error: { code: code ?? 'ERROR', message: message ?? String(error) } } };
}
