/**
 * The text two memories must share to be duplicates: Unicode NFKC (so "ﬁ" is "fi" and full-width letters are
 * plain), case-folded (upper- then lower-casing folds "ß" to "ss" as full case folding does), and whitespace
 * of any kind collapsed to one space, trimmed.
 */
export function normalizeText(text: string): string {
  // Lower, upper, lower: close to Unicode's full case folding (ẞ and ß both become "ss"), and repeated until
  // nothing changes, so that normalizing twice gives what normalizing once gave (a stored key must match).
  let folded = text.normalize('NFKC');
  for (let pass = 0; pass < 4; pass++) {
    const next = folded.toLowerCase().toUpperCase().toLowerCase().normalize('NFKC');
    if (next === folded) break;
    folded = next;
  }
  return folded.replace(/\s+/gu, ' ').trim();
}

/** Cosine similarity of two vectors of the same length (0 when either is all zeros). */
export function cosineSimilarity(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
