// Shelter symbols drawn on a canvas at run time (no sprite file, no request).
// Shape tells the designation apart, not only colour: circle = 指定緊急避難場所 (site),
// square with a house = 指定避難所 (building), square with house and a circle badge = both.

const GREEN = '#0b6b3a';
const SIZE = 32; // CSS pixels

function canvas(ratio) {
  const c = document.createElement('canvas');
  c.width = c.height = SIZE * ratio;
  const g = c.getContext('2d', { willReadFrequently: true });
  g.scale(ratio, ratio);
  return [c, g];
}

function house(g, x, y, s) {
  g.fillStyle = '#fff';
  g.beginPath();
  g.moveTo(x, y - s * 0.55);
  g.lineTo(x + s * 0.55, y - s * 0.05);
  g.lineTo(x + s * 0.38, y - s * 0.05);
  g.lineTo(x + s * 0.38, y + s * 0.5);
  g.lineTo(x - s * 0.38, y + s * 0.5);
  g.lineTo(x - s * 0.38, y - s * 0.05);
  g.lineTo(x - s * 0.55, y - s * 0.05);
  g.closePath();
  g.fill();
  g.fillStyle = GREEN;
  g.fillRect(x - s * 0.1, y + s * 0.15, s * 0.2, s * 0.35);
}

function roundRect(g, x, y, w, h, r) {
  g.beginPath();
  g.moveTo(x + r, y);
  g.arcTo(x + w, y, x + w, y + h, r);
  g.arcTo(x + w, y + h, x, y + h, r);
  g.arcTo(x, y + h, x, y, r);
  g.arcTo(x, y, x + w, y, r);
  g.closePath();
}

function site(g, cx, cy, r) {
  g.fillStyle = GREEN;
  g.strokeStyle = '#fff';
  g.lineWidth = 2.5;
  g.beginPath();
  g.arc(cx, cy, r, 0, Math.PI * 2);
  g.fill();
  g.stroke();
  // A person running (head and body), simplified.
  g.fillStyle = '#fff';
  g.beginPath();
  g.arc(cx + r * 0.15, cy - r * 0.45, r * 0.2, 0, Math.PI * 2);
  g.fill();
  g.lineWidth = r * 0.2;
  g.lineCap = 'round';
  g.beginPath();
  g.moveTo(cx + r * 0.05, cy - r * 0.15);
  g.lineTo(cx - r * 0.1, cy + r * 0.25);
  g.lineTo(cx - r * 0.45, cy + r * 0.55);
  g.moveTo(cx - r * 0.1, cy + r * 0.25);
  g.lineTo(cx + r * 0.3, cy + r * 0.55);
  g.moveTo(cx - r * 0.4, cy - r * 0.05);
  g.lineTo(cx + r * 0.05, cy - r * 0.15);
  g.lineTo(cx + r * 0.45, cy + r * 0.05);
  g.stroke();
}

function draw(name, ratio) {
  const [c, g] = canvas(ratio);
  if (name === 'shelter-site') {
    site(g, SIZE / 2, SIZE / 2, SIZE / 2 - 2);
  } else {
    g.fillStyle = GREEN;
    g.strokeStyle = '#fff';
    g.lineWidth = 2.5;
    roundRect(g, 2, 2, SIZE - 4, SIZE - 4, 5);
    g.fill();
    g.stroke();
    house(g, SIZE / 2 - (name === 'shelter-both' ? 3 : 0), SIZE / 2 + 1, SIZE * 0.55);
    if (name === 'shelter-both') {
      g.fillStyle = '#fff';
      g.beginPath();
      g.arc(SIZE - 8, 8, 5.5, 0, Math.PI * 2);
      g.fill();
      g.fillStyle = GREEN;
      g.beginPath();
      g.arc(SIZE - 8, 8, 3, 0, Math.PI * 2);
      g.fill();
    }
  }
  return c;
}

export const ICONS = ['shelter-site', 'shelter-building', 'shelter-both'];

/** Add the shelter icons to a MapLibre map. */
export function addIcons(map) {
  const ratio = Math.max(1, Math.min(3, Math.ceil(window.devicePixelRatio || 1)));
  for (const name of ICONS) {
    if (map.hasImage(name)) continue;
    const c = draw(name, ratio);
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height);
    map.addImage(name, data, { pixelRatio: ratio });
  }
}

/** The icon as a data: URL, for the legend and lists. */
export function iconUrl(name) {
  return draw(name, 2).toDataURL('image/png');
}
