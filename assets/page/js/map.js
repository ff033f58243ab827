// The map: MapLibre GL JS on a plain background, or on the operator's base
// map when the server names one (`/ui/session`); one source per dataset layer
// (GeoJSON for small layers, vector tiles for big ones when the server offers
// them) and the styles that show rule state, coverage, gaps, camera sectors
// and proposals. Requests to the server's own origin carry the signed-in
// token. Over a GCJ-02 base map (AMap, Tencent) everything is drawn in GCJ-02:
// the server sends layers and tiles moved (`crs=…/crs/GCJ02`,
// `GCJ02WebMercatorQuad`), and what the page places itself goes through
// toMap / fromMap.

import * as maplibregl from '/ui/vendor/maplibre-gl/maplibre-gl.mjs';
import { authHeaders } from './api.js';
import { state, el, fill, $ } from './ui.js';
import { wgsToGcj, gcjToWgs, positions } from './geo.js';

/** Is the map drawn in GCJ-02 (a GCJ-02 base map is configured)? */
export const inGcj02 = () => state.session?.basemap?.crs === 'GCJ02';
/** A WGS84 [lon, lat] as the map draws it. */
export const toMap = (p) => (inGcj02() ? wgsToGcj(p) : p);
/** A map [lng, lat] back in WGS84 (what the API takes). */
export const fromMap = (p) => (inGcj02() ? gcjToWgs(p) : p);
/** The `crs` query value for layers the page draws ('' when WGS84 as stored). */
export const crsParam = () => (inGcj02() ? `crs=${encodeURIComponent(`${location.origin}/crs/GCJ02`)}` : '');
/** The tile matrix set the page draws tiles from. */
export const tileMatrixSet = () => (inGcj02() ? 'GCJ02WebMercatorQuad' : 'WebMercatorQuad');

/** A WGS84 FeatureCollection (an API answer) moved to the map's CRS. */
export function fcToMap(fc) {
  if (!fc || !inGcj02()) return fc;
  const copy = JSON.parse(JSON.stringify(fc));
  for (const f of copy.features || []) {
    for (const p of positions(f.geometry)) {
      const [x, y] = wgsToGcj(p);
      p[0] = x;
      p[1] = y;
    }
  }
  return copy;
}

export const COLORS = { within: '#3a9d5d', below: '#e0a526', above: '#d4463b', locked: '#1f5f8b' };
export const CHANGE_COLORS = { unchanged: '#9aa7b4', adjusted: '#e0a526', new: '#3a7bd5', retired: '#d4463b' };
const RAMP = ['interpolate', ['linear'], ['coalesce', ['to-number', ['get', '_cov']], 0], 0, '#d4463b', 0.5, '#f2c14e', 1, '#3a9d5d'];
const EMPTY = { type: 'FeatureCollection', features: [] };
const FONT = ['sans-serif'];

/** Style layers per page layer, bottom to top; `src` is the source id. */
const STYLES = {
  areas: [
    { id: 'areas-fill', type: 'fill', paint: { 'fill-color': '#dfe7ee', 'fill-opacity': 0.5 } },
    { id: 'areas-line', type: 'line', paint: { 'line-color': '#34495e', 'line-width': 2 } },
  ],
  coverage: [
    { id: 'coverage-fill', type: 'fill', paint: { 'fill-color': RAMP, 'fill-opacity': 0.55 } },
    { id: 'coverage-line', type: 'line', paint: { 'line-color': '#555', 'line-width': 1 } },
  ],
  grid_coverage: [{ id: 'grid_coverage-fill', type: 'fill', paint: { 'fill-color': RAMP, 'fill-opacity': 0.6 } }],
  buildings: [{ id: 'buildings-fill', type: 'fill', paint: { 'fill-color': '#a7b0ba', 'fill-opacity': 0.6 } }],
  grids: [
    {
      id: 'grids-fill', type: 'fill',
      paint: {
        'fill-color': ['match', ['get', '_state'], 'within', COLORS.within, 'below', COLORS.below, 'above', COLORS.above, '#888'],
        'fill-opacity': ['case', ['boolean', ['feature-state', 'selected'], false], 0.55, 0.3],
        // grids-line draws the edges: no antialiased outline of the fill
        // (a second pass over every grid each frame, and a shader to compile).
        'fill-antialias': false,
      },
    },
    { id: 'grids-line', type: 'line', paint: { 'line-color': ['case', ['==', ['get', '_locked'], true], COLORS.locked, '#2c3e50'], 'line-width': ['case', ['==', ['get', '_locked'], true], 3.5, 1.2] } },
    {
      id: 'grids-label', type: 'symbol',
      layout: { 'text-field': ['concat', ['get', 'code'], '\n', ['to-string', ['get', 'households']], ' 户'], 'text-font': FONT, 'text-size': 11, 'symbol-placement': 'point' },
      paint: { 'text-color': '#1d2733', 'text-halo-color': '#fff', 'text-halo-width': 1.5 },
    },
  ],
  grid_changes: [
    { id: 'grid_changes-fill', type: 'fill', paint: { 'fill-color': ['match', ['get', 'change'], 'unchanged', CHANGE_COLORS.unchanged, 'adjusted', CHANGE_COLORS.adjusted, 'new', CHANGE_COLORS.new, 'retired', CHANGE_COLORS.retired, '#888'], 'fill-opacity': 0.45 } },
    { id: 'grid_changes-line', type: 'line', paint: { 'line-color': '#333', 'line-width': 1, 'line-dasharray': [2, 1] } },
  ],
  gaps: [
    { id: 'gaps-fill', type: 'fill', paint: { 'fill-color': '#7b1e3a', 'fill-opacity': 0.25 } },
    { id: 'gaps-line', type: 'line', paint: { 'line-color': '#7b1e3a', 'line-width': 1 } },
  ],
  barriers: [{ id: 'barriers-line', type: 'line', paint: { 'line-color': '#3a6fb0', 'line-width': 2.5 } }],
  households: [{ id: 'households-circle', type: 'circle', paint: { 'circle-radius': 2, 'circle-color': ['case', ['==', ['get', 'covered'], false], '#d4463b', '#4a5868'], 'circle-opacity': 0.7 } }],
  camera_sectors: [
    { id: 'camera_sectors-fill', type: 'fill', paint: { 'fill-color': ['case', ['get', 'online'], '#3a7bd5', '#888'], 'fill-opacity': ['case', ['get', 'online'], 0.22, 0.12] } },
    { id: 'camera_sectors-line', type: 'line', paint: { 'line-color': ['case', ['get', 'online'], '#3a7bd5', '#777'], 'line-width': 0.8 } },
  ],
  cameras: [
    { id: 'cameras-circle', type: 'circle', paint: { 'circle-radius': 3.5, 'circle-color': ['case', ['==', ['get', 'online'], false], '#fff', '#1f4e9b'], 'circle-stroke-color': ['case', ['==', ['get', 'online'], false], '#d4463b', '#fff'], 'circle-stroke-width': ['case', ['==', ['get', 'online'], false], 2, 1] } },
  ],
  candidates: [{ id: 'candidates-circle', type: 'circle', paint: { 'circle-radius': 3, 'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-color': '#8e44ad', 'circle-stroke-width': 1 } }],
  sites: [{ id: 'sites-circle', type: 'circle', paint: { 'circle-radius': 4, 'circle-color': '#f39c12', 'circle-stroke-color': '#fff', 'circle-stroke-width': 1 } }],
  coverage_sites: [
    { id: 'coverage_sites-circle', type: 'circle', paint: { 'circle-radius': ['case', ['==', ['get', 'covered'], false], 4.5, 3.5], 'circle-color': ['case', ['==', ['get', 'covered'], false], '#d4463b', '#3a9d5d'], 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5 } },
  ],
  proposals: [
    { id: 'proposals-circle', type: 'circle', paint: { 'circle-radius': 8, 'circle-color': '#8e44ad', 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5 } },
    { id: 'proposals-label', type: 'symbol', layout: { 'text-field': ['to-string', ['get', 'rank']], 'text-font': FONT, 'text-size': 10, 'text-allow-overlap': true }, paint: { 'text-color': '#fff' } },
  ],
  move_preview: [{ id: 'move_preview-line', type: 'line', paint: { 'line-color': '#111', 'line-width': 3, 'line-dasharray': [2, 1] } }],
  rejected: [{ id: 'rejected-circle', type: 'circle', paint: { 'circle-radius': 9, 'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-color': '#d4463b', 'circle-stroke-width': 3 } }],
};

/** Page layers in drawing order (the keys of STYLES). */
export const ORDER = Object.keys(STYLES);

/**
 * Creates the map in #map; resolves once its style is loaded (sources can be
 * added), which is before its first frame: the tiles of a dataset's view are
 * then asked for while that frame's shaders are compiled, not after.
 */
export function createMap() {
  const map = new maplibregl.Map({
    container: 'map',
    style: baseStyle(state.session?.basemap),
    center: [118.32, 32.35],
    zoom: 11,
    attributionControl: false,
    preserveDrawingBuffer: true, // so a screenshot shows the canvas
    // Labels appear at once: a fade takes several frames, and a frame of a
    // city's grids is slow where WebGL is software (SwiftShader).
    fadeDuration: 0,
    transformRequest: (url) => (new URL(url, location.href).origin === location.origin ? { url, headers: authHeaders() } : { url }),
  });
  // MapLibre's default prints a bare Error; say what failed.
  map.on('error', (e) => console.error(`map: ${e.sourceId ? `${e.sourceId}: ` : ''}${e.error?.message || e.error || e}`));
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-right');
  if (state.session?.basemap?.attribution) map.addControl(new maplibregl.AttributionControl({ compact: true }), 'bottom-left');
  state.map = map;
  return new Promise((resolve) => {
    if (map.isStyleLoaded()) resolve(map);
    else map.once('style.load', () => resolve(map));
  });
}

/** The plain background, with the operator's raster base map over it when there is one. */
function baseStyle(basemap) {
  const style = {
    version: 8,
    sources: {},
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#eef1f4' } }],
  };
  if (basemap && Array.isArray(basemap.tiles) && basemap.tiles.length) {
    style.sources.basemap = { type: 'raster', tiles: basemap.tiles, tileSize: 256, attribution: basemap.attribution || '' };
    style.layers.push({ id: 'basemap', type: 'raster', source: 'basemap' });
  }
  return style;
}

function beforeId(map, name) {
  // The first existing style layer of a page layer drawn above `name`.
  for (const other of ORDER.slice(ORDER.indexOf(name) + 1)) {
    for (const s of STYLES[other]) if (map.getLayer(s.id)) return s.id;
  }
  return undefined;
}

function addStyles(map, name, sourceLayer) {
  for (const s of STYLES[name]) {
    if (map.getLayer(s.id)) continue;
    const layer = { ...s, source: name };
    if (sourceLayer) layer['source-layer'] = sourceLayer;
    map.addLayer(layer, beforeId(map, name));
  }
}

/** Shows a FeatureCollection as page layer `name` (creating its source and styles). */
export function setGeojson(name, fc) {
  const map = state.map;
  // Feature ids of uploads (20-digit camera codes) overflow the tiles MapLibre
  // builds in its worker: the map goes without them (properties keep them).
  if (fc && fc.features && fc.features.some((f) => f.id !== undefined)) {
    fc = { ...fc, features: fc.features.map(({ id, ...f }) => f) };
  }
  const src = map.getSource(name);
  if (src && src.type === 'geojson') src.setData(fc || EMPTY);
  else {
    if (src) removeLayer(name);
    map.addSource(name, { type: 'geojson', data: fc || EMPTY, promoteId: name === 'grids' ? 'code' : undefined });
    addStyles(map, name);
  }
}

/** Shows page layer `name` from the server's vector tiles (a TileJSON-style tileset document). */
export function setTiles(name, tileset) {
  const map = state.map;
  removeLayer(name);
  map.addSource(name, {
    type: 'vector',
    tiles: tileset.tiles,
    minzoom: tileset.minzoom ?? 0,
    maxzoom: tileset.maxzoom ?? 16,
    bounds: tileset.bounds,
    // Grids are selected (feature state) by code, as from GeoJSON.
    promoteId: name === 'grids' ? 'code' : undefined,
  });
  const layerId = (tileset.vector_layers && tileset.vector_layers[0] && tileset.vector_layers[0].id) || name;
  addStyles(map, name, layerId);
  // A city's grids (the layers drawn from tiles) are labelled from zoom 13,
  // where a label fits its grid: at the city's scale 10,000 labels would only
  // collide, and placing them costs every frame.
  if (name === 'grids') map.setLayerZoomRange('grids-label', GRID_LABELS_FROM, 24);
}

/** The zoom from which tile-drawn grids are labelled. */
export const GRID_LABELS_FROM = 13;

/** The source layer of page layer `name` when it is drawn from tiles (for feature state). */
export function sourceLayer(name) {
  const l = STYLES[name] && state.map.getLayer(STYLES[name][0].id);
  return l && l.sourceLayer ? l.sourceLayer : undefined;
}

/** A feature-state target of page layer `name` (vector sources need their source layer). */
export function featureTarget(name, id) {
  const sl = sourceLayer(name);
  return sl ? { source: name, sourceLayer: sl, id } : { source: name, id };
}

/**
 * Colours tile-drawn grids: `state` is an expression giving a grid's rule
 * state (the page cannot write `_state` into tiles), `locked` one that is
 * true for locked grids.
 */
export function setGridPaint(stateExpr, lockedExpr) {
  const map = state.map;
  if (!map.getLayer('grids-fill')) return;
  map.setPaintProperty('grids-fill', 'fill-color', ['match', stateExpr, 'within', COLORS.within, 'below', COLORS.below, 'above', COLORS.above, '#888']);
  map.setPaintProperty('grids-line', 'line-color', ['case', lockedExpr, COLORS.locked, '#2c3e50']);
  map.setPaintProperty('grids-line', 'line-width', ['case', lockedExpr, 3.5, 1.2]);
}

export function removeLayer(name) {
  const map = state.map;
  for (const s of STYLES[name] || []) if (map.getLayer(s.id)) map.removeLayer(s.id);
  if (map.getSource(name)) map.removeSource(name);
}

export function setVisible(name, visible) {
  const map = state.map;
  for (const s of STYLES[name] || []) if (map.getLayer(s.id)) map.setLayoutProperty(s.id, 'visibility', visible ? 'visible' : 'none');
}

/** Shows or hides the rule-state fill of the grids (a coverage choropleth replaces it). */
export function setGridFill(visible) {
  if (state.map.getLayer('grids-fill')) state.map.setPaintProperty('grids-fill', 'fill-opacity', visible ? ['case', ['boolean', ['feature-state', 'selected'], false], 0.55, 0.3] : 0);
}

export function isShown(name) {
  const s = (STYLES[name] || [])[0];
  return !!(s && state.map.getLayer(s.id) && state.map.getLayoutProperty(s.id, 'visibility') !== 'none');
}

/** The style layer ids of page layer `name` (for click queries). */
export const styleIds = (name) => (STYLES[name] || []).map((s) => s.id);

/** Fits the map to a WGS84 box (a layer's extent). */
export function fitToWgs84(b, maxZoom = 17) {
  if (!b) return;
  const sw = toMap([b[0], b[1]]);
  const ne = toMap([b[2], b[3]]);
  fitTo([sw[0], sw[1], ne[0], ne[1]], maxZoom);
}

/** Fits the map to a box in the map's CRS. */
export function fitTo(b, maxZoom = 17) {
  if (!b) return;
  state.map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 40, maxZoom, duration: 0 });
}

/** The legend for the layers shown now. */
export function renderLegend() {
  const box = $('#legend');
  const parts = [];
  const item = (color, zh, en, dot = false) =>
    el('div', { class: 'item' }, el('span', { class: `sw${dot ? ' dot' : ''}`, style: `background:${color}` }), zh, el('span', { class: 'en' }, en));
  if (isShown('grids')) {
    parts.push(el('h3', {}, '网格 ', el('span', { class: 'en' }, 'grids')),
      item(COLORS.within, '符合规则', 'within rules'), item(COLORS.below, '户数偏少', 'below minimum'),
      item(COLORS.above, '超出上限', 'above maximum'),
      state.session.role === 'planner' ? el('div', { class: 'item' }, el('span', { class: 'sw', style: `border:3px solid ${COLORS.locked}` }), '已锁定', el('span', { class: 'en' }, 'locked')) : null);
  }
  if (isShown('coverage') || isShown('grid_coverage')) {
    parts.push(el('h3', {}, '住户覆盖率 ', el('span', { class: 'en' }, 'household coverage')),
      el('div', { class: 'item' }, '0%', el('span', { class: 'ramp' }), '100%'));
  }
  if (isShown('grid_changes')) {
    parts.push(el('h3', {}, '变化 ', el('span', { class: 'en' }, 'changes')),
      item(CHANGE_COLORS.unchanged, '未变', 'unchanged'), item(CHANGE_COLORS.adjusted, '调整', 'adjusted'),
      item(CHANGE_COLORS.new, '新增', 'new'), item(CHANGE_COLORS.retired, '撤销', 'retired'));
  }
  if (isShown('gaps')) parts.push(item('#7b1e3a', '盲区', 'gaps'));
  if (isShown('camera_sectors') || isShown('cameras')) {
    parts.push(item('#3a7bd5', '摄像机视域', 'camera view'), item('#888', '离线摄像机', 'offline camera'));
  }
  if (isShown('coverage_sites')) parts.push(item('#3a9d5d', '重点区域已覆盖', 'key site covered', true), item('#d4463b', '重点区域未覆盖', 'key site uncovered', true));
  if (isShown('proposals')) parts.push(item('#8e44ad', '建议点位 (排名)', 'proposed camera (rank)', true));
  fill(box, parts);
}
