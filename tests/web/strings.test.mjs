// The resident map's strings files: every language has every key of Japanese, nothing more, with
// the same {placeholders}, and no empty text; the language list of the page is the server's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './support.mjs';

const DIR = path.join(ROOT, 'web/src/strings');
const LANGS = ['ja', 'en', 'easy', 'zh-Hans', 'zh-Hant', 'ko', 'vi', 'pt'];
const load = (l) => JSON.parse(readFileSync(path.join(DIR, `${l}.json`), 'utf8'));
const placeholders = (s) => [...new Set([...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]))].sort();

test('one strings file per language, and no other', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, '')).sort();
  assert.deepEqual(files, [...LANGS].sort());
});

test('every key in every language, with the placeholders of Japanese', () => {
  const ja = load('ja');
  for (const l of LANGS) {
    const s = load(l);
    assert.deepEqual(Object.keys(s).sort(), Object.keys(ja).sort(), `${l}: keys`);
    for (const [k, v] of Object.entries(s)) {
      assert.equal(typeof v, 'string', `${l}.${k}`);
      assert.ok(v.trim().length > 0, `${l}.${k} is empty`);
      let want = placeholders(ja[k]);
      // A date is written with the month's name in English ({mon}) instead of its number ({m}).
      if (k === 'date' && l === 'en') want = want.map((p) => (p === 'm' ? 'mon' : p)).sort();
      assert.deepEqual(placeholders(v), want, `${l}.${k}: ${v}`);
    }
    // The codes the page sends and sets.
    assert.equal(s.risk_lang, l, `${l}: risk_lang`);
  }
});

test('the languages are really translated, not copies of another', () => {
  const texts = LANGS.map((l) => load(l).decision_leave);
  assert.equal(new Set(texts).size, LANGS.length, texts.join(' | '));
  const html = Object.fromEntries(LANGS.map((l) => [l, load(l).html_lang]));
  assert.deepEqual(html, {
    ja: 'ja', en: 'en', easy: 'ja', 'zh-Hans': 'zh-Hans', 'zh-Hant': 'zh-Hant', ko: 'ko', vi: 'vi', pt: 'pt-BR',
  });
});

test('the risk sentences: one file per language, each with every key of Japanese', () => {
  const dir = path.join(ROOT, 'crates/risk/src/sentences');
  assert.deepEqual(readdirSync(dir).sort(), LANGS.map((l) => `${l}.json`).sort());
  const keys = (l) => Object.keys(JSON.parse(readFileSync(path.join(dir, `${l}.json`), 'utf8'))).sort();
  for (const l of LANGS) assert.deepEqual(keys(l), keys('ja'), l);
});
