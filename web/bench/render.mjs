#!/usr/bin/env node
// Map rendering benchmark: all 240,992 Toronto incidents on the map at once.
//
//   node web/bench/render.mjs [--bin target/release/qalqan] [--seconds 5]
//
// Starts `qalqan demo` on a fresh data directory, logs in as the demo analyst
// in Debian's Chromium (headless, software GL: this machine has no GPU, so the
// frame times are SwiftShader's, a floor far below any office PC's GPU), sets
// the map's period to all of 2014–2021, waits until every incident is drawn,
// then moves the camera on every animation frame for N seconds and reports
// the frame times with points and cells, each alone, and neither. Also
// reports the point layer's size on the wire and how long it took from
// "apply" to drawn. Prints Markdown.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const argv = process.argv.slice(2);
const opt = (name, def) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : def);
const BIN = path.resolve(opt('--bin', path.join(process.env.CARGO_TARGET_DIR || path.join(REPO, 'target'), 'release', 'qalqan')));
const SECONDS = Number(opt('--seconds', '5'));

const dir = mkdtempSync(path.join(os.tmpdir(), 'qalqan-render-'));
const server = spawn(BIN, ['--data-dir', dir, 'demo', '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, QALQAN_LOG: 'warn' } });
let browser;
const stop = () => {
  server.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
};
process.on('exit', stop);
setTimeout(() => {
  console.error('render benchmark: gave up after 300 s');
  process.exit(1);
}, 300_000).unref();

const { base, password } = await new Promise((resolve, reject) => {
  let text = '';
  let password = '';
  server.stdout.on('data', (b) => {
    text += b;
    const pw = text.match(/Log in as: demo \/ (\S+)/);
    if (pw) password = pw[1];
    const addr = text.match(/Qalqan is serving on (http:\/\/\S+)\//);
    if (addr && password) resolve({ base: addr[1], password });
  });
  server.on('exit', (code) => reject(new Error(`qalqan demo exited with ${code}`)));
});

browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
await page.goto(`${base}/#/login`);
await page.fill('[data-testid=login-login]', 'demo');
await page.fill('[data-testid=login-password]', password);
await page.click('[data-testid=login-submit]');
await page.waitForFunction(() => window.__qalqan?.pointsState === 'loaded', null, { timeout: 120_000 });
await page.fill('[data-testid=from]', '2014-01-01');
await page.fill('[data-testid=to]', '2021-12-31');
const t0 = Date.now();
await page.click('[data-testid=apply]');
await page.waitForFunction(() => window.__qalqan?.pointsState === 'loaded' && window.__qalqan.points > 200000, null, { timeout: 180_000 });
const drawnMs = Date.now() - t0;
const wire = await page.evaluate(() => {
  const e = performance.getEntriesByType('resource').filter((r) => r.name.includes('/points')).pop();
  return e ? { bytes: e.transferSize, ms: e.duration } : null;
});
const measure = () =>
  page.evaluate(async (seconds) => {
    const map = window.__qalqan.map;
    const c = map.getCenter();
    const z = map.getZoom();
    const gaps = [];
    let last = performance.now();
    let k = 0;
    await new Promise((done) => {
      const end = last + seconds * 1000;
      const step = (now) => {
        gaps.push(now - last);
        last = now;
        k++;
        map.jumpTo({ center: [c.lng + 0.05 * Math.sin(k / 25), c.lat + 0.03 * Math.cos(k / 25)], zoom: z + 0.8 * Math.sin(k / 40) });
        if (now < end) requestAnimationFrame(step);
        else done();
      };
      requestAnimationFrame(step);
    });
    map.jumpTo({ center: c, zoom: z });
    gaps.shift();
    gaps.sort((a, b) => a - b);
    const q = (p) => gaps[Math.min(gaps.length - 1, Math.floor(p * gaps.length))];
    return { frames: gaps.length, median: q(0.5), p95: q(0.95), fps: gaps.length / seconds };
  }, SECONDS);
const points = await page.evaluate(() => window.__qalqan.points);
const cells = await page.evaluate(() => window.__qalqan.cellsDrawn);
const rows = [];
rows.push([`${points.toLocaleString('en')} points + ${cells.toLocaleString('en')} hotspot cells`, await measure()]);
await page.click('[data-testid=toggle-cells]');
rows.push([`${points.toLocaleString('en')} points only`, await measure()]);
await page.click('[data-testid=toggle-cells]');
await page.click('[data-testid=toggle-points]');
rows.push([`${cells.toLocaleString('en')} hotspot cells only`, await measure()]);
await page.click('[data-testid=toggle-cells]');
rows.push(['neither (background and boundaries only: the renderer\'s own floor)', await measure()]);
console.log(`Point layer: ${points.toLocaleString('en')} incidents, ${wire ? (wire.bytes / 1e6).toFixed(2) + ' MB on the wire' : '?'}, ${(drawnMs / 1000).toFixed(2)} s from "apply" to drawn.\n`);
console.log(`| map content (1366×768, camera moved every frame for ${SECONDS} s) | frames | fps | median frame | p95 frame |`);
console.log('| --- | --- | --- | --- | --- |');
for (const [label, st] of rows) console.log(`| ${label} | ${st.frames} | ${st.fps.toFixed(1)} | ${st.median.toFixed(1)} ms | ${st.p95.toFixed(1)} ms |`);
await browser.close();
process.exit(0);
