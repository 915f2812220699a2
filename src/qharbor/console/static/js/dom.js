// Small helpers to build the DOM and SVG from scripts (the CSP allows no inline markup).

const SVG_NS = 'http://www.w3.org/2000/svg';

function setAttributes(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'text') {
      el.textContent = String(value);
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
}

function appendAll(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/** An HTML element: h('a', {href: '/jobs'}, 'Jobs'). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttributes(el, attrs);
  appendAll(el, children);
  return el;
}

/** An SVG element. */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttributes(el, attrs);
  appendAll(el, children);
  return el;
}

/** Replace an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  appendAll(el, children);
  return el;
}

export function setTitle(title) {
  document.title = `${title} · qharbor`;
}

export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function fmtSeconds(value) {
  if (value === null || value === undefined) return '—';
  if (value < 1e-3) return `${(value * 1e6).toFixed(0)} µs`;
  if (value < 1) return `${(value * 1e3).toFixed(1)} ms`;
  return `${value.toFixed(2)} s`;
}

export function fmtNumber(value, digits = 3) {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  if (value !== 0 && (Math.abs(value) < 1e-3 || Math.abs(value) >= 1e5)) return value.toExponential(2);
  return Number(value.toFixed(digits)).toString();
}

export function statusBadge(status) {
  return h('span', {class: `status status-${String(status).toLowerCase()}`}, status);
}

/** A section with a heading; returns [section, body]. */
export function section(title, ...children) {
  const id = `s-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return h('section', {'aria-labelledby': id, class: 'card'}, h('h2', {id}, title), ...children);
}

/** A two-column table of label, value pairs. */
export function facts(rows) {
  return h('dl', {class: 'facts'}, rows.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '—')]));
}

/** A data table: columns are [heading, row => cell]. */
export function table(caption, columns, rows, {empty = 'Nothing yet.'} = {}) {
  if (!rows.length) return h('p', {class: 'muted'}, empty);
  return h('table', {},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, columns.map(([head]) => h('th', {scope: 'col'}, head)))),
    h('tbody', {}, rows.map((row) => h('tr', {}, columns.map(([, cell]) => h('td', {}, cell(row)))))));
}

export function errorBox(error) {
  const code = error && error.code ? `${error.code}: ` : '';
  return h('p', {class: 'error', role: 'alert'}, `${code}${error && error.message ? error.message : error}`);
}

/** Save text as a file the browser downloads. */
export function download(name, text, type = 'application/json') {
  const url = URL.createObjectURL(new Blob([text], {type}));
  const link = h('a', {href: url, download: name});
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** "done N of M" with a progress bar, for a job that reports its runs; null otherwise. */
export function progressOf(job) {
  const p = job && job.progress;
  if (!p || !p.total) return null;
  const text = `done ${p.done} of ${p.total}`;
  return h('span', {class: 'progress', 'data-done': p.done, 'data-total': p.total},
    h('progress', {max: p.total, value: p.done, 'aria-label': `Runs ${text}`}), ` ${text}`);
}
