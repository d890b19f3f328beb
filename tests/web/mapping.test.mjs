// The console's column mapping in a real Chromium: a shelter list whose headers machimap does
// not know is refused with a report listing its columns and a mapping form; the clerk maps the
// columns once, the file publishes; next month's file of the same layout publishes with no
// form. Ends by rolling back to the sample city's shelters for the tests after this one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { BASE, browser, getJson, addStaffUser, adminLogin } from './support.mjs';

const ADMIN = { name: 'web-mapper', password: 'mapper-pass-0123', role: 'admin' };
const HEADER = 'SAUID,SAFIELD001,SAFIELD002,ITEM003,ITEM004,ITEM005';

let staff;

before(async () => {
  await addStaffUser(ADMIN);
  staff = await browser({ width: 1280, height: 900 });
  await adminLogin(staff.page, ADMIN);
});

after(async () => {
  await staff?.close();
});

async function upload(page, file) {
  await page.goto(`${BASE}/admin/datasets/shelters`);
  const form = page.locator('form[action="/admin/datasets/shelters/upload"]').first();
  await form.locator('input[type="file"]').setInputFiles(file);
  await Promise.all([page.waitForNavigation(), form.locator('button[type="submit"]').click()]);
}

async function publishFromVersionPage(page) {
  assert.match(page.url(), /\/admin\/datasets\/shelters\/versions\/\d+\?done=staged/, page.url());
  const version = Number(page.url().match(/versions\/(\d+)/)[1]);
  const publish = page.locator(`form[action="/admin/datasets/shelters/versions/${version}/publish"] button`);
  await Promise.all([page.waitForNavigation(), publish.click()]);
  assert.match(page.url(), /done=published/);
  return version;
}

async function shelters() {
  const fc = await getJson('/ogc/collections/shelters/items?limit=1000&f=json');
  return new Map(fc.features.map((f) => [f.properties.name, f.properties]));
}

test('an unknown layout is mapped once in the console and the next upload needs no form', async () => {
  const dir = process.env.MACHIMAP_WORK;
  const p = staff.page;
  await p.goto(`${BASE}/admin/datasets/shelters`);
  const prev = Number(await p.locator('#hist').locator('..').locator('tbody tr', { hasText: '公開中 / published' }).locator('th').first().textContent());
  assert.ok(prev > 0, 'a published version to come back to');

  const first = path.join(dir, 'export_2026_11.csv');
  writeFileSync(first, `${HEADER}\n1,港ビル,サンプル市港町1-1,34.6012,133.9401,可\n2,山手の丘,サンプル市山手5,34.7000,133.9500,条件付\n`);

  // Refused, with the columns found and a form to map them.
  await upload(p, first);
  assert.match(await p.locator('[role="alert"]').first().textContent(), /取り込みませんでした/);
  const form = p.locator('#mapping-form');
  await form.waitFor();
  assert.match(await p.locator('#map').locator('..').textContent(), /港ビル/, 'first values shown');
  const row = (h) => form.locator('tr', { has: p.locator(`input[type="hidden"][value="${h}"]`) });
  for (const [h, t] of [['SAUID', 'ID'], ['SAFIELD001', '名称'], ['SAFIELD002', '住所'], ['ITEM003', '緯度'], ['ITEM004', '経度'], ['ITEM005', '災害種別_津波']]) {
    await row(h).locator('select').selectOption(t);
  }
  await row('ITEM005').locator('input[name^="y"]').fill('可');
  await row('ITEM005').locator('input[name^="c"]').fill('条件付');
  await form.locator('input[type="file"]').setInputFiles(first);
  await Promise.all([p.waitForNavigation(), form.locator('button[type="submit"]').click()]);
  await publishFromVersionPage(p);
  let by = await shelters();
  assert.equal(by.size, 2);
  assert.equal(by.get('港ビル').tsunami, true);
  assert.equal(by.get('山手の丘').tsunami, null);
  assert.equal(by.get('山手の丘').conditional, 'tsunami');

  // Next month: same headers, one more row, no mapping given: staged straight away.
  const second = path.join(dir, 'export_2026_12.csv');
  writeFileSync(second, `${HEADER}\n1,港ビル,サンプル市港町1-1,34.6012,133.9401,可\n2,山手の丘,サンプル市山手5,34.7000,133.9500,可\n3,浜の塔,サンプル市浜町2,34.5950,133.9600,可\n`);
  await upload(p, second);
  assert.equal(await p.locator('#mapping-form').count(), 0, 'no mapping form the second time');
  const v = await publishFromVersionPage(p);
  by = await shelters();
  assert.equal(by.size, 3);
  assert.equal(by.get('浜の塔').tsunami, true);
  // The version's report says which mapping it was read with.
  await p.goto(`${BASE}/admin/datasets/shelters/versions/${v}`);
  assert.match(await p.locator('body').textContent(), /列の対応付けを適用しました/);

  // Back to the sample city's shelters for the tests that follow.
  await p.goto(`${BASE}/admin/datasets/shelters`);
  const rb = p.locator(`form[action="/admin/datasets/shelters/versions/${prev}/rollback"]`);
  await Promise.all([p.waitForNavigation(), rb.locator('button').click()]);
  assert.match(p.url(), /done=rollback/);
  // No script errors (the refused upload's 422 and a missing favicon are resource loads).
  assert.deepEqual(staff.log.errors.filter((e) => !/Failed to load resource/.test(e)), []);
});
