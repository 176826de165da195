#!/usr/bin/env node
// `membank` in a checkout, without a build: loads the TypeScript CLI through tsx's scoped loader, as the
// development worker-bootstrap.mjs does for the embedding workers. The published package's bin is the compiled
// dist/cli/index.js instead, which needs no tsx.
import { tsImport } from 'tsx/esm/api';

await tsImport('./index.ts', import.meta.url);
