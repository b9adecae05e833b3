// app.js: the sta UI.  A hash router picks a page; each page reads the
// REST API and renders plain HTML (no framework, no build step).  Pages
// that show live state re-read it on a timer; the log view follows a
// running try through the server's streamed response.

import { api, get, seg, esc, session, canOperate, fmtTime, fmtDuration, statePill, flash }
  from './api.js';
import { graphSvg } from './graph.js';
import { lineChart } from './charts.js';

const main = document.getElementById('main');
const GRID_PAGE = 25;
const RUNS_PAGE = 50;
const FINISHED = new Set(['success', 'failed', 'skipped', 'upstream_failed', 'removed']);
let timer = null;
let pageAbort = null;

function every(ms, fn) {
  clearInterval(timer);
  timer = fn ? setInterval(() => fn().catch(() => {}), ms) : null;
}

const dagHref = (id, tab) => `#/dags/${seg(id)}${tab ? '/' + tab : ''}`;
const runHref = (id, run) => `#/dags/${seg(id)}/runs/${seg(run)}`;
const taskHref = (id, run, task) => `${runHref(id, run)}/tasks/${seg(task)}`;

// ------------------------------------------------------------- routing

async function route() {
  every(0, null);
  if (pageAbort) pageAbort.abort();
  pageAbort = new AbortController();
  const hash = location.hash.slice(1) || '/';
  const [path, query] = hash.split('?');
  const p = path.split('/').filter(Boolean).map(decodeURIComponent);
  const q = new URLSearchParams(query || '');
  for (const a of document.querySelectorAll('header nav a')) {
    const nav = a.dataset.nav;
    a.classList.toggle('active', (p[0] || 'dags') === nav);
  }
  try {
    if (p.length === 0 || (p[0] === 'dags' && p.length === 1)) await pageDags();
    else if (p[0] === 'analytics') await pageAnalytics();
    else if (p[0] === 'audit') await pageAudit(q);
    else if (p[0] === 'pools') await pagePools();
    else if (p[0] === 'dags' && p.length <= 3 && p[2] !== 'runs') await pageDag(p[1], p[2] || 'grid', q);
    else if (p[0] === 'dags' && p[2] === 'runs' && p.length === 3) await pageDag(p[1], 'runs', q);
    else if (p[0] === 'dags' && p[2] === 'runs' && p.length === 4) await pageRun(p[1], p[3]);
    else if (p[0] === 'dags' && p[4] === 'tasks' && p.length === 6) await pageTask(p[1], p[3], p[5], q);
    else main.innerHTML = '<p>No such page.</p>';
  } catch (e) {
    if (e.name !== 'AbortError') main.innerHTML = `<p class="error" id="page-error">${esc(e.message)}</p>`;
  }
}

// ------------------------------------------------------------ triggers

let triggerDag = null;

function openTrigger(dagId, params) {
  triggerDag = dagId;
  document.getElementById('trigger-dag').textContent = dagId;
  document.getElementById('trigger-conf').value = JSON.stringify(params || {}, null, 2);
  document.getElementById('trigger-date').value = '';
  document.getElementById('trigger-error').hidden = true;
  document.getElementById('trigger-dialog').showModal();
}

async function submitTrigger(ev) {
  ev.preventDefault();
  const err = document.getElementById('trigger-error');
  let conf;
  try {
    conf = JSON.parse(document.getElementById('trigger-conf').value || '{}');
    if (conf === null || typeof conf !== 'object' || Array.isArray(conf)) throw new Error('not an object');
  } catch (e) {
    err.textContent = 'The configuration must be a JSON object: ' + e.message;
    err.hidden = false;
    return;
  }
  const body = { conf };
  const date = document.getElementById('trigger-date').value.trim();
  if (date) body.logical_date = date;
  try {
    const run = await api('POST', `/api/v1/dags/${seg(triggerDag)}/runs`, body);
    document.getElementById('trigger-dialog').close();
    flash(`Triggered ${run.dag_id}: ${run.run_id}`);
    location.hash = dagHref(run.dag_id);
  } catch (e) {
    err.textContent = e.message;
    err.hidden = false;
  }
}

async function setPaused(dagId, paused) {
  try {
    await api('PATCH', `/api/v1/dags/${seg(dagId)}`, { is_paused: paused });
    flash(`${dagId} ${paused ? 'paused' : 'unpaused'}`);
  } catch (e) {
    flash(e.message, true);
  }
}

// On (green) is active, off is paused, as Airflow's toggle.
function pauseSwitch(dag) {
  return `<label class="switch" title="${dag.is_paused ? 'paused: click to unpause' : 'active: click to pause'}">` +
    `<input type="checkbox" class="pause" data-dag="${esc(dag.dag_id)}" ${dag.is_paused ? '' : 'checked'} ` +
    `${canOperate() ? '' : 'disabled'}><span></span></label>`;
}

function bindPauseSwitches(root) {
  for (const box of root.querySelectorAll('input.pause')) {
    box.addEventListener('change', async () => {
      await setPaused(box.dataset.dag, !box.checked);
      const label = root.querySelector(`.pause-state[data-dag="${CSS.escape(box.dataset.dag)}"]`);
      if (label) label.textContent = box.checked ? 'active' : 'paused';
    });
  }
}

// ------------------------------------------------------------- DAG list

async function pageDags() {
  const render = async () => {
    const d = await get('/api/v1/dags');
    const rows = d.dags.map((dag) => {
      const recent = (dag.recent_runs || []).slice().reverse().map((r) =>
        `<a class="dot state-${esc(r.state)}" title="${esc(r.run_id)}: ${esc(r.state)}" ` +
        `href="${runHref(dag.dag_id, r.run_id)}"></a>`).join('');
      const last = dag.last_run ?
        `${statePill(dag.last_run.state)} <span class="muted">${esc(fmtTime(dag.last_run.logical_date))}</span>` : '';
      const next = dag.next_run ?
        `${esc(fmtTime(dag.next_run.logical_date))}<div class="muted">due ${esc(fmtTime(dag.next_run.due))}</div>` : '';
      return `<tr data-dag="${esc(dag.dag_id)}"><td>${dag.is_active === false ? '' : pauseSwitch(dag)}</td>` +
        `<td><a class="dag-link" href="${dagHref(dag.dag_id)}">${esc(dag.dag_id)}</a>` +
        `${dag.description ? `<div class="muted">${esc(dag.description)}</div>` : ''}` +
        `${dag.is_active === false ? '<div class="muted">(its file is gone)</div>' : ''}</td>` +
        `<td class="mono">${esc(dag.schedule ?? 'manual')}</td><td>${recent}</td>` +
        `<td class="last-run">${last}</td><td class="next-run">${next}</td>` +
        `<td>${dag.is_active === false || !canOperate() ? '' :
          `<button type="button" class="trigger secondary" data-dag="${esc(dag.dag_id)}">Trigger</button>`}</td></tr>`;
    }).join('');
    const errors = d.import_errors.length ?
      `<div class="card error"><b>DAG files with errors</b><pre>${esc(d.import_errors.join('\n'))}</pre></div>` : '';
    main.innerHTML = `<h1>DAGs</h1>${errors}<table class="list" id="dag-list"><thead><tr>` +
      '<th>Active</th><th>DAG</th><th>Schedule</th><th>Recent runs</th><th>Last run</th>' +
      `<th>Next run</th><th></th></tr></thead><tbody>${rows || '<tr><td colspan="7" class="muted">No DAGs.</td></tr>'}` +
      '</tbody></table>';
    bindPauseSwitches(main);
    for (const b of main.querySelectorAll('button.trigger')) {
      b.addEventListener('click', () => openTrigger(b.dataset.dag, {}));
    }
  };
  await render();
  every(5000, render);
}

// ------------------------------------------------------------- one DAG

async function pageDag(id, tab, q) {
  const dag = await get(`/api/v1/dags/${seg(id)}`);
  const tabs = ['grid', 'graph', 'runs', 'details'].map((t) =>
    `<a href="${dagHref(id, t === 'grid' ? '' : t)}" class="${t === tab ? 'active' : ''}" data-tab="${t}">` +
    `${t[0].toUpperCase() + t.slice(1)}</a>`).join('');
  main.innerHTML = `<h1>${esc(dag.dag_id)}</h1>` +
    `<div class="toolbar">${pauseSwitch(dag)} <span class="muted pause-state" data-dag="${esc(dag.dag_id)}">` +
    `${dag.is_paused ? 'paused' : 'active'}</span>` +
    `<span class="mono">${esc(dag.schedule ?? 'manual')}</span>` +
    (dag.next_run ? `<span class="muted">next run ${esc(fmtTime(dag.next_run.logical_date))}</span>` : '') +
    (canOperate() ? '<button type="button" id="trigger">Trigger</button>' : '') +
    `</div><nav class="tabs">${tabs}</nav><section id="tab"></section>`;
  bindPauseSwitches(main);
  const trig = document.getElementById('trigger');
  if (trig) trig.addEventListener('click', () => openTrigger(id, dag.params));
  const el = document.getElementById('tab');
  if (tab === 'grid') await tabGrid(dag, el, q);
  else if (tab === 'graph') await tabGraph(dag, el);
  else if (tab === 'runs') await tabRuns(dag, el, q);
  else tabDetails(dag, el);
}

const LEGEND = ['success', 'failed', 'running', 'queued', 'scheduled', 'up_for_retry',
  'upstream_failed', 'skipped', 'removed', 'none'];

async function tabGrid(dag, el, q) {
  const cursor = q.get('cursor');
  el.innerHTML = '<div class="toolbar" id="grid-paging"></div><div class="grid-wrap" id="grid"></div>' +
    `<div class="legend">${LEGEND.map((s) => `<span><span class="cell state-${s}"></span>${s}</span>`).join('')}</div>`;
  const render = async () => {
    const g = await get(`/api/v1/dags/${seg(dag.dag_id)}/grid?limit=${GRID_PAGE}` +
      (cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''));
    const runs = g.runs.slice().reverse();      // oldest on the left
    const head = runs.map((r) =>
      `<th class="run"><a class="runbar state-${esc(r.state)}" data-run="${esc(r.run_id)}" ` +
      `data-state="${esc(r.state)}" href="${runHref(dag.dag_id, r.run_id)}" ` +
      `title="${esc(r.run_id)}&#10;${esc(r.state)}&#10;${esc(fmtTime(r.logical_date))}"></a></th>`).join('');
    const body = g.tasks.map((t, i) => `<tr><th class="task">${esc(t.task_id)}</th>` +
      runs.map((r) => {
        const c = r.tis[i], st = c ? c.state : 'none';
        return `<td><a class="cell state-${esc(st)}" data-task="${esc(t.task_id)}" ` +
          `data-run="${esc(r.run_id)}" data-state="${esc(st)}" href="${taskHref(dag.dag_id, r.run_id, t.task_id)}" ` +
          `title="${esc(t.task_id)}&#10;${esc(r.run_id)}&#10;${esc(st)}${c && c.try_number > 1 ? ' (try ' + c.try_number + ')' : ''}"></a></td>`;
      }).join('') + '</tr>').join('');
    const wrap = document.getElementById('grid');
    if (!wrap) return;
    wrap.innerHTML = runs.length ?
      `<table class="grid" id="grid-table"><thead><tr><th></th>${head}</tr></thead><tbody>${body}</tbody></table>` :
      '<p class="muted">No runs yet.</p>';
    wrap.scrollLeft = wrap.scrollWidth;
    const older = g.next_cursor ? `<a class="button secondary" id="older" href="${dagHref(dag.dag_id)}?cursor=${encodeURIComponent(g.next_cursor)}">Older runs</a>` : '';
    const newest = cursor ? `<a class="button secondary" id="newest" href="${dagHref(dag.dag_id)}">Newest runs</a>` : '';
    document.getElementById('grid-paging').innerHTML = `${older}${newest}` +
      `<span class="muted">${runs.length} run${runs.length === 1 ? '' : 's'} shown</span>`;
  };
  await render();
  if (!cursor) every(2000, render);
}

async function tabGraph(dag, el) {
  const render = async () => {
    const g = await get(`/api/v1/dags/${seg(dag.dag_id)}/grid?limit=1`);
    const run = g.runs[0], states = {};
    if (run) g.tasks.forEach((t, i) => { states[t.task_id] = run.tis[i] ? run.tis[i].state : 'none'; });
    const target = document.getElementById('tab');
    if (!target) return;
    target.innerHTML = `<p class="muted">${run ? `States of run ${esc(run.run_id)}` : 'No runs yet.'}</p>` +
      `<div class="graph-wrap">${graphSvg(dag, states, (task) => run ? taskHref(dag.dag_id, run.run_id, task) : null)}</div>`;
  };
  await render();
  every(3000, render);
}

async function tabRuns(dag, el, q) {
  const cursor = q.get('cursor');
  const d = await get(`/api/v1/dags/${seg(dag.dag_id)}/runs?limit=${RUNS_PAGE}` +
    (cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''));
  const rows = d.runs.map((r) => `<tr><td><a href="${runHref(dag.dag_id, r.run_id)}">${esc(r.run_id)}</a></td>` +
    `<td>${esc(r.run_type)}</td><td>${statePill(r.state)}</td><td>${esc(fmtTime(r.logical_date))}</td>` +
    `<td>${esc(fmtTime(r.start))}</td><td>${esc(fmtDuration(r.start, r.end))}</td>` +
    `<td class="mono">${r.conf && Object.keys(r.conf).length ? esc(JSON.stringify(r.conf)) : ''}</td></tr>`).join('');
  el.innerHTML = `<p class="muted">${d.total_entries} runs</p><table class="list" id="runs"><thead><tr>` +
    '<th>Run</th><th>Type</th><th>State</th><th>Logical date</th><th>Started</th><th>Duration</th><th>Conf</th>' +
    `</tr></thead><tbody>${rows}</tbody></table><div class="toolbar">` +
    (d.next_cursor ? `<a class="button secondary" href="${dagHref(dag.dag_id, 'runs')}?cursor=${encodeURIComponent(d.next_cursor)}">Older</a>` : '') +
    (cursor ? `<a class="button secondary" href="${dagHref(dag.dag_id, 'runs')}">Newest</a>` : '') + '</div>';
}

function tabDetails(dag, el) {
  const tasks = dag.tasks.map((t) => `<tr><td>${esc(t.task_id)}</td><td>${esc(t.upstream.join(', '))}</td>` +
    `<td class="mono">${esc(t.command.join(' '))}</td><td>${esc(t.trigger_rule)}</td><td>${t.retries}</td>` +
    `<td>${esc(t.executor)}</td><td>${esc(t.pool)}</td><td>${esc(t.env.join(', '))}</td></tr>`).join('');
  el.innerHTML = '<div class="card"><dl class="kv">' +
    `<dt>File</dt><dd>${esc(dag.fileloc)}</dd><dt>Description</dt><dd>${esc(dag.description)}</dd>` +
    `<dt>Schedule</dt><dd>${esc(dag.schedule ?? 'manual')}</dd><dt>Start date</dt><dd>${esc(fmtTime(dag.start_date))}</dd>` +
    `<dt>Catchup</dt><dd>${dag.catchup}</dd><dt>Max active runs</dt><dd>${dag.max_active_runs}</dd>` +
    `<dt>Max active tasks</dt><dd>${dag.max_active_tasks}</dd><dt>Tags</dt><dd>${esc(dag.tags.join(', '))}</dd>` +
    `<dt>Params</dt><dd><pre class="json">${esc(JSON.stringify(dag.params, null, 2))}</pre></dd></dl></div>` +
    '<h2>Tasks</h2><table class="list"><thead><tr><th>Task</th><th>Upstream</th><th>Command</th>' +
    '<th>Trigger rule</th><th>Retries</th><th>Executor</th><th>Pool</th><th>Environment (names)</th>' +
    `</tr></thead><tbody>${tasks}</tbody></table>`;
}

// --------------------------------------------------------------- a run

async function pageRun(id, runId) {
  const render = async () => {
    const r = await get(`/api/v1/dags/${seg(id)}/runs/${seg(runId)}`);
    const tis = r.task_instances.map((t) => `<tr><td><a href="${taskHref(id, runId, t.task_id)}">${esc(t.task_id)}</a></td>` +
      `<td>${statePill(t.state)}</td><td>${t.try_number}/${t.max_tries}</td><td>${esc(fmtTime(t.start))}</td>` +
      `<td>${esc(fmtDuration(t.start, t.end))}</td></tr>`).join('');
    main.innerHTML = `<p><a href="${dagHref(id)}">${esc(id)}</a></p><h1>Run ${esc(r.run_id)}</h1>` +
      '<div class="card"><dl class="kv">' +
      `<dt>State</dt><dd id="run-state">${statePill(r.state)}</dd><dt>Type</dt><dd>${esc(r.run_type)}</dd>` +
      `<dt>Logical date</dt><dd>${esc(fmtTime(r.logical_date))}</dd>` +
      `<dt>Data interval</dt><dd>${esc(fmtTime(r.data_interval_start))} – ${esc(fmtTime(r.data_interval_end))}</dd>` +
      `<dt>Started</dt><dd>${esc(fmtTime(r.start))}</dd><dt>Duration</dt><dd>${esc(fmtDuration(r.start, r.end))}</dd>` +
      `<dt>Conf</dt><dd><pre class="json">${esc(JSON.stringify(r.conf, null, 2))}</pre></dd></dl>` +
      (canOperate() ? '<div class="toolbar"><button type="button" id="clear-run" class="secondary">Clear all tasks</button>' +
        '<button type="button" id="clear-failed" class="secondary">Clear failed tasks</button></div>' : '') +
      '</div><h2>Task instances</h2><table class="list" id="task-instances"><thead><tr><th>Task</th><th>State</th>' +
      `<th>Tries</th><th>Started</th><th>Duration</th></tr></thead><tbody>${tis}</tbody></table>`;
    const clear = async (body) => {
      try {
        const res = await api('POST', `/api/v1/dags/${seg(id)}/runs/${seg(runId)}/clear`, body);
        flash(`Cleared ${res.cleared} task instance${res.cleared === 1 ? '' : 's'}`);
        await render();
      } catch (e) { flash(e.message, true); }
    };
    const a = document.getElementById('clear-run'), b = document.getElementById('clear-failed');
    if (a) a.addEventListener('click', () => clear({}));
    if (b) b.addEventListener('click', () => clear({ only_failed: true }));
    return r;
  };
  const r = await render();
  if (!FINISHED.has(r.state)) every(2000, render);
}

// ------------------------------------------------------- a task instance

async function streamLog(url, pre, signal) {
  pre.textContent = '';
  delete pre.dataset.complete;
  const r = await fetch(url, { signal, credentials: 'same-origin' });
  if (!r.ok) {
    const e = await r.json().catch(() => ({ error: r.statusText }));
    pre.textContent = e.error;
    return;
  }
  const reader = r.body.getReader();
  const dec = new TextDecoder();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const bottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.textContent += dec.decode(value, { stream: true });
    if (bottom) pre.scrollTop = pre.scrollHeight;
  }
  pre.dataset.complete = 'true';
}

async function pageTask(id, runId, taskId, q) {
  const base = `/api/v1/dags/${seg(id)}/runs/${seg(runId)}/tasks/${seg(taskId)}`;
  let ti = await get(base);
  const chosen = Number(q.get('try')) || ti.try_number;
  main.innerHTML = `<p><a href="${dagHref(id)}">${esc(id)}</a> / <a href="${runHref(id, runId)}">${esc(runId)}</a></p>` +
    `<h1>${esc(taskId)}</h1><div class="cards"><div class="card" id="ti-card"></div>` +
    '<div class="card"><b>Tries</b><div id="tries"></div></div></div>' +
    (canOperate() ? '<div class="toolbar"><button type="button" id="clear-ti" class="secondary">Clear</button>' +
      '<label><input type="checkbox" id="clear-downstream"> and downstream</label>' +
      '<button type="button" id="mark-success" class="secondary">Mark success</button>' +
      '<button type="button" id="mark-failed" class="danger">Mark failed</button></div>' : '') +
    `<h2>Log${chosen ? ` of try ${chosen}` : ''}</h2><pre class="log" id="log"></pre>`;
  const card = () => {
    document.getElementById('ti-card').innerHTML = '<dl class="kv">' +
      `<dt>State</dt><dd id="ti-state" data-state="${esc(ti.state)}">${statePill(ti.state)}</dd>` +
      `<dt>Tries</dt><dd>${ti.try_number} of ${ti.max_tries}</dd>` +
      `<dt>Started</dt><dd>${esc(fmtTime(ti.start))}</dd><dt>Ended</dt><dd>${esc(fmtTime(ti.end))}</dd>` +
      `<dt>Duration</dt><dd>${esc(fmtDuration(ti.start, ti.end))}</dd>` +
      (ti.next_try_at ? `<dt>Next try</dt><dd>${esc(fmtTime(ti.next_try_at))}</dd>` : '') + '</dl>';
    document.getElementById('tries').innerHTML = ti.tries.map((t) =>
      `<div class="card try" data-try="${t.try_number}"><b><a href="${taskHref(id, runId, taskId)}?try=${t.try_number}">Try ${t.try_number}</a></b> ` +
      `${statePill(t.state)}<dl class="kv"><dt>Executor</dt><dd>${esc(t.executor)}</dd>` +
      (t.pid !== undefined ? `<dt>pid</dt><dd>${t.pid}</dd>` : '') +
      (t.pod_name !== undefined ? `<dt>Pod</dt><dd>${esc(t.pod_name)}</dd>` : '') +
      `<dt>Host</dt><dd>${esc(t.hostname)}</dd><dt>Started</dt><dd>${esc(fmtTime(t.start))}</dd>` +
      `<dt>Ended</dt><dd>${esc(fmtTime(t.end))}</dd><dt>Exit code</dt><dd class="exit-code">${t.exit_code ?? ''}</dd>` +
      (t.signal ? `<dt>Signal</dt><dd>${t.signal}</dd>` : '') +
      (t.reason ? `<dt>Reason</dt><dd>${esc(t.reason)}</dd>` : '') +
      (t.result !== null ? `<dt>Result</dt><dd><pre class="json">${esc(JSON.stringify(t.result, null, 2))}</pre></dd>` : '') +
      '</dl></div>').join('') || '<p class="muted">No tries yet.</p>';
  };
  card();
  const act = async (method, path, body, what) => {
    try {
      await api(method, path, body);
      flash(what);
      ti = await get(base);
      card();
    } catch (e) { flash(e.message, true); }
  };
  if (canOperate()) {
    document.getElementById('clear-ti').addEventListener('click', () => act('POST',
      `/api/v1/dags/${seg(id)}/runs/${seg(runId)}/clear`,
      { task_ids: [taskId], downstream: document.getElementById('clear-downstream').checked }, `Cleared ${taskId}`));
    document.getElementById('mark-success').addEventListener('click', () =>
      act('PATCH', base, { state: 'success' }, `Marked ${taskId} success`));
    document.getElementById('mark-failed').addEventListener('click', () =>
      act('PATCH', base, { state: 'failed' }, `Marked ${taskId} failed`));
  }
  const pre = document.getElementById('log');
  const signal = pageAbort.signal;
  let streaming = null;
  const follow = (n) => {
    streaming = n;
    streamLog(`${base}/tries/${n}/log`, pre, signal).catch((e) => {
      if (e.name !== 'AbortError') pre.textContent += `\n[${e.message}]`;
    });
  };
  if (chosen) follow(chosen);
  else pre.textContent = 'No tries yet: the log appears when the task starts.';
  every(2000, async () => {
    ti = await get(base);
    card();
    // a new try started while this page showed the latest one
    if (!q.get('try') && ti.try_number && ti.try_number !== streaming) follow(ti.try_number);
  });
}

// ------------------------------------------------------------ analytics

async function pageAnalytics() {
  const list = await get('/api/v1/analytics');
  main.innerHTML = '<h1>Analytics</h1>' + (list.note ? `<p class="muted" id="analytics-note">${esc(list.note)}</p>` : '') +
    '<div id="analytics"></div>';
  const out = document.getElementById('analytics');
  for (const t of list.tables) {
    const sec = document.createElement('section');
    sec.dataset.table = t.name;
    out.appendChild(sec);
    if (!t.available) {
      sec.innerHTML = `<h2>${esc(t.name)}</h2><p class="muted">Not computed yet.</p>`;
      continue;
    }
    const d = await get(`/api/v1/analytics/${seg(t.name)}`);
    const x = d.x, g = d.group;
    const num = (v) => (v === null || v === undefined ? NaN : Number(v));
    const numeric = d.columns.filter((c) => c.numeric && c.name !== x && c.name !== 'block_number');
    let charts;
    if (g) {
      // a series per group value (e.g. per standard), aligned on the dates
      const xs = [...new Set(d.rows.map((r) => String(r[x])))];
      const groups = [...new Set(d.rows.map((r) => String(r[g])))];
      const at = new Map(d.rows.map((r) => [`${r[x]}\u0000${r[g]}`, r]));
      charts = numeric.map((c) => lineChart(c.name, xs, groups.map((name) => ({
        name, ys: xs.map((xv) => num((at.get(`${xv}\u0000${name}`) || {})[c.name])),
      })))).join('');
    } else {
      const xs = d.rows.map((r) => (x ? String(r[x]) : ''));
      charts = numeric.map((c) => lineChart(c.name, xs, d.rows.map((r) => num(r[c.name])))).join('');
    }
    sec.innerHTML = `<h2>${esc(t.name)}</h2><p class="muted">${d.rows.length} rows` +
      `${x ? ` by ${esc(x)}` : ''}${d.note ? ' – ' + esc(d.note) : ''}</p><div class="charts">${charts}</div>`;
  }
}

// ------------------------------------------------------- audit, pools

async function pageAudit(q) {
  const cursor = q.get('cursor');
  const d = await get('/api/v1/audit?limit=100' + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''));
  const rows = d.entries.map((e) => `<tr><td>${esc(fmtTime(e.time))}</td><td>${esc(e.actor)}</td>` +
    `<td>${esc(e.action)}</td><td>${esc(e.dag_id)}</td><td>${esc(e.run_id)}</td><td>${esc(e.task_id)}</td>` +
    `<td class="mono">${e.detail === null ? '' : esc(JSON.stringify(e.detail))}</td></tr>`).join('');
  main.innerHTML = '<h1>Audit log</h1><table class="list" id="audit"><thead><tr><th>Time</th><th>Actor</th>' +
    '<th>Action</th><th>DAG</th><th>Run</th><th>Task</th><th>Detail</th></tr></thead>' +
    `<tbody>${rows}</tbody></table><div class="toolbar">` +
    (d.next_cursor ? `<a class="button secondary" href="#/audit?cursor=${encodeURIComponent(d.next_cursor)}">Older</a>` : '') +
    (cursor ? '<a class="button secondary" href="#/audit">Newest</a>' : '') + '</div>';
}

async function pagePools() {
  const d = await get('/api/v1/pools');
  main.innerHTML = '<h1>Pools</h1><table class="list"><thead><tr><th>Pool</th><th>Slots</th><th>Description</th>' +
    `</tr></thead><tbody>${d.pools.map((p) => `<tr><td>${esc(p.name)}</td><td>${p.slots}</td>` +
    `<td>${esc(p.description)}</td></tr>`).join('')}</tbody></table>`;
}

// ---------------------------------------------------------------- start

async function start() {
  let s;
  try {
    s = await api('GET', '/api/v1/session');
  } catch (e) {
    location.href = '/login';
    return;
  }
  session.user = s.user;
  session.role = s.role;
  session.csrf = s.csrf_token || null;
  session.authRequired = s.auth_required;
  document.getElementById('who').textContent = `${s.user} (${s.role})`;
  const out = document.getElementById('logout');
  out.hidden = !s.auth_required;
  out.addEventListener('click', async () => {
    await api('POST', '/api/v1/logout').catch(() => {});
    location.href = '/login';
  });
  document.getElementById('trigger-form').addEventListener('submit', submitTrigger);
  document.getElementById('trigger-cancel').addEventListener('click', () =>
    document.getElementById('trigger-dialog').close());
  window.addEventListener('hashchange', route);
  await route();
}

start();
