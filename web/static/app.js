/* durable console: a small single-page app over the daemon's JSON API.
 * No framework: h() builds DOM nodes (text is never parsed as HTML), the
 * router draws one view per hash, and the workflow page follows its run
 * through Server-Sent Events. */
'use strict';

const STATUSES = ['RUNNING', 'COMPLETED', 'FAILED', 'CANCELED', 'TERMINATED', 'TIMED_OUT', 'CONTINUED_AS_NEW'];
let me = null;          // /api/me: who we are, what we may do, the CSRF token
let leaveView = null;   // cleanup of the current view (closes event streams)

function h(tag, attrs, ...kids) {
  const ns = ['svg', 'g', 'rect', 'line', 'text', 'path', 'title', 'polyline', 'polygon'].includes(tag)
    ? 'http://www.w3.org/2000/svg' : null;
  const el = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class' && !ns) el.className = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

/* replaceChildren that takes arrays (and skips null/false), as h() does */
function fill(el, ...kids) {
  el.replaceChildren(...kids.flat(Infinity).filter((k) => k !== null && k !== undefined && k !== false));
}

class ApiError extends Error {
  constructor(status, err) {
    super(err.message || 'request failed');
    this.status = status; this.sqlstate = err.sqlstate; this.detail = err.detail; this.hint = err.hint;
  }
}

// the namespace the pages show: chosen in the header, kept in this browser
let ns = localStorage.getItem('durable.ns') || '';

async function call(path, params, body) {
  if (ns) {
    params = { ns, ...(params || {}) };
    if (body !== undefined) body = { ns, ...body };
  }
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const url = path + (q.toString() ? '?' + q : '');
  const init = body === undefined ? {} : {
    method: 'POST', body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': (me && me.csrf) || '' },
  };
  const res = await fetch(url, { credentials: 'same-origin', ...init });
  let data;
  try { data = await res.json(); } catch (e) { throw new ApiError(res.status, { message: `HTTP ${res.status}` }); }
  if (!res.ok) {
    // a session that ended (idle, signed out elsewhere): back to the sign-in
    // form, once; an answer that arrives after signing out changes nothing
    if (res.status === 401 && me && me.sign_in && me.signed_in && path !== '/api/login') { me.signed_in = false; route(); }
    throw new ApiError(res.status, data.error || { message: `HTTP ${res.status}` });
  }
  return data;
}
const get = (path, params) => call(path, params);
const post = (path, body) => call(path, {}, body);

function errorBox(e) {
  return h('div', { class: 'error', role: 'alert' },
    h('div', {}, h('b', {}, e.message), e.sqlstate ? h('span', { class: 'muted mono' }, `  (${e.sqlstate})`) : null),
    e.detail ? h('div', {}, e.detail) : null,
    e.hint ? h('div', { class: 'hint' }, e.hint) : null);
}

const fmtTime = (t) => t ? new Date(t).toLocaleString(undefined, { hour12: false }) : '';
const badge = (s) => h('span', { class: `badge s-${s}` }, s);
const json = (v) => h('pre', {}, JSON.stringify(v, null, 2));
const wfLink = (id, run, label) => h('a', { href: `#/workflow/${encodeURIComponent(id)}${run ? '/' + run : ''}` }, label || id);
function ago(t) {
  const s = (Date.now() - new Date(t).getTime()) / 1000;
  return s < 0 ? `in ${dur(-s)}` : `${dur(s)} ago`;
}
function dur(s) {
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 90) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

function parseHash() {
  const [path, query] = location.hash.replace(/^#/, '').split('?');
  const parts = (path || '/workflows').split('/').filter(Boolean).map(decodeURIComponent);
  return { parts, query: new URLSearchParams(query || '') };
}

/* Follows a link even when it is the page we are on (no hashchange then). */
function goTo(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

async function route() {
  if (leaveView) { leaveView(); leaveView = null; }
  const main = document.getElementById('main');
  if (!me) me = await get('/api/me');
  if (!ns) ns = me.namespace;
  drawWho();
  const { parts, query } = parseHash();
  document.querySelectorAll('[data-nav]').forEach((a) => a.classList.toggle('on',
    a.dataset.nav === (parts[0] === 'workflow' ? 'workflows' : parts[0] === 'schedule' ? 'schedules' : parts[0])));
  if (me.sign_in && !me.signed_in) {
    // the namespaces of the role that signed out are not for the next one
    fill(document.getElementById('ns'), );
    // never redrawn under a user who is typing
    if (!main.querySelector('form.signin')) drawSignin(main);
    return;
  }
  drawNamespaces();
  const view = { workflows: viewWorkflows, workflow: viewWorkflow, schedules: viewSchedules,
    schedule: viewSchedule, queues: viewQueues }[parts[0]] || viewWorkflows;
  try {
    await view(main, parts.slice(1), query);
  } catch (e) {
    fill(main, h('h1', {}, 'Something went wrong'), errorBox(e));
  }
}

/* The namespace picker: only the namespaces the role may read. */
async function drawNamespaces() {
  const box = document.getElementById('ns');
  const asked = me;
  let list = [];
  try { list = await get('/api/namespaces'); } catch (e) { /* an older store: no list */ }
  // an answer that comes after a sign-out, a sign-in or a change of
  // namespace is the last role's (or namespace's) list: the newer one draws
  if (me !== asked) return;
  if (!list.includes(ns)) list.unshift(ns);
  fill(box, list.length > 1 ? h('select', { 'aria-label': 'namespace', onchange: (ev) => {
    ns = ev.target.value;
    localStorage.setItem('durable.ns', ns);
    me = null;
    goTo('#/workflows');
  } }, list.map((n) => h('option', { value: n, selected: n === ns }, n))) : h('span', { class: 'ns-one' }, ns));
}

function drawWho() {
  const who = document.getElementById('who');
  fill(who, );
  if (me.sign_in && me.signed_in) {
    fill(who, h('span', { class: 'role', title: 'PostgreSQL role' }, me.role),
      (me.act_workflows || me.act_schedules) ? null : h('span', {}, 'read-only'),
      h('a', { href: '#', onclick: async (ev) => { ev.preventDefault(); await post('/api/logout', {}); me = null; route(); } }, 'Sign out'));
  } else if (!me.sign_in) {
    fill(who, h('span', {}, 'read-only'), h('span', { class: 'role' }, me.role || '…'));
  }
}

function drawSignin(main) {
  const err = h('div');
  const role = h('input', { name: 'role', autocomplete: 'username', required: true, autofocus: true });
  const pw = h('input', { name: 'password', type: 'password', autocomplete: 'current-password' });
  const form = h('form', { class: 'panel signin', onsubmit: async (ev) => {
    ev.preventDefault();
    fill(err, );
    try {
      await post('/api/login', { role: role.value, password: pw.value });
      me = null; // asked again, for the namespace the page shows
      route();
    } catch (e) { fill(err, errorBox(e)); }
  } },
  h('h1', {}, 'Sign in'),
  h('p', { class: 'muted' }, 'Use a PostgreSQL role of this store. What you may do is what the role may do.'),
  h('label', { class: 'field' }, 'Role', role),
  h('label', { class: 'field' }, 'Password', pw),
  err, h('button', { class: 'primary', type: 'submit' }, 'Sign in'));
  fill(main, form);
}

/* ---------- dialogs ---------- */

/* Opens a dialog; run() does the action and resolves to a message, or
 * throws the store's error, which stays on screen. */
function dialog(title, body, okLabel, run, { danger = false, okDisabled = null } = {}) {
  const modal = document.getElementById('modal');
  const out = h('div');
  const ok = h('button', { class: `primary${danger ? ' danger' : ''}`, type: 'submit' }, okLabel);
  const close = () => { modal.hidden = true; fill(modal, ); };
  const form = h('form', { class: 'dialog', onsubmit: async (ev) => {
    ev.preventDefault();
    ok.disabled = true;
    fill(out, );
    try {
      const msg = await run();
      if (msg) { fill(out, h('div', { class: 'ok-note' }, msg)); ok.remove(); }
      else close();
    } catch (e) { fill(out, errorBox(e)); ok.disabled = false; }
  } }, h('h2', {}, title), body, out,
  h('div', { class: 'buttons' }, h('button', { type: 'button', onclick: close }, 'Close'), ok));
  fill(modal, form);
  modal.hidden = false;
  if (okDisabled) okDisabled(ok);
  const first = form.querySelector('input, textarea');
  if (first) first.focus();
}

/* A JSON editor that says at once whether its text is JSON, and keeps the
 * button that would send it disabled while it is not. */
function jsonEditor(name, initial) {
  const area = h('textarea', { name, spellcheck: 'false' }, initial);
  const state = h('div', { class: 'json-state' });
  let button = null;
  const check = () => {
    try {
      if (area.value.trim() !== '') JSON.parse(area.value);
      state.className = 'json-state good'; state.textContent = area.value.trim() ? 'Valid JSON' : 'Empty: sends null';
      if (button) button.disabled = false;
      return true;
    } catch (e) {
      state.className = 'json-state bad'; state.textContent = `Not JSON: ${e.message}`;
      if (button) button.disabled = true;
      return false;
    }
  };
  area.addEventListener('input', check);
  return { area, state, check, bind(b) { button = b; check(); }, value: () => area.value.trim() || null };
}

/* ---------- workflows list ---------- */

async function viewWorkflows(main, _parts, q) {
  const f = Object.fromEntries(['status', 'type', 'queue', 'prefix', 'started_after', 'started_before', 'search', 'query', 'after']
    .map((k) => [k, q.get(k) || '']));
  const prev = q.get('prev') ? q.get('prev').split(',') : [];
  const go = (changes) => {
    const n = new URLSearchParams();
    for (const [k, v] of Object.entries({ ...f, ...changes })) if (v) n.set(k, v);
    goTo('#/workflows?' + n);
  };
  const input = (name, label, attrs = {}) => h('label', {}, label, h('input', { name, value: f[name], ...attrs }));
  const form = h('form', { class: 'filters', onsubmit: (ev) => {
    ev.preventDefault();
    const d = new FormData(form);
    const c = { after: '', prev: '' };
    for (const k of ['status', 'type', 'queue', 'prefix', 'search', 'query']) c[k] = d.get(k);
    for (const k of ['started_after', 'started_before']) c[k] = d.get(k) ? new Date(d.get(k)).toISOString() : '';
    go(c);
  } },
  h('label', {}, 'Status', h('select', { name: 'status' }, h('option', { value: '' }, 'any'),
    STATUSES.map((s) => h('option', { value: s, selected: s === f.status }, s)))),
  input('prefix', 'Id starts with', { placeholder: 'order-' }),
  input('type', 'Type'), input('queue', 'Task queue'),
  input('started_after', 'Started after', { type: 'datetime-local', value: localInput(f.started_after) }),
  input('started_before', 'Started before', { type: 'datetime-local', value: localInput(f.started_before) }),
  input('search', 'Search attributes', { placeholder: '{"Customer": "ada"}', class: 'mono', size: 22 }),
  // a list filter replaces the fields above: it lists runs, in its own order
  input('query', 'Query', { placeholder: "WorkflowType = 'Billing' AND ExecutionStatus = 'Running'", class: 'mono', size: 48 }),
  h('button', { class: 'primary', type: 'submit' }, 'Filter'),
  h('button', { type: 'button', onclick: () => { goTo('#/workflows'); } }, 'Clear'));

  const counts = h('div', { class: 'counts' }, h('span', { class: 'muted' }, 'Counting…'));
  const list = h('div', { class: 'panel' }, h('p', { class: 'muted' }, 'Loading…'));
  fill(main, h('h1', {}, 'Workflows'), counts, h('div', { class: 'panel' }, form), list);

  // counts are a full scan in the store: drawn when they come, not waited for
  get('/api/counts').then(({ counts: c, age_seconds: age }) => {
    const total = Object.values(c).reduce((a, b) => a + b, 0);
    fill(counts,
      h('a', { href: '#/workflows', class: f.status ? '' : 'on' }, 'All', h('b', {}, total)),
      STATUSES.filter((s) => c[s]).map((s) => h('a', { href: `#/workflows?status=${s}`, class: f.status === s ? 'on' : '', 'data-status': s },
        badge(s), h('b', {}, c[s]))),
      h('span', { class: 'muted counts-age', title: 'counts are a full scan in the store, kept 30 s' }, age ? `as of ${age} s ago` : ''));
  }).catch((e) => fill(counts, errorBox(e)));

  let page;
  try {
    page = f.query ? await get('/api/workflows/query', { query: f.query, after: f.after, page_size: 50 })
      : await get('/api/workflows', { ...f, page_size: 50 });
  } catch (e) { fill(list, errorBox(e)); return; }
  const rows = page.workflows;
  const table = h('table', { id: 'workflows' },
    h('thead', {}, h('tr', {}, ['Workflow id', 'Type', 'Task queue', 'Status', 'Started', 'Closed'].map((t) => h('th', {}, t)))),
    h('tbody', {}, rows.map((w) => h('tr', { 'data-id': w.workflow_id, 'data-run': w.run_id },
      h('td', { class: 'mono' }, wfLink(w.workflow_id)), h('td', {}, w.workflow_type), h('td', {}, w.task_queue),
      h('td', {}, badge(w.status)), h('td', {}, fmtTime(w.started_at)), h('td', {}, fmtTime(w.closed_at))))));
  const pager = h('div', { class: 'pager' },
    prev.length ? h('button', { onclick: () => go({ after: prev[prev.length - 1], prev: prev.slice(0, -1).join(',') }) }, '← Previous') : null,
    page.more ? h('button', { onclick: () => go({ after: f.query ? rows[rows.length - 1].run_id : rows[rows.length - 1].workflow_id,
      prev: [...prev, f.after].join(',') }) }, 'Next →') : null);
  fill(list, rows.length ? table : h('p', { class: 'muted' }, 'No workflows match.'), pager);
}

function localInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (isNaN(d)) return '';
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

/* ---------- one workflow ---------- */

async function viewWorkflow(main, parts) {
  const id = parts[0], pinnedRun = parts[1] || null;
  let events = [], desc = null, runs = [], stream = null, streamRun = null, busy = false, again = false, slow = null, left = false;
  const live = h('span', { class: 'live off' }, 'not live');
  const head = h('div'), timeline = h('div', { class: 'panel timeline' }), pending = h('div'),
    history = h('div', { class: 'panel' }), runsBox = h('div', { class: 'panel' });
  fill(main, head, timeline, pending, runsBox, history);

  async function refresh() {
    if (left) return;
    if (busy) { again = true; return; }
    busy = true;
    try {
      do {
        again = false;
        const d = await get('/api/workflow', { id, run: pinnedRun });
        if (!desc || d.describe.run_id !== desc.run_id) events = [];
        desc = d.describe; runs = d.runs;
        for (;;) {
          const more = await get('/api/history', { id, run: desc.run_id, after: events.length ? events[events.length - 1].event_id : 0 });
          events.push(...more);
          if (more.length < 2000) break;
        }
        if (left) return;
        draw();
        follow();
      } while (again);
      // retries and heartbeats do not touch the history, so no notification
      // tells of them: while activities are pending, look again every 5 s
      clearTimeout(slow);
      if (desc.status === 'RUNNING' && (desc.pending_activities || []).length) slow = setTimeout(refresh, 5000);
    } catch (e) {
      fill(head, h('h1', {}, id), errorBox(e));
    } finally { busy = false; }
  }

  // one stream per run: the store notifies every change of its history
  function follow() {
    if (streamRun === desc.run_id && stream) return;
    if (stream) stream.close();
    streamRun = desc.run_id;
    stream = new EventSource(`/api/events?id=${encodeURIComponent(id)}&run=${desc.run_id}&ns=${encodeURIComponent(ns)}`);
    stream.addEventListener('hello', () => { live.className = 'live'; live.textContent = 'live'; refresh(); });
    stream.addEventListener('history', () => refresh());
    stream.onerror = () => { live.className = 'live off'; live.textContent = 'reconnecting'; };
  }
  leaveView = () => { left = true; if (stream) stream.close(); stream = null; clearTimeout(slow); };

  function draw() {
    const acts = me.act_workflows;
    const running = desc.status === 'RUNNING';
    const actions = h('div', { class: 'actions' }, acts ? [
      running ? h('button', { onclick: signalDialog, 'data-action': 'signal' }, 'Signal') : null,
      h('button', { onclick: queryDialog, 'data-action': 'query' }, 'Query'),
      running ? (desc.paused ? h('button', { onclick: () => pausing(false), 'data-action': 'unpause' }, 'Unpause')
        : h('button', { onclick: () => pausing(true), 'data-action': 'pause' }, 'Pause')) : null,
      running ? h('button', { onclick: cancelDialog, 'data-action': 'cancel' }, 'Cancel') : null,
      running ? h('button', { class: 'danger', onclick: terminateDialog, 'data-action': 'terminate' }, 'Terminate') : null,
      h('button', { onclick: resetDialog, 'data-action': 'reset' }, 'Reset…'),
    ] : null);
    const d = desc;
    fill(head, 
      h('h1', {}, h('span', { class: 'mono' }, id), h('span', { id: 'status' }, badge(d.status)),
        d.paused ? h('span', { id: 'paused', class: 'badge s-PAUSED' }, 'PAUSED') : null, live, actions),
      h('div', { class: 'grid2' },
        h('div', { class: 'panel' }, h('h2', {}, 'Summary'), h('dl', { class: 'kv' },
          h('dt', {}, 'Type'), h('dd', {}, d.workflow_type),
          h('dt', {}, 'Task queue'), h('dd', {}, h('a', { href: '#/queues' }, d.task_queue)),
          h('dt', {}, 'Run'), h('dd', { class: 'mono' }, d.run_id),
          h('dt', {}, 'Started'), h('dd', {}, fmtTime(d.started_at)),
          h('dt', {}, 'Closed'), h('dd', {}, d.closed_at ? `${fmtTime(d.closed_at)} (${dur((new Date(d.closed_at) - new Date(d.started_at)) / 1000)})` : '—'),
          h('dt', {}, 'Parent'), h('dd', {}, d.parent ? wfLink(d.parent.workflow_id, d.parent.run_id) : '—'),
          h('dt', {}, 'History'), h('dd', {}, `${d.history_length} events`),
          d.cancel_requested ? [h('dt', {}, 'Cancel'), h('dd', {}, 'requested')] : null,
          d.paused ? [h('dt', {}, 'Paused'), h('dd', { id: 'pause-info' },
            `${fmtTime(d.paused.paused_at)} by ${d.paused.paused_by}${d.paused.reason ? ': ' + d.paused.reason : ''}`)] : null,
          Object.keys(d.search_attributes || {}).length ? [h('dt', {}, 'Search attributes'), h('dd', {}, json(d.search_attributes))] : null,
          Object.keys(d.memo || {}).length ? [h('dt', {}, 'Memo'), h('dd', {}, json(d.memo))] : null)),
        h('div', { class: 'panel' }, h('h2', {}, 'Input'), json(d.input),
          d.result !== null && d.result !== undefined ? [h('h2', { class: 'gap' }, 'Result'), json(d.result)] : null,
          d.failure ? [h('h2', { class: 'gap' }, 'Failure'), json(d.failure)] : null)));
    drawTimeline(timeline, events, desc);
    drawPending();
    drawRuns();
    drawHistory();
  }

  function drawPending() {
    const d = desc;
    const acts = d.pending_activities || [], timers = d.pending_timers || [];
    const kids = children(events, d);
    fill(pending, h('div', { class: 'grid2' },
      h('div', { class: 'panel', id: 'pending-activities' }, h('h2', {}, `Pending activities (${acts.length})`),
        acts.length ? h('table', {}, h('thead', {}, h('tr', {}, ['Activity', 'State', 'Attempt', 'Last failure', 'Next retry'].map((t) => h('th', {}, t)))),
          h('tbody', {}, acts.map((a) => h('tr', {},
            h('td', {}, h('b', {}, a.activity_type), h('div', { class: 'muted mono' }, a.activity_id)),
            h('td', {}, a.state), h('td', {}, `${a.attempt}${a.maximum_attempts ? ' / ' + a.maximum_attempts : ''}`),
            h('td', {}, a.last_failure ? (a.last_failure.message || JSON.stringify(a.last_failure)) : '—'),
            h('td', {}, a.next_attempt_at ? `${fmtTime(a.next_attempt_at)} (${ago(a.next_attempt_at)})` : '—')))))
          : h('p', { class: 'muted' }, 'None.')),
      h('div', {},
        h('div', { class: 'panel', id: 'pending-timers' }, h('h2', {}, `Pending timers (${timers.length})`),
          timers.length ? h('table', {}, h('tbody', {}, timers.map((t) => h('tr', {}, h('td', { class: 'mono' }, t.timer_id),
            h('td', {}, `fires ${fmtTime(t.fire_at)} (${ago(t.fire_at)})`))))) : h('p', { class: 'muted' }, 'None.')),
        h('div', { class: 'panel', id: 'children' }, h('h2', {}, `Children (${kids.length})`),
          kids.length ? h('table', {}, h('tbody', {}, kids.map((k) => h('tr', {},
            h('td', { class: 'mono' }, wfLink(k.workflow_id, k.run_id)), h('td', {}, k.workflow_type || ''), h('td', {}, k.state)))))
            : h('p', { class: 'muted' }, 'None.')))));
  }

  function drawRuns() {
    fill(runsBox, h('h2', {}, `Runs (${runs.length})`), h('table', {},
      h('thead', {}, h('tr', {}, ['Run', 'Status', 'Started', 'Closed', 'From'].map((t) => h('th', {}, t)))),
      h('tbody', {}, runs.slice().reverse().map((r) => h('tr', {},
        h('td', { class: 'mono' }, r.run_id === desc.run_id ? h('b', {}, r.run_id) : wfLink(id, r.run_id, r.run_id)),
        h('td', {}, badge(r.status)), h('td', {}, fmtTime(r.started_at)), h('td', {}, fmtTime(r.closed_at)),
        h('td', { class: 'mono muted' }, r.continued_from_run_id ? r.continued_from_run_id.slice(0, 8) : ''))))));
  }

  function drawHistory() {
    const open = new Set([...history.querySelectorAll('details[open]')].map((d) => d.dataset.id));
    fill(history, h('h2', {}, `History (${events.length} events)`),
      h('div', { id: 'history' }, events.map((e) => h('details', { class: 'event', 'data-id': e.event_id, 'data-type': e.event_type, open: open.has(String(e.event_id)) },
        h('summary', {}, h('span', { class: 'muted mono' }, e.event_id),
          h('span', { class: /Failed|TimedOut|Terminated/.test(e.event_type) ? 'etype-fail' : '' }, e.event_type),
          h('span', { class: 'muted' }, fmtTime(e.event_time))),
        json(e.attributes)))));
  }

  function signalDialog() {
    const name = h('input', { name: 'signal', required: true, placeholder: 'approve' });
    const ed = jsonEditor('input', '{}');
    dialog('Send a signal', [h('label', { class: 'field' }, 'Signal name', name), h('div', { class: 'field' }, 'Input (JSON)', ed.area, ed.state)],
      'Send signal', async () => {
        if (!ed.check()) throw new ApiError(400, { message: 'the input is not JSON', hint: 'Fix it; nothing was sent.' });
        await post('/api/workflow/signal', { id, run: desc.run_id, name: name.value, input: ed.value() });
        return `Signal "${name.value}" sent.`;
      }, { okDisabled: (b) => ed.bind(b) });
  }
  function queryDialog() {
    const type = h('input', { name: 'query', required: true, placeholder: 'status' });
    const ed = jsonEditor('args', '');
    const timeout = h('input', { name: 'timeout', type: 'number', value: 5000, min: 1 });
    const answer = h('div');
    dialog('Query the workflow', [h('label', { class: 'field' }, 'Query type', type), h('div', { class: 'field' }, 'Arguments (JSON, optional)', ed.area, ed.state),
      h('label', { class: 'field' }, 'Timeout (ms)', timeout), answer],
    'Run query', async () => {
      fill(answer, );
      const r = await post('/api/workflow/query', { id, run: desc.run_id, type: type.value, args: ed.value(), timeout_ms: Number(timeout.value) });
      fill(answer, h('h2', {}, 'Answer'), json(r.result));
      return null === r ? '' : 'Answered.';
    }, { okDisabled: (b) => ed.bind(b) });
  }
  function cancelDialog() {
    const reason = h('input', { name: 'reason', placeholder: 'why' });
    dialog('Request cancellation?', [h('p', {}, 'The workflow is asked to cancel and decides how to finish.'), h('label', { class: 'field' }, 'Reason', reason)],
      'Request cancellation', async () => {
        const r = await post('/api/workflow/cancel', { id, run: desc.run_id, reason: reason.value });
        return r.result ? 'Cancellation requested.' : 'Cancellation was already requested.';
      }, { danger: true });
  }
  // pause: true to pause, false to unpause
  function pausing(pause) {
    const reason = h('input', { name: 'reason', placeholder: 'why' });
    dialog(pause ? 'Pause the workflow?' : 'Unpause the workflow?', [h('p', {}, pause
      ? 'No workflow or activity task is handed out until it is unpaused; running activities may finish, and signals and timers wait.'
      : 'What waited is delivered, and its tasks are handed out again.'),
    h('label', { class: 'field' }, 'Reason', reason)],
    pause ? 'Pause' : 'Unpause', async () => {
      const r = await post(pause ? '/api/workflow/pause' : '/api/workflow/unpause', { id, run: desc.run_id, reason: reason.value });
      return r.result ? (pause ? 'Paused.' : 'Unpaused.') : (pause ? 'It was paused already.' : 'It was not paused.');
    });
  }
  function terminateDialog() {
    const reason = h('input', { name: 'reason', required: true, placeholder: 'why' });
    dialog('Terminate now?', [h('p', {}, 'The run closes at once as TERMINATED: no cleanup runs.'), h('label', { class: 'field' }, 'Reason', reason)],
      'Terminate', async () => {
        await post('/api/workflow/terminate', { id, run: desc.run_id, reason: reason.value });
        return 'Terminated.';
      }, { danger: true });
  }
  function resetDialog() {
    const ends = events.filter((e) => /^WorkflowTask(Completed|Failed|TimedOut)$/.test(e.event_type));
    const sel = h('select', { name: 'event' }, ends.map((e) => h('option', { value: e.event_id }, `${e.event_id} · ${e.event_type} · ${fmtTime(e.event_time)}`)));
    const reason = h('input', { name: 'reason', placeholder: 'why' });
    dialog('Reset to an earlier workflow task?', [h('p', {}, 'A new run starts from the chosen point; a running run is terminated.'),
      h('label', { class: 'field' }, 'Reset to event', sel), h('label', { class: 'field' }, 'Reason', reason)],
    'Reset', async () => {
      const r = await post('/api/workflow/reset', { id, run: desc.run_id, event_id: Number(sel.value), reason: reason.value });
      setTimeout(() => goTo(`#/workflow/${encodeURIComponent(id)}`), 800);
      return `New run ${r.result}.`;
    }, { danger: true });
  }

  await refresh();
}

function children(events, d) {
  const byInit = new Map();
  for (const e of events) {
    const a = e.attributes || {};
    if (e.event_type === 'StartChildWorkflowExecutionInitiated') byInit.set(e.event_id, { workflow_id: a.workflow_id, workflow_type: a.workflow_type, state: 'initiated' });
    else if (e.event_type.startsWith('ChildWorkflowExecution') || e.event_type === 'StartChildWorkflowExecutionFailed') {
      const k = byInit.get(Number(a.initiated_event_id));
      if (!k) continue;
      if (a.run_id) k.run_id = a.run_id;
      k.state = e.event_type.replace(/^ChildWorkflowExecution/, '').toLowerCase() || k.state;
    }
  }
  for (const p of d.pending_children || []) if (!byInit.has(p.initiated_event_id)) byInit.set(p.initiated_event_id, { ...p, state: 'running' });
  return [...byInit.values()];
}

/* ---------- the timeline ---------- */

/* Activities, timers, children and workflow tasks as bars on one time axis;
 * signals and failures as marks. Pending things run to "now" (or a timer to
 * its due time), so a retrying activity's bar keeps growing. */
function timelineItems(events, d) {
  const t = (e) => new Date(e.event_time).getTime();
  const items = [], marks = [], open = new Map();
  const now = d.closed_at ? new Date(d.closed_at).getTime() : Date.now();
  for (const e of events) {
    const a = e.attributes || {};
    switch (e.event_type) {
      case 'WorkflowTaskScheduled': open.set('w' + e.event_id, { kind: 'wftask', label: 'workflow task', start: t(e), end: null }); break;
      case 'WorkflowTaskCompleted': case 'WorkflowTaskFailed': case 'WorkflowTaskTimedOut': {
        const it = open.get('w' + a.scheduled_event_id);
        if (it) { it.end = t(e); it.failed = e.event_type !== 'WorkflowTaskCompleted'; items.push(it); open.delete('w' + a.scheduled_event_id); }
        if (e.event_type !== 'WorkflowTaskCompleted') marks.push({ kind: 'failure', at: t(e), label: e.event_type });
        break;
      }
      case 'ActivityTaskScheduled': open.set('a' + e.event_id, { kind: 'activity', label: `${a.activity_type} · ${a.activity_id}`, sub: a.activity_id, start: t(e), end: null, sid: e.event_id }); break;
      case 'ActivityTaskStarted': { const it = open.get('a' + a.scheduled_event_id); if (it) it.attempt = a.attempt; break; }
      case 'ActivityTaskCompleted': case 'ActivityTaskFailed': case 'ActivityTaskTimedOut': case 'ActivityTaskCanceled': {
        const it = open.get('a' + a.scheduled_event_id);
        if (it) { it.end = t(e); it.failed = e.event_type !== 'ActivityTaskCompleted'; items.push(it); open.delete('a' + a.scheduled_event_id); }
        if (/Failed|TimedOut/.test(e.event_type)) marks.push({ kind: 'failure', at: t(e), label: `${e.event_type}: ${(a.failure && a.failure.message) || ''}` });
        break;
      }
      case 'TimerStarted': open.set('t' + e.event_id, { kind: 'timer', label: `timer ${a.timer_id}`, start: t(e), end: null, due: t(e) + 1000 * Number(a.start_to_fire_timeout || 0) }); break;
      case 'TimerFired': case 'TimerCanceled': {
        const it = open.get('t' + a.started_event_id);
        if (it) { it.end = t(e); items.push(it); open.delete('t' + a.started_event_id); }
        break;
      }
      case 'MarkerRecorded': {
        // a local activity ran in the worker, from its first attempt to the
        // task that recorded it; a failed attempt waiting for its backoff timer is a failure mark
        const ld = a.details || {};
        if (a.marker_name !== 'LocalActivity') break;
        items.push({ kind: 'local', label: `${ld.activity_type} · local ${ld.activity_id}`, start: Math.min(Number(ld.scheduled_time_ms) || t(e), t(e)),
                     end: t(e), attempt: ld.attempt, failed: !!ld.failure && !ld.backoff });
        if (ld.failure) marks.push({ kind: 'failure', at: t(e), label: `local activity ${ld.activity_type} attempt ${ld.attempt}: ${ld.failure.message || ''}` });
        break;
      }
      case 'StartChildWorkflowExecutionInitiated': open.set('c' + e.event_id, { kind: 'child', label: `child ${a.workflow_id}`, start: t(e), end: null }); break;
      default:
        if (e.event_type.startsWith('ChildWorkflowExecution') && e.event_type !== 'ChildWorkflowExecutionStarted') {
          const it = open.get('c' + a.initiated_event_id);
          if (it) { it.end = t(e); it.failed = e.event_type !== 'ChildWorkflowExecutionCompleted'; items.push(it); open.delete('c' + a.initiated_event_id); }
        }
        if (e.event_type === 'WorkflowExecutionSignaled') marks.push({ kind: 'signal', at: t(e), label: `signal ${a.signal_name}` });
        if (e.event_type === 'WorkflowExecutionPaused' || e.event_type === 'WorkflowExecutionUnpaused')
          marks.push({ kind: 'pause', at: t(e), label: `${e.event_type === 'WorkflowExecutionPaused' ? 'paused' : 'unpaused'} by ${a.identity}${a.reason ? ': ' + a.reason : ''}` });
        if (/^WorkflowExecution(Failed|TimedOut|Terminated)$/.test(e.event_type)) marks.push({ kind: 'failure', at: t(e), label: e.event_type });
        if (/^(SignalExternalWorkflowExecution|RequestCancelExternalWorkflowExecution)Failed$/.test(e.event_type)) marks.push({ kind: 'failure', at: t(e), label: `${e.event_type}: ${a.workflow_id} ${a.cause}` });
    }
  }
  const pendingActs = new Map((d.pending_activities || []).map((p) => [p.scheduled_event_id, p]));
  for (const it of open.values()) {
    it.pending = true;
    // a pending timer runs to now, not to its due time: an hour-long wait
    // would squash everything else; its label says when it fires
    it.end = now;
    if (it.kind === 'activity') {
      const p = pendingActs.get(it.sid);
      if (p) { it.attempt = p.attempt; it.retrying = p.attempt > 1 || p.state === 'BACKOFF'; it.lastFailure = p.last_failure && p.last_failure.message; }
    }
    items.push(it);
  }
  items.sort((x, y) => x.start - y.start);
  return { items, marks };
}

function drawTimeline(box, events, d) {
  const { items, marks } = timelineItems(events, d);
  const lanesOf = items.filter((i) => i.kind !== 'wftask');
  const wf = items.filter((i) => i.kind === 'wftask');
  const all = [...items.map((i) => i.start), ...items.map((i) => i.end), ...marks.map((m) => m.at)];
  if (!all.length) { fill(box, h('h2', {}, 'Timeline'), h('p', { class: 'muted' }, 'Nothing yet.')); return; }
  const t0 = Math.min(...all), t1 = Math.max(...all, t0 + 1000);
  const W = 1180, L = 190, R = 16, rowH = 22, top = 26;
  const rows = 1 + lanesOf.length + 1; // workflow tasks, one lane per item, marks
  const H = top + rows * rowH + 8;
  const x = (t) => L + (W - L - R) * (t - t0) / (t1 - t0);
  const ticks = [];
  const span = (t1 - t0) / 1000;
  const step = [0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400].find((s) => span / s <= 8) || 86400;
  for (let s = 0; s <= span + 1e-9; s += step) ticks.push(s);
  const bar = (it, y) => {
    const w = Math.max(3, x(it.end) - x(it.start));
    const note = it.attempt > 1 ? `attempt ${it.attempt}` : it.kind === 'timer' && it.pending ? `fires ${ago(it.due)}` : null;
    const cls = `bar ${it.kind}${it.pending ? ' pending' : ''}${it.failed ? ' failed' : ''}${it.retrying ? ' retrying' : ''}`;
    const tip = `${it.label}${it.sub ? ' (' + it.sub + ')' : ''}: ${dur((it.end - it.start) / 1000)}${it.attempt > 1 ? ', attempt ' + it.attempt : ''}${it.pending ? ', pending' : ''}${it.lastFailure ? ', last failure: ' + it.lastFailure : ''}`;
    return h('g', { class: cls, 'data-kind': it.kind }, h('title', {}, tip),
      h('rect', { x: x(it.start), y: y + 4, width: w, height: rowH - 8 }),
      note ? (x(it.start) + w + 8 + 6.5 * note.length < W
        ? h('text', { x: x(it.start) + w + 4, y: y + rowH - 7, class: 'lane-label' }, note)
        : h('text', { x: x(it.start) + w - 4, y: y + rowH - 7, class: `lane-label${it.kind === 'timer' ? '' : ' in-bar'}`, 'text-anchor': 'end' }, note)) : null);
  };
  const svg = h('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'timeline' },
    h('g', { class: 'axis' }, ticks.map((s) => [
      h('line', { x1: x(t0 + s * 1000), x2: x(t0 + s * 1000), y1: top - 6, y2: H }),
      h('text', { x: x(t0 + s * 1000) + 2, y: top - 10 }, `+${dur(s)}`)])),
    h('text', { x: 4, y: top + rowH - 8, class: 'lane-label' }, 'workflow tasks'),
    wf.map((it) => bar(it, top)),
    lanesOf.map((it, i) => [
      h('text', { x: 4, y: top + (i + 1) * rowH + rowH - 8, class: 'lane-label' }, it.label.length <= 28 ? it.label
        : it.kind === 'child' ? '…' + it.label.slice(-27) : it.label.slice(0, 27) + '…'),
      bar(it, top + (i + 1) * rowH)]),
    h('text', { x: 4, y: top + (rows - 1) * rowH + rowH - 8, class: 'lane-label' }, 'signals · failures · pauses'),
    marks.map((m) => {
      const cx = x(m.at), cy = top + (rows - 1) * rowH + rowH / 2;
      return h('g', { class: `mark ${m.kind}` }, h('title', {}, `${m.label} at ${fmtTime(m.at)}`),
        h('path', { d: `M${cx} ${cy - 6} L${cx + 6} ${cy} L${cx} ${cy + 6} L${cx - 6} ${cy} Z` }));
    }));
  fill(box, h('h2', {}, 'Timeline'), svg, h('div', { class: 'legend' },
    [['activity', 'activity'], ['local', 'local activity'], ['retrying', 'retrying'], ['failed', 'failed'], ['timer', 'timer'], ['child', 'child workflow'],
      ['wftask', 'workflow task'], ['signal', 'signal ◆'], ['failure', 'failure ◆'], ['pause', 'pause ◆']].map(([c, l]) => h('span', {}, h('i', { class: `sw-${c}` }), l))));
}

/* ---------- schedules ---------- */

async function viewSchedules(main) {
  const list = await get('/api/schedules');
  fill(main, h('h1', {}, 'Schedules'), h('div', { class: 'panel' }, list.length ? h('table', { id: 'schedules' },
    h('thead', {}, h('tr', {}, ['Schedule', 'Workflow type', 'Next run', 'Last workflow', 'Actions taken', ''].map((t) => h('th', {}, t)))),
    h('tbody', {}, list.map((s) => h('tr', {},
      h('td', { class: 'mono' }, h('a', { href: `#/schedule/${encodeURIComponent(s.schedule_id)}` }, s.schedule_id)),
      h('td', {}, s.workflow_type), h('td', {}, s.paused ? '—' : fmtTime(s.next_run_at)),
      h('td', { class: 'mono' }, s.last_workflow_id ? wfLink(s.last_workflow_id) : '—'), h('td', {}, s.actions_taken),
      h('td', {}, s.paused ? h('span', { class: 'badge s-CANCELED' }, 'paused') : '')))))
    : h('p', { class: 'muted' }, 'No schedules.')));
}

async function viewSchedule(main, parts) {
  const id = parts[0];
  const s = await get('/api/schedule', { id });
  const acts = me.act_schedules;
  const note = h('div');
  const act = (path, body, msg) => async () => {
    const r = await post(path, { id, ...body });
    setTimeout(() => route(), 900);
    return typeof msg === 'function' ? msg(r.result) : msg;
  };
  const actions = h('div', { class: 'actions' }, acts ? [
    s.paused
      ? h('button', { 'data-action': 'unpause', onclick: () => dialog('Unpause the schedule?', h('p', {}, 'It acts again from now; missed times are not taken (use backfill).'), 'Unpause', act('/api/schedule/unpause', {}, (t) => `Next action ${fmtTime(t)}.`)) }, 'Unpause')
      : h('button', { 'data-action': 'pause', onclick: () => { const n = h('input', { name: 'note' }); dialog('Pause the schedule?', h('label', { class: 'field' }, 'Note', n), 'Pause', async () => act('/api/schedule/pause', { note: n.value }, 'Paused.')()); } }, 'Pause'),
    h('button', { 'data-action': 'trigger', onclick: () => dialog('Trigger now?', h('p', {}, 'Takes an action now under the schedule\'s overlap policy.'), 'Trigger', act('/api/schedule/trigger', {}, (r) => `Triggered: ${r}.`)) }, 'Trigger'),
    h('button', { 'data-action': 'backfill', onclick: backfillDialog }, 'Backfill…'),
  ] : null);
  function backfillDialog() {
    const from = h('input', { type: 'datetime-local', name: 'start_at', required: true });
    const to = h('input', { type: 'datetime-local', name: 'end_at', required: true });
    dialog('Backfill a time range', [h('p', {}, 'Takes the actions of [from, to) as if on time (at most 10,000).'),
      h('label', { class: 'field' }, 'From', from), h('label', { class: 'field' }, 'To', to)], 'Backfill',
    act('/api/schedule/backfill', { get start_at() { return new Date(from.value).toISOString(); }, get end_at() { return new Date(to.value).toISOString(); } }, (n) => `${n} workflows started.`));
  }
  const recent = s.recent_actions || [];
  fill(main, 
    h('h1', {}, h('span', { class: 'mono' }, id), s.paused ? h('span', { class: 'badge s-CANCELED', id: 'paused' }, 'paused') : h('span', { class: 'badge s-RUNNING' }, 'active'), actions),
    note,
    h('div', { class: 'grid2' },
      h('div', { class: 'panel' }, h('h2', {}, 'Next runs'), h('ul', { id: 'upcoming' }, (s.upcoming || []).map((t) => h('li', {}, `${fmtTime(t)} (${ago(t)})`))),
        h('h2', {}, 'Spec'), json(s.spec)),
      h('div', { class: 'panel' }, h('h2', {}, 'Action'), json(s.action), h('h2', { class: 'gap' }, 'Policies and counters'), h('dl', { class: 'kv' },
        h('dt', {}, 'Overlap policy'), h('dd', {}, s.overlap_policy),
        h('dt', {}, 'Catch-up window'), h('dd', {}, dur(Number(s.catchup_window))),
        h('dt', {}, 'Remaining actions'), h('dd', {}, s.remaining_actions === null ? 'unlimited' : s.remaining_actions),
        h('dt', {}, 'Note'), h('dd', {}, s.note || '—'),
        h('dt', {}, 'Taken · skipped'), h('dd', {}, `${s.actions_taken} · ${s.actions_skipped}`),
        h('dt', {}, 'Buffered'), h('dd', {}, s.buffered),
        h('dt', {}, 'Last workflow'), h('dd', {}, s.last_workflow_id ? [wfLink(s.last_workflow_id, s.last_run_id), ' ', s.last_status ? badge(s.last_status) : null] : '—')))),
    h('div', { class: 'panel' }, h('h2', {}, `Recent actions (${recent.length})`), recent.length ? h('table', { id: 'recent' },
      h('thead', {}, h('tr', {}, ['Scheduled for', 'Started', 'Workflow', 'Run'].map((t) => h('th', {}, t)))),
      h('tbody', {}, recent.slice().reverse().map((r) => h('tr', {}, h('td', {}, fmtTime(r.scheduled_at)), h('td', {}, fmtTime(r.started_at)),
        h('td', { class: 'mono' }, wfLink(r.workflow_id, r.run_id)), h('td', { class: 'mono muted' }, r.run_id || '')))))
      : h('p', { class: 'muted' }, 'None yet.')),
    h('details', { class: 'panel' }, h('summary', {}, 'Everything the store says'), json(s)));
}

/* ---------- task queues ---------- */

async function viewQueues(main) {
  const [queues, samples] = await Promise.all([get('/api/queues'), get('/api/queue_samples')]);
  fill(main, h('h1', {}, 'Task queues'),
    h('p', { class: 'muted' }, 'Charts: backlog (workflow + activity tasks waiting, blue) and tasks dispatched per minute (green) over the last hour, sampled by the console every 15 s.'),
    queues.length ? queues.map((q) => h('div', { class: 'panel', 'data-queue': q.task_queue },
      h('h2', {}, q.task_queue),
      h('div', { class: 'grid2' },
        h('table', {}, h('tbody', {},
          h('tr', {}, h('td', {}, 'Workflow tasks waiting'), h('td', {}, h('b', {}, q.workflow_backlog))),
          h('tr', {}, h('td', {}, 'Activity tasks waiting'), h('td', {}, h('b', {}, q.activity_backlog))),
          h('tr', {}, h('td', {}, 'Activities running'), h('td', {}, h('b', {}, q.activities_running))),
          h('tr', {}, h('td', {}, 'Pollers'), h('td', {}, (q.pollers || []).map((p) => h('div', { class: 'mono' }, `${p.identity} · ${p.kind} · ${ago(p.last_poll_at)}`)))))),
        h('div', { class: 'chart' }, chart(samples[q.task_queue] || []))))) : h('div', { class: 'panel' }, h('p', { class: 'muted' }, 'No task queues with work or pollers.')));
}

function chart(samples) {
  const W = 560, H = 90, now = Date.now() / 1000, from = now - 3600;
  if (!samples.length) return h('p', { class: 'muted' }, 'No samples yet.');
  const backlog = samples.map((s) => [s[0], s[1] + s[2]]);
  const rate = samples.map((s, i) => [s[0], i ? s[5] * 60 / Math.max(1, s[0] - samples[i - 1][0]) : 0]);
  const maxB = Math.max(1, ...backlog.map((p) => p[1])), maxR = Math.max(1, ...rate.map((p) => p[1]));
  const x = (t) => 30 + (W - 40) * (t - from) / 3600;
  const y = (v, m) => H - 14 - (H - 24) * v / m;
  const pts = (arr, m) => arr.map(([t, v]) => `${x(t).toFixed(1)},${y(v, m).toFixed(1)}`).join(' ');
  return h('svg', { viewBox: `0 0 ${W} ${H}` },
    h('polygon', { class: 'backlog', points: `${x(backlog[0][0])},${H - 14} ${pts(backlog, maxB)} ${x(backlog[backlog.length - 1][0])},${H - 14}` }),
    h('polyline', { class: 'rate', points: pts(rate, maxR) }),
    h('text', { x: 30, y: H - 2 }, '−60 min'), h('text', { x: W - 40, y: H - 2 }, 'now'),
    h('text', { x: 30, y: 10 }, `backlog max ${maxB} · ${maxR.toFixed(1)}/min`));
}

window.addEventListener('hashchange', route);
// a page kept in the back-forward cache would keep its event stream open
window.addEventListener('pagehide', () => { if (leaveView) leaveView(); leaveView = null; });
window.addEventListener('pageshow', (ev) => { if (ev.persisted) route(); });
route();
