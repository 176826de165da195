/**
 * The web console at /ui: static files (plain ES modules, one stylesheet, no framework, no CDN) served from
 * the membank process, so it works offline and needs no build of its own. The page holds no data: every
 * number it shows comes from the REST API, called by the browser with the user's key, so the API's access
 * rules are the console's. Serving the files therefore needs no key.
 *
 * One module is not a copy: /ui/retention.js is src/core/retention.ts (pure, import-free) compiled, so the
 * retention curves the console draws come from the function the server ranks and forgets by. The package
 * carries it compiled (scripts/build.mjs); from src/ (tsx) it is compiled on first request with esbuild.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';

const here = dirname(fileURLToPath(import.meta.url));
const ASSETS = join(here, 'assets');

/**
 * Everything from this origin, nothing inline, nothing elsewhere: the console is self-contained, and a
 * memory's text (which it displays) can never run as script.
 */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function secure(res: Response): void {
  res.set('Content-Security-Policy', CONSOLE_CSP);
  res.set('X-Content-Type-Options', 'nosniff');
  res.set('Referrer-Policy', 'no-referrer');
  // Revalidated on each load (ETag), so an upgraded server's console is the one shown.
  res.set('Cache-Control', 'no-cache');
}

async function compileRetention(): Promise<string> {
  const built = join(ASSETS, 'retention.js');
  if (existsSync(built)) return readFileSync(built, 'utf8');
  const source = readFileSync(join(here, '..', 'core', 'retention.ts'), 'utf8');
  // esbuild is a development dependency: only a checkout runs from src/, and a checkout has it.
  const { transform } = await import('esbuild');
  return (await transform(source, { loader: 'ts', format: 'esm', target: 'es2022' })).code;
}

/** The console's routes, to be mounted at /ui (server.ts) ahead of the API's authentication. */
export function createConsoleRouter({ logger }: { logger: Logger }): express.Router {
  const router = express.Router();
  const page = readFileSync(join(ASSETS, 'index.html'), 'utf8');
  let retention: Promise<string> | undefined;

  router.use((_req, res, next) => {
    secure(res);
    next();
  });
  router.get('/', (req, res) => {
    // Relative module URLs resolve against /ui/, not /.
    const [path, query] = req.originalUrl.split('?') as [string, string?];
    if (!path.endsWith('/')) return res.redirect(301, `${path}/${query === undefined ? '' : `?${query}`}`);
    res.type('html').send(page);
  });
  router.get('/retention.js', async (_req, res, next) => {
    try {
      retention ??= compileRetention();
      res.type('application/javascript').send(await retention);
    } catch (error) {
      retention = undefined;
      next(error);
    }
  });
  router.use(express.static(ASSETS, { index: false, fallthrough: true }));
  router.use((req, res) => {
    res.status(404).type('text').send(`No console file ${req.path}.`);
  });
  // Answered here, in plain text: Express's own handler would show a stack trace.
  router.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    logger.error({ err: error, path: req.originalUrl }, 'serving a console file failed');
    res.status(500).type('text').send(`The console could not serve this file: ${error instanceof Error ? error.message : String(error)}`);
  });
  return router;
}
