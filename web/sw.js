// machimap's service worker: keeps what a phone last saw so the map still works when the
// connection drops. Pages and data are network-first (fresh when the network answers, the
// saved copy when it does not, marked `X-Machimap-Saved`); hashed assets cache-first; tile
// archive ranges saved per range. Staff pages, the admin API and live status are never kept.
// It controls the pages loaded after it is installed (no claim: a first visit is not changed).
const CACHE = 'machimap-v1';
const MAX_ENTRIES = 3000;
const NEVER = /^\/(admin|api\/admin|api\/shelter-status|api\/3|api\/action|ogc|catalog|healthz|metrics)/;

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => {
  e.waitUntil(caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k)))));
});

let puts = 0;
async function keep(key, res) {
  const c = await caches.open(CACHE);
  await c.put(key, res);
  puts += 1;
  if (puts % 200 === 0) {
    // Oldest first: keys come back in the order they were stored.
    const keys = await c.keys();
    await Promise.all(keys.slice(0, Math.max(0, keys.length - MAX_ENTRIES)).map((k) => c.delete(k)));
  }
}

function saved(res) {
  const h = new Headers(res.headers);
  h.set('X-Machimap-Saved', '1');
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers: h });
}

async function networkFirst(req) {
  try {
    const res = await fetch(req);
    if (res.ok && (res.type === 'basic' || res.type === 'cors')) keep(req, res.clone()).catch(() => {});
    return res;
  } catch (err) {
    const hit = await caches.match(req, { cacheName: CACHE });
    if (hit) return saved(hit);
    throw err;
  }
}

async function cacheFirst(req) {
  const hit = await caches.match(req, { cacheName: CACHE });
  if (hit) return hit;
  const res = await fetch(req);
  if (res.ok) keep(req, res.clone()).catch(() => {});
  return res;
}

// The Cache API keeps no partial responses: a range is kept as a whole response under a key
// that names the range, and given back as the 206 it was.
async function range(req) {
  const r = req.headers.get('range');
  const key = `${req.url}${req.url.includes('?') ? '&' : '?'}machimap-range=${encodeURIComponent(r)}`;
  try {
    const res = await fetch(req);
    if (res.status === 206) {
      const h = new Headers(res.headers);
      keep(key, new Response(await res.clone().arrayBuffer(), { status: 200, headers: h })).catch(() => {});
    }
    return res;
  } catch (err) {
    const hit = await caches.match(key, { cacheName: CACHE });
    if (!hit) throw err;
    const h = new Headers(hit.headers);
    h.set('X-Machimap-Saved', '1');
    return new Response(hit.body, { status: 206, headers: h });
  }
}

self.addEventListener('fetch', (e) => {
  const req = e.request;
  if (req.method !== 'GET') return;
  const u = new URL(req.url);
  if (u.origin === self.location.origin && NEVER.test(u.pathname)) return;
  if (req.headers.get('accept') === 'text/event-stream') return;
  if (req.headers.has('range')) e.respondWith(range(req));
  else if (/\/assets\/[^/]+-[A-Z0-9]{8}\.\w+$/.test(u.pathname)) e.respondWith(cacheFirst(req));
  else e.respondWith(networkFirst(req));
});
