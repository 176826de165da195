/**
 * The web console in a real browser (Debian's chromium through playwright-core) against a real membank: a
 * namespace created in the UI, memories and facts written through the API, then the playground, a memory's
 * retention curve, an entity's graph, a forgetting dry run, deletes, errors, a phone-width window; and a
 * server with API keys, where the console asks for one and shows what that key may see.
 * Skips, saying so, where /usr/bin/chromium is missing (.ci/run installs it).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchChromium, MEMORIES, seed } from './console-fixture.js';
import { type Running, startMembank, tempDir } from './helpers.js';

const present = hasChromium();
if (!present) console.warn('console e2e tests skipped: no /usr/bin/chromium (apt-get install -y chromium; .ci/run installs it)');

/** Console errors and page errors, but not the failed loads of requests the server refused (shown in the page). */
function watch(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  return errors;
}

/** A whole walk through the console; the full suite runs beside it in CI, so allow for a slow machine. */
const E2E_TIMEOUT = 180_000;

/** Waits for the page: a loaded machine (CI, or two cores shared) may take seconds where a laptop takes milliseconds. */
const poll = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 15_000, interval: 100 });

async function fitsWidth(page: Page): Promise<void> {
  // Strings, not functions: they run in the page, whose globals (document, window) this program does not type.
  const { scroll, inner } = (await page.evaluate('({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth })')) as { scroll: number; inner: number };
  expect(scroll, `${page.url()} scrolls sideways`).toBeLessThanOrEqual(inner);
}

describe.skipIf(!present)('web console in chromium', () => {
  let browser: Browser;
  const shots = tempDir();
  const shot = (page: Page, name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(() => browser?.close());

  describe('without API keys', () => {
    let m: Running;
    let offset = 0;
    beforeAll(async () => {
      m = await startMembank(undefined, {}, { clock: () => Date.now() + offset });
    });
    afterAll(() => m.close());

    it('creates a namespace, searches with score components, plots retention, walks the graph and dry-runs forgetting', async () => {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const errors = watch(page);
      await page.goto(`${m.url}/ui`);
      await page.getByText('No namespaces yet').waitFor();

      // A namespace, made in the UI.
      const create = page.getByRole('form', { name: 'New namespace' });
      await create.locator('input[name=name]').fill('travel');
      await create.getByRole('button', { name: 'Create namespace' }).click();
      await page.locator('#namespaces').getByRole('link', { name: 'travel', exact: true }).waitFor();
      expect((await m.api.get('/v1/namespaces/travel')).body).toMatchObject({ name: 'travel', embedder: 'hash-64', count: 0 });

      // Memories and facts, written as an agent would.
      await seed(m.url, 'travel');
      await page.reload();
      const row = page.locator('#namespaces tbody tr', { hasText: 'travel' });
      await poll(() => row.locator('td').nth(3).innerText()).toBe(String(MEMORIES.length));
      expect(await row.locator('.index-state').innerText()).toMatch(/\d+ elements · 0 deleted/);
      expect(await row.innerText()).toContain('dedupe exact · 10 versions kept');
      await shot(page, 'namespaces');

      // The playground: keyboard only (Ctrl+Enter searches), top result with its score's parts.
      await row.getByRole('link', { name: 'travel', exact: true }).click();
      const query = page.locator('textarea[name=query]');
      await poll(() => page.evaluate("document.activeElement?.getAttribute('name')")).toBe('query');
      await page.keyboard.type('robot vacuum');
      await page.keyboard.press('Control+Enter');
      const first = page.locator('#results .result').first();
      await first.waitFor();
      expect(await first.getAttribute('data-id')).toBe('robot');
      expect(await first.locator('mark').allInnerTexts()).toEqual(['robot', 'vacuum']);
      const api = (await m.api.post('/v1/namespaces/travel/query', { query: 'robot vacuum', include: ['explain'], reinforce: false })).body.results[0];
      expect(await first.locator('.score').innerText()).toBe(`score ${api.score.toFixed(4)}`);
      const components = Object.keys(api.explain).filter((name) => name !== 'score');
      expect(components).toEqual(expect.arrayContaining(['vector', 'keyword']));
      expect(await first.locator('table.explain tbody tr td:first-child').allInnerTexts()).toEqual([...components, 'score']);
      // The summary line: what each component adds (value × weight), those that add something, summed.
      const adds = components.map((name) => [name, api.explain[name].value * api.explain[name].weight] as const).filter(([, x]) => x !== 0);
      const sum = adds.map(([name, x]) => `${Number.isInteger(x) ? x : x.toFixed(3)} ${name}`).join(' + ');
      expect(await first.locator('.explain-box summary').innerText()).toBe(`Why it ranked: ${sum} = ${api.score.toFixed(3)}`);
      await shot(page, 'search');

      // The filter editor shows the server's own verdict.
      const filter = page.locator('textarea[name=filter]');
      await filter.fill('{"topic": {"$bogus": 1}}');
      const refused = (await m.api.post('/v1/namespaces/travel/query', { query: 'x', filter: { topic: { $bogus: 1 } } })).body.error.message;
      await poll(() => page.locator('#filter-status .error .message').textContent()).toBe(refused);
      await filter.fill('{"topic": "home"}');
      await page.getByText('The server accepts this filter.').waitFor();
      await query.fill('robot vacuum');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await poll(() => page.locator('#results .result').evaluateAll((items) => items.map((i) => i.getAttribute('data-id')))).toEqual(['robot', 'garden']);

      // Copy as curl: the command runs, and answers what the page showed.
      await page.getByRole('button', { name: 'Copy as curl' }).click();
      const command = await page.locator('#curl').innerText();
      expect(command).toContain(`${m.url}/v1/namespaces/travel/query`);
      // Asynchronously: the server answering it runs in this process.
      const answer = JSON.parse((await promisify(execFile)('sh', ['-c', command], { timeout: 10_000 })).stdout);
      expect(answer.results.map((r: { id: string }) => r.id)).toEqual(['robot', 'garden']);

      // Hybrid options go as they are; what the server refuses, it says.
      await page.getByText('Hybrid options').click();
      const hybrid = page.locator('textarea[name=hybrid]');
      await hybrid.fill('{"vectorWeight": 2}');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      const tooHeavy = (await m.api.post('/v1/namespaces/travel/query', { query: 'robot vacuum', hybrid: { vectorWeight: 2 } })).body.error.message;
      await poll(() => page.locator('#search-form .error .message').textContent()).toBe(tooHeavy);
      await hybrid.fill('{"vectorWeight": 1}');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await poll(() => first.locator('table.explain tbody tr').first().innerText()).toMatch(/^vector\s+\S+\s+1\s/);
      await hybrid.fill('');

      // A vector as the query: the memory's own vector finds it first, at distance 0.
      const { vector } = (await m.api.get('/v1/namespaces/travel/memories/lisbon?include=vector')).body;
      await filter.fill('');
      await query.fill(JSON.stringify(vector));
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await poll(() => first.getAttribute('data-id')).toBe('lisbon');
      expect(Number((await first.locator('.distance').innerText()).split(' ')[1])).toBeLessThan(1e-3);

      // A memory: its retention now and its curve, with the recall marked.
      await m.api.post('/v1/namespaces/travel/query', { query: 'robot vacuum', k: 1 });
      await poll(async () => (await m.api.get('/v1/namespaces/travel/memories/robot')).body.recallCount).toBe(1);
      await page.getByRole('link', { name: 'Memories', exact: true }).click();
      await page.locator('#memories').getByRole('link', { name: 'robot', exact: true }).click();
      await page.locator('svg.retention').waitFor();
      const memory = (await m.api.get('/v1/namespaces/travel/memories/robot')).body;
      expect(await page.locator('#retention-now').innerText()).toBe(memory.retention.toFixed(4));
      const curves = await page.locator('svg.retention path.curve').evaluateAll((paths) => paths.map((p) => p.getAttribute('d') ?? ''));
      expect(curves).toHaveLength(2); // before the recall, and since
      for (const d of curves) expect(d.split('L').length).toBeGreaterThan(100);
      expect(await page.locator('svg.retention circle.recall').count()).toBe(1);
      // "Now" on the curve is the server's: the point sits at the retention the server computed.
      expect(await page.locator('svg.retention circle.now-point title').textContent()).toBe(`now: ${memory.retention.toFixed(3)}`);
      expect(await page.locator('svg.retention line.threshold').count()).toBe(1);
      await shot(page, 'memory');

      // Edit one memory, delete another (the confirmation names it).
      await page.goto(`${m.url}/ui/#/ns/travel/memories/pasta`);
      await page.locator('textarea[name=text]').fill('Bob cooks fresh pasta on Saturdays.');
      await page.getByRole('button', { name: 'Save' }).click();
      await poll(() => page.locator('#memory-text').innerText()).toBe('Bob cooks fresh pasta on Saturdays.');
      expect((await m.api.get('/v1/namespaces/travel/memories/pasta')).body.text).toBe('Bob cooks fresh pasta on Saturdays.');
      // Pinning, and back (pinned memories are never forgotten: the forgetting step below counts on it).
      await page.locator('input[name=pinned]').check();
      await page.getByRole('button', { name: 'Save' }).click();
      await poll(async () => (await m.api.get('/v1/namespaces/travel/memories/pasta')).body.pinned).toBe(true);
      await poll(() => page.locator('.kv').innerText()).toContain('yes: never forgotten');
      await page.locator('input[name=pinned]').uncheck();
      await page.getByRole('button', { name: 'Save' }).click();
      await poll(async () => (await m.api.get('/v1/namespaces/travel/memories/pasta')).body.pinned).toBe(false);
      await poll(() => page.locator('.kv').innerText()).not.toContain('yes: never forgotten');
      // Its history: the edit, with the text it replaced.
      await poll(() => page.locator('#history').innerText()).toContain('Bob cooks fresh pasta on Sundays');
      expect(await page.locator('#history').innerText()).toMatch(/updated/);
      await page.goto(`${m.url}/ui/#/ns/travel/memories/train`);
      await page.getByRole('button', { name: 'Delete…' }).click();
      const confirm = page.getByRole('dialog', { name: 'Delete memory' });
      expect(await confirm.innerText()).toContain('Delete memory "train" from namespace "travel"?');
      await confirm.getByRole('button', { name: 'Delete train' }).click();
      await page.locator('#memories').waitFor();
      expect((await m.api.get('/v1/namespaces/travel/memories/train')).status).toBe(404);

      // An entity: current facts, the superseded one, and a graph edge followed by keyboard.
      await page.goto(`${m.url}/ui/#/ns/travel/facts/Ana`);
      await page.locator('svg.graph').waitFor();
      expect(await page.locator('#current-facts').innerText()).toContain('Porto');
      expect(await page.locator('#fact-history').innerText()).toMatch(/Lisbon[\s\S]*superseded by/);
      const names = await page.locator('svg.graph a.node').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-name')));
      expect(names.sort()).toEqual(['Acme', 'Ana', 'Berlin', 'Bob', 'Porto']);
      await shot(page, 'entity');
      await page.locator('svg.graph a.node[data-name="Acme"]').focus();
      await page.keyboard.press('Enter');
      await page.waitForURL(/#\/ns\/travel\/facts\/Acme$/);
      await page.getByRole('heading', { name: 'Acme', level: 1 }).waitFor();
      await page.locator('svg.graph a.node[data-name="Berlin"]').waitFor();

      // Forgetting: settings changed in the UI, an hour passes, a dry run shows what would go.
      await page.getByRole('link', { name: 'Forgetting', exact: true }).click();
      await page.getByRole('button', { name: 'Change…' }).click();
      const settings = page.getByRole('dialog', { name: 'Forgetting of travel' });
      await settings.locator('input[name=enabled]').check();
      await settings.locator('input[name=timescale]').fill('3600');
      await settings.locator('input[name=threshold]').fill('0.5');
      await settings.getByRole('button', { name: 'Save' }).click();
      await page.getByText('on · τ 1 h · threshold 0.5').waitFor();
      offset = 3_600_000;
      await page.getByRole('button', { name: 'Dry run' }).click();
      await page.locator('svg.histogram').waitFor();
      const dry = (await m.api.post('/v1/namespaces/travel/forget', { dryRun: true, expired: true, retentionBelow: 0.5 })).body;
      // Strength 1 (no importance, never recalled): e^−1 after an hour, below 0.5.
      expect(dry.memories.map((x: { id: string }) => x.id).sort()).toEqual(['acme', 'garden', 'pasta']);
      expect(await page.locator('#dry-run-summary').innerText()).toContain('would remove 3 faded and 0 expired memories');
      const bars = await page.locator('svg.histogram rect').evaluateAll((rects) => rects.map((r) => [r.getAttribute('class'), Number(r.getAttribute('data-count'))] as const));
      expect(bars.reduce((sum, [, n]) => sum + n, 0)).toBe(5);
      expect(bars.filter(([c]) => c === 'doomed').reduce((sum, [, n]) => sum + n, 0)).toBe(3);
      expect(await page.locator('svg.histogram line.threshold').count()).toBe(1);
      expect(await page.locator('svg.histogram').textContent()).not.toMatch(/false|undefined/);
      expect((await m.api.get('/v1/namespaces/travel')).body.count).toBe(5); // a dry run removes nothing
      await shot(page, 'forgetting');
      // A real run (through the API) is listed among the recent runs.
      expect((await m.api.post('/v1/namespaces/travel/forget', { retentionBelow: 0.5 })).body).toMatchObject({ forgotten: 3 });
      await page.reload();
      await poll(() => page.locator('#runs tbody tr').first().innerText()).toMatch(/manual\s+0\s+3\s/);

      // Deleting a namespace asks first, naming it.
      await m.api.post('/v1/namespaces', { name: 'scratch' });
      await page.goto(`${m.url}/ui/#/`);
      await page.getByRole('button', { name: 'Delete scratch' }).click();
      const ask = page.getByRole('dialog', { name: 'Delete namespace' });
      expect(await ask.innerText()).toContain('Delete namespace "scratch"?');
      await ask.getByRole('button', { name: 'Delete scratch' }).click();
      await poll(() => page.locator('#namespaces').innerText()).not.toContain('scratch');
      expect((await m.api.get('/v1/namespaces/scratch')).status).toBe(404);

      // The server's errors, as it put them.
      await page.goto(`${m.url}/ui/#/ns/nowhere/search`);
      await page.locator('textarea[name=query]').fill('anything');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await poll(() => page.locator('.error').first().innerText()).toBe('404 NAMESPACE_NOT_FOUND Namespace "nowhere" does not exist.');

      await page.goto(`${m.url}/ui/#/no/such/page`);
      await page.getByRole('heading', { name: 'Not found' }).waitFor();

      // A phone-width window: nothing scrolls sideways.
      await page.setViewportSize({ width: 375, height: 800 });
      for (const hash of ['#/', '#/ns/travel/search', '#/ns/travel/memories/robot', '#/ns/travel/facts/Ana', '#/ns/travel/forgetting']) {
        await page.goto(`${m.url}/ui/${hash}`);
        await page.locator('main h1').waitFor();
        await page.waitForLoadState('networkidle');
        await fitsWidth(page);
        // A stray false or an object that became text would be a bug in how a page is built.
        expect(await page.locator('main').textContent(), hash).not.toMatch(/\bfalse\b|\bundefined\b|\[object /);
      }
      await shot(page, 'narrow-forgetting');
      expect(errors).toEqual([]);
      await page.close();
    }, E2E_TIMEOUT);
  });

  describe('with API keys', () => {
    let m: Running;
    let admin: string;
    let reader: string;
    beforeAll(async () => {
      m = await startMembank();
      // The first key may be made without one.
      admin = (await m.api.post('/v1/keys', { role: 'admin' })).body.key;
      const as = (key: string) => async (method: string, path: string, body?: unknown) => {
        const response = await fetch(m.url + path, { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: body === undefined ? undefined : JSON.stringify(body) });
        return { status: response.status, body: (await response.json()) as any };
      };
      const call = as(admin);
      reader = (await call('POST', '/v1/keys', { role: 'read', namespaces: ['team-*'] })).body.key;
      await call('POST', '/v1/namespaces', { name: 'team-a' });
      await call('POST', '/v1/namespaces', { name: 'private' });
      await seed(m.url, 'team-a', admin);
    });
    afterAll(() => m.close());

    it('asks for a key, keeps it for the tab, and shows what the key may see and the refusals', async () => {
      const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
      const errors = watch(page);
      const missing = (await m.api.get('/v1/namespaces')).body.error.message;
      await page.goto(`${m.url}/ui/`);
      const dialog = page.getByRole('dialog', { name: 'API key' });
      await dialog.waitFor();
      expect(await dialog.innerText()).toContain(missing);
      await dialog.locator('input[name=key]').fill('mbk_not-a-key');
      await dialog.getByRole('button', { name: 'Use key' }).click();
      await poll(() => dialog.innerText()).toContain('The API key is not valid');
      await dialog.locator('input[name=key]').fill(reader);
      await dialog.getByRole('button', { name: 'Use key' }).click();
      await page.locator('#namespaces').getByRole('link', { name: 'team-a' }).waitFor();
      expect(await page.locator('#namespaces').innerText()).not.toContain('private');
      expect(await page.evaluate("sessionStorage.getItem('membank.key')")).toBe(reader);
      await shot(page, 'keys-namespaces');

      // A read key searches...
      await page.goto(`${m.url}/ui/#/ns/team-a/search`);
      await page.locator('textarea[name=query]').fill('robot vacuum');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await poll(() => page.locator('#results .result').first().getAttribute('data-id')).toBe('robot');
      // The curl command names the key's variable, never the key, and runs with it.
      await page.getByRole('button', { name: 'Copy as curl' }).click();
      const command = await page.locator('#curl').innerText();
      expect(command).toContain('Authorization: Bearer $MEMBANK_API_KEY');
      expect(command).not.toContain(reader);
      const run = promisify(execFile)('sh', ['-c', command], { timeout: 10_000, env: { ...process.env, MEMBANK_API_KEY: reader } });
      expect(JSON.parse((await run).stdout).results[0].id).toBe('robot');
      // ...but may not delete: the server's 403, in the dialog.
      await page.goto(`${m.url}/ui/#/`);
      await page.getByRole('button', { name: 'Delete team-a' }).click();
      const ask = page.getByRole('dialog', { name: 'Delete namespace' });
      await ask.getByRole('button', { name: 'Delete team-a' }).click();
      await poll(() => ask.locator('.error').innerText()).toBe('403 FORBIDDEN This route needs a admin key; this one is read.');
      await page.keyboard.press('Escape');
      await poll(() => ask.count()).toBe(0);
      // A namespace outside the key's patterns does not exist, for this key.
      await page.goto(`${m.url}/ui/#/ns/private/memories`);
      await poll(() => page.locator('.error').first().innerText()).toBe('404 NAMESPACE_NOT_FOUND Namespace "private" does not exist.');
      // Forgetting the key: gone from the tab, and asked for again.
      await page.getByRole('button', { name: 'Forget key' }).click();
      await dialog.waitFor();
      expect(await page.evaluate("sessionStorage.getItem('membank.key')")).toBeNull();
      expect(errors).toEqual([]);
      await page.close();
    }, E2E_TIMEOUT);
  });
});
