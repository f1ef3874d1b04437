// The console driven in headless Chromium. Run by tests/web/run.sh, which
// starts the cluster, the worker and durable-web and sets WEB_URL, PG*,
// PUPPETEER_DIR and WEB_WORK. Waits are generous "eventually" guards.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const puppeteer = require(process.env.PUPPETEER_DIR);

const URL_ = process.env.WEB_URL;
const WORK = process.env.WEB_WORK;
const SHOTS = process.env.WEB_SHOTS || '';
const RUN = String(Date.now() % 1e8);
let browser, page;

const sql = (q) => execFileSync('psql', ['-qXAt', '-v', 'ON_ERROR_STOP=1', '-c', q], { encoding: 'utf8' }).trim();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function eventually(what, fn, seconds = 60) {
  const deadline = Date.now() + seconds * 1000;
  let last;
  for (;;) {
    try { const v = await fn(); if (v) return v; last = null; } catch (e) { last = e; }
    if (Date.now() > deadline) throw new Error(`never happened: ${what}${last ? ' (' + last.message + ')' : ''}`);
    await sleep(200);
  }
}
// the workflow page redraws on every history change: find and click at once
const press = async (sel) => { await page.waitForSelector(sel); await page.$eval(sel, (b) => b.click()); };
const shot = async (name) => { if (SHOTS) await page.screenshot({ path: path.join(SHOTS, name), fullPage: false }); };
const startSteps = (id, steps, ms, flaky = 0) => sql(`SELECT durable.start_workflow('${id}', 'Steps', 'web-tests', '{"steps": ${steps}, "ms": ${ms}, "flaky": ${flaky}}', '{"search_attributes": {"Suite": "web"}}')`);
const signals = (id) => Number(sql(`SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '${id}' AND h.event_type = 'WorkflowExecutionSignaled'`));
const status = (id) => sql(`SELECT status FROM durable.workflows WHERE workflow_id = '${id}' ORDER BY started_at DESC LIMIT 1`);

async function signIn(role, password) {
  await page.goto(URL_ + '/#/workflows', { waitUntil: 'networkidle0' });
  if (await page.$('a[href="#"]')) { // signed in already: sign out first
    await press('.who a');
    await page.waitForSelector('input[name=role]');
  }
  await page.waitForSelector('input[name=role]');
  await page.$eval('input[name=role]', (e) => { e.value = ''; });
  await page.type('input[name=role]', role);
  await page.type('input[name=password]', password);
  // the page redraws while its first answers arrive (under load, between a
  // found node and its click): press finds and clicks in one step
  await press('form.signin button[type=submit]');
}

// a forged request: the page's own session and CSRF token, a call the buttons would not offer
const forge = (pathname, body) => page.evaluate(async (p, b) => {
  const me = await (await fetch('/api/me')).json();
  const r = await fetch(p, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf }, body: JSON.stringify(b) });
  return { status: r.status, body: await r.json() };
}, pathname, body);

before(async () => {
  browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    userDataDir: fs.mkdtempSync(path.join(WORK, 'chromium-')),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage();
  await page.setViewport({ width: 1360, height: 900 });
  page.on('pageerror', (e) => console.log('page error:', e.message));
});
after(async () => { if (browser) await browser.close(); });

test('a wrong password is refused with the store\'s message, the right one signs in', async () => {
  await signIn('web_operator', 'wrong');
  const err = await page.waitForSelector('.error');
  assert.match(await err.evaluate((e) => e.textContent), /password authentication failed/);
  await shot('signin.png');
  await page.$eval('input[name=password]', (e) => { e.value = ''; });
  await page.type('input[name=password]', 'operator-pw');
  await press('form.signin button[type=submit]');
  await page.waitForSelector('.who .role');
  assert.equal(await page.$eval('.who .role', (e) => e.textContent), 'web_operator');
  const cookies = await page.cookies();
  const c = cookies.find((x) => x.name === 'durable_session');
  assert.ok(c && c.httpOnly && c.sameSite === 'Strict', 'session cookie is HttpOnly and SameSite=Strict');
});

test('a workflow started through SQL is in the list, found by its id prefix', async () => {
  const id = `web-list-${RUN}`;
  startSteps(id, 1, 10);
  await page.goto(`${URL_}/#/workflows?prefix=web-list-${RUN}`, { waitUntil: 'networkidle0' });
  await page.waitForSelector(`#workflows tr[data-id="${id}"]`);
  const ids = await page.$$eval('#workflows tbody tr', (rs) => rs.map((r) => r.dataset.id));
  assert.deepEqual(ids, [id]);
  // counts come from a full scan, kept 30 s per session: there, a number
  const all = await page.waitForSelector('.counts a b');
  assert.match(await all.evaluate((e) => e.textContent), /^\d+$/);
});

test('the list takes a list filter query, pages by run, and shows a bad filter\'s error with its position', async () => {
  for (let i = 1; i <= 3; i++) startSteps(`web-q-${RUN}-${i}`, 1, 10);
  const q = encodeURIComponent(`WorkflowId STARTS_WITH 'web-q-${RUN}-' ORDER BY WorkflowId DESC`);
  await page.goto(`${URL_}/#/workflows?query=${q}`, { waitUntil: 'networkidle0' });
  await page.waitForSelector(`#workflows tr[data-id="web-q-${RUN}-3"]`);
  assert.deepEqual(await page.$$eval('#workflows tbody tr', (rs) => rs.map((r) => r.dataset.id)),
    [3, 2, 1].map((i) => `web-q-${RUN}-${i}`), 'in the query\'s order');
  const pages = await page.evaluate(async (qq) => {
    const one = async (after) => (await (await fetch(`/api/workflows/query?page_size=2&query=${qq}${after ? '&after=' + after : ''}`)).json());
    const a = await one(''); const b = await one(a.workflows[1].run_id);
    return { a: a.workflows.map((w) => w.workflow_id), more: a.more, b: b.workflows.map((w) => w.workflow_id), bmore: b.more };
  }, q);
  assert.deepEqual(pages, { a: [`web-q-${RUN}-3`, `web-q-${RUN}-2`], more: true, b: [`web-q-${RUN}-1`], bmore: false });
  await page.goto(`${URL_}/#/workflows?query=${encodeURIComponent("WorkflowType = 'Steps' AND")}`, { waitUntil: 'networkidle0' });
  const err = await (await page.waitForSelector('.error')).evaluate((e) => e.textContent);
  assert.match(err, /list filter: expected a search attribute name/);
  assert.match(err, /42601/);
  assert.match(err, /At character 27 of the filter, its end/);
});

test('the timeline grows live as activities complete', async () => {
  const id = `web-live-${RUN}`;
  startSteps(id, 4, 1500);
  await page.goto(`${URL_}/#/workflow/${id}`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('.live:not(.off)');
  const seen = new Set();
  await eventually('four activities done on the timeline', async () => {
    const n = await page.$$eval('svg g.bar.activity:not(.pending)', (b) => b.length);
    seen.add(n);
    return n === 4;
  }, 90);
  // the page was never reloaded: the counts came one by one through the stream
  assert.ok(seen.size >= 3, `saw the timeline at ${[...seen]} completed activities`);
  await page.waitForSelector('svg g.bar.timer');
  await page.waitForSelector('#pending-timers'); // drawn with the rest
  await shot('workflow.png');
});

test('a retrying activity shows its attempt and last failure, then completes', async () => {
  const id = `web-flaky-${RUN}`;
  startSteps(id, 2, 300, 3);
  await page.goto(`${URL_}/#/workflow/${id}`, { waitUntil: 'domcontentloaded' });
  await eventually('the retry on the page', async () =>
    /flaky step \(attempt \d\)/.test(await page.$eval('#pending-activities', (e) => e.textContent)), 90);
  await page.waitForSelector('svg g.bar.activity.retrying');
  await shot('retrying.png');
  await eventually('both steps done', async () => (await page.$$('svg g.bar.activity:not(.pending)')).length === 2, 90);
  const tips = await page.$$eval('svg g.bar.activity:not(.pending) title', (ts) => ts.map((t) => t.textContent));
  assert.match(tips[tips.length - 1], /attempt 4/);
  sql(`SELECT durable.terminate_workflow('${id}', 'test done')`);
});

test('local activities show as LocalActivity markers in the history and as bars on the timeline', async () => {
  const id = `web-local-${RUN}`;
  sql(`SELECT durable.start_workflow('${id}', 'Steps', 'web-tests', '{"steps": 3, "ms": 10, "flaky": 1, "wait": false, "local": true}')`);
  await page.goto(`${URL_}/#/workflow/${id}`, { waitUntil: 'domcontentloaded' });
  await eventually('three local activities on the timeline', async () => (await page.$$('svg g.bar.local')).length === 3, 90);
  const markers = await page.$$eval('#history details[data-type="MarkerRecorded"]', (ds) => ds.map((d) => d.textContent));
  assert.equal(markers.length, 3);
  assert.match(markers[2], /LocalActivity/);
  assert.match(markers[2], /"attempt": 2/);   // the flaky last step, retried in the worker
  const tips = await page.$$eval('svg g.bar.local title', (ts) => ts.map((t) => t.textContent));
  assert.match(tips[2], /step · local/);
  assert.equal((await page.$$('svg g.bar.activity')).length, 0);
});

test('children show on the timeline and in the children table, and a child links back to its parent', async () => {
  const id = `web-parent-${RUN}`;
  sql(`SELECT durable.start_workflow('${id}', 'Parent', 'web-tests', '{"children": 2}')`);
  await page.goto(`${URL_}/#/workflow/${id}`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#status .s-COMPLETED', { timeout: 60000 });
  await eventually('two finished child bars', async () => (await page.$$('svg g.bar.child:not(.pending)')).length === 2);
  const kids = await page.$$eval('#children a', (as) => as.map((a) => a.textContent));
  assert.equal(kids.length, 2);
  await shot('children.png');
  await page.$eval('#children a', (a) => a.click());
  await page.waitForSelector(`dd a[href^="#/workflow/${id}"]`);
  assert.equal(await page.$eval('#status', (e) => e.textContent), 'COMPLETED');
});

test('bad requests get a clear message and change nothing', async () => {
  const raw = (p, body, type = 'application/json') => page.evaluate(async (pp, b, t) => {
    const me = await (await fetch('/api/me')).json();
    const r = await fetch(pp, { method: 'POST', headers: { 'Content-Type': t, 'X-CSRF-Token': me.csrf }, body: b });
    return { status: r.status, body: await r.json() };
  }, p, body, type);
  let r = await raw('/api/workflow/signal', 'not json');
  assert.equal(r.status, 400);
  assert.match(r.body.error.message, /not a JSON object/);
  r = await raw('/api/workflow/signal', '{"id": "x"}', 'text/plain');
  assert.equal(r.status, 415);
  r = await raw('/api/workflow/signal', '{"name": "approve"}');
  assert.equal(r.status, 400);
  assert.equal(r.body.error.message, 'id is required');
  r = await forge('/api/workflow/signal', { id: `no-such-${RUN}`, name: 'approve' });
  assert.equal(r.status, 404);
  assert.equal(r.body.error.sqlstate, 'DU001');
  assert.ok(r.body.error.hint.length > 0, 'the store\'s hint comes along');
  r = await forge('/api/workflow/reset', { id: `web-live-${RUN}`, event_id: 1 });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.sqlstate, '22023');
  assert.equal(status(`web-live-${RUN}`), 'RUNNING');
  // the page shows a missing workflow as the store's error
  await page.goto(`${URL_}/#/workflow/no-such-${RUN}`, { waitUntil: 'networkidle0' });
  assert.match(await (await page.waitForSelector('.error')).evaluate((e) => e.textContent), /DU001/);
});

test('a query through the form shows the answer', async () => {
  await page.goto(`${URL_}/#/workflow/web-live-${RUN}`, { waitUntil: 'domcontentloaded' });
  const id = `web-live-${RUN}`;
  await press('[data-action=query]');
  await page.type('input[name=query]', 'progress');
  await page.click('.dialog button[type=submit]');
  const pre = await page.waitForSelector('.dialog pre');
  assert.deepEqual(JSON.parse(await pre.evaluate((e) => e.textContent)), { done: 4 });
  await page.click('.dialog button[type=button]');
  assert.equal(status(id), 'RUNNING');
});

test('a bad JSON signal is refused with a message and nothing changes', async () => {
  const id = `web-live-${RUN}`;
  await press('[data-action=signal]');
  await page.type('input[name=signal]', 'approve');
  await page.$eval('textarea[name=input]', (e) => { e.value = ''; });
  await page.type('textarea[name=input]', '{"ok": tru');
  const state = await page.waitForSelector('.json-state.bad');
  assert.match(await state.evaluate((e) => e.textContent), /Not JSON/);
  assert.equal(await page.$eval('.dialog button[type=submit]', (b) => b.disabled), true);
  await shot('signal-bad-json.png');
  await page.$eval('.dialog form, .dialog', (f) => f.requestSubmit && f.requestSubmit());
  await sleep(500);
  assert.equal(signals(id), 0);
  // the same text sent past the page is refused by the store
  const r = await forge('/api/workflow/signal', { id, name: 'approve', input: '{"ok": tru' });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.sqlstate, '22P02');
  assert.equal(signals(id), 0);
  assert.equal(status(id), 'RUNNING');
  await page.click('.dialog button[type=button]');
});

test('a signal sent through the form completes the workflow', async () => {
  const id = `web-live-${RUN}`;
  await press('[data-action=signal]');
  await page.type('input[name=signal]', 'approve');
  await page.$eval('textarea[name=input]', (e) => { e.value = ''; });
  await page.type('textarea[name=input]', '{"by": "the browser test"}');
  await page.waitForSelector('.json-state.good');
  await shot('signal.png');
  await page.click('.dialog button[type=submit]');
  await page.waitForSelector('.ok-note');
  await page.click('.dialog button[type=button]');
  await page.waitForSelector('#status .s-COMPLETED', { timeout: 60000 });
  assert.equal(status(id), 'COMPLETED');
  assert.deepEqual(JSON.parse(sql(`SELECT result FROM durable.workflows WHERE workflow_id = '${id}'`)), { approved: { by: 'the browser test' } });
  await page.waitForSelector('svg g.mark.signal');
});

test('reset to a chosen workflow task starts a new run, shown with the runs', async () => {
  const id = `web-live-${RUN}`;
  await press('[data-action=reset]');
  const first = await page.$eval('select[name=event] option', (o) => o.value);
  await page.select('select[name=event]', first);
  await page.click('.dialog button[type=submit]');
  const note = await page.waitForSelector('.ok-note');
  const newRun = (await note.evaluate((e) => e.textContent)).match(/New run ([0-9a-f-]{36})/)[1];
  await page.click('.dialog button[type=button]');
  await eventually('the page on the new run', async () =>
    (await page.$eval('#main', (m) => m.textContent)).includes(newRun) && (await page.$('#status .s-RUNNING')));
  assert.equal(Number(sql(`SELECT count(*) FROM durable.workflows WHERE workflow_id = '${id}'`)), 2);
  assert.equal(sql(`SELECT run_id FROM durable.workflows WHERE workflow_id = '${id}' AND status = 'RUNNING'`), newRun);
});

test('cancel asks for confirmation, then the workflow decides to cancel', async () => {
  const id = `web-live-${RUN}`;
  await press('[data-action=cancel]');
  await page.type('input[name=reason]', 'from the browser');
  await page.click('.dialog button[type=submit]');
  assert.match(await (await page.waitForSelector('.ok-note')).evaluate((e) => e.textContent), /requested/);
  await page.click('.dialog button[type=button]');
  await page.waitForSelector('#status .s-CANCELED', { timeout: 60000 });
  assert.equal(status(id), 'CANCELED');
});

test('terminate asks for confirmation and shows the store\'s refusal of a closed run', async () => {
  const id = `web-term-${RUN}`;
  startSteps(id, 1, 10);
  await page.goto(`${URL_}/#/workflow/${id}`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('[data-action=terminate]');
  await press('[data-action=terminate]');
  await page.type('input[name=reason]', 'test');
  assert.equal(status(id), 'RUNNING', 'nothing happens before the confirmation');
  sql(`SELECT durable.terminate_workflow('${id}', 'raced')`);
  await page.click('.dialog button[type=submit]');
  const err = await page.waitForSelector('.dialog .error');
  assert.match(await err.evaluate((e) => e.textContent), /DU003/);
  await page.click('.dialog button[type=button]');
});

test('pause and unpause from the workflow page: the badge, who and why, the history', async () => {
  const id = `web-pause-${RUN}`;
  startSteps(id, 50, 200);
  await page.goto(`${URL_}/#/workflow/${id}`, { waitUntil: 'domcontentloaded' });
  await press('[data-action=pause]');
  await page.type('input[name=reason]', 'looking into it');
  assert.equal(sql(`SELECT durable.describe_workflow('${id}') -> 'paused'`), 'null', 'nothing happens before the confirmation');
  await page.click('.dialog button[type=submit]');
  assert.match(await (await page.waitForSelector('.ok-note')).evaluate((e) => e.textContent), /Paused/);
  await page.click('.dialog button[type=button]');
  await page.waitForSelector('#paused');
  assert.match(await page.$eval('#pause-info', (e) => e.textContent), /looking into it/);
  assert.equal(sql(`SELECT durable.describe_workflow('${id}') -> 'paused' ->> 'reason'`), 'looking into it');
  await eventually('the pause in the history view', async () =>
    (await page.$$('#history details[data-type=WorkflowExecutionPaused]')).length === 1);
  await press('[data-action=unpause]');
  await page.click('.dialog button[type=submit]');
  assert.match(await (await page.waitForSelector('.ok-note')).evaluate((e) => e.textContent), /Unpaused/);
  await page.click('.dialog button[type=button]');
  await eventually('the badge gone', async () => !(await page.$('#paused')));
  assert.equal(sql(`SELECT durable.describe_workflow('${id}') -> 'paused'`), 'null');
  sql(`SELECT durable.terminate_workflow('${id}', 'test done')`);
});

test('a schedule is triggered from its page', async () => {
  const sid = `web-sched-${RUN}`;
  sql(`SELECT durable.create_schedule('${sid}', '{"interval": [{"every": 86400}]}', '{"workflow_type": "Steps", "task_queue": "web-tests", "input": {"steps": 1, "ms": 10}}')`);
  await page.goto(`${URL_}/#/schedules`, { waitUntil: 'networkidle0' });
  await page.waitForSelector(`#schedules a[href="#/schedule/${sid}"]`);
  await page.click(`#schedules a[href="#/schedule/${sid}"]`);
  await page.waitForSelector('[data-action=trigger]');
  await press('[data-action=trigger]');
  await page.click('.dialog button[type=submit]');
  const note = await page.waitForSelector('.ok-note');
  assert.match(await note.evaluate((e) => e.textContent), /STARTED/);
  await page.click('.dialog button[type=button]');
  const started = () => Number(sql(`SELECT count(*) FROM durable.workflows WHERE search_attributes @> '{"DurableScheduledById": "${sid}"}'`));
  assert.equal(started(), 1);
  await page.waitForSelector('#recent tr');
  await shot('schedule.png');
});

test('a schedule is paused with a note, unpaused and backfilled from its page', async () => {
  const sid = `web-sched-${RUN}`;
  await press('[data-action=pause]');
  await page.type('input[name=note]', 'maintenance');
  await page.click('.dialog button[type=submit]');
  await page.waitForSelector('.ok-note');
  await page.click('.dialog button[type=button]');
  await page.waitForSelector('#paused');
  assert.equal(sql(`SELECT paused::text || ' ' || note FROM durable.schedules WHERE schedule_id = '${sid}'`), 'true maintenance');
  await press('[data-action=unpause]');
  await page.click('.dialog button[type=submit]');
  await page.waitForSelector('.ok-note');
  await page.click('.dialog button[type=button]');
  await page.waitForSelector('[data-action=pause]');
  assert.equal(sql(`SELECT paused::text FROM durable.schedules WHERE schedule_id = '${sid}'`), 'false');
  // three whole days back: one action a day, each as if on time
  await press('[data-action=backfill]');
  const day = 86400000, end = Math.floor(Date.now() / day) * day - day, start = end - 3 * day;
  const local = (t) => new Date(t - new Date(t).getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  await page.$eval('input[name=start_at]', (e, v) => { e.value = v; }, local(start));
  await page.$eval('input[name=end_at]', (e, v) => { e.value = v; }, local(end));
  await page.click('.dialog button[type=submit]');
  const note = await page.waitForSelector('.ok-note');
  assert.match(await note.evaluate((e) => e.textContent), /^3 workflows started/);
  await page.click('.dialog button[type=button]');
  assert.equal(Number(sql(`SELECT count(*) FROM durable.workflows WHERE search_attributes @> '{"DurableScheduledById": "${sid}"}'
    AND (search_attributes->>'DurableScheduledStartTime')::timestamptz >= '${new Date(start).toISOString()}'
    AND (search_attributes->>'DurableScheduledStartTime')::timestamptz < '${new Date(end).toISOString()}'`)), 3);
});

test('the task queue page shows backlog, pollers and a chart', async () => {
  await page.goto(`${URL_}/#/queues`, { waitUntil: 'networkidle0' });
  const q = await page.waitForSelector('[data-queue="web-tests"]');
  assert.match(await q.evaluate((e) => e.textContent), /web-test-worker/);
  await page.waitForSelector('[data-queue="web-tests"] .chart svg');
  await shot('queues.png');
  await page.goto(`${URL_}/#/workflows?search=${encodeURIComponent('{"Suite": "web"}')}`, { waitUntil: 'networkidle0' });
  await page.waitForSelector('#workflows tbody tr');
  await shot('workflows.png');
});

test('the namespace picker shows another namespace\'s workflows', async () => {
  const other = `web-ns-${RUN}`;
  sql(`SELECT durable.start_workflow('web-elsewhere-${RUN}', 'Steps', 'web-tests', '{"steps": 0}', '{}', '${other}')`);
  await page.goto(`${URL_}/#/workflows`, { waitUntil: 'networkidle0' });
  await page.waitForSelector(`#ns option[value="${other}"]`);
  await page.select('#ns select', other);
  await page.waitForSelector(`#workflows tr[data-id="web-elsewhere-${RUN}"]`);
  const ids = await page.$$eval('#workflows tbody tr', (rs) => rs.map((r) => r.dataset.id));
  assert.deepEqual(ids, [`web-elsewhere-${RUN}`]);
  await page.select('#ns select', 'default');
  await page.waitForSelector(`#workflows tr[data-id="web-list-${RUN}"]`);
});

test('a read-only role sees no action buttons, and a forged request is refused by the store', async () => {
  const id = `web-ro-${RUN}`;
  startSteps(id, 1, 10);
  await signIn('web_viewer', 'viewer-pw');
  await page.waitForSelector('.who .role');
  await page.goto(`${URL_}/#/workflow/${id}`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#status');
  await page.waitForSelector('#history details');
  assert.equal((await page.$$('[data-action]')).length, 0);
  // a reader of one namespace is offered only that one, once the picker is
  // drawn for this role (until its list comes, the header has none)
  const one = await page.waitForSelector('#ns .ns-one');
  assert.equal(await one.evaluate((e) => e.textContent), 'default');
  assert.equal(await page.$(`#ns option[value="web-ns-${RUN}"]`), null);
  const r = await forge('/api/workflow/signal', { id, name: 'approve', input: '{}' });
  assert.equal(r.status, 403);
  assert.equal(r.body.error.sqlstate, '42501');
  assert.match(r.body.error.message, /permission denied/);
  assert.equal(signals(id), 0);
  // and without the CSRF token the daemon refuses before the store is asked
  const r2 = await page.evaluate(async (wf) => {
    const res = await fetch('/api/workflow/cancel', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ id: wf }) });
    return res.status;
  }, id);
  assert.equal(r2, 403);
  sql(`SELECT durable.terminate_workflow('${id}', 'test done')`);
});

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
    s.on('error', reject);
  });
}

test('a real Prometheus scrapes /metrics and has the series', async () => {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(WORK, 'prometheus-'));
  const target = new URL(URL_).host;
  fs.writeFileSync(path.join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: durable\n    static_configs:\n      - targets: ['${target}']\n`);
  const prom = spawn('prometheus', [`--config.file=${dir}/prometheus.yml`, `--storage.tsdb.path=${dir}/data`,
    `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', fs.openSync(path.join(dir, 'log'), 'w'), fs.openSync(path.join(dir, 'log'), 'a')] });
  try {
    const query = async (q) => {
      const r = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`);
      const j = await r.json();
      return j.data.result;
    };
    // every workflow id of the store, by the status of its latest run
    const ids = Number(sql("SELECT count(DISTINCT workflow_id) FROM durable.workflows WHERE namespace = 'default'"));
    await eventually('durable_workflows scraped', async () => {
      const r = await query('sum(durable_workflows)');
      return r.length && Number(r[0].value[1]) === ids;
    }, 90);
    const up = await query('up{job="durable"}');
    assert.equal(up[0].value[1], '1');
    const wt = await eventually('workflow task latency histogram', async () => {
      const r = await query('durable_workflow_task_schedule_to_start_seconds_count{task_queue="web-tests"}');
      return r.length && Number(r[0].value[1]) > 0 ? r : null;
    });
    assert.ok(Number(wt[0].value[1]) > 0);
    await eventually('timer lateness histogram', async () => {
      const r = await query('durable_timer_lateness_seconds_count');
      return r.length && Number(r[0].value[1]) > 0;
    });
    const buckets = await query('durable_workflow_task_schedule_to_start_seconds_bucket{task_queue="web-tests",le="+Inf"}');
    assert.equal(buckets[0].value[1], wt[0].value[1], 'the +Inf bucket counts every observation');
    assert.ok((await query('durable_task_queue_pollers{task_queue="web-tests"}')).length > 0);
  } finally {
    prom.kill('SIGTERM');
  }
});
