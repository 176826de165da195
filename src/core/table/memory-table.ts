/**
 * A namespace's memories as search needs them, in memory: every vector in a flat block (exact search), with
 * per-slot event time, expiry, change sequence and document position beside it; the timeline and document
 * order that neighbours come from; and, built the first time a query needs them, metadata postings per field
 * (filters) and a BM25 index (keyword search). Texts and metadata themselves stay in the store: a table holds
 * only what ranking reads for every candidate. Pure and synchronous; the service keeps it a faithful cache.
 */
import type { FilterNode, Scalar } from '../filter.js';
import { words } from '../keywords.js';
import type { Scope } from '../scope.js';
import type { Label, Metadata, Neighbor } from '../types.js';
import { evaluateFilter, FieldPostings, fieldKey, filterFields, scalarAt } from './field-index.js';
import { FlatIndex, type FlatShape } from './flat-index.js';
import { type Bm25, KeywordIndex, type TermStats } from './keyword-index.js';
import { collect, intersect, type SlotSet, sparse } from './slot-set.js';
import { matchesText } from '../text-filter.js';

/** A memory as a table holds it. `text` and `metadata` are needed only once the keyword or field indexes exist. */
export interface TableRow {
  label: Label;
  vector: Float32Array;
  /** Event time (epoch ms). */
  eventAt: number;
  expiresAt: number | null;
  documentId: string | null;
  chunkIndex: number | null;
  /** The change sequence of the memory's last write. */
  seq: number;
  text?: string | null;
  metadata?: Metadata;
}

const NO_EXPIRY = Number.POSITIVE_INFINITY;

/**
 * What a table costs beyond its arrays' contents: its objects, maps and the allocator's share of its six
 * buffers. Measured with process.memoryUsage() over 5,000 tables of 10 memories (512-d): about 7 KB each. The
 * memory budget counts it, so that 100,000 small namespaces do not hold twice the budget.
 */
const TABLE_OVERHEAD_BYTES = 7 * 1024;

export class MemoryTable {
  readonly flat: FlatIndex;
  private eventAt: Float64Array;
  private expiresAt: Float64Array;
  private seqs: Float64Array;
  private chunks: Int32Array;
  private documentOf: (string | null)[] = [];
  /** Chunk index → slot, per document. */
  private readonly documents = new Map<string, Map<number, number>>();
  /** Slots of memories outside documents, by (event time, label). */
  private readonly timeline: number[] = [];
  private readonly fields = new Map<string, FieldPostings>();
  private keywords: KeywordIndex | null = null;
  /** Texts by slot, held once a text filter needs them. */
  private texts: (string | null)[] | null = null;
  private textChars = 0;
  private expiring = 0;
  /** Advances on every change, for caches derived from the table. */
  private version = 0;
  private tagCache: { key: string; version: number; words: Set<string> } | null = null;

  constructor(shape: FlatShape, capacity = 0) {
    this.flat = new FlatIndex(shape, capacity);
    const n = this.flat.capacity;
    this.eventAt = new Float64Array(n);
    this.expiresAt = new Float64Array(n).fill(NO_EXPIRY);
    this.seqs = new Float64Array(n);
    this.chunks = new Int32Array(n).fill(-1);
  }

  get size(): number {
    return this.flat.size;
  }

  /** True when some live memory has an expiry: searches then check it. */
  get hasExpiring(): boolean {
    return this.expiring > 0;
  }

  has(label: Label): boolean {
    return this.flat.slotOf(label) !== undefined;
  }

  seqOf(label: Label): number | undefined {
    const slot = this.flat.slotOf(label);
    return slot === undefined ? undefined : this.seqs[slot];
  }

  vectorOf(label: Label): Float32Array | undefined {
    const slot = this.flat.slotOf(label);
    return slot === undefined ? undefined : this.flat.vectorAt(slot);
  }

  /** Whether the memory is a chunk of a document (near duplicates are looked for outside documents). */
  inDocument(label: Label): boolean {
    const slot = this.flat.slotOf(label);
    return slot !== undefined && this.documentOf[slot] !== null && this.documentOf[slot] !== undefined;
  }

  /** Every live label with the seq of its last write. */
  forEachLabel(visit: (label: Label, seq: number) => void): void {
    this.flat.forEachLive((label, slot) => visit(label, this.seqs[slot]!));
  }

  /**
   * Adds or replaces a memory. A row without text (or metadata) drops the keyword (or field) indexes, which are
   * then rebuilt from the store when next needed: they must never be silently incomplete.
   */
  upsert(row: TableRow): void {
    const existing = this.flat.slotOf(row.label);
    if (existing !== undefined) this.detach(existing);
    const slot = this.flat.upsert(row.label, row.vector);
    this.fit();
    this.eventAt[slot] = row.eventAt;
    this.expiresAt[slot] = row.expiresAt ?? NO_EXPIRY;
    if (row.expiresAt !== null) this.expiring++;
    this.seqs[slot] = row.seq;
    this.chunks[slot] = row.chunkIndex ?? -1;
    this.documentOf[slot] = row.documentId;
    if (row.documentId === null) {
      this.timeline.splice(this.timelinePosition(row.eventAt, row.label), 0, slot);
    } else if (row.chunkIndex !== null) {
      let chunks = this.documents.get(row.documentId);
      if (!chunks) {
        chunks = new Map();
        this.documents.set(row.documentId, chunks);
      }
      chunks.set(row.chunkIndex, slot);
    }
    if (this.keywords) {
      if (row.text === undefined) this.keywords = null;
      else this.keywords.set(slot, row.text, row.documentId === null);
    }
    if (this.texts) {
      if (row.text === undefined) this.texts = null;
      else {
        this.texts[slot] = row.text;
        this.textChars += row.text?.length ?? 0;
      }
    }
    if (this.fields.size > 0) {
      if (row.metadata === undefined) this.fields.clear();
      else for (const field of this.fields.values()) field.set(slot, scalarAt(row.metadata, field.path));
    }
    this.version++;
  }

  remove(label: Label): boolean {
    const slot = this.flat.slotOf(label);
    if (slot === undefined) return false;
    this.detach(slot);
    this.flat.removeSlot(label);
    this.version++;
    return true;
  }

  // ---- lazily built indexes ------------------------------------------------------------------------------

  /** Fields a filter names that are not indexed yet. */
  missingFields(filter: FilterNode): (readonly string[])[] {
    return [...filterFields(filter)].filter(([key]) => !this.fields.has(key)).map(([, path]) => path);
  }

  hasField(path: readonly string[]): boolean {
    return this.fields.has(fieldKey(path));
  }

  /** Indexes a field from values read from the store; labels the table does not hold are skipped. */
  addField(path: readonly string[], values: Iterable<[Label, Scalar | undefined]>): void {
    const field = new FieldPostings(path);
    for (const [label, value] of values) {
      const slot = this.flat.slotOf(label);
      if (slot !== undefined) field.set(slot, value);
    }
    this.fields.set(fieldKey(path), field);
  }

  get hasKeywords(): boolean {
    return this.keywords !== null;
  }

  /** Builds the keyword index from texts read from the store; labels the table does not hold are skipped. */
  buildKeywords(texts: Iterable<[Label, string | null]>): void {
    const index = new KeywordIndex();
    const seen = new Set<number>();
    for (const [label, text] of texts) {
      const slot = this.flat.slotOf(label);
      if (slot === undefined) continue;
      // A document's chunk may start "Introduction: …": only memories outside documents have speakers.
      index.set(slot, text, this.documentOf[slot] == null);
      seen.add(slot);
    }
    // Memories the store did not list (written since the read) still count as documents.
    this.flat.forEachLive((_label, slot) => seen.has(slot) || index.set(slot, null));
    this.keywords = index;
  }

  get hasTexts(): boolean {
    return this.texts !== null;
  }

  /** Holds the texts (for text filters), read from the store; labels the table does not hold are skipped. */
  buildTexts(texts: Iterable<[Label, string | null]>): void {
    const held: (string | null)[] = [];
    this.textChars = 0;
    for (const [label, text] of texts) {
      const slot = this.flat.slotOf(label);
      if (slot === undefined) continue;
      held[slot] = text;
      this.textChars += text?.length ?? 0;
    }
    this.texts = held;
  }

  // ---- queries ---------------------------------------------------------------------------------------------

  /** Whether a slot's memory is visible (not expired) at `now`. */
  visible(slot: number, now: number | undefined): boolean {
    return now === undefined || this.expiresAt[slot]! > now;
  }

  /**
   * The slots a scope allows (filter and event-time window; expiry is checked separately through `visible`), or
   * undefined when it allows every slot. The filter's fields must be indexed (see `missingFields`).
   */
  scope(scope: Scope): SlotSet | undefined {
    const sets: SlotSet[] = [];
    const capacity = this.flat.capacity;
    if (scope.labels) {
      const slots = new Set<number>();
      for (const label of scope.labels) {
        const slot = this.flat.slotOf(label as Label);
        if (slot !== undefined) slots.add(slot);
      }
      sets.push(sparse(slots));
    }
    if (scope.filter) sets.push(evaluateFilter(scope.filter, this.fields, this.universe(), capacity));
    if (scope.text) {
      const filter = scope.text;
      const texts = this.texts!;
      // Given ids narrow first: test only their texts.
      const candidates = sets.length > 0 ? intersect(sets.splice(0), capacity) : this.universe();
      sets.push(collect(capacity, candidates.size, (add) => candidates.forEach((slot) => matchesText(filter, texts[slot] ?? null) && add(slot))));
    }
    if (scope.after !== undefined || scope.before !== undefined) {
      const after = scope.after ?? Number.NEGATIVE_INFINITY;
      const before = scope.before ?? Number.POSITIVE_INFINITY;
      sets.push(
        collect(capacity, capacity, (add) =>
          this.flat.forEachLive((_label, slot) => {
            const t = this.eventAt[slot]!;
            if (t >= after && t < before) add(slot);
          }),
        ),
      );
    }
    return sets.length === 0 ? undefined : intersect(sets, capacity);
  }

  /** Exact k nearest among `within` (all when absent) that are visible at `now`. */
  nearest(query: Float32Array, k: number, within: SlotSet | undefined, now: number | undefined): Neighbor[] {
    const check = this.expiring > 0 && now !== undefined;
    return this.flat.searchSlots(query, k, within, check ? (slot) => this.expiresAt[slot]! > now : undefined);
  }

  /** A predicate on labels for a graph search: in `within`, visible at `now`; undefined when all pass. */
  acceptor(within: SlotSet | undefined, now: number | undefined): ((label: Label) => boolean) | undefined {
    const check = this.expiring > 0 && now !== undefined;
    if (!within && !check) return undefined;
    return (label) => {
      const slot = this.flat.slotOf(label);
      if (slot === undefined) return false;
      if (within && !within.has(slot)) return false;
      return !check || this.expiresAt[slot]! > now;
    };
  }

  keywordStats(terms: string[]): TermStats {
    return this.keywords!.stats(terms);
  }

  /** BM25 over the memories in scope and visible at `now`, best first (ties by label). Needs the keyword index. */
  keywordSearch(
    terms: string[],
    limit: number,
    stats: TermStats,
    within: SlotSet | undefined,
    now: number | undefined,
    bm25?: Bm25,
  ): { label: Label; score: number }[] {
    const check = this.expiring > 0 && now !== undefined;
    return this.keywords!
      .search(terms, limit, stats, within, check ? (slot) => this.expiresAt[slot]! > now : undefined, (slot) => this.flat.labelAt(slot), bm25)
      .map(({ slot, score }) => ({ label: this.flat.labelAt(slot), score }));
  }

  /** A memory's event time (epoch ms), or undefined. */
  eventTimeOf(label: Label): number | undefined {
    const slot = this.flat.slotOf(label);
    return slot === undefined ? undefined : this.eventAt[slot];
  }

  /** The latest event time of any memory (epoch ms), or undefined when there is none. */
  latestEventAt(): number | undefined {
    const slot = this.timeline[this.timeline.length - 1];
    return slot === undefined ? undefined : this.eventAt[slot];
  }

  /** The speaker a memory's text names at its start ("Caroline: …"; needs the keyword index). */
  textSpeaker(label: Label): string | undefined {
    const slot = this.flat.slotOf(label);
    return slot === undefined ? undefined : this.keywords?.speakerOf(slot);
  }

  /** The words of the speakers the texts name at their start (needs the keyword index). */
  textSpeakerWords(): Set<string> {
    const out = new Set<string>();
    for (const speaker of this.keywords?.speakers() ?? []) for (const w of words(speaker)) out.add(w);
    return out;
  }

  /** A memory's indexed terms with their counts, and its length (needs the keyword index). */
  keywordTerms(label: Label): { terms: [string, number][]; length: number } {
    const slot = this.flat.slotOf(label);
    return slot === undefined ? { terms: [], length: 0 } : this.keywords!.termsOf(slot);
  }

  /**
   * The memories next to one: the `before`/`after` nearest chunks of its document (within that many chunk
   * positions), or, outside documents, the nearest memories outside documents in event-time order.
   */
  adjacent(label: Label, before: number, after: number): { before: Label[]; after: Label[] } {
    const slot = this.flat.slotOf(label);
    if (slot === undefined) return { before: [], after: [] };
    const documentId = this.documentOf[slot];
    if (documentId != null) {
      const chunks = this.documents.get(documentId);
      if (!chunks || this.chunks[slot]! < 0) return { before: [], after: [] };
      const at = this.chunks[slot]!;
      const pick = (from: number, to: number): Label[] => {
        const out: Label[] = [];
        for (let i = from; i <= to; i++) {
          const other = chunks.get(i);
          if (other !== undefined && i !== at) out.push(this.flat.labelAt(other));
        }
        return out;
      };
      return { before: pick(at - before, at - 1), after: pick(at + 1, at + after) };
    }
    const position = this.timelinePosition(this.eventAt[slot]!, label);
    const labels = (from: number, to: number) => this.timeline.slice(Math.max(0, from), Math.max(0, to)).map((s) => this.flat.labelAt(s));
    return { before: labels(position - before, position), after: labels(position + 1, position + 1 + after) };
  }

  /** The words of the string values of these fields (lower-cased), over all memories: who a query may name. */
  tagWords(paths: (readonly string[])[]): Set<string> {
    const key = paths.map(fieldKey).join('\u0001');
    if (this.tagCache && this.tagCache.key === key && this.tagCache.version === this.version) return this.tagCache.words;
    const out = new Set<string>();
    for (const path of paths) {
      const field = this.fields.get(fieldKey(path));
      if (!field) continue;
      for (const value of field.stringValues()) for (const w of words(value)) out.add(w);
    }
    this.tagCache = { key, version: this.version, words: out };
    return out;
  }

  /** The distinct values of an indexed field and how many memories hold each. */
  valueCounts(path: readonly string[]): [Scalar, number][] {
    const field = this.fields.get(fieldKey(path));
    return field ? [...field.counts()] : [];
  }

  /** Labels of the slots of a set (or of every live slot), visible at `now`, in label order. */
  labelsOf(within: SlotSet | undefined, now: number | undefined): Label[] {
    const out: Label[] = [];
    const visit = (slot: number): void => {
      if (this.visible(slot, now)) out.push(this.flat.labelAt(slot));
    };
    if (within) within.forEach(visit);
    else this.flat.forEachLive((_label, slot) => visit(slot));
    return out.sort((a, b) => a - b);
  }

  /** The string value of an indexed field for a memory (for mentions), or undefined. */
  fieldValue(label: Label, path: readonly string[]): Scalar | undefined {
    const slot = this.flat.slotOf(label);
    return slot === undefined ? undefined : this.fields.get(fieldKey(path))?.valueAt(slot);
  }

  /** Bytes held, estimated from the arrays' sizes and typical V8 costs of maps and sets. */
  /** Gives back the room a load left past the last slot (see FlatIndex.trim). */
  trim(): void {
    this.flat.trim();
    this.fit();
  }

  bytes(): number {
    let total = TABLE_OVERHEAD_BYTES + this.flat.bytes() + this.flat.capacity * (8 + 8 + 8 + 4 + 8) + this.timeline.length * 8 + this.documents.size * 120;
    for (const field of this.fields.values()) total += field.bytes();
    if (this.keywords) total += this.keywords.bytes();
    if (this.texts) total += this.texts.length * 8 + this.textChars * 2;
    return total;
  }

  // ---- internals -------------------------------------------------------------------------------------------

  private universe(): SlotSet {
    const flat = this.flat;
    return { size: flat.size, has: (slot) => flat.isLive(slot), forEach: (visit) => flat.forEachLive((_l, slot) => visit(slot)) };
  }

  /** Takes a live slot out of the document map, the timeline and the derived indexes (its vector stays). */
  private detach(slot: number): void {
    const documentId = this.documentOf[slot];
    const label = this.flat.labelAt(slot);
    if (documentId != null) {
      const chunks = this.documents.get(documentId);
      chunks?.delete(this.chunks[slot]!);
      if (chunks?.size === 0) this.documents.delete(documentId);
    } else {
      const position = this.timelinePosition(this.eventAt[slot]!, label);
      if (this.timeline[position] === slot) this.timeline.splice(position, 1);
    }
    if (this.expiresAt[slot] !== NO_EXPIRY) this.expiring--;
    this.expiresAt[slot] = NO_EXPIRY;
    this.documentOf[slot] = null;
    this.chunks[slot] = -1;
    this.keywords?.clear(slot);
    if (this.texts) {
      this.textChars -= this.texts[slot]?.length ?? 0;
      this.texts[slot] = null;
    }
    for (const field of this.fields.values()) field.clear(slot);
  }

  /** Where (event time, label) is or would go in the timeline: binary search. */
  private timelinePosition(eventAt: number, label: number): number {
    let lo = 0;
    let hi = this.timeline.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const slot = this.timeline[mid]!;
      const t = this.eventAt[slot]!;
      if (t < eventAt || (t === eventAt && this.flat.labelAt(slot) < label)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Grows the per-slot columns to the flat block's capacity. */
  private fit(): void {
    const n = this.flat.capacity;
    if (this.eventAt.length === n) return;
    const grow = <T extends Float64Array | Int32Array>(old: T, make: (n: number) => T): T => {
      const next = make(n);
      next.set(old.subarray(0, n));
      return next;
    };
    this.eventAt = grow(this.eventAt, (m) => new Float64Array(m));
    this.expiresAt = grow(this.expiresAt, (m) => new Float64Array(m).fill(NO_EXPIRY));
    this.seqs = grow(this.seqs, (m) => new Float64Array(m));
    this.chunks = grow(this.chunks, (m) => new Int32Array(m).fill(-1));
  }
}
