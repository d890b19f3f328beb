// The resident map in a real Chromium: loads clean and offline, draws the national colours,
// answers a tap with the right depth, searches, switches language, works by keyboard alone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE, browser, idle, settle, getJson, rgb, blend, close, foreignRequests, transferred,
} from './support.mjs';

const FLOOD = ['#F7F5A9', '#FFD8C0', '#FFB7B7', '#FF9191', '#F285C9', '#DC7ADC'];
const BACKGROUND = '#eef0ee';
const FLOOD_OPACITY = 0.85;

let b;
let firstLoadBytes = 0;

before(async () => {
  b = await browser({ width: 1280, height: 800 });
  await b.page.goto(`${BASE}/`);
  await idle(b.page);
  firstLoadBytes = await transferred(b.log);
});

after(async () => {
  await b?.close();
});

test('the page loads without console errors, and every request goes to this server', async () => {
  assert.deepEqual(b.log.errors, []);
  assert.deepEqual(foreignRequests(b.log), []);
  const urls = b.log.requests.map((r) => r.url());
  assert.ok(urls.some((u) => /\/tiles\/.*\.mvt/.test(u)), 'tiles were requested');
  assert.ok(urls.some((u) => /maplibre-gl-csp-worker-[A-Z0-9]+\.js/.test(u)), 'the CSP worker was loaded');
});

test('first load at the default view stays under 1.6 MB transferred', async () => {
  assert.ok(firstLoadBytes > 100_000, `measured ${firstLoadBytes} B`);
  assert.ok(firstLoadBytes <= 1.6 * 1024 * 1024, `first load transferred ${firstLoadBytes} B`);
});

test('first load on a 360 px phone stays within 400 KB transferred', async () => {
  const phone = await browser({ width: 360, height: 740 });
  try {
    await phone.page.goto(`${BASE}/`);
    await idle(phone.page);
    const bytes = await transferred(phone.log);
    assert.ok(bytes > 100_000, `measured ${bytes} B`);
    assert.ok(bytes <= 400_000, `first load on a phone transferred ${bytes} B`);
  } finally {
    await phone.close();
  }
});

test('the data date is shown', async () => {
  const asof = await b.page.textContent('#asof');
  assert.match(asof, /\d+年\d+月\d+日時点のデータ/);
});

/** Flood label points (想定最大規模) of the tiles loaded at the default view: [lon, lat, rank]. */
async function floodPoints(page) {
  return page.evaluate(() => {
    const m = window.machimap.map;
    const out = new Map();
    for (const f of m.querySourceFeatures('machimap', { sourceLayer: 'flood_label' })) {
      const p = f.properties;
      if (p.scenario !== '想定最大規模' || !p.depth_rank) continue;
      const [lon, lat] = f.geometry.coordinates;
      out.set(f.id, { lon, lat, rank: p.depth_rank, fid: f.id });
    }
    return [...out.values()].sort((a, b) => a.fid - b.fid);
  });
}

/** Centre the map on a point at zoom 15 and wait for it to be drawn; returns its CSS pixel. */
async function centreOn(page, p) {
  await page.evaluate(({ lon, lat }) => window.machimap.map.jumpTo({ center: [lon, lat], zoom: 15 }), p);
  await settle(page);
  return page.evaluate(({ lon, lat }) => window.machimap.map.project([lon, lat]), p);
}

/**
 * The most frequent colour of a 5×5 patch of the map canvas around CSS pixel (x, y), as the
 * resident sees it: the canvas (premultiplied alpha) over the page's background behind it.
 */
async function canvasColour(page, x, y) {
  return page.evaluate(([x, y]) => new Promise((resolve) => {
    const m = window.machimap.map;
    m.once('render', () => {
      const gl = m.painter.context.gl;
      const r = m.getPixelRatio();
      const px = new Uint8Array(4 * 25);
      const cx = Math.round(x * r);
      const cy = gl.drawingBufferHeight - Math.round(y * r);
      gl.readPixels(cx - 2, cy - 2, 5, 5, gl.RGBA, gl.UNSIGNED_BYTE, px);
      const under = getComputedStyle(document.getElementById('main')).backgroundColor.match(/\d+/g).map(Number);
      const counts = new Map();
      for (let i = 0; i < 25; i++) {
        const a = px[4 * i + 3] / 255;
        const c = [0, 1, 2].map((j) => Math.round(px[4 * i + j] + under[j] * (1 - a)));
        const k = c.join(',');
        counts.set(k, (counts.get(k) || 0) + 1);
      }
      const best = [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0];
      resolve(best.split(',').map(Number));
    });
    m.triggerRepaint();
  }), [x, y]);
}

async function setLayer(page, group, on) {
  const box = page.locator(`#layer-${group}`);
  if ((await box.isChecked()) !== on) await box.click();
}

test('tiles draw the national flood colours at flooded spots', async () => {
  const { page } = b;
  await page.evaluate(() => { document.getElementById('layers-box').open = true; });
  for (const g of ['wards', 'roads', 'landslide', 'shelters']) await setLayer(page, g, false);
  const home = await page.evaluate(() => ({ center: window.machimap.map.getCenter(), zoom: window.machimap.map.getZoom() }));
  const pts = await floodPoints(page);
  assert.ok(pts.length > 0, 'flood zones are in the tiles of the default view');
  const bg = rgb(BACKGROUND);
  let matched = 0;
  const report = [];
  for (const p of pts.slice(0, 4)) {
    const px = await centreOn(page, p);
    const got = await canvasColour(page, px.x, px.y);
    const want = blend(rgb(FLOOD[p.rank - 1]), bg, FLOOD_OPACITY);
    report.push({ rank: p.rank, got, want });
    if (close(got, want)) matched += 1;
  }
  await page.evaluate((v) => window.machimap.map.jumpTo(v), home);
  await settle(page);
  assert.ok(matched >= Math.ceil(report.length / 2), JSON.stringify(report));
  // The 計画規模 switch changes what is drawn (a different set of zones).
  await page.click('#scenario-plan');
  await settle(page);
  const plan = await page.evaluate(() => window.machimap.map.getFilter('flood-fill'));
  assert.deepEqual(plan, ['==', ['get', 'scenario'], '計画規模']);
  await page.waitForFunction(() => /scenario=plan/.test(location.hash));
  await page.click('#scenario-max');
  await settle(page);
  for (const g of ['wards', 'roads', 'landslide', 'shelters']) await setLayer(page, g, true);
  await settle(page);
  await page.waitForFunction(() => /layers=flood,landslide,shelters,wards,roads(&|$)/.test(location.hash));
});

test('tapping a point in a flood zone tells the depth range from /api/risk', async () => {
  const { page } = b;
  const pts = await floodPoints(page);
  assert.ok(pts.length > 0);
  const box = await page.locator('#map canvas').boundingBox();
  await setLayer(page, 'shelters', false); // so that the tap cannot land on a shelter symbol
  let checked = 0;
  for (const p of pts.slice(0, 6)) {
    const px = await centreOn(page, p);
    const seq = await page.evaluate(() => Number(document.body.dataset.riskSeq || 0));
    await page.mouse.click(box.x + px.x, box.y + px.y);
    await page.waitForFunction((n) => Number(document.body.dataset.riskSeq || 0) > n, seq, { timeout: 15000 });
    const at = await page.evaluate(() => window.machimap.state.at);
    const truth = await getJson(`/api/risk?lat=${at[1].toFixed(6)}&lon=${at[0].toFixed(6)}&lang=ja`);
    const flood = truth.hazards.find((h) => h.hazard === 'flood');
    if (!flood.in_zone) continue; // the click landed on a shelter icon or just outside
    const text = await page.textContent('#info-body');
    const z = flood.zones[0];
    assert.ok(text.includes(z.depth_label), `panel should say ${z.depth_label}: ${text.slice(0, 400)}`);
    assert.ok(text.includes(flood.message), 'the action sentence from /api/risk is shown');
    assert.ok(text.includes('区域内'), 'in-zone status is in words, not only colour');
    const live = await page.getAttribute('#info-live', 'aria-live');
    assert.equal(live, 'polite');
    await page.waitForFunction(() => /at=/.test(location.hash));
    // The decision is read first: its sentence opens the live region and the panel, then its
    // reasons; the storeys control changes the answer.
    const primary = truth.hazards
      .filter((x) => x.decision && ['leave', 'upper_floor'].includes(x.decision.action))
      .sort((a, c) => (a.decision.action === 'leave' ? 0 : 1) - (c.decision.action === 'leave' ? 0 : 1))[0];
    assert.ok(primary, 'a decision for a point in a flood zone');
    const liveText = await page.textContent('#info-live');
    assert.ok(liveText.startsWith(primary.decision.text), `live region starts with the decision: ${liveText.slice(0, 200)}`);
    const order = await page.evaluate(() => [...document.querySelectorAll('#info-body > *')].map((e) => e.className || e.tagName));
    assert.equal(order[1], `decision ${primary.decision.action}`, order.join(' | '));
    assert.equal(await page.textContent('#info-body .decision-text'), primary.decision.text);
    const reasons = await page.locator('#info-body .reasons li').allTextContents();
    assert.deepEqual(reasons, primary.decision.reasons.map((x) => x.text));
    if (['flood', 'inland_flood', 'storm_surge'].includes(primary.hazard)) {
      assert.ok(primary.decision.floors_assumed && /2階建て/.test(primary.decision.text));
      const seq2 = await page.evaluate(() => Number(document.body.dataset.riskSeq || 0));
      await page.selectOption('#floors', '1');
      await page.waitForFunction((n) => Number(document.body.dataset.riskSeq || 0) > n, seq2, { timeout: 15000 });
      const one = await getJson(`/api/risk?lat=${at[1].toFixed(6)}&lon=${at[0].toFixed(6)}&lang=ja&floors=1`);
      const dec = one.hazards.find((x) => x.hazard === primary.hazard).decision;
      assert.equal(dec.floors, 1);
      assert.equal(dec.floors_assumed, false);
      const shown = await page.evaluate(() => window.machimap.state.risk.hazards.find((x) => x.decision && x.decision.floors === 1) != null);
      assert.ok(shown, 'the answer for one storey is shown');
      await page.waitForFunction(() => document.activeElement?.id === 'floors');
      await page.selectOption('#floors', '');
    }
    checked += 1;
    break;
  }
  assert.equal(checked, 1, 'one flooded point was checked');
  await setLayer(page, 'shelters', true);
  // Nearest shelters are listed with distance, designation, capacity and stockpile.
  const shelters = await page.locator('#info-body .shelter').count();
  assert.ok(shelters > 0);
  const first = await page.locator('#info-body .shelter').first().textContent();
  assert.match(first, /約[\d.]+k?m/);
  assert.match(first, /指定(緊急避難場所|避難所)/);
  assert.match(first, /備蓄|登録はありません/);
});

test('searching a shelter name (in hiragana) flies the map there and opens its details', async () => {
  const { page } = b;
  const res = await getJson(`/api/search?q=${encodeURIComponent('小学校')}&limit=5`);
  const target = res.results.find((r) => r.kind === 'shelter');
  assert.ok(target, 'the sample city has a 小学校 shelter');
  const detail = await getJson(`/api/shelters/${target.fid}`);
  const kana = detail.properties.name_kana || target.name;
  // Katakana → hiragana: the search must not care.
  const hira = kana.replace(/[\u30a1-\u30f6]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0x60));
  const truth = await getJson(`/api/search?q=${encodeURIComponent(hira)}&limit=8`);
  assert.equal(truth.results[0].fid, target.fid, `${hira} finds ${target.name} first`);
  await page.fill('#q', hira);
  await page.press('#q', 'Enter');
  await page.waitForFunction((name) => document.querySelector('#info-h')?.textContent === name, target.name, { timeout: 15000 });
  await idle(page);
  const c = await page.evaluate(() => window.machimap.map.getCenter());
  assert.ok(Math.abs(c.lng - target.lon) < 0.001 && Math.abs(c.lat - target.lat) < 0.001, JSON.stringify({ c, target }));
  const zoom = await page.evaluate(() => window.machimap.map.getZoom());
  assert.ok(zoom >= 15.5, `zoomed in (${zoom})`);
  const body = await page.textContent('#info-body');
  assert.ok(body.includes('備蓄品'), 'stockpile section');
  assert.ok(await page.locator(`a[href="/ogc/collections/shelters/items/${target.fid}"]`).count() === 1);
  assert.ok(await page.locator('a[href="/datasets/shelters.csv"]').count() === 1);
  if (detail.stockpile.length) {
    const rows = await page.locator('.stock-table tbody tr').count();
    assert.equal(rows, detail.stockpile.length);
  }
  await page.waitForFunction((fid) => location.hash.includes(`shelter=${fid}`), target.fid);
});

test('an address typed in the search box flies to the house and says which point it found', async () => {
  const { page } = b;
  const items = await getJson('/ogc/collections/addresses/items?precision=residence&limit=10');
  const house = items.features.find((f) => f.properties.precision === 'residence' && f.geometry);
  assert.ok(house, 'the sample city has residence points');
  const [lon, lat] = house.geometry.coordinates;
  // Written as residents write it: full-width digits and hyphens, no prefecture.
  const q = house.properties.address.replace('岡山県', '')
    .replace(/(\d+)番(\d+)号$/, (_, b1, r) => `${b1}－${r}`)
    .replace(/\d/g, (d) => String.fromCharCode(d.charCodeAt(0) + 0xfee0));
  await page.fill('#q', q);
  await page.press('#q', 'Enter');
  await page.waitForFunction(() => /住所 ・ 住居の位置/.test(document.querySelector('#search-results .r-kind')?.textContent || ''), null, { timeout: 15000 });
  await idle(page);
  const c = await page.evaluate(() => window.machimap.map.getCenter());
  assert.ok(Math.abs(c.lng - lon) < 0.001 && Math.abs(c.lat - lat) < 0.001, JSON.stringify({ c, lon, lat, q }));
});

test('the language switch changes the interface and the URL', async () => {
  const { page } = b;
  await page.selectOption('#lang', 'en');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  assert.match(await page.textContent('h1'), /Hazard Map/);
  assert.equal(await page.textContent('#search button[type=submit]'), 'Search');
  assert.match(await page.textContent('#asof'), /Data as of/);
  await page.waitForFunction(() => /[?&]lang=en/.test(location.search));
  await page.selectOption('#lang', 'easy');
  await page.waitForFunction(() => document.querySelector('#search button[type=submit]').textContent === 'さがす');
  await page.waitForFunction(() => /[?&]lang=easy/.test(location.search));
  await page.selectOption('#lang', 'ja');
  await page.waitForFunction(() => document.querySelector('#search button[type=submit]').textContent === '検索');
  assert.deepEqual(b.log.errors, []);
  assert.deepEqual(foreignRequests(b.log), []);
});

test('a shared URL restores language, view, layers and the checked place', async () => {
  const x = await browser({ width: 1280, height: 800 });
  try {
    const url = `${BASE}/?lang=en#map=15.00/34.61000/133.92000&layers=tsunami,shelters&scenario=plan&at=34.61000,133.92000`;
    await x.page.goto(url);
    await idle(x.page);
    assert.equal(await x.page.evaluate(() => document.documentElement.lang), 'en');
    const z = await x.page.evaluate(() => window.machimap.map.getZoom());
    assert.ok(Math.abs(z - 15) < 0.01);
    assert.equal(await x.page.isChecked('#layer-tsunami'), true);
    assert.equal(await x.page.isChecked('#layer-flood'), false);
    assert.equal(await x.page.isChecked('#scenario-plan'), true);
    await x.page.waitForFunction(() => document.querySelector('#info-body .hazards'));
    assert.match(await x.page.textContent('#info-h'), /Disaster risk/);
    assert.deepEqual(x.log.errors, []);
  } finally {
    await x.close();
  }
});

test('keyboard alone: Tab to the map, Enter checks the centre and focus moves to the answer', async () => {
  const x = await browser({ width: 1280, height: 800 });
  try {
    await x.page.goto(`${BASE}/`);
    await idle(x.page);
    let onMap = false;
    for (let i = 0; i < 40 && !onMap; i++) {
      await x.page.keyboard.press('Tab');
      onMap = await x.page.evaluate(() => document.activeElement?.classList.contains('maplibregl-canvas'));
    }
    assert.ok(onMap, 'the map can be reached with Tab');
    // A visible focus indicator on the map.
    const outline = await x.page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(outline, 'none');
    await x.page.keyboard.press('ArrowRight');
    await x.page.keyboard.press('Enter');
    await x.page.waitForFunction(() => document.activeElement?.id === 'info-h' && document.querySelector('#info-body .hazards'), null, { timeout: 15000 });
    const text = await x.page.textContent('#info-body');
    assert.ok(text.includes('洪水') && text.includes('土砂災害'), text.slice(0, 200));
    // Tab from the heading reaches the panel's controls: the decision's storeys control when
    // the centre is in a flood zone, else the buttons (read aloud / show on map).
    await x.page.keyboard.press('Tab');
    const tag = await x.page.evaluate(() => document.activeElement?.tagName);
    assert.ok(['BUTTON', 'SELECT'].includes(tag), tag);
    // The skip link leads to the panel too.
    await x.page.goto(`${BASE}/`);
    await idle(x.page);
    await x.page.keyboard.press('Tab');
    assert.equal(await x.page.evaluate(() => document.activeElement?.className), 'skip');
    await x.page.keyboard.press('Enter');
    assert.equal(await x.page.evaluate(() => document.activeElement?.id), 'info');
    assert.deepEqual(x.log.errors, []);
  } finally {
    await x.close();
  }
});

test('print: one A4 page with the map view and the legend', async () => {
  const x = await browser({ width: 1280, height: 800 });
  try {
    await x.page.goto(`${BASE}/`);
    await idle(x.page);
    await x.page.click('#check-center');
    await x.page.waitForFunction(() => document.querySelector('#info-body .hazards'));
    await x.page.emulateMedia({ media: 'print' });
    await x.page.evaluate(() => window.dispatchEvent(new Event('beforeprint')));
    const shown = await x.page.evaluate(() => {
      const img = document.getElementById('print-img');
      const legend = document.getElementById('legend-body');
      return {
        img: !!img && img.src.startsWith('data:image/png') && img.src.length > 10000 && getComputedStyle(img).display !== 'none',
        legend: !!legend && legend.getBoundingClientRect().height > 50,
        search: getComputedStyle(document.getElementById('search')).display,
      };
    });
    assert.deepEqual(shown, { img: true, legend: true, search: 'none' });
    const pdf = await x.page.pdf({ format: 'A4', printBackground: true });
    const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) || []).length;
    assert.equal(pages, 1, `printed ${pages} pages`);
  } finally {
    await x.close();
  }
});

test('"my location" asks the Geolocation API and checks that place', async () => {
  const here = { latitude: 34.612, longitude: 133.918 };
  const x = await browser({ width: 1280, height: 800, geolocation: here, permissions: ['geolocation'] });
  try {
    await x.page.goto(`${BASE}/`);
    await idle(x.page);
    await x.page.click('#locate');
    await x.page.waitForFunction(() => document.activeElement?.id === 'info-h' && document.querySelector('#info-body .hazards'), null, { timeout: 15000 });
    const at = await x.page.evaluate(() => window.machimap.state.at);
    assert.ok(Math.abs(at[0] - here.longitude) < 1e-6 && Math.abs(at[1] - here.latitude) < 1e-6, JSON.stringify(at));
    const truth = await getJson(`/api/risk?lat=${here.latitude}&lon=${here.longitude}`);
    assert.ok((await x.page.textContent('#info-body')).includes(truth.summary));
    assert.deepEqual(x.log.errors, []);
  } finally {
    await x.close();
  }
});
