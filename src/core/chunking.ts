/**
 * Splits a document into chunks that respect paragraph and sentence boundaries, so that each chunk reads as a
 * whole and embeds well. A sentence longer than a chunk is the only thing ever cut mid-sentence (at a space).
 */

export interface ChunkingOptions {
  /** Most characters in one chunk. @example 1000 */
  maxChars: number;
  /** Characters of whole trailing sentences repeated at the start of the next chunk, for context. @example 150 */
  overlap: number;
}

export const DEFAULT_CHUNKING: ChunkingOptions = { maxChars: 1000, overlap: 150 };

interface Unit {
  text: string;
  /** True for the first sentence of a paragraph: it joins the previous unit with a blank line. */
  paragraphStart: boolean;
}

const sentenceSegmenter = new Intl.Segmenter('en', { granularity: 'sentence' });

function splitLong(text: string, maxChars: number): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > maxChars) {
    let cut = rest.lastIndexOf(' ', maxChars);
    if (cut <= 0) cut = maxChars;
    pieces.push(rest.slice(0, cut).trim());
    rest = rest.slice(cut).trim();
  }
  if (rest.length > 0) pieces.push(rest);
  return pieces;
}

function units(text: string, maxChars: number): Unit[] {
  const out: Unit[] = [];
  const paragraphs = text.replace(/\r\n?/g, '\n').split(/\n[ \t]*\n+/);
  for (const paragraph of paragraphs) {
    const clean = paragraph.replace(/[ \t]*\n[ \t]*/g, ' ').replace(/[ \t]+/g, ' ').trim();
    if (!clean) continue;
    let first = true;
    for (const { segment } of sentenceSegmenter.segment(clean)) {
      const sentence = segment.trim();
      if (!sentence) continue;
      for (const piece of splitLong(sentence, maxChars)) {
        out.push({ text: piece, paragraphStart: first });
        first = false;
      }
    }
  }
  return out;
}

const joinUnits = (list: Unit[]): string =>
  list.map((u, i) => (i === 0 ? u.text : (u.paragraphStart ? '\n\n' : ' ') + u.text)).join('');

/** Chunks a text greedily: whole sentences while they fit, then a new chunk seeded with the overlap. */
export function chunkText(text: string, options: ChunkingOptions = DEFAULT_CHUNKING): string[] {
  const { maxChars, overlap } = options;
  const chunks: string[] = [];
  let current: Unit[] = [];
  let currentLength = 0;
  let fresh = 0; // units in `current` not carried over from the previous chunk

  const lengthWith = (unit: Unit): number =>
    current.length === 0 ? unit.text.length : currentLength + (unit.paragraphStart ? 2 : 1) + unit.text.length;

  for (const unit of units(text, maxChars)) {
    if (current.length > 0 && lengthWith(unit) > maxChars) {
      chunks.push(joinUnits(current));
      const carried: Unit[] = [];
      let carriedLength = 0;
      for (let i = current.length - 1; i >= 0; i--) {
        const candidate = current[i]!;
        if (carriedLength + candidate.text.length + 1 > overlap) break;
        carried.unshift(candidate);
        carriedLength += candidate.text.length + 1;
      }
      current = carried;
      currentLength = carried.length === 0 ? 0 : joinUnits(carried).length;
      // Drop the carry when it would leave no room for the new sentence.
      if (current.length > 0 && lengthWith(unit) > maxChars) {
        current = [];
        currentLength = 0;
      }
      fresh = 0;
    }
    currentLength = lengthWith(unit);
    current.push(unit);
    fresh++;
  }
  if (fresh > 0) chunks.push(joinUnits(current));
  return chunks;
}
