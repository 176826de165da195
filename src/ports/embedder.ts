/** The port for turning texts into vectors. */

export type EmbedPriority = 'query' | 'ingest';

export interface Embedder {
  readonly name: string;
  readonly dimensions: number;
  /** Where the model runs (cpu, cuda...), for health and stats. */
  readonly device: string;
  /** One vector per text, in order. Queries go ahead of ingest work. */
  embed(texts: string[], priority?: EmbedPriority): Promise<Float32Array[]>;
  close(): Promise<void>;
}

/** Known embedders by name; an embedder is created (and its model loaded) on first use. */
export interface EmbedderProvider {
  /** Dimensions of an embedder (loading it only when nothing else can tell); undefined when the name is unknown. */
  dimensionsOf(name: string): Promise<number | undefined>;
  /** Names to advertise (GET /v1/models): the built-in ones and any loaded. */
  names(): string[];
  get(name: string): Promise<Embedder>;
  loaded(): Embedder[];
  close(): Promise<void>;
}
