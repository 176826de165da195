// Memories: a namespace's listing, and one memory with its retention curve, its history (when the server
// keeps one), and edit and delete.
import { ApiError, del, get, nsPath, patch } from '../api.js';
import { retentionChart } from '../charts.js';
import { secondsUntil } from '../retention.js';
import { field, fmtNumber, fmtTime, h, json, nsHref, table } from '../dom.js';
import { busy, confirmDialog, parseJsonField, showError } from '../widgets.js';

const PAGE = 50;

export async function renderMemories(view, [ns], ctx) {
  const id = h('input', { type: 'text', name: 'id', required: true, autocomplete: 'off' });
  const open = h('form', { class: 'grid', 'aria-label': 'Open a memory' }, field('Memory id', id), h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Open')));
  open.addEventListener('submit', (event) => {
    event.preventDefault();
    location.hash = nsHref(ns, 'memories', id.value.trim());
  });
  const rows = h('tbody');
  const more = h('button', { type: 'button', class: 'secondary' }, 'More');
  const errors = h('div', { class: 'slot' });
  view.append(
    h('h1', {}, `Memories of ${ns}`),
    open,
    h(
      'div',
      { class: 'scroll' },
      h('table', { 'aria-label': 'Memories', id: 'memories' }, h('thead', {}, h('tr', {}, ['id', 'text', 'time', 'recalls'].map((c) => h('th', { scope: 'col' }, c)))), rows),
    ),
    errors,
    h('div', { class: 'actions' }, more),
  );
  let cursor;
  const load = () =>
    busy(more, errors, async () => {
      const page = await get(`${nsPath(ns, 'memories')}?limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      if (!ctx.alive()) return;
      for (const m of page.memories) {
        rows.append(
          h(
            'tr',
            {},
            h('td', {}, h('a', { href: nsHref(ns, 'memories', m.id), class: 'mono' }, m.id)),
            h('td', {}, (m.text ?? '').slice(0, 160)),
            h('td', {}, fmtTime(m.timestamp)),
            h('td', { class: 'num' }, String(m.recallCount)),
          ),
        );
      }
      cursor = page.nextCursor;
      more.hidden = !cursor;
      if (rows.children.length === 0) rows.append(h('tr', {}, h('td', { colspan: 4, class: 'muted' }, 'No memories.')));
    });
  more.addEventListener('click', load);
  await load();
}

export async function renderMemory(view, [ns, id], ctx) {
  const [memory, namespace] = await Promise.all([get(nsPath(ns, 'memories', id)), get(nsPath(ns))]);
  if (!ctx.alive()) return;
  const forgetting = namespace.forgetting;
  const { svg, forgetAt } = retentionChart(memory, forgetting, serverNow(memory, forgetting.timescale));
  view.append(
    h('h1', {}, 'Memory ', h('code', {}, memory.id)),
    h('p', {}, h('a', { href: nsHref(ns, 'memories') }, `← memories of ${ns}`)),
    h('p', { class: 'text panel', id: 'memory-text' }, memory.text ?? h('span', { class: 'muted' }, '(no text: a vector only)')),
    h(
      'dl',
      { class: 'kv' },
      [
        ['metadata', h('code', {}, JSON.stringify(memory.metadata))],
        ['timestamp (event time)', fmtTime(memory.timestamp)],
        ['created', fmtTime(memory.createdAt)],
        ['updated', fmtTime(memory.updatedAt)],
        memory.documentId !== undefined && ['document', `${memory.documentId} (chunk ${memory.chunkIndex})`],
        ['importance', memory.importance ?? '—'],
        ['strength', fmtNumber(memory.strength, 2)],
        ['recalls', `${memory.recallCount}${memory.lastRecalledAt ? `, last ${fmtTime(memory.lastRecalledAt)}` : ''}`],
        ['expires', fmtTime(memory.expiresAt)],
        memory.pinned !== undefined && ['pinned', memory.pinned ? 'yes: never forgotten by retention or a policy' : 'no'],
        ['retention now', h('strong', { id: 'retention-now' }, fmtNumber(memory.retention, 4))],
        ['falls below the threshold', `${fmtTime(forgetAt)}${forgetting.enabled ? '' : ' (forgetting is off in this namespace)'}`],
      ]
        .filter(Boolean)
        .map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
    ),
    h('h2', {}, 'Retention'),
    h(
      'p',
      { class: 'hint' },
      `exp(−Δt / (strength · τ)), τ = ${forgetting.timescale} s, from the last recall (or the write). The dot marks now; green marks the last recall`,
      memory.recallCount > 1 ? ` (${memory.recallCount - 1} earlier recalls: their times are not stored).` : '.',
    ),
    svg,
  );
  const history = h('section', { id: 'history' });
  view.append(history, editor(ns, memory, ctx));
  await showHistory(history, ns, id);
}

/**
 * The server's clock when it answered, read back from the retention it computed (the curve's inverse), so the
 * plot's "now" is the server's even when this machine's clock is not.
 */
function serverNow(memory, timescale) {
  const touched = Date.parse(memory.lastRecalledAt ?? memory.createdAt);
  if (!(memory.retention > 0 && memory.retention <= 1)) return Date.now();
  return touched + secondsUntil(memory.retention, memory.strength, timescale) * 1000;
}

/** GET …/memories/:id/history, on servers that keep a memory's history; nothing on those that do not. */
async function showHistory(section, ns, id) {
  let answer;
  try {
    answer = await get(nsPath(ns, 'memories', id, 'history'));
  } catch (error) {
    if (error instanceof ApiError && error.code === 'ROUTE_NOT_FOUND') return;
    section.append(h('h2', {}, 'History'));
    return showError(section.appendChild(h('div')), error);
  }
  const events = Array.isArray(answer) ? answer : (answer?.events ?? answer?.history ?? []);
  section.append(
    h('h2', {}, 'History'),
    events.length === 0
      ? h('p', { class: 'muted' }, 'No events.')
      : table(
          [
            ['when', (e) => fmtTime(e.at)],
            ['what', (e) => e.op ?? e.kind ?? '—'],
            ['details', (e) => detailsOf(e)],
          ],
          events,
          { 'aria-label': 'History' },
        ),
  );
}

function detailsOf(event) {
  const { at: _at, op: _op, kind: _kind, seq, ...rest } = event;
  const parts = [];
  if (seq !== undefined) parts.push(`seq ${seq}`);
  if (rest.previous) parts.push(h('div', {}, 'was: ', h('q', {}, rest.previous.text ?? '(no text)'), ' ', h('code', {}, JSON.stringify(rest.previous.metadata ?? {}))));
  delete rest.previous;
  for (const [k, v] of Object.entries(rest)) parts.push(h('div', {}, `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`));
  return parts;
}

function editor(ns, memory, ctx) {
  const text = h('textarea', { name: 'text', rows: 4 }, memory.text ?? '');
  const metadata = h('textarea', { name: 'metadata', rows: 4, spellcheck: 'false' }, json(memory.metadata));
  // On servers with pinned memories (the field is in the answer).
  const pinned = memory.pinned === undefined ? undefined : h('input', { type: 'checkbox', name: 'pinned', checked: memory.pinned });
  const save = h('button', { type: 'submit' }, 'Save');
  const remove = h('button', { type: 'button', class: 'danger' }, 'Delete…');
  const errors = h('div', { class: 'slot' });
  const form = h(
    'form',
    { 'aria-label': 'Edit memory' },
    field('Text', text),
    field('Metadata (JSON object)', metadata),
    pinned && h('label', { class: 'check' }, pinned, 'Pinned (never forgotten by retention or a policy)'),
    errors,
    h('div', { class: 'actions' }, save, remove),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(save, errors, async () => {
      const change = {};
      if (text.value !== (memory.text ?? '')) change.text = text.value;
      const meta = parseJsonField(metadata.value, 'Metadata') ?? {};
      if (JSON.stringify(meta) !== JSON.stringify(memory.metadata)) change.metadata = meta;
      if (pinned && pinned.checked !== memory.pinned) change.pinned = pinned.checked;
      if (Object.keys(change).length === 0) throw new Error('Nothing changed.');
      await patch(nsPath(ns, 'memories', memory.id), change);
      ctx.rerender();
    });
  });
  remove.addEventListener('click', async () => {
    const done = await confirmDialog({
      title: 'Delete memory',
      question: `Delete memory "${memory.id}" from namespace "${ns}"? This cannot be undone.`,
      confirmLabel: `Delete ${memory.id}`,
      onConfirm: () => del(nsPath(ns, 'memories', memory.id)),
    });
    if (done) location.hash = nsHref(ns, 'memories');
  });
  return h('section', {}, h('h2', {}, 'Edit'), form);
}
