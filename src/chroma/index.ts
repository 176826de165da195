/**
 * The Chroma-compatible API (Chroma's HTTP API v2) as an edge of membank: `server.ts` serves it on its own
 * port when `--chroma-port` is set.
 *
 * @example
 * const app = createChromaApp({ service, keys, logger, maxBodyBytes: 16 << 20 });
 * app.listen(8000, '127.0.0.1');
 */
export { CHROMA_VERSION, type ChromaAppOptions, createChromaApp, MAX_BATCH_SIZE } from './app.js';
export { URI_KEY } from './records.js';
export { CHROMA_HNSW, EMBEDDER_KEY } from './collections.js';
