import { describe, expect, it } from 'vitest';
import { chunkText } from './chunking.js';

describe('chunkText', () => {
  it('keeps a short text whole', () => {
    expect(chunkText('One sentence. Two sentences.', { maxChars: 100, overlap: 0 })).toEqual(['One sentence. Two sentences.']);
  });

  it('never exceeds maxChars and never cuts a sentence that fits', () => {
    const sentences = Array.from({ length: 40 }, (_, i) => `Sentence number ${i} talks about topic ${i % 7}.`);
    const text = sentences.join(' ');
    const chunks = chunkText(text, { maxChars: 200, overlap: 0 });
    expect(chunks.length).toBeGreaterThan(5);
    for (const chunk of chunks) {
      expect(chunk.length).toBeLessThanOrEqual(200);
      expect(chunk.endsWith('.')).toBe(true);
    }
    expect(chunks.join(' ')).toBe(text);
  });

  it('joins paragraphs with a blank line and prefers their boundaries', () => {
    const chunks = chunkText('Alpha one. Alpha two.\n\nBeta one.\n\n\nGamma one.', { maxChars: 25, overlap: 0 });
    expect(chunks).toEqual(['Alpha one. Alpha two.', 'Beta one.\n\nGamma one.']);
  });

  it('repeats whole trailing sentences as overlap', () => {
    const chunks = chunkText('Aaaa aaaa. Bbbb bbbb. Cccc cccc. Dddd dddd.', { maxChars: 25, overlap: 12 });
    expect(chunks).toEqual(['Aaaa aaaa. Bbbb bbbb.', 'Bbbb bbbb. Cccc cccc.', 'Cccc cccc. Dddd dddd.']);
  });

  it('cuts an over-long sentence at spaces', () => {
    const long = Array.from({ length: 100 }, () => 'word').join(' ');
    const chunks = chunkText(long, { maxChars: 120, overlap: 0 });
    expect(chunks.every((c) => c.length <= 120 && !c.startsWith(' '))).toBe(true);
    expect(chunks.join(' ')).toBe(long);
  });

  it('returns nothing for blank text', () => {
    expect(chunkText(' \n\n \t', { maxChars: 100, overlap: 0 })).toEqual([]);
  });
});
