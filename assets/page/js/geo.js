// Geometry the page computes itself: camera view sectors, bounding boxes,
// point-in-polygon for per-grid coverage, and GCJ-02/BD-09 back to WGS84 to
// place a rejected feature of an upload on the map.

const R = 6378137; // metres, WGS84 semi-major axis
const DEG = Math.PI / 180;

/** Camera defaults, as the service applies them (README "Camera defaults"). */
export function cameraView(p) {
  const type = p.type || (p.azimuth_deg !== undefined && p.azimuth_deg !== null ? 'bullet' : 'dome');
  const fov = num(p.fov_deg, type === 'bullet' ? 60 : 360);
  const range = num(p.range_m, { dome: 30, bullet: 50, ptz: 100 }[type] || 50);
  const azimuth = num(p.azimuth_deg, 0);
  const online = p.online === undefined || p.online === null ? true : p.online === true || p.online === 'true';
  return { type, fov, range, azimuth, online };
}

function num(v, d) {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : d;
}

/** The point `dist` metres from [lon, lat] on compass bearing `bearingDeg` (local plane). */
export function offset([lon, lat], bearingDeg, dist) {
  const b = bearingDeg * DEG;
  const dy = Math.cos(b) * dist;
  const dx = Math.sin(b) * dist;
  return [lon + (dx / (R * Math.cos(lat * DEG))) / DEG, lat + dy / R / DEG];
}

/**
 * The ground a camera sees, as a GeoJSON Polygon ring: a disc for a 360°
 * camera, otherwise the sector azimuth ± fov/2 out to its range, one vertex
 * every 4° of arc at most.
 */
export function sector(center, view) {
  const { fov, range, azimuth } = view;
  const ring = [];
  if (fov >= 360) {
    for (let a = 0; a < 360; a += 6) ring.push(offset(center, a, range));
    ring.push(ring[0]);
    return ring;
  }
  const start = azimuth - fov / 2;
  const steps = Math.max(2, Math.ceil(fov / 4));
  ring.push(center);
  for (let i = 0; i <= steps; i++) ring.push(offset(center, start + (fov * i) / steps, range));
  ring.push(center);
  return ring;
}

/** Sector polygons for a camera FeatureCollection (points), with `online` and the view. */
export function cameraSectors(fc) {
  const features = [];
  for (const f of fc.features || []) {
    if (!f.geometry || f.geometry.type !== 'Point') continue;
    const v = cameraView(f.properties || {});
    features.push({
      type: 'Feature',
      properties: { id: f.properties?.id ?? '', online: v.online, fov: v.fov, range_m: v.range, azimuth: v.azimuth },
      geometry: { type: 'Polygon', coordinates: [sector(f.geometry.coordinates, v)] },
    });
  }
  return { type: 'FeatureCollection', features };
}

/** Every position of a geometry, in order. */
export function* positions(g) {
  if (!g) return;
  const walk = function* (c) {
    if (typeof c[0] === 'number') yield c;
    else for (const x of c) yield* walk(x);
  };
  if (g.type === 'GeometryCollection') for (const x of g.geometries || []) yield* positions(x);
  else if (Array.isArray(g.coordinates)) yield* walk(g.coordinates);
}

/** [w, s, e, n] of a geometry or FeatureCollection, or null when it has no finite lon/lat. */
export function bbox(x) {
  let b = null;
  const add = (p) => {
    const [lon, lat] = p;
    if (!Number.isFinite(lon) || !Number.isFinite(lat) || Math.abs(lon) > 180 || Math.abs(lat) > 90) return;
    if (!b) b = [lon, lat, lon, lat];
    else b = [Math.min(b[0], lon), Math.min(b[1], lat), Math.max(b[2], lon), Math.max(b[3], lat)];
  };
  if (x && x.type === 'FeatureCollection') for (const f of x.features || []) for (const p of positions(f.geometry)) add(p);
  else if (x && x.type === 'Feature') for (const p of positions(x.geometry)) add(p);
  else for (const p of positions(x)) add(p);
  return b;
}

function inRing([x, y], ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Is the point inside the Polygon or MultiPolygon (holes respected)? */
export function contains(geometry, p) {
  const polys = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.type === 'MultiPolygon' ? geometry.coordinates : [];
  return polys.some((rings) => rings.length && inRing(p, rings[0]) && !rings.slice(1).some((h) => inRing(p, h)));
}

/**
 * Per-grid household coverage from the per-household coverage layer: each
 * household point is given to the grid containing it (bounding boxes first).
 * Returns a Map code -> {households, covered}.
 */
export function coverageByGrid(grids, households) {
  const boxes = grids.features.map((g) => ({ g, b: bbox(g.geometry) }));
  const out = new Map();
  for (const h of households.features) {
    if (!h.geometry || h.geometry.type !== 'Point') continue;
    const p = h.geometry.coordinates;
    const n = Number(h.properties?.households ?? 1) || 0;
    const hit = boxes.find(({ g, b }) => b && p[0] >= b[0] && p[0] <= b[2] && p[1] >= b[1] && p[1] <= b[3] && contains(g.geometry, p));
    if (!hit) continue;
    const code = hit.g.properties.code;
    const c = out.get(code) || { households: 0, covered: 0 };
    c.households += n;
    if (h.properties?.covered === true) c.covered += n;
    out.set(code, c);
  }
  return out;
}

/** Rule state of a grid: within, below (too few households) or above. */
export function ruleState(props, rules) {
  if (props.within_rules === true || props.within_rules === 'true') return 'within';
  const n = Number(props.households) || 0;
  if (rules && n < rules.min_households) return 'below';
  if (rules && (n > rules.max_households || (rules.max_persons && Number(props.persons) > rules.max_persons))) return 'above';
  // Without the rules, the reasons tell: "fewer"/"below" are under the band.
  const text = String(props.issues_text || (props.issues || []).join('; ')).toLowerCase();
  return /fewer|below|less than|under|too few/.test(text) ? 'below' : 'above';
}

/** The presets of the service (model::Rules::URBAN / RURAL). */
export const PRESETS = {
  urban: { min_households: 300, max_households: 500, max_persons: 2500 },
  rural: { min_households: 150, max_households: 400, target_households: 300, max_persons: 2500 },
};

// GCJ-02 (the national obfuscation) and BD-09, forward, and their inverses by
// fixed-point iteration, to place an uploaded feature on the WGS84 map.
const A = 6378245.0;
const EE = 0.00669342162296594323;
function outOfChina(lon, lat) {
  return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
}
function tLat(x, y) {
  let r = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  r += ((20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2) / 3;
  r += ((20 * Math.sin(y * Math.PI) + 40 * Math.sin((y / 3) * Math.PI)) * 2) / 3;
  r += ((160 * Math.sin((y / 12) * Math.PI) + 320 * Math.sin((y * Math.PI) / 30)) * 2) / 3;
  return r;
}
function tLon(x, y) {
  let r = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  r += ((20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2) / 3;
  r += ((20 * Math.sin(x * Math.PI) + 40 * Math.sin((x / 3) * Math.PI)) * 2) / 3;
  r += ((150 * Math.sin((x / 12) * Math.PI) + 300 * Math.sin((x / 30) * Math.PI)) * 2) / 3;
  return r;
}
export function wgsToGcj([lon, lat]) {
  if (outOfChina(lon, lat)) return [lon, lat];
  let dLat = tLat(lon - 105, lat - 35);
  let dLon = tLon(lon - 105, lat - 35);
  const rad = lat * DEG;
  let magic = Math.sin(rad);
  magic = 1 - EE * magic * magic;
  const sq = Math.sqrt(magic);
  dLat = (dLat * 180) / (((A * (1 - EE)) / (magic * sq)) * Math.PI);
  dLon = (dLon * 180) / ((A / sq) * Math.cos(rad) * Math.PI);
  return [lon + dLon, lat + dLat];
}
export function gcjToWgs(p) {
  let g = p.slice();
  for (let i = 0; i < 30; i++) {
    const f = wgsToGcj(g);
    const dx = f[0] - p[0];
    const dy = f[1] - p[1];
    g = [g[0] - dx, g[1] - dy];
    if (Math.abs(dx) < 1e-10 && Math.abs(dy) < 1e-10) break;
  }
  return g;
}
export function bdToGcj([lon, lat]) {
  const x = lon - 0.0065;
  const y = lat - 0.006;
  const z = Math.sqrt(x * x + y * y) - 0.00002 * Math.sin(y * Math.PI * 3000 / 180);
  const th = Math.atan2(y, x) - 0.000003 * Math.cos(x * Math.PI * 3000 / 180);
  return [z * Math.cos(th), z * Math.sin(th)];
}

/** A WGS84 lon/lat for a position read in `crs`, or null when the page cannot convert it. */
export function toWgs84(p, crs) {
  if (!Array.isArray(p) || !Number.isFinite(p[0]) || !Number.isFinite(p[1])) return null;
  const c = (crs || '').toUpperCase();
  let q;
  if (c === '' || c === 'CRS84' || c === 'EPSG:4326' || c === 'EPSG:4490') q = p;
  else if (c === 'GCJ02') q = gcjToWgs(p);
  else if (c === 'BD09') q = gcjToWgs(bdToGcj(p));
  else return null; // projected CRS: the page has no PROJ
  return Math.abs(q[0]) <= 180 && Math.abs(q[1]) <= 90 ? q : null;
}
