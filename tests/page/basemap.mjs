// The planner's page over a GCJ-02 base map, in headless Chromium: run by
// tests/planner_page.rs against a `wangge serve --basemap-url` whose tiles
// come from a second origin (TILE_ADDR). The page must draw the base map,
// ask that origin for tiles without any Content-Security-Policy refusal, and
// draw the layers in GCJ-02: GeoJSON layers fetched with crs=…/crs/GCJ02
// (each position where the page's own GCJ-02 formula puts the WGS84 one)
// and tiles from the GCJ02WebMercatorQuad tile matrix set. Prints one JSON
// line of figures; exits non-zero with the reason on any failure.

import { createRequire } from 'node:module';
import path from 'node:path';
import assert from 'node:assert/strict';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set (tests/planner_page.rs sets it)`);
  return v;
};
const ORIGIN = `http://${env('WANGGE_ADDR')}`;
const TILES = `http://${env('TILE_ADDR')}`;
const require = createRequire(path.join(env('PLAYWRIGHT_DIR'), 'node_modules', 'x.js'));
const { chromium } = require('playwright-core');

const figures = { tileRequests: 0, elsewhere: [], refused: [] };
const browser = await chromium.launch({
  executablePath: env('CHROMIUM'),
  headless: true,
  args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  context.on('request', (r) => {
    const u = r.url();
    if (u.startsWith('blob:') || u.startsWith('data:')) return;
    const o = new URL(u).origin;
    if (o === TILES) figures.tileRequests += 1;
    else if (o !== ORIGIN) figures.elsewhere.push(u);
  });
  const page = await context.newPage();
  page.on('console', (m) => { if (/Content Security Policy|Refused to/.test(m.text())) figures.refused.push(m.text()); });
  await page.goto(`${ORIGIN}/`);
  await page.waitForSelector('#signin:not([hidden])');
  await page.fill('#token', env('TOKEN'));
  await page.click('#signin-form button');
  await page.waitForFunction(() => window.wangge && window.wangge.ready && window.wangge.state.data.areas, null, { timeout: 60_000 });
  // The households (switched off at first) join the map after its first frame.
  await page.waitForFunction(() => window.wangge.map.getSource('households'), null, { timeout: 60_000 });

  const seen = await page.evaluate(async () => {
    const { map, state } = window.wangge;
    const geo = await import('/ui/page/js/geo.js');
    const res = await fetch('/api/v1/datasets/demo/layers/areas', { headers: { Authorization: `Bearer ${sessionStorage.getItem('wangge.token')}` } });
    const wgs = await res.json();
    let worst = 0;
    let moved = 0;
    let n = 0;
    for (const [i, f] of wgs.features.entries()) {
      const drawn = [...geo.positions(state.data.areas.features[i].geometry)];
      for (const [k, p] of [...geo.positions(f.geometry)].entries()) {
        const want = geo.wgsToGcj(p);
        worst = Math.max(worst, Math.hypot(drawn[k][0] - want[0], drawn[k][1] - want[1]));
        moved = Math.max(moved, Math.hypot(drawn[k][0] - p[0], drawn[k][1] - p[1]));
        n += 1;
      }
    }
    const hh = map.getSource('households');
    return {
      basemap: !!map.getLayer('basemap'),
      basemapTiles: map.getSource('basemap')?.tiles || [],
      householdTiles: hh && hh.type === 'vector' ? hh.tiles : null,
      positions: n, worstDeg: worst, movedDeg: moved,
    };
  });
  Object.assign(figures, seen);
  assert.ok(seen.basemap, 'the base map is a layer of the map');
  assert.ok(seen.basemapTiles[0].startsWith(TILES), `base map tiles from ${seen.basemapTiles}`);
  assert.ok(seen.positions > 100, `${seen.positions} area vertices compared`);
  assert.ok(seen.worstDeg < 1e-7, `areas drawn ${seen.worstDeg}° from GCJ-02`);
  assert.ok(seen.movedDeg > 1e-3, `areas moved only ${seen.movedDeg}°`);
  assert.ok(seen.householdTiles && seen.householdTiles[0].includes('/tiles/GCJ02WebMercatorQuad/'), `household tiles: ${seen.householdTiles}`);
  await page.waitForFunction(() => window.wangge.map.areTilesLoaded(), null, { timeout: 60_000 }).catch(() => {});
  assert.ok(figures.tileRequests > 0, 'the base map origin was asked for tiles');
  assert.deepEqual(figures.refused, [], 'the policy refused nothing');
  assert.deepEqual(figures.elsewhere, [], 'no request went anywhere else');
  await context.close();
} finally {
  await browser.close();
}
console.log(JSON.stringify(figures));
