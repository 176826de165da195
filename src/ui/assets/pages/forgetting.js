// Forgetting: the namespace's settings and recent runs, and a dry run's picture of the next one: every
// memory's retention in a histogram with the threshold, and what a run at that threshold would remove.
import { nsPath, get, post } from '../api.js';
import { retentionHistogram } from '../charts.js';
import { fill, fmtNumber, fmtTime, h, nsHref, table } from '../dom.js';
import { busy } from '../widgets.js';
import { editForgetting, forgettingSummary } from './namespaces.js';

/** Memories a dry run lists at most; the histogram says when there were more. */
const LIST = 10_000;

export async function renderForgetting(view, [ns], ctx) {
  const namespace = await get(nsPath(ns));
  if (!ctx.alive()) return;
  const f = namespace.forgetting;
  const run = h('button', { type: 'button', id: 'dry-run' }, 'Dry run');
  const errors = h('div', { class: 'slot' });
  const outcome = h('section', { id: 'dry-run-result', 'aria-live': 'polite' });
  view.append(
    h('h1', {}, `Forgetting in ${ns}`),
    h(
      'p',
      {},
      forgettingSummary(f),
      ' ',
      h('button', { type: 'button', class: 'secondary', onclick: () => editForgetting(ns, f).then((changed) => changed && ctx.rerender()) }, 'Change…'),
    ),
    h('h2', {}, 'Recent runs'),
    f.runs.length === 0
      ? h('p', { class: 'muted' }, 'No runs yet.')
      : table(
          [
            ['at', (r) => fmtTime(r.at)],
            ['trigger', (r) => r.trigger],
            ['expired', (r) => String(r.expired)],
            ['forgotten', (r) => String(r.forgotten)],
            ['ms', (r) => String(r.durationMs)],
          ],
          f.runs,
          { 'aria-label': 'Recent runs', id: 'runs' },
        ),
    h('h2', {}, 'The next run'),
    h('p', { class: 'hint' }, 'A dry run removes nothing: it lists what a run would remove, with each memory’s retention now. Protected memories are never listed.'),
    h('div', { class: 'actions' }, run),
    errors,
    outcome,
  );
  run.addEventListener('click', () =>
    busy(run, errors, async () => {
      // Everything but what was touched this very millisecond has retention below 1: the whole distribution.
      const [all, next] = await Promise.all([
        post(nsPath(ns, 'forget'), { dryRun: true, expired: true, retentionBelow: 1, limit: LIST }),
        post(nsPath(ns, 'forget'), { dryRun: true, expired: true, retentionBelow: f.threshold, limit: LIST }),
      ]);
      if (!ctx.alive()) return;
      showOutcome(outcome, ns, f, all, next);
    }),
  );
}

function showOutcome(slot, ns, f, all, next) {
  const values = all.memories.filter((m) => m.reason !== 'expired').map((m) => m.retention);
  const faded = next.memories.filter((m) => m.reason === 'retention');
  const more = (answer) => (answer.memories.length >= LIST ? ' (at least: the dry run lists 10,000)' : '');
  fill(
    slot,
    h(
      'p',
      { id: 'dry-run-summary' },
      `A run now at threshold ${f.threshold} would remove ${next.forgotten} faded and ${next.expired} expired memories${more(next)}`,
      f.enabled ? '.' : '; forgetting is off here, so scheduled runs remove only the expired ones.',
    ),
    h('p', { class: 'hint' }, `Retention of ${values.length} memories${more(all)}; red bars lie below the threshold.`),
    retentionHistogram(values, f.threshold),
    faded.length > 0 &&
      h(
        'details',
        {},
        h('summary', {}, `Faded memories (${faded.length})`),
        table(
          [
            ['id', (m) => h('a', { href: nsHref(ns, 'memories', m.id), class: 'mono' }, m.id)],
            ['retention', (m) => fmtNumber(m.retention, 4)],
          ],
          faded.slice(0, 200),
          { 'aria-label': 'Faded memories' },
        ),
      ),
  );
}
