/**
 * Synthetic vectors with a low intrinsic dimension, as real embeddings have (no real vector set of benchmark
 * size ships on npm): a 16-d latent mixture of 1,000 clusters, projected by a fixed random matrix to `dims`,
 * plus a little isotropic noise. The projection and the clusters depend on `dims` only, so that vectors of
 * two seeds (data and queries) come from the same distribution. The same recipe as scripts/bench.ts.
 */
import { rng } from '../../test/fixtures/random.js';

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
}

export function embeddingLike(count: number, dims: number, seed: number): Float32Array[] {
  const LATENT = 16;
  const shape = rng(dims);
  const projection = Array.from({ length: LATENT }, () => Float32Array.from({ length: dims }, () => gaussian(shape)));
  const centers = Array.from({ length: 1000 }, () => Array.from({ length: LATENT }, () => gaussian(shape)));
  const random = rng(seed);
  return Array.from({ length: count }, () => {
    const c = centers[Math.floor(random() * centers.length)]!;
    const latent = c.map((x) => x + 0.5 * gaussian(random));
    const v = Float32Array.from({ length: dims }, () => 0.3 * gaussian(random));
    for (let l = 0; l < LATENT; l++) for (let d = 0; d < dims; d++) v[d]! += latent[l]! * projection[l]![d]!;
    return v;
  });
}
