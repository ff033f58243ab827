// The planner's page: signs in (when the server has tokens), then wires the
// panels to the map. `window.wangge` exposes the page's state for the
// browser test and for anyone debugging in the console.

import { api, setToken, token } from './api.js';
import { state, el, fill, $, say, applyRole } from './ui.js';
import { createMap, renderLegend } from './map.js';
import { refreshDatasets, wireDatasets, fetchDataset, loadDataset, renderLayerList, onGridDetails } from './data.js';
import { wireUpload } from './upload.js';
import { wireJobs, showLocked, resume, unfollow } from './jobs.js';
import { renderSummary, renderProposals, wireClicks } from './review.js';
import { wireAdjust, isMoving, renderAdoption } from './adjust.js';

window.wangge = { state, ready: false };

async function session() {
  try {
    return await api('/ui/session');
  } catch (e) {
    return { tokens: true, signed_in: false, reason: e.message };
  }
}

function renderWho() {
  const s = state.session;
  const who = $('#who');
  const role = s.role === 'planner' ? ['规划员', 'planner'] : ['查看者', 'viewer'];
  fill(who,
    el('span', { id: 'role', 'data-role': s.role }, role[0], el('span', { class: 'en' }, role[1])),
    s.tokens ? el('button', { type: 'button', id: 'signout', onclick: signOut }, '退出 ', el('span', { class: 'en' }, 'Sign out')) : null);
}

function signOut() {
  setToken('');
  location.reload();
}

/**
 * Reloads the current dataset and every panel that shows it (`fetched`: the
 * dataset's layers, when already being fetched).
 */
async function reload(fetched) {
  await loadDataset(state.dataset, fetched);
  renderSummary();
  renderProposals();
  showLocked();
  await renderAdoption();
  renderLegend();
  resume(onJobFinished);
  window.wangge.loaded = (window.wangge.loaded || 0) + 1;
}

async function onJobFinished() {
  await refreshDatasets();
  await reload();
}

async function selectDataset(d) {
  if (d !== state.dataset) unfollow();
  state.dataset = d || null;
  $('#detail').hidden = true;
  await reload();
}

async function startApp() {
  $('#signin').hidden = true;
  $('#app').hidden = false;
  applyRole();
  renderWho();
  // The datasets are listed, and the first one's layers fetched, while the
  // map starts (its WebGL context, shaders and worker: the longer part,
  // where WebGL is software). The list's request goes first: creating the
  // map holds the page's thread.
  const first = refreshDatasets().then(() => {
    const d = state.dataset;
    if (!d) return null;
    const fetched = fetchDataset(d);
    fetched.catch(() => {}); // reported where it is awaited
    return { d, fetched };
  });
  const mapReady = createMap();
  window.wangge.map = state.map;
  wireClicks(isMoving);
  wireDatasets(selectDataset);
  wireUpload(async () => {
    await refreshDatasets();
    await reload();
  });
  wireJobs(onJobFinished);
  wireAdjust(reload);
  // Tile-drawn grids: the panels fill in when their GeoJSON arrives.
  onGridDetails(() => {
    renderSummary();
    renderLegend();
    window.wangge.details = (window.wangge.details || 0) + 1;
  });
  const [pre] = await Promise.all([first, mapReady]);
  await reload(pre && pre.d === state.dataset ? pre.fetched : undefined);
  renderLayerList();
  window.wangge.ready = true;
}

async function boot() {
  state.session = await session();
  if (state.session.signed_in) return startApp();
  $('#signin').hidden = false;
  if (token() && state.session.reason) say('#signin-msg', 'error', '令牌无效', state.session.reason);
  setToken('');
  $('#signin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    setToken($('#token').value.trim());
    const s = await session();
    if (!s.signed_in) {
      setToken('');
      say('#signin-msg', 'error', '令牌无效', s.reason || 'unknown token');
      return;
    }
    state.session = s;
    $('#token').value = '';
    await startApp();
  });
}

boot().catch((e) => {
  console.error(e);
  document.body.append(el('p', { class: 'msg error' }, `页面出错 page error: ${e.message}`));
});
