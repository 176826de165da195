// The search playground: one namespace's query with every knob the API has, results with why they ranked
// (each score component of `include: ["explain"]`), and the same request as curl.
import { ApiError, curl, nsPath, post } from '../api.js';
import { field, fill, fmtNumber, fmtTime, h, highlight, nsHref, queryWords, table } from '../dom.js';
import { busy, errorBox, parseJsonField } from '../widgets.js';

const INCLUDE = ['text', 'metadata', 'explain'];

export async function renderSearch(view, [ns]) {
  const query = h('textarea', { name: 'query', rows: 2, required: true, spellcheck: 'false', placeholder: 'What to look for; or a JSON array of numbers to search by vector' });
  const mode = h('select', { name: 'mode' }, h('option', { value: '' }, 'default'), ['hybrid', 'keyword', 'vector'].map((m) => h('option', { value: m }, m)));
  const k = h('input', { type: 'number', name: 'k', min: 1, max: 1000, value: 10 });
  const filter = h('textarea', { name: 'filter', rows: 3, spellcheck: 'false', placeholder: '{"speaker": "Ana", "year": {"$gte": 2024}}' });
  const hybrid = h('textarea', { name: 'hybrid', rows: 2, spellcheck: 'false', placeholder: '{"vectorWeight": 0.5, "fusion": "rrf"}' });
  const filterStatus = h('div', { class: 'hint', 'aria-live': 'polite', id: 'filter-status' });
  const after = h('input', { type: 'text', name: 'after', placeholder: '2026-05-01 or epoch ms' });
  const before = h('input', { type: 'text', name: 'before', placeholder: '2026-06-01T00:00:00Z' });
  const mmr = h('input', { type: 'checkbox', name: 'mmr' });
  const lambda = h('input', { type: 'number', name: 'lambda', min: 0, max: 1, step: 0.05, value: 0.5, 'aria-label': 'MMR λ: relevance (1) against diversity (0)' });
  const minScore = h('input', { type: 'number', name: 'minScore', step: 'any' });
  const reinforce = h('input', { type: 'checkbox', name: 'reinforce' });
  const submit = h('button', { type: 'submit' }, 'Search');
  const curlButton = h('button', { type: 'button', class: 'secondary' }, 'Copy as curl');
  const curlOut = h('div', { class: 'slot' });
  const errors = h('div', { class: 'slot' });
  const results = h('div', { id: 'results', 'aria-live': 'polite' });

  /** The request the form describes; throws on a field that is not JSON. */
  const request = () => {
    const body = { k: Number(k.value) || 10, include: INCLUDE, reinforce: reinforce.checked };
    const text = query.value.trim();
    const vector = text.startsWith('[') ? parseJsonField(text, 'The vector') : undefined;
    if (vector !== undefined) body.vector = vector;
    else body.query = text;
    if (mode.value) body.mode = mode.value;
    const where = parseJsonField(filter.value, 'The filter');
    if (where !== undefined) body.filter = where;
    if (after.value.trim()) body.after = after.value.trim();
    if (before.value.trim()) body.before = before.value.trim();
    if (mmr.checked) body.mmr = { lambda: Number(lambda.value) };
    if (minScore.value !== '') body.minScore = Number(minScore.value);
    const options = parseJsonField(hybrid.value, 'The hybrid options');
    if (options !== undefined) body.hybrid = options;
    return body;
  };

  const form = h(
    'form',
    { class: 'grid', 'aria-label': 'Search', id: 'search-form' },
    h('div', { class: 'wide' }, field('Query', query, 'Ctrl+Enter searches.')),
    field('Mode', mode),
    field('k', k),
    field('After', after, 'Event time, inclusive'),
    field('Before', before, 'Event time, exclusive'),
    field('Min score', minScore),
    h('div', { class: 'field' }, h('label', { class: 'check label' }, mmr, 'MMR (diversity), λ'), lambda),
    h('label', { class: 'check' }, reinforce, 'Count results as recalls'),
    h('div', { class: 'wide' }, field('Filter (Where, JSON)', filter), filterStatus),
    h('details', { class: 'wide' }, h('summary', {}, 'Hybrid options'), field('hybrid (JSON: fusion, vectorWeight, mentionBoost, neighborWeight, …)', hybrid, 'Over the namespace’s own; the server says what it refuses.')),
    h('div', { class: 'actions wide' }, submit, curlButton),
    h('div', { class: 'wide' }, errors, curlOut),
  );

  const search = () =>
    busy(submit, errors, async () => {
      const body = request();
      const answer = await post(nsPath(ns, 'query'), body);
      showResults(results, ns, answer.results, queryWords(body.query ?? ''));
    });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    search();
  });
  query.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  curlButton.addEventListener('click', async () => {
    errors.replaceChildren();
    let command;
    try {
      command = curl('POST', nsPath(ns, 'query'), request());
    } catch (error) {
      errors.replaceChildren(errorBox(error));
      return;
    }
    const pre = h('pre', { id: 'curl', tabindex: 0 }, command);
    let note = 'Select the command to copy it.';
    try {
      await navigator.clipboard.writeText(command);
      note = 'Copied to the clipboard.';
    } catch {
      // No clipboard permission (an insecure origin, or a browser that refuses): the command is shown.
    }
    curlOut.replaceChildren(h('p', { class: 'hint' }, note), pre);
  });
  filter.addEventListener('input', debounce(() => checkFilter(ns, filter.value, filterStatus), 400));

  view.append(h('h1', {}, `Search ${ns}`), form, results);
  query.focus();
}

/**
 * The server's verdict on a filter, as it will judge it in the search: a one-result keyword query that does
 * not count as a recall. Only errors about the filter are shown here.
 */
async function checkFilter(ns, text, status) {
  status.className = 'hint';
  if (text.trim() === '') return status.replaceChildren();
  let where;
  try {
    where = JSON.parse(text);
  } catch (error) {
    status.className = 'error';
    return status.replaceChildren(`Not JSON: ${error.message}`);
  }
  try {
    await post(nsPath(ns, 'query'), { query: 'filter check', mode: 'keyword', k: 1, filter: where, include: [], reinforce: false });
    status.className = 'hint ok';
    status.replaceChildren('The server accepts this filter.');
  } catch (error) {
    const aboutFilter = error instanceof ApiError && (error.details?.issues ?? []).some((issue) => String(issue.path).startsWith('filter'));
    if (aboutFilter) {
      status.className = '';
      status.replaceChildren(errorBox(error));
    } else status.replaceChildren();
  }
}

function showResults(slot, ns, results, words) {
  if (results.length === 0) return slot.replaceChildren(h('p', { class: 'muted' }, 'No results.'));
  fill(
    slot,
    h('h2', {}, `${results.length} result${results.length === 1 ? '' : 's'}`),
    h(
      'ol',
      { class: 'results' },
      results.map((r, i) =>
        h(
          'li',
          { class: 'result', 'data-id': r.id },
          h(
            'div',
            { class: 'result-head' },
            h('span', { class: 'rank' }, `#${i + 1}`),
            h('a', { href: nsHref(ns, 'memories', r.id), class: 'mono' }, r.id),
            h('span', { class: 'score' }, `score ${fmtNumber(r.score)}`),
            h('span', { class: 'distance' }, `distance ${fmtNumber(r.distance)}`),
            h('span', { class: 'muted' }, fmtTime(r.timestamp)),
          ),
          r.text !== undefined && r.text !== null && h('p', { class: 'text' }, highlight(r.text, words)),
          r.metadata && Object.keys(r.metadata).length > 0 && h('code', { class: 'metadata' }, JSON.stringify(r.metadata)),
          r.explain && explainTable(r.explain, i === 0),
        ),
      ),
    ),
  );
}

/**
 * `{<component>: {value, weight}, …, score}`: the sum in one line (the parts that add something), and each
 * part's value and weight in a table, open for the first result.
 */
function explainTable(explain, open) {
  const parts = Object.entries(explain).filter(([name, part]) => name !== 'score' && part && typeof part === 'object');
  const rows = parts.map(([name, part]) => ({ name, ...part }));
  const adding = rows.filter((p) => typeof p.value === 'number' && typeof p.weight === 'number' && p.value * p.weight !== 0);
  const sum = adding.length === 0 ? 'no component adds anything, score' : `${adding.map((p) => `${fmtNumber(p.value * p.weight, 3)} ${p.name}`).join(' + ')} =`;
  return h(
    'details',
    { class: 'explain-box', open },
    h('summary', {}, 'Why it ranked: ', h('span', { class: 'mono' }, `${sum} ${fmtNumber(explain.score ?? 0, 3)}`)),
    table(
      [
        ['component', (p) => p.name],
        ['value', (p) => fmtNumber(p.value)],
        ['weight', (p) => fmtNumber(p.weight)],
        ['adds', (p) => (typeof p.value === 'number' && typeof p.weight === 'number' ? fmtNumber(p.value * p.weight) : '—')],
      ],
      [...rows, ...(typeof explain.score === 'number' ? [{ name: 'score', value: explain.score, weight: undefined }] : [])],
      { class: 'explain' },
    ),
  );
}

function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
