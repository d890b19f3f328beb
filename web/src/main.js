// machimap resident hazard map: "is my home at risk, and where do I go?"
// Everything comes from this server: tiles, risk, search, shelters. No CDN, no external fonts.
// A static copy (`machimap export-site`) answers the same from its files (offline.js), and the
// live page switches to the copy the server names (`--mirror-url`) when the server fails.

// MapLibre GL JS (CSP build, from npm) is its own deferred script, loaded before this one: the
// browser evaluates it in a separate task and caches it apart from our code.
import 'maplibre-gl/dist/maplibre-gl.css';
import './app.css';
import baseStyle from '../../styles/hazard.json';
import ja from './strings/ja.json';
import en from './strings/en.json';
import easy from './strings/easy.json';
import zhHans from './strings/zh-Hans.json';
import zhHant from './strings/zh-Hant.json';
import ko from './strings/ko.json';
import vi from './strings/vi.json';
import pt from './strings/pt.json';
import { addIcons, iconUrl } from './icons.js';
import { wardLabels } from './labels.js';
import * as offline from './offline.js';

/* global __WORKER_URL__ */
const { maplibregl } = window;
maplibregl.setWorkerUrl(__WORKER_URL__);

const STRINGS = { ja, en, easy, 'zh-Hans': zhHans, 'zh-Hant': zhHant, ko, vi, pt };
const LANGS = Object.keys(STRINGS);
// Languages whose decimal mark is a comma.
const DECIMAL_COMMA = new Set(['vi', 'pt']);
const GROUPS = ['flood', 'inland_flood', 'landslide', 'tsunami', 'storm_surge', 'shelters', 'wards', 'roads'];
const DEFAULT_LAYERS = ['flood', 'landslide', 'shelters', 'wards', 'roads'];
const SCENARIOS = { max: '想定最大規模', plan: '計画規模' };
const FLOOD_COLOURS = ['#F7F5A9', '#FFD8C0', '#FFB7B7', '#FF9191', '#F285C9', '#DC7ADC'];
// Inland flooding is its own hazard, coloured apart from river flooding (blue by depth).
const INLAND_COLOURS = ['#DCEBFA', '#B3D4F2', '#7FB2E5', '#4A8CD6', '#2166AC', '#0B3C7D'];
const TSUNAMI_COLOURS = ['#FFFFB3', '#F7F5A9', '#F8E1A6', '#FFD8C0', '#FFB7B7', '#FF9191', '#F285C9', '#DC7ADC'];
const reducedMotion = window.matchMedia('(prefers-reduced-motion: reduce)').matches;

const cfg = readConfig();
// A static copy's files are under its release folder, which the page's <base> names.
if (cfg.static) offline.use(new URL('.', document.baseURI).href);
// For scripts and tests: the answer a static copy gives at a point (lat and lon as the texts
// the live page sends), without drawing it. `window.machimap` gets the map once it is drawn.
const copyRisk = (lat, lon, lang = 'ja', floors = null) => offline.risk(lat, lon, lang, floors);
// How long the live server has to answer before the page asks the mirror instead.
const LIVE_TIMEOUT_MS = 8000;
const state = {
  lang: LANGS.includes(cfg.lang) ? cfg.lang : 'ja',
  layers: new Set(DEFAULT_LAYERS),
  scenario: 'max',
  basemap: !!cfg.gsi_basemap,
  at: null, // [lon, lat] of the checked place
  shelter: null, // fid of the open shelter detail
  risk: null,
  detail: null,
  via: 'pointer',
  floors: null, // storeys of the resident's home (null: not said, the answer assumes 2)
};
readUrl();

const $ = (id) => document.getElementById(id);
const S = () => STRINGS[state.lang];

/** A string with `{name}` placeholders filled. */
function t(key, vars = {}) {
  const s = S()[key] ?? ja[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => (vars[k] ?? ''));
}

/** Build a DOM element: h('p', {class: 'x'}, 'text', child). Text is never parsed as HTML. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function readConfig() {
  const el = document.getElementById('machimap-config');
  try {
    return el ? JSON.parse(el.textContent) : {};
  } catch {
    return {};
  }
}

// ---------- URL: language in the query, view, layers and place in the hash ----------

function readUrl() {
  const q = new URLSearchParams(location.search);
  if (LANGS.includes(q.get('lang'))) state.lang = q.get('lang');
  const hp = new URLSearchParams(location.hash.slice(1));
  const m = (hp.get('map') || '').split('/').map(Number);
  if (m.length === 3 && m.every(Number.isFinite)) state.view = { zoom: m[0], center: [m[2], m[1]] };
  if (hp.has('layers')) {
    state.layers = new Set(hp.get('layers').split(',').filter((g) => GROUPS.includes(g) || g === 'basemap'));
    state.basemap = !!cfg.gsi_basemap && state.layers.has('basemap');
    state.layers.delete('basemap');
  }
  if (SCENARIOS[hp.get('scenario')]) state.scenario = hp.get('scenario');
  const at = (hp.get('at') || '').split(',').map(Number);
  if (at.length === 2 && at.every(Number.isFinite)) state.at = [at[1], at[0]];
  const sh = Number(hp.get('shelter'));
  if (Number.isInteger(sh) && sh > 0) state.shelter = sh;
}

let urlTimer = 0;
function writeUrl() {
  clearTimeout(urlTimer);
  urlTimer = setTimeout(() => {
    const hp = new URLSearchParams();
    if (map) {
      const c = map.getCenter();
      hp.set('map', `${map.getZoom().toFixed(2)}/${c.lat.toFixed(5)}/${c.lng.toFixed(5)}`);
    }
    const layers = GROUPS.filter((g) => state.layers.has(g));
    if (state.basemap) layers.push('basemap');
    hp.set('layers', layers.join(','));
    hp.set('scenario', state.scenario);
    if (state.at) hp.set('at', `${state.at[1].toFixed(5)},${state.at[0].toFixed(5)}`);
    if (state.shelter) hp.set('shelter', String(state.shelter));
    // The language the server chose (from Accept-Language) stays out of the URL, so a shared
    // link opens in the reader's language; a resident's own choice is kept in it and wins.
    const q = new URLSearchParams(location.search);
    if (state.lang === cfg.lang && !q.has('lang')) q.delete('lang');
    else q.set('lang', state.lang);
    const qs = q.toString();
    const url = `${location.pathname}${qs ? `?${qs}` : ''}#${hp.toString().replace(/%2F/g, '/').replace(/%2C/g, ',')}`;
    history.replaceState(null, '', url);
  }, 150);
}

// ---------- Static text ----------

function dataDate() {
  const ds = cfg.datasets || {};
  const dates = Object.values(ds)
    .map((d) => d.published_at)
    .filter(Boolean)
    .sort();
  return dates.length ? dates[dates.length - 1] : null;
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
function fmtDate(iso) {
  if (!iso) return '';
  const d = new Date(iso.length === 10 ? `${iso}T00:00:00+09:00` : iso);
  if (Number.isNaN(d.getTime())) return iso;
  // Dates are shown in Japan time.
  const j = new Date(d.getTime() + 9 * 3600e3);
  const [y, m, day] = [j.getUTCFullYear(), j.getUTCMonth() + 1, j.getUTCDate()];
  return t('date', { y, m, d: day, mon: MONTHS[m - 1] });
}

function applyStrings() {
  const city = cfg.publisher || '';
  document.documentElement.lang = S().html_lang;
  document.title = t('app_title', { city });
  for (const el of document.querySelectorAll('[data-i18n]')) {
    const v = t(el.dataset.i18n, { city });
    if (el.textContent !== v) el.textContent = v; // unchanged text is not repainted
  }
  for (const el of document.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of document.querySelectorAll('[data-i18n-aria]')) el.setAttribute('aria-label', t(el.dataset.i18nAria));
  const d = dataDate();
  const asof = d ? t('data_as_of', { date: fmtDate(d) }) : '';
  if ($('asof').textContent !== asof) $('asof').textContent = asof;
  if (offline.active()) showCopyNotice();
  $('lang').value = state.lang;
  labelMapControls();
  renderLayerControls();
  renderLegend();
}

/** The map's own labels (canvas, zoom buttons, attribution) in the current language. */
function labelMapControls() {
  if (map) {
    map.getCanvas().setAttribute('aria-label', t('map_label'));
    const zi = document.querySelector('.maplibregl-ctrl-zoom-in');
    const zo = document.querySelector('.maplibregl-ctrl-zoom-out');
    for (const [el, key] of [[zi, 'zoom_in'], [zo, 'zoom_out']]) {
      if (!el) continue;
      el.title = t(key);
      el.setAttribute('aria-label', t(key));
    }
    const at = document.querySelector('.maplibregl-ctrl-attrib-button');
    if (at) {
      at.title = t('attribution_toggle');
      at.setAttribute('aria-label', t('attribution_toggle'));
    }
  }
}

// ---------- Layers panel and legend ----------

function renderLayerControls() {
  const box = $('layer-list');
  const items = [];
  for (const g of GROUPS) {
    if (!hasData(g)) continue;
    const id = `layer-${g}`;
    const cb = h('input', { type: 'checkbox', id, checked: state.layers.has(g), onchange: (e) => setLayer(g, e.target.checked) });
    items.push(h('li', {}, cb, h('label', { for: id }, t(`layer_${g}`))));
    if (g === 'flood') {
      const radios = Object.keys(SCENARIOS).map((s) =>
        h('li', {},
          h('input', { type: 'radio', name: 'scenario', id: `scenario-${s}`, value: s, checked: state.scenario === s, disabled: !state.layers.has('flood'),
            onchange: () => setScenario(s) }),
          h('label', { for: `scenario-${s}` }, t(`scenario_${s}`))));
      items.push(h('li', { class: 'sub' }, h('fieldset', {}, h('legend', {}, t('scenario_label')), h('ul', {}, radios))));
    }
  }
  if (cfg.gsi_basemap) {
    items.push(h('li', {}, h('input', { type: 'checkbox', id: 'layer-basemap', checked: state.basemap, onchange: (e) => setBasemap(e.target.checked) }),
      h('label', { for: 'layer-basemap' }, t('layer_basemap'))));
  }
  box.replaceChildren(...items);
}

function hasData(g) {
  return !cfg.tile_layers || cfg.tile_layers.includes(g);
}

function swatch(colour, extra = '') {
  const s = h('span', { class: `sw ${extra}`, 'aria-hidden': 'true' });
  if (colour) s.style.backgroundColor = colour;
  return s;
}

function legendList(rows) {
  return h('ul', { class: 'legend-list' }, rows.map(([sw, text]) => h('li', {}, sw, h('span', {}, text))));
}

function renderLegend() {
  const parts = [];
  const on = (g) => state.layers.has(g) && hasData(g);
  if (on('flood')) {
    parts.push(h('h3', {}, `${t('legend_flood')}${t('paren', { x: t(`scenario_${state.scenario}_short`) })}`));
    parts.push(legendList(FLOOD_COLOURS.map((c, i) => [swatch(c), t(`depth_${i + 1}`)])));
  }
  if (on('inland_flood')) {
    parts.push(h('h3', {}, t('legend_inland_flood')));
    parts.push(legendList(INLAND_COLOURS.map((c, i) => [swatch(c), t(`depth_${i + 1}`)])));
  }
  if (on('storm_surge')) {
    parts.push(h('h3', {}, t('legend_storm_surge')));
    parts.push(legendList(FLOOD_COLOURS.map((c, i) => [swatch(c), t(`depth_${i + 1}`)])));
  }
  if (on('tsunami')) {
    parts.push(h('h3', {}, t('legend_tsunami')));
    parts.push(legendList(TSUNAMI_COLOURS.map((c, i) => [swatch(c), t(`tdepth_${i + 1}`)])));
  }
  if (on('landslide')) {
    parts.push(h('h3', {}, t('legend_landslide')));
    parts.push(legendList([
      [swatch('#FFED4C', 'outline-yellow'), t('landslide_yellow')],
      [swatch('#FB684C', 'outline-red'), t('landslide_red')],
      [swatch('#ffffff', 'dashed'), t('landslide_pending')],
    ]));
  }
  if (on('shelters')) {
    parts.push(h('h3', {}, t('legend_shelters')));
    parts.push(legendList(['shelter-site', 'shelter-building', 'shelter-both'].map((n) => [
      h('img', { class: 'sw-icon', src: iconUrl(n), alt: '', width: 24, height: 24 }),
      t(n.replace('-', '_')),
    ])));
  }
  const base = [];
  if (on('wards')) base.push([swatch(null, 'line-dashed'), t('ward_line')]);
  if (on('roads')) base.push([swatch(null, 'line-road'), t('road_line')]);
  base.push([swatch('#1a56db', 'dot'), t('point_marker')]);
  parts.push(h('h3', {}, t('legend_base')));
  parts.push(legendList(base));
  $('legend-body').replaceChildren(...parts);
}

function styleLayersOf(g) {
  return (map?.getStyle()?.layers || []).filter((l) => l.metadata?.['machimap:group'] === g).map((l) => l.id);
}

function applyLayers() {
  if (!map) return;
  for (const g of GROUPS) {
    for (const id of styleLayersOf(g)) map.setLayoutProperty(id, 'visibility', state.layers.has(g) ? 'visible' : 'none');
  }
  if (map.getLayer('flood-fill')) map.setFilter('flood-fill', ['==', ['get', 'scenario'], SCENARIOS[state.scenario]]);
  if (map.getLayer('gsi-pale')) map.setLayoutProperty('gsi-pale', 'visibility', state.basemap ? 'visible' : 'none');
  if (map.getLayer('wards-fill')) map.setPaintProperty('wards-fill', 'fill-opacity', state.basemap ? 0.25 : 1);
  labels?.setVisible(state.layers.has('wards'));
}

function setLayer(g, on) {
  if (on) state.layers.add(g);
  else state.layers.delete(g);
  applyLayers();
  const radios = document.querySelectorAll('input[name="scenario"]');
  if (g === 'flood') radios.forEach((r) => { r.disabled = !on; });
  renderLegend();
  writeUrl();
}

function setScenario(s) {
  state.scenario = s;
  applyLayers();
  renderLegend();
  writeUrl();
}

function setBasemap(on) {
  state.basemap = on;
  applyLayers();
  writeUrl();
}

// ---------- Risk at a place ----------

let riskAbort = null;

function fmtDistance(m) {
  if (m < 1000) return t('m', { n: Math.max(10, Math.round(m / 10) * 10) });
  return t('km', { n: decimal((m / 1000).toFixed(1)) });
}

function fmtNumber(x) {
  return Number.isInteger(x) ? x.toLocaleString(S().html_lang) : decimal(Math.round(x * 10) / 10);
}

/** A hazard's name inside a sentence: lower case in the Latin scripts ("in a flood"); the
 * other scripts have no case. */
function inSentence(title) {
  return title.toLowerCase();
}

/** Between two sentences: a space, except in Japanese and Chinese. */
function sentenceSep() {
  return ['ja', 'zh-Hans', 'zh-Hant'].includes(S().html_lang) ? '' : ' ';
}

/** A decimal number as the language writes it (0,5 in Vietnamese and Portuguese). */
function decimal(x) {
  const s = String(x);
  return DECIMAL_COMMA.has(state.lang) ? s.replace('.', ',') : s;
}

function inBounds(lon, lat) {
  const b = cfg.bounds;
  if (!b) return true;
  const pad = 0.02;
  return lon >= b[0] - pad && lon <= b[2] + pad && lat >= b[1] - pad && lat <= b[3] + pad;
}

let pickShown = false;
function setPick(features) {
  if (!features.length && !pickShown) return; // nothing to clear: spare a render
  pickShown = features.length > 0;
  map?.getSource('pick')?.setData({ type: 'FeatureCollection', features });
}

function pickFeatures() {
  const f = [];
  if (state.at) f.push({ type: 'Feature', properties: { kind: 'point' }, geometry: { type: 'Point', coordinates: state.at } });
  if (state.highlight) f.push({ type: 'Feature', properties: { kind: 'shelter' }, geometry: { type: 'Point', coordinates: state.highlight } });
  return f;
}

function wardAt(lon, lat) {
  if (!map || !state.layers.has('wards')) return null;
  try {
    const hits = map.queryRenderedFeatures(map.project([lon, lat]), { layers: ['wards-fill'] });
    return hits[0]?.properties?.name || null;
  } catch {
    return null;
  }
}

/** Check the risk at (lon, lat) and show it in the panel. */
async function checkPlace(lon, lat, opts = {}) {
  state.at = [lon, lat];
  state.shelter = null;
  state.detail = null;
  state.via = opts.via || 'pointer';
  setPick(pickFeatures());
  writeUrl();
  if (opts.fly && map) flyTo([lon, lat], Math.max(map.getZoom(), 15));
  await loadRisk(opts);
}

async function loadRisk(opts = {}) {
  if (!state.at) return;
  const [lon, lat] = state.at;
  riskAbort?.abort();
  const ctrl = new AbortController();
  riskAbort = ctrl;
  renderLoading();
  try {
    const [la, lo] = [lat.toFixed(6), lon.toFixed(6)];
    const floors = state.floors ? `&floors=${state.floors}` : '';
    const risk = await fromLiveOrCopy(
      `/api/risk?lat=${la}&lon=${lo}&lang=${S().risk_lang}${floors}`,
      () => offline.risk(la, lo, S().risk_lang, state.floors),
      ctrl.signal,
    );
    if (ctrl.signal.aborted) return;
    risk.ward = wardAt(lon, lat);
    state.risk = risk;
    renderRisk(opts.focus ?? state.via === 'keyboard');
    if (!risk.ward && map) {
      // The map was not drawn there yet (shared link, search): name the ward once it is.
      map.once('idle', () => {
        const w = wardAt(lon, lat);
        const el = document.getElementById('where-name');
        if (w && state.risk === risk && el) {
          risk.ward = w;
          el.textContent = t('near_ward', { ward: w });
        }
      });
    }
  } catch (e) {
    if (e.name === 'AbortError') return;
    renderError(t('risk_error'));
  }
}

/** A fetch of the live server that gives up after LIVE_TIMEOUT_MS (or when `signal` aborts). */
function fetchLive(path, signal) {
  const c = new AbortController();
  const timer = setTimeout(() => c.abort(new DOMException('no answer in time', 'TimeoutError')), LIVE_TIMEOUT_MS);
  signal?.addEventListener('abort', () => c.abort(signal.reason), { once: true });
  return fetch(path, { signal: c.signal }).finally(() => clearTimeout(timer));
}

/**
 * JSON from the live server, or from the static copy: always the copy on a static site; on the
 * live site the copy the server named once the server fails (no connection, a 5xx, no answer in
 * time), and from then on for the rest of the visit.
 */
async function fromLiveOrCopy(path, copy, signal) {
  if (!offline.active()) {
    let failed;
    try {
      const r = await fetchLive(path, signal);
      if (r.ok) {
        if (r.headers.get('X-Machimap-Saved')) showSavedNotice();
        return await r.json();
      }
      if (r.status < 500) throw new Error(`HTTP ${r.status}`);
      failed = new Error(`HTTP ${r.status}`);
    } catch (e) {
      if (e.name === 'AbortError' || e.message?.startsWith('HTTP 4')) throw e;
      failed = e;
    }
    if (!cfg.mirror) throw failed;
    await switchToMirror();
  }
  return copy();
}

/** Answer from the mirror from now on: its tiles, its risk data, its shelters and search. */
let switching = null;
function switchToMirror() {
  switching ??= offline.useMirror(cfg.mirror).then(mirrorReady, (e) => {
    switching = null; // try again at the next failure
    throw e;
  });
  return switching;
}

function mirrorReady() {
  clearTimeout(statusTimer);
  if (map) map.setStyle(buildStyle());
  showCopyNotice();
  pollStatus();
}

/** Say that the answer is what this device saved (web/sw.js), the network being gone. */
function showSavedNotice() {
  let el = $('saved-note');
  if (!el) {
    el = h('p', { id: 'saved-note', class: 'copy-note', role: 'status' });
    $('asof').after(el);
  }
  el.textContent = t('saved_notice');
}

/** Say that answers come from a copy, as of when, and that shelter status may be stale. */
async function showCopyNotice() {
  let date = cfg.static?.exported_at;
  if (!date) {
    try {
      date = (await offline.manifest()).exported_at;
    } catch {
      date = null;
    }
  }
  let el = $('copy-note');
  if (!el) {
    el = h('p', { id: 'copy-note', class: 'copy-note', role: 'status' });
    $('asof').after(el);
  }
  el.dataset.date = date || '';
  el.textContent = t(cfg.static ? 'static_notice' : 'mirror_notice', { date: date ? fmtDate(date) : '?' });
}

function renderLoading() {
  $('info-live').textContent = t('risk_loading');
  $('info').setAttribute('aria-busy', 'true');
}

function renderError(msg) {
  $('info').removeAttribute('aria-busy');
  $('info-live').textContent = msg;
  $('info-body').replaceChildren(h('p', { class: 'error' }, msg));
}

let speaking = false;
function speakButton(text) {
  if (!('speechSynthesis' in window)) return null;
  const b = h('button', { type: 'button', class: 'btn secondary', onclick: () => {
    if (speaking) {
      speechSynthesis.cancel();
      speaking = false;
      b.textContent = t('read_aloud');
      return;
    }
    const u = new SpeechSynthesisUtterance(text);
    u.lang = S().speech_lang;
    u.rate = state.lang === 'easy' ? 0.85 : 1;
    u.onend = () => { speaking = false; b.textContent = t('read_aloud'); };
    speaking = true;
    b.textContent = t('stop_reading');
    speechSynthesis.speak(u);
  } }, t('read_aloud'));
  return b;
}

function bandText(z) {
  // The data's own label is Japanese: shown as it is to readers of Japanese.
  if (S().html_lang === 'ja' && z.depth_label) return z.depth_label;
  const a = z.depth_min_m;
  const b = z.depth_max_m;
  if (a > 0 && b != null) return t('band_range', { a: decimal(a), b: decimal(b) });
  if (b != null) return t('band_below', { b: decimal(b) });
  if (a != null) return t('band_above', { a: decimal(a) });
  return '';
}

function zoneFacts(hz) {
  const z = hz.zones[0];
  if (!z) return [];
  const facts = [];
  if (hz.hazard === 'landslide') {
    if (z.phenomenon) facts.push(t(`landslide_kind_${z.phenomenon}`));
    if (z.zone_class) facts.push(t([2, 4].includes(z.zone_class) ? 'landslide_red' : 'landslide_yellow'));
    if ([3, 4].includes(z.zone_class)) facts.push(t('landslide_pending'));
  } else {
    const band = bandText(z);
    if (band) facts.push(t('zone_depth', { band }));
    if (z.scenario) facts.push(t('zone_scenario', { s: z.scenario === SCENARIOS.plan ? t('scenario_plan_short') : z.scenario === SCENARIOS.max ? t('scenario_max_short') : z.scenario }));
    if (z.river_name) facts.push(t('zone_river', { r: z.river_name }));
  }
  return facts;
}

/** A place's name for the reader (a shelter, a search result): the English name in English when
 * the data has one; in the other languages the Japanese name as written (it is what the sign
 * says) with its kana reading when the data has it, for readers of kana who do not know every
 * kanji. */
function readableName(s) {
  if (state.lang === 'en' && s.name_en) return s.name_en;
  if (state.lang !== 'ja' && s.name_kana && s.name_kana !== s.name) return `${s.name}（${s.name_kana}）`;
  return s.name;
}

function stockText(st) {
  if (!st || !st.items) return t('stock_none');
  return t('stock', {
    w: `${fmtNumber(st.water)}${st.water_unit || ''}`,
    f: `${fmtNumber(st.food)}${st.food_unit || ''}`,
    b: fmtNumber(st.blankets),
  });
}

function designations(s) {
  const out = [];
  if (s.is_emergency_site) out.push(h('span', { class: 'chip site' }, h('img', { src: iconUrl('shelter-site'), alt: '', width: 18, height: 18 }), t('designation_site')));
  if (s.is_shelter) out.push(h('span', { class: 'chip building' }, h('img', { src: iconUrl('shelter-building'), alt: '', width: 18, height: 18 }), t('designation_shelter')));
  return out;
}

function shelterItem(s, headingLevel = 'h4') {
  const name = readableName(s);
  return h('li', { class: 'shelter' },
    h(headingLevel, { class: 'shelter-name' }, name),
    h('p', { class: 'meta' }, h('strong', {}, t('distance', { d: fmtDistance(s.distance_m) })), s.capacity ? ` ・ ${t('capacity', { n: fmtNumber(s.capacity) })}` : ''),
    h('p', { class: 'chips' }, designations(s)),
    s.zone_note ? h('p', { class: 'zone-note' }, s.zone_note) : null,
    s.crowding_text ? h('p', { class: 'crowding' }, t('crowding', { c: s.crowding_text })) : null,
    h('p', { class: 'stock' }, stockText(s.stock)),
    openLine(s),
    h('div', { class: 'row-buttons' },
      h('button', { type: 'button', class: 'btn secondary', 'aria-label': `${t('show_on_map')}: ${name}`, onclick: () => showShelterOnMap(s) }, t('show_on_map')),
      h('button', { type: 'button', class: 'btn secondary', 'aria-label': `${t('details')}: ${name}`, onclick: () => openShelter(s.fid, { focus: true }) }, t('details'))));
}

// ---------- Shelter status on a disaster day (開設 / 満員 / 閉鎖) ----------

const STATUS_ICONS = { open: '○', full: '▲', closed: '×' };

/** The status of shelter `fid` as words (with the evacuee count), or null when not announced. */
function statusText(fid) {
  const st = shelterStatus.get(Number(fid));
  if (!st || !STATUS_ICONS[st.status]) return null;
  const word = t(`status_${st.status}`);
  return st.evacuees != null && st.status !== 'closed'
    ? t('status_with_evacuees', { s: word, n: fmtNumber(st.evacuees) })
    : word;
}

/** Fill `el` (marked `data-status-fid`) with the live status, or its static fallback. */
function paintStatus(el) {
  const fid = Number(el.dataset.statusFid);
  const st = shelterStatus.get(fid);
  const text = statusText(fid);
  const detail = el.dataset.statusKind === 'detail';
  let parts;
  if (text) {
    el.dataset.status = st.status;
    const icon = h('span', { class: 'status-icon', 'aria-hidden': 'true' }, STATUS_ICONS[st.status]);
    parts = detail ? [icon, ' ', text] : [icon, ' ', t('open_status', { s: text })];
  } else {
    delete el.dataset.status;
    const fallback = el.dataset.fallback || '';
    parts = detail ? [fallback || t('open_unknown_short')] : [fallback ? t('open_status', { s: fallback }) : t('open_unknown')];
  }
  el.replaceChildren(...parts);
}

function openLine(s) {
  const el = h('p', { class: 'open live-status', 'data-status-fid': s.fid, 'data-fallback': s.open_status || '' });
  paintStatus(el);
  return el;
}

const shelterStatus = new Map(); // fid → { status, evacuees, updated_at }
let statusEtag = null;
let statusTimer = 0;

function statusKey(st) {
  return st ? `${st.status}/${st.evacuees ?? ''}` : '';
}

/** Poll /api/shelter-status (304 when nothing changed) and update the open panel in place. */
async function pollStatus() {
  clearTimeout(statusTimer);
  if (offline.active()) {
    // A copy's status is the one staff had set when it was written: read once, not polled.
    try {
      const doc = await offline.status();
      const changed = new Set();
      for (const [fid, s] of Object.entries(doc)) {
        const v = { status: s.status, evacuees: s.evacuees, updated_at: s.at };
        if (statusKey(v) !== statusKey(shelterStatus.get(Number(fid)))) changed.add(Number(fid));
        shelterStatus.set(Number(fid), v);
      }
      statusPolled = true;
      if (changed.size) updateStatusInPlace(changed, false);
    } catch {
      // The copy is unreachable too: keep what the page has.
    }
    return;
  }
  try {
    const headers = statusEtag ? { 'If-None-Match': statusEtag } : {};
    const r = await fetch('/api/shelter-status', { headers, cache: 'no-store' });
    if (r.status === 200) {
      const doc = await r.json();
      statusEtag = r.headers.get('ETag');
      const next = new Map();
      for (const s of doc.shelters || []) next.set(Number(s.fid), { status: s.status, evacuees: s.evacuees, updated_at: s.updated_at });
      const changed = new Set();
      for (const fid of new Set([...next.keys(), ...shelterStatus.keys()])) {
        if (statusKey(next.get(fid)) !== statusKey(shelterStatus.get(fid))) changed.add(fid);
      }
      const first = statusPolled === false;
      statusPolled = true;
      shelterStatus.clear();
      for (const [k, v] of next) shelterStatus.set(k, v);
      if (changed.size) updateStatusInPlace(changed, !first);
    }
  } catch {
    // Offline or the server restarting: try again at the next tick.
  }
  statusTimer = setTimeout(pollStatus, document.hidden ? 15000 : 3000);
}
let statusPolled = false;

function updateStatusInPlace(changed, announce) {
  const said = [];
  for (const el of document.querySelectorAll('#info-body [data-status-fid]')) {
    const fid = Number(el.dataset.statusFid);
    if (!changed.has(fid)) continue;
    paintStatus(el);
    if (announce && !said.some((x) => x.fid === fid)) {
      const name = el.dataset.statusName || el.closest('li.shelter')?.querySelector('.shelter-name')?.textContent || '';
      said.push({ fid, text: `${name}: ${statusText(fid) || t('open_unknown_short')}` });
    }
  }
  if (said.length) $('info-live').textContent = `${t('status_changed')} ${said.map((x) => x.text).join(t('list_sep'))}`;
}

document.addEventListener('visibilitychange', () => {
  if (!document.hidden) pollStatus();
});

/** The hazard whose decision comes first: leaving before staying upstairs; none when no hazard
 * asks anything of the resident. */
function primaryDecision(r) {
  const order = { leave: 0, upper_floor: 1 };
  return r.hazards
    .filter((x) => x.decision && x.decision.action in order)
    .sort((a, b) => order[a.decision.action] - order[b.decision.action])[0] || null;
}

/** The storeys control: the answer for flooding depends on how high the home's top floor is. */
function floorsControl() {
  const sel = h('select', { id: 'floors', onchange: () => {
    state.floors = sel.value ? Number(sel.value) : null;
    // The panel is drawn again: keep the keyboard where it was.
    loadRisk({ focus: false }).then(() => $('floors')?.focus({ preventScroll: true }));
  } },
  h('option', { value: '' }, t('floors_unknown')),
  [1, 2, 3, 4, 5].map((n) => h('option', { value: String(n) }, t('floors_n', { n }))));
  sel.value = state.floors ? String(state.floors) : '';
  return h('p', { class: 'floors' }, h('label', { for: 'floors' }, t('floors_label')), ' ', sel);
}

/** What to do, first: the decision's sentence, then its reasons (each naming the data). */
function decisionSection(r) {
  const hz = primaryDecision(r);
  if (!hz) return null;
  const d = hz.decision;
  const floodLike = ['flood', 'inland_flood', 'storm_surge'].includes(hz.hazard);
  return h('section', { class: `decision ${d.action}`, 'aria-labelledby': 'decision-h' },
    h('h3', { id: 'decision-h' }, t(`decision_${d.action}`), h('span', { class: 'decision-hazard' }, t('paren', { x: hz.title }))),
    h('p', { class: 'decision-text' }, d.text),
    d.start ? h('p', { class: 'decision-start' }, d.start.text) : null,
    h('ul', { class: 'reasons' }, d.reasons.map((x) => h('li', { class: `reason ${x.effect}` }, x.text))),
    floodLike ? floorsControl() : null,
    cardButton());
}

function renderRisk(focus) {
  const r = state.risk;
  if (!r) return;
  $('info').removeAttribute('aria-busy');
  const where = r.ward ? t('near_ward', { ward: r.ward }) : t('selected_place');
  const outside = !inBounds(r.lon, r.lat);
  const summary = outside ? t('outside_city') : r.summary;
  const primary = outside ? null : primaryDecision(r);
  // The decision is the first thing read.
  $('info-live').textContent = `${primary ? `${primary.decision.text} ` : ''}${t('risk_heading')}: ${where}. ${summary}`;
  const heading = h('h2', { id: 'info-h', tabindex: '-1' }, t('risk_heading'));
  const body = [
    heading,
    outside ? null : decisionSection(r),
    h('p', { class: 'where' }, h('span', { id: 'where-name' }, where), h('span', { class: 'coords' }, t('paren', { x: t('coords', { lat: r.lat.toFixed(4), lon: r.lon.toFixed(4) }) }))),
    h('p', { class: 'summary' }, summary),
    outside || primary ? null : cardButton(),
    speakButton([summary, ...r.hazards.filter((x) => x.in_zone).map((x) => x.message)].join(' ')),
  ];
  const list = h('ul', { class: 'hazards' });
  const sorted = [...r.hazards].sort((a, b) => Number(b.in_zone) - Number(a.in_zone));
  for (const hz of sorted) {
    const status = !hz.data_available || hz.coverage === 'no_data' ? 'nodata' : hz.in_zone ? 'in' : 'out';
    const badge = h('span', { class: `badge ${status}` },
      h('span', { 'aria-hidden': 'true' }, status === 'in' ? '⚠ ' : status === 'out' ? '✓ ' : '? '),
      t(status === 'in' ? 'in_zone' : status === 'out' ? 'out_zone' : 'no_data'));
    // The summary above already says it when there is a single hazard: no need to repeat.
    const li = h('li', { class: `hazard ${status}` },
      h('h3', {}, badge, ' ', hz.title),
      summary.includes(hz.message) ? null : h('p', { class: 'message' }, hz.message));
    const facts = zoneFacts(hz);
    if (facts.length) li.append(h('ul', { class: 'facts' }, facts.map((f) => h('li', {}, f))));
    if (hz.data_date) li.append(h('p', { class: 'asof-small' }, t('data_as_of', { date: fmtDate(hz.data_date) })));
    if (hz.in_zone && hz.shelters.length) {
      li.append(h('h4', { class: 'sub-h' }, t('shelters_for', { hazard: inSentence(hz.title) })));
      li.append(h('ol', { class: 'shelters' }, hz.shelters.map((s) => shelterItem(s, 'h5'))));
    }
    list.append(li);
  }
  body.push(list);
  if (r.nearest_shelters?.length) {
    body.push(h('h3', { class: 'sub-h' }, t('nearest_shelters')));
    body.push(h('ol', { class: 'shelters' }, r.nearest_shelters.map((s) => shelterItem(s, 'h4'))));
  }
  body.push(h('p', { class: 'note' }, t('emergency_note')));
  $('info-body').replaceChildren(...body);
  document.body.dataset.riskSeq = String(Number(document.body.dataset.riskSeq || 0) + 1);
  if (focus) {
    reveal(heading, true);
  } else if (state.via !== 'hash') {
    reveal($('info'), false);
  }
}

/** Bring `el` into view: the panel scrolls on wide screens, the page on phones. */
function reveal(el, focusIt) {
  if (focusIt) el.focus({ preventScroll: true });
  const panel = $('panel');
  const panelScrolls = getComputedStyle(panel).overflowY === 'auto';
  if (panelScrolls) {
    const top = el.getBoundingClientRect().top - panel.getBoundingClientRect().top + panel.scrollTop - 8;
    panel.scrollTo({ top, behavior: reducedMotion ? 'auto' : 'smooth' });
  } else {
    el.scrollIntoView({ block: 'start', behavior: reducedMotion ? 'auto' : 'smooth' });
  }
}

// ---------- My hazard card: one A4 page for the home, printed by the browser ----------

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** The "Print my card" button, next to the decision. */
function cardButton() {
  return h('p', { class: 'card-action' },
    h('button', { type: 'button', class: 'btn', id: 'print-card', onclick: () => printCard() }, t('print_card')));
}

/** Bearing in degrees (0 = north, clockwise) from `a` to `b`, both [lon, lat]; a plane is fine
 * at the few kilometres between a home and its shelters. */
function bearing(a, b) {
  const dx = (b[0] - a[0]) * Math.cos((a[1] * Math.PI) / 180);
  const dy = b[1] - a[1];
  return ((Math.atan2(dx, dy) * 180) / Math.PI + 360) % 360;
}

const DIRS = ['n', 'ne', 'e', 'se', 's', 'sw', 'w', 'nw'];
function direction(deg) {
  return t(`dir_${DIRS[Math.round(deg / 45) % 8]}`);
}

/** A small sketch: the home in the middle, a line towards the shelter (longer when farther,
 * up to `far` metres at the edge), north up. */
function sketch(deg, dist, far) {
  const r = 6 + 20 * Math.min(1, dist / far);
  const rad = (deg * Math.PI) / 180;
  const x = 30 + r * Math.sin(rad);
  const y = 32 - r * Math.cos(rad);
  return svg('svg', { class: 'sketch', viewBox: '0 0 60 60', width: 44, height: 44, 'aria-hidden': 'true' },
    svg('circle', { cx: 30, cy: 32, r: 27, fill: 'none', stroke: '#999', 'stroke-width': 1 }),
    svg('text', { x: 30, y: 11, 'text-anchor': 'middle', 'font-size': 9, fill: '#333' }, 'N'),
    svg('line', { x1: 30, y1: 32, x2: x.toFixed(1), y2: y.toFixed(1), stroke: '#1a56db', 'stroke-width': 2.5 }),
    svg('circle', { cx: 30, cy: 32, r: 3.5, fill: '#1a56db' }),
    svg('rect', { x: (x - 3.5).toFixed(1), y: (y - 3.5).toFixed(1), width: 7, height: 7, fill: '#fff', stroke: '#123f9e', 'stroke-width': 1.5 }));
}

/** The map around the home as a still image (the canvas keeps its drawing buffer), over the
 * style's background where the canvas is transparent. */
function mapStill() {
  const src = map.getCanvas();
  const still = document.createElement('canvas');
  still.width = src.width;
  still.height = src.height;
  const g = still.getContext('2d');
  g.fillStyle = mapBackground;
  g.fillRect(0, 0, still.width, still.height);
  g.drawImage(src, 0, 0);
  return still.toDataURL('image/png');
}

/** Up to two suitable shelters per hazard the home is in (or the nearest of any kind when it is
 * in none), with distance and direction. */
function cardShelters(r) {
  const home = [r.lon, r.lat];
  const groups = r.hazards.filter((x) => x.in_zone).map((x) => ({ title: t('shelters_for', { hazard: inSentence(x.title) }), list: x.shelters.slice(0, 2) }));
  if (!groups.length && r.nearest_shelters?.length) groups.push({ title: t('nearest_shelters'), list: r.nearest_shelters.slice(0, 2) });
  const far = Math.max(500, ...groups.flatMap((g) => g.list.map((s) => s.distance_m)));
  return groups.map((g) => h('section', { class: 'card-group' },
    h('h3', {}, g.title),
    g.list.length
      ? h('ol', { class: 'card-shelters' }, g.list.map((s) => {
        const deg = bearing(home, [s.lon, s.lat]);
        const kind = [s.is_emergency_site ? t('designation_site') : null, s.is_shelter ? t('designation_shelter') : null].filter(Boolean).join(t('list_sep'));
        return h('li', {}, sketch(deg, s.distance_m, far),
          h('div', {},
            h('strong', { class: 'card-name' }, readableName(s)),
            h('span', { class: 'card-dist' }, t('card_dist', { d: t('distance', { d: fmtDistance(s.distance_m) }), dir: direction(deg) })),
            h('span', { class: 'card-kind' }, kind + (s.address ? ` ・ ${s.address}` : ''))));
      }))
      : h('p', {}, t('card_no_shelter'))));
}

/** Build the card of the checked place into #card and print it. The map is centred on the home
 * first and drawn before its image is taken; the card is fitted to one A4 page by shrinking the
 * map image when the text is long. */
async function printCard() {
  const r = state.risk;
  if (!r || !map) return;
  document.body.dataset.card = 'building';
  const home = [r.lon, r.lat];
  map.jumpTo({ center: home, zoom: Math.max(map.getZoom(), 15) });
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, 8000);
    map.once('idle', () => { clearTimeout(timer); resolve(); });
    map.triggerRepaint();
  });
  const primary = primaryDecision(r);
  const where = r.ward ? t('near_ward', { ward: r.ward }) : t('selected_place');
  const date = dataDate();
  let card = $('card');
  if (!card) {
    card = h('section', { id: 'card', 'aria-hidden': 'true' });
    document.body.append(card);
  }
  const img = h('img', { class: 'card-map', src: mapStill(), alt: t('card_map') });
  card.replaceChildren(
    h('header', { class: 'card-head' },
      h('h1', {}, t('card_title')),
      h('p', {}, t('app_title', { city: cfg.publisher || '' }), date ? ` ・ ${t('data_as_of', { date: fmtDate(date) })}` : '')),
    h('p', { class: 'card-home' }, t('card_home', { where }), t('paren', { x: t('coords', { lat: r.lat.toFixed(4), lon: r.lon.toFixed(4) }) })),
    h('figure', { class: 'card-figure' }, img, h('figcaption', {}, t('card_map'))),
    primary
      ? h('section', { class: `card-decision ${primary.decision.action}` },
        h('h2', {}, t(`decision_${primary.decision.action}`), t('paren', { x: primary.title })),
        h('p', { class: 'card-decision-text' }, primary.decision.text),
        primary.decision.start ? h('p', { class: 'card-decision-start' }, primary.decision.start.text) : null,
        h('h3', {}, t('card_why')),
        h('ul', { class: 'card-reasons' }, primary.decision.reasons.map((x) => h('li', {}, x.text))))
      : h('section', { class: 'card-decision none' }, h('h2', {}, t('card_what')), h('p', {}, t('card_none'))),
    h('div', { class: 'card-groups' }, cardShelters(r)),
    h('p', { class: 'card-foot' }, t('card_keep'), sentenceSep(), t('emergency_note')));
  await new Promise((resolve) => { if (img.complete) resolve(); else img.onload = resolve; });
  // One page: the printable height of A4 at 10 mm margins, measured in the card's own layout.
  const pageH = (277 / 25.4) * 96;
  const over = card.scrollHeight - pageH + 4;
  if (over > 0) {
    const mm = 96 / 25.4;
    img.style.maxHeight = `${Math.max(30 * mm, img.getBoundingClientRect().height - over)}px`;
  }
  document.body.classList.add('card-mode');
  document.body.dataset.card = 'ready';
  window.print();
}

window.addEventListener('afterprint', () => document.body.classList.remove('card-mode'));

// ---------- Shelters ----------

function flyTo(center, zoom) {
  if (!map) return;
  if (reducedMotion) map.jumpTo({ center, zoom });
  else map.flyTo({ center, zoom, speed: 1.6 });
}

function showShelterOnMap(s) {
  state.highlight = [s.lon, s.lat];
  setPick(pickFeatures());
  if (!state.layers.has('shelters')) setLayer('shelters', true);
  flyTo([s.lon, s.lat], 16);
  if (getComputedStyle($('panel')).overflowY !== 'auto') $('main').scrollIntoView({ block: 'nearest' });
}

async function openShelter(fid, opts = {}) {
  state.shelter = fid;
  writeUrl();
  renderLoading();
  try {
    state.detail = await fromLiveOrCopy(`/api/shelters/${encodeURIComponent(fid)}`, () => offline.shelter(fid));
    renderShelter(opts.focus);
    if (opts.fly && state.detail.lon != null) {
      state.highlight = [state.detail.lon, state.detail.lat];
      setPick(pickFeatures());
      flyTo([state.detail.lon, state.detail.lat], 16);
    }
  } catch {
    renderError(t('risk_error'));
  }
}

const HAZARD_FLAGS = ['flood', 'landslide', 'storm_surge', 'earthquake', 'tsunami', 'large_fire', 'inland_flood', 'volcano'];

function renderShelter(focus) {
  const d = state.detail;
  if (!d) return;
  const p = d.properties || {};
  $('info').removeAttribute('aria-busy');
  const name = readableName(p);
  $('info-live').textContent = `${t('shelter_heading')}: ${name}`;
  const heading = h('h2', { id: 'info-h', tabindex: '-1' }, name);
  const rows = [];
  const row = (k, v) => { if (v !== null && v !== undefined && v !== '') rows.push(h('div', {}, h('dt', {}, t(k)), h('dd', {}, v))); };
  row('f_name_kana', p.name_kana);
  row('f_address', p.address);
  row('f_designation', designations(p).length ? h('span', { class: 'chips' }, designations(p)) : null);
  row('f_capacity', p.capacity != null ? t('people', { n: fmtNumber(p.capacity) }) : null);
  {
    const dd = h('dd', { class: 'live-status', 'data-status-fid': d.fid, 'data-status-kind': 'detail', 'data-status-name': name, 'data-fallback': p.open_status || '' });
    paintStatus(dd);
    rows.push(h('div', { 'data-status-row': '' }, h('dt', {}, t('f_open')), dd));
  }
  row('f_accepts', p.accepts);
  row('f_altitude', p.altitude_m != null ? t('meters', { n: fmtNumber(p.altitude_m) }) : null);
  row('f_phone', p.phone ? h('a', { href: `tel:${p.phone.replace(/[^0-9+]/g, '')}` }, p.phone) : null);
  row('f_communities', p.communities ? p.communities.split(';').join('、') : null);
  row('f_note', p.note);
  row('f_url', p.url && /^https?:\/\//.test(p.url) ? h('a', { href: p.url, rel: 'noopener' }, p.url) : null);

  const hz = h('ul', { class: 'hz-flags' }, HAZARD_FLAGS.map((k) => h('li', { class: p[k] ? 'yes' : 'no' },
    h('span', { class: 'hz-name' }, t(`hz_${k}`)), h('span', { class: 'hz-val' }, t(p[k] ? 'hz_yes' : 'hz_no')))));

  const stock = d.stockpile || [];
  const stockPart = stock.length
    ? h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': 'stock-caption' },
      h('table', { class: 'stock-table' },
        h('caption', { id: 'stock-caption' }, t('stock_caption', { name, date: fmtDate(d.stockpile_published_at) })),
        h('thead', {}, h('tr', {}, ['th_category', 'th_item', 'th_quantity', 'th_expiry', 'th_checked'].map((k) => h('th', { scope: 'col' }, t(k))))),
        h('tbody', {}, stock.map((s) => h('tr', {},
          h('td', {}, s.category || ''),
          h('th', { scope: 'row' }, [s.item, s.spec ? `（${s.spec}）` : ''].join('')),
          h('td', { class: 'num' }, s.quantity != null ? `${fmtNumber(s.quantity)}${s.unit || ''}` : ''),
          h('td', {}, s.expiry || '—'),
          h('td', {}, s.updated_on || '—'))))))
    : h('p', {}, t('stock_none'));

  const back = state.risk
    ? h('button', { type: 'button', class: 'btn secondary', onclick: () => { state.shelter = null; state.detail = null; writeUrl(); renderRisk(true); } }, `← ${t('back')}`)
    : null;
  const body = [
    back,
    heading,
    h('p', { class: 'kind' }, t('shelter_heading')),
    h('div', { class: 'row-buttons' },
      h('button', { type: 'button', class: 'btn secondary', onclick: () => showShelterOnMap({ lon: d.lon, lat: d.lat }) }, t('show_on_map'))),
    h('dl', { class: 'fields' }, rows),
    h('h3', {}, t('f_hazards')),
    hz,
    h('h3', {}, t('stock_heading')),
    stockPart,
    h('h3', {}, t('data_links')),
    h('ul', { class: 'links' },
      h('li', {}, h('a', { href: `/ogc/collections/shelters/items/${d.fid}` }, t('link_geojson'))),
      h('li', {}, h('a', { href: '/datasets/shelters.csv' }, t('link_shelters_csv'))),
      h('li', {}, h('a', { href: '/datasets/stockpile.csv' }, t('link_stockpile_csv')))),
    h('p', { class: 'asof-small' }, t('data_as_of', { date: fmtDate(d.published_at) })),
  ];
  $('info-body').replaceChildren(...body.filter(Boolean));
  if (focus) reveal(heading, true);
  else $('panel').scrollTo({ top: 0 });
}

// ---------- Search ----------

let searchAbort = null;
async function search(q) {
  const out = $('search-results');
  q = q.trim();
  if (!q) {
    out.replaceChildren();
    return;
  }
  searchAbort?.abort();
  const ctrl = new AbortController();
  searchAbort = ctrl;
  try {
    const res = await fromLiveOrCopy(
      `/api/search?q=${encodeURIComponent(q)}&limit=8`,
      async () => ({ results: await offline.search(q, 8) }),
      ctrl.signal,
    );
    if (ctrl.signal.aborted) return;
    if (!res.results.length) {
      out.replaceChildren(h('p', { role: 'status' }, t('search_none', { q })));
      return;
    }
    const items = res.results.map((hit) => h('li', {},
      h('button', { type: 'button', class: 'result', onclick: () => goTo(hit, true) },
        h('span', { class: 'r-name' }, readableName(hit)),
        h('span', { class: 'r-kind' }, resultKind(hit)))));
    out.replaceChildren(h('p', { role: 'status', class: 'count' }, t('search_count', { n: res.results.length })),
      h('ul', { class: 'results', 'aria-label': t('search_results_label') }, items));
    goTo(res.results[0], false);
  } catch (e) {
    if (e.name !== 'AbortError') out.replaceChildren(h('p', { role: 'status', class: 'error' }, t('search_error')));
  }
}

// What a result is; for an address, also which point was found (the house, its block, only the
// district, or the parcel), so a resident knows how close the map is to their home.
function resultKind(hit) {
  const kind = t(`kind_${hit.kind}`);
  if (hit.kind === 'address' && hit.precision) return `${kind} ・ ${t(`precision_${hit.precision}`)}`;
  return `${kind}${hit.detail ? ` ・ ${hit.detail}` : ''}`;
}

function goTo(hit, focus) {
  if (!map) return;
  if (hit.kind === 'shelter') {
    state.highlight = [hit.lon, hit.lat];
    setPick(pickFeatures());
    flyTo([hit.lon, hit.lat], 16);
    openShelter(hit.fid, { focus });
    return;
  }
  const b = hit.bbox;
  if (b && (b[2] - b[0] > 1e-4 || b[3] - b[1] > 1e-4)) {
    map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 40, maxZoom: 16, animate: !reducedMotion });
  } else {
    flyTo([hit.lon, hit.lat], 16);
  }
  state.highlight = null;
  checkPlace(hit.lon, hit.lat, { focus, via: focus ? 'keyboard' : 'search' });
}

// ---------- Map ----------

let map = null;
let labels = null;
let mapBackground = '#eef0ee'; // the style's background colour, painted by the page

/** Run `fn` in a task of its own, so long work is cut into pieces that input can come between. */
function nextTask(fn) {
  const ch = new MessageChannel();
  ch.port1.onmessage = () => fn();
  ch.port2.postMessage(null);
}

/**
 * Call `done` once the GPU has carried out the drawing issued so far, without blocking on it
 * (a WebGL2 fence, polled). While the canvas is hidden nothing waits for the GPU; showing it
 * before the GPU is done would stall the page until it is.
 */
function whenGpuDone(m, done) {
  let gl = null;
  let sync = null;
  try {
    gl = m.getCanvas().getContext('webgl2'); // MapLibre's own context (null if it made a WebGL 1 one)
    sync = gl ? gl.fenceSync(gl.SYNC_GPU_COMMANDS_COMPLETE, 0) : null;
  } catch {
    sync = null;
  }
  if (!sync) {
    done();
    return;
  }
  gl.flush();
  const t0 = performance.now();
  const poll = () => {
    let signalled = true;
    try {
      signalled = gl.isContextLost() || gl.getSyncParameter(sync, gl.SYNC_STATUS) === gl.SIGNALED;
    } catch {
      signalled = true;
    }
    if (signalled || performance.now() - t0 > 5000) {
      try { gl.deleteSync(sync); } catch { /* context lost */ }
      done();
    } else {
      setTimeout(poll, 5);
    }
  };
  setTimeout(poll, 5);
}

/** The paint property that hides a layer of each type while its shader is prepared. */
const HIDE = { fill: 'fill-opacity', line: 'line-opacity', symbol: 'icon-opacity' };
/** The pixel ratio of the hidden canvas until the first view is drawn (see `warmUp`). */
const WARM_RATIO = 0.2;
let quietMove = false; // a resize of our own: not a move to write into the URL

/**
 * Prepare the shaders of the first view a kind of layer at a time, each in a task of its own,
 * on a tiny hidden canvas. The first draw of each kind of layer compiles its shader, and the
 * page waits for that (and for the GPU to finish what it was given before): all of them inside
 * the frame that draws the first view make one long task in which the page does not answer
 * taps or scrolling. Drawn on a few pixels, the GPU is done with each kind at once; the
 * full-size view is then drawn with shaders that are ready.
 */
function warmUp(m, done) {
  let layers = [];
  const restore = () => {
    for (const s of layers) if (m.getLayer(s.id)) m.setPaintProperty(s.id, s.prop, s.value);
    layers = [];
  };
  const groups = new Map(); // kind of layer (its shader) → its layers
  try {
    const zoom = m.getZoom();
    layers = m.getLayersOrder().map((id) => m.getLayer(id))
      .filter((l) => HIDE[l.type] && l.source === 'machimap' && m.getLayoutProperty(l.id, 'visibility') !== 'none'
        && zoom >= (l.minzoom ?? 0) && zoom < (l.maxzoom ?? 24))
      .map((l) => ({ id: l.id, prop: HIDE[l.type], value: m.getPaintProperty(l.id, HIDE[l.type]),
        kind: l.type === 'line' && m.getPaintProperty(l.id, 'line-dasharray') ? 'line-dashed' : l.type }));
    for (const s of layers) {
      m.setPaintProperty(s.id, s.prop, 0);
      groups.set(s.kind, [...(groups.get(s.kind) || []), s]);
    }
  } catch {
    restore();
    done();
    return;
  }
  const steps = [...groups.values()];
  let i = 0;
  const step = () => {
    try {
      if (i > 0) for (const s of steps[i - 1]) m.setPaintProperty(s.id, s.prop, 0);
      if (i < steps.length) {
        for (const s of steps[i]) m.setPaintProperty(s.id, s.prop, s.value);
        i += 1;
        m.redraw();
        whenGpuDone(m, () => nextTask(step));
        return;
      }
    } catch {
      // Whatever went wrong, the map is drawn as it is.
    }
    restore();
    done();
  };
  nextTask(step);
}

/**
 * Draw the first view once, when all its tiles are in, instead of once per arriving tile: each
 * frame costs a full repaint of the canvas (dear where the browser composites in software).
 * Public API only: `triggerRepaint` is held between the tile requests and the last tile. The
 * shaders are prepared (`warmUp`) from the first tile that arrives, while the others are on
 * their way; then the canvas takes its real `pixelRatio` and is shown (`onDone`) once the GPU
 * has drawn the view.
 */
function drawWhenComplete(m, pixelRatio, onDone) {
  const repaint = m.triggerRepaint.bind(m);
  let state = 'waiting'; // waiting → holding → done
  let warm = 'no'; // no → running → ready
  let whenWarm = null;
  const startWarmUp = () => {
    if (warm !== 'no') return;
    warm = 'running';
    warmUp(m, () => {
      warm = 'ready';
      whenWarm?.();
    });
  };
  const show = () => {
    quietMove = true;
    try {
      m.setPixelRatio(pixelRatio);
    } finally {
      quietMove = false;
    }
    applyLayers(); // what the resident switched meanwhile
    m.once('idle', () => whenGpuDone(m, onDone));
    repaint();
  };
  const finish = () => {
    if (state === 'done') return;
    state = 'done';
    m.triggerRepaint = repaint;
    m.off('render', onRender);
    m.off('data', onData);
    startWarmUp();
    if (warm === 'ready') show();
    else whenWarm = show;
  };
  const onRender = () => {
    const src = m.getSource('machimap');
    if (state !== 'waiting' || !src || !src.loaded()) return;
    if (!m.areTilesLoaded()) state = 'holding';
    else if (m.loaded()) finish(); // no tile to wait for (every tile layer switched off)
  };
  const onData = (e) => {
    if (state !== 'holding') return;
    if (m.areTilesLoaded()) finish();
    else if (e.sourceId === 'machimap' && e.tile) startWarmUp();
  };
  m.triggerRepaint = () => {
    if (state !== 'holding') repaint();
  };
  m.on('render', onRender);
  m.on('data', onData);
  m.once('error', finish);
  setTimeout(finish, 6000);
}

function buildStyle() {
  const style = JSON.parse(JSON.stringify(baseStyle));
  const ids = (cfg.tile_layers || ['wards', 'flood', 'landslide', 'tsunami', 'storm_surge', 'roads', 'shelters']).filter((d) => d !== 'stockpile');
  style.sources.machimap.url = offline.active()
    ? offline.tilesUrl(maplibregl)
    : new URL(`/tiles/${ids.join(',')}.json`, location.href).href;
  if (cfg.gsi_basemap && cfg.gsi_tiles) {
    style.sources.gsi = {
      type: 'raster',
      tiles: [cfg.gsi_tiles],
      tileSize: 256,
      minzoom: 2,
      maxzoom: 18,
      attribution: '<a href="https://maps.gsi.go.jp/development/ichiran.html" rel="noopener">地理院タイル</a>',
    };
    style.layers.splice(1, 0, { id: 'gsi-pale', type: 'raster', source: 'gsi', layout: { visibility: state.basemap ? 'visible' : 'none' } });
  }
  for (const l of style.layers) {
    const g = l.metadata?.['machimap:group'];
    if (g) l.layout = { ...(l.layout || {}), visibility: state.layers.has(g) ? 'visible' : 'none' };
  }
  const fl = style.layers.find((l) => l.id === 'flood-fill');
  if (fl) fl.filter = ['==', ['get', 'scenario'], SCENARIOS[state.scenario]];
  const wf = style.layers.find((l) => l.id === 'wards-fill');
  if (wf && state.basemap) wf.paint['fill-opacity'] = 0.25;
  shareShaders(style);
  // The page paints the background colour behind the canvas (CSS): one shader and one pass over
  // every pixel fewer in each frame.
  const bg = style.layers.findIndex((l) => l.type === 'background');
  if (bg >= 0) {
    mapBackground = style.layers[bg].paint?.['background-color'] || mapBackground;
    style.layers.splice(bg, 1);
    $('main').style.backgroundColor = mapBackground;
  }
  return style;
}

/** `v` written as a per-feature expression (that always gives `v`). */
const perFeature = (v) => ['case', ['has', 'machimap:none'], v, v];

/**
 * MapLibre compiles a shader for each layer type and each set of properties that vary by
 * feature, the first time it draws one, and the page waits for each compile (tens of ms on a
 * phone). The few layers with one colour or one width for all features are given the form of
 * the hazard layers they are drawn with (same colours and widths), so that the first view
 * needs three shaders fewer: ward fill as the hazard fills, ward line as the dashed landslide
 * line, the designated landslide line as the road line.
 */
function shareShaders(style) {
  const paint = (id) => style.layers.find((l) => l.id === id)?.paint;
  const wardsFill = paint('wards-fill');
  if (wardsFill && typeof wardsFill['fill-color'] === 'string') wardsFill['fill-color'] = perFeature(wardsFill['fill-color']);
  const wardsLine = paint('wards-line');
  if (wardsLine && typeof wardsLine['line-color'] === 'string') wardsLine['line-color'] = perFeature(wardsLine['line-color']);
  const designated = paint('landslide-line-designated');
  const w = designated?.['line-width'];
  if (Array.isArray(w) && w[0] === 'interpolate' && JSON.stringify(w[2]) === '["zoom"]') {
    designated['line-width'] = [...w.slice(0, 3), ...w.slice(3).map((x, i) => (i % 2 ? perFeature(x) : x))];
  }
}

function initMap() {
  const opts = {
    container: 'map',
    style: buildStyle(),
    minZoom: 8,
    maxZoom: 18,
    dragRotate: false,
    pitchWithRotate: false,
    touchPitch: false,
    attributionControl: false,
    canvasContextAttributes: { preserveDrawingBuffer: true, antialias: false },
    pixelRatio: WARM_RATIO, // until the first view is drawn (see drawWhenComplete)
    fadeDuration: 0,
    validateStyle: false, // validated by the tests (tests/web/style.test.mjs), not on every phone
    locale: { 'Map.Title': t('map_label') },
  };
  if (state.view) {
    opts.center = state.view.center;
    opts.zoom = state.view.zoom;
  } else if (cfg.bounds) {
    opts.bounds = [[cfg.bounds[0], cfg.bounds[1]], [cfg.bounds[2], cfg.bounds[3]]];
    opts.fitBoundsOptions = { padding: 10 };
  }
  map = new maplibregl.Map(opts);
  map.touchZoomRotate.disableRotation();
  map.keyboard.disableRotation();
  // The controls in a task of their own: the map's style and tiles are already on their way.
  nextTask(() => {
    map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
    map.addControl(new maplibregl.ScaleControl({ maxWidth: 100, unit: 'metric' }), 'bottom-left');
    map.addControl(new maplibregl.AttributionControl({ compact: true, customAttribution: 'machimap' }), 'bottom-right');
    labelMapControls();
  });
  map.on('styleimagemissing', () => addIcons(map));
  // A tile the server did not give: if the server is down and a mirror is named, the map and
  // the answers switch to the mirror (MapLibre logs nothing itself once this listens).
  map.on('error', (e) => {
    if (offline.active() || !cfg.mirror || e.sourceId !== 'machimap') return;
    fetchLive('/healthz').then((r) => {
      if (!r.ok && r.status >= 500) switchToMirror().catch(() => {});
    }, (err) => {
      if (err.name !== 'AbortError' && !offline.active()) switchToMirror().catch(() => {});
    });
  });
  // Show the canvas once the first view is complete (one paint, not one per arriving tile).
  // `window.machimap` (for the tests and the console) appears with it.
  // Sharp on every phone, but not 3× screens' 9× the pixels to fill.
  drawWhenComplete(map, Math.min(window.devicePixelRatio || 1, 2), () => {
    document.body.classList.add('map-drawn');
    performance.mark?.('machimap:map-drawn');
    window.machimap = { map, state, copyRisk };
    // Keep what this phone saw for when the connection drops (web/sw.js), once the map is up.
    // At the page's own folder, not under a static copy's <base>: it keeps the whole site.
    navigator.serviceWorker?.register(new URL('sw.js', location.href).href).catch(() => {});
  });
  map.on('load', () => {
    addIcons(map);
    setPick(pickFeatures());
    labelMapControls();
    document.body.classList.add('map-ready');
  });
  map.on('moveend', () => {
    if (!quietMove) writeUrl();
  });
  map.on('click', (e) => {
    const box = [[e.point.x - 8, e.point.y - 8], [e.point.x + 8, e.point.y + 8]];
    const sh = map.getLayer('shelters-symbol') && state.layers.has('shelters')
      ? map.queryRenderedFeatures(box, { layers: ['shelters-symbol'] }) : [];
    if (sh.length) {
      const f = sh[0];
      const fid = f.id ?? f.properties.fid;
      if (fid != null) {
        state.highlight = f.geometry.coordinates;
        setPick(pickFeatures());
        openShelter(fid, { focus: false });
        return;
      }
    }
    checkPlace(e.lngLat.lng, e.lngLat.lat, { via: 'pointer' });
  });
  map.on('mousemove', (e) => {
    const over = map.getLayer('shelters-symbol') && state.layers.has('shelters')
      && map.queryRenderedFeatures(e.point, { layers: ['shelters-symbol'] }).length;
    map.getCanvas().style.cursor = over ? 'pointer' : '';
  });
  const canvas = map.getCanvas();
  canvas.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      const c = map.getCenter();
      checkPlace(c.lng, c.lat, { via: 'keyboard', focus: true });
    }
  });
  labels = wardLabels(map, { sourceLayer: 'wards_label', minzoom: 13 });
  labels.setVisible(state.layers.has('wards'));
}

// ---------- Start ----------

function init() {
  // Language choices.
  const sel = $('lang');
  sel.replaceChildren(...LANGS.map((l) => h('option', { value: l, lang: STRINGS[l].html_lang }, STRINGS[l].lang_name)));
  sel.addEventListener('change', () => {
    state.lang = sel.value;
    applyStrings();
    writeUrl();
    if (state.detail) renderShelter(false);
    else if (state.at) loadRisk({ focus: false });
    const q = $('q').value.trim();
    if (q && $('search-results').childElementCount) search(q);
  });
  $('search').addEventListener('submit', (e) => {
    e.preventDefault();
    search($('q').value);
  });
  $('locate').addEventListener('click', () => {
    if (!('geolocation' in navigator)) {
      renderError(t('locate_error'));
      return;
    }
    $('info-live').textContent = t('locating');
    navigator.geolocation.getCurrentPosition(
      (pos) => checkPlace(pos.coords.longitude, pos.coords.latitude, { fly: true, via: 'keyboard', focus: true }),
      () => renderError(t('locate_error')),
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
    );
  });
  $('check-center').addEventListener('click', () => {
    const c = map.getCenter();
    checkPlace(c.lng, c.lat, { via: 'keyboard', focus: true });
  });
  $('print').addEventListener('click', () => window.print());
  // The map canvas is WebGL: print a still image of it instead.
  window.addEventListener('beforeprint', () => {
    if (!map) return;
    let img = $('print-img');
    if (!img) {
      img = h('img', { id: 'print-img', alt: t('map_label') });
      $('main').append(img);
    }
    // The canvas is transparent where there is no data: print it over the map's background.
    const src = map.getCanvas();
    const still = document.createElement('canvas');
    still.width = src.width;
    still.height = src.height;
    const g = still.getContext('2d');
    g.fillStyle = mapBackground;
    g.fillRect(0, 0, still.width, still.height);
    g.drawImage(src, 0, 0);
    img.src = still.toDataURL('image/png');
    state.layersWereOpen = $('layers-box').open;
    $('layers-box').open = true;
  });
  window.addEventListener('afterprint', () => {
    $('layers-box').open = !!state.layersWereOpen;
  });
  document.querySelector('.skip').addEventListener('click', (e) => {
    e.preventDefault();
    reveal($('info'), true);
  });
  const details = $('layers-box');
  if (window.matchMedia('(min-width: 761px)').matches) details.open = true;
  // The map first, so its style and tiles are on their way; the rest of the page (painted in
  // Japanese by the HTML already) in a task of its own.
  initMap();
  nextTask(() => {
    applyStrings();
    pollStatus();
    if (state.shelter) openShelter(state.shelter, { focus: false });
    else if (state.at) {
      state.via = 'hash';
      setPick(pickFeatures());
      loadRisk({ focus: false });
    }
  });
}

init();
