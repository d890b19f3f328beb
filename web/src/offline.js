// The site without its server: the static export (`machimap export-site`) read in the browser.
// Used when the page itself is a static copy, and by the live page when its server fails and
// it switches to the mirror the server named. The risk answer is the server's own code
// (crates/risk, compiled to WebAssembly as risk.wasm) over the export's files, so the two
// cannot disagree; see crates/risk-web for the request layout.
import { PMTiles, Protocol } from 'pmtiles';

let base = null; // the export's root URL (ends with '/'), or null while the live server answers
let cache = new Map(); // path → Promise of its text, bytes or instance

/** Whether answers come from an export. */
export const active = () => base !== null;

/** Read from the export at `root` from now on (the page's own release folder). */
export function use(root) {
  base = new URL(root.endsWith('/') ? root : `${root}/`, location.href).href;
  cache = new Map();
}

/**
 * Read from the mirror at `root` from now on: the folder `machimap export-site` wrote (its
 * current release, pinned for the rest of the visit so a refresh of the mirror meanwhile never
 * mixes two), or a release served as it is (the offline pack).
 */
export async function useMirror(root) {
  const r = new URL(root.endsWith('/') ? root : `${root}/`, location.href).href;
  for (const at of [`${r}current/`, r]) {
    try {
      const res = await fetch(`${at}manifest.json`, { cache: 'no-store' });
      if (!res.ok) continue;
      const m = await res.json();
      use(at === r ? r : `${r}releases/${encodeURIComponent(m.release)}/`);
      return;
    } catch {
      // try the next form
    }
  }
  throw new Error(`no static copy at ${r}`);
}

const url = (path) => new URL(path, base).href;

function once(key, make) {
  if (!cache.has(key)) {
    const p = make();
    // A failed read is tried again next time (the connection may be back).
    p.catch(() => cache.delete(key));
    cache.set(key, p);
  }
  return cache.get(key);
}

async function get(path, kind) {
  const r = await fetch(url(path));
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return kind === 'bytes' ? new Uint8Array(await r.arrayBuffer()) : r.text();
}

const text = (path) => once(path, () => get(path, 'text'));
const json = async (path) => JSON.parse(await text(path));

/** The export's manifest (data versions and dates, risk grid levels). */
export const manifest = () => json('manifest.json');

/** The cells a hazard has files for (no zone and no coverage elsewhere). */
const cellsOf = (h) => once(`risk/${h}/cells`, async () => new Set(await json(`risk/${h}/cells.json`)));

const wasm = () => once('risk.wasm', async () => {
  const bytes = await get('risk.wasm', 'bytes');
  const { instance } = await WebAssembly.instantiate(bytes, {});
  return instance.exports;
});

/**
 * The risk answer at a point, as `/api/risk` gives it. `lat` and `lon` are the texts the live
 * page would send (six decimals), so both sides start from the same numbers.
 */
export async function risk(lat, lon, lang, floors) {
  const [m, ex, shelters, status] = await Promise.all([manifest(), wasm(), text('data/shelters.json'), text('data/status.json')]);
  const parts = [];
  let offset = 0;
  const hazards = await Promise.all(Object.entries(m.risk.hazards).map(async ([h, info]) => {
    const n = 2 ** info.level;
    const cell = `${Math.floor(Number(lon) * n)}_${Math.floor(Number(lat) * n)}`;
    const [zones, listed] = await Promise.all([text(`risk/${h}/zones.json`), cellsOf(h)]);
    const bytes = listed.has(cell) ? await once(`risk/${h}/${cell}.bin`, () => get(`risk/${h}/${cell}.bin`, 'bytes')) : null;
    return { h, info, zones, bytes };
  }));
  const hz = hazards.map(({ h, info, zones, bytes }) => {
    let range = 'null';
    if (bytes) {
      range = `[${offset},${bytes.length}]`;
      parts.push(bytes);
      offset += bytes.length;
    }
    return `${JSON.stringify(h)}:{"published_at":${JSON.stringify(info.published_at)},"zones":${zones},"cell":${range}}`;
  });
  const req = `{"lat":${JSON.stringify(String(lat))},"lon":${JSON.stringify(String(lon))},"lang":${JSON.stringify(lang)},`
    + `"floors":${floors ? Number(floors) : 'null'},"hazards":{${hz.join(',')}},"shelters":${shelters},"status":${status}}`;
  const head = new TextEncoder().encode(req);
  const len = 4 + head.length + offset;
  const ptr = ex.mm_alloc(len);
  let mem = new Uint8Array(ex.memory.buffer, ptr, len);
  new DataView(mem.buffer, ptr, 4).setUint32(0, head.length, true);
  mem.set(head, 4);
  let at = 4 + head.length;
  for (const p of parts) {
    mem.set(p, at);
    at += p.length;
  }
  const out = ex.mm_assess(ptr, len);
  mem = new Uint8Array(ex.memory.buffer);
  const n = new DataView(ex.memory.buffer, out, 4).getUint32(0, true);
  const answer = new TextDecoder().decode(mem.subarray(out + 4, out + 4 + n));
  ex.mm_free(out, 4 + n);
  const v = JSON.parse(answer);
  if (v.error) throw new Error(v.error);
  return v;
}

/** One shelter with its stockpile, as `/api/shelters/{fid}` gives it. */
export const shelter = (fid) => json(`data/shelters/${Number(fid)}.json`);

/** The status staff last set, when the export was written: fid → {status, evacuees, at}. */
export const status = () => json('data/status.json');

/** Text folded as the server folds it for search (width, katakana → hiragana, case, spaces). */
export function fold(s) {
  return s.normalize('NFKC').replace(/\s+/g, '').replace(/[\u30A1-\u30F6]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0x60)).toLowerCase();
}

function score(q, c) {
  if (!c) return 0;
  if (c === q) return 4;
  if (c.startsWith(q)) return 3;
  return c.includes(q) ? 2 : 0;
}

const RANK = { shelter: 0, ward: 1, road: 2, address: 3 };

/** Search the export's index the way `/api/search` ranks (names before readings, then kind). */
export async function search(q, limit) {
  const entries = await json('data/search.json');
  const fq = fold(q);
  if (!fq) return [];
  const hits = [];
  for (const e of entries) {
    let best = score(fq, e.name) * 2;
    for (const o of e.others) {
      const s = score(fq, o);
      best = Math.max(best, s * 2 - (s > 0 ? 1 : 0));
    }
    if (best > 0) hits.push({ ...e.hit, score: best });
  }
  hits.sort((a, b) => b.score - a.score || RANK[a.kind] - RANK[b.kind]
    || [...a.name].length - [...b.name].length || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) || a.fid - b.fid);
  return hits.slice(0, limit).map(({ score: _, ...h }) => h);
}

/**
 * A PMTiles source that also works where the server ignores Range (`python3 -m http.server`
 * on a shelter's PC): a whole-file answer is kept and sliced.
 */
class RangeOrWhole {
  constructor(u) {
    this.u = u;
    this.whole = null;
  }

  getKey() {
    return this.u;
  }

  async getBytes(offset, length, signal) {
    if (!this.whole) {
      const r = await fetch(this.u, { signal, headers: { range: `bytes=${offset}-${offset + length - 1}` } });
      if (r.status === 206) return { data: await r.arrayBuffer() };
      if (r.status !== 200) throw new Error(`tiles: HTTP ${r.status}`);
      this.whole = this.whole || r.arrayBuffer();
    }
    return { data: (await this.whole).slice(offset, offset + length) };
  }
}

let protocol = null;

/** The tile archive's TileJSON URL for MapLibre (registers the `pmtiles://` protocol once). */
export function tilesUrl(maplibregl) {
  if (!protocol) {
    protocol = new Protocol();
    maplibregl.addProtocol('pmtiles', protocol.tile);
  }
  const u = url('data/tiles.pmtiles');
  if (!protocol.get(u)) protocol.add(new PMTiles(new RangeOrWhole(u)));
  return `pmtiles://${u}`;
}
