/** What the shared store suites run against: a whole Store, and the same database through another connection. */
import { DEFAULT_HNSW, DEFAULT_SETTINGS } from '../../src/core/types.js';
import type { NewNamespace } from '../../src/ports/namespace-store.js';
import type { Store } from '../../src/ports/store.js';

export interface StoreHarness {
  store: Store;
  /** The same database through another connection, as another node would see it. */
  other: Store;
  close(): Promise<void>;
}

let count = 0;
/** A namespace of a name no other test uses (suites share one database per implementation). */
export const newNamespace = (extra: Partial<NewNamespace> = {}): NewNamespace => ({
  name: `ns-${process.pid}-${count++}`,
  space: 'cosine',
  dimensions: 4,
  embedder: null,
  embedderRevision: null,
  hnsw: DEFAULT_HNSW,
  settings: DEFAULT_SETTINGS,
  ...extra,
});

/** Runs a test on a freshly opened harness, closing it afterwards. */
export const withHarness =
  (open: () => Promise<StoreHarness>, test: (h: StoreHarness) => Promise<void>) =>
  async (): Promise<void> => {
    const harness = await open();
    try {
      await test(harness);
    } finally {
      await harness.close();
    }
  };

export const vec = (...values: number[]): Float32Array => new Float32Array(values);
