import { bruteForceIndexFactory } from '../src/adapters/exact/brute-force-index.js';
import { hnswIndexFactory } from '../src/adapters/hnsw/hnsw-index.js';
import { vectorIndexSuite } from './vector-index.case.js';

vectorIndexSuite('hnswlib-node', hnswIndexFactory);
vectorIndexSuite('brute force', bruteForceIndexFactory);
