// Shared helpers of the browser tests: the server under test, Chromium via playwright-core,
// waiting for the map to be idle, reading canvas pixels.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** require() resolving packages from web/node_modules. */
export const requireWeb = createRequire(path.join(ROOT, 'web/package.json'));

export const BASE = process.env.MACHIMAP_BASE;
if (!BASE) throw new Error('MACHIMAP_BASE is not set: run the tests with `bash scripts/test-web`');

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--enable-unsafe-swiftshader',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A fresh Chromium (own profile folder) with one page. Call `close()` when done. */
export async function browser({ width = 1280, height = 800, reducedMotion = 'reduce', ...opts } = {}) {
  const { chromium } = requireWeb('playwright-core');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'machimap-chromium-'));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width, height },
    reducedMotion,
    locale: 'ja-JP',
    timezoneId: 'Asia/Tokyo',
    ...opts,
  });
  const page = ctx.pages()[0] || (await ctx.newPage());
  const log = { errors: [], requests: [], responses: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') log.errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => log.errors.push(`pageerror: ${e.message}`));
  ctx.on('request', (r) => log.requests.push(r));
  ctx.on('requestfinished', (r) => log.responses.push(r));
  return {
    ctx,
    page,
    log,
    async close() {
      await ctx.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Wait until the map exists, its style is loaded and it has gone idle (tiles drawn). */
export async function idle(page, timeout = 60000) {
  await page.waitForFunction(() => window.machimap && window.machimap.map, null, { timeout });
  await page.evaluate(
    (ms) => new Promise((resolve, reject) => {
      const m = window.machimap.map;
      const timer = setTimeout(() => reject(new Error('map never went idle')), ms);
      const done = () => { clearTimeout(timer); resolve(); };
      if (m.loaded() && m.areTilesLoaded() && !m.isMoving()) done();
      else m.once('idle', done);
    }),
    timeout,
  );
}

/** Let the map go idle after an action that may or may not move it. */
export async function settle(page) {
  await page.evaluate(() => new Promise((resolve) => {
    const m = window.machimap.map;
    m.triggerRepaint();
    m.once('idle', resolve);
  }));
}

/** GET a path of the server as JSON. */
export async function getJson(p) {
  const r = await fetch(`${BASE}${p}`);
  if (!r.ok) throw new Error(`GET ${p}: ${r.status} ${await r.text()}`);
  return r.json();
}

/** Parse `#rrggbb`. */
export function rgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** `fg` drawn with `alpha` over `bg`. */
export function blend(fg, bg, alpha) {
  return fg.map((c, i) => Math.round(c * alpha + bg[i] * (1 - alpha)));
}

export function close(a, b, tol = 8) {
  return a.every((c, i) => Math.abs(c - b[i]) <= tol);
}

/** Everything requested went to the server under test (data: and blob: URLs are local). */
export function foreignRequests(log) {
  return log.requests
    .map((r) => r.url())
    .filter((u) => !u.startsWith(`${BASE}/`) && u !== BASE && !u.startsWith('data:') && !u.startsWith('blob:'));
}

/** Bytes transferred (headers + encoded bodies) of the finished requests. */
export async function transferred(log) {
  let total = 0;
  for (const r of log.responses) {
    if (!r.url().startsWith('http')) continue;
    const s = await r.sizes().catch(() => null);
    if (s) total += s.responseBodySize + s.responseHeadersSize;
  }
  return total;
}

/**
 * Add a staff account to the database under test (`machimap user add`, password on stdin). The
 * server reloads the accounts when their file grows. An existing name is left as it is.
 */
export async function addStaffUser({ name, password, role = 'editor' }) {
  const { spawnSync } = await import('node:child_process');
  const bin = process.env.MACHIMAP_BIN;
  const db = process.env.MACHIMAP_DB;
  if (!bin || !db) throw new Error('MACHIMAP_BIN and MACHIMAP_DB are not set: run with `bash scripts/test-web`');
  const r = spawnSync(bin, ['user', 'add', name, '--role', role, '--db', db], { input: `${password}\n`, encoding: 'utf8' });
  if (r.status !== 0 && !/exist/i.test(`${r.stderr}${r.stdout}`)) {
    throw new Error(`machimap user add ${name}: ${r.status} ${r.stderr}`);
  }
}

/** Sign in to the staff console at /admin through its login form. */
export async function adminLogin(page, { name, password }) {
  await page.goto(`${BASE}/admin`);
  if (!(await page.locator('form[action="/admin/login"]').count())) return;
  await page.fill('#user', name);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/admin/login"] button[type="submit"]')]);
  if (await page.locator('form[action="/admin/login"]').count()) {
    throw new Error(`login as ${name} failed: ${await page.locator('main').textContent().catch(() => '')}`);
  }
}
