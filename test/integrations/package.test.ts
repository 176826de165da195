/**
 * The integrations as a package: each is an edge of its own that reaches membank only through membank/client,
 * imports its framework as an optional peer dependency, and is importable by its documented subpath.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The adapters' sources, as the compiled subpaths are built from them (test/package.test.ts checks the tarball). */
const MODULES = {
  langchain: () => import('../../src/integrations/langchain/index.js'),
  langgraph: () => import('../../src/integrations/langgraph/index.js'),
  'ai-sdk': () => import('../../src/integrations/ai-sdk/index.js'),
  llamaindex: () => import('../../src/integrations/llamaindex/index.js'),
};

const ROOT = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

const INTEGRATIONS = {
  langchain: { peers: ['@langchain/core'], extra: [], exports: ['MembankEmbeddings', 'MembankRetriever', 'MembankVectorStore'] },
  langgraph: { peers: ['@langchain/langgraph', '@langchain/core'], extra: [], exports: ['MembankStore'] },
  // The tools' input schemas are built from the REST schemas' fields (zod is membank's own dependency).
  'ai-sdk': { peers: ['ai'], extra: ['../../api/schemas.js', 'zod'], exports: ['membankTools'] },
  llamaindex: { peers: ['@llamaindex/core'], extra: [], exports: ['MembankEmbedding', 'MembankVectorStore'] },
} as const;

const importsOf = (file: string): string[] =>
  [...readFileSync(file, 'utf8').matchAll(/^(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]!);

describe.each(Object.entries(INTEGRATIONS))('membank/%s', (name, spec) => {
  const dir = join(ROOT, 'src', 'integrations', name);

  it('imports only membank/client, its framework and its own folder', () => {
    const allowed = (specifier: string) =>
      specifier.startsWith('./') ||
      specifier === '../../client/index.js' ||
      (spec.extra as readonly string[]).includes(specifier) ||
      spec.peers.some((peer) => specifier === peer || specifier.startsWith(`${peer}/`));
    const offenders = readdirSync(dir).flatMap((file) =>
      importsOf(join(dir, file))
        .filter((s) => !allowed(s))
        .map((s) => `${file} imports ${s}`),
    );
    expect(offenders).toEqual([]);
  });

  it('is a subpath export with its frameworks as optional peer dependencies', async () => {
    // The compiled module (test/package.test.ts checks the tarball holds it).
    expect(pkg.exports[`./${name}`]).toEqual({ types: `./dist/integrations/${name}/index.d.ts`, default: `./dist/integrations/${name}/index.js` });
    for (const peer of spec.peers) {
      expect(pkg.peerDependencies[peer], peer).toEqual(expect.any(String));
      expect(pkg.peerDependenciesMeta[peer], peer).toEqual({ optional: true });
      expect(pkg.dependencies[peer], `${peer} must not be a dependency`).toBeUndefined();
    }
    const module = await MODULES[name as keyof typeof MODULES]();
    expect(Object.keys(module).sort()).toEqual([...spec.exports].sort());
  });
});

it('the client stays free of node: imports and of runtime imports outside its folder', () => {
  const dir = join(ROOT, 'src', 'client');
  const offenders = readdirSync(dir).flatMap((file) =>
    [...readFileSync(join(dir, file), 'utf8').matchAll(/^import\s+(?!type\b)[^'"]*from\s+['"]([^'"]+)['"]/gm)]
      .map((m) => m[1]!)
      .filter((s) => s.startsWith('node:') || !s.startsWith('./'))
      .map((s) => `${file} imports ${s}`),
  );
  expect(offenders).toEqual([]);
});
