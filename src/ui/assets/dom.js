// Building the page without a framework: elements from data, never from HTML strings, so that a memory's
// text is always text (the CSP forbids inline script besides).

const SVG_NS = 'http://www.w3.org/2000/svg';

function build(element, attrs, children) {
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') element.addEventListener(name.slice(2), value);
    else if (name === 'value' && 'value' in element) element.value = value;
    else if (name === 'checked' && 'checked' in element) element.checked = Boolean(value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** An HTML element: h('a', {href: '#/'}, 'text', child, …). */
export const h = (tag, attrs, ...children) => build(document.createElement(tag), attrs, children);

/** An SVG element. */
export const s = (tag, attrs, ...children) => build(document.createElementNS(SVG_NS, tag), attrs, children);

/** Replaces a node's children; like h(), skips false, null and undefined and flattens arrays. */
export const fill = (node, ...children) => build(clear(node), {}, children);

export function clear(node) {
  node.replaceChildren();
  return node;
}

/** A route's address part: encoded so that any id or name survives the hash. */
export const enc = encodeURIComponent;

export const nsHref = (ns, page, ...rest) => `#/ns/${enc(ns)}/${page}${rest.map((part) => `/${enc(part)}`).join('')}`;

export function fmtNumber(x, digits = 4) {
  if (typeof x !== 'number' || !Number.isFinite(x)) return x === null || x === undefined ? '—' : String(x);
  if (Number.isInteger(x)) return String(x);
  return x.toFixed(digits);
}

export function fmtTime(value) {
  if (value === null || value === undefined) return '—';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function fmtSeconds(seconds) {
  const units = [
    ['d', 86400],
    ['h', 3600],
    ['min', 60],
  ];
  for (const [unit, size] of units) if (seconds >= size) return `${fmtNumber(seconds / size, seconds % size === 0 ? 0 : 1)} ${unit}`;
  return `${fmtNumber(seconds, 1)} s`;
}

export const json = (value) => JSON.stringify(value, null, 2);

/** A labelled form control: the label wraps the control so that a click or a screen reader finds it. */
export function field(label, control, hint) {
  return h('label', { class: 'field' }, h('span', { class: 'label' }, label), control, hint && h('span', { class: 'hint' }, hint));
}

/** A table of rows; `columns` are [heading, (row) => cell content]. */
export function table(columns, rows, attrs = {}) {
  return h(
    'div',
    { class: 'scroll' },
    h(
      'table',
      attrs,
      h('thead', {}, h('tr', {}, columns.map(([heading]) => h('th', { scope: 'col' }, heading)))),
      h('tbody', {}, rows.map((row) => h('tr', {}, columns.map(([, cell]) => h('td', {}, cell(row)))))),
    ),
  );
}

/** Text with the given words marked: `words` are lower-case query words. */
export function highlight(text, words) {
  if (!text) return [];
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(/[\p{L}\p{N}]+/gu)) {
    if (!matches(match[0].toLowerCase(), words)) continue;
    parts.push(text.slice(last, match.index), h('mark', {}, match[0]));
    last = match.index + match[0].length;
  }
  parts.push(text.slice(last));
  return parts;
}

/** A query's words worth marking: two or more characters, or a digit. */
export function queryWords(query) {
  return [...new Set((query.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => w.length > 2 || /\d/.test(w)))];
}

// "robot" marks "robots" and "robotic": close to what the keyword index's stemming matches, without its tables.
function matches(word, words) {
  return words.some((q) => word === q || (q.length >= 4 && word.startsWith(q)) || (word.length >= 4 && q.startsWith(word)));
}
