/**
 * The PostgreSQL system of record (cluster mode): every node's store over one database, behind the same ports
 * as SQLite's, plus what several nodes need to stay in step: heads of namespaces' change sequences sent by
 * NOTIFY after each commit (batched, outside the transaction) and read back by polling, and claims of work
 * that must run once across the cluster.
 *
 * Adding a port is additive: a new `createPostgres…Store(db)` in its own file and one line below.
 */
import type { Store } from '../../ports/store.js';
import { createPostgresChangeLog } from './change-log.js';
import { createPostgresDatabase, type Listening, type PostgresDatabase, type PostgresOptions } from './database.js';
import { createPostgresFactStore } from './fact-store.js';
import { createPostgresForgetStore } from './forget-store.js';
import { createPostgresHistoryStore } from './history-store.js';
import { createPostgresJobStore } from './job-store.js';
import { createPostgresKeyStore } from './key-store.js';
import { createPostgresMemoryStore } from './memory-store.js';
import { migratePostgres, type MigrationOutcome } from './migrate.js';
import { createPostgresNamespaceStore } from './namespace-store.js';
import { createPostgresWebhookStore } from './webhook-store.js';

/** The channel of head notifications: payload `[[namespaceId, seq], …]` as JSON. */
export const HEADS_CHANNEL = 'membank_heads';
/** NOTIFY payloads must stay under 8,000 bytes: heads are sent in groups of this many. */
const HEADS_PER_NOTIFY = 200;

export interface PostgresStoreOptions extends PostgresOptions {
  /** This node's name, stable across its restarts (jobs it owns, claims it makes). */
  node: string;
  /** Told about failures of background work (heartbeats, notifications), which never fail a request. */
  onError?: (error: unknown, what: string) => void;
  /** Told about the migrations applied at open. */
  onMigrated?: (outcome: MigrationOutcome) => void;
}

export interface PostgresStore extends Store {
  readonly db: PostgresDatabase;
  /** Heads of these namespaces (id → seq); namespaces that no longer exist are left out. */
  heads(ids: number[]): Promise<Map<number, number>>;
  /**
   * Listens for other nodes' heads. `onReconnect` is called each time listening (re)starts: notifications sent
   * meanwhile are lost, so the caller then polls.
   */
  watchHeads(onHeads: (heads: [number, number][]) => void, onReconnect: () => void): Promise<Listening>;
  /** Claims (task, slot) for this node: true for exactly one node of the cluster. */
  claim(task: string, slot: number): Promise<boolean>;
}

/** Opens the pool, migrates the schema (advisory-locked: nodes starting together do not race), and builds the store. */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const db = createPostgresDatabase(options);
  try {
    const outcome = await migratePostgres(db);
    options.onMigrated?.(outcome);
  } catch (error) {
    await db.close(0);
    throw error;
  }
  return createPostgresStore(db, options);
}

export function createPostgresStore(db: PostgresDatabase, options: Pick<PostgresStoreOptions, 'node' | 'onError'>): PostgresStore {
  const onError = options.onError ?? (() => undefined);

  // Heads committed since the last NOTIFY, sent together once the current burst of commits is done.
  const pending = new Map<number, number>();
  let flushing: NodeJS.Immediate | null = null;
  let closed = false;
  const flush = () => {
    flushing = null;
    if (closed) return;
    const heads = [...pending.entries()];
    pending.clear();
    for (let i = 0; i < heads.length; i += HEADS_PER_NOTIFY) {
      // A lost notification costs only latency: the other nodes poll, and default-consistency reads check heads.
      db.notify(HEADS_CHANNEL, JSON.stringify(heads.slice(i, i + HEADS_PER_NOTIFY))).catch((error: unknown) => onError(error, 'notify'));
    }
  };
  const onCommitted = (namespaceId: number, seq: number) => {
    pending.set(namespaceId, Math.max(seq, pending.get(namespaceId) ?? 0));
    flushing ??= setImmediate(flush);
  };

  let claims = 0;
  const jobs = createPostgresJobStore(db, { node: options.node, onError: (error) => onError(error, 'job heartbeat') });
  return {
    db,
    namespaces: createPostgresNamespaceStore(db),
    memories: createPostgresMemoryStore(db, { onCommitted }),
    changes: createPostgresChangeLog(db),
    jobs: {
      ...jobs,
      async swap(namespaceId, jobId, embedding) {
        const swapped = await jobs.swap(namespaceId, jobId, embedding);
        onCommitted(namespaceId, swapped.seq);
        return swapped;
      },
    },
    forgetting: createPostgresForgetStore(db),
    facts: createPostgresFactStore(db),
    keys: createPostgresKeyStore(db),
    history: createPostgresHistoryStore(db),
    webhooks: createPostgresWebhookStore(db),
    async heads(ids) {
      if (ids.length === 0) return new Map();
      const rows = await db.read((sql) => sql<{ id: number; seq: number }[]>`SELECT id, head_seq AS seq FROM namespaces WHERE id = ANY(${ids}::bigint[])`);
      return new Map(rows.map((r) => [r.id, r.seq]));
    },
    watchHeads(onHeads, onReconnect) {
      return db.listen(
        HEADS_CHANNEL,
        (payload) => {
          try {
            onHeads(JSON.parse(payload) as [number, number][]);
          } catch (error) {
            onError(error, 'a head notification');
          }
        },
        onReconnect,
      );
    },
    async claim(task, slot) {
      const rows = await db.transaction(
        (sql) => sql`INSERT INTO cluster_claims (task, slot, node, claimed_at) VALUES (${task}, ${slot}, ${options.node}, ${Date.now()})
                     ON CONFLICT DO NOTHING RETURNING slot`,
      );
      // Claims older than a day can no longer be contended: every hundredth claim of a node clears them.
      if (++claims % 100 === 0) {
        await db.transaction((sql) => sql`DELETE FROM cluster_claims WHERE claimed_at < ${Date.now() - 86_400_000}`).catch((error: unknown) => onError(error, 'clearing old claims'));
      }
      return rows.length === 1;
    },
    async compact() {
      // Dead rows of deleted memories become reusable space (VACUUM cannot run inside a transaction, so not via
      // db.transaction). The bytes of erased rows stay in the files until overwritten, as in any PostgreSQL table.
      await db.read((sql) => sql`VACUUM memories, changes, facts`);
    },
    async close() {
      closed = true;
      if (flushing) clearImmediate(flushing);
      flush();
      jobs.close();
      await db.close();
    },
  };
}
