/**
 * Draws retention over 30 days for memories recalled 0, 1 and 5 times (τ = 1 day), as an SVG: users would
 * rather look at the curve than read the formula. Writes scripts/retention.svg, which the README shows.
 *
 *   npm run plot:retention [-- out.svg]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { recall, retention, type RetentionState } from '../src/core/retention.js';

const DAY_MS = 86_400_000;
const TAU = 86_400;
const DAYS = 30;
const WIDTH = 720;
const HEIGHT = 360;
const PAD = { left: 56, right: 170, top: 24, bottom: 44 };

/** Retention sampled every hour, with recalls on the given days. */
function curve(recallDays: number[]): [number, number][] {
  let state: RetentionState = { strength: 1, recallCount: 0, lastTouchedAt: 0 };
  const pending = [...recallDays];
  const points: [number, number][] = [];
  for (let hour = 0; hour <= DAYS * 24; hour++) {
    const now = (hour / 24) * DAY_MS;
    while (pending.length > 0 && pending[0]! * DAY_MS <= now) state = recall(state, pending.shift()! * DAY_MS);
    points.push([hour / 24, retention(state, now, TAU)]);
  }
  return points;
}

const series = [
  { label: 'never recalled', color: '#b33', points: curve([]) },
  { label: 'recalled once (day 1)', color: '#d80', points: curve([1]) },
  { label: 'recalled 5 times (days 1, 2, 4, 7, 12)', color: '#27a', points: curve([1, 2, 4, 7, 12]) },
];

const x = (day: number) => PAD.left + (day / DAYS) * (WIDTH - PAD.left - PAD.right);
const y = (r: number) => PAD.top + (1 - r) * (HEIGHT - PAD.top - PAD.bottom);
const threshold = 0.05;

const parts: string[] = [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif" font-size="12">`,
  `<rect width="100%" height="100%" fill="white"/>`,
  `<text x="${PAD.left}" y="16" font-weight="bold">Retention R = exp(−Δt / (S·τ)), τ = 1 day</text>`,
];
for (const r of [0, 0.25, 0.5, 0.75, 1]) {
  parts.push(`<line x1="${x(0)}" y1="${y(r)}" x2="${x(DAYS)}" y2="${y(r)}" stroke="#eee"/>`);
  parts.push(`<text x="${PAD.left - 8}" y="${y(r) + 4}" text-anchor="end">${r}</text>`);
}
for (let day = 0; day <= DAYS; day += 5) {
  parts.push(`<text x="${x(day)}" y="${HEIGHT - PAD.bottom + 16}" text-anchor="middle">${day}</text>`);
}
parts.push(`<text x="${(x(0) + x(DAYS)) / 2}" y="${HEIGHT - 8}" text-anchor="middle">days since written</text>`);
parts.push(`<line x1="${x(0)}" y1="${y(threshold)}" x2="${x(DAYS)}" y2="${y(threshold)}" stroke="#888" stroke-dasharray="4 3"/>`);
parts.push(`<text x="${x(DAYS) + 6}" y="${y(threshold) + 4}" fill="#666">forget below ${threshold}</text>`);
series.forEach(({ label, color, points }, i) => {
  parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.map(([d, r]) => `${x(d).toFixed(1)},${y(r).toFixed(1)}`).join(' ')}"/>`);
  parts.push(`<rect x="${x(DAYS) + 6}" y="${PAD.top + 18 * i}" width="12" height="3" fill="${color}"/>`);
  parts.push(`<text x="${x(DAYS) + 22}" y="${PAD.top + 18 * i + 5}">${label}</text>`);
});
parts.push('</svg>');

const out = process.argv[2] ?? join(import.meta.dirname, 'retention.svg');
writeFileSync(out, parts.join('\n'));
console.log(`wrote ${out}`);
