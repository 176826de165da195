/**
 * The `membank` command line. Commands that read or write memories talk to a running service over the REST
 * client (--url / MEMBANK_URL, --api-key / MEMBANK_API_KEY); commands that copy data (export, import, backup,
 * restore) work on a data directory (--data-dir / MEMBANK_DATA_DIR), export and backup also while a service
 * runs. Errors are one line on stderr; the exit code is 1 for a failure and 2 for a usage mistake.
 */
import { createWriteStream, readFileSync } from 'node:fs';
import { relative, extname, join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { backupDataDir, exportDataDir, importIntoDataDir, restoreDataDir, type ExportLine } from '../adapters/sqlite/portable.js';
import { MembankClient } from '../client/client.js';
import type { DocumentRequest, MemoryRequest } from '../client/types.js';
import { cliEnvironment } from '../config.js';
import { importReferenceJsonl } from '../mcp/graph.js';
import { forgetMemories, formatFacts, formatHits } from '../mcp/tools.js';
import { contentHash, expandInputs, fileId, memoriesFromJson, readLinesSync } from './files.js';
import { runMcp } from './mcp.js';
import { progressLine } from './progress.js';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | string[] | undefined>;

interface Context {
  values: Values;
  positionals: string[];
  out: NodeJS.WriteStream;
  err: NodeJS.WriteStream;
  client(): MembankClient;
  dataDir(): string;
}

interface Command {
  summary: string;
  usage: string;
  options?: Options;
  /** Lets the command read its arguments itself (serve passes them to the server). */
  raw?: true;
  run(ctx: Context): Promise<number | void>;
}

const env = cliEnvironment();
const SERVICE: Options = { url: { type: 'string' }, 'api-key': { type: 'string' } };
const SERVICE_HELP = `  --url URL           the service (default ${env.url ?? 'http://127.0.0.1:8420'}; MEMBANK_URL)
  --api-key KEY       sent as a bearer token (MEMBANK_API_KEY)`;
const NAMESPACE: Options = { namespace: { type: 'string', short: 'n' } };
const NAMESPACE_HELP = '  -n, --namespace NS  the namespace (default "default")';
const DATA_DIR: Options = { 'data-dir': { type: 'string' } };
const DATA_DIR_HELP = `  --data-dir DIR      the data directory (default ${env.dataDir ?? './data'}; MEMBANK_DATA_DIR)`;
const DATABASE: Options = { ...DATA_DIR, 'database-url': { type: 'string' } };
const DATABASE_HELP = `${DATA_DIR_HELP}
  --database-url URL  cluster mode's PostgreSQL database instead (MEMBANK_DATABASE_URL); the schema is created if missing`;

/** The PostgreSQL database a data command works on, when one is named (--database-url, MEMBANK_DATABASE_URL). */
const databaseUrl = (ctx: Context): string | undefined => {
  const url = str(ctx.values['database-url']) ?? (ctx.values['data-dir'] === undefined ? env.databaseUrl : undefined);
  if (url !== undefined && !/^postgres(ql)?:\/\//.test(url)) throw new UsageError(`--database-url must be a postgres:// URL, got "${url}".`);
  return url;
};

/** Opens the cluster's database for a command, migrating it first; closed after `work`. */
async function withPostgres<T>(url: string, work: (store: import('../adapters/postgres/store.js').PostgresStore) => Promise<T>): Promise<T> {
  const { openPostgresStore } = await import('../adapters/postgres/store.js');
  const { hostname } = await import('node:os');
  const store = await openPostgresStore({ url, node: `${hostname()}:cli:${process.pid}`, poolSize: 2 });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
const ns = (ctx: Context) => str(ctx.values.namespace) ?? 'default';
const json = (ctx: Context, value: unknown) => ctx.out.write(`${JSON.stringify(value, null, 2)}\n`);

function parseJsonFlag(name: string, value: unknown): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(String(value));
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch (error) {
    throw new UsageError(`--${name} must be a JSON object, e.g. '{"user":"ann"}' (${(error as Error).message}).`);
  }
}

function positiveInt(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got "${String(value)}".`);
  return n;
}

const COMMANDS: Record<string, Command> = {
  serve: {
    summary: 'run the service (the same options as npm start)',
    usage: 'membank serve [--port N] [--host H] [--data-dir DIR] [...]   (membank serve --help lists all)',
    raw: true,
    async run(ctx) {
      // The server's entry reads its flags from process.argv, as under `npm start`.
      process.argv = [process.argv[0]!, join(import.meta.dirname, '..', 'main.ts'), ...ctx.positionals];
      await import('../main.js');
      return -1;
    },
  },

  mcp: {
    summary: 'an MCP server on stdio for desktop hosts: on a per-user data directory, or over a running service',
    usage: `membank mcp [--namespace NS] [--data-dir DIR | --url URL]

  With no flags, membank runs inside this process on the per-user data directory: MEMBANK_DATA_DIR, else
  $XDG_DATA_HOME/membank, else ~/.local/share/membank (stderr says which). When a service or another host's
  membank mcp already holds that directory, this one works through it instead; the first also serves HTTP on
  a loopback port so that the others can. With --url (or MEMBANK_URL) the tools call that running service.
  The service's MEMBANK_* settings apply; logs go to stderr.

${NAMESPACE_HELP}
  --data-dir DIR      the data directory (default as above)
${SERVICE_HELP}`,
    options: { ...NAMESPACE, ...SERVICE, ...DATA_DIR },
    async run(ctx) {
      const dataDir = str(ctx.values['data-dir']);
      const url = str(ctx.values.url);
      if (dataDir && url) throw new UsageError('Give --data-dir or --url, not both.');
      await runMcp({ namespace: ns(ctx), url, dataDir, apiKey: str(ctx.values['api-key']), env, err: ctx.err });
      return -1;
    },
  },

  'import-graph': {
    summary: "import the reference MCP memory server's memory.jsonl (entities, relations) into a namespace",
    usage: `membank import-graph <memory.jsonl> [--namespace NS]\n\n${NAMESPACE_HELP}\n${SERVICE_HELP}`,
    options: { ...NAMESPACE, ...SERVICE },
    async run(ctx) {
      const file = ctx.positionals[0];
      if (!file) throw new UsageError('Name the memory.jsonl file to import.');
      const client = ctx.client();
      await client.createNamespace({ name: ns(ctx) });
      const result = await importReferenceJsonl(client, ns(ctx), readFileSync(file, 'utf8'));
      ctx.out.write(`Imported ${result.entities} entities, ${result.observations} observations and ${result.relations} relations into "${ns(ctx)}".\n`);
    },
  },

  ingest: {
    summary: 'add .txt/.md files (as documents) and .json/.jsonl files (as memories); skips unchanged files',
    usage: `membank ingest <files|dirs|globs...> [--namespace NS] [--batch N]

  Text and Markdown files become documents (chunked by the service); JSON files hold a memory, an array of
  memories or {"memories": [...]}; JSON lines files one memory per line. A memory is a text or an object with
  text (or content), and optional id, metadata, timestamp; other fields join its metadata. Files whose content
  was already ingested unchanged are skipped, so an interrupted ingest can simply be run again.

${NAMESPACE_HELP}
  --batch N           memories per request (default 64)
  --concurrency N     requests in flight (default 2)
${SERVICE_HELP}`,
    options: { ...NAMESPACE, ...SERVICE, batch: { type: 'string' }, concurrency: { type: 'string' } },
    async run(ctx) {
      if (ctx.positionals.length === 0) throw new UsageError('Name the files, directories or globs to ingest.');
      const batch = positiveInt('batch', ctx.values.batch, 64);
      const concurrency = positiveInt('concurrency', ctx.values.concurrency, 2);
      const { files, unmatched } = expandInputs(ctx.positionals);
      for (const input of unmatched) ctx.err.write(`membank: nothing to ingest in ${input} (supported: .txt .md .json .jsonl)\n`);
      if (files.length === 0) throw new Error('No files to ingest.');
      const client = ctx.client();
      const namespace = ns(ctx);
      await client.createNamespace({ name: namespace });

      // Plan first (parse every file, find the unchanged ones), so the bar knows the total.
      type Plan = { file: string; documents: DocumentRequest[]; memories: MemoryRequest[] };
      const plans: Plan[] = [];
      let skipped = 0;
      for (const file of files) {
        const rel = relative(process.cwd(), file);
        const content = readFileSync(file, 'utf8');
        const hash = contentHash(content);
        const id = fileId(rel);
        const extra = { source: rel, contentHash: hash };
        const kind = extname(file).toLowerCase();
        let plan: Plan;
        try {
          plan =
            kind === '.json' || kind === '.jsonl'
              ? { file, documents: [], memories: memoriesFromJson(content, kind, id, extra) }
              : { file, documents: content.trim() ? [{ id, text: content, metadata: extra }] : [], memories: [] };
        } catch (error) {
          throw new Error(`${rel}: ${(error as Error).message}`);
        }
        // A file is done when its last record carries its current hash (records are written in order).
        const last = plan.memories.at(-1)?.id ?? (plan.documents[0] ? `${id}#0` : undefined);
        if (last === undefined) continue;
        if (await hasHash(client, namespace, last, hash)) skipped++;
        else plans.push(plan);
      }

      const total = plans.reduce((n, p) => n + p.memories.length + p.documents.length, 0);
      const bar = progressLine(ctx.err, total);
      const slot = semaphore(concurrency);
      // Requests run `concurrency` at a time (the service batches concurrent texts together), but a file's last
      // record is written only after the rest of the file: its hash on that record is what marks the file done.
      await Promise.all(
        plans.map(async (plan) => {
          const requests: (() => Promise<number>)[] = [
            ...plan.documents.map((document) => async () => (await client.writeDocuments(namespace, [document]), 1)),
            ...chunk(plan.memories, batch).map((slice) => async () => (await client.writeMemories(namespace, slice), slice.length)),
          ];
          const last = requests.pop();
          await Promise.all(requests.map((request) => slot(async () => bar.advance(await request()))));
          if (last) await slot(async () => bar.advance(await last()));
        }),
      );
      const { done, elapsedMs } = bar.finish();
      const seconds = elapsedMs / 1000;
      ctx.out.write(
        `Ingested ${done} items from ${plans.length} files into "${namespace}" in ${seconds.toFixed(1)}s (${(seconds > 0 ? done / seconds : done).toFixed(1)} items/s); ${skipped} skipped (unchanged).\n`,
      );
    },
  },

  query: {
    summary: 'the memories closest to a text',
    usage: `membank query <text> [--namespace NS] [-k N] [--filter JSON] [--json]\n\n${NAMESPACE_HELP}\n  -k N                how many (default 10)\n  --filter JSON       metadata filter, e.g. '{"user":"ann"}'\n  --json              print the results as JSON\n${SERVICE_HELP}`,
    options: { ...NAMESPACE, ...SERVICE, k: { type: 'string', short: 'k' }, filter: { type: 'string' }, json: { type: 'boolean' } },
    async run(ctx) {
      const text = ctx.positionals.join(' ');
      if (!text.trim()) throw new UsageError('Give the text to search for.');
      const filter = parseJsonFlag('filter', ctx.values.filter);
      const results = await ctx.client().query(ns(ctx), { query: text, k: positiveInt('k', ctx.values.k, 10), ...(filter && { filter }) });
      if (ctx.values.json) json(ctx, results);
      else ctx.out.write(`${formatHits(results)}\n`);
    },
  },

  facts: {
    summary: 'read (default), add or search facts',
    usage: `membank facts [--subject S] [--predicate P] [--object O] [--history] [--json]
membank facts add <subject> <predicate> <object> [--replace]
membank facts search <text> [-k N] [--json]

${NAMESPACE_HELP}
${SERVICE_HELP}`,
    options: {
      ...NAMESPACE,
      ...SERVICE,
      subject: { type: 'string' },
      predicate: { type: 'string' },
      object: { type: 'string' },
      history: { type: 'boolean' },
      replace: { type: 'boolean' },
      k: { type: 'string', short: 'k' },
      json: { type: 'boolean' },
    },
    async run(ctx) {
      const client = ctx.client();
      const [action, ...rest] = ctx.positionals;
      if (action === 'add') {
        if (rest.length !== 3) throw new UsageError('facts add takes exactly three arguments: subject predicate object.');
        const [subject, predicate, object] = rest as [string, string, string];
        const [id] = await client.writeFacts(ns(ctx), [{ subject, predicate, object, ...(ctx.values.replace && { mode: 'replace' as const }) }]);
        ctx.out.write(`${id}\n`);
        return;
      }
      const facts =
        action === 'search'
          ? await client.searchFacts(ns(ctx), { query: rest.join(' '), k: positiveInt('k', ctx.values.k, 10) })
          : action === undefined || action === 'list'
            ? await client.readFacts(ns(ctx), {
                subject: str(ctx.values.subject),
                predicate: str(ctx.values.predicate),
                object: str(ctx.values.object),
                history: ctx.values.history === true ? true : undefined,
              })
            : undefined;
      if (facts === undefined) throw new UsageError(`Unknown facts action "${action}": use list, add or search.`);
      if (ctx.values.json) json(ctx, facts);
      else ctx.out.write(`${formatFacts(facts)}\n`);
    },
  },

  forget: {
    summary: 'delete memories by id or document, erase by filter, or run a forgetting policy (expired, faded, older)',
    usage: `membank forget <ids...> | --document ID | --filter JSON | --expired | --retention-below R | --older-than DATE  [options]

  <ids...>              delete these memories
  --document ID         delete a document and all its chunks
  --filter JSON         alone: erase every matching memory (protected ones too, whole documents);
                        with a policy flag: only forget among the matching ones
  --expired             forget memories past their ttl / expiresAt
  --retention-below R   forget memories whose retention is below R (0 to 1)
  --older-than DATE     forget memories whose event time is before DATE (ISO 8601)
  --limit N             forget at most N
  --dry-run             list what the policy would forget, change nothing
${NAMESPACE_HELP}
${SERVICE_HELP}`,
    options: {
      ...NAMESPACE,
      ...SERVICE,
      filter: { type: 'string' },
      document: { type: 'string' },
      expired: { type: 'boolean' },
      'retention-below': { type: 'string' },
      'older-than': { type: 'string' },
      limit: { type: 'string' },
      'dry-run': { type: 'boolean' },
    },
    async run(ctx) {
      const filter = parseJsonFlag('filter', ctx.values.filter);
      const document = str(ctx.values.document);
      const retentionBelow = str(ctx.values['retention-below']);
      const olderThan = str(ctx.values['older-than']);
      const limit = str(ctx.values.limit);
      const policy = ctx.values.expired === true || retentionBelow !== undefined || olderThan !== undefined || ctx.values['dry-run'] === true;
      if (ctx.positionals.length === 0 && !filter && !document && !policy) {
        throw new UsageError('Give ids, --document, --filter, or a policy (--expired, --retention-below, --older-than).');
      }
      const client = ctx.client();
      if (policy) {
        const number = (flag: string, value: string | undefined) => {
          if (value === undefined) return undefined;
          const n = Number(value);
          if (!Number.isFinite(n)) throw new UsageError(`--${flag} takes a number, not "${value}".`);
          return n;
        };
        const outcome = await client.forget(ns(ctx), {
          ...(ctx.values.expired === true && { expired: true as const }),
          ...(retentionBelow !== undefined && { retentionBelow: number('retention-below', retentionBelow) }),
          ...(olderThan !== undefined && { olderThan }),
          ...(filter && { filter }),
          ...(limit !== undefined && { limit: number('limit', limit) }),
          dryRun: ctx.values['dry-run'] === true,
        });
        if (outcome.dryRun) {
          for (const m of outcome.memories ?? []) ctx.out.write(`${m.id}\t${m.reason}\n`);
          ctx.out.write(`Would forget ${outcome.expired} expired and ${outcome.forgotten} other memories.\n`);
        } else {
          ctx.out.write(`Forgot ${outcome.expired} expired and ${outcome.forgotten} other memories in ${outcome.durationMs} ms.\n`);
        }
        return;
      }
      if (document) {
        await client.deleteDocument(ns(ctx), document);
        ctx.out.write(`Forgot document ${document}.\n`);
      }
      if (ctx.positionals.length > 0 || filter) {
        const ids = ctx.positionals.length > 0 ? ctx.positionals : undefined;
        const { deleted, missing } = await forgetMemories(client, ns(ctx), { ...(ids && { ids }), ...(filter && { filter }) });
        ctx.out.write(`Forgot ${deleted} ${deleted === 1 ? 'memory' : 'memories'}${missing.length ? `; not found: ${missing.join(', ')}` : ''}.\n`);
        if (missing.length > 0 && deleted === 0) return 1;
      }
    },
  },

  context: {
    summary: 'the memories (and facts) for a prompt, as text within a token budget',
    usage: `membank context <question...> [--max-tokens N] [--facts] [--order time|score] [--json]

  --max-tokens N      token budget (o200k tokens; default 1000)
  --facts             include facts
  --order time|score  memory lines by time (default) or by score
${NAMESPACE_HELP}
${SERVICE_HELP}`,
    options: { ...NAMESPACE, ...SERVICE, 'max-tokens': { type: 'string' }, facts: { type: 'boolean' }, order: { type: 'string' }, json: { type: 'boolean' } },
    async run(ctx) {
      if (ctx.positionals.length === 0) throw new UsageError('Give the question.');
      const maxTokens = Number(str(ctx.values['max-tokens']) ?? 1000);
      const order = str(ctx.values.order) ?? 'time';
      if (order !== 'time' && order !== 'score') throw new UsageError('--order is time or score.');
      const built = await ctx.client().context(ns(ctx), {
        query: ctx.positionals.join(' '),
        maxTokens,
        includeFacts: ctx.values.facts === true,
        order,
      });
      if (ctx.values.json) return void json(ctx, built);
      ctx.out.write(`${built.context}\n`);
    },
  },

  keys: {
    summary: 'create, list and revoke API keys, on a data directory (also while the service runs)',
    usage: `membank keys create --role read|write|admin [--namespaces PATTERNS] | keys list | keys revoke <id>  [--data-dir DIR | --database-url URL]

  --role ROLE            read (search), write (also change), admin (every namespace, keys, namespace deletes)
  --namespaces PATTERNS  comma-separated namespace patterns, * matching any run of characters ('team-a.*')
${DATABASE_HELP}

create prints the new key alone on the last line of stdout; it is never shown again. Once a key exists,
every route but /healthz needs one. A revocation counts at once, also on a running service.`,
    options: { ...DATABASE, role: { type: 'string' }, namespaces: { type: 'string' }, json: { type: 'boolean' } },
    async run(ctx) {
      const [action, ...rest] = ctx.positionals;
      const { createKeyService } = await import('../service/key-service.js');
      const url = databaseUrl(ctx);
      let store: { keys: import('../ports/key-store.js').KeyStore; close(): Promise<void> };
      if (url) {
        const { openPostgresStore } = await import('../adapters/postgres/store.js');
        const { hostname } = await import('node:os');
        store = await openPostgresStore({ url, node: `${hostname()}:cli:${process.pid}`, poolSize: 2 });
      } else {
        const { createSqliteStore } = await import('../adapters/sqlite/store.js');
        store = createSqliteStore({ file: join(ctx.dataDir(), 'membank.db') });
      }
      try {
        const keys = createKeyService(store.keys);
        if (action === 'create') {
          const role = str(ctx.values.role);
          if (role !== 'read' && role !== 'write' && role !== 'admin') throw new UsageError('--role is read, write or admin.');
          const namespaces = (str(ctx.values.namespaces) ?? '').split(',').map((p) => p.trim()).filter(Boolean);
          for (const pattern of namespaces) {
            if (!/^[A-Za-z0-9_.*-]{1,64}$/.test(pattern)) throw new UsageError(`"${pattern}" is not a namespace pattern (letters, digits, _ . - and *).`);
          }
          const { key, record } = await keys.create({ role, namespaces });
          ctx.err.write(`Created ${record.role} key ${record.id}${record.role === 'admin' ? ' for every namespace' : ` for ${namespaces.join(', ')}`}; store it now, it is not shown again:\n`);
          ctx.out.write(`${key}\n`);
          return;
        }
        if (action === 'list') {
          const list = await keys.list();
          if (ctx.values.json) return void json(ctx, list);
          for (const k of list) {
            const patterns = k.role === 'admin' ? '*' : k.namespaces.join(',');
            ctx.out.write(`${k.id}\t${k.role}\t${patterns}\t${new Date(k.createdAt).toISOString()}${k.revokedAt === null ? '' : `\trevoked ${new Date(k.revokedAt).toISOString()}`}\n`);
          }
          return;
        }
        if (action === 'revoke') {
          if (rest.length !== 1) throw new UsageError('Give the id of the key to revoke (membank keys list shows them).');
          await keys.revoke(rest[0]!);
          ctx.out.write(`Revoked key ${rest[0]}.\n`);
          return;
        }
        throw new UsageError('Use keys create, keys list or keys revoke <id>.');
      } finally {
        await store.close();
      }
    },
  },

  stats: {
    summary: 'the service and its namespaces: memories, facts, index sizes',
    usage: `membank stats [--namespace NS] [--json]\n\n  -n, --namespace NS  only this namespace\n${SERVICE_HELP}`,
    options: { ...NAMESPACE, ...SERVICE, json: { type: 'boolean' } },
    async run(ctx) {
      const client = ctx.client();
      const names = ctx.values.namespace ? [String(ctx.values.namespace)] : (await client.listNamespaces()).map((n) => n.name);
      const health = await client.health();
      const namespaces = await Promise.all(names.map((name) => client.getNamespace(name)));
      if (ctx.values.json) return void json(ctx, { health, namespaces });
      ctx.out.write(`${client.url}: ${health.status}, ${health.namespaces} namespaces\n`);
      for (const n of namespaces) {
        ctx.out.write(
          `  ${n.name}: ${n.count} memories, ${n.factCount} facts, ${n.embedder ?? 'no embedder'} ${n.dimensions}-d, index ${n.index.elements} elements (${n.index.deleted} deleted, capacity ${n.index.capacity})\n`,
        );
      }
    },
  },

  export: {
    summary: 'write a data directory (or some namespaces) as JSON lines, losslessly; works while the service runs',
    usage: `membank export [--out FILE] [--namespace NS ...]\n\n${DATABASE_HELP}\n  --out FILE          write there instead of stdout\n  -n, --namespace NS  only these namespaces (repeatable)`,
    options: { ...DATABASE, out: { type: 'string', short: 'o' }, namespace: { type: 'string', short: 'n', multiple: true } },
    async run(ctx) {
      const out = str(ctx.values.out);
      const url = databaseUrl(ctx);
      const stream: NodeJS.WritableStream = out ? createWriteStream(out) : ctx.out;
      const namespaces = ctx.values.namespace as string[] | undefined;
      let memories = 0;
      const write = async (lines: Iterable<ExportLine> | AsyncIterable<ExportLine>) => {
        for await (const line of lines) {
          if (line.type === 'memory' && !line.factIndex) memories++;
          if (!stream.write(`${JSON.stringify(line)}\n`)) await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
        }
      };
      if (url) {
        const { exportPostgres } = await import('../adapters/postgres/portable.js');
        await withPostgres(url, (store) => write(exportPostgres(store.db, namespaces ? { namespaces } : {})));
      } else await write(exportDataDir(ctx.dataDir(), namespaces ? { namespaces } : {}));
      if (out) {
        await new Promise<void>((resolve, reject) => {
          stream.once('error', reject);
          stream.end(() => resolve());
        });
        ctx.err.write(`Exported ${memories} memories to ${out}.\n`);
      }
    },
  },

  import: {
    summary: 'load an export into a data directory that no service is using',
    usage: `membank import <export.jsonl | ->\n\n${DATABASE_HELP}\n\n  - (or no file with --database-url) reads the export from stdin.`,
    options: { ...DATABASE },
    async run(ctx) {
      const url = databaseUrl(ctx);
      const file = ctx.positionals[0] ?? (url ? '-' : undefined);
      if (!file) throw new UsageError('Name the export file to import.');
      if (url) {
        const { importIntoPostgres } = await import('../adapters/postgres/portable.js');
        const { createInterface } = await import('node:readline');
        const { createReadStream } = await import('node:fs');
        const input = file === '-' ? process.stdin : createReadStream(file);
        const parsed = async function* (): AsyncGenerator<ExportLine> {
          let n = 0;
          for await (const line of createInterface({ input, crlfDelay: Infinity })) {
            n++;
            if (line.trim() === '') continue;
            try {
              yield JSON.parse(line) as ExportLine;
            } catch {
              throw new Error(`${file === '-' ? 'stdin' : file}: line ${n} is not JSON.`);
            }
          }
        };
        const summary = await withPostgres(url, (store) => importIntoPostgres(store.db, parsed()));
        ctx.out.write(`Imported ${summary.namespaces} namespaces, ${summary.memories} memories and ${summary.facts} facts into the database; nodes load them at their first request.\n`);
        return;
      }
      const lines = function* (): Generator<ExportLine> {
        let n = 0;
        for (const line of readLinesSync(file)) {
          n++;
          if (line.trim() === '') continue;
          try {
            yield JSON.parse(line) as ExportLine;
          } catch {
            throw new Error(`${file}: line ${n} is not JSON.`);
          }
        }
      };
      const summary = importIntoDataDir(ctx.dataDir(), lines());
      ctx.out.write(`Imported ${summary.namespaces} namespaces, ${summary.memories} memories and ${summary.facts} facts into ${ctx.dataDir()}; indexes are built at the next start.\n`);
    },
  },

  backup: {
    summary: 'a consistent copy of a data directory, also while the service runs',
    usage: `membank backup <dest>\n\n${DATA_DIR_HELP}`,
    options: { ...DATABASE },
    async run(ctx) {
      if (databaseUrl(ctx)) {
        throw new UsageError(`In cluster mode the database's own tools back up it (pg_dump / pg_restore, or a base backup and WAL archive); a node's data directory holds only caches.`);
      }
      const dest = ctx.positionals[0];
      if (!dest) throw new UsageError('Name the directory to back up into.');
      const { bytes, indexes } = await backupDataDir(ctx.dataDir(), dest);
      ctx.out.write(`Backed up ${ctx.dataDir()} to ${dest}: database ${(bytes / 1024 / 1024).toFixed(1)} MiB, ${indexes} index files.\n`);
    },
  },

  restore: {
    summary: 'restore a backup into an empty data directory',
    usage: `membank restore <backup>\n\n${DATA_DIR_HELP}`,
    options: { ...DATABASE },
    async run(ctx) {
      if (databaseUrl(ctx)) {
        throw new UsageError(`In cluster mode the database's own tools restore it (pg_dump / pg_restore, or a base backup and WAL archive); a node's data directory holds only caches.`);
      }
      const from = ctx.positionals[0];
      if (!from) throw new UsageError('Name the backup directory to restore.');
      const { indexes } = restoreDataDir(from, ctx.dataDir());
      ctx.out.write(`Restored ${from} into ${ctx.dataDir()} (${indexes} index files).\n`);
    },
  },
};

/** Runs at most `limit` tasks at a time. */
function semaphore(limit: number) {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    // A finished task hands its slot straight to the next waiter, so no newcomer can slip in between.
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

const chunk = <T>(items: T[], size: number): T[][] => Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

async function hasHash(client: MembankClient, namespace: string, id: string, hash: string): Promise<boolean> {
  try {
    return (await client.getMemory(namespace, id)).metadata.contentHash === hash;
  } catch (error) {
    if ((error as { code?: string }).code === 'MEMORY_NOT_FOUND') return false;
    throw error;
  }
}

const USAGE = `Usage: membank <command> [options]   (membank <command> --help for its options)

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(13)} ${c.summary}`)
  .join('\n')}`;

/** Runs one command line; resolves with the exit code (-1: keep running, the command serves). */
export async function run(argv: string[], out = process.stdout, err = process.stderr): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    out.write(`${USAGE}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  try {
    if (!command) throw new UsageError(`Unknown command "${name}" (membank --help lists them).`);
    let values: Values = {};
    let positionals = rest;
    if (!command.raw) {
      try {
        ({ values, positionals } = parseArgs({ args: rest, options: { ...command.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true }));
      } catch (error) {
        throw new UsageError(`${(error as Error).message} (membank ${name} --help shows the options)`);
      }
      if (values.help) {
        out.write(`membank ${name}: ${command.summary}\n\nUsage: ${command.usage}\n`);
        return 0;
      }
    }
    const ctx: Context = {
      values,
      positionals,
      out,
      err,
      client: () => new MembankClient({ url: str(values.url) ?? env.url, apiKey: str(values['api-key']) ?? env.apiKey }),
      dataDir: () => str(values['data-dir']) ?? env.dataDir ?? './data',
    };
    return (await command.run(ctx)) ?? 0;
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    const text = error instanceof UsageError ? message : code && /^[A-Z_]+$/.test(code) ? `${code}: ${message}` : (message ?? String(error));
    err.write(`membank${command ? ` ${name}` : ''}: ${text}\n`);
    return error instanceof UsageError ? 2 : 1;
  }
}
