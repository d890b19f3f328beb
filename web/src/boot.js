// Paint the page first, then run MapLibre and the app (both already downloading, preloaded):
// the text of the page never waits for the map's scripts. "Painted" means the browser reported
// the first contentful paint (the frame reached the screen), not only that a frame was begun;
// browsers without paint timing start the scripts after the first animation frame.
/* global __SCRIPTS__ */
let started = false;
function start() {
  if (started) return;
  started = true;
  for (const src of __SCRIPTS__) {
    const s = document.createElement('script');
    s.src = src;
    s.async = false; // run in order: MapLibre, then the app
    document.head.append(s);
  }
}

let waitForPaint = false;
try {
  // A tab opened in the background paints (and starts) when it is first shown.
  if (document.visibilityState === 'visible' && PerformanceObserver.supportedEntryTypes.includes('paint')) {
    const po = new PerformanceObserver((list) => {
      if (!list.getEntriesByName('first-contentful-paint').length) return;
      po.disconnect();
      setTimeout(start, 0);
    });
    po.observe({ type: 'paint', buffered: true });
    waitForPaint = true;
  }
} catch {
  waitForPaint = false;
}
// Without paint timing, after the first frame; with it, a late safety net so the map always starts.
requestAnimationFrame(() => setTimeout(start, waitForPaint ? 3000 : 0));
