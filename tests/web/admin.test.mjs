// The staff console in a real Chromium, seen from the resident map: a shelter status set in the
// console reaches an already-open resident page within 5 s; a shelters upload with bad rows is
// rejected naming them, the fixed file is previewed, published, found by residents, and rolled
// back. Only the console's real forms are used (their CSRF tokens included).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  BASE, browser, idle, getJson, addStaffUser, adminLogin,
} from './support.mjs';

const EDITOR = { name: 'web-editor', password: 'editor-pass-0123', role: 'editor' };
const ADMIN = { name: 'web-admin', password: 'admin-pass-0123', role: 'admin' };

let staff; // editor's browser (console)
let boss; // admin's browser (console)

before(async () => {
  await addStaffUser(EDITOR);
  await addStaffUser(ADMIN);
  staff = await browser({ width: 1280, height: 900 });
  await adminLogin(staff.page, EDITOR);
});

after(async () => {
  await staff?.close();
  await boss?.close();
});

/** The first published shelter with a name and a point. */
async function aShelter() {
  const fc = await getJson('/ogc/collections/shelters/items?limit=20&f=json');
  const f = fc.features.find((x) => x.properties?.name && x.geometry?.type === 'Point');
  assert.ok(f, 'a published shelter');
  const fid = Number(f.id ?? f.properties.fid);
  return { fid, name: f.properties.name, lon: f.geometry.coordinates[0], lat: f.geometry.coordinates[1] };
}

test('(b) a status set in the console shows on an already-open resident page within 5 s', async () => {
  const s = await aShelter();
  const res = await browser({ width: 1280, height: 800 });
  try {
    // The resident checks the shelter's own spot: it heads the nearest shelters.
    await res.page.goto(`${BASE}/#at=${s.lat.toFixed(5)},${s.lon.toFixed(5)}`);
    await idle(res.page);
    const line = res.page.locator(`#info-body li.shelter .live-status[data-status-fid="${s.fid}"]`).first();
    await line.waitFor({ timeout: 20000 });
    assert.doesNotMatch(await line.textContent(), /満員/);

    // The editor marks it full with 42 evacuees, through the console's form.
    await staff.page.goto(`${BASE}/admin/shelters?q=${encodeURIComponent(s.name)}`);
    const form = staff.page.locator(`form[action="/admin/shelters/${s.fid}/status"]`);
    await form.locator('select[name="status"]').selectOption('full');
    await form.locator('input[name="evacuees"]').fill('42');
    const t0 = Date.now();
    await Promise.all([staff.page.waitForNavigation(), form.locator('button[type="submit"]').click()]);
    assert.match(await staff.page.locator(`#s${s.fid}`).locator('..').textContent(), /満員/);
    const pub = await getJson('/api/shelter-status');
    assert.ok(pub.shelters.some((x) => Number(x.fid) === s.fid && x.status === 'full' && x.evacuees === 42), 'published status');

    // The resident's list updates in place, with words and a shape, and it is announced.
    await res.page.waitForFunction((fid) => {
      const el = document.querySelector(`#info-body li.shelter .live-status[data-status-fid="${fid}"]`);
      return el && /満員/.test(el.textContent) && /42/.test(el.textContent);
    }, s.fid, { timeout: 5000 });
    assert.ok(Date.now() - t0 <= 5500, `seen after ${Date.now() - t0} ms`);
    assert.ok(await line.locator('.status-icon[aria-hidden="true"]').count(), 'an icon besides the words');
    assert.match(await res.page.locator('#info-live').textContent(), /満員/);

    // The shelter detail shows it too, and follows the next change (閉鎖) in place.
    await res.page.goto(`${BASE}/#shelter=${s.fid}`);
    await res.page.reload();
    const dd = res.page.locator(`#info-body dd.live-status[data-status-fid="${s.fid}"]`);
    await dd.waitFor({ timeout: 20000 });
    await res.page.waitForFunction((fid) => /満員/.test(document.querySelector(`dd[data-status-fid="${fid}"]`)?.textContent || ''), s.fid, { timeout: 5000 });
    await staff.page.goto(`${BASE}/admin/shelters?q=${encodeURIComponent(s.name)}`);
    await form.locator('select[name="status"]').selectOption('closed');
    await form.locator('input[name="evacuees"]').fill('0');
    await Promise.all([staff.page.waitForNavigation(), form.locator('button[type="submit"]').click()]);
    await res.page.waitForFunction((fid) => /閉鎖/.test(document.querySelector(`dd[data-status-fid="${fid}"]`)?.textContent || ''), s.fid, { timeout: 5000 });
    assert.deepEqual(res.log.errors, []);
  } finally {
    await res.close();
  }
});

// ---------- (a) upload → report → fix → preview → publish → resident search → roll back ----------

const NEW_NAME = 'マチマップテスト';
// CP932 of マチマップテスト (katakana only, so no encoder is needed).
const NEW_NAME_CP932 = Buffer.from([0x83, 0x7d, 0x83, 0x60, 0x83, 0x7d, 0x83, 0x62, 0x83, 0x76, 0x83, 0x65, 0x83, 0x58, 0x83, 0x67]);

/**
 * The sample shelters CSV (CP932) as lines of fields of bytes. Shift_JIS trail bytes are never
 * `,` or `\n`, so splitting the bytes is safe for this unquoted file.
 */
function sampleCsv() {
  const file = path.join(process.env.MACHIMAP_WORK, 'sample', 'shelters_339997_evacuation_space.csv');
  const bytes = readFileSync(file);
  const lines = [];
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      if (i > start) lines.push(bytes.subarray(start, i));
      start = i + 1;
    }
  }
  const split = (line) => {
    const out = [];
    let s = 0;
    for (let i = 0; i <= line.length; i++) {
      if (i === line.length || line[i] === 0x2c) { out.push(line.subarray(s, i)); s = i + 1; }
    }
    return out;
  };
  const rows = lines.map(split);
  const dec = new TextDecoder('shift_jis');
  const header = rows[0].map((f) => dec.decode(f).replace(/\r$/, '').replace(/^\uFEFF/, ''));
  const nameCol = header.indexOf('名称');
  assert.ok(nameCol >= 0, `名称 column in ${header.join(',')}`);
  return { rows, nameCol, dec };
}

function joinCsv(rows) {
  const parts = [];
  rows.forEach((r, i) => {
    r.forEach((f, j) => { if (j) parts.push(Buffer.from(',')); parts.push(Buffer.from(f)); });
    parts.push(Buffer.from('\n'));
  });
  return Buffer.concat(parts);
}

async function upload(page, file) {
  await page.goto(`${BASE}/admin/datasets/shelters`);
  await page.locator('form[action="/admin/datasets/shelters/upload"] input[type="file"]').setInputFiles(file);
  await Promise.all([
    page.waitForNavigation(),
    page.locator('form[action="/admin/datasets/shelters/upload"] button[type="submit"]').click(),
  ]);
}

async function residentSearch(page, q) {
  await page.evaluate(() => document.getElementById('search-results').replaceChildren());
  await page.fill('#q', q);
  await page.press('#q', 'Enter');
  await page.waitForFunction(() => document.querySelector('#search-results [role="status"]'), null, { timeout: 10000 });
  return page.locator('#search-results').textContent();
}

test('(a) upload with two bad rows → report → fixed file → preview → publish → resident finds it → roll back', async () => {
  const { rows, nameCol, dec } = sampleCsv();
  assert.ok(rows.length >= 5, 'sample rows');
  const dir = process.env.MACHIMAP_WORK;

  // Two rows without their required 名称 (data rows 2 and 4).
  const bad = rows.map((r) => r.slice());
  bad[2][nameCol] = Buffer.alloc(0);
  bad[4][nameCol] = Buffer.alloc(0);
  const badFile = path.join(dir, 'shelters_bad.csv');
  writeFileSync(badFile, joinCsv(bad));

  // The fixed file: the original with one shelter renamed.
  const oldName = dec.decode(rows[3][nameCol]);
  const fixed = rows.map((r) => r.slice());
  fixed[3][nameCol] = NEW_NAME_CP932;
  assert.equal(dec.decode(fixed[3][nameCol]), NEW_NAME);
  const fixedFile = path.join(dir, 'shelters_339997_evacuation_space.csv');
  writeFileSync(fixedFile, joinCsv(fixed));

  const p = staff.page;
  const before = (await getJson('/api/search?q=' + encodeURIComponent(NEW_NAME) + '&limit=8')).results;
  assert.equal(before.filter((x) => x.name === NEW_NAME).length, 0, 'not there before');

  // The version published now, to roll back to at the end.
  await p.goto(`${BASE}/admin/datasets/shelters`);
  const prev = Number(await p.locator('#hist').locator('..').locator('tbody tr', { hasText: '公開中 / published' }).locator('th').first().textContent());
  assert.ok(prev > 0, 'a published version');

  // Rejected: the report names both rows.
  await upload(p, badFile);
  const report = p.locator('#rep').locator('..');
  const text = await report.textContent();
  assert.match(await p.locator('[role="alert"]').first().textContent(), /取り込みませんでした/);
  const errRows = await report.locator('tbody tr.error').allTextContents();
  assert.ok(errRows.length >= 2, `two error rows in the report: ${errRows.join(' | ')}`);
  const where = errRows.map((r) => (r.match(/(\d+)行目/) || [])[1]).filter(Boolean);
  assert.ok(new Set(where).size >= 2, `two different rows named: ${text}`);
  assert.ok(errRows.some((r) => /名称/.test(r)), 'the 名称 column is named');

  // The fixed file is staged; its preview shows the rename; publish it.
  await upload(p, fixedFile);
  assert.match(p.url(), /\/admin\/datasets\/shelters\/versions\/\d+\?done=staged/);
  const version = Number(p.url().match(/versions\/(\d+)/)[1]);
  const preview = await p.locator('#pre').locator('..').textContent();
  assert.match(preview, new RegExp(NEW_NAME));
  const publish = p.locator(`form[action="/admin/datasets/shelters/versions/${version}/publish"] button`);
  await Promise.all([p.waitForNavigation(), publish.click()]);
  assert.match(p.url(), /done=published/);

  // A resident finds the renamed shelter.
  const res = await browser({ width: 1280, height: 800 });
  try {
    await res.page.goto(`${BASE}/`);
    await idle(res.page);
    assert.match(await residentSearch(res.page, NEW_NAME), new RegExp(NEW_NAME));
    await res.page.locator('#search-results button.result', { hasText: NEW_NAME }).first().waitFor();

    // An admin rolls back to the version before.
    boss = await browser({ width: 1280, height: 900 });
    await adminLogin(boss.page, ADMIN);
    await boss.page.goto(`${BASE}/admin/datasets/shelters`);
    const rb = boss.page.locator(`form[action="/admin/datasets/shelters/versions/${prev}/rollback"]`);
    assert.ok(await rb.count(), 'a rollback button for the admin');
    await Promise.all([boss.page.waitForNavigation(), rb.locator('button').click()]);
    assert.match(boss.page.url(), /done=rollback/);

    // The renamed shelter is gone for residents, the old name is back.
    const after = await residentSearch(res.page, NEW_NAME);
    assert.equal(await res.page.locator('#search-results button.result', { hasText: NEW_NAME }).count(), 0, after);
    const gone = (await getJson('/api/search?q=' + encodeURIComponent(NEW_NAME) + '&limit=8')).results;
    assert.equal(gone.filter((x) => x.name === NEW_NAME).length, 0, 'gone after the rollback');
    if (oldName) {
      const back = (await getJson('/api/search?q=' + encodeURIComponent(oldName) + '&limit=8')).results;
      assert.ok(back.some((x) => x.name === oldName), `${oldName} is back`);
    }
    assert.deepEqual(res.log.errors, []);
  } finally {
    await res.close();
  }
});
