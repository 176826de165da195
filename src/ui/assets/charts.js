// The console's SVG drawings: a memory's retention curve, a histogram of retention values, and an entity's
// neighbourhood. The curve is computed with retention.js, the server's own module (src/core/retention.ts).
import { memoryRetention, retention, secondsUntil } from './retention.js';
import { fmtNumber, fmtTime, s } from './dom.js';

const W = 640;
const H = 260;
const PAD = { left: 44, right: 16, top: 16, bottom: 40 };

const ms = (iso) => (iso === null || iso === undefined ? null : Date.parse(iso));

/**
 * A memory's retention over time: from its write (or its last recall) to past the moment it falls below the
 * threshold. Recalls reset the clock and add strength; only the last recall's time is stored, so with several
 * recalls the curve starts at the last one and the earlier ones are only counted.
 */
export function retentionChart(memory, forgetting, now = Date.now()) {
  const tau = forgetting.timescale;
  const created = ms(memory.createdAt);
  const recalled = ms(memory.lastRecalledAt);
  const touched = recalled ?? created;
  const segments = [];
  if (recalled !== null && memory.recallCount === 1) {
    // One recall: before it, the strength the memory was written with.
    segments.push({ from: created, to: recalled, strength: memory.strength - 1, past: true });
  }
  const forgetAt = touched + secondsUntil(forgetting.threshold, memory.strength, tau) * 1000;
  const start = segments.length > 0 ? created : touched;
  const end = Math.max(now + (now - start) * 0.1, forgetAt + (forgetAt - start) * 0.15, start + 1000);
  segments.push({ from: touched, to: end, strength: memory.strength, past: false });

  const x = (t) => PAD.left + ((t - start) / (end - start)) * (W - PAD.left - PAD.right);
  const y = (r) => PAD.top + (1 - r) * (H - PAD.top - PAD.bottom);
  const svg = s('svg', { class: 'chart retention', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `Retention of ${memory.id} over time` });
  for (const r of [0, 0.5, 1]) {
    svg.append(s('line', { class: 'grid-line', x1: PAD.left, x2: W - PAD.right, y1: y(r), y2: y(r) }), s('text', { x: PAD.left - 6, y: y(r) + 4, 'text-anchor': 'end' }, String(r)));
  }
  svg.append(s('line', { class: 'axis', x1: PAD.left, x2: PAD.left, y1: PAD.top, y2: H - PAD.bottom }));
  for (const segment of segments) {
    const points = [];
    for (let i = 0; i <= 160; i++) {
      const t = segment.from + ((segment.to - segment.from) * i) / 160;
      points.push(`${x(t).toFixed(1)},${y(retention({ strength: segment.strength, lastTouchedAt: segment.from }, t, tau)).toFixed(1)}`);
    }
    svg.append(s('path', { class: `curve${segment.past ? ' past' : ''}`, d: `M${points.join(' L')}` }));
  }
  svg.append(
    s('line', { class: 'threshold', x1: PAD.left, x2: W - PAD.right, y1: y(forgetting.threshold), y2: y(forgetting.threshold) }),
    s('text', { x: W - PAD.right, y: y(forgetting.threshold) - 4, 'text-anchor': 'end' }, `threshold ${forgetting.threshold}`),
  );
  const nowValue = memoryRetention({ strength: memory.strength, lastRecalledAt: recalled, createdAt: created }, now, tau);
  svg.append(
    s('line', { class: 'now', x1: x(now), x2: x(now), y1: PAD.top, y2: H - PAD.bottom }),
    s('circle', { class: 'now-point', cx: x(now), cy: y(nowValue), r: 4 }, s('title', {}, `now: ${fmtNumber(nowValue, 3)}`)),
    s('text', { x: x(now) + 4, y: PAD.top + 10 }, `now ${fmtNumber(nowValue, 3)}`),
  );
  svg.append(s('circle', { class: 'write', cx: x(created >= start ? created : start), cy: y(1), r: 5 }, s('title', {}, `written ${fmtTime(created)}`)));
  if (recalled !== null) {
    svg.append(
      s('circle', { class: 'recall', cx: x(recalled), cy: y(1), r: 5, 'data-recall': fmtTime(recalled) }, s('title', {}, `recalled ${fmtTime(recalled)} (recall ${memory.recallCount})`)),
    );
  }
  svg.append(
    s('text', { x: PAD.left, y: H - PAD.bottom + 16 }, fmtTime(start)),
    s('text', { x: W - PAD.right, y: H - PAD.bottom + 16, 'text-anchor': 'end' }, fmtTime(end)),
    s('text', { x: x(Math.min(forgetAt, end)), y: H - 6, 'text-anchor': x(forgetAt) > W * 0.6 ? 'end' : 'start' }, `below threshold ${fmtTime(forgetAt)}`),
  );
  return { svg, forgetAt, nowValue };
}

/** Counts of retention values in 20 bins over [0, 1]; bars below the threshold in the danger colour. */
export function retentionHistogram(values, threshold) {
  const bins = Array.from({ length: 20 }, () => 0);
  for (const v of values) bins[Math.min(19, Math.max(0, Math.floor(v * 20)))]++;
  const top = Math.max(1, ...bins);
  const x = (r) => PAD.left + r * (W - PAD.left - PAD.right);
  const y = (count) => PAD.top + (1 - count / top) * (H - PAD.top - PAD.bottom);
  const svg = s('svg', { class: 'chart histogram', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `Histogram of ${values.length} retention values, threshold ${threshold}` });
  svg.append(s('line', { class: 'axis', x1: PAD.left, x2: W - PAD.right, y1: y(0), y2: y(0) }), s('text', { x: PAD.left - 6, y: y(top) + 4, 'text-anchor': 'end' }, String(top)));
  bins.forEach((count, i) => {
    const lo = i / 20;
    const width = x(1 / 20) - x(0) - 2;
    svg.append(
      s(
        'rect',
        { class: lo + 0.05 <= threshold ? 'doomed' : 'bar', x: x(lo) + 1, y: y(count), width, height: y(0) - y(count), 'data-count': count },
        s('title', {}, `${lo.toFixed(2)}–${(lo + 0.05).toFixed(2)}: ${count}`),
      ),
    );
    if (count > 0) svg.append(s('text', { x: x(lo) + 1 + width / 2, y: y(count) - 3, 'text-anchor': 'middle' }, String(count)));
  });
  for (const r of [0, 0.25, 0.5, 0.75, 1]) svg.append(s('text', { x: x(r), y: y(0) + 16, 'text-anchor': 'middle' }, String(r)));
  svg.append(
    s('line', { class: 'threshold', x1: x(threshold), x2: x(threshold), y1: PAD.top, y2: y(0) }),
    s('text', { x: x(threshold) + 4, y: PAD.top + 10 }, `threshold ${threshold}`),
    s('text', { x: W / 2, y: H - 6, 'text-anchor': 'middle' }, 'retention now'),
  );
  return svg;
}

/**
 * An entity's neighbourhood as rings: the entity in the middle, facts' other ends at their distance in hops.
 * Every node links to its own entity page.
 */
export function neighbourhoodGraph(center, nodes, edges, href) {
  // The server's normalizeKey (src/core/facts.ts): how it matches an edge's ends to nodes.
  const key = (name) => name.normalize('NFKC').toLocaleLowerCase('en-US').replace(/\s+/gu, ' ').trim();
  const names = new Map(nodes.map((n) => [key(n.name), n.name]));
  const hops = new Map([[key(center), 0]]);
  const parent = new Map();
  for (let frontier = [key(center)], d = 1; frontier.length > 0; d++) {
    const next = [];
    for (const edge of edges) {
      for (const [a, b] of [
        [key(edge.subject), key(edge.object)],
        [key(edge.object), key(edge.subject)],
      ]) {
        if (frontier.includes(a) && !hops.has(b)) {
          hops.set(b, d);
          parent.set(b, a);
          next.push(b);
        }
      }
    }
    frontier = next;
  }
  const size = 520;
  const mid = size / 2;
  const rings = Math.max(1, ...hops.values());
  const radius = (d) => (d * (mid - 60)) / rings;
  const position = new Map([[key(center), { x: mid, y: mid, angle: 0 }]]);
  for (let d = 1; d <= rings; d++) {
    const ring = [...hops].filter(([, h]) => h === d).map(([k]) => k);
    // Near their parent: sort the ring by the parent's angle.
    ring.sort((a, b) => (position.get(parent.get(a))?.angle ?? 0) - (position.get(parent.get(b))?.angle ?? 0));
    ring.forEach((k, i) => {
      const angle = (2 * Math.PI * i) / ring.length + (d - 1) * 0.35;
      position.set(k, { x: mid + radius(d) * Math.cos(angle), y: mid + radius(d) * Math.sin(angle), angle });
    });
  }
  const svg = s(
    'svg',
    { class: 'chart graph', viewBox: `0 0 ${size} ${size}`, role: 'group', 'aria-label': `Neighbourhood of ${center}` },
    s('defs', {}, s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 22, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, s('path', { d: 'M0,0 L10,5 L0,10 z' }))),
  );
  for (const edge of edges) {
    const a = position.get(key(edge.subject));
    const b = position.get(key(edge.object));
    if (!a || !b) continue;
    svg.append(
      s('line', { class: 'edge', x1: a.x, y1: a.y, x2: b.x, y2: b.y, 'marker-end': 'url(#arrow)' }, s('title', {}, `${edge.subject} ${edge.predicate} ${edge.object}`)),
      s('text', { class: 'edge-label', x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 - 3, 'text-anchor': 'middle' }, edge.predicate),
    );
  }
  for (const [k, p] of position) {
    const name = names.get(k) ?? k;
    const isCenter = hops.get(k) === 0;
    svg.append(
      s(
        'a',
        { class: `node${isCenter ? ' center' : ''}`, href: href(name), 'data-name': name, 'aria-label': `${name}${isCenter ? ' (this entity)' : `, ${hops.get(k)} hop${hops.get(k) === 1 ? '' : 's'} away`}` },
        s('circle', { cx: p.x, cy: p.y, r: 12 }),
        s('text', { x: p.x, y: p.y + 26, 'text-anchor': 'middle' }, name),
      ),
    );
  }
  return svg;
}
