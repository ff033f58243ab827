// The planner's page in headless Chromium (Debian's), driven by
// playwright-core: run by tests/planner_page.rs against a `wangge serve` it
// started with the demo dataset and two tokens. Every step asserts what a
// planner (then a viewer) sees; every request the browser makes is recorded
// and none may leave the server's origin. Prints one JSON line of figures
// at the end; exits non-zero with the reason on any failure.

import { createRequire } from 'node:module';
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set (tests/planner_page.rs sets it)`);
  return v;
};
const ADDR = env('WANGGE_ADDR');
const ORIGIN = `http://${ADDR}`;
const require = createRequire(path.join(env('PLAYWRIGHT_DIR'), 'node_modules', 'x.js'));
const { chromium } = require('playwright-core');
const DEMO = env('DEMO_DIR');
const WORK = env('WORK_DIR');
const SHOT = env('SCREENSHOT');

const figures = { requests: 0, offOrigin: [] };

function record(context) {
  context.on('request', (r) => {
    figures.requests += 1;
    const u = r.url();
    if (u.startsWith('blob:') || u.startsWith('data:')) return;
    const o = new URL(u).origin;
    if (o !== ORIGIN && o !== `http://${process.env.OPEN_ADDR}`) figures.offOrigin.push(u);
  });
}

const log = (...a) => console.error('[page]', ...a);

async function signIn(page, token) {
  await page.goto(`${ORIGIN}/`);
  await page.waitForSelector('#signin:not([hidden])');
  await page.fill('#token', 'not-a-token');
  await page.click('#signin-form button');
  await page.waitForSelector('#signin-msg.error');
  await page.fill('#token', token);
  await page.click('#signin-form button');
  await page.waitForFunction(() => window.wangge && window.wangge.ready, null, { timeout: 60_000 });
}

/** Waits for the job panel to reach a final state; returns the progress values seen. */
async function waitJob(page, before, timeout = 240_000) {
  const seen = [];
  const t0 = Date.now();
  await page.waitForFunction((b) => {
    const j = document.querySelector('#job');
    return (j.dataset.id && j.dataset.id !== b) || document.querySelector('#run-msg').classList.contains('error');
  }, before, { timeout: 30_000 });
  assert.ok(!(await page.evaluate(() => document.querySelector('#run-msg').classList.contains('error'))), `the job did not start: ${await page.textContent('#run-msg')}`);
  for (;;) {
    const s = await page.evaluate(() => ({ st: document.querySelector('#job').dataset.state, p: document.querySelector('#job-progress').value, stage: document.querySelector('#job-stage').textContent }));
    seen.push(s);
    if (['succeeded', 'failed', 'cancelled'].includes(s.st)) {
      assert.equal(s.st, 'succeeded', `job ended ${s.st}: ${await page.textContent('#run-msg')}`);
      return seen;
    }
    assert.ok(Date.now() - t0 < timeout, `job not done after ${timeout} ms: ${JSON.stringify(s)}`);
    await page.waitForTimeout(150);
  }
}

/** A point inside grid `code` (from the page's data, or the `feature` given), in page pixels. */
async function gridPixel(page, code, feature) {
  return page.evaluate(([code, feature]) => {
    const { map, state } = window.wangge;
    const f = feature || state.data.grids.features.find((g) => String(g.properties.code) === String(code));
    const polys = f.geometry.type === 'Polygon' ? [f.geometry.coordinates] : f.geometry.coordinates;
    const inRing = ([x, y], ring) => {
      let inside = false;
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        const [xi, yi] = ring[i]; const [xj, yj] = ring[j];
        if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
      }
      return inside;
    };
    const ring = polys[0][0];
    const xs = ring.map((p) => p[0]); const ys = ring.map((p) => p[1]);
    const [w, e, s, n] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    map.fitBounds([[w, s], [e, n]], { padding: 80, duration: 0 });
    // The inside point farthest from the ring's vertices on a 25×25 lattice.
    let best = null;
    for (let i = 1; i < 25; i++) for (let j = 1; j < 25; j++) {
      const p = [w + ((e - w) * i) / 25, s + ((n - s) * j) / 25];
      if (!inRing(p, ring)) continue;
      const d = Math.min(...ring.map((q) => Math.hypot((q[0] - p[0]) / (e - w), (q[1] - p[1]) / (n - s))));
      if (!best || d > best.d) best = { p, d };
    }
    const px = map.project(best.p);
    const r = map.getContainer().getBoundingClientRect();
    return { x: r.left + px.x, y: r.top + px.y, lngLat: best.p };
  }, [code, feature]);
}

/** A layer of a dataset from the API, as the signed-in page reads it. */
async function apiLayer(page, dataset, layer) {
  return page.evaluate(async ([d, l]) => {
    const t = sessionStorage.getItem('wangge.token');
    const r = await fetch(`/api/v1/datasets/${d}/layers/${l}`, { headers: { Authorization: `Bearer ${t}`, 'X-Wangge-Test': '1' } });
    return r.json();
  }, [dataset, layer]);
}

/**
 * Places for a move near the map's centre: two points 3 px apart in
 * different grids (a cell on their edge), in page pixels; grids of one area
 * first (a cell never moves across an area's boundary), at most 48 pairs.
 */
async function gridEdges(page) {
  return page.evaluate(() => {
    const m = window.wangge.map;
    const c = m.getCanvas().getBoundingClientRect();
    const at = (x, y) => m.queryRenderedFeatures([x, y], { layers: ['grids-fill'] })[0];
    const found = new Map();
    for (let r = 0; r <= 700 && found.size < 48; r += 6) for (let a = 0; a < 360; a += 15) {
      // Whole pixels, so the click lands where the probe looked.
      const x = Math.round(c.width / 2 + r * Math.cos(a * Math.PI / 180)), y = Math.round(c.height / 2 + r * Math.sin(a * Math.PI / 180));
      // Both points on the map's canvas, not under a panel.
      const shown = (px, py) => document.elementFromPoint(c.left + px, c.top + py) === m.getCanvas();
      if (!shown(x, y) || !shown(x + 3, y)) continue;
      const f = at(x, y), g = at(x + 3, y);
      if (!f || !g || String(f.properties.code) === String(g.properties.code)) continue;
      const key = `${f.properties.code}>${g.properties.code}`;
      if (!found.has(key)) {
        found.set(key, { cell: { x: c.left + x, y: c.top + y }, to: { x: c.left + x + 3, y: c.top + y }, from: String(f.properties.code), into: String(g.properties.code),
          sameArea: String(f.properties.parent_code) === String(g.properties.parent_code) });
      }
    }
    return [...found.values()].sort((p, q) => Number(q.sameArea) - Number(p.sameArea));
  });
}

/**
 * Picks a cell and the neighbouring grid for a move until the service's dry
 * run answers with both grids (it refuses a point whose cell does not touch
 * the other grid); returns the edge used, or fails with the last refusal.
 */
async function dryRunMove(page) {
  const edges = await gridEdges(page);
  assert.ok(edges.length, 'two neighbouring grids are in view');
  log(`${edges.length} places for a move in view`);
  for (const edge of edges) {
    await page.click('#move-start');
    await page.mouse.click(edge.cell.x, edge.cell.y);
    await page.mouse.click(edge.to.x, edge.to.y);
    await page.waitForFunction(() => document.querySelector('#move-result table') || document.querySelector('#adjust-msg').classList.contains('error'));
    if (await page.$('#move-result table')) return edge;
    log('move refused:', await page.textContent('#adjust-msg'));
    // A refused dry run ends the move; the next pair starts another.
    if (await page.evaluate(() => document.body.classList.contains('moving'))) await page.click('#move-start');
  }
  assert.fail('no dry run showed both grids: ' + (await page.textContent('#adjust-msg')));
}

async function idle(page) {
  await page.evaluate(() => new Promise((res) => { const m = window.wangge.map; if (m.loaded() && !m.isMoving()) res(); else m.once('idle', res); }));
}

async function planner(browser) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
  record(context);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await signIn(page, env('PLANNER_TOKEN'));
  assert.equal(await page.getAttribute('#role', 'data-role'), 'planner');
  assert.ok(await page.isVisible('#upload'), 'a planner sees the upload panel');

  // A new dataset, filled by uploads through the file input.
  await page.fill('#dataset-name', 'browser');
  await page.click('#dataset-new button');
  for (const layer of ['areas', 'households']) {
    await page.selectOption('#upload-layer', layer);
    await page.setInputFiles('#upload-file', path.join(DEMO, `${layer}.geojson`));
    await page.waitForFunction((l) => [...document.querySelectorAll('#report .report-head strong')].some((s) => s.textContent.startsWith(l)), layer, { timeout: 60_000 });
  }
  const accepted = await page.textContent('#report');
  assert.match(accepted, /accepted/);
  // A camera layer with one camera the service rejects (100 km range): its row zooms to it.
  const bad = path.join(WORK, 'cameras-one-bad.geojson');
  writeFileSync(bad, JSON.stringify({ type: 'FeatureCollection', features: [
    { type: 'Feature', properties: { id: 'ok-1', type: 'dome', range_m: 40 }, geometry: { type: 'Point', coordinates: [118.3105, 32.3505] } },
    { type: 'Feature', properties: { id: 'far-1', type: 'dome', range_m: 100000 }, geometry: { type: 'Point', coordinates: [118.3301, 32.3402] } },
  ] }));
  await page.selectOption('#upload-layer', 'cameras');
  await page.setInputFiles('#upload-file', bad);
  await page.waitForSelector('#report tr.zoomable');
  const row = await page.textContent('#report tr.zoomable');
  assert.match(row, /far-1/);
  await page.click('#report tr.zoomable');
  const center = await page.evaluate(() => window.wangge.map.getCenter().toArray());
  assert.ok(Math.abs(center[0] - 118.3301) < 1e-6 && Math.abs(center[1] - 32.3402) < 1e-6, `zoomed to ${center}`);
  figures.rejectedRow = row.trim();

  // Partition as a job: the progress bar moves and ends done.
  const before = await page.getAttribute('#job', 'data-id');
  await page.click('#partition-form button[type=submit]');
  const seen = await waitJob(page, before);
  figures.partitionPolls = seen.length;
  figures.partitionStages = [...new Set(seen.map((s) => s.stage.split(' · ')[1]).filter(Boolean))];
  assert.equal(seen.at(-1).p, 1);
  await page.waitForFunction(() => window.wangge.state.data.grids && window.wangge.map.getSource('grids'), null, { timeout: 60_000 });
  await idle(page);
  const api = await page.evaluate(async () => {
    const t = sessionStorage.getItem('wangge.token');
    const r = await fetch('/api/v1/datasets/browser/layers/grids', { headers: { Authorization: `Bearer ${t}` } });
    return (await r.json()).features.map((f) => f.properties.code);
  });
  assert.ok(api.length > 1, 'the partition made grids');
  const drawn = await page.evaluate(() => {
    const m = window.wangge.map;
    const src = new Set(m.querySourceFeatures('grids').map((f) => f.properties.code));
    const rendered = new Set(m.queryRenderedFeatures({ layers: ['grids-fill'] }).map((f) => f.properties.code));
    return { source: [...src], rendered: [...rendered] };
  });
  assert.deepEqual([...drawn.source].sort(), [...api].sort(), 'the grids source holds every grid of the layer');
  assert.ok(drawn.rendered.length === api.length, `every grid is drawn in the fitted view (${drawn.rendered.length}/${api.length})`);
  figures.grids = api.length;
  figures.gridsRendered = drawn.rendered.length;

  // Click a grid: its code and households show in the details panel.
  const code = api[Math.floor(api.length / 2)];
  await idle(page);
  const px = await gridPixel(page, code);
  await idle(page);
  await page.mouse.click(px.x, px.y);
  await page.waitForSelector('#detail:not([hidden])');
  assert.equal((await page.textContent('#detail-code')).trim(), String(code));
  figures.clickedGrid = String(code);
  // Lock it: the partition form lists it.
  await page.check('#lock-grid');
  assert.match(await page.textContent('#locked-list'), new RegExp(String(code)));
  const summary = await page.textContent('#summary-list');
  assert.match(summary, /within rules/);
  figures.summary = summary.replace(/\s+/g, ' ').trim();

  // Move a cell: the dry run (or, on a server without it, a plain message).
  // A cell on the edge between two grids: two points 3 px apart whose grids
  // differ, so the second grid is a neighbour of the cell holding the first.
  await dryRunMove(page);
  figures.move_preview = (await page.textContent('#move-result')).replace(/\s+/g, ' ').trim();
  await page.click('#move-start'); // ends the move, so clicks select grids again
  figures.move = (await page.textContent('#adjust-msg')).trim();
  figures.adopt = (await page.textContent('#adopt-msg')).trim();

  // The page's own geometry: a camera's sector follows its azimuth, field of
  // view and range; GCJ-02 positions of an upload go back to WGS84.
  const geo = await page.evaluate(async () => {
    const g = await import('/ui/page/js/geo.js');
    const c = [118.31, 32.35];
    const ring = g.sector(c, g.cameraView({ type: 'bullet', azimuth_deg: 90, fov_deg: 60, range_m: 50 }));
    const R = 6371008.8;
    const rad = Math.PI / 180;
    const arc = ring.slice(1, -1).map(([x, y]) => {
      const dx = (x - c[0]) * rad * R * Math.cos(c[1] * rad);
      const dy = (y - c[1]) * rad * R;
      return { d: Math.hypot(dx, dy), b: (Math.atan2(dx, dy) / rad + 360) % 360 };
    });
    const p = [118.31, 32.35];
    const back = g.gcjToWgs(g.wgsToGcj(p));
    return { arc, disc: g.sector(c, g.cameraView({ type: 'dome' })).length, shift: g.wgsToGcj(p), back };
  });
  for (const { d, b } of geo.arc) {
    assert.ok(Math.abs(d - 50) < 0.2, `sector vertex at ${d} m`);
    assert.ok(b >= 60 - 1e-6 && b <= 120 + 1e-6, `sector vertex at bearing ${b}`);
  }
  assert.ok(Math.min(...geo.arc.map((a) => a.b)) < 60.01 && Math.max(...geo.arc.map((a) => a.b)) > 119.99);
  assert.equal(geo.disc, 61, 'a dome camera is a closed disc of 60 segments');
  assert.ok(Math.hypot(geo.shift[0] - 118.31, geo.shift[1] - 32.35) > 1e-3, 'GCJ-02 moves a point in China');
  assert.ok(Math.abs(geo.back[0] - 118.31) < 1e-8 && Math.abs(geo.back[1] - 32.35) < 1e-8, `GCJ-02 round trip: ${geo.back}`);

  // Download a layer as GeoJSON.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#layer-list button[data-download=grids]')]);
  const file = path.join(WORK, 'grids-download.geojson');
  await download.saveAs(file);
  const got = JSON.parse((await import('node:fs')).readFileSync(file, 'utf8'));
  assert.equal(got.features.length, api.length);

  // Partition again keeping the locked grid, with rules of its own (150–250
  // households) for another area: the job keeps the grid as it was and
  // draws that area's grids within its own rules, or a server that takes
  // no `locked` input says so plainly.
  const lockedParent = await page.evaluate((code) => String(window.wangge.state.data.grids.features.find((g) => String(g.properties.code) === String(code)).properties.parent_code), code);
  const ownArea = lockedParent === '341102012001' ? '341102004005' : '341102012001';
  await page.click('#override-add');
  await page.fill('#overrides .override:last-child .o-code', ownArea);
  await page.fill('#overrides .override:last-child .o-min', '150');
  await page.fill('#overrides .override:last-child .o-max', '250');
  const lockedBefore = await page.getAttribute('#job', 'data-id');
  const loadsBefore = await page.evaluate(() => window.wangge.loaded || 0);
  await page.click('#partition-form button[type=submit]');
  await page.waitForFunction((b) => document.querySelector('#job').dataset.id !== b || document.querySelector('#run-msg').classList.contains('error'), lockedBefore);
  if (await page.evaluate(() => document.querySelector('#run-msg').classList.contains('error'))) {
    const msg = await page.textContent('#run-msg');
    assert.match(msg, /locked/, 'a refused locked partition names the locked input');
    figures.locked = msg.trim();
  } else {
    await waitJob(page, lockedBefore);
    const kept = await page.evaluate(async (code) => {
      const t = sessionStorage.getItem('wangge.token');
      const r = await fetch('/api/v1/datasets/browser/layers/grids', { headers: { Authorization: `Bearer ${t}` } });
      return (await r.json()).features.find((f) => String(f.properties.code) === String(code))?.properties;
    }, code);
    assert.ok(kept && kept.locked === true, `the locked grid ${code} is kept: ${JSON.stringify(kept)}`);
    figures.locked = `kept ${code}`;
    // The area with its own rules: every grid holds 150–250 households (the
    // urban preset would call each one below its minimum of 300), says it
    // is within the rules, and is coloured so on the page.
    await page.waitForFunction(([a, n]) => (window.wangge.loaded || 0) > n && window.wangge.state.areaRules?.[a] && window.wangge.state.data.grids, [ownArea, loadsBefore], { timeout: 60_000 });
    const own = await page.evaluate((a) => window.wangge.state.data.grids.features
      .filter((f) => String(f.properties.parent_code) === a)
      .map((f) => ({ code: String(f.properties.code), households: f.properties.households, within: f.properties.within_rules, state: f.properties._state })), ownArea);
    assert.ok(own.length > 1, `area ${ownArea} has grids: ${JSON.stringify(own)}`);
    for (const g of own) {
      assert.ok(g.households >= 150 && g.households <= 250 && g.within === true && g.state === 'within', `grid of ${ownArea} judged by its own rules: ${JSON.stringify(g)}`);
    }
    figures.areaRules = `${ownArea}: ${own.length} grids of ${Math.min(...own.map((g) => g.households))}–${Math.max(...own.map((g) => g.households))} households`;
  }

  // The demo dataset (loaded and computed by the server): coverage, then proposals as a job.
  await page.selectOption('#dataset-select', 'demo');
  await page.waitForFunction(() => window.wangge.state.dataset === 'demo' && window.wangge.state.data.coverage && window.wangge.state.data.grids, null, { timeout: 240_000 }).catch(async () => {
    // The server may still be computing the demo's coverage: reload until it is there.
    for (let i = 0; i < 120; i++) {
      await page.selectOption('#dataset-select', 'browser');
      await page.selectOption('#dataset-select', 'demo');
      if (await page.evaluate(() => !!(window.wangge.state.data.coverage && window.wangge.state.data.grids))) return;
      await page.waitForTimeout(2000);
    }
    throw new Error('the demo dataset has no coverage');
  });
  await page.click('#run details:has(#propose-form) summary');
  await page.fill('#pr-count', '8');
  const prev = await page.getAttribute('#job', 'data-id');
  await page.click('#propose-form button[type=submit]');
  await waitJob(page, prev);
  await page.waitForSelector('#proposal-list li', { timeout: 60_000 });
  figures.proposals = await page.locator('#proposal-list li').count();
  assert.ok(figures.proposals > 0);
  await idle(page);
  const sectors = await page.evaluate(() => window.wangge.map.querySourceFeatures('camera_sectors').length);
  assert.ok(sectors > 0, 'camera sectors are drawn');
  figures.cameraSectors = sectors;
  // The screenshot for the README: the demo's town centre, where the
  // proposals are, with its grids, camera sectors, key sites, a grid's
  // details and the summary.
  await page.evaluate(() => {
    const m = window.wangge.map;
    const pts = window.wangge.state.data.proposals.features.map((f) => f.geometry.coordinates);
    const xs = pts.map((p) => p[0]);
    const ys = pts.map((p) => p[1]);
    m.fitBounds([[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]], { padding: 60, duration: 0 });
  });
  await idle(page);
  const centre = await page.evaluate(() => {
    const m = window.wangge.map;
    const c = m.getCanvas().getBoundingClientRect();
    const f = m.queryRenderedFeatures([c.width / 2, c.height / 2], { layers: ['grids-fill'] })[0];
    return f ? String(f.properties.code) : null;
  });
  if (centre) {
    const box = await page.locator('#map').boundingBox();
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await page.waitForSelector('#detail:not([hidden])');
  }
  await page.evaluate(() => document.querySelector('#summary').scrollIntoView());
  await idle(page);
  mkdirSync(path.dirname(SHOT), { recursive: true });
  await page.screenshot({ path: SHOT });
  assert.deepEqual(errors.filter((e) => !/status of 40[34]|Failed to load resource/.test(e)), [], 'no script errors');
  await context.close();
}

/**
 * A city's grids are drawn from vector tiles (here the page is told to tile
 * any grids layer): every grid is drawn, a click on a tile-drawn grid shows
 * its full properties (the item fetched by code while the grids' GeoJSON is
 * held back), the summary fills in once that GeoJSON arrives, and a moved
 * cell changes the counts the tiles draw.
 */
async function tiledGrids(browser) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  record(context);
  await context.addInitScript(() => localStorage.setItem('wangge.tiledGridsAbove', '0'));
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  // The grids' GeoJSON waits until the click below has been answered.
  let release;
  let held = new Promise((r) => { release = r; });
  await page.route(/\/layers\/grids$/, async (route) => {
    if (!route.request().headers()['x-wangge-test']) await held;
    await route.continue();
  });
  const tiles = [];
  page.on('response', (r) => { if (r.url().includes('/tiles/WebMercatorQuad/')) tiles.push(r.status()); });
  await signIn(page, env('PLANNER_TOKEN'));
  await page.selectOption('#dataset-select', 'browser');
  await page.waitForFunction(() => window.wangge.state.dataset === 'browser' && window.wangge.map.getSource('grids')?.type === 'vector', null, { timeout: 60_000 });
  // A fresh partition (no locked grids, no rules of their own): its grids follow H3 cells, so cells can move.
  const loadsBefore = await page.evaluate(() => window.wangge.loaded || 0);
  const before = await page.getAttribute('#job', 'data-id');
  release();
  held = new Promise((r) => { release = r; });
  await page.click('#partition-form button[type=submit]');
  await waitJob(page, before);
  await page.waitForFunction((n) => (window.wangge.loaded || 0) > n && window.wangge.map.getSource('grids')?.type === 'vector', loadsBefore, { timeout: 60_000 });
  await page.evaluate(() => { window.wangge.state.itemFetches = 0; });
  await idle(page);
  const layer = await apiLayer(page, 'browser', 'grids');
  const api = layer.features.map((f) => String(f.properties.code));
  // The map may call itself loaded before the new source's tiles are drawn
  // (a busy machine draws later): wait for them, then compare.
  const drawn = () => [...new Set(window.wangge.map.queryRenderedFeatures({ layers: ['grids-fill'] }).map((f) => String(f.properties.code)))];
  await page.waitForFunction(`(${drawn})().length >= ${api.length}`, null, { timeout: 30_000 }).catch(() => {});
  const rendered = await page.evaluate(drawn);
  assert.deepEqual(rendered.sort(), [...api].sort(), 'every grid is drawn from tiles in the fitted view');
  assert.ok(tiles.length > 0 && tiles.every((s) => s === 200 || s === 204 || s === 304), `tile answers ${tiles}`);
  assert.equal(await page.evaluate(() => window.wangge.state.data.grids), undefined, 'the GeoJSON is held back');
  // Rule states drawn from the tiles match the page's own judgement of the API's grids.
  const states = await page.evaluate(async (features) => {
    const { withState } = await import('/ui/page/js/data.js');
    return features.map((f) => withState({ ...f.properties })._state);
  }, layer.features);
  figures.tiledStates = Object.fromEntries(['within', 'below', 'above'].map((k) => [k, states.filter((x) => x === k).length]));
  // ... and each tile-drawn grid is filled with its state's colour (the paint the map evaluated for it).
  const fills = await page.evaluate(async () => {
    const { COLORS } = await import('/ui/page/js/map.js');
    const hex = (c) => (typeof c === 'string' ? c.toLowerCase() : `#${[c.r, c.g, c.b].map((v) => Math.round(v * 255).toString(16).padStart(2, '0')).join('')}`);
    const byColour = Object.fromEntries(Object.entries(COLORS).map(([k, v]) => [v.toLowerCase(), k]));
    return Object.fromEntries(window.wangge.map.queryRenderedFeatures({ layers: ['grids-fill'] })
      .map((f) => [String(f.properties.code), byColour[hex(f.layer.paint['fill-color'])] || hex(f.layer.paint['fill-color'])]));
  });
  layer.features.forEach((f, i) => assert.equal(fills[String(f.properties.code)], states[i], `grid ${f.properties.code} is filled as ${states[i]}`));

  // Click a grid with issues if there is one: its panel shows the item's properties.
  const pick = layer.features.find((f) => (f.properties.issues || []).length) || layer.features[0];
  const code = String(pick.properties.code);
  const px = await gridPixel(page, code, pick);
  await idle(page);
  await page.mouse.click(px.x, px.y);
  await page.waitForFunction((c) => !document.querySelector('#detail').hidden && document.querySelector('#detail-code')?.textContent.trim() === c, code);
  const panel = await page.evaluate(() => ({
    keys: [...document.querySelectorAll('#detail-body dl dt')].map((d) => d.textContent),
    issues: [...document.querySelectorAll('#detail-body ul.issues li')].map((l) => l.textContent),
    fetched: window.wangge.state.itemFetches || 0,
  }));
  const want = Object.keys(pick.properties).filter((k) => !['issues', 'issues_text', 'cameras_text'].includes(k));
  assert.deepEqual(panel.keys.sort(), want.sort(), 'the panel lists the grid item\'s properties');
  assert.deepEqual(panel.issues, pick.properties.issues || [], 'the panel lists the grid\'s issues');
  assert.equal(panel.fetched, 1, 'the tile-drawn grid was looked up by code');
  figures.tiledClick = { code, issues: panel.issues.length };

  // The GeoJSON arrives: the summary fills in.
  release();
  await page.waitForFunction(() => window.wangge.state.data.grids, null, { timeout: 60_000 });
  await page.waitForFunction(() => /\d+ \/ \d+/.test(document.querySelector('#summary-list').textContent));
  figures.tiledSummary = (await page.textContent('#summary-list')).replace(/\s+/g, ' ').trim();

  // Move a cell and apply it: the tiles redraw both grids with their new counts.
  // (Around the layer's middle grid, as the planner's dry run above.)
  const middle = layer.features[Math.floor(layer.features.length / 2)];
  await gridPixel(page, String(middle.properties.code), middle);
  await idle(page);
  const edge = await dryRunMove(page);
  const preview = (await page.textContent('#move-result')).replace(/\s+/g, ' ').trim();
  if (await page.isEnabled('#move-apply')) {
    const loads = await page.evaluate(() => window.wangge.loaded || 0);
    await page.click('#move-apply');
    await page.waitForFunction((n) => (window.wangge.loaded || 0) > n, loads, { timeout: 60_000 });
    await idle(page);
    const after = await apiLayer(page, 'browser', 'grids');
    const props = (fc, c) => fc.features.find((f) => String(f.properties.code) === c)?.properties || {};
    // The cell changed hands: both grids' areas changed (their households too, when it held any).
    for (const c of [edge.from, edge.into]) assert.notEqual(props(after, c).area_m2, props(layer, c).area_m2, `grid ${c} changed: ${preview}`);
    // The tiles draw both grids as they are now.
    const drawn = await page.evaluate((codes) => Object.fromEntries(window.wangge.map.queryRenderedFeatures({ layers: ['grids-fill'] })
      .filter((f) => codes.includes(String(f.properties.code))).map((f) => [String(f.properties.code), [f.properties.households, f.properties.area_m2]])), [edge.from, edge.into]);
    assert.ok(Object.keys(drawn).length > 0, 'the moved grids are in view');
    for (const [c, [hh, area]] of Object.entries(drawn)) {
      assert.deepEqual([hh, area], [props(after, c).households, props(after, c).area_m2], `grid ${c} is drawn with its new households and area`);
    }
    figures.tiledMove = Object.fromEntries([edge.from, edge.into].map((c) => [c, { households: [props(layer, c).households, props(after, c).households], area_m2: [props(layer, c).area_m2, props(after, c).area_m2] }]));
  } else figures.tiledMove = preview;
  assert.deepEqual(errors.filter((e) => !/status of 40[34]|Failed to load resource/.test(e)), [], 'no script errors');
  await context.close();
}

async function viewer(browser) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  record(context);
  const page = await context.newPage();
  const private_ = [];
  page.on('response', (r) => {
    if (/households|buildings|cameras|candidates/.test(r.url()) && r.status() < 300) private_.push(r.url());
  });
  await signIn(page, env('VIEWER_TOKEN'));
  assert.equal(await page.getAttribute('#role', 'data-role'), 'viewer');
  await page.selectOption('#dataset-select', 'demo');
  await page.waitForFunction(() => window.wangge.state.dataset === 'demo' && window.wangge.state.data.grids, null, { timeout: 60_000 });
  await idle(page);
  for (const sel of ['#upload', '#run', '#adjust', '#adopt-btn', '#dataset-delete', '#dataset-new']) {
    assert.equal(await page.isVisible(sel), false, `a viewer sees no ${sel}`);
  }
  const offered = await page.evaluate(() => [...document.querySelectorAll('#layer-list [data-layer], #layer-list [data-download]')].map((n) => n.dataset.layer || n.dataset.download));
  for (const l of ['households', 'coverage_households', 'cameras', 'buildings', 'candidates', 'coverage_cameras']) {
    assert.ok(!offered.includes(l), `a viewer is offered no ${l} layer (${offered})`);
  }
  assert.ok(offered.includes('grids'), 'a viewer sees the grids');
  assert.deepEqual(private_, [], 'no private layer or tile reached the viewer');
  const rendered = await page.evaluate(() => window.wangge.map.queryRenderedFeatures({ layers: ['grids-fill'] }).length);
  assert.ok(rendered > 0);
  figures.viewerLayers = offered;
  await context.close();
}

const browser = await chromium.launch({
  executablePath: env('CHROMIUM'),
  headless: true,
  args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
/** A server without tokens: no sign-in, every caller a planner. */
async function open(browser) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  record(context);
  const page = await context.newPage();
  await page.goto(`http://${env('OPEN_ADDR')}/`);
  await page.waitForFunction(() => window.wangge && window.wangge.ready, null, { timeout: 60_000 });
  assert.equal(await page.isVisible('#signin'), false, 'no sign-in without tokens');
  assert.equal(await page.getAttribute('#role', 'data-role'), 'planner');
  assert.equal(await page.isVisible('#signout'), false);
  assert.ok(await page.isVisible('#upload'));
  await context.close();
}

try {
  await open(browser);
  await planner(browser);
  await tiledGrids(browser);
  await viewer(browser);
} catch (e) {
  // What the page showed when it failed, for the test's output.
  for (const c of browser.contexts()) {
    for (const p of c.pages()) {
      await p.screenshot({ path: path.join(WORK, 'failure.png') }).catch(() => {});
      const msgs = await p.evaluate(() => [...document.querySelectorAll('.msg')].map((m) => `${m.id}: ${m.textContent}`).filter((t) => !t.endsWith(': '))).catch(() => []);
      log('messages on the page:', msgs);
    }
  }
  throw e;
} finally {
  await browser.close();
}
assert.deepEqual(figures.offOrigin, [], 'no request left the server');
console.log(JSON.stringify(figures));
