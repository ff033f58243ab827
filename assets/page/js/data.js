// Datasets (list, create, delete) and the current dataset's layers: loading
// each readable layer onto the map (vector tiles for the big point and
// footprint layers, and for a city's grids, when the server offers them;
// GeoJSON otherwise), the layer list with its toggles and GeoJSON downloads,
// and the layers the page derives (camera sectors, per-grid coverage, grid
// rule states).
//
// Grids drawn from tiles are coloured by a style expression (the rules per
// area, as `ruleState`), and their GeoJSON, which the panels need (summary,
// clicks, zooming, per-grid coverage), is fetched once the map has drawn its
// first frame, so a city's 10,000 grids are drawn without the browser first
// parsing the whole layer and cutting it into tiles itself.

import { api, enc, layerData, downloadLayer, ApiError } from './api.js';
import { state, el, fill, $, say, fmt, isPlanner, errorText } from './ui.js';
import * as map from './map.js';
import { cameraSectors, coverageByGrid, ruleState, bbox, PRESETS } from './geo.js';

/** Layers drawn from tiles when the server has them (city scale: 10⁶ features). */
const TILED = new Set(['households', 'buildings']);
/**
 * A grids layer of more features than this (a city's) is drawn from tiles;
 * fewer come as GeoJSON. `localStorage['wangge.tiledGridsAbove']` changes it
 * (the browser test draws the demo's grids from tiles with 0).
 */
const TILED_GRIDS_ABOVE = Number(localStorage.getItem('wangge.tiledGridsAbove') ?? 2000);
/** Per-grid coverage is computed in the page up to this many household locations. */
const MAX_LOCAL_HOUSEHOLDS = 200_000;
/** Shown when the dataset loads; the rest can be switched on. */
const DEFAULT_ON = new Set(['areas', 'grids', 'camera_sectors', 'cameras', 'coverage_sites', 'proposals', 'barriers', 'rejected', 'move_preview', 'grid_changes']);

const NAMES = {
  areas: ['区域', 'areas'], grids: ['网格', 'grids'], grid_changes: ['普查变化', 'census changes'],
  adopted_grids: ['已采用网格', 'adopted grids'], households: ['住户', 'households'], buildings: ['建筑', 'buildings'],
  barriers: ['障碍线', 'barriers'], cameras: ['摄像机', 'cameras'], camera_sectors: ['摄像机视域', 'camera sectors'],
  sites: ['重点区域', 'key sites'], candidates: ['候选点位', 'candidate sites'], coverage: ['区域覆盖率', 'coverage per area'],
  grid_coverage: ['网格覆盖率', 'coverage per grid'], gaps: ['盲区', 'gaps'], coverage_sites: ['重点区域覆盖', 'key site coverage'],
  coverage_households: ['住户覆盖', 'household coverage'], coverage_cameras: ['摄像机使用', 'camera use'], proposals: ['建议点位', 'proposals'],
};
export const label = (n) => NAMES[n] || [n, n];

/** Fills the dataset selector; keeps the current one when it still exists. */
export async function refreshDatasets() {
  try {
    const r = await api('/api/v1/datasets');
    state.datasets = r.datasets.map((d) => d.name);
  } catch (e) {
    say('#datasets-msg', 'error', ...errorText(e, { zh: '数据集列表', en: 'the dataset list' }));
    return;
  }
  if (state.dataset && !state.datasets.includes(state.dataset)) state.datasets.push(state.dataset);
  const sel = $('#dataset-select');
  fill(sel, state.datasets.map((d) => el('option', { value: d }, d)));
  if (!state.dataset && state.datasets.length) state.dataset = state.datasets[0];
  if (state.dataset) sel.value = state.dataset;
  if (!state.datasets.length) say('#datasets-msg', 'info', '还没有数据集', isPlanner() ? 'no datasets yet: create one and upload layers' : 'no datasets yet');
}

export function wireDatasets(onChange) {
  $('#dataset-select').addEventListener('change', (e) => onChange(e.target.value));
  $('#dataset-new').addEventListener('submit', (e) => {
    e.preventDefault();
    const name = $('#dataset-name').value.trim();
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) {
      say('#datasets-msg', 'error', '名称只能用字母、数字、- 和 _', 'use letters, digits, - and _');
      return;
    }
    if (!state.datasets.includes(name)) state.datasets.push(name);
    $('#dataset-name').value = '';
    fill($('#dataset-select'), state.datasets.map((d) => el('option', { value: d }, d)));
    $('#dataset-select').value = name;
    say('#datasets-msg', 'ok', `已新建 ${name}，请上传图层`, 'created: upload its layers (it is stored with its first layer)');
    onChange(name);
  });
  $('#dataset-delete').addEventListener('click', async () => {
    const d = state.dataset;
    if (!d || !confirm(`删除数据集 ${d} 及其全部图层？ Delete dataset ${d} and all its layers?`)) return;
    try {
      await api(`/api/v1/datasets/${enc(d)}`, { method: 'DELETE' });
      state.datasets = state.datasets.filter((x) => x !== d);
      state.dataset = null;
      say('#datasets-msg', 'ok', `已删除 ${d}`, 'deleted');
      await refreshDatasets();
      onChange(state.dataset);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        state.datasets = state.datasets.filter((x) => x !== d);
        state.dataset = null;
        await refreshDatasets();
        onChange(state.dataset);
      } else say('#datasets-msg', 'error', ...errorText(e, { zh: '删除', en: 'deleting' }));
    }
  });
}

/** Removes every dataset layer from the map. */
function clearMap() {
  for (const n of map.ORDER) map.removeLayer(n);
  state.data = {};
  state.layers = [];
  state.metas = {};
  state.tooBig = [];
  state.tileNote = false;
  state.tiled = {};
}

/** Counts dataset loads, so a late answer for an earlier one is dropped. */
let loads = 0;
/** Called when tile-drawn grids' GeoJSON has arrived (main.js re-renders the panels). */
let gridsArrived = () => {};
export function onGridDetails(f) {
  gridsArrived = f;
}

/**
 * What showing dataset `d` takes from the server: its layers' list, the
 * rules its grids were made with, and each drawn layer's tileset document
 * or GeoJSON. Nothing here needs the map, so the page fetches the first
 * dataset's while the map starts (its WebGL context and worker take longer
 * than these requests); `loadDataset` then puts them on the map.
 */
export async function fetchDataset(d) {
  let info;
  try {
    info = await api(`/api/v1/datasets/${enc(d)}`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) info = { layers: [], jobs: [] };
    else return { d, error: e };
  }
  const metas = Object.fromEntries(info.layers.map((l) => [l.layer, l]));
  // A city's households start switched off, and their tileset document
  // waits for the server to index every household: asked for after the
  // first frame (`hiddenLayersAfterFirstFrame`), not before it.
  const fetchNow = (l) => (startsHidden(l.layer) ? { deferred: true } : fetchLayer(d, l.layer, metas));
  const [rules, ...layers] = await Promise.all([fetchRules(metas.grids?.job), ...info.layers.map(fetchNow)]);
  return { d, info, metas, rules, layers: info.layers.map((l, i) => [l.layer, layers[i]]) };
}

/** Loads dataset `d`: its layers onto the map and into the layer list (`fetched`: its `fetchDataset`, when under way). */
export async function loadDataset(d, fetched) {
  clearMap();
  const load = ++loads;
  state.dataset = d;
  state.rules = null;
  state.areaRules = {};
  state.locked = new Set(JSON.parse(sessionStorage.getItem(`wangge.locked.${d}`) || '[]'));
  if (!d) {
    renderLayerList();
    return;
  }
  const got = await (fetched || fetchDataset(d));
  if (load !== loads) return; // another dataset was asked for meanwhile
  if (got.error) {
    say('#layers-msg', 'error', ...errorText(got.error, { zh: '数据集', en: 'the dataset' }));
    return;
  }
  const { info } = got;
  state.layers = info.layers.map((l) => l.layer);
  state.metas = got.metas;
  state.jobs = info.jobs || [];
  // The view first, from the layers' extents, so tiles are asked for it only.
  const b = ['areas', 'grids', 'households'].map((l) => state.metas[l]?.extent).find((x) => Array.isArray(x) && x.length === 4);
  if (b) map.fitToWgs84(b);
  state.rules = got.rules.rules;
  state.areaRules = got.rules.areaRules;
  // Every layer's data first (grids' rule states read the areas' kinds), then the map.
  for (const [layer, l] of got.layers) if (l?.fc) state.data[layer] = l.fc;
  for (const [layer, l] of got.layers) showLayer(layer, l);
  derive();
  if (state.tiled.grids) restyleGrids();
  if (!b) map.fitTo(bbox(state.data.grids || state.data.areas));
  renderLayerList();
  map.renderLegend();
  if (state.tiled.grids) state.gridsPending = gridDetailsAfterFirstFrame(d, load);
  const later = got.layers.filter(([, l]) => l?.deferred).map(([layer]) => layer);
  if (later.length) hiddenLayersAfterFirstFrame(d, load, later, got.metas);
}

/** Tiled layers the map starts with switched off (households, buildings). */
const startsHidden = (layer) => TILED.has(layer) && !DEFAULT_ON.has(layer);

/** Resolves once the map has drawn its first frame (is idle). */
async function firstFrame() {
  const m = state.map;
  if (!(m.loaded() && m.areTilesLoaded())) await new Promise((resolve) => m.once('idle', resolve));
}

/**
 * The layers that start switched off, put on the map once its first frame
 * is drawn, shown only if the planner switched them on meanwhile.
 */
async function hiddenLayersAfterFirstFrame(d, load, layers, metas) {
  await firstFrame();
  for (const layer of layers) {
    if (load !== loads) return;
    const l = await fetchLayer(d, layer, metas).catch((e) => {
      const [zh, en] = label(layer);
      say('#layers-msg', 'error', ...errorText(e, { zh, en }));
      return null;
    });
    if (load !== loads) return;
    showLayer(layer, l);
    const box = document.querySelector(`#layers input[data-layer="${layer}"]`);
    map.setVisible(layer, !!box?.checked);
  }
  renderLayerList();
  map.renderLegend();
}

/**
 * The GeoJSON of tile-drawn grids, fetched once the map is idle (its first
 * frame drawn): the panels' data, not drawn again.
 */
async function gridDetailsAfterFirstFrame(d, load) {
  await firstFrame();
  if (load !== loads) return;
  const fc = await layerData(d, 'grids').catch((e) => {
    say('#layers-msg', 'error', ...errorText(e, { zh: '网格属性', en: "the grids' properties" }));
    return null;
  });
  if (load !== loads || !fc) return;
  state.data.grids = prepare('grids', fc);
  state.gridsPending = null;
  deriveGridCoverage();
  renderLayerList();
  gridsArrived();
}

/**
 * The rules the current grids were made with (null: the per-area presets),
 * and the areas' own rules of that job (area code → rules).
 */
async function fetchRules(job) {
  if (!job) return { rules: null, areaRules: {} };
  try {
    const j = await api(`/api/v1/jobs/${enc(job)}`);
    return { rules: j.params?.rules || null, areaRules: j.params?.area_rules || {} };
  } catch {
    return { rules: null, areaRules: {} };
  }
}

/**
 * What layer `layer` of dataset `d` is drawn from: `{ tiles }` (a tileset
 * document), `{ fc }` (GeoJSON; `tileNote` when the server offers no
 * tiles), `{ tooBig }`, or null when the page does not draw it.
 */
async function fetchLayer(d, layer, metas) {
  const big = TILED.has(layer) || (layer === 'grids' && (metas.grids?.features || 0) > TILED_GRIDS_ABOVE);
  let tileNote = false;
  if (big) {
    try {
      const ts = await api(`/collections/${enc(`${d}.${layer}`)}/tiles/${map.tileMatrixSet()}`);
      if (ts && Array.isArray(ts.tiles) && ts.tiles.length) return { tiles: ts };
    } catch (e) {
      if (!(e instanceof ApiError) || (e.status !== 404 && e.status !== 405)) throw e;
      // No tiles on this server: the layer comes as GeoJSON below.
      tileNote = true;
    }
  }
  if (!map.ORDER.includes(layer) && layer !== 'coverage_households' && layer !== 'coverage_cameras') return null;
  // A city's households as one GeoJSON document would hold the browser for
  // minutes: without tiles such a layer is listed (and downloadable), not drawn.
  if ((metas[layer]?.features || 0) > MAX_LOCAL_HOUSEHOLDS) return { tooBig: true, tileNote };
  const fc = await layerData(d, layer, map.crsParam());
  return { fc, tileNote };
}

/** Puts one fetched layer (`fetchLayer`'s answer) on the map. */
function showLayer(layer, l) {
  if (!l) return;
  if (l.tileNote) state.tileNote = true;
  if (l.tiles) {
    if (layer === 'grids') state.gridFields = l.tiles.vector_layers?.[0]?.fields || null;
    map.setTiles(layer, l.tiles);
    state.tiled = { ...(state.tiled || {}), [layer]: true };
  } else if (l.tooBig) state.tooBig = [...(state.tooBig || []), layer];
  else if (l.fc && map.ORDER.includes(layer)) map.setGeojson(layer, prepare(layer, l.fc));
}

const areaKinds = () => new Map((state.data.areas?.features || []).map((a) => [String(a.properties.code), a.properties.kind]));

/** The rules of a grid's area: its own, else the job's, else its kind's preset (as the engine). */
function rulesOf(parent, kinds) {
  return state.areaRules?.[String(parent)] || state.rules || PRESETS[kinds.get(String(parent)) === 'rural' ? 'rural' : 'urban'];
}

/** A grid's properties with what the panels and styles read: rule state and lock. */
export function withState(p, kinds = areaKinds()) {
  p._state = ruleState(p, rulesOf(p.parent_code, kinds));
  p._locked = state.locked.has(String(p.code)) || p.locked === true;
  return p;
}

/** Properties the styles read: rule state and lock of grids. */
function prepare(layer, fc) {
  if (layer !== 'grids') return fc;
  const kinds = areaKinds();
  for (const f of fc.features) withState(f.properties, kinds);
  return fc;
}

/** `ruleState` as a style expression over a tile's grid properties. */
function ruleStateExpression() {
  const kinds = areaKinds();
  const codes = new Set([...Object.keys(state.areaRules || {}), ...kinds.keys()]);
  const NONE = 1e15;
  // One rule value per area code where it differs from the default.
  const value = (key, none) => {
    const dflt = rulesOf(undefined, kinds)[key] || none;
    const pairs = [];
    for (const c of codes) {
      const v = rulesOf(c, kinds)[key] || none;
      if (v !== dflt) pairs.push(c, v);
    }
    return pairs.length ? ['match', ['to-string', ['get', 'parent_code']], ...pairs, dflt] : dflt;
  };
  const n = ['to-number', ['get', 'households'], 0];
  const text = ['downcase', ['to-string', ['coalesce', ['get', 'issues_text'], '']]];
  return ['case',
    ['==', ['to-string', ['get', 'within_rules']], 'true'], 'within',
    ['<', n, value('min_households', 0)], 'below',
    ['any', ['>', n, value('max_households', NONE)], ['>', ['to-number', ['get', 'persons'], 0], value('max_persons', NONE)]], 'above',
    ['any', ...['fewer', 'below', 'less than', 'under', 'too few'].map((w) => ['in', w, text])], 'below',
    'above'];
}

/** Re-colours the grids (after a lock changes). */
export function restyleGrids() {
  if (state.tiled?.grids) {
    // Nothing locked (no lock in the page, no `locked` field in the tiles):
    // the edges' colour and width are constants, not values the map's
    // worker writes for every vertex of every grid.
    const lockable = state.locked.size > 0 || !state.gridFields || 'locked' in state.gridFields;
    const locked = lockable ? ['any', ['==', ['get', 'locked'], true], ['in', ['to-string', ['get', 'code']], ['literal', [...state.locked]]]] : false;
    map.setGridPaint(ruleStateExpression(), locked);
    if (state.data.grids) prepare('grids', state.data.grids);
  } else if (state.data.grids) map.setGeojson('grids', prepare('grids', state.data.grids));
}

/**
 * A grid's full properties (with rule state): from the grids' GeoJSON when
 * the page has it, else the item from the API (a tile holds no arrays, such
 * as `issues`), else what the map drew.
 */
export async function gridProperties(code, drawn) {
  const f = state.data.grids?.features.find((g) => String(g.properties.code) === String(code));
  if (f) return f.properties;
  try {
    const item = await api(`/collections/${enc(`${state.dataset}.grids`)}/items/${enc(String(code))}`);
    state.itemFetches = (state.itemFetches || 0) + 1;
    return withState({ ...item.properties });
  } catch {
    return withState({ ...drawn });
  }
}

/** Derived layers: camera sectors, per-grid household coverage. */
function derive() {
  const cams = state.data.coverage_cameras || state.data.cameras;
  if (cams) {
    // The coverage layer of cameras carries `online` as the engine used it.
    map.setGeojson('camera_sectors', cameraSectors(cams));
    if (!state.data.cameras) map.setGeojson('cameras', cams);
  }
  deriveGridCoverage();
  if (state.data.coverage) {
    for (const f of state.data.coverage.features) f.properties._cov = f.properties.household_coverage;
    map.setGeojson('coverage', state.data.coverage);
  }
  for (const n of map.ORDER) if (!DEFAULT_ON.has(n)) map.setVisible(n, false);
  // Coverage per grid replaces the rule colours when switched on; start with rule state.
}

/** Household coverage per grid, from the per-household coverage layer. */
function deriveGridCoverage() {
  const hh = state.data.coverage_households;
  if (state.data.grids && hh && hh.features.length <= MAX_LOCAL_HOUSEHOLDS) {
    const by = coverageByGrid(state.data.grids, hh);
    const features = state.data.grids.features.map((g) => {
      const c = by.get(g.properties.code) || { households: 0, covered: 0 };
      return { type: 'Feature', geometry: g.geometry, properties: { code: g.properties.code, households: c.households, covered_households: c.covered, _cov: c.households ? c.covered / c.households : null } };
    });
    state.data.grid_coverage = { type: 'FeatureCollection', features };
    const shown = state.map.getSource('grid_coverage') && map.isShown('grid_coverage');
    map.setGeojson('grid_coverage', state.data.grid_coverage);
    map.setVisible('grid_coverage', shown);
  }
}

/** The layer list: a toggle per shown layer, its count, and a download for stored layers. */
export function renderLayerList() {
  const list = $('#layer-list');
  const rows = [];
  const shown = map.ORDER.filter((n) => state.map.getSource(n) && !['rejected', 'move_preview'].includes(n));
  for (const n of shown) {
    const [zh, en] = label(n);
    const fc = state.data[n];
    const count = fc ? fmt(fc.features.length) : state.metas?.[n] ? fmt(state.metas[n].features) : '';
    const cb = el('input', { type: 'checkbox', 'data-layer': n, onchange: (e) => toggle(n, e.target.checked) });
    cb.checked = map.isShown(n);
    const tiles = state.tiled?.[n] ? el('span', { class: 'count' }, '瓦片 tiles') : null;
    rows.push(el('li', {}, el('label', {}, cb, zh, el('span', { class: 'en' }, en)), tiles, el('span', { class: 'count' }, count),
      state.layers.includes(n) ? downloadButton(n) : null));
  }
  // Stored layers that are not drawn (per-household coverage, camera use) can still be downloaded.
  for (const n of state.layers.filter((l) => !shown.includes(l))) {
    const [zh, en] = label(n);
    rows.push(el('li', {}, el('label', {}, zh, el('span', { class: 'en' }, en)), el('span', { class: 'count' }, fmt(state.metas[n]?.features)), downloadButton(n)));
  }
  fill(list, rows);
  if (!state.dataset) say('#layers-msg', 'info', '未选择数据集', 'no dataset selected');
  else if (!state.layers.length) say('#layers-msg', 'info', '此数据集还没有可读的图层', 'this dataset has no layers you may read yet');
  else if (state.tooBig.length) say('#layers-msg', 'info', `图层过大，未在地图上显示：${state.tooBig.join(', ')}`, 'too big to draw without vector tiles (download them instead)');
  else if (state.tileNote) say('#layers-msg', 'info', '服务器未提供矢量瓦片，大图层以 GeoJSON 加载', 'the server offers no vector tiles: big layers load as GeoJSON');
  else say('#layers-msg', 'info', '');
}

/** Switches a layer; a coverage choropleth takes the place of the grids' rule colours. */
function toggle(name, on) {
  map.setVisible(name, on);
  if (name === 'grid_coverage' || name === 'coverage') map.setGridFill(!map.isShown('grid_coverage') && !map.isShown('coverage'));
  map.renderLegend();
}

function downloadButton(layer) {
  return el('button', {
    type: 'button', class: 'small', title: `下载 ${layer}.geojson · download`, 'data-download': layer,
    onclick: () => downloadLayer(state.dataset, layer).catch((e) => say('#layers-msg', 'error', ...errorText(e, { zh: '下载', en: 'the download' }))),
  }, '⇩ GeoJSON');
}
