// Dev helper: log in and screenshot a page.
//   node e2e/shot.mjs URL LOGIN PASSWORD HASH OUT.png [waitMs]
import { chromium } from 'playwright-core';
const [url, login, password, hash, out, wait = '4000'] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
page.on('console', (m) => console.log('console:', m.type(), m.text()));
page.on('pageerror', (e) => console.log('pageerror:', e.message));
page.on('requestfailed', (r) => console.log('requestfailed:', r.url()));
await page.goto(`${url}/#/login`);
if (login) {
  await page.fill('[data-testid=login-login]', login);
  await page.fill('[data-testid=login-password]', password);
  await page.click('[data-testid=login-submit]');
  await page.waitForTimeout(800);
}
await page.goto(`${url}/#/${hash}`);
await page.waitForTimeout(Number(wait));
const hook = await page.evaluate(() => { const q = window.__qalqan; return q ? { cells: q.cells, drawn: q.cellsDrawn, points: q.points, ps: q.pointsState, hs: q.hotspotsState } : null; });
console.log('hook', JSON.stringify(hook));
await page.screenshot({ path: out });
await browser.close();
