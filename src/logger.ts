/** The one logger: structured JSON lines on stdout (pino). */
import { pino, type Logger } from 'pino';

/** `stderr` for processes whose stdout carries a protocol (the MCP server on stdio). */
export function createLogger(level: string, stream: 'stdout' | 'stderr' = 'stdout'): Logger {
  if (stream === 'stderr') return pino({ level, base: { service: 'membank' } }, pino.destination(2));
  return pino({ level, base: { service: 'membank' } });
}
