// The Employees page against a seeded database, in Debian's Chromium (run by
// tests/perf/web-employees.sh): prints how long the first rows take to show after opening the
// page, and each search until its rows show, as figures (no assertions on time).
import { chromium } from '@playwright/test';

const url = process.env.FACEID_E2E_URL;
const searches = Number(process.env.PERF_SEARCHES ?? 5);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
const page = await browser.newPage({ locale: 'en-US' });
const ms = (t0) => Math.round(performance.now() - t0);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

await page.goto(url);
await page.getByLabel('Login').fill(process.env.FACEID_E2E_ADMIN);
await page.getByRole('textbox', { name: 'Password', exact: true }).fill(process.env.FACEID_E2E_PASSWORD);
await page.getByRole('button', { name: 'Sign in' }).click();
await page.getByRole('heading', { name: 'Today' }).waitFor();

// A fresh load of /employees (the session is restored through the refresh cookie) until the first page of rows.
let t0 = performance.now();
await page.goto(`${url}/employees`);
const table = page.getByRole('table', { name: 'Employees' });
await table.getByRole('link', { name: /Perfov/ }).first().waitFor();
const firstLoad = ms(t0);
const total = await page.getByText(/\d+ employees/).first().textContent();
const nav = await page.evaluate(() => {
  const n = performance.getEntriesByType('navigation')[0];
  return { domContentLoaded: Math.round(n.domContentLoadedEventEnd), load: Math.round(n.loadEventEnd) };
});

// Searches: a last name that matches one person, then a first name that matches a tenth.
const times = [];
for (let i = 0; i < searches; i++) {
  const n = 1 + Math.floor(Math.random() * Number(process.env.PERF_EMPLOYEES ?? 10000));
  const search = page.getByLabel('Search');
  t0 = performance.now();
  await search.fill(`Perfov${n}`);
  // Checked every animation frame (a locator's wait polls up to every 500 ms).
  await page.waitForFunction((name) => [...document.querySelectorAll('table a')].some((a) => a.textContent?.startsWith(`${name} `)), `Perfov${n}`, { polling: 'raf' });
  times.push(ms(t0));
}
const search = page.getByLabel('Search');
t0 = performance.now();
await search.fill('Zarina');
await page.waitForFunction(() => /\b1,?000 employees/.test(document.body.innerText), undefined, { polling: 'raf' });
const broad = ms(t0);
await search.fill('');
await page.getByText(/^10,?001 employees/).first().waitFor();
// The next page: until the first row of page 1 has gone and another shows.
const first = (await table.getByRole('link').first().textContent()) ?? '';
t0 = performance.now();
await page.getByRole('button', { name: 'Next page' }).click();
await table.getByRole('link', { name: first, exact: true }).waitFor({ state: 'detached' });
await table.getByRole('link').first().waitFor();
const nextPage = ms(t0);

// The API alone, from the page (its session): the search request the page sends.
const api = await page.evaluate(async () => {
  const s = await fetch('/api/v1/auth/web/refresh', { method: 'POST', headers: { 'X-FaceID-CSRF': '1' } }).then((r) => r.json());
  const times = [];
  for (const q of ['Perfov4321', 'Zarina', '']) {
    const t = performance.now();
    await fetch(`/api/v1/employees?limit=50${q ? `&q=${q}` : ''}`, { headers: { Authorization: `Bearer ${s.access_token}` } }).then((r) => r.json());
    times.push(Math.round(performance.now() - t));
  }
  return times;
});

console.log(`employees page, ${total}:`);
console.log(`  API alone (GET /employees?limit=50): one person ${api[0]} ms, a tenth ${api[1]} ms, no search ${api[2]} ms`);
console.log(`  first rows after opening /employees: ${firstLoad} ms (DOMContentLoaded ${nav.domContentLoaded} ms, load ${nav.load} ms)`);
console.log(`  search for one person, until its row shows (incl. the 250 ms debounce): median ${median(times)} ms, max ${Math.max(...times)} ms over ${times.length}`);
console.log(`  search matching a tenth of everyone: ${broad} ms`);
console.log(`  next page: ${nextPage} ms`);
await browser.close();
