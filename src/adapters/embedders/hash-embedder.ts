/**
 * A deterministic embedder by feature hashing of words and word pairs. No model, no I/O: tests use it where
 * the model is not the point. Texts that share words land near each other; it has no notion of meaning.
 */
import type { Embedder } from '../../ports/embedder.js';

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export function hashEmbed(text: string, dimensions: number): Float32Array {
  const vector = new Float32Array(dimensions);
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const features = [...words, ...words.slice(1).map((w, i) => `${words[i]} ${w}`)];
  for (const feature of features.length > 0 ? features : [text]) {
    const h = fnv1a(feature);
    vector[h % dimensions]! += h & 0x80000000 ? -1 : 1;
  }
  let norm = 0;
  for (const x of vector) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm === 0) vector[0] = 1;
  else for (let i = 0; i < dimensions; i++) vector[i]! /= norm;
  return vector;
}

export function createHashEmbedder(dimensions = 64, name = `hash-${dimensions}`, revision = 'hash-v1'): Embedder {
  return {
    name,
    dimensions,
    revision,
    device: 'cpu',
    embed: async (texts) => texts.map((text) => hashEmbed(text, dimensions)),
    close: async () => {},
  };
}
