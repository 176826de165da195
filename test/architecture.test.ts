/** The layering the folders promise: the core and ports import no I/O, the service no adapter, and every error maps. */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/core/errors.js';
import { HTTP_STATUS } from '../src/http/errors.js';

const SRC = join(import.meta.dirname, '..', 'src');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(dir, entry.name)) : entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [join(dir, entry.name)] : [],
  );
}

const importsOf = (file: string): string[] =>
  [...readFileSync(file, 'utf8').matchAll(/^(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]!);

/** The npm packages the core may use: pure functions, no I/O. */
const PURE_PACKAGES = new Set(['zod', 'stemmer', 're2js', 'chrono-node']);

describe('architecture', () => {
  it('core imports only the core and pure packages', () => {
    const core = join(SRC, 'core');
    const offenders = files(core).flatMap((file) =>
      importsOf(file)
        .filter((spec) => (spec.startsWith('.') ? !resolve(dirname(file), spec).startsWith(core) : !PURE_PACKAGES.has(spec)))
        .map((spec) => `${relative(SRC, file)} imports ${spec}`),
    );
    expect(offenders).toEqual([]);
  });

  it.each([
    ['ports', /^(?!\.\/|\.\.\/core\/)/],
    ['service', /\/(adapters|http)\/|^(express|better-sqlite3|hnswlib-node|@energetic-ai|postgres$)/],
  ])('%s imports nothing it should not', (folder, forbidden) => {
    const offenders = files(join(SRC, folder)).flatMap((file) =>
      importsOf(file)
        .filter((spec) => forbidden.test(spec))
        .map((spec) => `${relative(SRC, file)} imports ${spec}`),
    );
    expect(offenders).toEqual([]);
  });

  it('maps every error code to an HTTP status', () => {
    for (const code of ERROR_CODES) {
      expect(HTTP_STATUS[code], code).toBeGreaterThanOrEqual(400);
      expect(HTTP_STATUS[code], code).toBeLessThan(600);
    }
    expect(Object.keys(HTTP_STATUS).sort()).toEqual([...ERROR_CODES].sort());
  });

  it('reads process.env in config.ts alone', () => {
    const readers = files(SRC).filter((file) => readFileSync(file, 'utf8').includes('process.env'));
    expect(readers.map((file) => relative(SRC, file))).toEqual(['config.ts']);
  });
});
