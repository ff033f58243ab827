// Uploading layers: files dropped on (or chosen in) the drop zone are sent
// as `PUT …/layers/{layer}?crs=…`, and the service's validation report is
// shown: accepted, rejected with reasons. A rejected row whose feature has a
// position the page can place (WGS84, GCJ-02 or BD-09 input) zooms to it.

import { api, enc, ApiError } from './api.js';
import { state, el, fill, $, say, fmt, errorText } from './ui.js';
import * as map from './map.js';
import { positions, toWgs84 } from './geo.js';

const KINDS = ['areas', 'households', 'cameras', 'buildings', 'barriers', 'sites', 'candidates', 'grids'];

/** The layer a file is for: the chosen one, else the first layer name in its file name. */
function layerFor(file) {
  const chosen = $('#upload-layer').value;
  if (chosen) return chosen;
  const base = file.name.toLowerCase();
  return KINDS.find((k) => base.includes(k)) || null;
}

export function wireUpload(onUploaded) {
  const drop = $('#drop');
  const input = $('#upload-file');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    uploadAll([...e.dataTransfer.files], onUploaded);
  });
  input.addEventListener('change', () => {
    const files = [...input.files];
    input.value = '';
    uploadAll(files, onUploaded);
  });
}

async function uploadAll(files, onUploaded) {
  if (!state.dataset) {
    say('#upload-msg', 'error', '请先选择或新建数据集', 'choose or create a dataset first');
    return;
  }
  const reports = [];
  for (const file of files) {
    const layer = layerFor(file);
    if (!layer) {
      say('#upload-msg', 'error', `无法判断 ${file.name} 是哪个图层：请选择图层`, 'pick the layer this file is');
      continue;
    }
    reports.push(await uploadOne(file, layer));
  }
  const done = reports.filter(Boolean);
  if (done.length) await onUploaded(done.map((r) => r.layer));
  // The report is drawn after the dataset reloads, so the rejected marker layer stays.
  fill($('#report'), done.map(renderReport));
}

async function uploadOne(file, layer) {
  const crs = $('#upload-crs').value;
  say('#upload-msg', 'info', `正在上传 ${file.name} → ${layer} …`, 'uploading');
  const text = await file.text();
  const q = crs ? `?crs=${enc(crs)}` : '';
  try {
    const r = await api(`/api/v1/datasets/${enc(state.dataset)}/layers/${enc(layer)}${q}`, {
      method: 'PUT', body: text, type: 'application/geo+json',
    });
    say('#upload-msg', r.rejected ? 'info' : 'ok', `${file.name}: 接受 ${fmt(r.accepted)}，拒绝 ${fmt(r.rejected)}`, `accepted ${r.accepted}, rejected ${r.rejected}`);
    return { layer, file: file.name, crs, report: r, text };
  } catch (e) {
    if (e instanceof ApiError && e.status < 500 && e.status !== 401 && e.status !== 403) {
      say('#upload-msg', 'error', `${file.name} 无法读取`, e.message);
    } else say('#upload-msg', 'error', ...errorText(e, { zh: '上传', en: 'uploads' }));
    return null;
  }
}

/** The WGS84 position of feature `index` of the uploaded text, if the page can place it. */
function positionOf(upload, index) {
  if (!upload.features) {
    try {
      upload.features = JSON.parse(upload.text).features || [];
    } catch {
      upload.features = [];
    }
  }
  const f = upload.features[index];
  if (!f || !f.geometry) return null;
  for (const p of positions(f.geometry)) {
    const q = toWgs84(p, upload.crs || upload.report.crs);
    if (q) return q;
  }
  return null;
}

function renderReport(upload) {
  const r = upload.report;
  const rows = (r.rejections || []).map((x) => {
    const pos = positionOf(upload, x.index);
    const attrs = pos
      ? { class: 'zoomable', title: '点击定位 click to zoom', onclick: () => zoomTo(pos) }
      : { title: '无可定位的坐标 no position to show' };
    return el('tr', attrs, el('td', {}, x.index), el('td', {}, x.id ?? ''), el('td', {}, x.reason), el('td', {}, pos ? '⌖' : ''));
  });
  const extra = [];
  for (const [k, zh] of [['defaults', '默认值'], ['repairs', '修复'], ['ignored', '忽略']]) {
    const v = r[k];
    if (v && Object.keys(v).length) extra.push(el('div', { class: 'note' }, `${zh} ${k}: `, Object.entries(v).map(([a, b]) => `${a} ${b}`).join(', ')));
  }
  return el('div', { class: 'report' },
    el('div', { class: 'report-head' }, el('strong', {}, `${upload.layer} · ${upload.file}`),
      el('span', {}, `接受 accepted ${fmt(r.accepted)}`), el('span', { class: r.rejected ? 'bad' : '' }, `拒绝 rejected ${fmt(r.rejected)}`),
      el('span', { class: 'note' }, r.crs || '')),
    extra,
    rows.length ? el('table', { class: 'rejections' },
      el('thead', {}, el('tr', {}, el('th', {}, '#'), el('th', {}, 'id'), el('th', {}, '原因 reason'), el('th', {}, ''))),
      el('tbody', {}, rows)) : null,
    r.rejections_truncated ? el('div', { class: 'note' }, '仅显示前若干条 only the first rejections are shown') : null);
}

function zoomTo(wgs84) {
  const pos = map.toMap(wgs84);
  map.setGeojson('rejected', { type: 'FeatureCollection', features: [{ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: pos } }] });
  state.map.jumpTo({ center: pos, zoom: Math.max(state.map.getZoom(), 16) });
}
