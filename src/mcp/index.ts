/** The MCP edge: a server bound to a namespace, its tools, the /mcp router and the operations they run on. */
export { createMcpServer, ALL_TOOLS, type McpServerOptions } from './server.js';
export { createMcpRouter } from './http.js';
export { inProcessOps, type MembankOps } from './ops.js';
export { TOOLS, defineTool, type ToolDefinition, type ToolResult } from './tools.js';
export { GRAPH_TOOLS, importReferenceJsonl, knowledgeGraph, type Entity, type KnowledgeGraph, type Relation } from './graph.js';
