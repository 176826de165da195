/**
 * A compact block of vectors answered by exact search: one Float32Array of `capacity × dimensions`, a slot per
 * vector, labels beside them. It is the whole vector index of a small namespace (no graph below the threshold,
 * so recall there is 1.0), the exact path of a filtered query in a large one, and where hybrid search reads the
 * vectors of its candidates. Slots are stable while a vector lives; freed slots are reused. Memory follows the
 * data: the block grows by half when full and starts small.
 */
import type { Label, Neighbor, Space } from '../types.js';
import type { SlotSet } from './slot-set.js';

const MIN_CAPACITY = 8;
const GROWTH = 1.5;

export interface FlatShape {
  space: Space;
  dimensions: number;
}

/** The k smallest distances seen, kept as a sorted buffer (k is small where this runs). */
class TopK {
  readonly labels: number[] = [];
  readonly distances: number[] = [];
  constructor(private readonly k: number) {}

  /** The distance a candidate must beat. */
  get bound(): number {
    return this.labels.length < this.k ? Infinity : this.distances[this.k - 1]!;
  }

  offer(label: number, distance: number): void {
    if (distance >= this.bound) return;
    let i = this.labels.length < this.k ? this.labels.length : this.k - 1;
    while (i > 0 && this.distances[i - 1]! > distance) {
      this.labels[i] = this.labels[i - 1]!;
      this.distances[i] = this.distances[i - 1]!;
      i--;
    }
    this.labels[i] = label;
    this.distances[i] = distance;
  }

  result(): Neighbor[] {
    return this.labels.map((label, i) => ({ label: label as Label, distance: this.distances[i]! }));
  }
}

export class FlatIndex {
  readonly space: Space;
  readonly dimensions: number;
  private vectors: Float32Array;
  private slotLabels: Float64Array;
  private readonly slots = new Map<number, number>();
  private readonly free: number[] = [];
  /** Slots handed out so far: 0..high−1 are live or free. */
  private high = 0;

  constructor(shape: FlatShape, capacity = 0) {
    this.space = shape.space;
    this.dimensions = shape.dimensions;
    const initial = Math.max(MIN_CAPACITY, capacity);
    this.vectors = new Float32Array(initial * shape.dimensions);
    this.slotLabels = new Float64Array(initial).fill(Number.NaN);
  }

  get capacity(): number {
    return this.slotLabels.length;
  }

  /** Live vectors. */
  get size(): number {
    return this.slots.size;
  }

  /** Slots 0..end−1 may be live: the range a scan covers. */
  get end(): number {
    return this.high;
  }

  slotOf(label: Label): number | undefined {
    return this.slots.get(label);
  }

  labelAt(slot: number): Label {
    return this.slotLabels[slot]! as Label;
  }

  isLive(slot: number): boolean {
    return slot < this.high && !Number.isNaN(this.slotLabels[slot]!);
  }

  /** The stored vector of a slot (normalized under cosine), as a view: copy it to keep it. */
  vectorAt(slot: number): Float32Array {
    const d = this.dimensions;
    return this.vectors.subarray(slot * d, slot * d + d);
  }

  /** Adds or replaces the label's vector; answers its slot. Cosine vectors are stored normalized. */
  upsert(label: Label, vector: Float32Array): number {
    let slot = this.slots.get(label);
    if (slot === undefined) {
      slot = this.free.pop() ?? this.take();
      this.slots.set(label, slot);
      this.slotLabels[slot] = label;
    }
    const d = this.dimensions;
    const at = slot * d;
    if (this.space === 'cosine') {
      let sum = 0;
      for (let i = 0; i < d; i++) sum += vector[i]! * vector[i]!;
      const scale = sum > 0 ? 1 / Math.sqrt(sum) : 0;
      for (let i = 0; i < d; i++) this.vectors[at + i] = vector[i]! * scale;
    } else {
      this.vectors.set(vector.subarray(0, d), at);
    }
    return slot;
  }

  /** Removes the label; answers the slot it had, or undefined when it was not here. */
  removeSlot(label: Label): number | undefined {
    const slot = this.slots.get(label);
    if (slot === undefined) return undefined;
    this.slots.delete(label);
    this.slotLabels[slot] = Number.NaN;
    this.free.push(slot);
    return slot;
  }

  remove(label: Label): boolean {
    return this.removeSlot(label) !== undefined;
  }

  /** Distance from the query (prepared by `prepare`) to the vector in a slot, in the space's own terms. */
  distanceAt(prepared: Float32Array, slot: number): number {
    const d = this.dimensions;
    const v = this.vectors;
    const at = slot * d;
    if (this.space === 'l2') {
      let sum = 0;
      for (let i = 0; i < d; i++) {
        const diff = prepared[i]! - v[at + i]!;
        sum += diff * diff;
      }
      return Math.sqrt(sum);
    }
    let dot = 0;
    for (let i = 0; i < d; i++) dot += prepared[i]! * v[at + i]!;
    return 1 - dot;
  }

  /** The query as distances take it: normalized under cosine. */
  prepare(query: Float32Array): Float32Array {
    if (this.space !== 'cosine') return query;
    let sum = 0;
    for (let i = 0; i < query.length; i++) sum += query[i]! * query[i]!;
    const scale = sum > 0 ? 1 / Math.sqrt(sum) : 0;
    return query.map((x) => x * scale);
  }

  /**
   * The k nearest live vectors, best first, among `within` (every live slot when absent) and those `accept`
   * takes. Exact: every candidate is compared.
   */
  searchSlots(query: Float32Array, k: number, within?: SlotSet, accept?: (slot: number) => boolean): Neighbor[] {
    if (k <= 0) return [];
    const prepared = this.prepare(query);
    const top = new TopK(k);
    // The hot loop of exact search: distances inline, and a candidate offered only when it beats the k-th.
    const d = this.dimensions;
    const vectors = this.vectors;
    const labels = this.slotLabels;
    const l2 = this.space === 'l2';
    let bound = Infinity;
    const visit = (slot: number): void => {
      if (accept && !accept(slot)) return;
      const at = slot * d;
      let distance: number;
      if (l2) {
        let sum = 0;
        for (let i = 0; i < d; i++) {
          const diff = prepared[i]! - vectors[at + i]!;
          sum += diff * diff;
        }
        distance = Math.sqrt(sum);
      } else {
        let dot = 0;
        for (let i = 0; i < d; i++) dot += prepared[i]! * vectors[at + i]!;
        distance = 1 - dot;
      }
      if (distance < bound) {
        top.offer(labels[slot]!, distance);
        bound = top.bound;
      }
    };
    if (within) {
      within.forEach(visit);
    } else {
      const end = this.high;
      for (let slot = 0; slot < end; slot++) if (!Number.isNaN(labels[slot]!)) visit(slot);
    }
    return top.result();
  }

  /** The VectorIndex face: exact search, optionally restricted by label. */
  search(query: Float32Array, k: number, options: { accept?: (label: Label) => boolean } = {}): Neighbor[] {
    const accept = options.accept;
    return this.searchSlots(query, k, undefined, accept && ((slot) => accept(this.slotLabels[slot]! as Label)));
  }

  stats(): { elements: number; deleted: number; capacity: number } {
    return { elements: this.slots.size, deleted: 0, capacity: this.capacity };
  }

  /** Bytes held: the vectors and labels arrays, and the label map (about 40 bytes an entry in V8). */
  bytes(): number {
    return this.vectors.byteLength + this.slotLabels.byteLength + this.slots.size * 40 + this.free.length * 8;
  }

  /** Every live (label, slot), in slot order. */
  forEachLive(visit: (label: Label, slot: number) => void): void {
    for (let slot = 0; slot < this.high; slot++) {
      const label = this.slotLabels[slot]!;
      if (!Number.isNaN(label)) visit(label as Label, slot);
    }
  }

  private take(): number {
    if (this.high === this.slotLabels.length) this.grow(Math.ceil(this.slotLabels.length * GROWTH));
    return this.high++;
  }

  /**
   * Gives back the room past the highest slot in use: a namespace loaded from its store grows its block by
   * half at a time, and with 100,000 small namespaces that slack would be a third of their memory.
   */
  trim(): void {
    if (this.high < this.slotLabels.length) this.grow(Math.max(1, this.high));
  }

  private grow(capacity: number): void {
    const vectors = new Float32Array(capacity * this.dimensions);
    vectors.set(this.vectors.subarray(0, capacity * this.dimensions));
    this.vectors = vectors;
    const labels = new Float64Array(capacity).fill(Number.NaN);
    labels.set(this.slotLabels.subarray(0, capacity));
    this.slotLabels = labels;
  }
}
