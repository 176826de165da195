// Entry of embedding worker threads in the published package (copied to dist/adapters/embedders/ by
// scripts/build.mjs). The adapters name their worker modules by their TypeScript source, which the development
// bootstrap loads through tsx; in dist/ the compiled module sits beside that name with a .js extension, and
// plain Node loads it.
import { workerData } from 'node:worker_threads';

await import(String(workerData.entry).replace(/\.ts$/, '.js'));
