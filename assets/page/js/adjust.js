// Adjusting and adopting grids: move a cell from its grid to a neighbouring
// one (a dry run first shows both grids' households, rule state and
// contiguity; then apply), the census-update change view, and adoption
// (versions with who and when). These endpoints are newer than the rest of
// the API: a server without them answers 404 and the page says so.

import { api, enc, ApiError } from './api.js';
import { state, el, fill, $, say, fmt, isPlanner, errorText } from './ui.js';
import * as map from './map.js';

let move = null; // {step: 'cell' | 'target', lon, lat}

export const isMoving = () => move !== null;

export function wireAdjust(reload) {
  $('#move-start').addEventListener('click', () => {
    if (move) return endMove();
    move = { step: 'cell' };
    document.body.classList.add('moving');
    $('#move-help').hidden = false;
    fill($('#move-result'));
    say('#adjust-msg', 'info', '点击要移动的单元', 'click the cell to move');
  });
  state.map.on('click', (e) => {
    if (!move) return;
    // The map may be drawn in GCJ-02: the API takes WGS84.
    const [lng, lat] = map.fromMap([e.lngLat.lng, e.lngLat.lat]);
    if (move.step === 'cell') {
      const from = gridAt(e.point);
      if (!from) return say('#adjust-msg', 'error', '此处没有网格', 'no grid here');
      move = { step: 'target', lon: lng, lat, from };
      say('#adjust-msg', 'info', `从 ${from} 移出；请点击相邻网格`, 'now click the neighbouring grid to move it to');
    } else if (move.step === 'target') {
      const to = gridAt(e.point);
      if (!to || to === move.from) return say('#adjust-msg', 'error', '请点击另一个相邻网格', 'click another, neighbouring grid');
      dryRun({ lon: move.lon, lat: move.lat, to }, reload);
    }
  });
  $('#adopt-btn').addEventListener('click', () => adopt(reload));
}

function gridAt(point) {
  const hits = state.map.queryRenderedFeatures(point, { layers: ['grids-fill'].filter((id) => state.map.getLayer(id)) });
  return hits.length ? String(hits[0].properties.code) : null;
}

function endMove() {
  move = null;
  document.body.classList.remove('moving');
  $('#move-help').hidden = true;
  map.setGeojson('move_preview', null);
}

const stateBadge = (s) => el('span', { class: `state ${s}` }, { within: '符合 within', below: '偏少 below', above: '超出 above' }[s] || s);

async function dryRun(req, reload) {
  const path = `/api/v1/datasets/${enc(state.dataset)}/grids/move`;
  let r;
  try {
    r = await api(path, { method: 'POST', json: { ...req, dry_run: true } });
  } catch (e) {
    endMove();
    if (e instanceof ApiError && e.status === 422) return say('#adjust-msg', 'error', '不能这样移动', e.message);
    return say('#adjust-msg', 'error', ...errorText(e, { zh: '移动单元', en: 'moving cells' }));
  }
  move.step = 'review';
  if (r.grids) map.setGeojson('move_preview', map.fcToMap(r.grids));
  const row = (zh, g) => el('tr', {}, el('td', {}, zh, ' ', el('strong', {}, g.code)), el('td', {}, fmt(g.households)), el('td', {}, fmt(g.persons)),
    el('td', {}, stateBadge(g.state)), el('td', {}, g.contiguous ? '连通 ✓' : '不连通 ✗'));
  const ok = r.from.contiguous && r.to.contiguous;
  fill($('#move-result'),
    el('table', { class: 'move-table' },
      el('thead', {}, el('tr', {}, el('th', {}, '网格 grid'), el('th', {}, '户 hh'), el('th', {}, '人 persons'), el('th', {}, '规则 rules'), el('th', {}, '连通 contiguous'))),
      el('tbody', {}, row('移出 from', r.from), row('移入 to', r.to))),
    el('div', { class: 'row' },
      el('button', { type: 'button', id: 'move-apply', disabled: !ok, onclick: () => apply(req, reload) }, '应用 ', el('span', { class: 'en' }, 'Apply')),
      el('button', { type: 'button', class: 'danger', onclick: () => { endMove(); fill($('#move-result')); say('#adjust-msg', 'info', ''); } }, '放弃 ', el('span', { class: 'en' }, 'Discard'))));
  say('#adjust-msg', ok ? 'info' : 'error', ok ? '预览：确认后应用' : '移动会使网格不连通', ok ? 'preview: apply to keep it' : 'the move would leave a grid in pieces');
}

async function apply(req, reload) {
  try {
    await api(`/api/v1/datasets/${enc(state.dataset)}/grids/move`, { method: 'POST', json: { ...req, dry_run: false } });
    endMove();
    fill($('#move-result'));
    say('#adjust-msg', 'ok', '已移动', 'moved');
    await reload();
  } catch (e) {
    say('#adjust-msg', 'error', ...errorText(e, { zh: '移动单元', en: 'moving cells' }));
  }
}

/** The adoption history and the census change view of the current dataset. */
export async function renderAdoption() {
  renderChanges();
  const list = $('#adoptions');
  fill(list);
  if (!state.dataset) return;
  try {
    const r = await api(`/api/v1/datasets/${enc(state.dataset)}/adoptions`);
    const items = (r.adoptions || []).slice().reverse().map((a) =>
      el('li', {}, `v${a.version}${a.version === r.current ? ' (当前 current)' : ''} · ${a.adopted_by} · ${a.adopted_at} · ${fmt(a.grids)} 网格 grids`));
    fill(list, items.length ? items : [el('li', { class: 'note' }, '尚未采用 nothing adopted yet')]);
    say('#adopt-msg', 'info', '');
  } catch (e) {
    if (e instanceof ApiError && e.missing) say('#adopt-msg', 'info', '此服务器不支持网格采用', 'this server does not offer adoption (no /adoptions endpoint)');
    else if (!(e instanceof ApiError && e.status === 403)) say('#adopt-msg', 'error', ...errorText(e, { zh: '采用记录', en: 'adoptions' }));
  }
  $('#adopt-btn').disabled = !state.layers.includes('grids');
}

/** Counts of a census update's changes, shown before adopting. */
function renderChanges() {
  const c = state.data.grid_changes;
  if (!c) return fill($('#changes'));
  const counts = {};
  let moved = 0;
  for (const f of c.features) {
    const p = f.properties;
    counts[p.change] = (counts[p.change] || 0) + 1;
    moved += Number(p.moved_in ?? 0) || 0;
  }
  const names = { unchanged: '未变', adjusted: '调整', new: '新增', retired: '撤销' };
  fill($('#changes'),
    el('div', { class: 'note' }, '普查更新变化 census-update changes (review before adopting):'),
    el('ul', {}, Object.entries(counts).map(([k, n]) => el('li', {}, el('span', { class: 'sw' }), `${names[k] || k} ${k}: ${fmt(n)}`))),
    moved ? el('div', { class: 'note' }, `迁移住户 households moved: ${fmt(moved)}`) : null);
}

async function adopt(reload) {
  if (!isPlanner() || !state.dataset) return;
  try {
    const r = await api(`/api/v1/datasets/${enc(state.dataset)}/adoptions`, { method: 'POST', json: { layer: 'grids' } });
    say('#adopt-msg', 'ok', `已采用，版本 v${r.version}`, `adopted as version ${r.version} by ${r.adopted_by}`);
    await reload();
  } catch (e) {
    say('#adopt-msg', 'error', ...errorText(e, { zh: '网格采用', en: 'adoption' }));
  }
}
