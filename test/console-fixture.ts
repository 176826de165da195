/**
 * Shared by the console's browser tests and scripts/console-screenshots.ts: Debian's chromium driven by
 * playwright-core (which downloads no browser), and a namespace's worth of memories and facts to look at.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = (): boolean => existsSync(CHROMIUM);

/** Headless, and quiet on the network: without these flags Chromium keeps calling Google's hosts. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}

export const MEMORIES = [
  { id: 'robot', text: 'Ana bought a robot vacuum for the flat in Porto; it maps the rooms by itself.', metadata: { speaker: 'Ana', topic: 'home' }, importance: 1 },
  { id: 'lisbon', text: 'Ana moved from Lisbon to Porto in March to be closer to the Acme office.', metadata: { speaker: 'Ana', topic: 'moving' }, importance: 0.5 },
  { id: 'acme', text: 'Acme opened its Berlin headquarters; Ana visits it every quarter.', metadata: { speaker: 'Bob', topic: 'work' } },
  { id: 'pasta', text: 'Bob cooks fresh pasta on Sundays and invites the neighbours.', metadata: { speaker: 'Bob', topic: 'food' } },
  { id: 'garden', text: 'The garden needs watering twice a week during the summer.', metadata: { speaker: 'Ana', topic: 'home' } },
  { id: 'train', text: 'The night train to Madrid leaves at ten; Bob prefers it to flying.', metadata: { speaker: 'Bob', topic: 'travel' } },
];

export const FACTS = [
  { subject: 'Ana', predicate: 'lives_in', object: 'Lisbon', validFrom: '2024-01-01T00:00:00Z' },
  { subject: 'Ana', predicate: 'lives_in', object: 'Porto', validFrom: '2025-03-01T00:00:00Z', mode: 'replace' },
  { subject: 'Ana', predicate: 'works_at', object: 'Acme' },
  { subject: 'Acme', predicate: 'headquartered_in', object: 'Berlin' },
  { subject: 'Bob', predicate: 'knows', object: 'Ana' },
];

/** Writes the memories and facts through the REST API (as an agent would), with a key when given. */
export async function seed(base: string, namespace: string, key?: string): Promise<void> {
  const send = async (path: string, body: unknown) => {
    const response = await fetch(`${base}/v1/namespaces/${namespace}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key && { authorization: `Bearer ${key}` }) },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  };
  await send('/memories', { memories: MEMORIES });
  // One at a time: the second lives_in replaces the first, which becomes history.
  for (const fact of FACTS) await send('/facts', { facts: [fact] });
}
