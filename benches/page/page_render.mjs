// The planner page's first render of a city in headless Chromium (Debian's),
// driven by playwright-core: run by benches/page_render.rs against a
// `wangge serve` it started over a city of 10,000 grids and its households.
// Each run opens the page in a fresh browser context (nothing cached) and
// times from navigation to the first frame in which every grid of the fitted
// view is drawn (rendered features queried from the map) and the map is idle
// (every tile and source loaded), then how long until the page's panels have
// the grids' properties (fetched after that first frame when the grids are
// drawn from tiles). Prints one JSON line with the runs. PAGE_TRACE=1 also
// logs, per run, the map's events (tiles arriving, frames, idle) and the
// page's resource timings, to see where the time goes; PAGE_PROFILE=file
// writes a Chrome trace (threads' CPU time, JavaScript samples of the page
// and of MapLibre's worker) of the last run into file.

import { createRequire } from 'node:module';
import path from 'node:path';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set (benches/page_render.rs sets it)`);
  return v;
};
const ORIGIN = `http://${env('WANGGE_ADDR')}`;
const require = createRequire(path.join(env('PLAYWRIGHT_DIR'), 'node_modules', 'x.js'));
const { chromium } = require('playwright-core');
const RUNS = Number(process.env.RUNS || 5);
const GRIDS = Number(env('GRIDS'));

const browser = await chromium.launch({
  executablePath: env('CHROMIUM'),
  headless: true,
  args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
const runs = [];
try {
  for (let i = 0; i < RUNS; i += 1) {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    const requests = { tiles: 0, tileBytes: 0, other: 0, offOrigin: 0 };
    page.on('response', async (r) => {
      const u = r.url();
      if (!u.startsWith(ORIGIN)) requests.offOrigin += 1;
      if (u.includes('/tiles/WebMercatorQuad/')) {
        requests.tiles += 1;
        requests.tileBytes += Number(r.headers()['content-length'] || 0);
      } else requests.other += 1;
    });
    if (process.env.PAGE_PROFILE && i === RUNS - 1) await browser.startTracing(page, { path: process.env.PAGE_PROFILE, categories: ['devtools.timeline', 'v8.execute', 'disabled-by-default-devtools.timeline', 'toplevel', 'gpu', 'blink', 'disabled-by-default-v8.cpu_profiler'] });
    const t0 = Date.now();
    await page.goto(`${ORIGIN}/`);
    await page.waitForFunction(() => window.wangge && window.wangge.ready && window.wangge.map, null, { timeout: 120_000 });
    // The page has its layers' sources (tiles, or GeoJSON fetched and
    // parsed); what follows is the map drawing them.
    const readyMs = Date.now() - t0;
    const gridsFetch = await page.evaluate(() => performance.getEntriesByType('resource')
      .filter((e) => /grids/.test(e.name) && !/tiles/.test(e.name))
      .map((e) => ({ ms: Math.round(e.responseEnd - e.startTime), bytes: e.encodedBodySize })));
    if (process.env.PAGE_TRACE) {
      const tr = await page.evaluate(() => new Promise((resolve) => {
        const m = window.wangge.map; const t0 = performance.now(); const ev = [];
        const note = (k) => ev.push([k, Math.round(performance.now() - t0), m.queryRenderedFeatures({ layers: ['grids-fill'] }).length, m.loaded(), m.areTilesLoaded()]);
        let n = 0;
        m.on('render', () => { n += 1; if (n % 5 === 1) note('render' + n); });
        m.on('idle', () => { note('idle'); resolve(ev); });
        m.on('sourcedata', (e) => { if (e.sourceId === 'grids' && e.tile) note('tile'); });
        setTimeout(() => resolve(ev), 60000);
      }));
      console.error(JSON.stringify(tr));
      console.error(JSON.stringify(await page.evaluate(() => performance.getEntriesByType('resource').map((e) => [e.name.replace(location.origin, '').slice(0, 60), Math.round(e.startTime), Math.round(e.responseEnd)]))));
      console.error(JSON.stringify(await page.evaluate(() => performance.getEntriesByType('navigation').map((e) => [Math.round(e.domContentLoadedEventEnd), Math.round(e.loadEventEnd)]))));
    }
    // Every grid in the fitted view drawn, and the map idle. The time is
    // taken when the map reports that idle frame, before this check counts
    // the drawn grids (querying 10,000 rendered features takes the page's
    // thread up to 0.4 s, which the planner never waits for).
    const drawn = await page.evaluate((want) => new Promise((resolve) => {
      const m = window.wangge.map;
      const check = () => {
        const at = performance.timeOrigin + performance.now();
        const codes = new Set(m.queryRenderedFeatures({ layers: ['grids-fill'] }).map((f) => f.properties.code));
        if (codes.size >= want && m.loaded() && m.areTilesLoaded()) {
          resolve({ at, grids: codes.size, households: m.queryRenderedFeatures({ layers: m.getStyle().layers.filter((l) => l.source === 'households').map((l) => l.id) }).length });
          return true;
        }
        return false;
      };
      if (!check()) {
        const on = () => { if (check()) m.off('idle', on); };
        m.on('idle', on);
      }
    }), GRIDS);
    const ms = Math.round(drawn.at - t0);
    delete drawn.at;
    if (process.env.PAGE_PROFILE && i === RUNS - 1) await browser.stopTracing();
    // The panels' data: every grid's properties in the page (the summary filled).
    await page.waitForFunction(() => window.wangge.state.data.grids && window.wangge.state.data.grids.features.length > 0, null, { timeout: 120_000 });
    const detailsMs = Date.now() - t0;
    const tiled = await page.evaluate(() => window.wangge.map.getSource('grids').type === 'vector');
    const gridsGeojson = await page.evaluate(() => performance.getEntriesByType('resource')
      .filter((e) => /layers\/grids/.test(e.name))
      .map((e) => ({ ms: Math.round(e.responseEnd - e.startTime), bytes: e.encodedBodySize })));
    runs.push({ ms, readyMs, detailsMs, tiled, gridsFetch: gridsGeojson.length ? gridsGeojson : gridsFetch, ...drawn, ...requests });
    console.error(`[page] run ${i + 1}: ${ms} ms (sources set at ${readyMs} ms; grids' properties in the page at ${detailsMs} ms, GeoJSON ${JSON.stringify(gridsGeojson)}), ${drawn.grids} grids drawn${tiled ? ' from tiles' : ''}, ${requests.tiles} tiles`);
    await context.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify({ runs }));
