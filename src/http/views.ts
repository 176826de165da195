/** How records look on the wire: ISO times, vectors as plain arrays, internal labels never shown. */
import type { IncludeField } from '../api/schemas.js';
import type { ApiKeyRecord } from '../core/access.js';
import type { FactRecord, MemoryRecord, NamespaceRecord } from '../core/types.js';
import type { ChangeRecord } from '../ports/change-log.js';
import type { HistoryEvent } from '../ports/history-store.js';
import type { WebhookRecord } from '../ports/webhook-store.js';
import type { WebhookDelivery } from '../service/webhooks.js';
import type { NamespaceStats } from '../service/memory-service.js';
import type { SearchHit } from '../service/search.js';

const iso = (ms: number): string => new Date(ms).toISOString();

export function namespaceView(ns: NamespaceRecord) {
  return {
    id: ns.uid,
    name: ns.name,
    space: ns.space,
    // null while the first write is to decide
    dimensions: ns.dimensionsOpen ? null : ns.dimensions,
    metadata: ns.metadata,
    embedder: ns.embedder,
    embedderRevision: ns.embedderRevision,
    hnsw: ns.hnsw,
    facts: ns.settings.facts,
    forgetting: ns.settings.forgetting,
    dedupe: ns.settings.dedupe,
    history: ns.settings.history,
    hybrid: ns.settings.hybrid ?? {},
    createdAt: iso(ns.createdAt),
  };
}

export function namespaceStatsView(stats: NamespaceStats) {
  const { lastCheckpoint, ...index } = stats.index;
  const view = namespaceView(stats.namespace);
  return {
    ...view,
    forgetting: {
      ...view.forgetting,
      runs: stats.forgetRuns.map((run) => ({ ...run, at: iso(run.at) })),
    },
    embedderDevice: stats.embedderDevice,
    count: stats.count,
    factCount: stats.facts,
    index: { ...index, lastCheckpoint: lastCheckpoint && { seq: lastCheckpoint.seq, at: iso(lastCheckpoint.at) } },
  };
}

export function memoryView(memory: MemoryRecord) {
  return {
    id: memory.id,
    text: memory.text,
    metadata: memory.metadata,
    timestamp: iso(memory.timestamp),
    createdAt: iso(memory.createdAt),
    updatedAt: iso(memory.updatedAt),
    ...(memory.documentId !== null && { documentId: memory.documentId, chunkIndex: memory.chunkIndex }),
    importance: memory.importance,
    strength: memory.strength,
    recallCount: memory.recallCount,
    lastRecalledAt: memory.lastRecalledAt === null ? null : iso(memory.lastRecalledAt),
    expiresAt: memory.expiresAt === null ? null : iso(memory.expiresAt),
    pinned: memory.pinned,
    ...(memory.vector && { vector: Array.from(memory.vector) }),
  };
}

export function factView(fact: FactRecord) {
  const time = (ms: number | null) => (ms === null ? null : iso(ms));
  return {
    id: fact.id,
    subject: fact.subject,
    predicate: fact.predicate,
    object: fact.object,
    confidence: fact.confidence,
    source: fact.source,
    validFrom: time(fact.validFrom),
    validTo: time(fact.validTo),
    createdAt: iso(fact.createdAt),
    invalidatedAt: time(fact.invalidatedAt),
    supersededBy: fact.supersededBy,
    metadata: fact.metadata,
  };
}

/** A query result; `withNamespace` for searches over several namespaces. */
export function hitView(hit: SearchHit, include: Set<IncludeField>, withNamespace = false) {
  const { memory } = hit;
  return {
    id: memory.id,
    ...(withNamespace && { namespace: hit.namespace.name }),
    score: hit.score,
    distance: hit.distance,
    timestamp: iso(memory.timestamp),
    createdAt: iso(memory.createdAt),
    updatedAt: iso(memory.updatedAt),
    ...(include.has('text') && { text: memory.text }),
    ...(include.has('metadata') && { metadata: memory.metadata }),
    ...(memory.documentId !== null && { documentId: memory.documentId, chunkIndex: memory.chunkIndex }),
    ...(include.has('vector') && memory.vector && { vector: Array.from(memory.vector) }),
    ...(hit.neighbors && {
      neighbors: hit.neighbors.map((n) => ({ id: n.id, text: n.text, timestamp: iso(n.timestamp) })),
    }),
    ...(include.has('explain') && hit.explain && { explain: { ...hit.explain, score: hit.score } }),
  };
}

/** A change of the feed: its number, time, op and memory id (never a text; the label stays internal). */
export function changeView(change: ChangeRecord) {
  return { seq: change.seq, at: iso(change.at), op: change.op, id: change.id };
}

/** An event of a memory's history: ISO times, the previous version of an update, the policy of a removal. */
export function historyEventView(event: HistoryEvent) {
  return { ...event, at: iso(event.at) };
}

/** A memory in a context's answer: no vector (contexts are for prompts), with its score and source. */
export function contextMemoryView(memory: MemoryRecord, score: number, source: string) {
  const { vector: _vector, ...rest } = memory;
  return { ...memoryView(rest), score, source };
}

/** A webhook as answered: never its secret; with where its deliveries stand per namespace, when known. */
export function webhookView(hook: WebhookRecord & { deliveries?: WebhookDelivery[] }) {
  const time = (ms: number | null) => (ms === null ? null : iso(ms));
  return {
    id: hook.id,
    url: hook.url,
    namespaces: hook.namespaces,
    events: hook.events,
    createdAt: iso(hook.createdAt),
    ...(hook.deliveries && {
      deliveries: hook.deliveries.map((d) => ({ ...d, nextAttemptAt: time(d.nextAttemptAt), lastAttemptAt: time(d.lastAttemptAt) })),
    }),
  };
}

/** A key as listed: never the key itself, which is shown once, at creation. */
export function keyView(key: ApiKeyRecord) {
  return {
    id: key.id,
    role: key.role,
    namespaces: key.namespaces,
    createdAt: iso(key.createdAt),
    revokedAt: key.revokedAt === null ? null : iso(key.revokedAt),
  };
}
