// The flagged review against a database of 1,000 flagged punches, in Debian's Chromium (run by
// tests/perf/web-review.sh): prints how long the first card takes to become actionable after
// opening /review, and the frame timing while the window scrolls through every card (each
// animation frame's interval, sampled with requestAnimationFrame, and the long tasks seen), as
// figures (no assertions on time).
import { chromium } from '@playwright/test';

const url = process.env.FACEID_E2E_URL;
const events = Number(process.env.PERF_EVENTS ?? 1000);
// Pixels scrolled per animation frame: 200 px at 60 frames a second is a fast, steady scroll.
const step = Number(process.env.PERF_STEP ?? 200);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
const page = await browser.newPage({ locale: 'en-US', viewport: { width: 1280, height: 900 } });
const ms = (t0) => Math.round(performance.now() - t0);

await page.goto(url);
await page.getByLabel('Login').fill(process.env.FACEID_E2E_ADMIN);
await page.getByRole('textbox', { name: 'Password', exact: true }).fill(process.env.FACEID_E2E_PASSWORD);
await page.getByRole('button', { name: 'Sign in' }).click();
await page.getByRole('heading', { name: 'Today' }).waitFor();

// A fresh load of /review (the session is restored through the refresh cookie) until the first
// card's Approve button can be clicked.
await page.addInitScript(() => {
  window.__longTasks = [];
  new PerformanceObserver((l) => l.getEntries().forEach((e) => window.__longTasks.push(e.duration))).observe({ type: 'longtask', buffered: true });
});
let t0 = performance.now();
await page.goto(`${url}/review`);
const feed = page.getByRole('feed', { name: 'Flagged punches' });
const first = feed.getByRole('article').first();
await first.getByRole('button', { name: 'Approve' }).waitFor();
await first.getByRole('button', { name: 'Approve' }).isEnabled();
const interactive = ms(t0);
const load = await page.evaluate(() => {
  const n = performance.getEntriesByType('navigation')[0];
  const tasks = window.__longTasks;
  return { domContentLoaded: Math.round(n.domContentLoadedEventEnd), longTasks: tasks.length, longest: Math.round(Math.max(0, ...tasks)) };
});
const total = await page.getByText(/^Flagged punches: \d+/).textContent();

// Scroll the window through the whole list, one step per animation frame, until the last card
// (aria-posinset = the total) is on screen; the list reads its next batch as it nears the end.
const scroll = await page.evaluate(async ({ step, events }) => {
  window.__longTasks = [];
  const intervals = [];
  let maxCards = 0;
  let reached = 0;
  const t0 = performance.now();
  await new Promise((resolve) => {
    let last = 0;
    const tick = (now) => {
      if (last) intervals.push(now - last);
      last = now;
      const cards = document.querySelectorAll('[role="feed"] article');
      maxCards = Math.max(maxCards, cards.length);
      for (const c of cards) reached = Math.max(reached, Number(c.getAttribute('aria-posinset')));
      if (reached >= events || performance.now() - t0 > 120_000) return resolve();
      window.scrollBy(0, step);
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const sorted = [...intervals].sort((a, b) => a - b);
  const q = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  const frame = q(0.5);
  return {
    seconds: (performance.now() - t0) / 1000,
    frames: intervals.length,
    median: frame,
    p95: q(0.95),
    p99: q(0.99),
    longest: sorted.at(-1),
    // Frames that took more than one and a half frame intervals, and the frames they cost.
    slow: intervals.filter((d) => d > frame * 1.5).length,
    dropped: intervals.reduce((n, d) => n + Math.max(0, Math.round(d / frame) - 1), 0),
    longTasks: window.__longTasks.length,
    longestTask: Math.max(0, ...window.__longTasks),
    maxCards,
    reached,
    height: document.documentElement.scrollHeight,
  };
}, { step, events });

const f = (x) => x.toFixed(1);
console.log(`flagged review, ${total}:`);
console.log(`  first card actionable after opening /review: ${interactive} ms (DOMContentLoaded ${load.domContentLoaded} ms; ${load.longTasks} long tasks, longest ${load.longest} ms)`);
console.log(`  scroll through all ${scroll.reached} cards at ${step} px a frame (${scroll.height} px, ${f(scroll.seconds)} s, ${scroll.frames} frames):`);
console.log(`    frame interval median ${f(scroll.median)} ms, p95 ${f(scroll.p95)} ms, p99 ${f(scroll.p99)} ms, longest ${f(scroll.longest)} ms`);
console.log(`    frames over 1.5 intervals: ${scroll.slow} (${f((100 * scroll.slow) / scroll.frames)}%), dropped frames: ${scroll.dropped}`);
console.log(`    long tasks (> 50 ms): ${scroll.longTasks}, longest ${Math.round(scroll.longestTask)} ms`);
console.log(`    cards in the page at once: at most ${scroll.maxCards}`);
await browser.close();
