// Entry of embedding worker threads, which run TypeScript modules: tsx's scoped loader (tsImport) loads the
// worker module whether or not the parent process itself runs under tsx (npm start, vitest, plain node).
import { workerData } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

await tsImport(workerData.entry, import.meta.url);
