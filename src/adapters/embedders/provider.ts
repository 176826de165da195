/** Known embedders by name, created on first use and shared by every namespace that names them. */
import { MembankError } from '../../core/errors.js';
import type { Embedder, EmbedderProvider } from '../../ports/embedder.js';
import { createOpenAIEmbedder } from './openai-embedder.js';
import { createTransformersEmbedder, parseTransformersSpec, TRANSFORMERS_PREFIX } from './transformers/index.js';
import { createUseLiteEmbedder, createUseLiteTfjsEmbedder, type Device, USE_LITE_DIMENSIONS, USE_LITE_REVISION } from './use-lite/index.js';

export interface EmbedderFactory {
  /** Known without loading the model; undefined when only the loaded model can say (remote servers). */
  dimensions?: number;
  revision?: string;
  create: () => Promise<Embedder>;
}

/** Finds the factory for a name, or undefined when no embedder goes by it. */
export type EmbedderResolver = (name: string) => EmbedderFactory | undefined;

export interface OpenAISettings {
  baseUrl?: string;
  apiKey?: string;
  batchSize: number;
  timeoutMs: number;
  retries: number;
}

export const OPENAI_PREFIX = 'openai:';

export interface BuiltinSettings {
  openai?: OpenAISettings;
  /** Where local models run: `auto` tries the GPU and falls back to the CPU. */
  device?: Device;
  /** Told once when an embedder falls back (GPU to CPU, onnxruntime to TF.js). */
  onNotice?: (message: string) => void;
  /** Local models for `transformers:<model>`. */
  transformers?: { modelsDir: string; allowRemote: boolean };
}

/**
 * The built-in embedders: `use-lite` (the bundled model on onnxruntime), `use-lite-tfjs` (the same model on
 * its original TF.js graph), `transformers:<model>[?options]` (transformers.js, local models), and
 * `openai:<model>` against the configured OpenAI-compatible server.
 */
export function builtinEmbedders(settings: BuiltinSettings = {}): EmbedderResolver {
  const { openai } = settings;
  return (name) => {
    if (name === 'use-lite') {
      return {
        dimensions: USE_LITE_DIMENSIONS,
        revision: USE_LITE_REVISION,
        create: () => createUseLiteEmbedder({ device: settings.device ?? 'auto', onFallback: settings.onNotice }),
      };
    }
    if (name === 'use-lite-tfjs') return { dimensions: USE_LITE_DIMENSIONS, revision: USE_LITE_REVISION, create: createUseLiteTfjsEmbedder };
    if (name.startsWith(TRANSFORMERS_PREFIX)) {
      const spec = parseTransformersSpec(name);
      if (!spec.ok) return undefined;
      return {
        create: () =>
          createTransformersEmbedder(name, {
            modelsDir: settings.transformers?.modelsDir ?? 'models',
            allowRemote: settings.transformers?.allowRemote ?? false,
            defaultDevice: settings.device ?? 'auto',
            onNotice: settings.onNotice,
          }),
      };
    }
    if (name.startsWith(OPENAI_PREFIX) && name.length > OPENAI_PREFIX.length) {
      return {
        create: () => {
          if (!openai?.baseUrl) {
            throw new MembankError('UNKNOWN_EMBEDDER', `"${name}" needs an OpenAI-compatible server: set MEMBANK_OPENAI_BASE_URL.`);
          }
          return createOpenAIEmbedder({ ...openai, baseUrl: openai.baseUrl, model: name.slice(OPENAI_PREFIX.length), name });
        },
      };
    }
    return undefined;
  };
}

/** A resolver over a fixed table, for tests and custom builds. */
export const embedderTable =
  (table: Record<string, EmbedderFactory>): EmbedderResolver =>
  (name) =>
    Object.hasOwn(table, name) ? table[name] : undefined;

export function createEmbedderProvider(resolve: EmbedderResolver = builtinEmbedders(), listed: string[] = ['use-lite']): EmbedderProvider {
  const pending = new Map<string, Promise<Embedder>>();
  const ready = new Map<string, Embedder>();

  const get = (name: string): Promise<Embedder> => {
    const factory = resolve(name);
    if (!factory) return Promise.reject(new MembankError('UNKNOWN_EMBEDDER', `Unknown embedder "${name}".`));
    let embedder = pending.get(name);
    if (!embedder) {
      embedder = Promise.resolve()
        .then(factory.create)
        .then(
          (created) => {
            ready.set(name, created);
            return created;
          },
          (error: unknown) => {
            pending.delete(name); // let a later call try again
            throw error instanceof MembankError
              ? error
              : new MembankError('EMBEDDER_FAILED', `Embedder "${name}" failed to load: ${String(error)}`);
          },
        );
      pending.set(name, embedder);
    }
    return embedder;
  };

  return {
    async describe(name) {
      const factory = resolve(name);
      if (!factory) return undefined;
      if (factory.dimensions !== undefined && factory.revision !== undefined) {
        return { dimensions: factory.dimensions, revision: factory.revision };
      }
      const embedder = await get(name);
      return { dimensions: embedder.dimensions, revision: embedder.revision };
    },
    names: () => [...new Set([...listed, ...ready.keys()])],
    get,
    loaded: () => [...ready.values()],
    async close() {
      await Promise.all([...ready.values()].map((e) => e.close()));
      ready.clear();
      pending.clear();
    },
  };
}
