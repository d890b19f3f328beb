// HTTP side of the resident map: security and cache headers, pre-compressed assets, styles,
// /config.json, /api/search (width and kana folding) and /api/shelters/{fid}.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { BASE, getJson } from './support.mjs';

const get = (p, headers = {}) => fetch(`${BASE}${p}`, { headers });

test('index.html: HTML, no-cache, strict CSP and security headers, config inlined', async () => {
  const r = await get('/');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/html/);
  assert.equal(r.headers.get('cache-control'), 'no-cache');
  const csp = r.headers.get('content-security-policy');
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval';/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.ok(!csp.includes('gsi.go.jp'), 'no GSI host unless --gsi-basemap');
  // WebAssembly may be compiled (the in-browser risk answer); scripts may not be evaluated.
  assert.ok(!csp.includes('unsafe-inline') && !/(^|[\s;])'unsafe-eval'/.test(csp), csp);
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  assert.ok(r.headers.get('referrer-policy'));
  const html = await r.text();
  assert.match(html, /<html lang="ja"/);
  assert.match(html, /id="machimap-config"/);
  assert.ok(!/<script(?![^>]*(src=|type="application\/json"))/.test(html), 'no inline executable script');
  const en = await (await get('/?lang=en')).text();
  assert.match(en, /<html lang="en"/);
});

test('assets: hashed names are immutable and sent pre-compressed', async () => {
  const manifest = await getJson('/assets/manifest.json');
  for (const f of [manifest.js, manifest.css, manifest.maplibre, manifest.worker]) {
    const r = await get(`/assets/${f}`, { 'accept-encoding': 'br, gzip' });
    assert.equal(r.status, 200, f);
    assert.match(r.headers.get('cache-control'), /immutable/);
    assert.equal(r.headers.get('content-encoding'), 'br', f);
  }
  const js = await get(`/assets/${manifest.js}`, { 'accept-encoding': 'gzip' });
  assert.equal(js.headers.get('content-encoding'), 'gzip');
  assert.match(js.headers.get('content-type'), /javascript/);
  const css = await get(`/assets/${manifest.css}`);
  assert.match(css.headers.get('content-type'), /^text\/css/);
  for (const bad of ['../Cargo.toml', '..%2F..%2FCargo.toml', '.hidden', 'nope-ABCDEFGH.js']) {
    const r = await get(`/assets/${bad}`);
    assert.equal(r.status, 404, bad);
  }
  // ETag revalidation of an unhashed file.
  const m = await get('/assets/manifest.json');
  const etag = m.headers.get('etag');
  assert.ok(etag);
  assert.equal((await get('/assets/manifest.json', { 'if-none-match': etag })).status, 304);
});

test('styles are served as JSON', async () => {
  const r = await get('/styles/hazard.json');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  const s = await r.json();
  assert.equal(s.version, 8);
  assert.equal((await get('/styles/missing.json')).status, 404);
});

test('/config.json: data dates, extent and the basemap switch', async () => {
  const c = await getJson('/config.json');
  assert.equal(c.gsi_basemap, false);
  assert.equal(c.gsi_tiles, null);
  assert.equal(c.bounds.length, 4);
  assert.ok(c.bounds[0] > 133.8 && c.bounds[2] < 134.0, JSON.stringify(c.bounds));
  assert.match(c.datasets.flood.published_at, /^\d{4}-\d\d-\d\dT/);
  assert.ok(c.tile_layers.includes('flood') && !c.tile_layers.includes('stockpile'));
});

test('/api/search folds width and kana and returns positions', async () => {
  const base = await getJson(`/api/search?q=${encodeURIComponent('小学校')}`);
  assert.ok(base.count > 0);
  const hit = base.results[0];
  for (const k of ['name', 'kind', 'dataset', 'fid', 'lon', 'lat', 'bbox']) assert.ok(k in hit, k);
  assert.equal(hit.kind, 'shelter');
  const forms = ['しょうがっこう', 'ショウガッコウ', 'ｼｮｳｶﾞｯｺｳ'];
  for (const q of forms) {
    const r = await getJson(`/api/search?q=${encodeURIComponent(q)}`);
    assert.ok(r.results.some((x) => x.fid === hit.fid && x.kind === 'shelter'), `${q}: ${JSON.stringify(r.results.slice(0, 3))}`);
  }
  const wards = await getJson('/healthz');
  assert.ok(wards.datasets.wards.features > 0);
  const limited = await getJson(`/api/search?q=${encodeURIComponent('小学校')}&limit=1`);
  assert.equal(limited.results.length, 1);
  assert.equal((await get('/api/search')).status, 400);
  assert.equal((await get('/api/search?q=')).status, 400);
  assert.equal((await get('/api/search?q=a&limit=0')).status, 400);
  assert.equal((await get('/api/search?q=a&limit=x')).status, 400);
  const none = await getJson(`/api/search?q=${encodeURIComponent('存在しない名前')}`);
  assert.equal(none.count, 0);
});

test('/api/search finds wards and roads too', async () => {
  const kinds = new Set();
  for (const q of ['町', '線', '丁目', '市道']) {
    const r = await getJson(`/api/search?q=${encodeURIComponent(q)}&limit=50`);
    for (const x of r.results) kinds.add(x.kind);
  }
  assert.ok(kinds.has('ward'), [...kinds].join());
  assert.ok(kinds.has('road'), [...kinds].join());
});

test('/api/shelters/{fid}: fields and stockpile rows linked by shelter_fid', async () => {
  const hit = (await getJson(`/api/search?q=${encodeURIComponent('小学校')}&limit=1`)).results[0];
  const d = await getJson(`/api/shelters/${hit.fid}`);
  assert.equal(d.fid, hit.fid);
  assert.equal(d.properties.name, hit.name);
  for (const s of d.stockpile) assert.equal(s.shelter_fid, hit.fid);
  assert.equal((await get('/api/shelters/999999')).status, 404);
  assert.equal((await get('/api/shelters/abc')).status, 400);
});

/** Start a second `machimap serve` on the same DB with extra flags; resolves to its base URL. */
async function startServer(t, flags) {
  const bin = process.env.MACHIMAP_BIN;
  const db = process.env.MACHIMAP_DB;
  if (!bin || !db) {
    t.skip('MACHIMAP_BIN / MACHIMAP_DB not set');
    return null;
  }
  const child = spawn(bin, ['serve', '--db', db, '--bind', '127.0.0.1:0', ...flags], { stdio: ['ignore', 'ignore', 'pipe'] });
  t.after(() => child.kill());
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stderr });
    const timer = setTimeout(() => reject(new Error('second server did not start')), 60000);
    rl.on('line', (line) => {
      const m = line.match(/serving on (http:\/\/[0-9.:]+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => reject(new Error(`serve exited ${code}`)));
  });
}

test('--gsi-basemap: the page is told, and the CSP allows the GSI host only then', async (t) => {
  const base = await startServer(t, ['--gsi-basemap']);
  if (!base) return;
  const r = await fetch(`${base}/`);
  const csp = r.headers.get('content-security-policy');
  assert.match(csp, /img-src 'self' data: blob: https:\/\/cyberjapandata\.gsi\.go\.jp/);
  assert.match(csp, /connect-src 'self' https:\/\/cyberjapandata\.gsi\.go\.jp/);
  const c = await (await fetch(`${base}/config.json`)).json();
  assert.equal(c.gsi_basemap, true);
  assert.equal(c.gsi_tiles, 'https://cyberjapandata.gsi.go.jp/xyz/pale/{z}/{x}/{y}.png');
});

test('without a built front end, / answers 503 saying how to build it', async (t) => {
  const base = await startServer(t, ['--web-dir', '/nonexistent/machimap-web-dist']);
  if (!base) return;
  const r = await fetch(`${base}/`);
  assert.equal(r.status, 503);
  const body = await r.json();
  assert.match(body.error, /bash scripts\/build-web/);
  assert.equal((await fetch(`${base}/assets/manifest.json`)).status, 404);
  // The styles still come from the source tree.
  assert.equal((await fetch(`${base}/styles/hazard.json`)).status, 200);
});
