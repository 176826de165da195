/**
 * Prometheus metrics (prom-client) and request ids. One registry per instance (no prom-client global), so two
 * services in one process (the tests) never mix their numbers. Request latency is labelled by the route
 * pattern, never the raw URL, so the number of series stays bounded. Index sizes are read at scrape time.
 */
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Embedder, EmbedderProvider } from '../ports/embedder.js';
import type { IndexView, MemoryService } from '../service/memory-service.js';

export interface Metrics {
  registry: Registry;
  embedSeconds: Histogram<'embedder' | 'priority'>;
  embeddedTexts: Counter<'embedder' | 'priority'>;
  /** Reads the namespaces' index sizes at each scrape, and counts forgetting runs as they happen. */
  watch(service: MemoryService): void;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const embedSeconds = new Histogram({
    name: 'membank_embed_duration_seconds',
    help: 'Time to embed one batch of texts, by embedder and priority (query or ingest).',
    labelNames: ['embedder', 'priority'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const embeddedTexts = new Counter({
    name: 'membank_embedded_texts_total',
    help: 'Texts embedded, by embedder and priority.',
    labelNames: ['embedder', 'priority'] as const,
    registers: [registry],
  });
  return {
    registry,
    embedSeconds,
    embeddedTexts,
    watch(service) {
      // Per-namespace sizes for the loaded namespaces only: with 100,000 namespaces a scrape must not read them all.
      const sizes = (name: string, help: string, pick: (index: IndexView) => number) =>
        new Gauge({
          name,
          help,
          labelNames: ['namespace'] as const,
          registers: [registry],
          collect() {
            this.reset();
            for (const { name: namespace, index } of service.loadedNamespaces()) this.set({ namespace }, pick(index));
          },
        });
      sizes('membank_memories', 'Memories of a loaded namespace (expired ones not yet pruned included).', (i) => i.elements);
      sizes('membank_index_elements', "Live elements in a loaded namespace's index (exact block or HNSW graph).", (i) => i.elements);
      sizes('membank_index_tombstones', "Deleted (marked) elements in a loaded namespace's HNSW graph, awaiting reuse.", (i) => i.deleted);
      sizes('membank_index_capacity', "Capacity of a loaded namespace's index.", (i) => i.capacity);
      sizes('membank_index_pending_changes', 'Graph changes since the last checkpoint.', (i) => i.pendingChanges);
      sizes('membank_index_namespace_bytes', "Bytes a loaded namespace's search structures hold (estimated).", (i) => i.bytes);
      const cache = (name: string, help: string, pick: (stats: ReturnType<MemoryService['cacheStats']>) => number) =>
        new Gauge({
          name,
          help,
          registers: [registry],
          collect() {
            this.set(pick(service.cacheStats()));
          },
        });
      cache('membank_namespaces_loaded', 'Namespaces whose search structures are in memory.', (c) => c.loaded);
      cache('membank_index_bytes', 'Bytes the loaded namespaces hold (estimated), against the budget.', (c) => c.bytes);
      cache('membank_index_budget_bytes', 'The memory budget of loaded namespaces (--index-memory-mb).', (c) => c.budget);
      cache('membank_index_evictions', 'Namespaces unloaded to stay within the budget, since start.', (c) => c.evictions);
      cache('membank_forget_schedule_timers', 'Timers serving scheduled forgetting (one per distinct schedule).', (c) => c.scheduleTimers);
      const runs = new Counter({
        name: 'membank_forget_runs_total',
        help: 'Forgetting runs (pruning), by trigger: scheduled or manual; dry runs are not counted.',
        labelNames: ['trigger'] as const,
        registers: [registry],
      });
      const removed = new Counter({
        name: 'membank_forgotten_total',
        help: 'Memories removed by forgetting runs, by reason: expired, or faded / selected by the policy.',
        labelNames: ['reason'] as const,
        registers: [registry],
      });
      service.onForgetRun((_namespace, run) => {
        runs.inc({ trigger: run.trigger });
        removed.inc({ reason: 'expired' }, run.expired);
        removed.inc({ reason: 'forgotten' }, run.forgotten);
      });
    },
  };
}

/** Wraps an embedder provider so every embed call is timed and counted; the embedders themselves are unchanged. */
export function meterEmbedders(provider: EmbedderProvider, metrics: Pick<Metrics, 'embedSeconds' | 'embeddedTexts'>): EmbedderProvider {
  const wrapped = new WeakMap<Embedder, Embedder>();
  const wrap = (embedder: Embedder): Embedder => {
    let metered = wrapped.get(embedder);
    if (!metered) {
      metered = Object.create(embedder, {
        embed: {
          value: async (texts: string[], priority: 'query' | 'ingest' = 'ingest') => {
            const labels = { embedder: embedder.name, priority };
            const stop = metrics.embedSeconds.startTimer(labels);
            try {
              return await embedder.embed(texts, priority);
            } finally {
              stop();
              metrics.embeddedTexts.inc(labels, texts.length);
            }
          },
        },
      }) as Embedder;
      wrapped.set(embedder, metered);
    }
    return metered;
  };
  return {
    describe: (name) => provider.describe(name),
    names: () => provider.names(),
    get: async (name) => wrap(await provider.get(name)),
    loaded: () => provider.loaded().map(wrap),
    close: () => provider.close(),
  };
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives each request an id (the caller's X-Request-Id when it is a sane token, else a UUID), echoes it in the
 * answer, times the request by route, counts ingested memories, and logs the request with its id: failures
 * at info, the rest at debug.
 */
export function requestObserver(metrics: Metrics, logger: Logger): RequestHandler {
  const duration = new Histogram({
    name: 'membank_http_request_duration_seconds',
    help: 'HTTP request latency by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [metrics.registry],
  });
  const ingested = new Counter({
    name: 'membank_ingested_total',
    help: 'Memories and documents accepted by write requests.',
    labelNames: ['kind'] as const,
    registers: [metrics.registry],
  });
  return (req: Request, res: Response, next: NextFunction) => {
    const given = req.get('x-request-id');
    const id = given && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader('x-request-id', id);
    res.locals.requestId = id;
    const stop = duration.startTimer();
    res.on('finish', () => {
      // The matched pattern (e.g. /v1/namespaces/:ns/query); requests that matched no route share one label.
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      const seconds = stop({ method: req.method, route, status: String(res.statusCode) });
      if (res.statusCode === 201 && req.method === 'POST') {
        const body = req.body as { memories?: unknown[]; documents?: unknown[] } | undefined;
        if (Array.isArray(body?.memories)) ingested.inc({ kind: 'memory' }, body.memories.length);
        if (Array.isArray(body?.documents)) ingested.inc({ kind: 'document' }, body.documents.length);
      }
      const entry = { reqId: id, method: req.method, url: req.originalUrl, status: res.statusCode, ms: Math.round(seconds * 1000 * 10) / 10 };
      if (res.statusCode >= 400) logger.info(entry, 'request failed');
      else logger.debug(entry, 'request');
    });
    next();
  };
}

/** GET /metrics in Prometheus' text format. */
export function metricsHandler(metrics: Metrics): RequestHandler {
  return async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  };
}
