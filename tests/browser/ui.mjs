// ui.mjs: drives the sta UI in Debian's headless Chromium through
// playwright-core.  Run by tests/integration/web_browser.sh, which starts
// `sta scheduler --web` with a user and a seeded analytical store:
//
//   node ui.mjs URL SHOTS_DIR USER PASSWORD ANALYTICS_ROWS
//
// Prints one "PASS what" or "FAIL what" line per check (the shell script
// turns them into TAP) and saves a screenshot per step in SHOTS_DIR.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const [url, shots, user, password, analyticsRows] = process.argv.slice(2);
const WAIT = 120000;    // an upper bound against hangs, not a timing check
let failed = 0;

function check(cond, what, detail) {
  console.log(`${cond ? 'PASS' : 'FAIL'} ${what}`);
  if (!cond) {
    failed++;
    if (detail !== undefined) console.log(`# ${String(detail).split('\n').join('\n# ')}`);
  }
  return cond;
}

async function step(what, fn) {
  try {
    return await fn();
  } catch (e) {
    check(false, what, e.message);
    return undefined;
  }
}

fs.mkdirSync(shots, { recursive: true });
const profile = fs.mkdtempSync(path.join(shots, 'profile-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1280, height: 860 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const page = ctx.pages()[0] || await ctx.newPage();
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(e.message));
const shot = (name) => page.screenshot({ path: path.join(shots, name + '.png'), fullPage: true })
  .catch(() => {});

// ------------------------------------------------------------ log in
await step('the UI asks for a login', async () => {
  await page.goto(url);
  await page.waitForSelector('#login-form', { timeout: WAIT });
  check(new URL(page.url()).pathname === '/login', 'the UI asks for a login', page.url());
});
await shot('1-login');
await step('logging in shows the DAG list', async () => {
  await page.fill('#username', user);
  await page.fill('#password', password);
  await page.click('#login-submit');
  await page.waitForSelector('#dag-list tr[data-dag="tiny"]', { timeout: WAIT });
  check(true, 'logging in shows the DAG list');
  const who = await page.textContent('#who');
  check(who.includes(user), 'the header names the user', who);
  const next = await page.textContent('#dag-list tr[data-dag="tiny"] .next-run');
  check(/\d{4}-\d\d-\d\d/.test(next), 'the list shows the next run', next);
});
await shot('2-dags');

// ------------------------------------------ trigger, watch it go green
let runId = null;
await step('triggering a run with conf', async () => {
  await page.click('#dag-list tr[data-dag="tiny"] button.trigger');
  await page.waitForSelector('#trigger-dialog[open]', { timeout: WAIT });
  await page.fill('#trigger-conf', '{"who": "browser"}');
  await shot('3-trigger');
  await page.click('#trigger-submit');
  await page.waitForSelector('#grid-table a.runbar[data-run^="manual__"]', { timeout: WAIT });
  runId = await page.getAttribute('#grid-table a.runbar[data-run^="manual__"]', 'data-run');
  check(true, 'triggering a run with conf opens its grid');
});
await step('the run\'s cells turn green', async () => {
  // Remember every state each cell of the new run shows until all are green.
  const seen = await page.evaluate(async ([run, wait]) => {
    const states = new Set();
    const end = Date.now() + wait;
    for (;;) {
      const cells = [...document.querySelectorAll(`#grid-table a.cell[data-run="${run}"]`)];
      cells.forEach((c) => states.add(c.dataset.state));
      if (cells.length === 3 && cells.every((c) => c.dataset.state === 'success')) break;
      if (Date.now() > end) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return [...states];
  }, [runId, WAIT]);
  const cells = await page.$$eval(`#grid-table a.cell[data-run="${runId}"]`,
    (els) => els.map((e) => [e.dataset.state, getComputedStyle(e).backgroundColor]));
  check(cells.length === 3 && cells.every(([s]) => s === 'success'), 'the run\'s three cells end green',
    JSON.stringify(cells));
  check(seen.some((s) => s !== 'success'), 'they were not green before (the grid followed the run)',
    JSON.stringify(seen));
  const rgb = cells.length ? cells[0][1].match(/\d+/g).map(Number) : [0, 0, 0];
  check(rgb[1] > rgb[0] && rgb[1] > rgb[2], 'a success cell is drawn green', cells[0] && cells[0][1]);
});
await shot('4-grid');

// ----------------------------------------------------------- a log
await step('a task log opens', async () => {
  await page.click(`#grid-table a.cell[data-run="${runId}"][data-task="a"]`);
  await page.waitForSelector('#log[data-complete="true"]', { timeout: WAIT });
  const log = await page.textContent('#log');
  check(log.includes('task a says hello'), 'the log of task a shows what it printed', log);
  const state = await page.getAttribute('#ti-state', 'data-state');
  check(state === 'success', 'the task page shows its state', state);
  const exit = await page.textContent('.try[data-try="1"] .exit-code');
  check(exit.trim() === '0', 'the try shows exit code 0', exit);
});
await shot('5-log');

// ----------------------------------------------------------- graph
await step('the graph view draws the DAG', async () => {
  await page.goto(url + '#/dags/tiny/graph');
  await page.waitForSelector('#graph g.node', { timeout: WAIT });
  const nodes = await page.$$eval('#graph g.node', (els) => els.map((e) => e.dataset.task).sort());
  check(JSON.stringify(nodes) === '["a","b","c"]', 'the graph has a node per task', nodes);
  const edges = await page.$$eval('#graph path.edge', (els) => els.length);
  check(edges === 2, 'and an edge per dependency', edges);
});
await shot('6-graph');

// ------------------------------------------------------- analytics
await step('the analytics page plots the aggregates', async () => {
  await page.goto(url + '#/analytics');
  await page.waitForSelector('svg.chart[data-series="gas_used"]', { timeout: WAIT });
  const series = await page.$$eval('section[data-table="aggregate_metrics_by_day"] svg.chart',
    (els) => els.map((e) => e.dataset.series).sort());
  check(JSON.stringify(series) === '["blocks_cnt","gas_used","transactions_cnt","value_transferred_eth"]',
    'a chart per numeric column', series);
  const points = await page.$$eval('svg.chart[data-series="gas_used"] circle', (els) => els.length);
  check(points === Number(analyticsRows), 'the gas chart has a point per row', points);
  const lines = await page.$$eval(
    'section[data-table="security_token_metrics_by_day"] svg.chart[data-series="transfers"] g.series',
    (els) => els.map((e) => `${e.dataset.name}:${e.querySelectorAll('circle').length}`).sort());
  check(JSON.stringify(lines) === '["ERC-1400:2","ERC-3643:2"]',
    'security-token metrics: a line per standard', lines);
});
await shot('7-analytics');

check(pageErrors.length === 0, 'no script errors in the page', pageErrors.join('\n'));
await ctx.close();
fs.rmSync(profile, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
