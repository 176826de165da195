import { flatIndexFactory } from '../src/adapters/exact/flat-index-factory.js';
import { hnswIndexFactory } from '../src/adapters/hnsw/hnsw-index.js';
import { vectorIndexSuite } from './vector-index.case.js';

vectorIndexSuite('hnswlib-node', hnswIndexFactory);
vectorIndexSuite('flat (exact block)', flatIndexFactory);
