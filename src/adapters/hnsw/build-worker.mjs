// Builds an HNSW graph in a worker thread, so that a namespace outgrowing exact search gets its graph without
// stalling the event loop: inserts every vector it is sent, writes the index to a file, and says so. Plain
// JavaScript (no TypeScript loader needed), since it only drives hnswlib-node.
import { parentPort, workerData } from 'node:worker_threads';
import hnswlib from 'hnswlib-node';

const { space, dimensions, m, efConstruction, labels, vectors, file } = workerData;
try {
  const index = new hnswlib.HierarchicalNSW(space, dimensions);
  index.initIndex({ maxElements: Math.max(1, labels.length), m, efConstruction, randomSeed: 100, allowReplaceDeleted: true });
  const point = new Array(dimensions);
  for (let i = 0; i < labels.length; i++) {
    for (let j = 0; j < dimensions; j++) point[j] = vectors[i * dimensions + j];
    index.addPoint(point, labels[i], false);
  }
  index.writeIndexSync(file);
  parentPort.postMessage({ ok: true });
} catch (error) {
  parentPort.postMessage({ ok: false, message: error instanceof Error ? error.message : String(error) });
}
