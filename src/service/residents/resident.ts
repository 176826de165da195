/**
 * A loaded namespace: its search table (every vector, exact search, filters, BM25, neighbours) and, above the
 * size threshold, an HNSW graph over the same vectors. Both are caches of the store at change sequence `seq`.
 * The query planner lives here: which of exact search, the graph with a filter callback, or the graph with
 * post-filtering answers a vector query, by how many memories the scope allows.
 */
import type { Scope } from '../../core/scope.js';
import { MemoryTable, type TableRow } from '../../core/table/index.js';
import type { Label, NamespaceRecord, Neighbor } from '../../core/types.js';
import type { PersistentVectorIndex } from '../../ports/vector-index.js';

/** Graph inserts between two yields to the event loop. */
const GRAPH_SLICE = 32;

/**
 * Scopes this large a share of the namespace are answered by post-filtering a wider unfiltered graph search
 * (about 2k/share candidates). Below it the graph searches with a filter callback, which crosses into JS for
 * every node it visits: measured at 100,000 × 100-d, a 10% scope cost 4.3 ms that way against 1.2 ms unfiltered.
 */
const POST_FILTER_SHARE = 0.1;
/** Multiply-adds an exact search over a scope may cost before the graph is preferred (about 1 ms on this machine). */
const EXACT_BUDGET = 2 ** 20;

/** The `auto` graph threshold: the size at which exact search costs EXACT_BUDGET, at least 1,000 vectors. */
export const autoThreshold = (dimensions: number): number => Math.max(1000, Math.floor(EXACT_BUDGET / dimensions));

/**
 * The `auto` exact-search threshold of filtered queries on a graph, at least 2,000 matches: a quarter of the
 * budget, since gathering a scattered scope costs more than scanning a block (measured: an exact search over a
 * 10,000-memory scope of 100-d took 6.5 ms p50 through HTTP, against 1.1 ms for the unfiltered graph search).
 */
export const autoExactThreshold = (dimensions: number): number => Math.max(2000, Math.floor(EXACT_BUDGET / 4 / dimensions));

/**
 * The search effort for a graph of `size` vectors: the namespace's `efSearch` up to 100,000 vectors, then
 * doubled for each tenfold growth, since a fixed candidate list finds a shrinking share of the true neighbours
 * as a graph grows (measured: ef 64 keeps recall@10 above 0.98 at 100,000 vectors, not at 1,000,000).
 */
export function searchEffort(efSearch: number, size: number): number {
  if (size <= 100_000) return efSearch;
  return Math.ceil(efSearch * 2 ** Math.log10(size / 100_000));
}

export interface GraphBuild {
  promise: Promise<void>;
  /** Labels written or removed since the build's snapshot: applied to the graph when it arrives. */
  touched: Set<number>;
}

export class Resident {
  readonly table: MemoryTable;
  graph: PersistentVectorIndex | null = null;
  /** The change sequence the table (and graph) reflect. */
  seq: number;
  readonly generation: number;
  /** The graph's last checkpoint on this node. */
  checkpoint: { seq: number; at: number } | null = null;
  /** Graph changes since that checkpoint. */
  pending = 0;
  build: GraphBuild | null = null;
  /** When a graph build last failed (epoch ms), so that a failing build is not retried on every write. */
  buildFailedAt = 0;

  constructor(record: NamespaceRecord, capacity: number, seq: number) {
    this.table = new MemoryTable({ space: record.space, dimensions: record.dimensions }, capacity);
    this.seq = seq;
    this.generation = record.generation;
  }

  /**
   * Applies rows and removals like `apply`, letting other requests run between slices of graph inserts: HNSW
   * inserts are CPU work on the event loop (about 4,000 a second here), and a write of 1,000 must not stall
   * every query for a quarter of a second.
   */
  async applySliced(rows: readonly TableRow[], removed: readonly Label[]): Promise<void> {
    if (!this.graph || rows.length <= GRAPH_SLICE) return this.apply(rows, removed);
    this.apply([], removed);
    for (let i = 0; i < rows.length; i += GRAPH_SLICE) {
      if (i > 0) await new Promise((resolve) => setImmediate(resolve));
      this.apply(rows.slice(i, i + GRAPH_SLICE), []);
    }
  }

  /** Applies rows (upserts) and removals to the table and the graph. */
  apply(rows: readonly TableRow[], removed: readonly Label[]): void {
    for (const label of removed) {
      this.table.remove(label);
      if (this.graph?.remove(label)) this.pending++;
      this.build?.touched.add(label);
    }
    for (const row of rows) {
      this.table.upsert(row);
      if (this.graph) {
        this.graph.upsert(row.label, row.vector);
        this.pending++;
      }
      this.build?.touched.add(row.label);
    }
  }

  bytes(): number {
    return this.table.bytes() + (this.graph?.bytes() ?? 0);
  }

  /**
   * The k nearest memories in scope (filter and time window from the table's postings; expired ones never),
   * by the cheapest plan that is exact or, on the graph, keeps recall:
   *  - no graph, or a scope of at most `exactThreshold` memories (by default what costs ~1 ms to compare): exact;
   *  - a scope keeping a large share: a wider unfiltered graph search, post-filtered;
   *  - otherwise the graph with a filter callback, falling back to exact search if it comes back short.
   */
  nearest(query: Float32Array, k: number, scope: Scope, ef: number, exactThreshold: number): Neighbor[] {
    const { table } = this;
    const now = scope.visibleAt;
    const within = table.scope(scope);
    const graph = this.graph;
    if (!graph || (within && within.size === 0)) return table.nearest(query, k, within, now);
    const effort = searchEffort(ef, table.size);
    if (!within) {
      const accept = table.acceptor(undefined, now);
      const hits = graph.search(query, k, { ef: effort, accept });
      return hits.length >= Math.min(k, table.size) || !accept ? hits : table.nearest(query, k, undefined, now);
    }
    if (within.size <= exactThreshold) return table.nearest(query, k, within, now);
    const accept = table.acceptor(within, now)!;
    const share = within.size / table.size;
    if (share >= POST_FILTER_SHARE) {
      const wide = Math.min(table.size, Math.ceil((2 * k) / share) + 10);
      const hits = graph.search(query, wide, { ef: Math.max(effort, wide) }).filter((n) => accept(n.label));
      if (hits.length >= k) return hits.slice(0, k);
    }
    const hits = graph.search(query, k, { ef: effort, accept });
    if (hits.length >= Math.min(k, within.size)) return hits;
    // The graph ran out of candidates under the filter: exact search over the scope.
    return table.nearest(query, k, within, now);
  }
}
