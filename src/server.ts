/**
 * Assembles a membank instance: the data directory lock, the SQLite store, the embedders, the service with
 * its indexes, the HTTP app and a periodic checkpoint. Tests build the same thing around a temp directory.
 */
import express, { type Express } from 'express';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { builtinEmbedders, createEmbedderProvider } from './adapters/embedders/provider.js';
import { hnswIndexFactory } from './adapters/hnsw/hnsw-index.js';
import { openPostgresStore, type PostgresStore } from './adapters/postgres/store.js';
import { createSqliteStore, type SqliteStoreOptions } from './adapters/sqlite/store.js';
import type { Config } from './config.js';
import { createChromaApp } from './chroma/index.js';
import { createApp } from './http/app.js';
import { createMcpRouter } from './mcp/http.js';
import { createConsoleRouter } from './ui/index.js';
import { inProcessOps } from './mcp/ops.js';
import { createMetrics, meterEmbedders } from './http/metrics.js';
import type { EmbedderProvider } from './ports/embedder.js';
import type { Store } from './ports/store.js';
import type { VectorIndexFactory } from './ports/vector-index.js';
import { lockDataDir } from './adapters/sqlite/data-dir-lock.js';
import { MembankError } from './core/errors.js';
import { createContextService, type ContextService } from './service/context-service.js';
import { createKeyService } from './service/key-service.js';
import { createFactService, type FactService } from './service/fact-service.js';
import { createMemoryService, type MemoryService } from './service/memory-service.js';
import { createHttpWebhookSender } from './adapters/webhooks/http-sender.js';
import { createWebhooks, type Webhooks, type WebhookTiming } from './service/webhooks.js';

export interface Membank {
  service: MemoryService;
  facts: FactService;
  context: ContextService;
  webhooks: Webhooks;
  /** Starts serving HTTP; resolves with the URL once the port is bound (and the Chroma API's, when configured). */
  listen(): Promise<string>;
  /** The Chroma-compatible API's URL once listening; undefined without --chroma-port. */
  chromaUrl(): string | undefined;
  /** Stops accepting connections, finishes in-flight requests, checkpoints, and releases the data directory. */
  close(): Promise<void>;
}

export interface Overrides {
  embedders?: EmbedderProvider;
  indexFactory?: VectorIndexFactory;
  /** Epoch ms now, for tests that move time (forgetting). */
  clock?: () => number;
  /** Tests: called with the SQLite connection, to inject disk faults. */
  onSqliteOpen?: SqliteStoreOptions['onOpen'];
  /** Tests: webhook timeouts and backoff in milliseconds. */
  webhookTiming?: Partial<WebhookTiming>;
  /** Tests: how often the change log is trimmed (default hourly). */
  changeTrimIntervalMs?: number;
}

const CHANGE_TRIM_INTERVAL_MS = 3_600_000;

export async function createMembank(config: Config, logger: Logger, overrides: Overrides = {}): Promise<Membank> {
  const lock = lockDataDir(config.dataDir);
  const metrics = createMetrics();
  let service: MemoryService;
  let store: Store;
  let cluster: PostgresStore | undefined;
  try {
    if (config.databaseUrl) {
      // Cluster mode: the database is the system of record; the data directory holds this node's caches only.
      cluster = await openPostgresStore({
        url: config.databaseUrl,
        node: `${hostname()}:${config.dataDir}`,
        applicationName: 'membank',
        onNotice: (message) => logger.debug(message),
        onMigrated: (outcome) => {
          if (outcome.applied.length > 0) logger.info({ applied: outcome.applied }, 'database migrated');
          if (outcome.edited.length > 0) logger.warn({ edited: outcome.edited }, 'migrations applied earlier have been edited since; the database keeps what they did then');
        },
        onError: (error, what) => logger.warn({ err: error }, `${what} failed`),
      });
      store = cluster;
    } else {
      store = createSqliteStore({
        file: join(config.dataDir, 'membank.db'),
        synchronous: config.synchronous,
        onMigrated: (applied) => applied.length > 0 && logger.info({ applied }, 'database migrated'),
        onNotice: (message) => logger.warn(message),
        onOpen: overrides.onSqliteOpen,
      });
    }
    const pg = cluster;
    service = await createMemoryService({
      dataDir: config.dataDir,
      store,
      // Timed and counted for /metrics.
      embedders: meterEmbedders(
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
      metrics),
      indexFactory: overrides.indexFactory ?? hnswIndexFactory,
      logger,
      defaultEmbedder: config.defaultEmbedder,
      exactSearchThreshold: config.exactSearchThreshold,
      indexMemoryBytes: config.indexMemoryMb * 2 ** 20,
      hnswThreshold: config.hnswThreshold,
      clock: overrides.clock,
      shared: pg !== undefined,
      // A schedule's tick runs on the one node whose claim of it lands first.
      claimTick: pg && ((schedule, tick) => pg.claim(`forget:${schedule}`, tick)),
    });
  } catch (error) {
    await cluster?.close().catch(() => undefined);
    lock.release();
    throw error;
  }
  const sync = cluster && (await startClusterSync(cluster, service, logger));

  const facts = createFactService({ store, memories: service });
  const context = createContextService({ memories: service, facts });
  const keys = createKeyService(store.keys);
  if (!isLoopback(config.host) && !(await keys.anyCreated())) {
    if (!config.insecureNoAuth) {
      await sync?.close();
      await service.close();
      lock.release();
      throw new MembankError(
        'INSECURE_BIND',
        `Refusing to serve ${config.host} without API keys: anyone who can reach it could read every memory. Create a key (membank keys create --data-dir ${config.dataDir} --role admin), bind 127.0.0.1, or pass --insecure-no-auth.`,
      );
    }
    logger.warn({ host: config.host }, 'serving a non-loopback address without API keys (--insecure-no-auth): anyone who can reach it can read and change every memory');
  }
  const webhooks = createWebhooks({
    store,
    sender: createHttpWebhookSender({ allowPrivate: config.webhooksAllowPrivate ?? false }),
    logger,
    now: overrides.clock ?? Date.now,
    timing: overrides.webhookTiming,
    onChange: (listener) => service.onChange(listener),
  });
  await webhooks.start();
  const mcp = createMcpRouter({ ops: inProcessOps({ service, facts, context }), logger });
  const shutdown = new AbortController();
  const app = createApp({
    service,
    facts,
    context,
    keys,
    webhooks,
    rateLimit: config.rateLimit,
    logger,
    maxBodyBytes: config.maxBodyBytes,
    metrics,
    edges: [{ path: '/mcp', handler: mcp }],
    shutdown: shutdown.signal,
  });
  // The web console's static files, ahead of the API and its keys: the page holds no data, and asks for a
  // key to call the API with.
  const root = express();
  root.disable('x-powered-by');
  root.use('/ui', createConsoleRouter({ logger }));
  root.use(app);
  const chroma =
    config.chromaPort === undefined
      ? undefined
      : createChromaApp({ service, keys, logger, maxBodyBytes: config.maxBodyBytes, rateLimit: config.rateLimit, allowReset: config.chromaAllowReset });
  let server: Server | undefined;
  let chromaServer: Server | undefined;
  let chromaUrl: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed: Promise<void> | undefined;

  if (config.checkpointIntervalSeconds > 0) {
    timer = setInterval(() => {
      service.checkpoint().catch((error: unknown) => logger.error({ err: error }, 'checkpoint failed'));
    }, config.checkpointIntervalSeconds * 1000);
    timer.unref();
  }
  // The change log would otherwise grow with every write forever. Each node trims (the same DELETE, harmless
  // twice); caches older than what is kept reload instead of replaying, feeds and webhooks answer 410 or skip.
  const now = overrides.clock ?? Date.now;
  const trimChanges = (): void => {
    store.changes
      .trim(now() - config.changeRetentionHours * 3_600_000)
      .then((trimmed) => trimmed > 0 && logger.info({ trimmed, retentionHours: config.changeRetentionHours }, 'change log trimmed'))
      .catch((error: unknown) => logger.warn({ err: error }, 'trimming the change log failed'));
  };
  const trimTimer = setInterval(trimChanges, overrides.changeTrimIntervalMs ?? CHANGE_TRIM_INTERVAL_MS);
  trimTimer.unref();

  return {
    service,
    facts,
    context,
    webhooks,
    async listen() {
      const main = await bind(root, config.port, config.host);
      server = main.server;
      // A `membank mcp` that finds the data directory in use talks to the holder there.
      lock.advertise(main.url);
      if (chroma) {
        const bound = await bind(chroma, config.chromaPort!, config.host);
        chromaServer = bound.server;
        chromaUrl = bound.url;
      }
      return main.url;
    },
    chromaUrl: () => chromaUrl,
    close() {
      closed ??= (async () => {
        if (timer) clearInterval(timer);
        clearInterval(trimTimer);
        // MCP sessions and change feeds hold event streams open, which would keep the server from closing.
        shutdown.abort();
        const sessions = mcp.close().catch((error: unknown) => logger.warn({ err: error }, 'ending MCP sessions failed'));
        await Promise.all([server, chromaServer].map((s) => s && stop(s)));
        await sessions;
        await webhooks.close();
        try {
          await sync?.close();
          await service.close();
        } finally {
          lock.release();
        }
      })();
      return closed;
    },
  };
}

/** How often a node reads the heads of the namespaces it has loaded, besides hearing them by notification. */
const HEAD_POLL_MS = 1_000;

/**
 * Keeps this node's loaded namespaces in step with what other nodes commit: heads heard by LISTEN right after
 * each commit, and polled every second and after every reconnect (notifications sent while disconnected are
 * lost). Queries under the default consistency check the head themselves; this is what makes `eventual` ones
 * fresh within about a round trip.
 */
async function startClusterSync(store: PostgresStore, service: MemoryService, logger: Logger): Promise<{ close(): Promise<void> }> {
  let stopped = false;
  let polling: Promise<void> | null = null;
  const poll = (): void => {
    if (stopped || polling) return;
    polling = (async () => {
      const ids = service.loadedIds();
      if (ids.length > 0) await service.observeHeads(await store.heads(ids));
    })()
      .catch((error: unknown) => logger.debug({ err: error }, 'polling heads failed'))
      .finally(() => (polling = null));
  };
  const listening = await store
    .watchHeads(
      (heads) => {
        if (!stopped) void service.observeHeads(heads);
      },
      () => {
        logger.debug('listening for other nodes\' changes');
        poll();
      },
    )
    .catch((error: unknown) => {
      logger.warn({ err: error }, 'could not listen for other nodes\' changes; polling only');
      return undefined;
    });
  const timer = setInterval(poll, HEAD_POLL_MS);
  timer.unref();
  return {
    async close() {
      stopped = true;
      clearInterval(timer);
      await listening?.unlisten().catch(() => undefined);
      await polling;
    },
  };
}

/** Serves an app on host:port; resolves with the server and its URL once the port is bound. */
function bind(app: Express, port: number, host: string): Promise<{ server: Server; url: string }> {
  return new Promise((resolve, reject) => {
    const s = app.listen(port, host, (error?: Error) => {
      if (error) return reject(error);
      const { address, port: bound } = s.address() as AddressInfo;
      const name = address.includes(':') ? `[${address}]` : address;
      resolve({ server: s, url: `http://${name}:${bound}` });
    });
  });
}

/**
 * Stops a server: requests in flight finish; their keep-alive connections are closed as soon as they fall idle,
 * rather than holding the shutdown until the client's keep-alive timeout.
 */
async function stop(s: Server): Promise<void> {
  const sweep = setInterval(() => s.closeIdleConnections(), 50);
  // Before Express's listener, which may answer at once: a request on a kept-alive connection ends it.
  s.prependListener('request', (_req, res: ServerResponse) => res.setHeader('connection', 'close'));
  await new Promise<void>((resolve) => {
    s.close(() => resolve());
    s.closeIdleConnections();
  });
  clearInterval(sweep);
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
