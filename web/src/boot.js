// Paint the page first, then run MapLibre and the app (both already downloading, preloaded):
// the text of the page never waits for the map's scripts.
/* global __SCRIPTS__ */
requestAnimationFrame(() => {
  setTimeout(() => {
    for (const src of __SCRIPTS__) {
      const s = document.createElement('script');
      s.src = src;
      s.async = false; // run in order: MapLibre, then the app
      document.head.append(s);
    }
  }, 0);
});
