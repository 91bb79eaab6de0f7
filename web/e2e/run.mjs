#!/usr/bin/env node
// End-to-end tests of the web UI against the real qalqan binary.
//
//   node e2e/run.mjs --bin PATH_TO_QALQAN [--out DIR] [--embedded] [--only N,M]
//
// Starts its own servers (fresh temp data dirs, free ports), drives Debian's
// chromium through playwright-core, saves a screenshot per step into --out,
// prints one line per scenario and exits non-zero on any failure. Servers are
// killed on exit, also on failure. Every wait is bounded.

import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const WEB = path.resolve(HERE, '..');
const REPO = path.resolve(WEB, '..');

// ---- Arguments ----
const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] ? argv[i + 1] : def;
};
const DEFAULT_BIN = [path.join(REPO, 'target', 'release', 'qalqan'), path.join(REPO, 'target', 'debug', 'qalqan')].find((p) => existsSync(p)) || '';
const BIN = path.resolve(opt('--bin', process.env.QALQAN_BIN || DEFAULT_BIN));
const OUT = path.resolve(opt('--out', path.join(HERE, 'artifacts')));
const EMBEDDED = argv.includes('--embedded');
const ONLY = opt('--only', '')
  .split(',')
  .filter(Boolean)
  .map(Number);
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TOTAL_LIMIT_MS = 170_000;

if (!process.env.QALQAN_BIN && !argv.includes('--bin') && !DEFAULT_BIN) {
  console.error('usage: node e2e/run.mjs --bin PATH_TO_QALQAN [--out DIR]   (or set QALQAN_BIN)');
  process.exit(2);
}
if (!existsSync(BIN)) {
  console.error(`qalqan binary not found: ${BIN}`);
  process.exit(2);
}
if (!EMBEDDED && !existsSync(path.join(WEB, 'dist', 'index.html'))) {
  console.error('web/dist/index.html is missing: run `npm run build` first (or pass --embedded)');
  process.exit(2);
}
if (!existsSync(CHROMIUM)) {
  console.error(`chromium not found at ${CHROMIUM} (apt-get install -y chromium)`);
  process.exit(2);
}
mkdirSync(OUT, { recursive: true });

// ---- Process management ----
const children = [];
const tempDirs = [];
let browser = null;

function cleanup() {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try {
        c.kill('SIGTERM');
      } catch {
        /* gone */
      }
    }
  }
  for (const d of tempDirs) {
    try {
      rmSync(d, { recursive: true, force: true });
    } catch {
      /* ignore */
    }
  }
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}
const hardStop = setTimeout(() => {
  console.error(`FAILED: the whole run exceeded ${TOTAL_LIMIT_MS / 1000} s`);
  cleanup();
  process.exit(1);
}, TOTAL_LIMIT_MS);
hardStop.unref();

function tempDir(prefix) {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Start `qalqan ARGS`, collect its output, resolve when `ready(text)` returns a value. */
function startQalqan(args, ready, timeoutMs, label) {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, QALQAN_USER: 'e2e', NO_COLOR: '1' };
    if (!EMBEDDED) env.QALQAN_WEB_DIR = path.join(WEB, 'dist');
    const child = spawn(BIN, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let text = '';
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      reject(new Error(`${label}: not ready within ${timeoutMs / 1000} s; output:\n${text.slice(-2000)}`));
    }, timeoutMs);
    const onData = (b) => {
      text += b.toString();
      if (done) return;
      const v = ready(text);
      if (v) {
        done = true;
        clearTimeout(timer);
        resolve({ child, value: v, output: () => text });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(new Error(`${label}: exited with ${code}; output:\n${text.slice(-2000)}`));
    });
  });
}

function runQalqan(args, timeoutMs = 30_000) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { env: { ...process.env, QALQAN_USER: 'e2e' }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let text = '';
    child.stdout.on('data', (b) => (text += b));
    child.stderr.on('data', (b) => (text += b));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`qalqan ${args.join(' ')}: timed out`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(text);
      else reject(new Error(`qalqan ${args.join(' ')} exited with ${code}:\n${text}`));
    });
  });
}

async function waitHealthy(base, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < end) {
    try {
      const r = await fetch(`${base}/api/v1/health`, { signal: AbortSignal.timeout(2000) });
      if (r.ok) return;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = String(e);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${base} not healthy: ${last}`);
}

// ---- Helpers for scenarios ----
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function withTimeout(p, ms, what) {
  let timer;
  const t = new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`${what}: timed out after ${ms / 1000} s`)), ms)));
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

function shooter(page, n, name) {
  let step = 0;
  return async (label) => {
    step++;
    const file = path.join(OUT, `${n}-${name}-${String(step).padStart(2, '0')}-${label}.png`);
    try {
      await page.screenshot({ path: file, timeout: 10_000 });
    } catch {
      /* a failed screenshot must not hide the real failure */
    }
  };
}

async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, acceptDownloads: true, locale: 'ru-RU' });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e.message || e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text())) errors.push(m.text());
  });
  // No request may leave the server's origin (closed network).
  page.on('request', (r) => {
    const u = r.url();
    if (!/^(https?:\/\/127\.0\.0\.1:\d+\/|data:|blob:|about:)/.test(u)) errors.push(`external request: ${u}`);
  });
  return { context, page, errors };
}

async function login(page, base, user, password) {
  await page.goto(`${base}/#/login`);
  await page.fill('[data-testid=login-login]', user);
  await page.fill('[data-testid=login-password]', password);
  await page.click('[data-testid=login-submit]');
}

/** Waits for the navigation bar to offer a page (its link may sit in a closed group menu). */
async function waitNav(page, path, timeout = 15_000) {
  await page.waitForSelector(`[data-nav="${path}"]`, { state: 'attached', timeout });
}

/** Follows a link of the navigation bar, opening its group menu first when the link is in one. */
async function nav(page, path) {
  const link = page.locator(`[data-nav="${path}"]`);
  await link.waitFor({ state: 'attached' });
  if (!(await link.isVisible())) {
    const group = page.locator(`.nav-group:has([data-nav="${path}"]) > button[aria-expanded]`);
    await group.click();
    await link.waitFor({ state: 'visible', timeout: 5_000 });
  }
  await link.click();
}

async function waitHook(page, fn, arg, ms, what) {
  try {
    await page.waitForFunction(fn, arg, { timeout: ms, polling: 200 });
  } catch {
    const hook = await page.evaluate(() => {
      const q = window.__qalqan;
      return q ? { cells: q.cells, cellsDrawn: q.cellsDrawn, points: q.points, pointsState: q.pointsState, hotspotsState: q.hotspotsState } : null;
    });
    const notes = await page.locator('[data-testid=map-notes]').innerText().catch(() => '');
    throw new Error(`${what} (map state ${JSON.stringify(hook)}${notes ? `; page says: ${notes}` : ''})`);
  }
}

// ---- Scenarios ----
const ctx = {};

const scenarios = [
  {
    n: 1,
    name: 'first-admin-setup',
    async run() {
      const { context, page, errors } = await newPage();
      const shot = shooter(page, 1, 'setup');
      try {
        const link = ctx.setupLink;
        await page.goto(link);
        await page.waitForSelector('[data-testid=setup-form]');
        const token = await page.inputValue('[data-testid=setup-token]');
        assert(/^[0-9a-f]{32}$/.test(token), `setup token not prefilled from the link (got "${token}")`);
        await shot('form');
        await page.fill('[data-testid=setup-login]', 'chief');
        await page.fill('[data-testid=setup-name]', 'Главный администратор');
        await page.fill('[data-testid=setup-password]', 'Astana-Admin-2024!');
        await page.fill('[data-testid=setup-repeat]', 'Astana-Admin-2024!');
        await page.click('[data-testid=setup-submit]');
        await page.waitForSelector('[data-testid=role]');
        const role = await page.innerText('[data-testid=role]');
        assert(role === 'Администратор', `logged in with role "${role}", expected Администратор`);
        await shot('logged-in');
        await nav(page, 'admin');
        await page.waitForSelector('[data-testid=create-user-form]');
        await page.waitForSelector('[data-testid=users-table]');
        await page.fill('[data-testid=new-login]', 'analyst7');
        await page.fill('[data-testid=new-name]', 'Аналитик Семь');
        await page.selectOption('[data-testid=new-role]', 'analyst');
        await page.click('[data-testid=create-user]');
        const pw = await page.waitForSelector('[data-testid=one-time-password]');
        const oneTime = (await pw.innerText()).trim();
        assert(oneTime.length >= 12, `one-time password too short: "${oneTime}"`);
        await page.waitForFunction(() => document.querySelector('[data-testid=users-table]')?.textContent?.includes('analyst7'), null, { timeout: 10_000 });
        await shot('user-created');
        // The new account can log in with its one-time password and must change it first.
        const second = await newPage();
        try {
          await login(second.page, ctx.freshBase, 'analyst7', oneTime);
          await second.page.waitForSelector('[data-testid=password-form]');
        } finally {
          await second.context.close();
        }
        assert(errors.length === 0, `page errors: ${errors.join(' | ')}`);
      } catch (e) {
        await shot('failure');
        throw e;
      } finally {
        await context.close();
      }
    },
  },
  {
    n: 2,
    name: 'demo-map-hotspots-points',
    async run() {
      const { context, page, errors } = await newPage();
      const shot = shooter(page, 2, 'map');
      try {
        let hotspotFeatures = -1;
        page.on('response', async (r) => {
          if (/\/hotspots\?/.test(r.url()) && r.status() === 200) {
            try {
              hotspotFeatures = (await r.json()).features.length;
            } catch {
              /* ignore */
            }
          }
        });
        await login(page, ctx.demoBase, 'demo', ctx.demoPassword);
        await page.waitForSelector('[data-testid=map]');
        await waitHook(page, () => window.__qalqan?.hotspotsState === 'loaded' && window.__qalqan.cellsDrawn > 0, null, 45_000, 'hotspot cells were not drawn');
        await waitHook(page, () => window.__qalqan?.pointsState === 'loaded', null, 45_000, 'incident points were not loaded');
        await waitHook(page, () => window.__qalqan.map.queryRenderedFeatures({ layers: ['cells-fill'] }).length > 0, null, 10_000, 'no hotspot cell is rendered on the map');
        await shot('loaded');
        const state = await page.evaluate(() => {
          const q = window.__qalqan;
          const rendered = q.map.queryRenderedFeatures({ layers: ['cells-fill'] }).length;
          return { cells: q.cells, cellsDrawn: q.cellsDrawn, points: q.points, rendered, layer: !!q.map.getLayer('incident-points') };
        });
        assert(state.cells === hotspotFeatures, `map holds ${state.cells} cells, the response had ${hotspotFeatures}`);
        assert(state.rendered > 0, 'no hotspot cell is rendered on the map');
        assert(state.points > 1000 && state.layer, `point layer: ${JSON.stringify(state)}`);
        const legendRows = await page.locator('[data-testid=legend] .legend-row').count();
        assert(legendRows >= 3, `legend has ${legendRows} rows`);
        const status = await page.innerText('[data-testid=map-status]');
        assert(/\d/.test(status), `status line has no counts: "${status}"`);
        // Click a drawn cell: its figures appear in the side panel.
        const pt = await page.evaluate(() => {
          const m = window.__qalqan.map;
          const f = m.queryRenderedFeatures({ layers: ['cells-fill'] }).find((x) => Number(x.properties.count) > 0);
          const ring = f.geometry.coordinates[0];
          const cx = ring.slice(0, -1).reduce((a, c) => a + c[0], 0) / (ring.length - 1);
          const cy = ring.slice(0, -1).reduce((a, c) => a + c[1], 0) / (ring.length - 1);
          const p = m.project([cx, cy]);
          const r = m.getCanvas().getBoundingClientRect();
          return { x: r.left + p.x, y: r.top + p.y };
        });
        await page.mouse.click(pt.x, pt.y);
        await page.waitForSelector('[data-testid=cell-info] [data-prop=count]', { timeout: 10_000 });
        await shot('cell-clicked');
        // Switch to the grid method: a sequential legend.
        await page.selectOption('[data-testid=method]', 'grid');
        await waitHook(page, () => window.__qalqan?.hotspotsState === 'loaded' && window.__qalqan.cellsDrawn > 0, null, 30_000, 'grid cells were not drawn');
        await shot('grid');
        assert(errors.length === 0, `page errors: ${errors.join(' | ')}`);
      } catch (e) {
        await shot('failure');
        throw e;
      } finally {
        await context.close();
      }
    },
  },
  {
    n: 3,
    name: 'import-row-errors',
    async run() {
      const { context, page, errors } = await newPage();
      const shot = shooter(page, 3, 'import');
      try {
        const dir = tempDir('qalqan-e2e-csv-');
        const file = path.join(dir, 'e2e-incidents.csv');
        const header = 'occurrencedate,occurrencehour,premises_type,occurrencemonth,occurrencedayofweek,MCI,Neighbourhood,occurrenceday,occurrencedayofyear,Pub_Id,Park_Id,PS_Id,Lat,Long';
        const rows = [
          '2022/03/02 05:00:00+00,8,House,March,Wednesday,Assault,E2E Test Hood,2,61,0,0,0,43.701011,-79.401011', // line 2
          '2022/03/03 05:00:00+00,9,House,March,Thursday,Assault,E2E Test Hood,3,62,0,0,0,not-a-number,-79.401022', // line 3: bad Lat
          '2022/03/04 05:00:00+00,10,Commercial,March,Friday,Robbery,E2E Test Hood,4,63,0,0,0,43.701033,-79.401033', // line 4
          'yesterday-ish,11,House,March,Saturday,Auto Theft,E2E Test Hood,5,64,0,0,0,43.701044,-79.401044', // line 5: bad date
          '2022/03/06 05:00:00+00,12,House,March,Sunday,Break and Enter,E2E Test Hood,6,65,0,0,0,43.701055,-79.401055', // line 6
          '2022/03/07 05:00:00+00,13,Apartment,March,Monday,Theft Over,E2E Test Hood,7,66,0,0,0,43.701066,-79.401066', // line 7
        ];
        writeFileSync(file, [header, ...rows].join('\n') + '\n');
        await login(page, ctx.demoBase, 'demo', ctx.demoPassword);
        await nav(page, 'import');
        await page.waitForSelector('[data-testid=import-form]');
        await page.selectOption('[data-testid=import-territory]', 'Toronto');
        await page.setInputFiles('[data-testid=import-file]', file);
        const options = await page.locator('[data-testid=import-mapping] option').evaluateAll((os) => os.map((o) => o.value));
        assert(options.includes('toronto-mci'), `built-in mapping toronto-mci not offered (options: ${options.join(', ')})`);
        await page.selectOption('[data-testid=import-mapping]', 'toronto-mci');
        const toml = await page.inputValue('[data-testid=import-mapping-text]');
        assert(toml.includes('[columns]'), 'the chosen mapping was not loaded into the editor');
        await shot('form');
        // All or nothing (default): rejected, with the row-level report.
        await page.click('[data-testid=import-submit]');
        await page.waitForSelector('[data-testid=import-report]', { timeout: 30_000 });
        const status1 = await page.getAttribute('[data-testid=import-report]', 'data-status');
        assert(status1 === 'rejected', `all-or-nothing import: status ${status1}, expected rejected`);
        const rejects = await page.locator('[data-testid=rejects-table] tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent.trim())));
        await shot('rejected');
        const lines = rejects.map((r) => Number(r[0])).sort((a, b) => a - b);
        assert(JSON.stringify(lines) === '[3,5]', `rejected lines ${JSON.stringify(lines)}, expected [3,5]`);
        const byLine = Object.fromEntries(rejects.map((r) => [Number(r[0]), r]));
        assert(/lat/i.test(byLine[3][1]), `line 3 rejected for field "${byLine[3][1]}", expected the latitude`);
        assert(/occurrencedate|date|time/i.test(byLine[5][1]), `line 5 rejected for field "${byLine[5][1]}", expected the date`);
        assert(byLine[3][3].length > 0 && byLine[5][3].length > 0, 'a rejected row has no reason');
        // Skip invalid rows: the four valid ones are imported.
        await page.check('[data-testid=mode-skip]');
        await page.click('[data-testid=import-submit]');
        await page.waitForSelector('[data-testid=import-report][data-status=imported]', { timeout: 30_000 });
        const imported = await page.innerText('[data-testid=import-report] [data-count=imported] b');
        assert(imported.replace(/\D/g, '') === '4', `imported ${imported}, expected 4`);
        const rejected = await page.innerText('[data-testid=import-report] [data-count=rejected] b');
        assert(rejected.replace(/\D/g, '') === '2', `rejected ${rejected}, expected 2`);
        await shot('imported');
        assert(errors.length === 0, `page errors: ${errors.join(' | ')}`);
      } catch (e) {
        await shot('failure');
        throw e;
      } finally {
        await context.close();
      }
    },
  },
  {
    n: 4,
    name: 'language-switch',
    async run() {
      const { context, page, errors } = await newPage();
      const shot = shooter(page, 4, 'lang');
      try {
        // A wrong password: the 401 message, in Russian by default.
        await login(page, ctx.demoBase, 'demo', 'definitely-not-the-password');
        await page.waitForSelector('[data-testid=login-form] .msg-error');
        const err = await page.innerText('[data-testid=login-form] .msg-error');
        assert(err.includes('Неверный логин или пароль'), `wrong-password message: "${err}"`);
        await shot('wrong-password');
        await login(page, ctx.demoBase, 'demo', ctx.demoPassword);
        await waitNav(page, 'dashboard');
        const expect = {
          ru: { nav: 'Сводка', group: 'Координация', logout: 'Выйти', role: 'Аналитик' },
          kk: { nav: 'Жиынтық', group: 'Үйлестіру', logout: 'Шығу', role: 'Талдаушы' },
          en: { nav: 'Dashboard', group: 'Coordination', logout: 'Log out', role: 'Analyst' },
        };
        for (const lang of ['ru', 'kk', 'en']) {
          if (lang !== 'ru') await page.selectOption('[data-testid=lang]', lang);
          await page.waitForFunction((l) => document.documentElement.lang === l, lang, { timeout: 5000 });
          const got = {
            nav: (await page.textContent('[data-nav=dashboard]')).trim(),
            group: (await page.textContent('[data-nav-group=coordination]')).trim(),
            logout: (await page.innerText('[data-testid=logout]')).trim(),
            role: (await page.innerText('[data-testid=role]')).trim(),
          };
          assert(JSON.stringify(got) === JSON.stringify(expect[lang]), `${lang}: labels ${JSON.stringify(got)}, expected ${JSON.stringify(expect[lang])}`);
          // The header fits without scrolling or overlap at 1366, 1280 and 1024 px.
          for (const width of [1024, 1280, 1366]) {
            await page.setViewportSize({ width, height: 768 });
            const fit = await page.evaluate(() => {
              const bar = document.querySelector('.topbar');
              const list = document.querySelector('.nav-list').getBoundingClientRect();
              const user = document.querySelector('.userbox').getBoundingClientRect();
              return { overflow: bar.scrollWidth - bar.clientWidth, gap: Math.round(user.left - list.right), right: Math.round(window.innerWidth - user.right) };
            });
            assert(fit.overflow <= 0 && fit.gap >= 0 && fit.right >= 0, `${lang}: the header does not fit at ${width} px: ${JSON.stringify(fit)}`);
          }
          // The screenshot with the analysis menu open.
          await page.click('[data-nav-group=analysis]');
          await page.waitForSelector('[data-nav=forecast]', { state: 'visible', timeout: 5000 });
          await shot(lang);
          await page.keyboard.press('Escape');
        }
        // Remembered across a reload.
        await page.reload();
        await waitNav(page, 'dashboard');
        assert((await page.textContent('[data-nav=dashboard]')).trim() === 'Dashboard', 'language not remembered after reload');
        assert((await page.evaluate(() => document.documentElement.lang)) === 'en', '<html lang> not restored after reload');
        assert(errors.length === 0, `page errors: ${errors.join(' | ')}`);
      } catch (e) {
        await shot('failure');
        throw e;
      } finally {
        await context.close();
      }
    },
  },
  {
    n: 5,
    name: 'viewer-forbidden-admin',
    async run() {
      const { context, page, errors } = await newPage();
      const shot = shooter(page, 5, 'viewer');
      try {
        await login(page, ctx.demoBase, 'viewer5', ctx.viewerPassword);
        await page.waitForSelector('[data-testid=password-form]');
        await shot('must-change');
        await page.fill('[data-testid=pw-current]', ctx.viewerPassword);
        await page.fill('[data-testid=pw-new]', 'Viewer-New-Pass-77');
        await page.fill('[data-testid=pw-repeat]', 'Viewer-New-Pass-77');
        await page.click('[data-testid=pw-submit]');
        await waitNav(page, 'map');
        assert((await page.locator('[data-nav=admin]').count()) === 0, 'the viewer sees the admin link');
        assert((await page.locator('[data-nav=import]').count()) === 0, 'the viewer sees the import link');
        await page.goto(`${ctx.demoBase}/#/admin`);
        await page.waitForSelector('[data-testid=forbidden]');
        const text = await page.innerText('[data-testid=forbidden]');
        assert(text.includes('Доступ запрещён'), `forbidden block says "${text}"`);
        await shot('forbidden');
        // The council pack page: what a pack holds, and that the viewer's role cannot produce one.
        await nav(page, 'reports');
        await page.waitForSelector('[data-testid=rep-role-note]');
        assert((await page.locator('[data-testid=rep-generate]').count()) === 0, 'the viewer has a generate button');
        await shot('reports-note');
        // The API itself refuses too.
        const status = await page.evaluate(async () => (await fetch('/api/v1/admin/users')).status);
        assert(status === 403, `GET /admin/users as viewer answered ${status}`);
        const packStatus = await page.evaluate(async () => (await fetch('/api/v1/territories/Toronto/reports/council?from=2021-01-01&to=2021-12-31')).status);
        assert(packStatus === 403, `GET …/reports/council as viewer answered ${packStatus}`);
        await page.goto(`${ctx.demoBase}/#/map`);
        await waitHook(page, () => window.__qalqan?.hotspotsState === 'loaded' && window.__qalqan.cellsDrawn > 0, null, 45_000, 'the viewer map shows no hotspot grid');
        await waitHook(page, () => window.__qalqan?.pointsState === 'forbidden', null, 10_000, 'points not marked forbidden for the viewer');
        assert((await page.locator('[data-testid=toggle-points]').count()) === 0, 'the viewer has a points toggle');
        await waitHook(page, () => window.__qalqan.map.queryRenderedFeatures({ layers: ['cells-fill'] }).length > 0, null, 10_000, 'no grid cell rendered for the viewer');
        await shot('map');
        assert(errors.length === 0, `page errors: ${errors.join(' | ')}`);
      } catch (e) {
        await shot('failure');
        throw e;
      } finally {
        await context.close();
      }
    },
  },
  {
    n: 6,
    name: 'dashboard-compstat-export',
    async run() {
      const { context, page, errors } = await newPage();
      const shot = shooter(page, 6, 'dashboard');
      try {
        await login(page, ctx.demoBase, 'demo', ctx.demoPassword);
        await nav(page, 'dashboard');
        await page.waitForSelector('[data-testid=compstat-table] tbody tr', { timeout: 30_000 });
        const rows = await page.locator('[data-testid=compstat-table] tbody tr').count();
        assert(rows >= 2, `CompStat table has ${rows} rows`);
        const first = await page.innerText('[data-testid=compstat-table] tbody tr:first-child');
        assert(/\d/.test(first), `CompStat first row has no figures: ${first}`);
        await page.waitForSelector('[data-testid=heat-canvas]', { timeout: 30_000 });
        await page.waitForSelector('[data-testid=trend-canvas]', { timeout: 30_000 });
        await page.waitForTimeout(400);
        const drawn = await page.evaluate(() => {
          const distinct = (sel) => {
            const c = document.querySelector(sel);
            if (!c || c.width < 100) return 0;
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            const colors = new Set();
            for (let i = 0; i < d.length; i += 4 * 37) colors.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
            return colors.size;
          };
          return { heat: distinct('[data-testid=heat-canvas]'), trend: distinct('[data-testid=trend-canvas]') };
        });
        assert(drawn.heat > 10, `heat matrix looks empty (${drawn.heat} colours)`);
        assert(drawn.trend > 2, `trend chart looks empty (${drawn.trend} colours)`);
        await shot('loaded');
        const [download] = await Promise.all([page.waitForEvent('download', { timeout: 10_000 }), page.click('[data-testid=compstat] [data-export=csv]')]);
        const file = path.join(OUT, `6-${download.suggestedFilename()}`);
        await download.saveAs(file);
        const csv = readFileSync(file, 'utf8').replace(/^\ufeff/, '');
        const lines = csv.trim().split(/\r?\n/);
        assert(lines[0].includes('week_to_date_current') && lines[0].includes('year_to_date_change_percent'), `CSV header: ${lines[0]}`);
        assert(lines.length === rows + 1, `CSV has ${lines.length - 1} data lines, the table ${rows}`);
        const [png] = await Promise.all([page.waitForEvent('download', { timeout: 10_000 }), page.click('[data-testid=heat] [data-export=png]')]);
        const pngFile = path.join(OUT, `6-${png.suggestedFilename()}`);
        await png.saveAs(pngFile);
        const sig = readFileSync(pngFile).subarray(0, 8).toString('hex');
        assert(sig === '89504e470d0a1a0a', `PNG export is not a PNG (${sig})`);
        assert(errors.length === 0, `page errors: ${errors.join(' | ')}`);
      } catch (e) {
        await shot('failure');
        throw e;
      } finally {
        await context.close();
      }
    },
  },
  {
    n: 7,
    name: 'near-repeat-table',
    async run() {
      const { context, page, errors } = await newPage();
      const shot = shooter(page, 7, 'near-repeat');
      try {
        await login(page, ctx.demoBase, 'demo', ctx.demoPassword);
        await nav(page, 'near-repeat');
        await page.waitForSelector('[data-testid=nr-run]');
        // The last three months of the demo data (the default range), Calculator settings, 99 permutations.
        await page.fill('[data-testid=nr-permutations]', '99');
        await page.click('[data-testid=nr-run]');
        await page.waitForSelector('[data-testid=nr-table]', { timeout: 45_000 });
        const cells = await page.locator('[data-testid^=nr-cell-]').count();
        assert(cells === 20, `Knox table has ${cells} cells, expected 5 × 4`);
        const notable = await page.locator('[data-testid^=nr-cell-][data-notable=true]').count();
        assert(notable >= 1, 'no significant and meaningful cell on Toronto (same location, first week, expected)');
        const first = await page.innerText('[data-testid=nr-cell-0-0]');
        assert(/\d,\d\d/.test(first), `ratio not in Russian number format: ${first}`);
        const summary = await page.innerText('[data-testid=nr-summary]');
        assert(summary.length > 40 && !/near-repeat pattern/i.test(summary), `summary not in Russian: ${summary}`);
        await shot('table');
        const [download] = await Promise.all([page.waitForEvent('download', { timeout: 10_000 }), page.click('[data-testid=nr-export-csv]')]);
        const file = path.join(OUT, `7-${download.suggestedFilename()}`);
        await download.saveAs(file);
        const lines = readFileSync(file, 'utf8').replace(/^\ufeff/, '').trim().split(/\r?\n/);
        assert(lines[0].startsWith('row,column,space,time,observed'), `CSV header: ${lines[0]}`);
        assert(lines.length === 21, `CSV has ${lines.length - 1} cells`);
        assert(errors.length === 0, `page errors: ${errors.join(' | ')}`);
      } catch (e) {
        await shot('failure');
        throw e;
      } finally {
        await context.close();
      }
    },
  },
  {
    n: 8,
    name: 'forecast-map-backtest',
    async run() {
      const { context, page, errors } = await newPage();
      const shot = shooter(page, 8, 'forecast');
      try {
        await login(page, ctx.demoBase, 'demo', ctx.demoPassword);
        await nav(page, 'forecast');
        // The page forecasts once on opening (SEPP, next week, 5 % of the area).
        await waitHook(page, () => window.__qalqan?.forecastState === 'loaded' && window.__qalqan.forecastCells > 0, null, 60_000, 'forecast cells were not drawn');
        await waitHook(page, () => window.__qalqan.map.queryRenderedFeatures({ layers: ['cells-fill'] }).length > 0, null, 10_000, 'no forecast cell is rendered on the map');
        const cells = await page.evaluate(() => window.__qalqan.forecastCells);
        assert(cells > 100, `only ${cells} forecast cells for Toronto at 5 %`);
        const card = await page.innerText('[data-testid=fc-card]');
        assert(/\d/.test(card), `model card has no figures: ${card}`);
        const score = await page.innerText('[data-testid=fc-backtest-score]');
        assert(/%/.test(score), `backtest score missing: ${score}`);
        const districts = await page.locator('[data-testid=fc-districts-table] tbody tr').count();
        assert(districts >= 10, `district share table has ${districts} rows`);
        await shot('map');
        // A short backtest of two models over four weeks.
        await page.fill('[data-testid=bt-from]', '2021-11-27');
        await page.fill('[data-testid=bt-to]', '2021-12-18');
        for (const m of ['rolling-kde', 'prospective']) {
          const box = page.locator(`[data-testid=bt-model-${m}]`);
          if (await box.isChecked()) await box.uncheck();
        }
        await page.click('[data-testid=bt-run]');
        await page.waitForSelector('[data-testid=bt-table] tbody tr', { timeout: 60_000 });
        const rows = await page.locator('[data-testid=bt-table] tbody tr').count();
        assert(rows === 2, `backtest table has ${rows} rows, expected naive and sepp`);
        await page.waitForSelector('[data-testid=bt-chart]');
        await shot('backtest');
        const [download] = await Promise.all([page.waitForEvent('download', { timeout: 10_000 }), page.click('[data-testid=bt-export-csv]')]);
        const file = path.join(OUT, `8-${download.suggestedFilename()}`);
        await download.saveAs(file);
        const lines = readFileSync(file, 'utf8').replace(/^\ufeff/, '').trim().split(/\r?\n/);
        assert(lines.length === 1 + 4 * 2, `backtest CSV has ${lines.length - 1} rows, expected 4 origins × 2 models`);
        assert(errors.length === 0, `page errors: ${errors.join(' | ')}`);
      } catch (e) {
        await shot('failure');
        throw e;
      } finally {
        await context.close();
      }
    },
  },
  {
    n: 9,
    name: 'planning-cameras',
    async run() {
      const { context, page, errors } = await newPage();
      const shot = shooter(page, 9, 'planning');
      try {
        await login(page, ctx.demoBase, 'demo', ctx.demoPassword);
        await nav(page, 'planning');
        await page.waitForSelector('[data-testid=pl-territory]');
        await page.selectOption('[data-testid=pl-territory]', 'Toronto');
        // A register of three cameras on busy Toronto intersections, uploaded by the analyst.
        const register = 'id,lat,lon,bearing,fov,range,owner,link\nE1,43.6561,-79.3802,0,360,60,street,connected\nE2,43.6708,-79.3868,90,120,50,shop,standalone\nE3,43.7000,-79.4000,180,90,40,stop,connected\n';
        const file = path.join(OUT, '9-cameras.csv');
        writeFileSync(file, register);
        await page.setInputFiles('[data-testid=cam-upload-file]', file);
        await page.click('[data-testid=cam-upload-submit]');
        await page.waitForSelector('[data-testid=cam-upload-result]', { timeout: 20_000 });
        const result = await page.innerText('[data-testid=cam-upload-result]');
        assert(/3/.test(result), `upload result: ${result}`);
        await waitHook(page, () => window.__qalqan?.coverageState === 'loaded', null, 45_000, 'camera coverage did not load');
        const headline = await page.innerText('[data-testid=cov-headline]');
        assert(/\d/.test(headline), `coverage headline has no figures: ${headline}`);
        const districts = await page.locator('[data-testid=cov-districts] tbody tr').count();
        assert(districts >= 10, `coverage per district has ${districts} rows`);
        await shot('coverage');
        // The cameras on the map.
        await nav(page, 'map');
        await page.waitForSelector('[data-testid=toggle-cameras]');
        await page.click('[data-testid=toggle-cameras]');
        await waitHook(page, () => window.__qalqan?.camerasDrawn === 3, null, 20_000, 'the three cameras were not drawn');
        await shot('map');
        assert(errors.length === 0, `page errors: ${errors.join(' | ')}`);
      } catch (e) {
        await shot('failure');
        throw e;
      } finally {
        await context.close();
      }
    },
  },
  {
    n: 10,
    name: 'planning-optimiser-helsinki',
    async run() {
      const { context, page, errors } = await newPage();
      const shot = shooter(page, 10, 'optimiser');
      const planHook = () => page.evaluate(() => {
        const q = window.__qalqan ?? {};
        return { planState: q.planState, sitesDrawn: q.sitesDrawn, spotsDrawn: q.spotsDrawn, streetsDrawn: q.streetsDrawn, postsDrawn: q.postsDrawn, scenarios: q.scenarios, saveState: q.saveState };
      });
      const waitPlan = async (what) => {
        try {
          await page.waitForFunction(() => ['loaded', 'error'].includes(window.__qalqan?.planState), null, { timeout: 40_000, polling: 200 });
        } catch {
          throw new Error(`${what}: the plan did not finish (${JSON.stringify(await planHook())})`);
        }
        const st = await planHook();
        if (st.planState !== 'loaded') throw new Error(`${what}: ${await page.locator('[data-testid=opt-error]').innerText().catch(() => st.planState)}`);
      };
      const showMap = async () => {
        await page.evaluate(() => document.querySelector('[data-testid=opt-map]')?.scrollIntoView({ block: 'start' }));
        await page.evaluate(() => window.scrollBy(0, -120));
        await page.waitForTimeout(300);
      };
      const run = async (kind, fill) => {
        await page.selectOption('[data-testid=opt-kind]', kind);
        for (const [id, v] of Object.entries(fill)) await page.fill(`[data-testid=${id}]`, v);
        await page.click('[data-testid=opt-run]');
        await page.waitForFunction(() => window.__qalqan?.planState !== 'loaded', null, { timeout: 5_000, polling: 50 }).catch(() => {});
        await waitPlan(`${kind} plan`);
      };
      try {
        await login(page, ctx.demoBase, 'demo', ctx.demoPassword);
        await nav(page, 'planning');
        await page.waitForSelector('[data-testid=pl-territory]');
        await page.selectOption('[data-testid=pl-territory]', 'Helsinki');
        await page.waitForFunction(() => document.querySelector('[data-testid=cov-context]')?.textContent?.includes('Helsinki') && window.__qalqan?.coverageState === 'loaded', null, { timeout: 45_000, polling: 200 });
        // The coverage table has the street columns (Helsinki has its OpenStreetMap streets).
        const streetCells = await page.locator('[data-testid=cov-districts-table] [data-col=street-km]').count();
        assert(streetCells >= 1, 'the coverage table has no street-kilometre column');
        // The post register: a file with a mobile point lacking its vehicle is refused whole, naming the row.
        await page.selectOption('[data-testid=reg-kind]', 'posts');
        const badPosts = path.join(OUT, '10-posts-bad.csv');
        writeFileSync(badPosts, 'id,kind,lat,lon,hours,vehicle\nE-P1,stationary,60.1699,24.9384,08:00-20:00,\nE-M1,mobile,60.1690,24.9410,20:00-04:00,\n');
        await page.setInputFiles('[data-testid=cam-upload-file]', badPosts);
        await page.click('[data-testid=cam-upload-submit]');
        await page.waitForSelector('[data-testid=cam-rejects]', { timeout: 20_000 });
        const reject = await page.innerText('[data-testid=cam-rejects] tbody tr');
        assert(/3/.test(reject) && /vehicle/.test(reject), `post register reject: ${reject}`);
        const goodPosts = path.join(OUT, '10-posts.csv');
        writeFileSync(goodPosts, 'id,kind,name,lat,lon,hours\nE-P1,stationary,E2E post,60.1699,24.9384,08:00-20:00\n');
        await page.setInputFiles('[data-testid=cam-upload-file]', goodPosts);
        await page.click('[data-testid=cam-upload-submit]');
        await page.waitForSelector('[data-testid=cam-upload-result]', { timeout: 20_000 });
        const uploaded = await page.innerText('[data-testid=cam-upload-result]');
        assert(/1/.test(uploaded), `post register upload: ${uploaded}`);
        // The planning map: the street network and the registered posts.
        await waitHook(page, () => window.__qalqan?.streetsDrawn > 1000 && window.__qalqan?.postsDrawn > 0, null, 20_000, 'the planning map has no streets or posts');
        await waitHook(page, () => window.__qalqan.map.queryRenderedFeatures({ layers: ['streets-line'] }).length > 0, null, 10_000, 'no street is rendered on the planning map');

        // Stationary posts: two budgets, five minutes on foot.
        await run('stationary', { 'opt-k': '2,4', 'opt-minutes': '5', 'opt-time': '3' });
        let rows = await page.locator('[data-testid=opt-table] tbody tr').count();
        assert(rows === 2, `stationary plan: ${rows} rows, expected 2 budgets`);
        const share = await page.innerText('[data-testid=opt-row-0-1] [data-col=share]');
        assert(/\d\s?%/.test(share), `stationary plan: no coverage share in "${share}"`);
        let st = await planHook();
        assert(st.sitesDrawn === 4, `stationary plan: ${st.sitesDrawn} sites drawn, expected 4 (k = 4)`);
        assert((await page.locator('[data-testid=opt-sites] tbody tr').count()) === 4, 'stationary plan: the site list does not have 4 rows');
        await waitHook(page, () => window.__qalqan.map.queryRenderedFeatures({ layers: ['sites-symbol'] }).length > 0, null, 10_000, 'no proposed site is rendered');
        // The smaller budget on the map.
        await page.click('[data-testid=opt-show-0-0]');
        await waitHook(page, () => window.__qalqan?.sitesDrawn === 2, null, 5_000, 'k = 2 was not drawn');
        await showMap();
        await shot('stationary');

        // Mobile points: one plan per shift, with their dosage spots.
        await run('mobile', { 'opt-k': '2', 'opt-minutes': '5', 'opt-time': '2' });
        rows = await page.locator('[data-testid=opt-table] tbody tr').count();
        assert(rows === 3, `mobile plan: ${rows} rows, expected day, evening and night`);
        st = await planHook();
        assert(st.sitesDrawn === 2 && st.spotsDrawn > 0, `mobile plan drawn: ${JSON.stringify(st)}`);
        assert((await page.locator('[data-testid^=opt-dosage-] li').count()) > 0, 'mobile plan: no dosage spots listed');
        await showMap();
        await shot('mobile');

        // New cameras: two budgets of a 50 m range.
        await run('cameras', { 'opt-k': '3,6', 'opt-range': '50', 'opt-time': '3' });
        rows = await page.locator('[data-testid=opt-table] tbody tr').count();
        assert(rows === 2, `camera plan: ${rows} rows, expected 2 budgets`);
        const gain = await page.innerText('[data-testid=opt-row-0-1] [data-col=gain]');
        assert(/\+\d/.test(gain), `camera plan: no gain in "${gain}"`);
        st = await planHook();
        assert(st.sitesDrawn === 6, `camera plan: ${st.sitesDrawn} sites drawn, expected 6`);
        await showMap();
        await shot('cameras');

        // Saved as a scenario, then listed.
        await page.fill('[data-testid=sc-name]', 'E2E: six new cameras');
        await page.click('[data-testid=sc-save]');
        await page.waitForSelector('[data-testid=sc-saved]', { timeout: 30_000 });
        await page.waitForFunction(() => document.querySelector('[data-testid=sc-table]')?.textContent?.includes('E2E: six new cameras'), null, { timeout: 10_000 });
        const row = await page.innerText('[data-testid=sc-table] tbody tr:first-child');
        assert(row.includes('demo') && /k = 6/.test(row), `scenario row: ${row}`);
        await page.locator('[data-testid=sc-section]').scrollIntoViewIfNeeded();
        await shot('scenario-saved');

        // Beats: four inspectors, before and after (the endpoint may be missing on older servers: a message then).
        await page.selectOption('[data-testid=opt-kind]', 'beats');
        await page.fill('[data-testid=opt-n]', '4');
        await page.click('[data-testid=opt-run]');
        await page.waitForFunction(() => ['loaded', 'error'].includes(window.__qalqan?.planState), null, { timeout: 40_000, polling: 200 });
        st = await page.evaluate(() => ({ planState: window.__qalqan.planState, beatsDrawn: window.__qalqan.beatsDrawn }));
        if (st.planState === 'loaded') {
          assert(st.beatsDrawn === 4, `beats: ${st.beatsDrawn} drawn, expected 4`);
          const after = await page.innerText('[data-testid=opt-beats-summary] [data-beat=after]');
          assert(/\d/.test(after), `beats: no imbalance after: ${after}`);
        } else {
          const msg = await page.innerText('[data-testid=opt-error]');
          assert(msg.length > 0, 'beats failed without a message');
        }
        await showMap();
        await shot('beats');

        // The saved scenario shown again from the list.
        await page.locator('[data-testid^=sc-show-]').first().click();
        await page.waitForSelector('[data-testid=opt-from-scenario]');
        await waitHook(page, () => window.__qalqan?.sitesDrawn === 6, null, 5_000, 'the saved scenario was not drawn');

        // The map page: streets and posts layers.
        await nav(page, 'map');
        await page.waitForSelector('[data-testid=toggle-streets]');
        await waitHook(page, () => window.__qalqan?.hotspotsState === 'loaded', null, 45_000, 'the Helsinki map did not load');
        await page.click('[data-testid=toggle-streets]');
        await waitHook(page, () => window.__qalqan?.streetsState === 'loaded' && window.__qalqan.streetsDrawn > 1000, null, 20_000, 'the streets layer was not drawn');
        await page.click('[data-testid=toggle-posts]');
        await waitHook(page, () => window.__qalqan?.postsState === 'loaded' && window.__qalqan.postsDrawn > 0, null, 20_000, 'the posts layer was not drawn');
        await page.click('[data-testid=toggle-gaps]');
        await waitHook(page, () => ['loaded', 'unavailable'].includes(window.__qalqan?.gapsState), null, 45_000, 'the coverage gaps layer did not load');
        await waitHook(
          page,
          () => {
            const m = window.__qalqan.map;
            return m.queryRenderedFeatures({ layers: ['streets-line'] }).length > 0 && m.queryRenderedFeatures({ layers: ['posts-symbol'] }).length > 0;
          },
          null,
          10_000,
          'streets or posts are not rendered on the map',
        );
        assert((await page.locator('[data-testid=posts-legend]').count()) === 1, 'the legend has no posts');
        await shot('map-layers');
        // Beats: drawn with their workload in the legend, or a note when the territory has none.
        await page.click('[data-testid=toggle-beats]');
        await waitHook(page, () => ['loaded', 'unavailable'].includes(window.__qalqan?.beatsState), null, 20_000, 'the beats layer did not load');
        assert(errors.length === 0, `page errors: ${errors.join(' | ')}`);
      } catch (e) {
        await shot('failure');
        throw e;
      } finally {
        await context.close();
      }
    },
  },
  {
    n: 11,
    name: 'coordination-assignment-lifecycle',
    async run() {
      const A = await newPage();
      const B = await newPage();
      const pa = A.page;
      const pb = B.page;
      const shot = shooter(pa, 11, 'controller');
      const shotB = shooter(pb, 11, 'executor');
      const base = ctx.demoBase;
      const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
      const inDays = (n) => iso(new Date(Date.now() + n * 86_400_000));
      const stamp = Date.now().toString(36);
      const agency = ctx.execAgency;
      // Wait for the assignment page to show a status, and check its label.
      const statusIs = async (page, status, label) => {
        await page.waitForSelector(`[data-testid=co-detail][data-status=${status}]`, { timeout: 10_000 });
        const text = (await page.innerText('[data-testid=co-status]')).trim();
        assert(text === label, `status shown "${text}", expected "${label}"`);
      };
      // Opens an assignment afresh (a reload when it is already shown: the hash alone would not change).
      const open = async (page, id) => {
        const url = `${base}/#/coordination?assignment=${id}`;
        if (page.url() === url) await page.reload();
        else await page.goto(url);
        await page.waitForSelector(`[data-testid=co-detail][data-id="${id}"]`, { timeout: 10_000 });
      };
      const create = async ({ text, due, draft }) => {
        await pa.goto(`${base}/#/coordination?tab=new&body=${ctx.coordBody}`);
        await pa.waitForSelector('[data-testid=co-new-form]');
        assert((await pa.inputValue('[data-testid=co-new-body]')) === ctx.coordBody, 'the body asked for is not chosen');
        assert((await pa.inputValue('[data-testid=co-new-meeting]')) !== '', 'the body\'s meeting is not chosen');
        await pa.fill('[data-testid=co-new-item]', '1');
        await pa.fill('[data-testid=co-new-text]', text);
        await pa.fill('[data-testid=co-new-executor]', agency);
        await pa.fill('[data-testid=co-new-date]', due);
        await pa.selectOption('[data-testid=co-new-priority]', 'high');
        assert((await pa.inputValue('[data-testid=co-new-controller]')) === 'demo', 'the controller is not the author by default');
        await pa.click(draft ? '[data-testid=co-new-draft]' : '[data-testid=co-new-issue]');
        await pa.waitForSelector('[data-testid=co-created]', { timeout: 10_000 });
        return Number(await pa.getAttribute('[data-testid=co-detail]', 'data-id'));
      };
      try {
        // ---- The analyst (controller) registers a body and a meeting ----
        await login(pa, base, 'demo', ctx.demoPassword);
        await nav(pa, 'coordination');
        await pa.waitForSelector('[data-testid=co-dash-counts]');
        await pa.click('[data-testid=co-tab-bodies]');
        await pa.waitForSelector('[data-testid=co-body-form]');
        await pa.fill('[data-testid=co-body-name]', `E2E Координационный совет ${stamp}`);
        await pa.selectOption('[data-testid=co-body-kind]', 'coordination_council');
        await pa.fill('[data-testid=co-member-agency-0]', agency);
        await pa.fill('[data-testid=co-member-person-0]', 'Заместитель акима');
        await pa.click('[data-testid=co-member-add]');
        await pa.fill('[data-testid=co-member-agency-1]', 'Demo');
        await pa.click('[data-testid=co-body-submit]');
        await pa.waitForSelector('[data-testid=co-meeting-form]', { timeout: 10_000 });
        ctx.coordBody = new URL(pa.url().replace('#/', '')).searchParams.get('body');
        assert(/^\d+$/.test(ctx.coordBody ?? ''), `no body id in ${pa.url()}`);
        await pa.fill('[data-testid=co-meeting-number]', `E2E-${stamp}`);
        await pa.fill('[data-testid=co-meeting-agenda]', 'О мерах по профилактике правонарушений в тёмное время суток');
        await pa.fill('[data-testid=co-pitem-text-0]', 'Об освещении пешеходных переходов у школ');
        await pa.click('[data-testid=co-pitem-add]');
        await pa.fill('[data-testid=co-pitem-text-1]', 'О патрулировании парков');
        await pa.click('[data-testid=co-meeting-submit]');
        await pa.waitForSelector(`[data-testid=co-meetings] tr[data-meeting="E2E-${stamp}"]`, { timeout: 10_000 });
        // Servers that keep protocol items list them under the meeting.
        const protocol = await pa.evaluate(async (b) => (await (await fetch(`/api/v1/bodies/${b}/meetings`)).json()).meetings[0].items, new URL(pa.url().replace('#/', '')).searchParams.get('body'));
        if (Array.isArray(protocol)) {
          assert(protocol.map((i) => i.number).join() === '1,2', `protocol items ${JSON.stringify(protocol)}`);
          await pa.waitForSelector(`[data-testid=co-meetings] tr[data-meeting="E2E-${stamp}"] [data-testid=co-protocol] li[data-item="2"]`);
        }
        const members = await pa.innerText(`[data-testid=co-bodies] tr[data-body="E2E Координационный совет ${stamp}"]`);
        assert(members.includes(agency) && members.includes('Demo'), `body members: ${members}`);
        await shot('body-meeting');

        // ---- Assignment 1: draft → on execution ----
        const id1 = await create({ text: 'E2E: обеспечить освещение пешеходного перехода у школы № 12', due: inDays(30), draft: true });
        await statusIs(pa, 'draft', 'Черновик');
        await shot('draft');
        await pa.click('[data-testid=co-act-issue]');
        await statusIs(pa, 'on_execution', 'На исполнении');
        const due1 = await pa.innerText('[data-testid=co-due]');

        // ---- The executor asks for more time; the controller refuses ----
        await login(pb, base, 'exec11', ctx.execPassword);
        await pb.waitForSelector('[data-testid=password-form]');
        await pb.fill('[data-testid=pw-current]', ctx.execPassword);
        await pb.fill('[data-testid=pw-new]', 'Exec-New-Pass-2026');
        await pb.fill('[data-testid=pw-repeat]', 'Exec-New-Pass-2026');
        await pb.click('[data-testid=pw-submit]');
        await waitNav(pb, 'coordination');
        await open(pb, id1);
        assert((await pb.locator('[data-testid=co-act-issue], [data-testid=co-review], [data-testid=co-decide]').count()) === 0, 'the executor is offered the controller\'s actions');
        await pb.fill('[data-testid=co-ext-date]', inDays(60));
        await pb.fill('[data-testid=co-ext-reason]', 'Подрядчик не успевает поставить опоры');
        await pb.click('[data-testid=co-ext-submit]');
        await pb.waitForSelector('[data-testid=co-extensions] tr[data-decision=pending]', { timeout: 10_000 });
        assert((await pb.locator('[data-testid=co-ext-form]').count()) === 0, 'a second extension request is offered while one is pending');
        await shotB('extension-asked');
        await open(pa, id1);
        await pa.waitForSelector('[data-testid=co-decide]');
        await pa.fill('[data-testid=co-ext-note]', 'Срок установлен решением совета');
        await pa.click('[data-testid=co-ext-refuse]');
        await pa.waitForSelector('[data-testid=co-extensions] tr[data-decision=refused]', { timeout: 10_000 });
        assert((await pa.innerText('[data-testid=co-due]')) === due1, 'the due date changed although the extension was refused');
        await statusIs(pa, 'on_execution', 'На исполнении');

        // ---- The executor reports with an attachment; the controller returns it ----
        const attachment = path.join(tempDir('qalqan-e2e-report-'), 'акт-осмотра.txt');
        writeFileSync(attachment, 'Акт осмотра: опоры освещения установлены, 4 светильника.\n');
        await open(pb, id1);
        await pb.fill('[data-testid=co-report-text]', 'Установлены 4 светильника, акт осмотра прилагается.');
        await pb.setInputFiles('[data-testid=co-report-files]', attachment);
        await pb.click('[data-testid=co-report-submit]');
        await statusIs(pb, 'report_submitted', 'Отчёт представлен');
        await pb.waitForSelector('[data-testid=co-attachment]');
        await shotB('reported');
        await open(pa, id1);
        await pa.waitForSelector('[data-testid=co-review]');
        await pa.click('[data-testid=co-act-return]');
        await pa.waitForSelector('[data-testid=co-error]');
        await pa.fill('[data-testid=co-review-note]', 'Нет фотографий; приложите фотофиксацию');
        await pa.click('[data-testid=co-act-return]');
        await statusIs(pa, 'returned', 'Возвращено на доработку');
        const link = await pa.getAttribute('[data-testid=co-attachment]', 'href');
        const body = await pa.evaluate(async (u) => (await fetch(u)).text(), link);
        assert(body.startsWith('Акт осмотра'), `the attachment downloads as "${body.slice(0, 40)}"`);

        // ---- The executor reports again; the controller accepts ----
        await open(pb, id1);
        await pb.fill('[data-testid=co-report-text]', 'Фотофиксация приложена в системе видеонаблюдения, светильники работают.');
        await pb.click('[data-testid=co-report-submit]');
        await statusIs(pb, 'report_submitted', 'Отчёт представлен');
        await open(pa, id1);
        await pa.click('[data-testid=co-act-accept]');
        await statusIs(pa, 'accepted', 'Исполнено, снято с контроля');
        const actions = await pa.locator('[data-testid=co-events] tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-action')));
        const want = ['create', 'issue', 'extension_request', 'extension_refused', 'submit_report', 'return', 'submit_report', 'accept'];
        assert(JSON.stringify(actions) === JSON.stringify(want), `history ${JSON.stringify(actions)}, expected ${JSON.stringify(want)}`);
        const who = await pa.locator('[data-testid=co-events] tbody tr td:nth-child(2)').allInnerTexts();
        assert(who[2] === 'exec11' && who[3] === 'demo', `history actors ${JSON.stringify(who)}`);
        assert((await pa.locator('[data-testid=co-reports] > li').count()) === 2, 'the two reports are not listed');
        assert((await pa.locator('[data-testid=co-no-actions]').count()) === 1, 'actions are offered on an accepted assignment');
        await pa.locator('[data-testid=co-history]').scrollIntoViewIfNeeded();
        await shot('accepted-history');

        // ---- Assignment 2: past its due date → overdue, escalated to the controller's bell ----
        const id2 = await create({ text: 'E2E: представить план патрулирования парков', due: inDays(-3), draft: false });
        await statusIs(pa, 'on_execution', 'На исполнении');
        await pa.waitForSelector('[data-testid=co-overdue]');
        await pa.goto(`${base}/#/coordination?tab=list&overdue=1`);
        await pa.waitForSelector(`[data-testid=co-table] tr[data-id="${id2}"]`);
        const cls = await pa.getAttribute(`[data-testid=co-table] tr[data-id="${id2}"]`, 'class');
        assert(/overdue/.test(cls ?? ''), `the overdue row is not highlighted (class "${cls}")`);
        assert((await pa.locator(`[data-testid=co-table] tr[data-id="${id1}"]`).count()) === 0, 'the accepted assignment is listed as overdue');
        const late = await pa.innerText(`[data-testid=co-table] tr[data-id="${id2}"]`);
        assert(/просрочено на 3 дня/.test(late), `the overdue row says: ${late}`);
        await shot('overdue-list');
        const before = Number(await pa.getAttribute('[data-testid=bell]', 'data-unread'));
        const out = await runQalqan(['--data-dir', ctx.demoDir, 'notify', 'run']);
        assert(/new notification/.test(out), `notify run: ${out}`);
        await pa.goto(`${base}/#/coordination?tab=dashboard`);
        await pa.waitForSelector('[data-testid=co-dash-counts]');
        await pa.waitForFunction((n) => Number(document.querySelector('[data-testid=bell]')?.getAttribute('data-unread')) > n, before, { timeout: 10_000 });
        const overdue = await pa.innerText('[data-testid=co-dash-counts] [data-count=overdue] b');
        assert(Number(overdue) >= 1, `dashboard overdue: ${overdue}`);
        await shot('bell');
        await pa.click('[data-testid=bell]');
        const row = `[data-testid=ntf-table] tr[data-assignment="${id2}"][data-kind=overdue]`;
        await pa.waitForSelector(row);
        const ntext = await pa.innerText(row);
        assert(ntext.includes(`№ ${id2}`) && /просрочено/.test(ntext), `notification: ${ntext}`);
        await shot('notifications');
        await pa.waitForFunction(() => Number(document.querySelector('[data-testid=bell]')?.getAttribute('data-unread')) > 0, null, { timeout: 10_000 });
        const unread = Number(await pa.getAttribute('[data-testid=bell]', 'data-unread'));
        await pa.click(`${row} button`);
        await pa.waitForFunction((n) => Number(document.querySelector('[data-testid=bell]')?.getAttribute('data-unread')) === n - 1, unread, { timeout: 10_000 });
        await pa.click(`${row} a`);
        await pa.waitForSelector(`[data-testid=co-detail][data-id="${id2}"]`);
        // The executing agency was told too.
        await pb.goto(`${base}/#/notifications`);
        await pb.waitForSelector(row);

        // ---- Assignment 3: cancelled ----
        const id3 = await create({ text: 'E2E: поручение, выданное по ошибке', due: inDays(10), draft: false });
        await statusIs(pa, 'on_execution', 'На исполнении');
        await pa.fill('[data-testid=co-act-note]', 'Выдано ошибочно');
        await pa.click('[data-testid=co-act-cancel]');
        await statusIs(pa, 'cancelled', 'Отменено');
        const last = await pa.locator('[data-testid=co-events] tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-action')));
        assert(JSON.stringify(last) === JSON.stringify(['create', 'cancel']), `cancelled history ${JSON.stringify(last)}`);
        // The executor cannot act on it any more, and the server says why when asked anyway.
        await open(pb, id3);
        assert((await pb.locator('[data-testid=co-report-form]').count()) === 0, 'the executor may still report on a cancelled assignment');
        const refused = await pb.evaluate(async (id) => {
          const me = await (await fetch('/api/v1/auth/me')).json();
          const r = await fetch(`/api/v1/assignments/${id}/actions`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token }, body: JSON.stringify({ action: 'issue' }) });
          return r.status;
        }, id3);
        assert(refused === 403, `issuing as the executor answered ${refused}`);
        await shot('cancelled');
        assert(A.errors.length === 0 && B.errors.length === 0, `page errors: ${[...A.errors, ...B.errors].join(' | ')}`);
      } catch (e) {
        await shot('failure');
        await shotB('failure');
        throw e;
      } finally {
        await A.context.close();
        await B.context.close();
      }
    },
  },
  {
    n: 12,
    name: 'facilities-threat-level-checklist',
    async run() {
      const A = await newPage();
      const C = await newPage();
      const pa = A.page;
      const pc = C.page;
      const shot = shooter(pa, 12, 'analyst');
      const shotC = shooter(pc, 12, 'commander');
      const base = ctx.demoBase;
      try {
        await login(pa, base, 'demo', ctx.demoPassword);
        await waitNav(pa, 'facilities');
        // A body for the inspection's assignments (an anti-terrorism commission).
        await pa.goto(`${base}/#/coordination?tab=bodies`);
        await pa.waitForSelector('[data-testid=co-body-form]');
        await pa.fill('[data-testid=co-body-name]', `E2E АТК ${Date.now().toString(36)}`);
        await pa.selectOption('[data-testid=co-body-kind]', 'antiterrorist_commission');
        await pa.click('[data-testid=co-body-submit]');
        await pa.waitForSelector('[data-testid=co-meeting-form]', { timeout: 10_000 });
        // The register of Astana: two facilities of the test's own.
        await pa.goto(`${base}/#/facilities?tab=register&territory=Astana`);
        await pa.waitForSelector('[data-testid=fac-upload-form]');
        const csv = path.join(tempDir('qalqan-e2e-fac-'), 'facilities.csv');
        writeFileSync(
          csv,
          'id,name,category,owner,lat,lon,passport,passport_valid_until,equipment\n' +
            'E2E-F1,Вокзал Нұрлы Жол (E2E),railway_station,E2E KTZ,51.1934,71.4096,17,2030-01-01,video;video_connected;alarm\n' +
            'E2E-F2,Аэропорт (E2E),airport,E2E Airport,51.0222,71.4669,,,video\n',
        );
        await pa.setInputFiles('[data-testid=fac-upload-file]', csv);
        await pa.click('[data-testid=fac-upload-submit]');
        await pa.waitForSelector('[data-testid=fac-upload-result]', { timeout: 15_000 });
        await pa.waitForSelector('[data-testid=fac-table] tr[data-facility=E2E-F1]');
        const connected = await pa.innerText('[data-testid=fac-table] tr[data-facility=E2E-F1] [data-col=video-connected]');
        assert(connected === 'да', `video connected shown as "${connected}"`);
        // An inspection of the airport: its finding becomes an assignment.
        await pa.click('[data-testid=fac-insp-E2E-F2]');
        await pa.waitForSelector('[data-testid=insp-form]');
        await pa.fill('[data-testid=insp-finding-0]', 'Нет антитеррористического паспорта: разработать и согласовать');
        await pa.fill('[data-testid=insp-days-0]', '45');
        await pa.click('[data-testid=insp-submit]');
        await pa.waitForSelector('[data-testid=insp-done] a', { timeout: 10_000 });
        await pa.waitForSelector('[data-testid=fac-inspections] tbody tr');
        await shot('register-inspection');
        // The measures table: filled if empty (the checklist is generated from it).
        await pa.click('[data-testid=fac-tab-measures]');
        await pa.waitForSelector('[data-testid=meas-form]');
        if ((await pa.locator('[data-testid=meas-table] tbody tr').count()) === 0) {
          await pa.fill(
            '[data-testid=meas-csv]',
            'category,level,code,text\npolice,yellow,briefing,Проинструктировать наряды\nrailway_station,yellow,access_check,Проверить служебные входы\nairport,yellow,access_check,Проверить служебные входы\n',
          );
          await pa.click('[data-testid=meas-save]');
          await pa.waitForSelector('[data-testid=meas-saved]', { timeout: 10_000 });
        }
        assert((await pa.locator('[data-testid=meas-table] tbody tr').count()) >= 3, 'the measures table is empty');
        // The analyst may not declare a level.
        await pa.click('[data-testid=fac-tab-levels]');
        await pa.waitForSelector('[data-testid=thr-banner]');
        assert((await pa.locator('[data-testid=thr-declare-form]').count()) === 0, 'the analyst is offered the declaration form');

        // ---- The commander declares a yellow level and works through the checklist ----
        await login(pc, base, 'cmd12', ctx.commanderPassword);
        await pc.waitForSelector('[data-testid=password-form]');
        await pc.fill('[data-testid=pw-current]', ctx.commanderPassword);
        await pc.fill('[data-testid=pw-new]', 'Commander-New-2026');
        await pc.fill('[data-testid=pw-repeat]', 'Commander-New-2026');
        await pc.click('[data-testid=pw-submit]');
        await waitNav(pc, 'facilities');
        await pc.goto(`${base}/#/facilities?tab=levels&territory=Astana`);
        await pc.waitForSelector('[data-testid=thr-declare-form]');
        // A level already in force (the demo may ship one) is lifted first.
        const inForce = pc.locator('[data-testid=thr-history] tr[data-state=in_force] [data-testid^=thr-lift-]');
        if (await inForce.count()) {
          await inForce.first().click();
          await pc.waitForSelector('[data-testid=thr-banner][data-level=none]', { timeout: 10_000 });
        }
        await pc.selectOption('[data-testid=thr-level]', 'yellow');
        await pc.fill('[data-testid=thr-reason]', 'E2E: командно-штабные учения');
        await pc.click('[data-testid=thr-declare]');
        await pc.waitForSelector('[data-testid=thr-declared]', { timeout: 10_000 });
        await pc.waitForSelector('[data-testid=thr-banner][data-level=yellow]');
        const banner = await pc.innerText('[data-testid=thr-banner]');
        assert(/жёлтый/.test(banner) && banner.includes('Astana'), `banner: ${banner}`);
        await pc.waitForSelector('[data-testid=thr-items] tbody tr');
        const police = await pc.locator('[data-testid=thr-items] tbody tr', { hasText: 'Подразделения полиции' }).count();
        const station = await pc.locator('[data-testid=thr-items] tbody tr', { hasText: 'E2E-F1' }).count();
        assert(police >= 1 && station >= 1, `checklist items: police ${police}, station ${station}`);
        const readiness0 = await pc.innerText('[data-testid=thr-readiness]');
        assert(/^0\s?%$/.test(readiness0), `readiness at the start: ${readiness0}`);
        const first = pc.locator('[data-testid=thr-items] tbody tr[data-done=false]', { hasText: 'E2E-F1' }).first();
        const item = await first.getAttribute('data-item');
        await pc.fill(`[data-testid=thr-note-${item}]`, 'Проверено дежурным');
        await pc.click(`[data-testid=thr-done-${item}]`);
        await pc.waitForSelector(`[data-testid=thr-items] tr[data-item="${item}"][data-done=true]`, { timeout: 10_000 });
        const readiness = await pc.innerText('[data-testid=thr-readiness]');
        assert(readiness !== readiness0, `readiness after one item: ${readiness}`);
        const stationDone = await pc.innerText('[data-testid=thr-by-category] tr[data-key=railway_station] td:nth-of-type(2)');
        assert(stationDone === '1', `railway stations: ${stationDone} item(s) done, expected 1`);
        await shotC('yellow-checklist');
        // Extend, then lift.
        const row = pc.locator('[data-testid=thr-history] tr[data-state=in_force]');
        const id = await row.getAttribute('data-id');
        await pc.fill(`[data-testid=thr-extend-date-${id}]`, '2099-12-31');
        await pc.click(`[data-testid=thr-extend-${id}]`);
        await pc.waitForFunction(() => /2099/.test(document.querySelector('[data-testid=thr-banner]')?.textContent ?? ''), null, { timeout: 10_000 });
        await pc.click(`[data-testid=thr-lift-${id}]`);
        await pc.waitForSelector('[data-testid=thr-banner][data-level=none]', { timeout: 10_000 });
        await pc.waitForSelector(`[data-testid=thr-history] tr[data-id="${id}"][data-state=lifted]`);
        await shotC('lifted');
        assert(A.errors.length === 0 && C.errors.length === 0, `page errors: ${[...A.errors, ...C.errors].join(' | ')}`);
      } catch (e) {
        await shot('failure');
        await shotC('failure');
        throw e;
      } finally {
        await A.context.close();
        await C.context.close();
      }
    },
  },
  {
    n: 13,
    name: 'risk-terrain-helsinki',
    async run() {
      const { context, page, errors } = await newPage();
      const shot = shooter(page, 13, 'risk-terrain');
      const state = () => page.evaluate(() => ({ rtState: window.__qalqan?.rtState, rtCells: window.__qalqan?.rtCells, rtFactors: window.__qalqan?.rtFactors }));
      try {
        await login(page, ctx.demoBase, 'demo', ctx.demoPassword);
        await nav(page, 'risk-terrain');
        await page.waitForSelector('[data-testid=rt-run]');
        await page.selectOption('[data-testid=rt-territory]', 'Helsinki');
        // Its whole data period, 50 m cells; five kinds of places typed in (all of them take long on a debug build).
        await page.fill('[data-testid=rt-from]', '2023-01-01');
        await page.fill('[data-testid=rt-to]', '2025-01-31');
        await page.fill('[data-testid=rt-cell]', '50');
        await page.fill('[data-testid=rt-factors-extra]', 'bar, pub, fast_food, shop, transit_stop');
        await page.click('[data-testid=rt-run]');
        // Busy: the button is disabled (no second request) and the elapsed time shows.
        await page.waitForSelector('[data-testid=rt-busy]', { timeout: 5_000 });
        assert(await page.isDisabled('[data-testid=rt-run]'), 'the run button stays enabled while the model is fitted');
        await shot('busy');
        try {
          await page.waitForFunction(() => ['loaded', 'error'].includes(window.__qalqan?.rtState), null, { timeout: 45_000, polling: 250 });
        } catch {
          throw new Error(`the risk terrain did not finish (${JSON.stringify(await state())})`);
        }
        const st = await state();
        if (st.rtState !== 'loaded') throw new Error(`risk terrain failed: ${await page.locator('[data-testid=rt-summary]').innerText().catch(() => '?')}`);
        assert(!(await page.isDisabled('[data-testid=rt-run]')), 'the run button is still disabled');
        const rows = await page.locator('[data-testid=rt-table] tbody tr').count();
        assert(rows >= 1 && st.rtFactors === rows, `factor table has ${rows} rows (hook ${st.rtFactors})`);
        const first = await page.innerText('[data-testid=rt-table] tbody tr:first-child');
        assert(/\d,\d\d/.test(first) && /в радиусе|плотность/.test(first), `first factor row not in Russian: ${first}`);
        const names = await page.locator('[data-testid=rt-table] tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-factor')));
        assert(names.every((f) => ['bar', 'pub', 'fast_food', 'shop', 'transit_stop'].includes(f)), `factors outside those asked for: ${names.join(', ')}`);
        const fit = await page.innerText('[data-testid=rt-fit]');
        assert(/девиансы/.test(fit) && /%/.test(fit), `fit summary: ${fit}`);
        // The forest plots are drawn.
        const inked = await page.evaluate(() => {
          const c = document.querySelector('canvas.rt-forest');
          if (!c || c.width < 50) return 0;
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          let n = 0;
          for (let i = 0; i < d.length; i += 4) if (d[i] < 200 || d[i + 1] < 200) n++;
          return n;
        });
        assert(inked > 20, `forest plot looks empty (${inked} dark pixels)`);
        // The composite risk map.
        assert(st.rtCells > 0, `no risk cells drawn (${JSON.stringify(st)})`);
        await waitHook(page, () => window.__qalqan.map.queryRenderedFeatures({ layers: ['risk-fill'] }).length > 0, null, 10_000, 'no risk cell is rendered on the map');
        const legendRows = await page.locator('[data-testid=rt-legend] .legend-row').count();
        assert(legendRows >= 2, `risk legend has ${legendRows} rows`);
        const pt = await page.evaluate(() => {
          const m = window.__qalqan.map;
          const f = m.queryRenderedFeatures({ layers: ['risk-fill'] }).sort((a, b) => Number(b.properties.risk) - Number(a.properties.risk))[0];
          const ring = f.geometry.coordinates[0];
          const cx = ring.slice(0, -1).reduce((a, c) => a + c[0], 0) / (ring.length - 1);
          const cy = ring.slice(0, -1).reduce((a, c) => a + c[1], 0) / (ring.length - 1);
          const p = m.project([cx, cy]);
          const r = m.getCanvas().getBoundingClientRect();
          return { x: r.left + p.x, y: r.top + p.y };
        });
        await page.mouse.click(pt.x, pt.y);
        await page.waitForSelector('[data-testid=rt-popup] [data-prop=risk]', { timeout: 5_000 });
        await shot('ru');
        // CSV of the factor table.
        const [download] = await Promise.all([page.waitForEvent('download', { timeout: 10_000 }), page.click('[data-testid=rt-export-csv]')]);
        const file = path.join(OUT, `13-${download.suggestedFilename()}`);
        await download.saveAs(file);
        const lines = readFileSync(file, 'utf8').replace(/^\ufeff/, '').trim().split(/\r?\n/);
        assert(lines[0].startsWith('factor,name,operationalisation,bandwidth_m,relative_risk'), `CSV header: ${lines[0]}`);
        assert(lines.length === rows + 1, `CSV has ${lines.length - 1} factors, the table ${rows}`);
        // The same result in Kazakh and English (no new request: the page keeps it).
        for (const [lang, re] of [['kk', /радиуста|тығыздық/], ['en', /within|density/]]) {
          await page.selectOption('[data-testid=lang]', lang);
          await page.waitForSelector('[data-testid=rt-table] tbody tr', { timeout: 10_000 });
          const row = await page.innerText('[data-testid=rt-table] tbody tr:first-child');
          assert(re.test(row), `${lang}: first factor row ${row}`);
          await waitHook(page, () => window.__qalqan?.rtState === 'loaded' && window.__qalqan.rtCells > 0, null, 10_000, `${lang}: the map was not drawn again`);
          await page.waitForTimeout(300);
          await shot(lang);
        }
        await page.selectOption('[data-testid=lang]', 'ru');
        assert(errors.length === 0, `page errors: ${errors.join(' | ')}`);
      } catch (e) {
        await shot('failure');
        throw e;
      } finally {
        await context.close();
      }
    },
  },
  {
    n: 14,
    name: 'evaluation-toronto',
    async run() {
      const { context, page, errors } = await newPage();
      const shot = shooter(page, 14, 'evaluation');
      const base = ctx.demoBase;
      const stamp = Date.now().toString(36);
      const evState = () => page.evaluate(() => ({ evState: window.__qalqan?.evState, rings: window.__qalqan?.ringsDrawn, measures: window.__qalqan?.interventions }));
      const waitEvaluated = async (what) => {
        try {
          await page.waitForFunction(() => ['loaded', 'error'].includes(window.__qalqan?.evState), null, { timeout: 20_000, polling: 200 });
        } catch {
          throw new Error(`${what}: the evaluation did not finish (${JSON.stringify(await evState())})`);
        }
        return (await evState()).evState;
      };
      try {
        // A measure starting after the data end (the server refuses to evaluate it), recorded with the CLI.
        await runQalqan(['--data-dir', ctx.demoDir, 'intervention', 'add', '--territory', 'Toronto', '--name', `E2E later ${stamp}`, '--kind', 'post', '--start', '2030-01-01', '--at', '43.6453,-79.3806', '--radius', '150']);
        await login(page, base, 'demo', ctx.demoPassword);
        await waitNav(page, 'evaluation');
        await page.goto(`${base}/#/evaluation?territory=Toronto`);
        await page.waitForSelector('[data-testid=ev-new-form]');
        await page.waitForSelector('[data-testid=ev-table]');
        await waitHook(page, () => !!window.__qalqan?.map?.isStyleLoaded(), null, 10_000, 'the evaluation map did not load');
        // Clicking the map sets the centre of the new measure.
        const box = await page.locator('[data-testid=ev-map]').boundingBox();
        await page.mouse.click(box.x + box.width * 0.45, box.y + box.height * 0.55);
        await page.waitForFunction(() => document.querySelector('[data-testid=ev-new-lat]')?.value !== '', null, { timeout: 5_000 });
        const lat = Number(await page.inputValue('[data-testid=ev-new-lat]'));
        assert(lat > 43 && lat < 44.5, `the map click set latitude ${lat}`);
        // Incomplete: the form says what is missing.
        await page.click('[data-testid=ev-new-submit]');
        await page.waitForSelector('[data-testid=ev-new-error]');
        // Cameras at Yonge-Dundas Square from 1 June 2019, 200 m: the exact centre typed in.
        const name = `E2E Камеры Yonge-Dundas ${stamp}`;
        await page.fill('[data-testid=ev-new-name]', name);
        await page.selectOption('[data-testid=ev-new-kind]', 'camera_cluster');
        await page.fill('[data-testid=ev-new-start]', '2019-06-01');
        await page.fill('[data-testid=ev-new-lat]', '43.6561');
        await page.fill('[data-testid=ev-new-lon]', '-79.3802');
        await page.fill('[data-testid=ev-new-radius]', '200');
        await page.fill('[data-testid=ev-new-note]', 'E2E: видеонаблюдение на площади');
        await page.click('[data-testid=ev-new-submit]');
        await page.waitForSelector('[data-testid=ev-new-done]', { timeout: 10_000 });
        // The new measure is listed, chosen and evaluated at once.
        await page.waitForSelector(`[data-testid=ev-table] tr[aria-current=true]:has-text("${name}")`, { timeout: 10_000 });
        assert((await waitEvaluated('new measure')) === 'loaded', `evaluation failed: ${await page.locator('[data-testid=ev-error]').innerText().catch(() => '?')}`);
        const verdict = await page.getAttribute('[data-testid=ev-verdict] [data-verdict]', 'data-verdict');
        assert(['reduction', 'increase', 'no_evidence', 'not_estimable'].includes(verdict ?? ''), `verdict code ${verdict}`);
        const sentence = await page.innerText('[data-testid=ev-target-sentence]');
        assert(/^В целевой зоне/.test(sentence) && /интервал|оценить/.test(sentence) && !/comparison area/.test(sentence), `target sentence: ${sentence}`);
        assert((await page.locator('[data-testid=ev-buffer-sentence]').count()) === 1, 'no buffer sentence');
        const counts = await page.locator('[data-testid=ev-counts] tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-area'), tr.querySelector('[data-col=before]').textContent, tr.querySelector('[data-col=after]').textContent]));
        assert(JSON.stringify(counts.map((c) => c[0])) === '["target","buffer","control"]', `counts rows ${JSON.stringify(counts)}`);
        assert(counts.every((c) => /^\d/.test(c[1].trim()) && /^\d/.test(c[2].trim())), `counts ${JSON.stringify(counts)}`);
        const control = Number(counts[2][1].replace(/\D/g, ''));
        assert(control > 100, `the control ring before the start holds ${control} incidents`);
        const wdq = await page.innerText('[data-testid=ev-wdq-sentence]');
        assert(wdq.length > 20, `WDQ explanation: ${wdq}`);
        // The chart of the weekly series, and the three rings on the map.
        await page.waitForTimeout(300);
        const colours = await page.evaluate(() => {
          const c = document.querySelector('[data-testid=ev-chart]');
          if (!c || c.width < 100) return 0;
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          const set = new Set();
          for (let i = 0; i < d.length; i += 4 * 13) set.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
          return set.size;
        });
        assert(colours > 5, `the series chart looks empty (${colours} colours)`);
        const st = await evState();
        assert(st.rings === 3, `rings drawn: ${st.rings}`);
        await waitHook(page, () => window.__qalqan.map.queryRenderedFeatures({ layers: ['areas-fill'] }).length > 0, null, 10_000, 'the rings are not rendered on the map');
        await shot('ru-map');
        const showResults = () => page.evaluate(() => document.querySelector('[data-testid=ev-section]')?.scrollIntoView({ block: 'start' }));
        await showResults();
        await shot('ru');
        // Months instead of weeks.
        await page.selectOption('[data-testid=ev-period]', 'month');
        await page.click('[data-testid=ev-run]');
        await page.waitForFunction(() => window.__qalqan?.evState === 'loading', null, { timeout: 5_000, polling: 50 }).catch(() => {});
        assert((await waitEvaluated('monthly')) === 'loaded', 'the monthly evaluation failed');
        assert(/месяцам/.test(await page.innerText('[data-testid=ev-chart-panel]')), 'the chart is not monthly');
        // Kazakh and English: the verdict built in the language.
        for (const [lang, re] of [['kk', /^Нысаналы аймақта/], ['en', /^In the target area/]]) {
          await page.selectOption('[data-testid=lang]', lang);
          await page.waitForFunction(() => window.__qalqan?.evState === 'loaded' && document.querySelector('[data-testid=ev-target-sentence]'), null, { timeout: 20_000, polling: 200 });
          const s2 = await page.innerText('[data-testid=ev-target-sentence]');
          assert(re.test(s2), `${lang}: target sentence ${s2}`);
          await page.waitForTimeout(300);
          await showResults();
          await shot(lang);
        }
        await page.selectOption('[data-testid=lang]', 'ru');
        // The measure without data after its start: the server's reason is shown.
        await page.waitForSelector('[data-testid=ev-table]');
        const laterRow = page.locator('[data-testid=ev-table] tr', { hasText: `E2E later ${stamp}` });
        await laterRow.locator('button').click();
        assert((await waitEvaluated('later measure')) === 'error', 'a measure starting after the data was evaluated');
        const err = await page.innerText('[data-testid=ev-error]');
        assert(/Оценка невозможна/.test(err) && /the data (end|do not cover)/.test(err), `error shown: ${err}`);
        await showResults();
        await shot('too-short');
        assert(errors.length === 0, `page errors: ${errors.join(' | ')}`);
      } catch (e) {
        await shot('failure');
        throw e;
      } finally {
        await context.close();
      }
    },
  },
  {
    n: 15,
    name: 'council-pack',
    async run() {
      const { context, page, errors } = await newPage();
      const shot = shooter(page, 15, 'reports');
      try {
        await login(page, ctx.demoBase, 'demo', ctx.demoPassword);
        await waitNav(page, 'reports');
        // The group menu: a disclosure button; Escape closes it (the focus back on the button), so does a click outside.
        const group = page.locator('[data-nav-group=coordination]');
        const expanded = () => group.getAttribute('aria-expanded');
        await group.focus();
        await page.keyboard.press('Enter');
        assert((await expanded()) === 'true' && (await page.locator('[data-nav=reports]').isVisible()), 'Enter did not open the coordination menu');
        await page.keyboard.press('ArrowDown');
        assert((await page.evaluate(() => document.activeElement?.getAttribute('data-nav'))) === 'coordination', 'ArrowDown did not focus the first link of the menu');
        await page.keyboard.press('Escape');
        assert((await expanded()) === 'false', 'Escape did not close the menu');
        assert((await page.evaluate(() => document.activeElement?.getAttribute('data-nav-group'))) === 'coordination', 'the focus did not return to the menu button');
        await group.click();
        assert((await expanded()) === 'true', 'a click did not open the menu');
        await page.mouse.click(900, 500);
        assert((await expanded()) === 'false', 'a click outside did not close the menu');
        // The page through the menu; its group is marked as the current one.
        await nav(page, 'reports');
        await page.waitForSelector('[data-testid=rep-form]');
        assert((await page.locator('.nav-group.active[data-group=coordination]').count()) === 1, 'the coordination group is not marked current');
        assert((await page.getAttribute('[data-nav=reports]', 'aria-current')) === 'page', 'the reports link is not aria-current');
        const intro = await page.innerText('[data-testid=rep-intro]');
        assert(/CompStat/.test(intro) && /воспроизводим/.test(intro), `intro: ${intro}`);
        // Astana, the last 12 whole months (the default, and its button), Kazakh, PDF.
        await page.selectOption('[data-testid=rep-territory]', 'Astana');
        await page.click('[data-testid=rep-preset-quarter]');
        await page.click('[data-testid=rep-preset-last12]');
        const now = new Date();
        const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
        const want = { from: iso(new Date(now.getFullYear() - 1, now.getMonth(), 1)), to: iso(new Date(now.getFullYear(), now.getMonth(), 0)) };
        const period = { from: await page.inputValue('[data-testid=rep-from]'), to: await page.inputValue('[data-testid=rep-to]') };
        assert(JSON.stringify(period) === JSON.stringify(want), `period ${JSON.stringify(period)}, expected ${JSON.stringify(want)}`);
        assert((await page.getAttribute('[data-testid=rep-preset-last12]', 'aria-pressed')) === 'true', 'the last-12-months button is not pressed');
        await page.selectOption('[data-testid=rep-lang]', 'kk');
        await page.check('[data-testid=rep-format-pdf]');
        const produce = async (ext) => {
          const [download] = await Promise.all([page.waitForEvent('download', { timeout: 25_000 }), page.click('[data-testid=rep-generate]')]);
          const name = download.suggestedFilename();
          assert(name.endsWith(`.${ext}`), `the ${ext} pack was saved as "${name}"`);
          const file = path.join(OUT, `15-${name}`);
          await download.saveAs(file);
          await page.waitForSelector(`[data-testid=rep-result][data-format=${ext}]`, { timeout: 10_000 });
          return { name, bytes: readFileSync(file) };
        };
        const pdf = await produce('pdf');
        assert(pdf.bytes.subarray(0, 5).toString('latin1') === '%PDF-', `the PDF starts with ${JSON.stringify(pdf.bytes.subarray(0, 8).toString('latin1'))}`);
        assert(pdf.bytes.length > 50_000, `the PDF has only ${pdf.bytes.length} bytes`);
        assert(/Astana/.test(pdf.name) && /-kk\.pdf$/.test(pdf.name), `PDF file name ${pdf.name}`);
        await shot('pdf-kk');
        // HTML in English: saved too, and offered to open.
        await page.selectOption('[data-testid=rep-lang]', 'en');
        await page.check('[data-testid=rep-format-html]');
        const html = await produce('html');
        const text = html.bytes.toString('utf8');
        assert(text.includes('lang="en"') && text.includes('<svg'), `the HTML pack (${html.bytes.length} bytes) lacks lang="en" or <svg`);
        assert((await page.locator('[data-testid=rep-open]').count()) === 1, 'no "open" link for the HTML pack');
        await shot('html-en');
        assert(errors.length === 0, `page errors: ${errors.join(' | ')}`);
      } catch (e) {
        await shot('failure');
        throw e;
      } finally {
        await context.close();
      }
    },
  },
  {
    n: 16,
    name: 'public-open-data',
    async run() {
      // A new browser context that never logs in: no cookie at all.
      const { context, page, errors } = await newPage();
      const shot = shooter(page, 16, 'public');
      try {
        const apiCalls = [];
        page.on('request', (r) => {
          const u = new URL(r.url());
          if (u.pathname.startsWith('/api/')) apiCalls.push(u.pathname);
        });
        const loaded = (territory) =>
          waitHook(page, (t) => window.__qalqan?.publicState === 'loaded' && window.__qalqan.publicTerritory === t, territory, 20_000, `the public figures of ${territory} were not shown`);
        /** Runs an action that draws the page anew and waits for its figures (the old hook is marked stale first). */
        const redraw = async (action, territory) => {
          await page.evaluate(() => window.__qalqan && (window.__qalqan.publicState = 'stale'));
          await action();
          await loaded(territory);
        };
        /** Every count of the tables and figures: numbers are 0 or ≥ 5, the rest is the word for "withheld" (with its tooltip). */
        const checkCounts = async (word) => {
          const cells = await page.evaluate(() =>
            [...document.querySelectorAll('[data-testid$=-table] td.num, .pub-figure-value')].map((td) => ({
              text: td.textContent.trim(),
              withheld: !!td.querySelector('[data-withheld]'),
              tip: td.querySelector('[data-withheld]')?.getAttribute('title') ?? '',
            })),
          );
          assert(cells.length > 3, `only ${cells.length} counts on the page`);
          let withheld = 0;
          for (const c of cells) {
            if (c.withheld) {
              withheld++;
              assert(c.text === word && c.tip.length > 20, `a withheld count reads "${c.text}" (tooltip "${c.tip}")`);
              continue;
            }
            if (/[–/]/.test(c.text)) continue; // the period figure
            const n = Number(c.text.replace(/[\s\u00a0\u202f,]/g, ''));
            assert(Number.isInteger(n), `a count is not a number: "${c.text}"`);
            assert(n === 0 || n >= 5, `a count under 5 is shown: ${n}`);
          }
          return withheld;
        };
        const t0 = Date.now();
        await page.goto(`${ctx.demoBase}/#/public`);
        await page.waitForSelector('[data-testid=pub-territory]');
        assert(page.url().includes('#/public'), `sent elsewhere: ${page.url()}`);
        assert((await page.innerText('.page-public h2')) === 'Открытые данные', 'the title is not «Открытые данные»');
        assert((await page.innerText('[data-testid=header-login]')) === 'Войти', 'no «Войти» link in the header');
        assert((await page.locator('[data-testid=user], .nav-list').count()) === 0, 'the header shows a user or the navigation without a session');
        const offered = await page.locator('[data-testid=pub-territory] option').evaluateAll((os) => os.map((o) => o.value));
        assert(offered.includes('Toronto') && offered.includes('Astana') && !offered.includes('Helsinki'), `territories offered: ${offered.join(', ')}`);
        await waitHook(page, () => window.__qalqan?.publicState === 'loaded', null, 20_000, 'the public figures were not shown');
        // Toronto has districts: the districts table; then Astana.
        await redraw(() => page.selectOption('[data-testid=pub-territory]', 'Toronto'), 'Toronto');
        const distRows = await page.locator('[data-testid=pub-districts-table] tbody tr').count();
        assert(distRows > 100, `Toronto's districts table has ${distRows} rows`);
        await checkCounts('скрыто');
        await redraw(() => page.selectOption('[data-testid=pub-territory]', 'Astana'), 'Astana');
        await waitHook(page, () => window.__qalqan.map?.queryRenderedFeatures({ layers: ['pub-cells-fill'] }).length > 0, null, 15_000, 'no public cell is rendered on the map');
        const total = await page.innerText('[data-testid=pub-total] .pub-figure-value');
        assert(/^\d[\d\s\u00a0\u202f]*$/.test(total) && Number(total.replace(/\D/g, '')) >= 5, `total: ${total}`);
        const period = await page.innerText('[data-testid=pub-period] .pub-figure-value');
        assert(/^\d\d\.\d\d\.\d{4} – \d\d\.\d\d\.\d{4}$/.test(period), `period: ${period}`);
        const from = await page.inputValue('[data-testid=pub-from]');
        const to = await page.inputValue('[data-testid=pub-to]');
        assert(/^\d{4}-\d\d-\d\d$/.test(from) && /^\d{4}-\d\d-\d\d$/.test(to) && from < to, `the default period is not in the inputs: ${from} – ${to}`);
        const chartW = await page.evaluate(() => document.querySelector('[data-testid=pub-chart]')?.width ?? 0);
        assert(chartW > 300, `the monthly chart is ${chartW} px wide`);
        const catRows = await page.locator('[data-testid=pub-categories-table] tbody tr').count();
        assert(catRows >= 3, `categories table has ${catRows} rows`);
        const catNames = await page.locator('[data-testid=pub-categories-table] tbody td:first-child').allInnerTexts();
        assert(catNames.includes('Кража') && !catNames.some((c) => /^[a-z_]+$/.test(c)), `category names not translated: ${catNames.join(', ')}`);
        await checkCounts('скрыто');
        const state = await page.evaluate(() => ({ cells: window.__qalqan.publicCells, legend: document.querySelectorAll('[data-testid=pub-legend] .legend-row').length }));
        assert(state.cells > 0 && state.legend >= 2, `map: ${JSON.stringify(state)}`);
        assert(/ячеек/.test(await page.innerText('[data-testid=pub-cells-note]')), 'no note on the withheld cells');
        assert(/меньше 5/.test(await page.innerText('[data-testid=pub-privacy]')), 'no privacy paragraph');
        await shot('astana-ru');
        // The open-data files answer 200, for the period shown, without a session.
        const links = await page.locator('[data-testid^=pub-dl-]').evaluateAll((as) => as.map((a) => ({ id: a.dataset.testid, href: a.getAttribute('href'), file: a.getAttribute('download') })));
        assert(links.length === 3, `download links: ${JSON.stringify(links)}`);
        for (const l of links) {
          assert(l.href.includes(`from=${from}`) && l.href.includes(`to=${to}`) && l.file, `link without the period or a file name: ${JSON.stringify(l)}`);
          const r = await page.request.get(`${ctx.demoBase}${l.href}`);
          assert(r.status() === 200, `${l.href}: HTTP ${r.status()}`);
          const body = await r.text();
          if (l.id === 'pub-dl-summaryCsv') assert(body.startsWith('group,key,count\n') && /\ncategory,theft,\d+/.test(body), `summary CSV: ${body.slice(0, 80)}`);
          if (l.id === 'pub-dl-cellsCsv') assert(body.startsWith('lon,lat,count\n') && body.trim().split('\n').length === state.cells + 1, `cells CSV has ${body.trim().split('\n').length} lines for ${state.cells} cells`);
          if (l.id === 'pub-dl-cellsGeojson') {
            const fc = JSON.parse(body);
            assert(fc.type === 'FeatureCollection' && fc.features.length === state.cells, `GeoJSON: ${fc.features?.length} cells, the map ${state.cells}`);
            assert(fc.features.every((f) => f.properties.count >= 5), 'a published cell holds fewer than 5');
          }
        }
        // A short period (the last days): small counts are withheld, the text stays consistent.
        const shortFrom = new Date(Date.parse(`${to}T00:00:00Z`) - 3 * 86_400_000).toISOString().slice(0, 10);
        await page.fill('[data-testid=pub-from]', shortFrom);
        await page.click('[data-testid=pub-apply]');
        await waitHook(page, (f) => window.__qalqan?.publicState === 'loaded' && location.hash.includes(`from=${f}`), shortFrom, 15_000, 'the short period was not shown');
        const withheld = await checkCounts('скрыто');
        if (withheld > 0) assert((await page.locator('[data-testid=pub-categories-table-note], [data-testid=pub-months-table-note]').count()) > 0, 'withheld counts without the footnote');
        await page.locator('[data-testid=pub-categories]').scrollIntoViewIfNeeded();
        await shot('short-period-tables');
        // Back to the default period (the address holds no period then).
        await redraw(() => page.click('[data-testid=pub-reset]'), 'Astana');
        assert((await page.inputValue('[data-testid=pub-from]')) === from && !page.url().includes('from='), `the default period was not restored: ${page.url()}`);
        // Kazakh, then English: the same territory and period (kept in the address).
        await redraw(() => page.selectOption('[data-testid=lang]', 'kk'), 'Astana');
        assert((await page.innerText('.page-public h2')) === 'Ашық деректер', 'the Kazakh title is not «Ашық деректер»');
        assert((await page.inputValue('[data-testid=pub-from]')) === from && (await page.inputValue('[data-testid=pub-territory]')) === 'Astana', 'the choice was lost on the language switch');
        assert((await page.innerText('[data-testid=header-login]')) === 'Кіру', 'the header link is not in Kazakh');
        await checkCounts('жасырылған');
        await shot('kk');
        await redraw(() => page.selectOption('[data-testid=lang]', 'en'), 'Astana');
        assert((await page.innerText('.page-public h2')) === 'Open data', 'the English title is not "Open data"');
        await checkCounts('withheld');
        assert(/250 × 250 m/.test(await page.innerText('[data-testid=pub-privacy]')), 'the privacy paragraph is not in English');
        await shot('en');
        await page.locator('[data-testid=pub-categories]').scrollIntoViewIfNeeded();
        await shot('en-tables');
        // The login page leads here too.
        await page.goto(`${ctx.demoBase}/#/login`);
        await redraw(() => page.click('[data-testid=login-public]'), 'Astana');
        // A server with no published territory says so.
        await page.goto(`${ctx.freshBase}/#/public`);
        const none = await page.innerText('[data-testid=pub-none]', { timeout: 10_000 });
        assert(/qalqan territory publish/.test(none), `no-territory message: ${none}`);
        // Only the public endpoints (and the session check) were called, and no cookie was set.
        const other = [...new Set(apiCalls.filter((p) => !p.startsWith('/api/v1/public/') && p !== '/api/v1/auth/me'))];
        assert(other.length === 0, `the public page called: ${other.join(', ')}`);
        const cookies = await context.cookies();
        assert(cookies.length === 0, `cookies: ${cookies.map((c) => c.name).join(', ')}`);
        assert(Date.now() - t0 < 30_000, `the scenario took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        assert(errors.length === 0, `page errors: ${errors.join(' | ')}`);
      } catch (e) {
        await shot('failure');
        throw e;
      } finally {
        await context.close();
      }
    },
  },
];

// ---- Helsinki: the demo loads it (streets, generated incidents, posts, cameras) ----
async function ensureHelsinki(dataDir) {
  // The demo ships Helsinki (streets, generated incidents, posts, cameras); the scenario needs it.
  const list = await runQalqan(['--data-dir', dataDir, 'territory', 'list']);
  if (!/^Helsinki\s/m.test(list)) throw new Error(`the demo has no Helsinki territory:\n${list}`);
  return 'demo';
}

// ---- Main ----
async function main() {
  const t0 = Date.now();
  const freshDir = tempDir('qalqan-e2e-fresh-');
  const demoDir = tempDir('qalqan-e2e-demo-');
  const [freshPort, demoPort] = [await freePort(), await freePort()];
  ctx.freshBase = `http://127.0.0.1:${freshPort}`;
  ctx.demoBase = `http://127.0.0.1:${demoPort}`;

  const freshP = startQalqan(
    ['--data-dir', freshDir, 'serve', '--listen', `127.0.0.1:${freshPort}`],
    (text) => {
      const m = text.match(/\/#\/setup\?token=([0-9a-f]{32})/) || text.match(/"token":"([0-9a-f]{32})"/);
      return m && /serving/i.test(text) ? m[1] : null;
    },
    30_000,
    'fresh server',
  );
  const demoP = startQalqan(
    ['--data-dir', demoDir, 'demo', '--listen', `127.0.0.1:${demoPort}`],
    (text) => {
      const m = text.match(/Log in as: demo \/ (\S+)/);
      return m && /serving/i.test(text) ? m[1] : null;
    },
    90_000,
    'demo server',
  );
  const [fresh, demo] = await Promise.all([freshP, demoP]);
  ctx.setupLink = `${ctx.freshBase}/#/setup?token=${fresh.value}`;
  ctx.demoPassword = demo.value;
  await Promise.all([waitHealthy(ctx.freshBase), waitHealthy(ctx.demoBase)]);

  // A viewer for scenario 5, made with the CLI on the demo database.
  const out = await runQalqan(['--data-dir', demoDir, 'user', 'add', 'viewer5', '--role', 'viewer', '--territory', 'Toronto']);
  const m = out.match(/to be changed at first login:\s*\n\s*(\S+)/);
  if (!m) throw new Error(`no one-time password in the output of "user add":\n${out}`);
  ctx.viewerPassword = m[1];
  ctx.demoDir = demoDir;
  // An executing agency's account (scenario 11) and a commander (scenario 12), made the same way.
  const oneTime = async (args) => {
    const text = await runQalqan(['--data-dir', demoDir, 'user', 'add', ...args]);
    const p = text.match(/to be changed at first login:\s*\n\s*(\S+)/);
    if (!p) throw new Error(`no one-time password in the output of "user add":\n${text}`);
    return p[1];
  };
  ctx.execAgency = 'E2E Akimat';
  if (!ONLY.length || ONLY.includes(11)) ctx.execPassword = await oneTime(['exec11', '--role', 'agency_executor', '--agency', ctx.execAgency, '--territory', 'Astana']);
  if (!ONLY.length || ONLY.includes(12)) ctx.commanderPassword = await oneTime(['cmd12', '--role', 'commander', '--territory', 'Astana']);
  if (!ONLY.length || ONLY.includes(10) || ONLY.includes(13)) ctx.helsinki = await ensureHelsinki(demoDir);
  console.log(`servers ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (fresh ${ctx.freshBase}, demo ${ctx.demoBase}${ctx.helsinki ? `; Helsinki ${ctx.helsinki}` : ''})`);

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    timeout: 30_000,
  });
  let passed = 0, failed = 0;
  for (const s of scenarios) {
    if (ONLY.length && !ONLY.includes(s.n)) continue;
    const st = Date.now();
    try {
      await withTimeout(s.run(), 75_000, `scenario ${s.n}`);
      passed++;
      console.log(`ok     ${s.n} ${s.name} (${((Date.now() - st) / 1000).toFixed(1)} s)`);
    } catch (e) {
      failed++;
      console.log(`FAILED ${s.n} ${s.name}: ${String(e && e.message ? e.message : e).split('\n').slice(0, 6).join(' / ')}`);
    }
  }
  await browser.close().catch(() => {});
  console.log(`e2e: ${passed} passed, ${failed} failed (screenshots in ${OUT}, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  return failed === 0 ? 0 : 1;
}

main()
  .then((code) => {
    cleanup();
    process.exit(code);
  })
  .catch((e) => {
    console.log(`FAILED setup: ${e && e.stack ? e.stack : e}`);
    cleanup();
    process.exit(1);
  });
