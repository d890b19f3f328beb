// The resident map in each of its eight languages on a 360 px phone: an address typed into the
// search box gives the evacuation decision in three actions (tap the box, type, Enter), said first
// in the panel and in the live region in that language; axe finds nothing; "Print my card" makes
// exactly one A4 page. Accept-Language picks the language; the page's own switch wins.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  BASE, ROOT, browser, idle, getJson, requireWeb, foreignRequests,
} from './support.mjs';

const LANGS = ['ja', 'en', 'easy', 'zh-Hans', 'zh-Hant', 'ko', 'vi', 'pt'];
const HTML_LANG = { ja: 'ja', en: 'en', easy: 'ja', 'zh-Hans': 'zh-Hans', 'zh-Hant': 'zh-Hant', ko: 'ko', vi: 'vi', pt: 'pt-BR' };
const STRINGS = Object.fromEntries(LANGS.map((l) => [l, JSON.parse(readFileSync(path.join(ROOT, `web/src/strings/${l}.json`), 'utf8'))]));
/** The risk sentences as key → { lang: sentence } (one file per language on disk). */
const DECISION = (() => {
  const out = {};
  for (const l of LANGS) {
    const m = JSON.parse(readFileSync(path.join(ROOT, `crates/risk/src/sentences/${l}.json`), 'utf8'));
    for (const [k, v] of Object.entries(m)) (out[k] ||= {})[l] = v;
  }
  return out;
})();
const AxeBuilder = requireWeb('@axe-core/playwright').default;
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];

/** The decision sentences of `lang`, each a pattern the answer must start with (a placeholder
 * matches any text). */
function decisionPatterns(lang) {
  return Object.entries(DECISION)
    .filter(([k]) => k.startsWith('decision.') && k !== 'decision.assumed')
    .map(([, v]) => new RegExp(`^${v[lang].split(/\{\w+\}/).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.+?')}`));
}

/** A house of the sample city whose home must do something about a flood, and its address as a
 * resident types it (no prefecture, full-width digits, 1－2 for 1番2号). */
async function houseInZone() {
  const items = await getJson('/ogc/collections/addresses/items?precision=residence&limit=300');
  for (const f of items.features) {
    if (!f.geometry || f.properties.precision !== 'residence') continue;
    const [lon, lat] = f.geometry.coordinates;
    const r = await getJson(`/api/risk?lat=${lat}&lon=${lon}&lang=ja`);
    if (r.hazards.some((h) => h.decision && h.decision.action !== 'none')) {
      const q = f.properties.address.replace('岡山県', '')
        .replace(/(\d+)番(\d+)号$/, (_, b1, n) => `${b1}－${n}`)
        .replace(/\d/g, (d) => String.fromCharCode(d.charCodeAt(0) + 0xfee0));
      return { q, lon, lat };
    }
  }
  throw new Error('no residence of the sample city lies in a zone with a decision');
}

/** The face each language's text must be drawn in (fonts-noto-cjk's faces; vi and pt mostly
 * in a Latin face, so their diacritics take Latin forms, with place names in a CJK one). */
const FACE = {
  ja: /CJK JP/, easy: /CJK JP/, 'zh-Hans': /CJK SC/, 'zh-Hant': /CJK TC/, ko: /CJK KR/,
};

/** The fonts Chromium really drew the first `selector` with: [{ familyName, glyphCount }]. */
async function drawnFonts(page, selector) {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send('DOM.enable');
    await cdp.send('CSS.enable');
    const { root } = await cdp.send('DOM.getDocument', { depth: -1 });
    const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector });
    const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId });
    return fonts;
  } finally {
    await cdp.detach();
  }
}

/** Pages of a PDF: `/Type /Page` objects, not the `/Pages` tree. */
function pdfPages(buf) {
  return (buf.toString('latin1').match(/\/Type\s*\/Page(?![a-zA-Z])/g) || []).length;
}

/** Where each language's answer is captured (kept by CI as an artifact folder). */
const SHOTS = process.env.SCREENSHOT_DIR || path.join(ROOT, 'target', 'web-shots');

let b;
let house;
const measured = [];

before(async () => {
  house = await houseInZone();
  b = await browser({ width: 360, height: 740 });
  mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  if (measured.length) console.log(`# languages: ${JSON.stringify(measured)}`);
  await b?.close();
});

for (const lang of LANGS) {
  test(`${lang}: address to decision in three actions at 360 px, axe clean, one-page card`, async () => {
    const { page } = b;
    await page.goto(`${BASE}/?lang=${encodeURIComponent(lang)}`);
    await idle(page);
    assert.equal(await page.evaluate(() => document.documentElement.lang), HTML_LANG[lang]);
    assert.equal(await page.textContent('#search button[type=submit]'), STRINGS[lang].search_button);
    let actions = 0;
    await page.tap('#q').catch(() => page.click('#q'));
    actions += 1;
    await page.keyboard.type(house.q);
    actions += 1;
    await page.keyboard.press('Enter');
    actions += 1;
    await page.waitForFunction(() => document.querySelector('#info-body .decision .decision-text'), null, { timeout: 20000 });
    assert.ok(actions <= 3, `${actions} actions`);
    // The decision is the first thing after the heading, and the first thing the live region says.
    const first = await page.evaluate(() => {
      const body = document.getElementById('info-body');
      return {
        second: body.children[1]?.className || '',
        text: body.querySelector('.decision-text').textContent,
        heading: body.querySelector('#decision-h').textContent,
        live: document.getElementById('info-live').textContent,
        action: [...body.querySelector('.decision').classList].find((c) => c !== 'decision'),
      };
    });
    assert.match(first.second, /\bdecision\b/, 'the decision comes right after the heading');
    assert.ok(first.live.startsWith(first.text), `live region starts with the decision: ${first.live.slice(0, 80)}`);
    assert.ok(decisionPatterns(lang).some((re) => re.test(first.text)), `${lang}: ${first.text}`);
    assert.ok(first.heading.startsWith(STRINGS[lang][`decision_${first.action}`]), first.heading);
    // Not another language's sentence (easy and ja differ too).
    for (const other of LANGS.filter((l) => l !== lang)) {
      assert.ok(!decisionPatterns(other).some((re) => re.test(first.text)), `${lang} shows the ${other} sentence: ${first.text}`);
    }
    // Only the language's own strings in the panel's fixed texts.
    assert.equal(await page.textContent('#info-h'), STRINGS[lang].risk_heading);
    // When to start, under the answer, in the same language.
    const start = await page.textContent('#info-body .decision .decision-start');
    const starts = Object.entries(DECISION).filter(([k]) => k.startsWith('start.')).map(([, v]) => v[lang]);
    assert.ok(starts.includes(start), `${lang}: ${start}`);
    // Left to right, and drawn in the language's own face (what the screenshots show).
    assert.equal(await page.evaluate(() => getComputedStyle(document.getElementById('info-body')).direction), 'ltr');
    const fonts = await drawnFonts(page, '#info-body .decision .decision-text');
    const families = fonts.map((f) => f.familyName);
    assert.ok(fonts.length > 0 && fonts.every((f) => f.familyName && f.glyphCount > 0), JSON.stringify(fonts));
    if (FACE[lang]) {
      assert.ok(families.some((f) => FACE[lang].test(f)), `${lang} drawn in ${families}`);
    } else if (lang !== 'en') {
      // Most glyphs in a Latin face; the Japanese place names in the text take a CJK one.
      const most = [...fonts].sort((a, b) => b.glyphCount - a.glyphCount)[0].familyName;
      assert.ok(!/CJK/.test(most), `${lang} drawn mostly in ${most} (${JSON.stringify(fonts)})`);
    }
    await page.screenshot({ path: path.join(SHOTS, `answer-${lang}-360.png`) });
    // Shelter names stay in Japanese; beyond ja and en their kana reading follows when the data
    // has one.
    const names = await page.$$eval('#info-body .shelter-name', (els) => els.map((e) => e.textContent));
    const risk = await getJson(`/api/risk?lat=${house.lat}&lon=${house.lon}&lang=${encodeURIComponent(lang)}`);
    const kana = risk.hazards.flatMap((x) => x.shelters || []).filter((x) => x.name_kana && x.name_kana !== x.name);
    if (!['ja', 'en'].includes(lang) && kana.length && names.length) {
      assert.ok(names.some((n) => kana.some((x) => n === `${x.name}（${x.name_kana}）`)), `${lang}: ${names.join(' / ')}`);
    }

    const axe = await new AxeBuilder({ page }).withTags(TAGS).analyze();
    const v = axe.violations.map((x) => ({ id: x.id, nodes: x.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
    assert.deepEqual(v, [], `${lang}: ${JSON.stringify(v)}`);

    // My hazard card: one A4 page with the decision and up to two shelters per hazard.
    await page.evaluate(() => { window.print = () => {}; });
    await page.click('#print-card');
    await page.waitForFunction(() => document.body.dataset.card === 'ready', null, { timeout: 20000 });
    const card = await page.evaluate(() => {
      const c = document.getElementById('card');
      return {
        decision: c.querySelector('.card-decision-text')?.textContent,
        start: c.querySelector('.card-decision-start')?.textContent,
        head: c.textContent,
        groups: [...c.querySelectorAll('.card-group')].map((g) => g.querySelectorAll('.card-shelters li').length),
        sketches: c.querySelectorAll('.card-shelters svg line').length,
        img: c.querySelector('.card-map')?.naturalWidth || 0,
        dist: c.querySelector('.card-dist')?.textContent || '',
      };
    });
    assert.equal(card.decision, first.text);
    assert.equal(card.start, start);
    // The date of the data, in the language's words.
    const asOf = STRINGS[lang].data_as_of.split('{date}').map((x) => x.trim()).filter(Boolean);
    assert.ok(asOf.every((x) => card.head.includes(x)), `${lang}: the card says the data's date`);
    assert.ok(card.groups.length > 0 && card.groups.every((n) => n >= 1 && n <= 2), JSON.stringify(card.groups));
    assert.equal(card.sketches, card.groups.reduce((a, n) => a + n, 0));
    assert.ok(card.img > 0, 'the map image is in the card');
    const dirs = ['n', 'ne', 'e', 'se', 's', 'sw', 'w', 'nw'].map((d) => STRINGS[lang][`dir_${d}`]);
    assert.ok(dirs.some((d) => card.dist.includes(d)), `${lang}: ${card.dist}`);
    const pdf = await page.pdf({ format: 'A4' });
    const pages = pdfPages(pdf);
    measured.push({ lang, actions, pages, pdf_bytes: pdf.length });
    assert.equal(pages, 1, `${lang}: the card printed on ${pages} pages`);
    await page.evaluate(() => document.body.classList.remove('card-mode'));
    assert.deepEqual(b.log.errors, []);
    assert.deepEqual(foreignRequests(b.log), []);
  });
}

test('Accept-Language picks the language; ?lang= and the page switch win', async () => {
  // The server alone: the page, its Vary, and /api/risk.
  for (const [accept, want] of [['zh-TW,zh;q=0.9', 'zh-Hant'], ['zh-CN', 'zh-Hans'], ['fr-FR, pt-BR;q=0.8, en;q=0.5', 'pt-BR'], ['ko-KR', 'ko'], ['vi', 'vi'], ['de', 'ja']]) {
    const r = await fetch(`${BASE}/`, { headers: { 'accept-language': accept } });
    const html = await r.text();
    assert.match(html, new RegExp(`<html lang="${want}"`), accept);
    assert.match(r.headers.get('vary') || '', /Accept-Language/, accept);
  }
  const pinned = await fetch(`${BASE}/?lang=en`, { headers: { 'accept-language': 'ko' } });
  assert.match(await pinned.text(), /<html lang="en"/);
  assert.doesNotMatch(pinned.headers.get('vary') || '', /Accept-Language/);
  const risk = await fetch(`${BASE}/api/risk?lat=${house.lat}&lon=${house.lon}`, { headers: { 'accept-language': 'pt-BR' } });
  assert.equal((await risk.json()).lang, 'pt');
  assert.match(risk.headers.get('vary') || '', /Accept-Language/);
  assert.equal((await fetch(`${BASE}/api/risk?lat=${house.lat}&lon=${house.lon}&lang=fr`)).status, 400);

  // A Korean browser gets the Korean page; switching to Japanese is kept in the URL and wins
  // over the header on reload.
  const k = await browser({ width: 360, height: 740, locale: 'ko-KR' });
  try {
    await k.page.goto(`${BASE}/`);
    await idle(k.page);
    assert.equal(await k.page.evaluate(() => document.documentElement.lang), 'ko');
    assert.equal(await k.page.textContent('#search button[type=submit]'), STRINGS.ko.search_button);
    assert.equal(await k.page.inputValue('#lang'), 'ko');
    assert.ok(!/[?&]lang=/.test(await k.page.evaluate(() => location.search)), 'the negotiated language stays out of the URL');
    await k.page.selectOption('#lang', 'ja');
    await k.page.waitForFunction(() => /[?&]lang=ja/.test(location.search));
    await k.page.reload();
    await idle(k.page);
    assert.equal(await k.page.evaluate(() => document.documentElement.lang), 'ja');
    assert.equal(await k.page.textContent('#search button[type=submit]'), STRINGS.ja.search_button);
  } finally {
    await k.close();
  }
});
