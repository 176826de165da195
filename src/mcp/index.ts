/**
 * The MCP edge: a server per session bound to a namespace (tools, resources with subscriptions, prompts,
 * completions, logging, progress), the Streamable HTTP router with sessions, and the operations they run on.
 */
export { CancelledError, LOG_LEVELS, type LogLevel, type ToolContext } from './call.js';
export { createMcpServer, ALL_TOOLS, VERSION, type McpServerOptions } from './server.js';
export { createMcpRouter, endMcpSessions, originAllowed, type McpRouter, type McpRouterOptions } from './http.js';
export { bindOps, changeOf, inProcessOps, OPERATIONS, withOwnEvents, type Change, type ForgetRunEvent, type MembankOps, type OpsEvents } from './ops.js';
export { listResources, parseUri, readResource, TEMPLATES, uriOf, type ResourceRef } from './resources.js';
export { createResourceHub, type ResourceHub, type SessionSink } from './subscriptions.js';
export { TOOLS, defineTool, forgetMemories, formatFacts, formatHits, type ToolDefinition, type ToolResult } from './tools.js';
export { GRAPH_TOOLS, importReferenceJsonl, knowledgeGraph, type Entity, type KnowledgeGraph, type Relation } from './graph.js';
