/**
 * The exact index (the core's flat block) as a VectorIndexFactory: the reference that HNSW recall is measured
 * against in the shared suite, and an index a test can swap in for the graph. Saved as a small binary file:
 * a JSON header line, then the labels as float64 and the vectors as float32.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { FlatIndex } from '../../core/table/index.js';
import { asLabel, type Label } from '../../core/types.js';
import type { IndexShape, PersistentVectorIndex, VectorIndexFactory } from '../../ports/vector-index.js';

class PersistentFlatIndex extends FlatIndex implements PersistentVectorIndex {
  labels(): Label[] {
    const out: Label[] = [];
    this.forEachLive((label) => out.push(label));
    return out;
  }

  async save(file: string): Promise<void> {
    const labels: number[] = [];
    const data = new Float32Array(this.size * this.dimensions);
    this.forEachLive((label, slot) => {
      data.set(this.vectorAt(slot), labels.length * this.dimensions);
      labels.push(label);
    });
    const header = Buffer.from(`${JSON.stringify({ count: labels.length, dimensions: this.dimensions })}\n`);
    await writeFile(file, Buffer.concat([header, Buffer.from(new Float64Array(labels).buffer), Buffer.from(data.buffer)]));
  }
}

export const flatIndexFactory: VectorIndexFactory = {
  kind: 'flat',
  create: (shape: IndexShape, capacity: number) => new PersistentFlatIndex(shape, capacity),
  async load(file, shape) {
    const bytes = await readFile(file);
    const newline = bytes.indexOf(10);
    const { count, dimensions } = JSON.parse(bytes.subarray(0, newline).toString()) as { count: number; dimensions: number };
    if (dimensions !== shape.dimensions) throw new Error(`saved flat index has ${dimensions} dimensions, not ${shape.dimensions}`);
    const copy = new Uint8Array(bytes.subarray(newline + 1)); // a fresh, aligned buffer for the typed views
    const labels = new Float64Array(copy.buffer, 0, count);
    const vectors = new Float32Array(copy.buffer, count * 8, count * dimensions);
    const index = new PersistentFlatIndex(shape, count);
    for (let i = 0; i < count; i++) index.upsert(asLabel(labels[i]!), vectors.subarray(i * dimensions, (i + 1) * dimensions));
    return index;
  },
  async build(shape, labels, vectors) {
    const index = new PersistentFlatIndex(shape, labels.length);
    const d = shape.dimensions;
    for (let i = 0; i < labels.length; i++) index.upsert(asLabel(labels[i]!), vectors.subarray(i * d, (i + 1) * d));
    return index;
  },
};
