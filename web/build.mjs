// Builds the resident map into web/dist: one hashed script and stylesheet (MapLibre GL JS
// bundled from npm), MapLibre's CSP worker copied under a hashed name, the styles, and .br/.gz
// siblings of every text file so the server sends them pre-compressed.
import * as esbuild from 'esbuild';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const dist = process.env.MACHIMAP_WEB_OUT ? path.resolve(process.env.MACHIMAP_WEB_OUT) : path.join(here, 'dist');
const assets = path.join(dist, 'assets');

const hash = (buf) => createHash('sha256').update(buf).digest('base64url').replace(/[^A-Za-z0-9]/g, '').slice(0, 8).toUpperCase();

async function hashedCopy(src, base, ext) {
  const buf = await fs.readFile(src);
  const name = `${base}-${hash(buf)}${ext}`;
  await fs.writeFile(path.join(assets, name), buf);
  return name;
}

async function precompress(dir) {
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      await precompress(p);
    } else if (/\.(js|css|json|svg|html|txt)$/.test(e.name) && e.name !== 'index.html') {
      const buf = await fs.readFile(p);
      if (buf.length < 1024) continue;
      await fs.writeFile(`${p}.gz`, zlib.gzipSync(buf, { level: 9 }));
      await fs.writeFile(`${p}.br`, zlib.brotliCompressSync(buf, {
        params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: buf.length },
      }));
    }
  }
}

await fs.rm(dist, { recursive: true, force: true });
await fs.mkdir(assets, { recursive: true });

const worker = await hashedCopy(
  path.join(here, 'node_modules/maplibre-gl/dist/maplibre-gl-csp-worker.js'),
  'maplibre-gl-csp-worker',
  '.js',
);
const maplibre = await hashedCopy(
  path.join(here, 'node_modules/maplibre-gl/dist/maplibre-gl-csp.js'),
  'maplibre-gl-csp',
  '.js',
);
await fs.copyFile(path.join(here, 'node_modules/maplibre-gl/LICENSE.txt'), path.join(assets, 'maplibre-gl-LICENSE.txt'));
// MapLibre's source maps, under the names its files point to (fetched by developer tools only).
for (const f of ['maplibre-gl-csp.js.map', 'maplibre-gl-csp-worker.js.map']) {
  await fs.copyFile(path.join(here, 'node_modules/maplibre-gl/dist', f), path.join(assets, f));
}
const icon = await hashedCopy(path.join(here, 'icon.svg'), 'icon', '.svg');

const result = await esbuild.build({
  entryPoints: { main: path.join(here, 'src/main.js') },
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020', 'chrome100', 'safari15', 'firefox100'],
  outdir: assets,
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  metafile: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  define: { __WORKER_URL__: JSON.stringify(`assets/${worker}`) },
  loader: { '.json': 'json' },
  logLevel: 'warning',
});

const outputs = Object.keys(result.metafile.outputs).map((p) => path.basename(p)).filter((f) => !f.endsWith('.map'));
const js = outputs.find((f) => /^main-.*\.js$/.test(f));
const css = outputs.find((f) => /^main-.*\.css$/.test(f));
if (!js || !css) throw new Error(`build produced no main js/css: ${outputs.join(', ')}`);

// A tiny first script that starts the two big ones after the first paint.
const bootResult = await esbuild.build({
  entryPoints: { boot: path.join(here, 'src/boot.js') },
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020'],
  outdir: assets,
  entryNames: '[name]-[hash]',
  metafile: true,
  define: { __SCRIPTS__: JSON.stringify([`assets/${maplibre}`, `assets/${js}`]) },
  logLevel: 'warning',
});
const boot = Object.keys(bootResult.metafile.outputs).map((p) => path.basename(p)).find((f) => /^boot-.*\.js$/.test(f));

// The Japanese strings go straight into the HTML, so the first paint is final (the script only
// changes text for another language). `{city}` is filled in by the server.
const ja = JSON.parse(await fs.readFile(path.join(here, 'src/strings/ja.json'), 'utf8'));
const esc = (t) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const html = (await fs.readFile(path.join(here, 'index.html'), 'utf8'))
  .replace(/(<([a-z0-9]+)\b[^>]*\sdata-i18n="([a-z_]+)"[^>]*>)([^<]*)(<\/\2>)/g,
    (m, open, tag, key, text, close) => `${open}${esc(ja[key] ?? text)}${close}`)
  .replace('<title>ハザードマップ</title>', `<title>${esc(ja.app_title)}</title>`)
  .replaceAll('%MAPLIBRE%', `assets/${maplibre}`)
  .replaceAll('%JS%', `assets/${js}`)
  .replace('%BOOT%', `assets/${boot}`)
  .replace('%CSS%', `assets/${css}`)
  .replace('%ICON%', `assets/${icon}`);
await fs.writeFile(path.join(dist, 'index.html'), html);

// The service worker, unhashed at the root (a worker's scope is its folder).
await fs.copyFile(path.join(here, 'sw.js'), path.join(dist, 'sw.js'));

// The styles, beside the page (served at /styles/...).
await fs.mkdir(path.join(dist, 'styles'), { recursive: true });
for (const f of await fs.readdir(path.join(root, 'styles'))) {
  if (f.endsWith('.json')) await fs.copyFile(path.join(root, 'styles', f), path.join(dist, 'styles', f));
}

const files = (await fs.readdir(assets)).filter((f) => !/\.(gz|br|map)$/.test(f));
await fs.writeFile(path.join(assets, 'manifest.json'), `${JSON.stringify({ js, css, maplibre, worker, boot, icon, files }, null, 2)}\n`);
await precompress(dist);

let total = 0;
for (const f of [maplibre, js, css, worker]) {
  const p = path.join(assets, f);
  const raw = (await fs.stat(p)).size;
  const br = (await fs.stat(`${p}.br`)).size;
  total += br;
  console.log(`  ${f.padEnd(44)} ${String(raw).padStart(9)} B  br ${String(br).padStart(8)} B`);
}
console.log(`web/dist built: ${total} B of script and style (brotli)`);
