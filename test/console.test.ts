/**
 * The web console's serving, without a browser (test/console.e2e.test.ts drives one): /ui is static and open
 * with API keys on, self-contained by its CSP, its retention module is the server's own function, and the
 * forgetting dry run carries the retention values the console's histogram draws.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as serverRetention from '../src/core/retention.js';
import { CONSOLE_CSP } from '../src/ui/index.js';
import { type Running, startMembank } from './helpers.js';

const ASSETS = join(import.meta.dirname, '..', 'src', 'ui', 'assets');
const T0 = Date.parse('2026-01-01T00:00:00Z');

describe('GET /ui', () => {
  let m: Running;
  let clock = T0;
  let admin: string;

  beforeAll(async () => {
    m = await startMembank(undefined, {}, { clock: () => clock });
    admin = (await m.api.post('/v1/keys', { role: 'admin' })).body.key;
  });
  afterAll(() => m.close());

  it('serves the page and its modules without a key, while the API still asks for one', async () => {
    const redirect = await fetch(`${m.url}/ui`, { redirect: 'manual' });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe('/ui/');
    const page = await fetch(`${m.url}/ui/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    const html = await page.text();
    expect(html).toContain('<script type="module" src="app.js">');
    for (const file of ['app.js', 'api.js', 'style.css', 'pages/search.js']) {
      const asset = await fetch(`${m.url}/ui/${file}`);
      expect(asset.status, file).toBe(200);
      expect(asset.headers.get('content-security-policy'), file).toBe(CONSOLE_CSP);
      expect(asset.headers.get('x-content-type-options'), file).toBe('nosniff');
    }
    expect((await fetch(`${m.url}/ui/app.js`)).headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${m.url}/ui/nothing-here.js`)).status).toBe(404);
    expect((await fetch(`${m.url}/v1/namespaces`)).status).toBe(401);
    expect((await fetch(`${m.url}/v1/namespaces`, { headers: { authorization: `Bearer ${admin}` } })).status).toBe(200);
  });

  it('loads nothing from elsewhere: every script, style and request the files name is on /ui or the API', () => {
    const files = readdirSync(ASSETS, { recursive: true, encoding: 'utf8' }).filter((f) => /\.(js|html|css)$/.test(f));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const text = readFileSync(join(ASSETS, file), 'utf8');
      // The SVG namespace is an identifier, not a request.
      const urls = (text.match(/https?:\/\/[^\s'"`)]+/g) ?? []).filter((u) => u !== 'http://www.w3.org/2000/svg');
      expect(urls, file).toEqual([]);
      expect(text, file).not.toMatch(/\binnerHTML\b|\beval\(|new Function\(/);
    }
  });

  it('serves the server retention function, compiled, as /ui/retention.js', async () => {
    const source = readFileSync(join(import.meta.dirname, '..', 'src', 'core', 'retention.ts'), 'utf8');
    // Import-free, so that a browser can load it as it is.
    expect(source).not.toMatch(/^\s*import\s/m);
    const response = await fetch(`${m.url}/ui/retention.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/javascript/);
    const code = await response.text();
    const served = await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`);
    expect(Object.keys(served).sort()).toEqual(Object.keys(serverRetention).sort());
    const state = { strength: 3, lastTouchedAt: T0 };
    for (const dt of [0, 1000, 3_600_000, 30 * 86_400_000]) {
      expect(served.retention(state, T0 + dt, 86_400)).toBe(serverRetention.retention(state, T0 + dt, 86_400));
    }
    expect(served.secondsUntil(0.05, 2, 60)).toBe(serverRetention.secondsUntil(0.05, 2, 60));
  });

  it("answers a forgetting dry run with each memory's retention, as GET of the memory tells it", async () => {
    clock = T0;
    const auth = { 'content-type': 'application/json', authorization: `Bearer ${admin}` };
    const call = async (method: string, path: string, body?: unknown): Promise<any> => {
      const response = await fetch(m.url + path, { method, headers: auth, body: body === undefined ? undefined : JSON.stringify(body) });
      expect(response.status, `${method} ${path}`).toBeLessThan(300);
      return response.json();
    };
    await call('POST', '/v1/namespaces', { name: 'fade', forgetting: { timescale: 3600, threshold: 0.5 } });
    await call('POST', '/v1/namespaces/fade/memories', {
      memories: [
        { id: 'weak', text: 'a passing remark' },
        { id: 'strong', text: 'an important date', importance: 1 },
      ],
    });
    clock = T0 + 3_600_000;
    const all = await call('POST', '/v1/namespaces/fade/forget', { dryRun: true, retentionBelow: 1 });
    expect(all.memories.map((x: { id: string }) => x.id).sort()).toEqual(['strong', 'weak']);
    for (const listed of all.memories) {
      expect(listed.retention).toBe((await call('GET', `/v1/namespaces/fade/memories/${listed.id}`)).retention);
    }
    expect(all.memories.find((x: { id: string }) => x.id === 'weak').retention).toBeCloseTo(Math.exp(-1), 12);
    expect(all.memories.find((x: { id: string }) => x.id === 'strong').retention).toBeCloseTo(Math.exp(-1 / 5), 12);
    const next = await call('POST', '/v1/namespaces/fade/forget', { dryRun: true, retentionBelow: 0.5 });
    expect(next).toMatchObject({ forgotten: 1, memories: [{ id: 'weak', reason: 'retention' }] });
  });
});
