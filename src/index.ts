/**
 * `membank`: the whole service inside your process — the factory `npm start` uses, its configuration and
 * logger. For a service that runs elsewhere, use `membank/client`.
 *
 * @example
 * import { createLogger, createMembank, defaultConfig } from 'membank';
 *
 * const membank = await createMembank(defaultConfig({ dataDir: './memories' }), createLogger('warn'));
 * await membank.service.createNamespace({ name: 'notes' });
 * const url = await membank.listen(); // optional: also serve the REST API and /mcp (defaultConfig: 127.0.0.1:8420)
 * await membank.close();
 */
import { loadConfig, type Config } from './config.js';

export { createMembank, type Membank, type Overrides } from './server.js';
export { createLogger } from './logger.js';
export { ConfigError, loadConfig, type Config } from './config.js';
export { MembankError, type ErrorCode } from './core/errors.js';
export type { MemoryService } from './service/memory-service.js';
export type { FactService } from './service/fact-service.js';
export type { ContextService } from './service/context-service.js';

/**
 * The configuration `npm start` has with no flags and no environment, with `settings` over it.
 *
 * @example
 * defaultConfig({ dataDir: '/var/lib/membank', port: 0 }) // any free port
 */
export function defaultConfig(settings: Partial<Config> = {}): Config {
  const { help: _help, ...defaults } = loadConfig([], {});
  return { ...defaults, ...settings };
}
