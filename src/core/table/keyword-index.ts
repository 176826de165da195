/**
 * BM25 over the memories' texts, in memory, per namespace: the keyword half of hybrid search, and the
 * `keyword` mode. The formula is SQLite FTS5's bm25() (k1 = 1.2, b = 0.75, idf = ln((N − n + 0.5)/(n + 0.5)),
 * floored at 1e-6), over stemmed tokens (see `indexTokens`), so that rankings are the same whichever store
 * holds the texts. Statistics are per namespace; a search over several namespaces sums them.
 */
import { indexTokens, speakerPrefix } from '../keywords.js';
import type { SlotSet } from './slot-set.js';

/** BM25's parameters: FTS5's by default; a query's terms may carry weights (feedback terms weigh less). */
export interface Bm25 {
  k1: number;
  b: number;
  /** Per term, in the order of the terms; 1 each when absent. */
  weights?: number[];
}

export const FTS5_BM25: Bm25 = { k1: 1.2, b: 0.75 };

/** Corpus statistics for a set of terms: what idf and length normalization need. */
export interface TermStats {
  /** Documents (memories), with or without text. */
  docs: number;
  /** Tokens over all documents. */
  tokens: number;
  /** Documents containing each term, in the order asked. */
  df: number[];
}

export function mergeStats(all: TermStats[]): TermStats {
  const first = all[0]!;
  return {
    docs: all.reduce((sum, s) => sum + s.docs, 0),
    tokens: all.reduce((sum, s) => sum + s.tokens, 0),
    df: first.df.map((_, i) => all.reduce((sum, s) => sum + s.df[i]!, 0)),
  };
}

export function idf(docs: number, df: number): number {
  const value = Math.log((docs - df + 0.5) / (df + 0.5));
  return value > 0 ? value : 1e-6;
}

export class KeywordIndex {
  private readonly postings = new Map<string, Map<number, number>>();
  private readonly docTerms: (string[] | undefined)[] = [];
  private readonly docLength: number[] = [];
  /** The speaker each slot's text names at its start ("Caroline: …"), and how many texts name each. */
  private readonly speakerAt: (string | undefined)[] = [];
  private readonly speakerCount = new Map<string, number>();
  private docs = 0;
  private tokens = 0;
  private entries = 0;

  /**
   * Indexes a slot's text (replacing what the slot held); null or empty text counts as a document of length 0.
   * `speaker`: whether a leading "Name: " of the text is recorded as its speaker.
   */
  set(slot: number, text: string | null, speaker = true): void {
    this.clear(slot);
    const tokens = text ? indexTokens(text) : [];
    const counts = new Map<string, number>();
    for (const token of tokens) counts.set(token, (counts.get(token) ?? 0) + 1);
    const terms: string[] = [];
    for (const [term, tf] of counts) {
      let posting = this.postings.get(term);
      if (!posting) {
        posting = new Map();
        this.postings.set(term, posting);
      }
      posting.set(slot, tf);
      terms.push(term);
    }
    this.entries += terms.length;
    this.docTerms[slot] = terms;
    this.docLength[slot] = tokens.length;
    this.docs++;
    this.tokens += tokens.length;
    const name = speaker && text ? speakerPrefix(text) : undefined;
    if (name !== undefined) {
      this.speakerAt[slot] = name;
      this.speakerCount.set(name, (this.speakerCount.get(name) ?? 0) + 1);
    }
  }

  clear(slot: number): void {
    const terms = this.docTerms[slot];
    if (terms === undefined) return;
    for (const term of terms) {
      const posting = this.postings.get(term)!;
      posting.delete(slot);
      if (posting.size === 0) this.postings.delete(term);
    }
    this.entries -= terms.length;
    this.docs--;
    this.tokens -= this.docLength[slot]!;
    this.docTerms[slot] = undefined;
    this.docLength[slot] = 0;
    const speaker = this.speakerAt[slot];
    if (speaker !== undefined) {
      const left = this.speakerCount.get(speaker)! - 1;
      if (left === 0) this.speakerCount.delete(speaker);
      else this.speakerCount.set(speaker, left);
      this.speakerAt[slot] = undefined;
    }
  }

  /** The speaker a slot's text names at its start, if any. */
  speakerOf(slot: number): string | undefined {
    return this.speakerAt[slot];
  }

  /** The distinct speakers the texts name at their start. */
  speakers(): Iterable<string> {
    return this.speakerCount.keys();
  }

  stats(terms: string[]): TermStats {
    return { docs: this.docs, tokens: this.tokens, df: terms.map((t) => this.postings.get(t)?.size ?? 0) };
  }

  /**
   * The `limit` best slots containing any of the terms, among `within` (all when absent) and those `accept`
   * takes, best first (ties by `order`, the slot's label), scored with `stats` (this namespace's own, or merged
   * over several).
   */
  search(
    terms: string[],
    limit: number,
    stats: TermStats = this.stats(terms),
    within?: SlotSet,
    accept?: (slot: number) => boolean,
    order: (slot: number) => number = (slot) => slot,
    bm25: Bm25 = FTS5_BM25,
  ): { slot: number; score: number }[] {
    if (limit <= 0 || terms.length === 0 || stats.docs === 0) return [];
    const averageLength = stats.tokens / stats.docs || 1;
    const { k1, b } = bm25;
    const scores = new Map<number, number>();
    terms.forEach((term, i) => {
      const posting = this.postings.get(term);
      if (!posting) return;
      const weight = idf(stats.docs, stats.df[i]!) * (bm25.weights?.[i] ?? 1);
      for (const [slot, tf] of posting) {
        if (within && !within.has(slot)) continue;
        if (accept && !accept(slot)) continue;
        const norm = k1 * (1 - b + (b * this.docLength[slot]!) / averageLength);
        scores.set(slot, (scores.get(slot) ?? 0) + (weight * tf * (k1 + 1)) / (tf + norm));
      }
    });
    const ranked = [...scores].map(([slot, score]) => ({ slot, score }));
    ranked.sort((a, b) => b.score - a.score || order(a.slot) - order(b.slot));
    return ranked.slice(0, limit);
  }

  /** A slot's indexed terms with their counts, and its length in tokens (for pseudo-relevance feedback). */
  termsOf(slot: number): { terms: [string, number][]; length: number } {
    const terms = this.docTerms[slot] ?? [];
    return { terms: terms.map((t) => [t, this.postings.get(t)!.get(slot)!]), length: this.docLength[slot] ?? 0 };
  }

  /** Bytes held, estimated: a posting entry (~40 bytes), the per-document term lists and the term map. */
  bytes(): number {
    return this.entries * 48 + this.docTerms.length * 16 + this.postings.size * 96;
  }
}
