// Reviewing results: the summary panel (grids within rules, household
// coverage, online rate, key-site coverage), the details of a clicked grid
// (properties and issues, lock) or of any other clicked feature, and the
// ranked proposals.

import { state, el, fill, $, fmt, pct, isPlanner } from './ui.js';
import * as map from './map.js';
import { label, restyleGrids, gridProperties } from './data.js';
import { showLocked } from './jobs.js';
import { bbox } from './geo.js';

const sum = (fc, k) => (fc?.features || []).reduce((s, f) => s + (Number(f.properties[k]) || 0), 0);

/** Fills the summary panel from the loaded layers. */
export function renderSummary() {
  const rows = [];
  const add = (zh, en, value) => rows.push(el('dt', {}, zh, el('span', { class: 'en' }, en)), el('dd', {}, value));
  const g = state.data.grids;
  if (g) {
    const within = g.features.filter((f) => f.properties._state === 'within').length;
    add('网格数', 'grids', fmt(g.features.length));
    add('符合规则', 'within rules', `${fmt(within)} / ${fmt(g.features.length)} (${pct(g.features.length ? within / g.features.length : null)})`);
    add('住户', 'households', fmt(sum(g, 'households')));
  } else if (state.tiled?.grids) {
    // Drawn from tiles; the counts come with the grids' GeoJSON, after the first frame.
    add('网格数', 'grids', fmt(state.metas.grids?.features));
    add('符合规则', 'within rules', el('span', { class: 'note' }, '加载中… loading…'));
  }
  const cov = state.data.coverage;
  if (cov) {
    const hh = sum(cov, 'households');
    add('住户覆盖率', 'household coverage', pct(hh ? sum(cov, 'covered_households') / hh : null));
    const cams = sum(cov, 'cameras');
    add('摄像机在线率', 'online rate', `${pct(cams ? sum(cov, 'cameras_online') / cams : null)} (${fmt(sum(cov, 'cameras_online'))}/${fmt(cams)})`);
    const sites = sum(cov, 'sites');
    if (sites) add('重点区域覆盖率', 'key sites covered', `${pct(sum(cov, 'sites_covered') / sites)} (${fmt(sum(cov, 'sites_covered'))}/${fmt(sites)})`);
  } else if (state.data.coverage_sites) {
    const s = state.data.coverage_sites.features;
    const c = s.filter((f) => f.properties.covered === true).length;
    add('重点区域覆盖率', 'key sites covered', `${pct(s.length ? c / s.length : null)} (${fmt(c)}/${fmt(s.length)})`);
  }
  if (state.data.gaps) add('盲区', 'gaps', fmt(state.data.gaps.features.length));
  if (state.data.proposals) add('建议点位', 'proposed cameras', fmt(state.data.proposals.features.length));
  if (!rows.length) rows.push(el('dt', { class: 'note' }, '暂无结果 ', el('span', { class: 'en' }, 'no results yet')), el('dd', {}, ''));
  fill($('#summary-list'), rows);
}

/** The ranked proposals, each zooming to its site. */
export function renderProposals() {
  const p = state.data.proposals;
  $('#proposals').hidden = !p || !p.features.length;
  if (!p) return;
  const items = [...p.features]
    .sort((a, b) => (a.properties.rank ?? 0) - (b.properties.rank ?? 0))
    .map((f) => {
      const q = f.properties;
      return el('li', { onclick: () => state.map.jumpTo({ center: f.geometry.coordinates, zoom: 17 }) },
        `+${fmt(q.households_gained)} 户`, el('span', { class: 'en' }, 'households'),
        q.sites_gained ? ` +${fmt(q.sites_gained)} 重点 sites` : '',
        q.cumulative_coverage !== undefined ? el('span', { class: 'note' }, ` → ${pct(q.cumulative_coverage)}`) : '');
    });
  fill($('#proposal-list'), items);
}

const HIDDEN = new Set(['issues_text', 'cameras_text']);

function propList(props) {
  const rows = [];
  for (const [k, v] of Object.entries(props)) {
    if (k.startsWith('_') || HIDDEN.has(k) || k === 'issues') continue;
    rows.push(el('dt', {}, k), el('dd', {}, typeof v === 'object' ? JSON.stringify(v) : String(v)));
  }
  return el('dl', {}, rows);
}

let selected = null;

/** Shows a grid's properties, issues and its lock in the details panel. */
export function showGrid(props) {
  if (selected !== null && state.map.getSource('grids')) state.map.setFeatureState(map.featureTarget('grids', selected), { selected: false });
  selected = props.code;
  state.map.setFeatureState(map.featureTarget('grids', selected), { selected: true });
  const st = props._state;
  const issues = Array.isArray(props.issues) ? props.issues : typeof props.issues === 'string' ? safeArray(props.issues) : [];
  const lock = el('input', { type: 'checkbox', id: 'lock-grid' });
  lock.checked = state.locked.has(String(props.code));
  lock.addEventListener('change', () => {
    if (lock.checked) state.locked.add(String(props.code));
    else state.locked.delete(String(props.code));
    sessionStorage.setItem(`wangge.locked.${state.dataset}`, JSON.stringify([...state.locked]));
    showLocked();
    restyleGrids();
  });
  fill($('#detail-body'),
    el('div', { class: 'code', id: 'detail-code' }, String(props.code)),
    el('div', {}, el('span', { class: `state ${st}` }, { within: '符合规则 within', below: '偏少 below', above: '超出 above' }[st] || st),
      ` ${fmt(props.households)} 户 households · ${fmt(props.persons)} 人 persons`),
    issues.length ? el('ul', { class: 'issues' }, issues.map((i) => el('li', {}, i))) : el('div', { class: 'note' }, '无问题 no issues'),
    isPlanner() ? el('label', { class: 'check' }, lock, '锁定此网格', el('span', { class: 'en' }, 'lock this grid for the next partition')) : null,
    propList(props));
  $('#detail').hidden = false;
}

function safeArray(s) {
  try {
    const a = JSON.parse(s);
    return Array.isArray(a) ? a : [s];
  } catch {
    return s ? s.split('; ') : [];
  }
}

/** Shows any other clicked feature. */
function showFeature(layer, props) {
  const [zh, en] = label(layer);
  fill($('#detail-body'), el('div', { class: 'code' }, zh, el('span', { class: 'en' }, en)), propList(props));
  $('#detail').hidden = false;
}

const CLICKABLE = ['proposals', 'coverage_sites', 'sites', 'cameras', 'candidates', 'households', 'grid_changes', 'gaps', 'grid_coverage', 'coverage', 'areas'];

let clicks = 0;

/** Map clicks: a grid first (unless a move is being picked), else the topmost other feature. */
export function wireClicks(isMoving) {
  const m = state.map;
  m.on('click', (e) => {
    if (isMoving()) return;
    const layers = ['grids', ...CLICKABLE].flatMap((n) => map.styleIds(n)).filter((id) => m.getLayer(id) && m.getLayoutProperty(id, 'visibility') !== 'none');
    const hits = m.queryRenderedFeatures(e.point, { layers });
    const point = hits.find((f) => !f.layer.id.startsWith('grids') && f.geometry.type === 'Point');
    const grid = hits.find((f) => f.layer.id === 'grids-fill');
    if (point) showFeature(point.layer.id.split('-')[0], point.properties);
    else if (grid) {
      // A tile-drawn grid carries no arrays (issues): its full properties are looked up.
      const code = grid.properties.code;
      clicks += 1;
      const click = clicks;
      gridProperties(code, grid.properties).then((p) => {
        if (click === clicks) showGrid(p);
      });
    } else if (hits.length) showFeature(hits[0].layer.id.split('-')[0], hits[0].properties);
  });
  for (const id of ['grids-fill', 'proposals-circle', 'cameras-circle', 'coverage_sites-circle']) {
    m.on('mouseenter', id, () => { m.getCanvas().style.cursor = 'pointer'; });
    m.on('mouseleave', id, () => { m.getCanvas().style.cursor = ''; });
  }
}

/** Zooms to a grid by code (used by the adjust panel). */
export function zoomToGrid(code) {
  const f = state.data.grids?.features.find((g) => String(g.properties.code) === String(code));
  if (f) map.fitTo(bbox(f.geometry));
}
