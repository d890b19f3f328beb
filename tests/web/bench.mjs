// scripts/bench-web: first-load bytes (Chromium via playwright-core, until the map is idle) and
// Lighthouse (mobile profile, default simulated throttling) scores for the resident map.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BASE, CHROMIUM, CHROMIUM_ARGS, ROOT, browser, idle, transferred } from './support.mjs';

const RUNS = Number(process.env.LIGHTHOUSE_RUNS || 3);

/** First-load budgets: 400 KB on a phone (issue 17), 1.6 MB on a desktop screen. */
const budgetBytes = (w) => (w <= 480 ? 400_000 : 1.6 * 1048576);
const budgetOf = (w) => (w <= 480 ? '400 KB' : '1.6 MB');

async function firstLoad(width, height) {
  const b = await browser({ width, height, reducedMotion: 'no-preference' });
  try {
    await b.page.goto(`${BASE}/`);
    await idle(b.page);
    const bytes = await transferred(b.log);
    const tiles = b.log.responses.filter((r) => r.url().includes('.mvt')).length;
    return { bytes, requests: b.log.responses.length, tiles };
  } finally {
    await b.close();
  }
}

function lighthouse() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'machimap-lh-'));
  const out = path.join(dir, 'report.json');
  try {
    execFileSync(process.execPath, [
      path.join(ROOT, 'web/node_modules/lighthouse/cli/index.js'),
      `${BASE}/`,
      '--quiet',
      '--form-factor=mobile',
      '--only-categories=performance,accessibility,best-practices',
      '--output=json',
      `--output-path=${out}`,
      `--chrome-flags=${CHROMIUM_ARGS.join(' ')}`,
    ], { env: { ...process.env, CHROME_PATH: CHROMIUM }, stdio: ['ignore', 'inherit', 'inherit'] });
    const r = JSON.parse(readFileSync(out, 'utf8'));
    const score = (c) => Math.round((r.categories[c]?.score ?? 0) * 100);
    const a = r.audits;
    return {
      performance: score('performance'),
      accessibility: score('accessibility'),
      bestPractices: score('best-practices'),
      fcp: a['first-contentful-paint']?.displayValue,
      lcp: a['largest-contentful-paint']?.displayValue,
      tbt: a['total-blocking-time']?.displayValue,
      cls: a['cumulative-layout-shift']?.displayValue,
      si: a['speed-index']?.displayValue,
      bytes: a['total-byte-weight']?.numericValue,
      metrics: Object.fromEntries(['first-contentful-paint', 'largest-contentful-paint', 'total-blocking-time', 'speed-index', 'cumulative-layout-shift']
        .map((id) => [id, a[id]?.numericValue])),
      lcpElement: a['largest-contentful-paint-element']?.details?.items?.[0]?.items?.[0]?.node?.selector,
      // When the page showed the map (a mark set by web/src/main.js), in the unthrottled run: a
      // run that ended before it measured a page without its map.
      mapDrawn: (a['user-timings']?.details?.items || []).find((x) => x.name === 'machimap:map-drawn')?.startTime,
      failed: Object.values(a).filter((x) => x.score !== null && x.score < 0.9 && x.scoreDisplayMode === 'binary').map((x) => x.id),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

for (const [w, h] of [[360, 740], [1280, 800]]) {
  const f = await firstLoad(w, h);
  console.log(`first load ${w}x${h}: ${f.bytes} B transferred (${(f.bytes / 1048576).toFixed(2)} MiB) in ${f.requests} requests, ${f.tiles} tiles; budget ${budgetOf(w)}: ${f.bytes <= budgetBytes(w) ? 'OK' : 'OVER'}`);
}
const runs = [];
for (let i = 0; i < RUNS; i++) {
  const r = lighthouse();
  runs.push(r);
  const drawn = r.mapDrawn === undefined ? 'map NOT drawn before the run ended' : `map drawn at ${Math.round(r.mapDrawn)} ms`;
  console.log(`lighthouse run ${i + 1}: performance ${r.performance}, accessibility ${r.accessibility}, best practices ${r.bestPractices} | FCP ${r.fcp}, LCP ${r.lcp}, TBT ${r.tbt}, CLS ${r.cls}, SI ${r.si} | ${r.bytes} B | LCP element ${r.lcpElement} | ${drawn}${r.failed.length ? ` | failed: ${r.failed.join(', ')}` : ''}`);
}
const perf = median(runs.map((r) => r.performance));
const a11y = median(runs.map((r) => r.accessibility));
const m = (id) => median(runs.map((r) => r.metrics[id] ?? Infinity));
console.log(`lighthouse median of ${RUNS}: FCP ${Math.round(m('first-contentful-paint'))} ms, LCP ${Math.round(m('largest-contentful-paint'))} ms, TBT ${Math.round(m('total-blocking-time'))} ms, SI ${Math.round(m('speed-index'))} ms, CLS ${m('cumulative-layout-shift').toFixed(3)}`);
console.log(`lighthouse median of ${RUNS}: performance ${perf} (target >= 90), accessibility ${a11y} (target 100)`);
const blind = runs.filter((r) => r.mapDrawn === undefined).length;
if (blind) console.log(`${blind} of ${RUNS} runs ended before the map was drawn: their scores do not count the map`);
if (perf < 85 || a11y < 95 || blind) process.exitCode = 1;
