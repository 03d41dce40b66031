// Parley's dashboard in a real headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core; no browser is downloaded). Driven by tests/integration/browser_tests.py:
//
//   node dashboard.mjs --url URL --artifacts DIR --address sip:alice@example.com
//                      [--initial offline] --expect-show dnd --expect-on-the-phone true
//                      [--timeout-ms 10000]
//
// Handshake on stdout, one line each:
//   READY <json>   the tile of --address is on the page, showing --initial, and the live
//                  stream is connected: the caller now changes that address's presence;
//   RESULT <json>  what the page showed (the tile, the states it went through, the header);
//   PASS <text> / FAIL <text>, and the exit status 0 / 1.
// The screenshot is written to DIR/dashboard.png either way.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const HARD_LIMIT_MS = 90_000;  // never outlive the ctest TIMEOUT, whatever hangs

const { values: opt } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.PARLEY_DASHBOARD_URL },
    artifacts: { type: 'string', default: process.env.PARLEY_ARTIFACTS || '.' },
    address: { type: 'string' },
    initial: { type: 'string', default: 'offline' },
    'expect-show': { type: 'string' },
    'expect-on-the-phone': { type: 'string', default: 'true' },
    'timeout-ms': { type: 'string', default: '10000' },
    chromium: { type: 'string', default: process.env.CHROMIUM || '/usr/bin/chromium' },
  },
});
if (!opt.url || !opt.address || !opt['expect-show']) {
  console.log('FAIL usage: dashboard.mjs --url URL --artifacts DIR --address ADDR --expect-show SHOW '
    + '[--expect-on-the-phone true|false] [--initial SHOW] [--timeout-ms N]');
  process.exit(2);
}
const timeoutMs = Number(opt['timeout-ms']);
const artifacts = resolve(opt.artifacts);
const screenshot = join(artifacts, 'dashboard.png');
mkdirSync(artifacts, { recursive: true });

const hardStop = setTimeout(() => {
  console.log(`FAIL dashboard.mjs did not finish within ${HARD_LIMIT_MS / 1000} s`);
  process.exit(1);
}, HARD_LIMIT_MS);
hardStop.unref();

const profile = mkdtempSync(join(tmpdir(), 'parley-chromium-'));
let context;
let page;
let screenshotTaken = false;
const pageErrors = [];
const consoleErrors = [];

function tileSelector(address, show, phone) {
  const esc = (s) => s.replace(/["\\]/g, '\\$&');
  return `li.tile[data-address="${esc(address)}"]`
    + (show ? `[data-show="${esc(show)}"]` : '')
    + (phone ? `[data-on-the-phone="${esc(phone)}"]` : '');
}

async function main() {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: opt.chromium,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 800 },
    timeout: 30_000,
  });
  page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });

  await page.goto(opt.url, { waitUntil: 'load', timeout: 15_000 });
  const first = tileSelector(opt.address, opt.initial);
  try {
    await page.waitForSelector(first, { state: 'attached', timeout: timeoutMs });
    await page.waitForSelector('#health-stream[data-state="up"]', { state: 'attached', timeout: timeoutMs });
  } catch {
    const tiles = await page.$$eval('li.tile', (els) => els.map((e) => `${e.dataset.address}=${e.dataset.show}`));
    throw new Error(`no ${first} with the stream connected within ${timeoutMs} ms; tiles: ${tiles.join(', ') || 'none'}; `
      + `stream: ${await page.textContent('#health-stream .health-value')}`);
  }
  // Every state the tile goes through from now on, so the caller can tell a live update from
  // a poll that skipped the states in between.
  await page.$eval(tileSelector(opt.address), (tile) => {
    window.__parleySeen = [`${tile.dataset.show}/${tile.dataset.onThePhone}`];
    new MutationObserver(() => {
      const now = `${tile.dataset.show}/${tile.dataset.onThePhone}`;
      if (window.__parleySeen.at(-1) !== now) window.__parleySeen.push(now);
    }).observe(tile, { attributes: true, attributeFilter: ['data-show', 'data-on-the-phone'] });
  });
  console.log(`READY ${JSON.stringify({ url: page.url() })}`);

  const want = tileSelector(opt.address, opt['expect-show'], opt['expect-on-the-phone']);
  let reached = true;
  try {
    await page.waitForSelector(want, { state: 'attached', timeout: timeoutMs });
    await page.waitForTimeout(1300);  // the change's flash animation ends: the screenshot shows the settled page
  } catch {
    reached = false;
  }
  const result = await page.evaluate((sel) => {
    const tile = document.querySelector(sel);
    const text = (q) => tile?.querySelector(q)?.textContent ?? null;
    const health = (id) => {
      const item = document.getElementById(`health-${id}`);
      return { state: item.dataset.state, value: item.querySelector('.health-value').textContent };
    };
    return {
      url: location.href,
      tile: tile && {
        address: tile.dataset.address, show: tile.dataset.show, onThePhone: tile.dataset.onThePhone,
        state: tile.querySelector('.state')?.hidden === false ? text('.state') : null, phoneLabel: tile.querySelector('.phone')?.hidden === false ? text('.phone') : null,
        note: text('.note'), devices: text('.devices'), since: text('.since'),
      },
      seen: window.__parleySeen,
      health: { stream: health('stream'), xmpp: health('xmpp'), storage: health('storage') },
      tiles: [...document.querySelectorAll('li.tile')].map((e) => ({
        address: e.dataset.address, show: e.dataset.show, onThePhone: e.dataset.onThePhone,
        note: e.querySelector('.note')?.textContent ?? null,
      })),
    };
  }, tileSelector(opt.address));
  result.pageErrors = pageErrors;
  result.consoleErrors = consoleErrors;
  await page.screenshot({ path: screenshot });
  screenshotTaken = true;
  console.log(`RESULT ${JSON.stringify(result)}`);
  if (!reached) {
    throw new Error(`the tile did not reach ${want} within ${timeoutMs} ms after READY; it went through `
      + `${(result.seen || []).join(' -> ')}`);
  }
  if (pageErrors.length) throw new Error(`uncaught errors in the page: ${pageErrors.join(' | ')}`);
  console.log(`PASS ${opt.address}: ${result.seen.join(' -> ')}; screenshot ${screenshot}`);
}

let status = 0;
try {
  await main();
} catch (e) {
  status = 1;
  if (page && !screenshotTaken) {
    try {
      await page.screenshot({ path: screenshot });
      screenshotTaken = true;
    } catch { /* no page to show */ }
  }
  console.log(`FAIL ${String(e.message).split('\n')[0]}${screenshotTaken ? `; screenshot ${screenshot}` : ''}`);
} finally {
  try {
    await context?.close();
  } catch { /* the browser is gone already */ }
  rmSync(profile, { recursive: true, force: true });
}
process.exit(status);
