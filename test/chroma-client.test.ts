/**
 * Chroma's JavaScript client drives membank: the newest (3.5) and the oldest 3.0.x that the Chroma 1.0 server
 * pairs with (3.0.9). More versions: CHROMA_CLIENT_MODULES=/path/to/chromadb/dist/chromadb.mjs,… runs the
 * same suite with each.
 */
import { pathToFileURL } from 'node:url';
import { chromaClientSuite } from './chroma-client.case.js';

type ChromaModule = typeof import('chromadb');

chromaClientSuite('3.5.0', () => import('chromadb'));
chromaClientSuite('3.0.9', () => import('chromadb-3.0.9') as unknown as Promise<ChromaModule>);
for (const file of (process.env.CHROMA_CLIENT_MODULES ?? '').split(',').filter(Boolean)) {
  chromaClientSuite(file, () => import(pathToFileURL(file).href) as Promise<ChromaModule>);
}
