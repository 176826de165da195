/** The port for turning texts into vectors. */

export type EmbedPriority = 'query' | 'ingest';

export interface Embedder {
  readonly name: string;
  readonly dimensions: number;
  /** Which weights make the vectors; a namespace refuses an embedder whose revision changed under it. */
  readonly revision: string;
  /** Where the model runs (cpu, cuda...), for health and stats. */
  readonly device: string;
  /** One vector per text, in order. Queries go ahead of ingest work. */
  embed(texts: string[], priority?: EmbedPriority): Promise<Float32Array[]>;
  close(): Promise<void>;
}

/** Known embedders by name; an embedder is created (and its model loaded) on first use. */
export interface EmbedderProvider {
  /** Dimensions and revision of an embedder (loading it only when nothing else can tell); undefined when unknown. */
  describe(name: string): Promise<{ dimensions: number; revision: string } | undefined>;
  /** Names to advertise (GET /v1/models): the built-in ones and any loaded. */
  names(): string[];
  get(name: string): Promise<Embedder>;
  loaded(): Embedder[];
  close(): Promise<void>;
}
