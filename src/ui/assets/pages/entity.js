// Facts: an entity's current facts and their history (validity, supersession), and its neighbourhood to
// depth 2 as a graph whose nodes open their own entity page.
import { get, nsPath } from '../api.js';
import { neighbourhoodGraph } from '../charts.js';
import { field, fmtNumber, fmtTime, h, nsHref, table } from '../dom.js';

export async function renderEntity(view, [ns, entity], ctx) {
  const name = h('input', { type: 'text', name: 'entity', required: true, value: entity ?? '', autocomplete: 'off' });
  const form = h('form', { class: 'grid', 'aria-label': 'Open an entity' }, field('Entity', name), h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Open')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    location.hash = nsHref(ns, 'facts', name.value.trim());
  });
  view.append(h('h1', {}, entity === undefined ? `Facts of ${ns}` : entity), form);
  if (entity === undefined) return recentFacts(view, ns, ctx);

  const q = (params) => `${nsPath(ns, 'facts')}?${new URLSearchParams({ ...params, history: 'true', limit: '1000' })}`;
  const [out, into, graph] = await Promise.all([get(q({ subject: entity })), get(q({ object: entity })), get(`${nsPath(ns, 'entities', entity)}?depth=2`)]);
  if (!ctx.alive()) return;
  const facts = [...new Map([...out.facts, ...into.facts].map((f) => [f.id, f])).values()];
  const now = Date.now();
  const current = facts.filter((f) => f.invalidatedAt === null && (f.validTo === null || Date.parse(f.validTo) > now));
  const past = facts.filter((f) => !current.includes(f));
  const link = (value) => h('a', { href: nsHref(ns, 'facts', value) }, value);
  const columns = [
    ['subject', (f) => link(f.subject)],
    ['predicate', (f) => f.predicate],
    ['object', (f) => link(f.object)],
    ['valid from', (f) => fmtTime(f.validFrom)],
    ['valid to', (f) => fmtTime(f.validTo)],
    ['confidence', (f) => fmtNumber(f.confidence, 2)],
    ['source', (f) => f.source ?? '—'],
  ];
  view.append(
    h('h2', {}, 'Current facts'),
    current.length === 0 ? h('p', { class: 'muted' }, 'None.') : table(columns, current, { 'aria-label': 'Current facts', id: 'current-facts' }),
    h('h2', {}, 'History'),
    past.length === 0
      ? h('p', { class: 'muted' }, 'No superseded or ended facts.')
      : table(
          [
            ...columns,
            ['status', (f) => (f.supersededBy ? `superseded by ${f.supersededBy}` : f.invalidatedAt ? 'invalidated' : 'ended')],
            ['recorded', (f) => `${fmtTime(f.createdAt)}${f.invalidatedAt ? ` – ${fmtTime(f.invalidatedAt)}` : ''}`],
          ],
          past,
          { 'aria-label': 'Fact history', id: 'fact-history' },
        ),
    h('h2', {}, 'Neighbourhood'),
    graph.edges.length === 0
      ? h('p', { class: 'muted' }, 'No current facts connect this entity.')
      : h(
          'div',
          { id: 'neighbourhood' },
          h('p', { class: 'hint' }, 'Two hops of current facts; arrows run from subject to object. Each node opens its entity.'),
          neighbourhoodGraph(entity, graph.nodes, graph.edges, (n) => nsHref(ns, 'facts', n)),
        ),
  );
}

async function recentFacts(view, ns, ctx) {
  const { facts } = await get(`${nsPath(ns, 'facts')}?limit=100`);
  if (!ctx.alive()) return;
  const link = (value) => h('a', { href: nsHref(ns, 'facts', value) }, value);
  view.append(
    h('h2', {}, 'Current facts'),
    facts.length === 0
      ? h('p', { class: 'muted' }, 'No facts in this namespace.')
      : table(
          [
            ['subject', (f) => link(f.subject)],
            ['predicate', (f) => f.predicate],
            ['object', (f) => link(f.object)],
            ['valid from', (f) => fmtTime(f.validFrom)],
          ],
          facts,
          { 'aria-label': 'Facts' },
        ),
  );
}
