// `npm run build`: compiles src/ into dist/, the package that `npm pack` ships and plain Node runs.
// - tsc (tsconfig.build.json): ESM JavaScript, declarations and source maps for every module;
// - the embedding workers' bootstrap for compiled code (tsx is a development tool, not a dependency), and the
//   HNSW graph builder's worker;
// - membank/client for `require`: one CommonJS file bundled by esbuild (the client imports only types), and
//   its declarations, which re-export the ESM ones;
// - the web console's static files (src/ui/assets), with the core's compiled retention module beside them;
// - the bin made executable.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const require = createRequire(import.meta.url);

rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });

copyFileSync(join(root, 'scripts', 'build', 'worker-bootstrap.mjs'), join(dist, 'adapters', 'embedders', 'worker-bootstrap.mjs'));
// The HNSW graph builder's worker is plain JavaScript already: it ships as it is.
copyFileSync(join(root, 'src', 'adapters', 'hnsw', 'build-worker.mjs'), join(dist, 'adapters', 'hnsw', 'build-worker.mjs'));

// The console is plain files (no bundler); its retention.js is the core's module as tsc compiled it (import-free),
// so the browser draws curves with the server's function. Its source map stays with dist/core.
cpSync(join(root, 'src', 'ui', 'assets'), join(dist, 'ui', 'assets'), { recursive: true });
const retention = readFileSync(join(dist, 'core', 'retention.js'), 'utf8').replace(/^\/\/# sourceMappingURL=.*$/m, '');
writeFileSync(join(dist, 'ui', 'assets', 'retention.js'), retention);

const { build } = await import('esbuild');
await build({
  entryPoints: [join(root, 'src', 'client', 'index.ts')],
  outfile: join(dist, 'client', 'index.cjs'),
  bundle: true,
  format: 'cjs',
  platform: 'neutral',
  target: 'es2022',
  sourcemap: true,
  logLevel: 'warning',
});
writeFileSync(join(dist, 'client', 'index.d.cts'), "// Types of membank/client for require(): the same as the ESM build's.\nexport * from './index.js';\n");

chmodSync(join(dist, 'cli', 'index.js'), 0o755);
// stderr: `npm pack --json` runs this first, and its stdout must stay JSON.
process.stderr.write('built dist/\n');
