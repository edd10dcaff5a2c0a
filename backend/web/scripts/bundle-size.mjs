// Prints the gzipped size of what the browser must load before the panel starts (the entry
// script, its preloaded chunks and the CSS named in index.html) and of each lazy chunk; fails
// when the initial JavaScript exceeds the budget. Usage: node scripts/bundle-size.mjs <dist>
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const BUDGET_KB = 300;
const dist = process.argv[2] ?? 'dist';
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const initial = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+)"/g)].map((m) => m[1]);
const kb = (f) => gzipSync(readFileSync(join(dist, f))).length / 1024;
let js = 0;
for (const f of initial) {
  const size = kb(f);
  if (f.endsWith('.js')) js += size;
  console.log(`initial  ${f.padEnd(48)} ${size.toFixed(1).padStart(7)} KB gzipped`);
}
for (const f of readdirSync(join(dist, 'assets'))) {
  if (!initial.includes(`assets/${f}`)) console.log(`lazy     ${`assets/${f}`.padEnd(48)} ${kb(`assets/${f}`).toFixed(1).padStart(7)} KB gzipped`);
}
console.log(`initial JavaScript: ${js.toFixed(1)} KB gzipped (budget ${BUDGET_KB} KB)`);
if (js > BUDGET_KB) process.exit(1);
