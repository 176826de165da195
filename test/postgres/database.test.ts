/**
 * The PostgreSQL connection under failure, on a throwaway server of this file's own: stopped, restarted,
 * out of connections, slow, silent, and LISTEN across all that. Every failure must reach a client as
 * STORAGE_UNAVAILABLE (503 with Retry-After), and the pool must serve again by itself when the server is back.
 */
import type { AddressInfo } from 'node:net';
import { createServer, connect, type Server, type Socket } from 'node:net';
import express from 'express';
import postgres from 'postgres';
import { afterEach, expect, it } from 'vitest';
import { createPostgresDatabase, type PostgresDatabase, type PostgresOptions } from '../../src/adapters/postgres/index.js';
import { errorHandler } from '../../src/http/errors.js';
import { silentLogger } from '../helpers.js';
import { describePostgres, useThrowawayServer } from './helpers.js';

const MAX_CONNECTIONS = 8;

const until = async (check: () => Promise<boolean> | boolean, ms: number): Promise<number> => {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Date.now() - start;
};

/** A TCP proxy in front of the server that can be made to swallow everything, like a silent partition. */
async function blackHoleProxy(port: number): Promise<{ port: number; swallow(): void; close(): Promise<void> }> {
  const sockets: Socket[] = [];
  let swallowing = false;
  const server: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    sockets.push(client, upstream);
    client.on('data', (chunk) => swallowing || upstream.write(chunk));
    upstream.on('data', (chunk) => swallowing || client.write(chunk));
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    swallow: () => {
      swallowing = true;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describePostgres('PostgreSQL connection under failure', () => {
  const throwaway = useThrowawayServer({ maxConnections: MAX_CONNECTIONS });
  const opened: PostgresDatabase[] = [];
  const open = (options: Partial<PostgresOptions> = {}): PostgresDatabase => {
    const db = createPostgresDatabase({ url: throwaway.server.url, poolSize: 2, connectTimeoutSeconds: 2, ...options });
    opened.push(db);
    return db;
  };
  afterEach(async () => {
    if (!throwaway.server.running()) throwaway.server.start();
    await Promise.all(opened.splice(0).map((db) => db.close(0)));
  });

  it('answers STORAGE_UNAVAILABLE at once while the server is down, and serves again by itself when it is back', async () => {
    const db = open();
    expect(await db.read((sql) => sql`SELECT 1 AS one`)).toEqual([{ one: 1 }]);
    throwaway.server.stop('fast');
    const started = Date.now();
    await expect(db.read((sql) => sql`SELECT 1`)).rejects.toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      message: expect.stringMatching(/connection was (refused|lost)/),
    });
    await expect(db.transaction((sql) => sql`SELECT 1`)).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(5_000);
    throwaway.server.start();
    expect(await db.transaction((sql) => sql`SELECT 2 AS two`)).toEqual([{ two: 2 }]);
  });

  it('hides a fast restart from reads and transactions: the dead pooled connections are replaced', async () => {
    const db = open({ poolSize: 6 });
    const numbers = Array.from({ length: 12 }, (_, i) => i);
    // Fill the pool: six connections, each of which the restart will kill.
    await Promise.all(numbers.slice(0, 6).map(() => db.read((sql) => sql`SELECT pg_sleep(0.05)`)));
    throwaway.server.restart('fast');
    const reads = await Promise.all(numbers.map((n) => db.read((sql) => sql<{ n: number }[]>`SELECT ${n}::int AS n`)));
    expect(reads.map(([row]) => row!.n)).toEqual(numbers);
    throwaway.server.restart('fast');
    const writes = await Promise.all(numbers.map((n) => db.transaction(async (sql) => (await sql<{ n: number }[]>`SELECT ${n}::int AS n`)[0]!.n)));
    expect(writes).toEqual(numbers);
  });

  it('answers STORAGE_UNAVAILABLE when the server has no connection slot left', async () => {
    const hog = postgres(throwaway.server.url, { max: MAX_CONNECTIONS, onnotice: () => undefined });
    const held = await Promise.all(Array.from({ length: MAX_CONNECTIONS }, () => hog.reserve()));
    try {
      const db = open();
      await expect(db.read((sql) => sql`SELECT 1`)).rejects.toMatchObject({
        code: 'STORAGE_UNAVAILABLE',
        message: expect.stringContaining('too many connections'),
      });
    } finally {
      for (const connection of held) connection.release();
      await hog.end({ timeout: 0 });
    }
  });

  it('cancels a statement past the statement timeout', async () => {
    const db = open({ statementTimeoutMs: 200 });
    await expect(db.read((sql) => sql`SELECT pg_sleep(3)`)).rejects.toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      message: expect.stringContaining('statement timed out'),
    });
    // The session is still usable after the cancel.
    expect(await db.read((sql) => sql`SELECT 1 AS one`)).toEqual([{ one: 1 }]);
  });

  it('gives up after the deadline when the network goes silent (no reset, no answer)', async () => {
    const proxy = await blackHoleProxy(throwaway.server.port);
    try {
      const db = open({ url: `postgres://postgres@127.0.0.1:${proxy.port}/postgres`, deadlineMs: 800 });
      expect(await db.read((sql) => sql`SELECT 1 AS one`)).toEqual([{ one: 1 }]);
      proxy.swallow();
      const started = Date.now();
      await expect(db.read((sql) => sql`SELECT 1`)).rejects.toMatchObject({
        code: 'STORAGE_UNAVAILABLE',
        message: expect.stringContaining('did not answer within 800 ms'),
      });
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await proxy.close();
    }
  });

  it('tries the hosts of a multi-host URL in turn', async () => {
    const dead = await new Promise<number>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const db = open({ url: `postgres://postgres@127.0.0.1:${dead},127.0.0.1:${throwaway.server.port}/postgres?target_session_attrs=read-write` });
    const [row] = await db.read((sql) => sql<{ port: number }[]>`SELECT inet_server_port() AS port`);
    expect(row!.port).toBe(throwaway.server.port);
  });

  it('refuses text with U+0000 as a validation error, not a server fault', async () => {
    const db = open();
    await expect(db.read((sql) => sql`SELECT ${'a\u0000b'}::text AS t`)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(db.read((sql) => sql`SELECT ${sql.json({ t: 'a\u0000b' })}::jsonb AS t`)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('answers 503 with Retry-After through the HTTP edge while the database is down', async () => {
    const db = open();
    const app = express();
    app.get('/probe', async (_req, res) => {
      res.json(await db.read((sql) => sql`SELECT 1 AS one`));
    });
    app.use(errorHandler(silentLogger));
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/probe`;
    try {
      expect((await fetch(url)).status).toBe(200);
      throwaway.server.stop('fast');
      const down = await fetch(url);
      expect(down.status).toBe(503);
      expect(down.headers.get('retry-after')).toBe('1');
      expect(await down.json()).toMatchObject({ error: { code: 'STORAGE_UNAVAILABLE' } });
      throwaway.server.start();
      expect((await fetch(url)).status).toBe(200);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('keeps LISTEN across a restart and an outage, and says each time it is back so that callers catch up', async () => {
    const db = open();
    const sender = open();
    const messages: string[] = [];
    let listens = 0;
    const listening = await db.listen('membank_test', (payload) => messages.push(payload), () => listens++);
    expect(listens).toBe(1);
    await sender.notify('membank_test', 'one');
    await until(() => messages.includes('one'), 5_000);

    throwaway.server.restart('fast');
    await until(() => listens === 2, 15_000);
    await sender.notify('membank_test', 'two');
    await until(() => messages.includes('two'), 5_000);

    // Down for ten seconds, long enough for the driver's own backoff to grow past 7 s: a notification cannot
    // be sent meanwhile (one sent would be lost); back, LISTEN is in place again within a few seconds.
    throwaway.server.stop('fast');
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    await expect(sender.notify('membank_test', 'lost')).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    throwaway.server.start();
    const back = await until(() => listens === 3, 15_000);
    await sender.notify('membank_test', 'three');
    await until(() => messages.includes('three'), 5_000);
    expect(messages).toEqual(['one', 'two', 'three']);
    expect(back).toBeLessThan(3_000);
    await listening.unlisten();
  });
});
