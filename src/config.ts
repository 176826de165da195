/**
 * Configuration, read once: command-line flags override environment variables, which override defaults. The
 * only module that reads process.env or argv; everything else receives a typed Config.
 *
 * | flag                   | environment                     | default     |
 * |------------------------|---------------------------------|-------------|
 * | --host                 | MEMBANK_HOST                    | 127.0.0.1   |
 * | --port                 | MEMBANK_PORT                    | 8420 (0 = any free port) |
 * | --data-dir             | MEMBANK_DATA_DIR                | ./data      |
 * | --database-url         | MEMBANK_DATABASE_URL            | (none: SQLite in the data dir) |
 * | --log-level            | MEMBANK_LOG_LEVEL               | info        |
 * | --max-body-bytes       | MEMBANK_MAX_BODY_BYTES          | 16777216    |
 * | --checkpoint-interval  | MEMBANK_CHECKPOINT_INTERVAL_S   | 60          |
 * | --synchronous          | MEMBANK_SYNCHRONOUS             | full        |
 * | --exact-threshold      | MEMBANK_EXACT_SEARCH_THRESHOLD  | auto        |
 * | --index-memory-mb      | MEMBANK_INDEX_MEMORY_MB         | 25% of RAM  |
 * | --hnsw-threshold       | MEMBANK_HNSW_THRESHOLD          | auto        |
 * | --default-embedder     | MEMBANK_DEFAULT_EMBEDDER        | use-lite    |
 * | --device             | MEMBANK_DEVICE                  | auto        |
 * | --models-dir         | MEMBANK_MODELS_DIR              | ./models    |
 * | --allow-remote-models| MEMBANK_ALLOW_REMOTE_MODELS     | false       |
 * | --openai-base-url      | MEMBANK_OPENAI_BASE_URL         | (none)      |
 * | --openai-api-key       | MEMBANK_OPENAI_API_KEY          | (none)      |
 * | --openai-batch-size    | MEMBANK_OPENAI_BATCH_SIZE       | 64          |
 * | --openai-timeout-ms    | MEMBANK_OPENAI_TIMEOUT_MS       | 30000       |
 * | --openai-retries       | MEMBANK_OPENAI_RETRIES          | 3           |
 * | --rate-limit           | MEMBANK_RATE_LIMIT              | 0 (off)     |
 * | --insecure-no-auth     | MEMBANK_INSECURE_NO_AUTH        | false       |
 * | --chroma-port          | MEMBANK_CHROMA_PORT             | (off; 0 = any free port) |
 * | --chroma-allow-reset   | MEMBANK_CHROMA_ALLOW_RESET      | false       |
 * | --change-retention-hours | MEMBANK_CHANGE_RETENTION_HOURS | 168 (7 days; at least 24) |
 */
import { totalmem } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';

const configSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65535).default(8420),
  dataDir: z.string().min(1).default('./data'),
  /**
   * Cluster mode: PostgreSQL holds everything (migrated at start), and the data directory only this node's
   * caches (index checkpoints). Any number of nodes may share one database.
   */
  databaseUrl: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  maxBodyBytes: z.coerce.number().int().min(1024).default(16 * 1024 * 1024),
  checkpointIntervalSeconds: z.coerce.number().min(0).default(60),
  synchronous: z.enum(['full', 'normal']).default('full'),
  /**
   * A filtered query whose filter matches at most this many memories is answered by exact search over them.
   * `auto`: where that costs about a millisecond over a scattered scope (2^18 multiply-adds), at least 2,000.
   */
  exactSearchThreshold: z.union([z.literal('auto'), z.coerce.number().int().min(0)]).default('auto'),
  /**
   * Memory (MiB) the loaded namespaces' search structures may hold before the least recently used are unloaded.
   * A quarter of the machine's RAM by default: the rest is for the process, the page cache of the database and
   * the embedders.
   */
  indexMemoryMb: z.coerce.number().int().min(1).default(Math.max(64, Math.floor(totalmem() / 4 / 2 ** 20))),
  /**
   * Vectors above which a namespace gets an HNSW graph; below it, exact search answers (recall 1.0). `auto`:
   * where an exact search costs about a millisecond, 2^20 multiply-adds (2,048 vectors of 512 dimensions,
   * 10,485 of 100), at least 1,000.
   */
  hnswThreshold: z.union([z.literal('auto'), z.coerce.number().int().min(0)]).default('auto'),
  defaultEmbedder: z.string().min(1).default('use-lite'),
  device: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
  modelsDir: z.string().min(1).default('./models'),
  allowRemoteModels: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  openaiBaseUrl: z.url({ protocol: /^https?$/ }).optional(),
  openaiApiKey: z.string().min(1).optional(),
  openaiBatchSize: z.coerce.number().int().min(1).max(2048).default(64),
  openaiTimeoutMs: z.coerce.number().int().min(100).default(30_000),
  openaiRetries: z.coerce.number().int().min(0).max(10).default(3),
  /** Requests per second per API key (per address without keys); 0 turns the limit off. */
  rateLimit: z.coerce.number().min(0).default(0),
  /** Serve a non-loopback address although no API key exists. */
  insecureNoAuth: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  /** Port of the Chroma-compatible API (Chroma's HTTP API v2), on the same host; absent: not served. */
  chromaPort: z.coerce.number().int().min(0).max(65535).optional(),
  /** Whether the Chroma API's `POST /api/v2/reset` may delete every namespace (admin keys only). */
  chromaAllowReset: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  /**
   * How long the change log keeps a change (hours): the change feed's `since` and webhook deliveries reach back
   * this far (older: 410 CHANGES_EXPIRED). At least a day, the time webhook retries must cover.
   */
  changeRetentionHours: z.coerce.number().min(24).default(168),
  /** Whether webhooks may target loopback and private addresses (refused by default, against request forgery). */
  webhooksAllowPrivate: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
});

export type Config = z.output<typeof configSchema>;

/** `boolean`: a flag without value (`--insecure-no-auth`); its variable takes true or false. */
const SETTINGS: { key: keyof Config; flag: string; env: string; boolean?: true }[] = [
  { key: 'host', flag: 'host', env: 'MEMBANK_HOST' },
  { key: 'port', flag: 'port', env: 'MEMBANK_PORT' },
  { key: 'dataDir', flag: 'data-dir', env: 'MEMBANK_DATA_DIR' },
  { key: 'databaseUrl', flag: 'database-url', env: 'MEMBANK_DATABASE_URL' },
  { key: 'logLevel', flag: 'log-level', env: 'MEMBANK_LOG_LEVEL' },
  { key: 'maxBodyBytes', flag: 'max-body-bytes', env: 'MEMBANK_MAX_BODY_BYTES' },
  { key: 'checkpointIntervalSeconds', flag: 'checkpoint-interval', env: 'MEMBANK_CHECKPOINT_INTERVAL_S' },
  { key: 'synchronous', flag: 'synchronous', env: 'MEMBANK_SYNCHRONOUS' },
  { key: 'exactSearchThreshold', flag: 'exact-threshold', env: 'MEMBANK_EXACT_SEARCH_THRESHOLD' },
  { key: 'indexMemoryMb', flag: 'index-memory-mb', env: 'MEMBANK_INDEX_MEMORY_MB' },
  { key: 'hnswThreshold', flag: 'hnsw-threshold', env: 'MEMBANK_HNSW_THRESHOLD' },
  { key: 'defaultEmbedder', flag: 'default-embedder', env: 'MEMBANK_DEFAULT_EMBEDDER' },
  { key: 'device', flag: 'device', env: 'MEMBANK_DEVICE' },
  { key: 'modelsDir', flag: 'models-dir', env: 'MEMBANK_MODELS_DIR' },
  { key: 'allowRemoteModels', flag: 'allow-remote-models', env: 'MEMBANK_ALLOW_REMOTE_MODELS' },
  { key: 'openaiBaseUrl', flag: 'openai-base-url', env: 'MEMBANK_OPENAI_BASE_URL' },
  { key: 'openaiApiKey', flag: 'openai-api-key', env: 'MEMBANK_OPENAI_API_KEY' },
  { key: 'openaiBatchSize', flag: 'openai-batch-size', env: 'MEMBANK_OPENAI_BATCH_SIZE' },
  { key: 'openaiTimeoutMs', flag: 'openai-timeout-ms', env: 'MEMBANK_OPENAI_TIMEOUT_MS' },
  { key: 'openaiRetries', flag: 'openai-retries', env: 'MEMBANK_OPENAI_RETRIES' },
  { key: 'rateLimit', flag: 'rate-limit', env: 'MEMBANK_RATE_LIMIT' },
  { key: 'insecureNoAuth', flag: 'insecure-no-auth', env: 'MEMBANK_INSECURE_NO_AUTH', boolean: true },
  { key: 'chromaPort', flag: 'chroma-port', env: 'MEMBANK_CHROMA_PORT' },
  { key: 'chromaAllowReset', flag: 'chroma-allow-reset', env: 'MEMBANK_CHROMA_ALLOW_RESET', boolean: true },
  { key: 'webhooksAllowPrivate', flag: 'webhooks-allow-private', env: 'MEMBANK_WEBHOOKS_ALLOW_PRIVATE', boolean: true },
  { key: 'changeRetentionHours', flag: 'change-retention-hours', env: 'MEMBANK_CHANGE_RETENTION_HOURS' },
];

export const USAGE = `Usage: npm start -- [options]   (or: tsx src/main.ts [options])

Options (each also an environment variable):
${SETTINGS.map((s) => `  --${s.flag.padEnd(22)} ${s.env}`).join('\n')}
  --help`;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Reads the configuration; throws ConfigError with every problem listed. */
export function loadConfig(
  argv: string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
): Config & { help: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        ...Object.fromEntries(SETTINGS.map((s) => [s.flag, { type: s.boolean ? ('boolean' as const) : ('string' as const) }])),
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}\n\n${USAGE}`);
  }
  const raw: Record<string, unknown> = {};
  for (const { key, flag, env: name } of SETTINGS) {
    const flagValue = (parsed.values as Record<string, unknown>)[flag];
    const value = flagValue === true ? 'true' : (flagValue ?? env[name]);
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const setting = SETTINGS.find((s) => s.key === issue.path[0]);
      return `  ${setting ? `--${setting.flag} / ${setting.env}` : issue.path.join('.')}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
  }
  return {
    ...result.data,
    dataDir: resolve(result.data.dataDir),
    modelsDir: resolve(result.data.modelsDir),
    help: parsed.values.help === true,
  };
}

/** What the `membank` CLI reads from the environment; its flags override these. */
export interface CliEnvironment {
  url?: string;
  /** MEMBANK_DATABASE_URL: the PostgreSQL database of cluster mode, for the commands that work on the data. */
  databaseUrl?: string;
  apiKey?: string;
  dataDir?: string;
  /** XDG_DATA_HOME: where `membank mcp` keeps its per-user data directory (default ~/.local/share). */
  xdgDataHome?: string;
}

export function cliEnvironment(env: NodeJS.ProcessEnv = process.env): CliEnvironment {
  const pick = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  return { url: pick('MEMBANK_URL'), databaseUrl: pick('MEMBANK_DATABASE_URL'), apiKey: pick('MEMBANK_API_KEY'), dataDir: pick('MEMBANK_DATA_DIR'), xdgDataHome: pick('XDG_DATA_HOME') };
}
