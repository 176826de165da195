#!/usr/bin/env node
// The `membank` bin: loads the TypeScript CLI through tsx's scoped loader, as worker-bootstrap.mjs does for
// the embedding workers, so the command runs under plain `node` without a build step.
import { tsImport } from 'tsx/esm/api';

await tsImport('./index.ts', import.meta.url);
