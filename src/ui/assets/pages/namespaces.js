// Namespaces: what each holds and how its index stands; create, change forgetting settings, delete.
import { del, get, nsPath, patch, post } from '../api.js';
import { field, fmtSeconds, fmtTime, h, nsHref, table } from '../dom.js';
import { busy, confirmDialog, dialog, parseJsonField, showError } from '../widgets.js';

/** Namespaces described (counts, index) on the page; more would be as many requests. */
const DESCRIBED = 200;

export async function renderNamespaces(view, _params, ctx) {
  const list = h('div', { class: 'slot' }, h('p', { class: 'muted' }, 'Loading…'));
  view.append(h('h1', {}, 'Namespaces'), list, await createForm(ctx));
  const { namespaces } = await get('/v1/namespaces');
  // Counts and index state are per namespace (GET /v1/namespaces/:ns): one request each, side by side, for
  // the first DESCRIBED; a server with thousands of namespaces lists the rest by name.
  const described = await Promise.all(
    namespaces.map((ns, i) => (i < DESCRIBED ? get(nsPath(ns.name)).catch((error) => ({ ...ns, failed: error })) : { ...ns, undescribed: true })),
  );
  if (!ctx.alive()) return;
  list.replaceChildren(
    described.length > DESCRIBED ? h('p', { class: 'hint' }, `${described.length} namespaces: counts and index state for the first ${DESCRIBED}; the others' are on their pages.`) : '',
    described.length === 0
      ? h('p', { class: 'muted' }, 'No namespaces yet (or none this API key may see).')
      : table(
          [
            ['Name', (ns) => h('a', { href: nsHref(ns.name, 'search') }, ns.name)],
            ['Embedder', (ns) => ns.embedder ?? h('span', { class: 'muted' }, 'none (vectors)')],
            ['Space', (ns) => `${ns.space}${ns.dimensions ? ` · ${ns.dimensions}-d` : ''}`],
            ['Memories', (ns) => (ns.failed || ns.undescribed ? '—' : h('a', { href: nsHref(ns.name, 'memories') }, String(ns.count)))],
            ['Facts', (ns) => (ns.failed || ns.undescribed ? '—' : h('a', { href: nsHref(ns.name, 'facts') }, String(ns.factCount)))],
            ['Index', (ns) => (ns.failed ? showErrorInline(ns.failed) : ns.undescribed ? '—' : indexState(ns.index))],
            ['Forgetting', (ns) => h('a', { href: nsHref(ns.name, 'forgetting') }, forgettingSummary(ns.forgetting))],
            ['Writes', (ns) => writesSummary(ns)],
            [
              'Actions',
              (ns) =>
                h(
                  'div',
                  { class: 'actions' },
                  h('button', { type: 'button', class: 'secondary', onclick: () => editForgetting(ns.name, ns.forgetting).then((changed) => changed && ctx.rerender()) }, 'Forgetting…'),
                  h('button', { type: 'button', class: 'danger', 'aria-label': `Delete ${ns.name}`, onclick: () => deleteNamespace(ns, ctx) }, 'Delete…'),
                ),
            ],
          ],
          described,
          { 'aria-label': 'Namespaces', id: 'namespaces' },
        ),
  );
}

function showErrorInline(error) {
  const slot = h('div');
  showError(slot, error);
  return slot;
}

function indexState(index) {
  const checkpoint = index.lastCheckpoint ? `checkpoint seq ${index.lastCheckpoint.seq}, ${fmtTime(index.lastCheckpoint.at)}` : 'no checkpoint';
  return h(
    'span',
    { class: 'index-state' },
    index.loaded ? `loaded (${index.kind ?? 'index'})` : 'not loaded',
    ` · ${index.elements} elements · ${index.deleted} deleted · ${checkpoint}`,
  );
}

export function forgettingSummary(f) {
  const parts = [f.enabled ? 'on' : 'off', `τ ${fmtSeconds(f.timescale)}`, `threshold ${f.threshold}`, `schedule "${f.schedule}"`];
  if (f.protect) parts.push(`protect ${JSON.stringify(f.protect)}`);
  return parts.join(' · ');
}

/** How writes fold into existing memories (dedupe) and how many earlier versions a memory keeps. */
function writesSummary(ns) {
  const parts = [];
  if (ns.dedupe) parts.push(ns.dedupe.mode === 'near' ? `dedupe near ≥ ${ns.dedupe.threshold}` : `dedupe ${ns.dedupe.mode}`);
  if (ns.history) parts.push(`${ns.history.maxVersions} versions kept`);
  return parts.length > 0 ? parts.join(' · ') : '—';
}

/** PATCH of the forgetting settings; resolves true when they changed. */
export function editForgetting(ns, current) {
  const enabled = h('input', { type: 'checkbox', name: 'enabled', checked: current.enabled });
  const timescale = h('input', { type: 'number', name: 'timescale', min: 1, step: 'any', value: current.timescale, required: true });
  const threshold = h('input', { type: 'number', name: 'threshold', min: 0, max: 1, step: 'any', value: current.threshold, required: true });
  const schedule = h('input', { type: 'text', name: 'schedule', value: current.schedule, required: true });
  const protect = h('textarea', { name: 'protect', rows: 2, spellcheck: 'false' }, current.protect ? JSON.stringify(current.protect) : '');
  return dialog({
    title: `Forgetting of ${ns}`,
    submitLabel: 'Save',
    body: [
      h('label', { class: 'check' }, enabled, 'Scheduled runs forget faded memories (retention below the threshold)'),
      field('Time scale τ (seconds)', timescale, 'Retention is exp(−Δt / (strength · τ)).'),
      field('Threshold', threshold, 'Between 0 and 1.'),
      field('Schedule (cron)', schedule),
      field('Protect (Where filter, JSON)', protect, 'Memories it matches are never forgotten; empty for none.'),
    ],
    onSubmit: async () => {
      const forgetting = {
        enabled: enabled.checked,
        timescale: Number(timescale.value),
        threshold: Number(threshold.value),
        schedule: schedule.value,
        protect: parseJsonField(protect.value, 'Protect') ?? null,
      };
      await patch(nsPath(ns), { forgetting });
      return true;
    },
  });
}

async function deleteNamespace(ns, ctx) {
  const done = await confirmDialog({
    title: 'Delete namespace',
    question: `Delete namespace "${ns.name}"? ${ns.count === undefined ? 'Its memories' : `Its ${ns.count} memories`}, ${ns.factCount === undefined ? 'facts' : `${ns.factCount} facts`} and index files are removed. This cannot be undone.`,
    confirmLabel: `Delete ${ns.name}`,
    onConfirm: () => del(nsPath(ns.name)),
  });
  if (done) ctx.rerender();
}

async function createForm(ctx) {
  const name = h('input', { type: 'text', name: 'name', required: true, pattern: '[A-Za-z0-9_.\\-]{1,64}', autocomplete: 'off' });
  const embedder = h('select', { name: 'embedder' }, h('option', { value: '' }, 'the server default'), h('option', { value: '-' }, 'none: vectors only'));
  const dimensions = h('input', { type: 'number', name: 'dimensions', min: 1, max: 4096, placeholder: 'first write decides' });
  const space = h('select', { name: 'space' }, ['cosine', 'l2', 'ip'].map((s) => h('option', { value: s }, s)));
  const enabled = h('input', { type: 'checkbox', name: 'forgetting' });
  const errors = h('div', { class: 'slot' });
  const submit = h('button', { type: 'submit' }, 'Create namespace');
  // The embedders this server has: GET /v1/models (a failure leaves the default and "none").
  get('/v1/models')
    .then(({ data }) => embedder.append(...data.map((m) => h('option', { value: m.id }, m.id))))
    .catch(() => {});
  const form = h(
    'form',
    { class: 'grid', 'aria-label': 'New namespace' },
    field('Name', name, 'Letters, digits, _ . -'),
    field('Embedder', embedder),
    field('Dimensions', dimensions, 'For vectors only'),
    field('Space', space),
    h('label', { class: 'check' }, enabled, 'Forget faded memories on schedule'),
    h('div', { class: 'actions wide' }, submit),
    h('div', { class: 'wide' }, errors),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(submit, errors, async () => {
      const body = { name: name.value.trim(), space: space.value };
      if (embedder.value === '-') body.embedder = null;
      else if (embedder.value) body.embedder = embedder.value;
      if (dimensions.value) body.dimensions = Number(dimensions.value);
      if (enabled.checked) body.forgetting = { enabled: true };
      await post('/v1/namespaces', body);
      ctx.rerender();
    });
  });
  return h('details', { class: 'panel', open: true }, h('summary', {}, 'New namespace'), form);
}
