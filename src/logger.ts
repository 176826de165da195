/** The one logger: structured JSON lines on stdout (pino). */
import { pino, type Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'membank' } });
}
