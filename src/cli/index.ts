#!/usr/bin/env node
/**
 * Entry of the `membank` command: the package's bin once compiled (dist/cli/index.js, plain Node), and in a
 * checkout loaded from the sources by membank.mjs through tsx.
 */
import { run } from './main.js';

const code = await run(process.argv.slice(2));
// -1: the command serves (serve, mcp) and ends with its own exit.
if (code >= 0) process.exitCode = code;
