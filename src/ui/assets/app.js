// The console's shell: hash routes to pages, the namespace's tabs, and the API key (asked for on a 401,
// kept in sessionStorage for this tab only).
import { getKey, onUnauthorized, setKey } from './api.js';
import { clear, h, nsHref } from './dom.js';
import { showError } from './widgets.js';
import { renderEntity } from './pages/entity.js';
import { renderForgetting } from './pages/forgetting.js';
import { renderMemories, renderMemory } from './pages/memories.js';
import { renderNamespaces } from './pages/namespaces.js';
import { renderSearch } from './pages/search.js';

const main = document.getElementById('main');
const tabs = document.getElementById('tabs');
const keybox = document.getElementById('keybox');

const ROUTES = [
  [/^$/, renderNamespaces],
  [/^ns\/([^/]+)$/, renderSearch],
  [/^ns\/([^/]+)\/search$/, renderSearch],
  [/^ns\/([^/]+)\/memories$/, renderMemories],
  [/^ns\/([^/]+)\/memories\/([^/]+)$/, renderMemory],
  [/^ns\/([^/]+)\/facts$/, renderEntity],
  [/^ns\/([^/]+)\/facts\/([^/]+)$/, renderEntity],
  [/^ns\/([^/]+)\/forgetting$/, renderForgetting],
];

const PAGES = [
  ['search', 'Search'],
  ['memories', 'Memories'],
  ['facts', 'Facts'],
  ['forgetting', 'Forgetting'],
];

let generation = 0;

async function route() {
  const path = location.hash.replace(/^#\/?/, '').replace(/\/$/, '');
  const current = ++generation;
  const match = ROUTES.map(([pattern, page]) => [path.match(pattern), page]).find(([m]) => m);
  const page = match?.[1];
  let params;
  try {
    params = (match?.[0].slice(1) ?? []).map(decodeURIComponent);
  } catch {
    params = undefined; // a hand-typed address with a stray "%"
  }
  const ns = path.startsWith('ns/') ? params?.[0] : undefined;
  const section = path.split('/')[2] ?? 'search';
  renderTabs(ns, section);
  const view = h('div', { class: 'view' });
  main.replaceChildren(view);
  if (!page || !params) {
    view.append(h('h1', {}, 'Not found'), h('p', {}, 'No console page at ', h('code', {}, location.hash), '. ', h('a', { href: '#/' }, 'Namespaces')));
    return;
  }
  const ctx = { alive: () => current === generation, rerender: () => route() };
  try {
    await page(view, params, ctx);
  } catch (error) {
    if (ctx.alive()) showError(view.appendChild(h('div', { class: 'slot' })), error);
  }
  // The link that led here went with the old page: focus goes to the new one (keyboard, screen readers).
  if (ctx.alive() && document.activeElement === document.body) main.focus({ preventScroll: true });
}

function renderTabs(ns, section) {
  clear(tabs);
  if (ns === undefined) return;
  tabs.append(
    h('span', { class: 'ns-name' }, h('a', { href: '#/' }, 'Namespaces'), ' / ', h('strong', {}, ns)),
    h(
      'ul',
      {},
      PAGES.map(([page, label]) =>
        h('li', {}, h('a', { href: nsHref(ns, page), 'aria-current': page === section ? 'page' : undefined }, label)),
      ),
    ),
  );
}

function renderKeybox() {
  clear(keybox);
  if (getKey()) {
    keybox.append(
      h('span', { class: 'muted' }, 'API key set'),
      h('button', { type: 'button', class: 'secondary', onclick: () => (setKey(null), renderKeybox(), route()) }, 'Forget key'),
    );
  } else {
    keybox.append(h('button', { type: 'button', class: 'secondary', onclick: () => askKey() }, 'Enter API key'));
  }
}

let asking = false;
/** The key dialog: opened by a 401 (with the server's reason) or from the header. */
function askKey(reason) {
  if (asking) return;
  asking = true;
  const input = h('input', { type: 'password', name: 'key', autocomplete: 'off', required: true, spellcheck: 'false' });
  const element = h(
    'dialog',
    { 'aria-label': 'API key', id: 'key-dialog' },
    h(
      'form',
      { method: 'dialog' },
      h('h2', {}, 'API key'),
      reason && h('p', { class: 'error', role: 'alert' }, reason),
      h('p', {}, 'This server has API keys. The console sends yours as a bearer token and keeps it in this tab only (sessionStorage); it sees what the key may see.'),
      h('label', { class: 'field' }, h('span', { class: 'label' }, 'Key'), input),
      h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', onclick: () => element.close() }, 'Cancel'), h('button', { type: 'submit' }, 'Use key')),
    ),
  );
  element.querySelector('form').addEventListener('submit', (event) => {
    event.preventDefault();
    setKey(input.value.trim());
    element.close();
    renderKeybox();
    route();
  });
  element.addEventListener('close', () => {
    element.remove();
    asking = false;
  });
  document.body.append(element);
  element.showModal();
  input.focus();
}

onUnauthorized((error) => {
  // A key the server refuses is of no use: forget it, and ask again.
  if (getKey()) setKey(null);
  renderKeybox();
  askKey(error.message);
});

document.getElementById('skip').addEventListener('click', (event) => {
  event.preventDefault();
  main.focus();
});

window.addEventListener('hashchange', route);
renderKeybox();
route();
