/** Entry point: `npm start` (or `tsx src/main.ts --port 0 --data-dir /tmp/x`). */
import { ConfigError, loadConfig, USAGE } from './config.js';
import { MembankError } from './core/errors.js';
import { createLogger } from './logger.js';
import { createMembank } from './server.js';

async function main(): Promise<number> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (config.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const logger = createLogger(config.logLevel);
  let membank;
  try {
    membank = await createMembank(config, logger);
  } catch (error) {
    // Expected refusals (a locked data directory, a damaged database) are one line, not a stack trace.
    if (error instanceof MembankError) {
      logger.fatal({ code: error.code }, error.message);
      process.stderr.write(`membank: ${error.message}\n`);
      return 1;
    }
    // So is a data directory that cannot be used: a full or read-only disk, a path that is not a directory.
    const code = (error as { code?: unknown }).code;
    if (error instanceof Error && typeof code === 'string' && /^(SQLITE_[A-Z_]+|E[A-Z]+)$/.test(code)) {
      const message = `cannot use the data directory ${config.dataDir}: ${error.message.split('\n')[0]} (${code})`;
      logger.fatal({ code }, message);
      process.stderr.write(`membank: ${message}\n`);
      return 1;
    }
    throw error;
  }
  const url = await membank.listen();
  logger.info({ url, dataDir: config.dataDir }, `membank ready on ${url}`);
  const chromaUrl = membank.chromaUrl();
  if (chromaUrl) logger.info({ url: chromaUrl }, `Chroma-compatible API on ${chromaUrl}`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    membank.close().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  return -1; // keep running
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`membank failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
