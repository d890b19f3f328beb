// The MapLibre style validates with the style spec's own validator, and uses the national
// hazard-map colours (schemas.md §7).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ROOT, requireWeb } from './support.mjs';

const spec = requireWeb('@maplibre/maplibre-gl-style-spec');

for (const f of readdirSync(path.join(ROOT, 'styles')).filter((f) => f.endsWith('.json'))) {
  test(`styles/${f} is a valid MapLibre style`, () => {
    const style = JSON.parse(readFileSync(path.join(ROOT, 'styles', f), 'utf8'));
    const errors = spec.validateStyleMin(style).map((e) => e.message);
    assert.deepEqual(errors, []);
    // And the spec's own command-line validator (gl-style-validate), which also checks the JSON.
    const cli = path.join(ROOT, 'web/node_modules/@maplibre/maplibre-gl-style-spec/dist/gl-style-validate.cjs');
    const out = spawnSync(process.execPath, [cli, path.join(ROOT, 'styles', f)], { encoding: 'utf8' });
    assert.equal(out.status, 0, out.stdout + out.stderr);
  });
}

test('hazard.json carries the national colours and the landslide conventions', () => {
  const style = JSON.parse(readFileSync(path.join(ROOT, 'styles/hazard.json'), 'utf8'));
  const text = JSON.stringify(style).toUpperCase();
  for (const c of ['#F7F5A9', '#FFD8C0', '#FFB7B7', '#FF9191', '#F285C9', '#DC7ADC', '#FFFFB3', '#F8E1A6', '#FFED4C', '#FB684C']) {
    assert.ok(text.includes(c), c);
  }
  const layer = (id) => style.layers.find((l) => l.id === id);
  assert.deepEqual(layer('landslide-line-pending').filter, ['!=', ['get', 'designated'], true]);
  assert.ok(layer('landslide-line-pending').paint['line-dasharray']);
  assert.ok(!layer('landslide-line-designated').paint['line-dasharray']);
  assert.ok(JSON.stringify(layer('shelters-symbol').layout['icon-image']).includes('is_emergency_site'));
  // A zone of unknown depth is grey, never the shallowest band's colour; a flood zone
  // without a scenario (a prefectural file) is drawn.
  for (const id of ['flood-fill', 'inland_flood-fill', 'tsunami-fill', 'storm_surge-fill']) {
    const fill = JSON.stringify(layer(id).paint['fill-color']);
    assert.ok(fill.includes('"#C4C4C4"') && fill.includes('["has","depth_min_m"]'), `${id}: ${fill}`);
  }
  assert.ok(JSON.stringify(layer('flood-fill').filter).includes('["!",["has","scenario"]]'));
  // No glyphs and no external URL: nothing leaves the server.
  assert.equal(style.glyphs, undefined);
  assert.ok(!JSON.stringify(style).includes('http'), 'no absolute URL in the style');
  // Every source-layer is a dataset of the tiles.
  const known = new Set(['wards', 'flood', 'inland_flood', 'landslide', 'tsunami', 'storm_surge', 'roads', 'shelters',
    'wards_label', 'flood_label', 'inland_flood_label', 'landslide_label', 'tsunami_label', 'storm_surge_label']);
  // Inland flooding is a layer of its own, coloured apart from river flooding.
  const inland = layer('inland_flood-fill');
  assert.equal(inland['source-layer'], 'inland_flood');
  assert.ok(!JSON.stringify(inland.paint['fill-color']).includes('#F7F5A9'), 'not the river-flood colours');
  for (const l of style.layers) if (l['source-layer']) assert.ok(known.has(l['source-layer']), l['source-layer']);
});
