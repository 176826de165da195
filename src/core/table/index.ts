/** The in-memory search table of one namespace (see memory-table.ts) and its parts. */
export { FlatIndex, type FlatShape } from './flat-index.js';
export { fieldKey, scalarAt } from './field-index.js';
export { type Bm25, idf, mergeStats, type TermStats } from './keyword-index.js';
export { MemoryTable, type TableRow } from './memory-table.js';
export type { SlotSet } from './slot-set.js';
