/**
 * Distances, scores and exact k-nearest-neighbour search. Exact search is the reference that the HNSW index is
 * measured against, and the path that filtered queries take when only a few memories match.
 */
import { fail, ok, type Result } from './errors.js';
import type { LabeledVector, Neighbor, Space } from './types.js';

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

export function norm(v: Float32Array): number {
  return Math.sqrt(dot(v, v));
}

/** The space's own distance, as the API reports it: cosine 1 − cos, l2 Euclidean, ip 1 − dot. */
export function distance(space: Space, a: Float32Array, b: Float32Array): number {
  switch (space) {
    case 'cosine':
      return 1 - dot(a, b) / (norm(a) * norm(b));
    case 'ip':
      return 1 - dot(a, b);
    case 'l2': {
      let sum = 0;
      for (let i = 0; i < a.length; i++) {
        const d = a[i]! - b[i]!;
        sum += d * d;
      }
      return Math.sqrt(sum);
    }
  }
}

/**
 * Higher-is-better score for a distance: cosine → the cosine similarity (1 − d, in [−1, 1]); ip → the dot
 * product (1 − d); l2 → 1 / (1 + d), in (0, 1].
 */
export function scoreOf(space: Space, d: number): number {
  return space === 'l2' ? 1 / (1 + d) : 1 - d;
}

/** Vector lengths the float32 index can compare without overflow or underflow. */
export const VECTOR_LIMITS = { maxNorm: 1e18, minCosineNorm: 1e-15 } as const;

/** Checks that a vector can be stored in a space: right length, finite values, a length float32 can compare. */
export function checkVector(space: Space, dimensions: number, vector: ArrayLike<number>): Result<Float32Array> {
  if (vector.length !== dimensions) {
    return fail('DIMENSION_MISMATCH', `Expected a vector of ${dimensions} dimensions, got ${vector.length}.`, {
      expected: dimensions,
      received: vector.length,
    });
  }
  const out = Float32Array.from(vector);
  for (let i = 0; i < out.length; i++) {
    // A finite double can still overflow float32 (1e39 → Infinity), so check after the conversion.
    if (!Number.isFinite(out[i]!)) {
      return fail('INVALID_VECTOR', `Vector value at position ${i} is not a finite float32 (${vector[i]}).`);
    }
  }
  const length = norm(out);
  if (space === 'cosine' && length === 0) {
    return fail('INVALID_VECTOR', 'A zero vector has no direction, so it cannot be compared by cosine.');
  }
  // The index computes in float32: past VECTOR_LIMITS.maxNorm squared distances and dot products overflow to
  // Infinity, and below minCosineNorm normalizing underflows to zero; either way its answers would be wrong.
  if (length > VECTOR_LIMITS.maxNorm) {
    return fail('INVALID_VECTOR', `The vector's length is ${length.toPrecision(3)}; at most ${VECTOR_LIMITS.maxNorm} keeps float32 distances finite.`);
  }
  if (space === 'cosine' && length < VECTOR_LIMITS.minCosineNorm) {
    return fail('INVALID_VECTOR', `The vector's length is ${length.toPrecision(3)}; cosine needs at least ${VECTOR_LIMITS.minCosineNorm} to normalize it in float32.`);
  }
  return ok(out);
}

/**
 * Exact top-k over a set of candidates, best first. Keeps a sorted buffer of k, so it costs O(n·k) in the
 * worst case and O(n) for typical data; n is small where this runs (a filtered set, or tests).
 */
export function exactSearch(
  space: Space,
  query: Float32Array,
  candidates: Iterable<LabeledVector>,
  k: number,
): Neighbor[] {
  const best: Neighbor[] = [];
  if (k <= 0) return best;
  const queryNorm = space === 'cosine' ? norm(query) : 1;
  for (const { label, vector } of candidates) {
    const d =
      space === 'cosine' ? 1 - dot(query, vector) / (queryNorm * norm(vector)) : distance(space, query, vector);
    if (best.length === k && d >= best[k - 1]!.distance) continue;
    let i = best.length === k ? k - 1 : best.length;
    if (best.length < k) best.push({ label, distance: d });
    while (i > 0 && best[i - 1]!.distance > d) {
      best[i] = best[i - 1]!;
      i--;
    }
    best[i] = { label, distance: d };
  }
  return best;
}
