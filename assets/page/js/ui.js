// Small DOM helpers and the page's shared state. Labels are bilingual:
// Chinese first, English second.

/** The page's state, shared by the modules (and read by the browser test). */
export const state = {
  session: { tokens: false, signed_in: false, role: null },
  dataset: null,
  datasets: [],
  layers: [], // names of the current dataset's layers the caller may read
  data: {}, // layer name -> FeatureCollection loaded as GeoJSON
  rules: null, // rules of the latest partition (null: per-area presets)
  areaRules: {}, // the latest partition's rules of their own for some areas, by area code
  locked: new Set(),
  map: null,
};

export const isPlanner = () => state.session.role === 'planner';

/** Creates an element: el('div', {class: 'x', onclick: f}, child, 'text'). */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (v === true) e.setAttribute(k, '');
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

/** A bilingual label: Chinese, then English in a quieter span. */
export function t(zh, en) {
  return el('span', { class: 'bi' }, zh, el('span', { class: 'en' }, en));
}

export const $ = (sel, root = document) => root.querySelector(sel);

/** Replaces the children of `node`. */
export function fill(node, ...children) {
  node.replaceChildren();
  for (const c of children.flat()) if (c) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

/** Shows a message in a section's message line; kind: 'info' | 'ok' | 'error'. */
export function say(target, kind, zh, en = '') {
  const node = typeof target === 'string' ? $(target) : target;
  if (!node) return;
  node.className = `msg ${kind}`;
  fill(node, zh, en ? el('span', { class: 'en' }, en) : null);
}

export const fmt = (n, digits = 0) =>
  n === null || n === undefined || Number.isNaN(n)
    ? '–'
    : Number(n).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export const pct = (x) => (x === null || x === undefined || Number.isNaN(x) ? '–' : `${(x * 100).toFixed(1)}%`);

/** Hides planner-only controls (class `planner-only`) from viewers. */
export function applyRole() {
  document.body.classList.toggle('viewer', !isPlanner());
  for (const n of document.querySelectorAll('.planner-only')) n.hidden = !isPlanner();
}

/** A message for an error from the API, naming a missing endpoint plainly. */
export function errorText(e, what) {
  if (e && e.missing) {
    return [`此服务器不支持${what.zh}`, `this server does not offer ${what.en} (HTTP ${e.status})`];
  }
  if (e && e.status === 403) return ['无权限', `not allowed: ${e.message}`];
  if (e && e.status === 401) return ['请重新登录', `sign in again: ${e.message}`];
  return ['出错', e ? e.message : 'error'];
}
