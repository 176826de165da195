/**
 * The connection to PostgreSQL that every PostgreSQL adapter shares: one pool (the `postgres` driver), opened
 * lazily from a URL, with server-side statement limits, and three ways in (`read`, `transaction`, `listen`)
 * that turn a lost, refused or overloaded database into STORAGE_UNAVAILABLE instead of a stack trace, and
 * bound the time a request can wait for it.
 *
 * Why `postgres` (porsager) and not `pg`, measured on these machines (see the commit that added it): LISTEN
 * reconnects by itself and says so (the catch-up hook cluster mode needs), queries issued together on one
 * connection are pipelined, COPY is built in, multi-host URLs with target_session_attrs work (`pg` rejects
 * them), and BYTEA comes back as a Buffer.
 */
import postgres from 'postgres';
import { MembankError } from '../../core/errors.js';
import { isLostConnection, isRetryableConflict, rethrowStorageError } from './errors.js';

export type Sql = postgres.Sql;
export type TransactionSql = postgres.TransactionSql;

export interface PostgresOptions {
  /**
   * A libpq-style URL; several hosts are tried in turn, and `target_session_attrs=read-write` picks the primary.
   * @example 'postgres://membank:secret@db-1:5432,db-2:5432/membank?target_session_attrs=read-write'
   */
  url: string;
  /** Connections in the pool (default 10). Every node opens up to this many, plus one for LISTEN. */
  poolSize?: number;
  /**
   * The server cancels a statement that runs longer (default 10,000 ms): a stuck query becomes
   * STORAGE_UNAVAILABLE instead of holding a request and its connection.
   */
  statementTimeoutMs?: number;
  /**
   * The server ends a session that sits idle inside a transaction this long (default 30,000 ms), so that a node
   * frozen mid-transaction cannot hold a namespace's row lock for ever.
   */
  idleInTransactionTimeoutMs?: number;
  /** How long to wait for a new connection before giving up (default 5 s). */
  connectTimeoutSeconds?: number;
  /**
   * The longest a call may wait for the database, whatever the network does (default 25,000 ms): a silent
   * network partition sends no reset, and TCP keepalive alone would take minutes to notice it.
   */
  deadlineMs?: number;
  /** `application_name` of the sessions, seen in pg_stat_activity (default 'membank'). */
  applicationName?: string;
  /** Told about the server's notices (RAISE NOTICE; "already exists, skipping"). */
  onNotice?: (message: string) => void;
}

export interface Listening {
  unlisten(): Promise<void>;
}

export interface PostgresDatabase {
  /** The pool, for the statements of this folder's adapters; call them inside `read` or `transaction`. */
  readonly sql: Sql;
  /**
   * Runs reads (`work` must write nothing: it may run more than once). A read that met a connection lost under it (a server restart leaves every pooled connection
   * dead, and each fails once) is tried again on a fresh connection.
   */
  read<T>(work: (sql: Sql) => Promise<T>): Promise<T>;
  /**
   * Runs `work` in one transaction. It is run again when the server rolled it back for a conflict (40001,
   * 40P01), or when the connection was lost before COMMIT was sent (then nothing was committed); never when
   * COMMIT itself may have reached the server.
   */
  transaction<T>(work: (sql: TransactionSql) => Promise<T>): Promise<T>;
  /**
   * LISTEN on a dedicated connection that the driver re-opens after every loss (with backoff, for as long as
   * it takes). Notifications sent while it was down are lost: `onListen` is called each time the LISTEN is in
   * place again, first time included, and is where a caller catches up by reading what it missed.
   */
  listen(channel: string, onMessage: (payload: string) => void, onListen: () => void): Promise<Listening>;
  notify(channel: string, payload: string): Promise<void>;
  /** Closes every connection, letting running statements finish for up to `timeoutSeconds` (default 5). */
  close(timeoutSeconds?: number): Promise<void>;
}

/** Conflicts (40001, 40P01) are tried again this many times, after a short wait. */
const CONFLICT_RETRIES = 3;

/** Races `promise` against the deadline; the statement may still finish later, but nobody waits for it. */
async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new MembankError(
            'STORAGE_UNAVAILABLE',
            `The database did not answer within ${ms} ms; the request was not completed (it may still be applied). Retry after the time in Retry-After.`,
          ),
        ),
      ms,
    );
  });
  // The loser of the race must not become an unhandled rejection.
  promise.catch(() => undefined);
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

export function createPostgresDatabase(options: PostgresOptions): PostgresDatabase {
  const deadlineMs = options.deadlineMs ?? 25_000;
  const sql = postgres(options.url, {
    max: options.poolSize ?? 10,
    connect_timeout: options.connectTimeoutSeconds ?? 5,
    // Idle connections are closed after a minute, so that a quiet node holds few of the server's slots.
    idle_timeout: 60,
    // Between attempts to reconnect (LISTEN's connection keeps trying while the server is away): the driver's
    // default grows to 20 s, so that LISTEN came back 11.6 s after a 30-second outage ended; capped at 2 s it
    // comes back within about a second. The jitter keeps the nodes from reconnecting in step.
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 2) * (0.5 + Math.random() / 2),
    // Labels, sequences and epoch-millisecond times are BIGINT: read them as numbers (exact below 2^53).
    types: { bigint: { to: 20, from: [20], serialize: (value: number) => String(value), parse: (text: string) => Number(text) } },
    onnotice: (notice) => options.onNotice?.(String(notice.message)),
    connection: {
      application_name: options.applicationName ?? 'membank',
      statement_timeout: options.statementTimeoutMs ?? 10_000,
      idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs ?? 30_000,
    },
  });

  // After a server restart every pooled connection is dead and fails once: a call may meet each of them in
  // turn, so it may try one more time than the pool has connections. A refused connection is not tried
  // again: the server is not there, and the client hears it at once.
  const lostRetries = (options.poolSize ?? 10) + 1;
  const attempt = async <T>(run: () => Promise<T>, mayRetryLost: () => boolean): Promise<T> => {
    for (let lost = 0, conflicts = 0; ; ) {
      try {
        return await run();
      } catch (error) {
        if (isLostConnection(error) && mayRetryLost() && lost < lostRetries) lost++;
        else if (isRetryableConflict(error) && conflicts < CONFLICT_RETRIES) {
          conflicts++;
          await new Promise((resolve) => setTimeout(resolve, 10 * conflicts + Math.random() * 20));
        } else rethrowStorageError(error);
      }
    }
  };

  return {
    sql,
    read(work) {
      return withDeadline(attempt(() => work(sql), () => true), deadlineMs);
    },
    transaction<T>(work: (tx: TransactionSql) => Promise<T>) {
      let committing = false;
      const once = async (): Promise<T> => {
        committing = false;
        const result = await sql.begin(async (tx) => {
          const value = await work(tx);
          committing = true;
          return value;
        });
        return result as T;
      };
      return withDeadline(attempt(once, () => !committing), deadlineMs);
    },
    async listen(channel, onMessage, onListen) {
      try {
        const request = await sql.listen(channel, onMessage, onListen);
        return { unlisten: () => request.unlisten() };
      } catch (error) {
        rethrowStorageError(error);
      }
    },
    async notify(channel, payload) {
      // A notification is a wake-up call: sending it twice after a lost connection is harmless.
      await withDeadline(
        attempt(async () => {
          await sql.notify(channel, payload);
        }, () => true),
        deadlineMs,
      );
    },
    async close(timeoutSeconds = 5) {
      await sql.end({ timeout: timeoutSeconds });
    },
  };
}
