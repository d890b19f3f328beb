// The static site (`machimap export-site`) with no machimap behind it: served by nginx, by
// `python3 -m http.server` from the offline zip, and as the mirror the live page switches to
// when its server is killed. The browser's risk answer (crates/risk as WebAssembly over the
// export's files) must be /api/risk's, field for field.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BASE, browser, idle, getJson } from './support.mjs';

const STATIC = process.env.MACHIMAP_STATIC_BASE;
const BIN = process.env.MACHIMAP_BIN;
const DB = process.env.MACHIMAP_DB;
const WORK = process.env.MACHIMAP_WORK;
const LANGS = ['ja', 'en', 'easy', 'zh-Hans', 'zh-Hant', 'ko', 'vi', 'pt'];

// A fresh export of the database as it is now (earlier tests set shelter status; a copy says
// the status as of its export): written beside the one nginx serves and switched to through
// the `current` link while nginx keeps serving.
before(() => {
  execFileSync(BIN, ['export-site', '--db', DB, '--out', process.env.MACHIMAP_STATIC_DIR, '--zip', path.join(WORK, 'site.zip')], { stdio: ['ignore', 'ignore', 'inherit'] });
});

/** A small deterministic generator (the points are the same on every run). */
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A page's requests that went anywhere but `origin` (data: and blob: are local). */
function elsewhere(log, origin) {
  return log.requests.map((r) => r.url())
    .filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith('data:') && !u.startsWith('blob:'));
}

/** Wait for the answer of the next check to be drawn. */
async function nextAnswer(page, before) {
  await page.waitForFunction((n) => Number(document.body.dataset.riskSeq || 0) > n && document.querySelector('#info-body .hazards'), before, { timeout: 30000 });
}

const riskSeq = (page) => page.evaluate(() => Number(document.body.dataset.riskSeq || 0));

test('served by nginx alone: the map draws, search works, and 1,000 answers equal /api/risk', async () => {
  assert.ok(STATIC, 'MACHIMAP_STATIC_BASE is set by scripts/test-web');
  const b = await browser({ width: 1280, height: 800 });
  try {
    await b.page.goto(`${STATIC}/`);
    await idle(b.page);
    assert.deepEqual(b.log.errors, []);
    assert.deepEqual(elsewhere(b.log, STATIC), [], 'every request goes to the static server');
    const urls = b.log.requests.map((r) => r.url());
    assert.ok(urls.some((u) => u.endsWith('/data/tiles.pmtiles')), 'tiles come from the PMTiles archive');
    const ranged = b.log.requests.filter((r) => r.url().endsWith('/data/tiles.pmtiles')).map((r) => r.headers().range);
    assert.ok(ranged.every((r) => /^bytes=\d+-\d+$/.test(r || '')), 'read with range requests');
    // The page says it is a copy, as of when, and that shelter status may be stale.
    const note = await b.page.textContent('#copy-note');
    assert.match(note, /時点の写し.*避難所の開設状況は最新ではない/);
    const manifest = await (await fetch(`${STATIC}/current/manifest.json`)).json();
    const shelters = await getJson('/api/search?q=' + encodeURIComponent('小学校') + '&limit=8');
    assert.ok(shelters.results.length > 0);

    // Search: the same first results as the server's for a name typed in hiragana.
    await b.page.fill('#q', 'しょうがっこう');
    await b.page.click('#search button[type=submit]');
    await b.page.waitForFunction(() => document.querySelector('#search-results .results li'), null, { timeout: 15000 });
    const shown = await b.page.locator('#search-results .results .r-name').allTextContents();
    const live = await getJson('/api/search?q=' + encodeURIComponent('しょうがっこう') + '&limit=8');
    assert.equal(shown.length, live.results.length);
    assert.ok(shown[0].includes(live.results[0].name), `${shown[0]} vs ${live.results[0].name}`);

    // A tap (a place checked through the page itself) shows the server's decision.
    const cfg = await b.page.evaluate(() => JSON.parse(document.getElementById('machimap-config').textContent));
    assert.equal(cfg.static.exported_at, manifest.exported_at);
    assert.equal(cfg.static.release, manifest.release, 'the page is the current release');
    assert.ok(urls.some((u) => u.startsWith(`${STATIC}/releases/${manifest.release}/assets/`)), 'files read from the page\'s own release');

    // 1,000 random points over the city and around it, every language, several home heights.
    const [w, s, e, n] = cfg.bounds;
    const rnd = rng(20261206);
    const counts = { points: 0, in_zone: 0, leave: 0, upper_floor: 0, no_data: 0, shelters: 0 };
    const started = Date.now();
    for (let i = 0; i < 1000; i += 1) {
      const lat = (s - (n - s) * 0.1 + rnd() * (n - s) * 1.2).toFixed(6);
      const lon = (w - (e - w) * 0.1 + rnd() * (e - w) * 1.2).toFixed(6);
      const lang = LANGS[i % LANGS.length];
      const floors = [null, 1, 2, 3, 6][i % 5];
      const q = `/api/risk?lat=${lat}&lon=${lon}&lang=${lang}${floors ? `&floors=${floors}` : ''}`;
      const [mine, truth] = await Promise.all([
        b.page.evaluate(([a, o, l, f]) => window.machimap.copyRisk(a, o, l, f), [lat, lon, lang, floors]),
        getJson(q),
      ]);
      assert.deepStrictEqual(mine, truth, q);
      counts.points += 1;
      for (const h of truth.hazards) {
        if (h.in_zone) counts.in_zone += 1;
        if (h.decision?.action === 'leave') counts.leave += 1;
        if (h.decision?.action === 'upper_floor') counts.upper_floor += 1;
        if (h.data_available && h.coverage === 'no_data') counts.no_data += 1;
        counts.shelters += h.shelters.length;
      }
    }
    // The comparison covered zones, both decisions, unmapped ground and shelter lists.
    assert.ok(counts.in_zone > 100 && counts.leave > 30 && counts.upper_floor > 20 && counts.no_data > 50 && counts.shelters > 100, JSON.stringify(counts));
    console.log(`static copy vs /api/risk: ${counts.points} points, 0 differences in ${Date.now() - started} ms; ${JSON.stringify(counts)}`);

    // A place checked through the page draws the copy's answer.
    const seq = await riskSeq(b.page);
    const [lat, lon] = [(s + n) / 2, (w + e) / 2];
    await b.page.evaluate(([la, lo]) => window.machimap.map.jumpTo({ center: [lo, la], zoom: 15 }), [lat, lon]);
    await b.page.click('#check-center');
    await nextAnswer(b.page, seq);
    const at = await b.page.evaluate(() => window.machimap.state.at);
    const truth = await getJson(`/api/risk?lat=${at[1].toFixed(6)}&lon=${at[0].toFixed(6)}&lang=ja`);
    assert.ok((await b.page.textContent('#info-body')).includes(truth.summary));

    // A new export while the page is open: the page goes on reading the release it was loaded
    // with (a shelter it opens now comes from there), and a new visit gets the new release.
    execFileSync(BIN, ['export-site', '--db', DB, '--out', process.env.MACHIMAP_STATIC_DIR], { stdio: ['ignore', 'ignore', 'inherit'] });
    const next = await (await fetch(`${STATIC}/current/manifest.json`)).json();
    assert.notEqual(next.release, manifest.release);
    const from = b.log.requests.length;
    // (the search opened its first result already: another one, read for the first time)
    const k = live.results.findLastIndex((r) => r.kind === 'shelter');
    assert.ok(k > 0, 'a second shelter among the results');
    const fid = live.results[k].fid;
    await b.page.locator('#search-results .results button').nth(k).click();
    await b.page.waitForFunction((f) => window.machimap.state.detail?.fid === f, fid, { timeout: 15000 });
    const after = b.log.requests.slice(from).map((r) => r.url());
    assert.ok(after.some((u) => u.startsWith(`${STATIC}/releases/${manifest.release}/data/shelters/`)), after.join(' '));
    assert.ok(!after.some((u) => u.includes(next.release)), 'nothing read from the new release');
    const fresh = await browser({ width: 800, height: 600 });
    try {
      await fresh.page.goto(`${STATIC}/`);
      await idle(fresh.page);
      const c2 = await fresh.page.evaluate(() => JSON.parse(document.getElementById('machimap-config').textContent));
      assert.equal(c2.static.release, next.release);
    } finally {
      await fresh.close();
    }
    assert.deepEqual(b.log.errors, []);
    assert.deepEqual(elsewhere(b.log, STATIC), []);
  } finally {
    await b.close();
  }
});

test('the live page switches to the mirror by itself when machimap is killed mid-session', async () => {
  const { server, live } = await ownServer(['--mirror-url', `${STATIC}/`]);
  const b = await browser({ width: 1280, height: 800 });
  try {
    const cfg = await (await fetch(`${live}/config.json`)).json();
    const [w, s, e, n] = cfg.bounds;
    await b.page.goto(`${live}/`);
    await idle(b.page);
    // A first tap answered by the live server.
    let seq = await riskSeq(b.page);
    await b.page.evaluate(([la, lo]) => window.machimap.map.jumpTo({ center: [lo, la], zoom: 15 }), [(s + n) / 2, (w + e) / 2]);
    await b.page.click('#check-center');
    await nextAnswer(b.page, seq);
    assert.equal(await b.page.locator('#copy-note').count(), 0, 'no notice while the server answers');
    assert.ok(!b.log.requests.some((r) => r.url().startsWith(STATIC)), 'the mirror is not read while the server answers');

    server.kill('SIGKILL');
    await new Promise((r) => server.once('exit', r));
    // The next tap, elsewhere: answered from the mirror, and said so.
    const [lat, lon] = [s + (n - s) * 0.3, w + (e - w) * 0.6];
    seq = await riskSeq(b.page);
    await b.page.evaluate(([la, lo]) => window.machimap.map.jumpTo({ center: [lo, la], zoom: 15 }), [lat, lon]);
    const tapped = Date.now();
    await b.page.click('#check-center');
    await nextAnswer(b.page, seq);
    const took = Date.now() - tapped;
    const at = await b.page.evaluate(() => window.machimap.state.at);
    const truth = await getJson(`/api/risk?lat=${at[1].toFixed(6)}&lon=${at[0].toFixed(6)}&lang=ja`);
    const risk = await b.page.evaluate(() => window.machimap.state.risk);
    delete risk.ward;
    assert.deepStrictEqual(risk, truth, 'the mirror gives the server\'s answer');
    assert.match(await b.page.textContent('#copy-note'), /サーバーにつながらないため/);
    assert.ok(b.log.requests.some((r) => r.url().startsWith(`${STATIC}/releases/`) && r.url().includes('/risk/')), 'risk data read from the mirror\'s release');
    // The map keeps drawing, now from the mirror's tiles.
    await b.page.evaluate(() => window.machimap.map.zoomTo(14, { animate: false }));
    await idle(b.page);
    assert.ok(b.log.requests.some((r) => r.url().startsWith(`${STATIC}/releases/`) && r.url().endsWith('/data/tiles.pmtiles')), 'tiles read from the mirror');
    console.log(`switch-over: the first tap after the kill answered from the mirror in ${took} ms`);
    assert.deepEqual(b.log.errors.filter((x) => !/Failed to load resource|ERR_CONNECTION_REFUSED|AJAXError|Failed to fetch/.test(x)), []);
  } finally {
    server.kill('SIGKILL');
    await b.close();
  }
});

test('the offline zip served by python3 -m http.server (no range requests) draws and answers', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'machimap-pack-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  execFileSync('python3', ['-c', 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])', path.join(WORK, 'site.zip'), dir]);
  const py = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1'], { cwd: dir, stdio: 'ignore' });
  const b = await browser({ width: 1280, height: 800 });
  try {
    const origin = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i += 1) {
      try {
        if ((await fetch(`${origin}/manifest.json`)).ok) break;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const head = await fetch(`${origin}/data/tiles.pmtiles`, { headers: { range: 'bytes=0-99' } });
    assert.equal(head.status, 200, 'this server ignores Range (the case the page must handle)');
    await head.body.cancel();
    await b.page.goto(`${origin}/`);
    await idle(b.page);
    const cfg = await b.page.evaluate(() => JSON.parse(document.getElementById('machimap-config').textContent));
    const [w, s, e, n] = cfg.bounds;
    const rnd = rng(7);
    for (let i = 0; i < 20; i += 1) {
      const lat = (s + rnd() * (n - s)).toFixed(6);
      const lon = (w + rnd() * (e - w)).toFixed(6);
      const mine = await b.page.evaluate(([a, o]) => window.machimap.copyRisk(a, o, 'ja', null), [lat, lon]);
      assert.deepStrictEqual(mine, await getJson(`/api/risk?lat=${lat}&lon=${lon}&lang=ja`));
    }
    assert.deepEqual(b.log.errors, []);
    assert.deepEqual(elsewhere(b.log, origin), []);
  } finally {
    py.kill();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** `machimap serve` of the test database on a free port (extra flags), and its address. */
async function ownServer(extra = []) {
  const server = spawn(BIN, ['serve', '--db', DB, '--bind', '127.0.0.1:0', ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  server.stderr.on('data', (d) => { log += d; });
  for (let i = 0; i < 600; i += 1) {
    const m = /serving on (http:\/\/[0-9.:]+)/.exec(log);
    if (m) return { server, live: m[1] };
    await new Promise((r) => setTimeout(r, 100));
  }
  server.kill('SIGKILL');
  throw new Error(`the server did not start: ${log}`);
}

test('a phone that loses its connection still shows the map and the answer it last had', async () => {
  const { server, live } = await ownServer();
  const b = await browser({ width: 390, height: 800 });
  try {
    const cfg = await (await fetch(`${live}/config.json`)).json();
    const [w, s, e, n] = cfg.bounds;
    const [lat, lon] = [(s + (n - s) * 0.45).toFixed(5), (w + (e - w) * 0.5).toFixed(5)];
    const url = `${live}/#map=15.00/${lat}/${lon}&at=${lat},${lon}`;
    await b.page.goto(url);
    await idle(b.page);
    await b.page.evaluate(() => navigator.serviceWorker.ready);
    // The next visit is the one the worker sees (it does not take over a page already open).
    await b.page.reload();
    await idle(b.page);
    await b.page.waitForFunction(() => navigator.serviceWorker.controller && document.querySelector('#info-body .hazards'), null, { timeout: 30000 });
    const before = await b.page.evaluate(() => window.machimap.state.risk);

    server.kill('SIGKILL');
    await new Promise((r) => server.once('exit', r));
    await b.page.reload();
    await idle(b.page);
    await b.page.waitForFunction(() => document.querySelector('#info-body .hazards'), null, { timeout: 30000 });
    const after = await b.page.evaluate(() => window.machimap.state.risk);
    assert.deepStrictEqual(after, before, 'the answer it had');
    assert.match(await b.page.textContent('#saved-note'), /保存した前回の内容/);
    // The map is drawn from saved tiles: some pixels are not the background.
    const drawn = await b.page.evaluate(() => {
      const c = window.machimap.map.getCanvas();
      const g = document.createElement('canvas');
      g.width = c.width;
      g.height = c.height;
      const x = g.getContext('2d');
      x.drawImage(c, 0, 0);
      const d = x.getImageData(0, 0, g.width, g.height).data;
      let painted = 0;
      for (let i = 3; i < d.length; i += 4 * 97) if (d[i] > 0) painted += 1;
      return painted;
    });
    assert.ok(drawn > 100, `map pixels drawn offline: ${drawn}`);
  } finally {
    server.kill('SIGKILL');
    await b.close();
  }
});
