// Ward names drawn as HTML over the map, from the `wards_label` point layer of the tiles.
// This needs no glyph (font) files, so nothing is fetched from outside the server, and the
// browser's own Japanese fonts are used. Labels that would overlap are left out.

export function wardLabels(map, { sourceLayer, minzoom }) {
  const layer = document.createElement('div');
  layer.className = 'ward-labels';
  layer.setAttribute('aria-hidden', 'true');
  map.getContainer().appendChild(layer);
  let items = [];
  let visible = true;

  function place() {
    const w = layer.clientWidth;
    const hgt = layer.clientHeight;
    const taken = [];
    for (const it of items) {
      const p = map.project(it.lngLat);
      const bw = it.width;
      const bh = 20;
      const box = [p.x - bw / 2, p.y - bh / 2, p.x + bw / 2, p.y + bh / 2];
      const off = box[2] < 0 || box[0] > w || box[3] < 0 || box[1] > hgt;
      const hit = taken.some((b) => !(box[2] < b[0] || box[0] > b[2] || box[3] < b[1] || box[1] > b[3]));
      const show = !off && !hit;
      it.el.hidden = !show;
      if (show) {
        taken.push(box);
        it.el.style.transform = `translate(${Math.round(p.x - bw / 2)}px, ${Math.round(p.y - bh / 2)}px)`;
      }
    }
  }

  function rebuild() {
    if (!visible || map.getZoom() < minzoom || !map.getSource('machimap')) {
      layer.replaceChildren();
      items = [];
      return;
    }
    const seen = new Map();
    for (const f of map.querySourceFeatures('machimap', { sourceLayer })) {
      const name = f.properties?.name;
      const key = f.id ?? f.properties?.code ?? name;
      if (!name || seen.has(key)) continue;
      const [lon, lat] = f.geometry.coordinates;
      seen.set(key, { name, lngLat: [lon, lat], pop: Number(f.properties.population) || 0 });
    }
    const list = [...seen.values()].sort((a, b) => b.pop - a.pop || a.name.localeCompare(b.name));
    const old = new Map(items.map((it) => [it.name + it.lngLat.join(), it]));
    items = list.map((d) => {
      const k = d.name + d.lngLat.join();
      if (old.has(k)) return old.get(k);
      const el = document.createElement('span');
      el.className = 'ward-label';
      el.textContent = d.name;
      return { ...d, el, width: d.name.length * 13 + 10 };
    });
    layer.replaceChildren(...items.map((it) => it.el));
    place();
  }

  map.on('move', place);
  map.on('moveend', rebuild);
  map.on('idle', rebuild);
  map.on('resize', place);
  return {
    setVisible(v) {
      visible = v;
      rebuild();
    },
  };
}
