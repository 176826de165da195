/**
 * The README's pictures of the web console: a membank on a temporary directory (the deterministic hash
 * embedder, so no model is needed), the test fixture's memories and facts, and Debian's chromium taking
 * docs/console-search.png (a hybrid search with its score components) and docs/console-entity.png (an entity's
 * facts and neighbourhood).
 *
 *   npx tsx scripts/console-screenshots.ts [out-dir]
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createHashEmbedder } from '../src/adapters/embedders/hash-embedder.js';
import { createEmbedderProvider, embedderTable } from '../src/adapters/embedders/provider.js';
import { defaultConfig } from '../src/index.js';
import { createMembank } from '../src/server.js';
import { launchChromium, seed } from '../test/console-fixture.js';

const out = process.argv[2] ?? join(import.meta.dirname, '..', 'docs');
mkdirSync(out, { recursive: true });
const dataDir = mkdtempSync(join(tmpdir(), 'membank-shots-'));
const embedders = createEmbedderProvider(embedderTable({ 'hash-64': { dimensions: 64, revision: 'hash-v1', create: async () => createHashEmbedder(64) } }), ['hash-64']);
const membank = await createMembank(defaultConfig({ dataDir, port: 0, logLevel: 'silent', defaultEmbedder: 'hash-64', checkpointIntervalSeconds: 0 }), pino({ level: 'silent' }), { embedders });
const browser = await launchChromium();
try {
  const url = await membank.listen();
  await fetch(`${url}/v1/namespaces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'household' }) });
  await seed(url, 'household');
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });

  await page.goto(`${url}/ui/#/ns/household/search`);
  await page.getByLabel('Query').fill('robot vacuum in Porto');
  await page.getByLabel('Filter (Where, JSON)').fill('{"topic": {"$in": ["home", "moving"]}}');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.locator('#results .result').first().waitFor();
  await page.screenshot({ path: join(out, 'console-search.png'), fullPage: true });

  await page.goto(`${url}/ui/#/ns/household/facts/Ana`);
  await page.locator('svg.graph').waitFor();
  await page.screenshot({ path: join(out, 'console-entity.png'), fullPage: true });
  process.stderr.write(`wrote ${join(out, 'console-search.png')} and ${join(out, 'console-entity.png')}\n`);
} finally {
  await browser.close();
  await membank.close();
  rmSync(dataDir, { recursive: true, force: true });
}
