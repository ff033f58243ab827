// Running jobs: partition (rules preset or custom, per-area overrides, locked
// grids, census update), coverage and proposals. A job's progress bar and
// stage come from the job API, polled until it ends; it can be cancelled.

import { api, enc, ApiError } from './api.js';
import { state, el, fill, $, say, errorText } from './ui.js';
import { PRESETS } from './geo.js';

let current = null; // {id, kind, timer}

const KIND = { partition: ['划分网格', 'partition'], coverage: ['覆盖分析', 'coverage'], propose: ['点位建议', 'proposals'] };
const STATES = { queued: '排队 queued', running: '运行中 running', succeeded: '完成 done', failed: '失败 failed', cancelled: '已取消 cancelled' };

export function wireJobs(onFinished) {
  const preset = $('#rules-preset');
  preset.addEventListener('change', () => fillRules(preset.value));
  fillRules(preset.value);
  for (const id of ['#r-min', '#r-max', '#r-target', '#r-persons', '#r-area']) {
    $(id).addEventListener('input', () => { preset.value = 'custom'; });
  }
  $('#override-add').addEventListener('click', () => addOverride());
  $('#partition-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const body = partitionBody();
    if (body === null) return;
    const update = $('#p-update').checked ? '?update=true' : '';
    start('partition', `/partition${update}`, body, onFinished);
  });
  $('#coverage-form').addEventListener('submit', (e) => {
    e.preventDefault();
    start('coverage', '/coverage', { h3_resolution: Number($('#c-res').value) || 12 }, onFinished);
  });
  $('#propose-form').addEventListener('submit', (e) => {
    e.preventDefault();
    start('propose', '/propose', {
      count: Number($('#pr-count').value) || 10,
      range_m: Number($('#pr-range').value) || 50,
      fov_deg: Number($('#pr-fov').value) || 360,
    }, onFinished);
  });
  $('#job-cancel').addEventListener('click', cancel);
}

/** Shows the locked grids the next partition keeps. */
export function showLocked() {
  const codes = [...state.locked];
  fill($('#locked-list'), codes.length ? codes.join(', ') : '–');
}

function fillRules(which) {
  const r = which === 'urban' || which === 'rural' ? PRESETS[which] : null;
  const set = (id, v) => { $(id).value = v ?? ''; };
  if (which === 'custom') return;
  set('#r-min', r?.min_households);
  set('#r-max', r?.max_households);
  set('#r-target', r?.target_households);
  set('#r-persons', r?.max_persons);
  set('#r-area', r?.max_area_m2);
}

/**
 * One override row: an area's own rules (min and max households, optional
 * max persons). It replaces the rules for that area whole: a bound left
 * empty is not checked there.
 */
function addOverride() {
  const row = el('div', { class: 'override' },
    el('input', { placeholder: '区域代码 area code', class: 'o-code', list: 'area-codes' }),
    el('input', { type: 'number', min: 0, placeholder: '最少 min', class: 'o-min' }),
    el('input', { type: 'number', min: 1, placeholder: '最多 max', class: 'o-max' }),
    el('input', { type: 'number', min: 1, placeholder: '人数 persons', class: 'o-persons' }),
    el('button', { type: 'button', class: 'small', onclick: () => row.remove() }, '×'));
  $('#overrides').append(row);
  const codes = (state.data.areas?.features || []).map((f) => String(f.properties.code));
  fill($('#area-codes'), ...codes.map((c) => el('option', { value: c })));
}

const numOrNull = (id) => {
  const v = $(id).value.trim();
  return v === '' ? null : Number(v);
};

/**
 * The partition job's body: the rules document (nothing for the per-area
 * presets), plus `locked` grid codes and `area_rules` overrides when given.
 */
function partitionBody() {
  let body = {};
  if ($('#rules-preset').value !== 'area') {
    const min = numOrNull('#r-min');
    const max = numOrNull('#r-max');
    if (min === null || max === null) {
      say('#run-msg', 'error', '请填写最少和最多户数', 'give min and max households');
      return null;
    }
    if (min > max) {
      say('#run-msg', 'error', '最少户数大于最多户数', 'min households is above max households');
      return null;
    }
    body = { min_households: min, max_households: max };
    for (const [k, id] of [['target_households', '#r-target'], ['max_persons', '#r-persons'], ['max_area_m2', '#r-area']]) {
      const v = numOrNull(id);
      if (v !== null) body[k] = v;
    }
  }
  const overrides = {};
  for (const row of document.querySelectorAll('#overrides .override')) {
    const code = row.querySelector('.o-code').value.trim();
    if (!code) continue;
    const min = Number(row.querySelector('.o-min').value);
    const max = Number(row.querySelector('.o-max').value);
    if (!(max >= 1) || !(min >= 0) || min > max) {
      say('#run-msg', 'error', `区域 ${code} 的户数范围无效`, `area ${code}: give 0 ≤ min ≤ max`);
      return null;
    }
    overrides[code] = { min_households: min, max_households: max };
    const persons = row.querySelector('.o-persons').value.trim();
    if (persons !== '') overrides[code].max_persons = Number(persons);
  }
  if (Object.keys(overrides).length) body.area_rules = overrides;
  if (state.locked.size) body.locked = [...state.locked];
  return Object.keys(body).length ? body : '';
}

async function start(kind, path, body, onFinished) {
  if (!state.dataset) {
    say('#run-msg', 'error', '请先选择数据集', 'choose a dataset first');
    return;
  }
  if (current) {
    say('#run-msg', 'error', '已有任务在运行', 'a job is running: wait or cancel it');
    return;
  }
  say('#run-msg', 'info', '');
  try {
    const opts = { method: 'POST' };
    if (body === '') opts.body = '';
    else opts.json = body;
    const r = await api(`/api/v1/datasets/${enc(state.dataset)}${path}`, opts);
    follow({ id: r.id, kind }, onFinished);
  } catch (e) {
    // A server without these inputs refuses them as unknown fields of the rules.
    if (e instanceof ApiError && e.status === 400 && /unknown field `(area_rules|locked)`/.test(e.message)) {
      say('#run-msg', 'error', '此服务器不支持按区域覆盖或锁定网格', `this server does not take per-area overrides or locked grids: ${e.message}`);
    } else if (e instanceof ApiError && e.status === 422 && e.body?.estimate) {
      say('#run-msg', 'error', '任务过大，已拒绝', e.message);
    } else if (e instanceof ApiError && e.status < 500 && e.status !== 401 && e.status !== 403) {
      say('#run-msg', 'error', '无法开始任务', e.message);
    } else say('#run-msg', 'error', ...errorText(e, { zh: '任务', en: 'jobs' }));
  }
}

/** Stops following a job (another dataset was chosen); the job itself goes on. */
export function unfollow() {
  if (current?.timer) clearTimeout(current.timer);
  current = null;
  $('#job').hidden = true;
}

/** Follows job `job` ({id, kind}) until it ends, then calls onFinished(job document). */
export function follow(job, onFinished) {
  current = { ...job };
  const mine = current;
  const box = $('#job');
  box.hidden = false;
  box.dataset.id = job.id;
  box.dataset.state = 'queued';
  const [zh, en] = KIND[job.kind] || [job.kind, job.kind];
  fill($('#job-title'), el('strong', {}, zh), el('span', { class: 'en' }, en));
  $('#job-cancel').disabled = false;
  const poll = async () => {
    if (current !== mine) return;
    let j;
    try {
      j = await api(`/api/v1/jobs/${enc(job.id)}`);
    } catch (e) {
      say('#run-msg', 'error', ...errorText(e, { zh: '任务状态', en: 'the job' }));
      current = null;
      return;
    }
    if (current !== mine) return;
    $('#job-progress').value = j.state === 'succeeded' ? 1 : j.progress || 0;
    $('#job-stage').textContent = `${STATES[j.state] || j.state} · ${j.stage || ''} · ${Math.round((j.progress || 0) * 100)}%`;
    box.dataset.state = j.state;
    if (['succeeded', 'failed', 'cancelled'].includes(j.state)) {
      current = null;
      $('#job-cancel').disabled = true;
      if (j.state === 'succeeded') say('#run-msg', 'ok', `${zh}完成`, `${en} done${j.elapsed_s ? ` in ${j.elapsed_s.toFixed(1)} s` : ''}`);
      else if (j.state === 'failed') say('#run-msg', 'error', `${zh}失败`, j.reason || '');
      else say('#run-msg', 'info', `${zh}已取消`, 'cancelled');
      await onFinished(j);
      return;
    }
    current.timer = setTimeout(poll, 400);
  };
  poll();
}

async function cancel() {
  if (!current) return;
  try {
    await api(`/api/v1/jobs/${enc(current.id)}/cancel`, { method: 'POST' });
    say('#run-msg', 'info', '正在取消…', 'cancelling');
  } catch (e) {
    say('#run-msg', 'error', ...errorText(e, { zh: '取消', en: 'cancelling' }));
  }
}

/** Follows a job of the dataset that is still queued or running (after a reload). */
export function resume(onFinished) {
  if (current) return;
  const open = (state.jobs || []).find((j) => j.state === 'queued' || j.state === 'running');
  if (open) follow({ id: open.id, kind: open.kind }, onFinished);
}
