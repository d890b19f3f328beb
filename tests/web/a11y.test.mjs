// Accessibility: axe-core finds nothing on the map, the risk panel and the shelter detail
// (desktop and phone), no horizontal scroll at 320 px, touch targets of at least 44 px.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, browser, idle, getJson, requireWeb } from './support.mjs';

const AxeBuilder = requireWeb('@axe-core/playwright').default;
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];

async function axe(page, what) {
  const r = await new AxeBuilder({ page }).withTags(TAGS).analyze();
  const v = r.violations.map((x) => ({ id: x.id, impact: x.impact, help: x.help, nodes: x.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  assert.deepEqual(v, [], `${what}: ${JSON.stringify(v, null, 1)}`);
}

for (const [w, h, name] of [[1280, 800, 'desktop'], [360, 740, 'phone']]) {
  test(`axe: 0 violations on the map, the risk panel and the shelter detail (${name})`, async () => {
    const b = await browser({ width: w, height: h });
    try {
      await b.page.goto(`${BASE}/`);
      await idle(b.page);
      await axe(b.page, 'map');
      await b.page.click('#check-center');
      await b.page.waitForFunction(() => document.querySelector('#info-body .hazards'));
      await axe(b.page, 'risk panel');
      const res = await getJson(`/api/search?q=${encodeURIComponent('小学校')}&limit=1`);
      await b.page.fill('#q', res.results[0].name);
      await b.page.press('#q', 'Enter');
      await b.page.waitForFunction((n) => document.querySelector('#info-h')?.textContent === n, res.results[0].name);
      await idle(b.page);
      await axe(b.page, 'shelter detail');
      for (const lang of ['en', 'easy']) {
        await b.page.selectOption('#lang', lang);
        await b.page.waitForFunction(() => !document.getElementById('info').hasAttribute('aria-busy'));
        await axe(b.page, `shelter detail (${lang})`);
      }
      assert.deepEqual(b.log.errors, []);
    } finally {
      await b.close();
    }
  });
}

test('no horizontal scroll at 320 px, and touch targets are at least 44 px', async () => {
  const b = await browser({ width: 320, height: 640 });
  try {
    await b.page.goto(`${BASE}/`);
    await idle(b.page);
    await b.page.click('#check-center');
    await b.page.waitForFunction(() => document.querySelector('#info-body .hazards'));
    const sizes = await b.page.evaluate(() => {
      const de = document.documentElement;
      const small = [];
      for (const el of document.querySelectorAll('button, select, input[type=search], summary, .maplibregl-ctrl-group button')) {
        const r = el.getBoundingClientRect();
        if (r.width === 0 && r.height === 0) continue; // not shown
        if (el.classList.contains('maplibregl-ctrl-attrib-button')) continue; // map attribution toggle (MapLibre's own)
        if (r.height < 44 || r.width < 44) small.push(`${el.tagName}#${el.id}.${el.className} ${Math.round(r.width)}×${Math.round(r.height)}`);
      }
      for (const el of document.querySelectorAll('#layer-list label')) {
        const r = el.closest('li').getBoundingClientRect();
        if (r.height < 44) small.push(`layer row ${el.textContent} ${Math.round(r.height)}`);
      }
      return { scroll: de.scrollWidth, client: de.clientWidth, small };
    });
    assert.ok(sizes.scroll <= sizes.client, `page is ${sizes.scroll} px wide in a ${sizes.client} px viewport`);
    assert.deepEqual(sizes.small, []);
  } finally {
    await b.close();
  }
});

test('reduced motion: flights become jumps', async () => {
  const b = await browser({ width: 1280, height: 800, reducedMotion: 'reduce' });
  try {
    await b.page.goto(`${BASE}/`);
    await idle(b.page);
    const res = await getJson(`/api/search?q=${encodeURIComponent('公園')}&limit=1`);
    const hit = res.results[0] || (await getJson(`/api/search?q=${encodeURIComponent('小学校')}&limit=1`)).results[0];
    await b.page.fill('#q', hit.name);
    await b.page.press('#q', 'Enter');
    // No animation: the centre is there right after the answer is drawn.
    await b.page.waitForFunction((n) => document.querySelector('#info-h')?.textContent === n, hit.name);
    const c = await b.page.evaluate(() => window.machimap.map.getCenter());
    assert.ok(Math.abs(c.lng - hit.lon) < 0.001 && Math.abs(c.lat - hit.lat) < 0.001);
  } finally {
    await b.close();
  }
});
