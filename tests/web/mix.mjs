// scripts/bench-mirror: the requests of the map's first load on a phone (Chromium, until the
// map is idle), as wrk replays them: one line per request, `path<TAB>range` (range empty when
// none). Usage: node tests/web/mix.mjs ORIGIN OUT
import { writeFileSync } from 'node:fs';
import { browser, idle } from './support.mjs';

const [origin, out] = process.argv.slice(2);
const b = await browser({ width: 360, height: 740 });
try {
  await b.page.goto(`${origin}/`);
  await idle(b.page);
  const lines = b.log.requests
    .filter((r) => r.url().startsWith(`${origin}/`) && r.method() === 'GET')
    .map((r) => {
      const u = new URL(r.url());
      return `${u.pathname}${u.search}\t${r.headers().range || ''}`;
    });
  writeFileSync(out, `${lines.join('\n')}\n`);
  console.log(`${origin}: ${lines.length} requests in the first load`);
} finally {
  await b.close();
}
