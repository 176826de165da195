/**
 * Assembles a membank instance: the data directory lock, the SQLite store, the embedders, the service with
 * its indexes, the HTTP app and a periodic checkpoint. Tests build the same thing around a temp directory.
 */
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { builtinEmbedders, createEmbedderProvider } from './adapters/embedders/provider.js';
import { hnswIndexFactory } from './adapters/hnsw/hnsw-index.js';
import { createSqliteStore, type SqliteStoreOptions } from './adapters/sqlite/store.js';
import type { Config } from './config.js';
import { createApp } from './http/app.js';
import type { EmbedderProvider } from './ports/embedder.js';
import type { Store } from './ports/store.js';
import type { VectorIndexFactory } from './ports/vector-index.js';
import { lockDataDir } from './adapters/sqlite/data-dir-lock.js';
import { createFactService } from './service/fact-service.js';
import { createMemoryService, type MemoryService } from './service/memory-service.js';

export interface Membank {
  service: MemoryService;
  /** Starts serving HTTP; resolves with the URL once the port is bound. */
  listen(): Promise<string>;
  /** Stops accepting connections, finishes in-flight requests, checkpoints, and releases the data directory. */
  close(): Promise<void>;
}

export interface Overrides {
  embedders?: EmbedderProvider;
  indexFactory?: VectorIndexFactory;
  /** Tests: called with the SQLite connection, to inject disk faults. */
  onSqliteOpen?: SqliteStoreOptions['onOpen'];
}

export async function createMembank(config: Config, logger: Logger, overrides: Overrides = {}): Promise<Membank> {
  const lock = lockDataDir(config.dataDir);
  let service: MemoryService;
  let store: Store;
  try {
    store = createSqliteStore({
      file: join(config.dataDir, 'membank.db'),
      synchronous: config.synchronous,
      onMigrated: (applied) => applied.length > 0 && logger.info({ applied }, 'database migrated'),
      onOpen: overrides.onSqliteOpen,
    });
    service = await createMemoryService({
      dataDir: config.dataDir,
      store,
      embedders:
        overrides.embedders ??
        createEmbedderProvider(
          builtinEmbedders({
            openai: {
              baseUrl: config.openaiBaseUrl,
              apiKey: config.openaiApiKey,
              batchSize: config.openaiBatchSize,
              timeoutMs: config.openaiTimeoutMs,
              retries: config.openaiRetries,
            },
            device: config.device,
            transformers: { modelsDir: config.modelsDir, allowRemote: config.allowRemoteModels },
            onNotice: (message) => logger.warn(message),
          }),
        ),
      indexFactory: overrides.indexFactory ?? hnswIndexFactory,
      logger,
      defaultEmbedder: config.defaultEmbedder,
      exactSearchThreshold: config.exactSearchThreshold,
    });
  } catch (error) {
    lock.release();
    throw error;
  }

  const facts = createFactService({ store, memories: service });
  const app = createApp({ service, facts, logger, maxBodyBytes: config.maxBodyBytes });
  let server: Server | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed: Promise<void> | undefined;

  if (config.checkpointIntervalSeconds > 0) {
    timer = setInterval(() => {
      service.checkpoint().catch((error: unknown) => logger.error({ err: error }, 'checkpoint failed'));
    }, config.checkpointIntervalSeconds * 1000);
    timer.unref();
  }

  return {
    service,
    listen() {
      return new Promise((resolve, reject) => {
        const s = app.listen(config.port, config.host, (error?: Error) => {
          if (error) return reject(error);
          const { address, port } = s.address() as AddressInfo;
          const host = address.includes(':') ? `[${address}]` : address;
          resolve(`http://${host}:${port}`);
        });
        server = s;
      });
    },
    close() {
      closed ??= (async () => {
        if (timer) clearInterval(timer);
        if (server) {
          const s = server;
          // Requests in flight finish; their keep-alive connections are closed as soon as they fall idle, rather
          // than holding the shutdown until the client's keep-alive timeout.
          const sweep = setInterval(() => s.closeIdleConnections(), 50);
          // Before Express's listener, which may answer at once: a request on a kept-alive connection ends it.
          s.prependListener('request', (_req, res: ServerResponse) => res.setHeader('connection', 'close'));
          await new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeIdleConnections();
          });
          clearInterval(sweep);
        }
        try {
          await service.close();
        } finally {
          lock.release();
        }
      })();
      return closed;
    },
  };
}
