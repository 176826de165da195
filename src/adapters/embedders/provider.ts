/** Known embedders by name, created on first use and shared by every namespace that names them. */
import { MembankError } from '../../core/errors.js';
import type { Embedder, EmbedderProvider } from '../../ports/embedder.js';
import { USE_LITE_DIMENSIONS, createUseLiteEmbedder } from './worker-embedder.js';

export interface EmbedderFactory {
  dimensions: number;
  create: () => Promise<Embedder>;
}

export const DEFAULT_EMBEDDER = 'use-lite';

export const builtinEmbedders = (): Record<string, EmbedderFactory> => ({
  'use-lite': { dimensions: USE_LITE_DIMENSIONS, create: createUseLiteEmbedder },
});

export function createEmbedderProvider(factories: Record<string, EmbedderFactory> = builtinEmbedders()): EmbedderProvider {
  const pending = new Map<string, Promise<Embedder>>();
  const ready = new Map<string, Embedder>();

  return {
    dimensionsOf: (name) => factories[name]?.dimensions,
    names: () => Object.keys(factories),
    get(name) {
      const factory = factories[name];
      if (!factory) return Promise.reject(new MembankError('UNKNOWN_EMBEDDER', `Unknown embedder "${name}".`));
      let embedder = pending.get(name);
      if (!embedder) {
        embedder = factory.create().then(
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
    },
    loaded: () => [...ready.values()],
    async close() {
      await Promise.all([...ready.values()].map((e) => e.close()));
      ready.clear();
      pending.clear();
    },
  };
}
