// scripts/screenshots: the resident map at 360×740 and 1280×800, after checking a place in a
// flood zone, written to the folder given as the first argument.
import path from 'node:path';
import { BASE, browser, idle, getJson } from './support.mjs';

const outDir = process.argv[2];
if (!outDir) throw new Error('usage: node screenshots.mjs OUT_DIR');

/** A place in a deep-ish 想定最大規模 flood zone with a shelter list: found through the API. */
async function floodedPlace(page) {
  const pts = await page.evaluate(() => {
    const m = window.machimap.map;
    return m.querySourceFeatures('machimap', { sourceLayer: 'flood_label' })
      .filter((f) => f.properties.scenario === '想定最大規模' && f.properties.depth_rank >= 2)
      .map((f) => ({ lon: f.geometry.coordinates[0], lat: f.geometry.coordinates[1], rank: f.properties.depth_rank }));
  });
  for (const p of pts.sort((a, b) => a.rank - b.rank)) {
    const r = await getJson(`/api/risk?lat=${p.lat}&lon=${p.lon}`);
    const fl = r.hazards.find((h) => h.hazard === 'flood');
    if (fl.in_zone && fl.shelters.length) return p;
  }
  return pts[0];
}

for (const [w, h] of [[1280, 800], [360, 740]]) {
  const b = await browser({ width: w, height: h, deviceScaleFactor: 1 });
  try {
    await b.page.goto(`${BASE}/`);
    await idle(b.page);
    const p = await floodedPlace(b.page);
    const zoom = w < 700 ? 13.6 : 14.2;
    await b.page.goto(`${BASE}/#map=${zoom}/${p.lat}/${p.lon}&at=${p.lat},${p.lon}`);
    await b.page.reload();
    await idle(b.page);
    await b.page.waitForFunction(() => document.querySelector('#info-body .hazards'));
    if (w < 700) {
      // On a phone the answer is under the map: show the bottom of the map and the answer.
      await b.page.evaluate(() => window.scrollTo(0, document.querySelector('main').offsetTop + document.querySelector('main').offsetHeight - 390));
    }
    await idle(b.page);
    const file = path.join(outDir, `map-${w}x${h}.png`);
    await b.page.screenshot({ path: file });
    console.log(`wrote ${file}`);
    if (b.log.errors.length) console.error(b.log.errors.join('\n'));
  } finally {
    await b.close();
  }
}
