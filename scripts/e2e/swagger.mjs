// Browser test of the bundled Swagger UI, driven like a person would drive it:
// open /swagger/, see the operations, sign up and log in with "Try it out", click
// "Authorize" and paste `Bearer <access>`, then book a seat with "Try it out" on
// POST /api/shows/{id}/book/ and see the 201.
//
// Run by scripts/e2e.sh: node scripts/e2e/swagger.mjs
// Environment: BASE_URL (http://127.0.0.1:PORT), E2E_DIR (where playwright-core is
// installed and the screenshots go: swagger.png, the booking's 201 in Swagger UI, and
// swagger-top.png, the top of the page once authorized), CHROMIUM (default /usr/bin/chromium).
// Prints one `ok - ...` / `FAIL - ...` / `skip - ...` line per check and, last,
// `browser: P passed, F failed` (a skipped check counts as failed). Exit code 0 only
// when every check passed.

import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const BASE_URL = (process.env.BASE_URL || 'http://127.0.0.1:8000').replace(/\/$/, '');
const E2E_DIR = process.env.E2E_DIR || path.resolve('.e2e');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SCREENSHOT = path.join(E2E_DIR, 'swagger.png');
const SCREENSHOT_TOP = path.join(E2E_DIR, 'swagger-top.png');
const TIMEOUT = 20_000;

const require = createRequire(path.join(E2E_DIR, 'package.json'));
const { chromium } = require('playwright-core');

const TAGS = ['Accounts', 'Catalogue', 'Booking', 'Operations'];
const PATHS = [
  ['post', '/api/signup/'],
  ['post', '/api/login/'],
  ['get', '/api/me/'],
  ['get', '/api/movies/'],
  ['get', '/api/shows/'],
  ['get', '/api/shows/{id}/seats/'],
  ['post', '/api/shows/{id}/book/'],
  ['get', '/api/bookings/'],
  ['delete', '/api/bookings/{id}/cancel/'],
  ['get', '/health/'],
  ['get', '/ready/'],
];

const username = `e2e_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
const password = 'correct-horse-battery-staple';
const state = {};
const pageErrors = [];

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

async function api(method, route, { token, body } = {}) {
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(BASE_URL + route, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text };
}

/** The operation block of `method path`, e.g. ('post', '/api/login/'). */
function operation(page, method, route) {
  return page
    .locator(`.opblock.opblock-${method}`)
    .filter({ has: page.locator(`.opblock-summary-path[data-path="${route}"]`) })
    .first();
}

/** Expands an operation and switches it to "Try it out". */
async function tryItOut(page, method, route) {
  const op = operation(page, method, route);
  await op.scrollIntoViewIfNeeded();
  if (!(await op.locator('.opblock-body').count())) {
    await op.locator('.opblock-summary').first().click();
  }
  await op.locator('.opblock-body').waitFor();
  const button = op.locator('button.try-out__btn');
  if ((await button.innerText()).trim().toLowerCase().startsWith('try it out')) {
    await button.click();
  }
  await op.locator('button.execute').waitFor();
  return op;
}

/** Clicks Execute and returns the live response: { status, body, curl }. */
async function execute(op, { params = {}, body } = {}) {
  for (const [name, value] of Object.entries(params)) {
    await op.locator(`tr[data-param-name="${name}"] input`).first().fill(String(value));
  }
  if (body !== undefined) {
    await op.locator('textarea.body-param__text').fill(JSON.stringify(body, null, 2));
  }
  // Clear a previous live response so that we wait for the new one.
  const clear = op.locator('button.btn-clear');
  if (await clear.count()) await clear.first().click();
  await op.locator('button.execute').click();
  const row = op.locator('.live-responses-table .response').first();
  await row.waitFor({ timeout: TIMEOUT });
  const status = Number((await row.locator('.response-col_status').first().innerText()).trim());
  const bodyText = await row.locator('.response-col_description pre').first().innerText();
  let json = null;
  try { json = JSON.parse(bodyText); } catch { /* not JSON */ }
  const curl = await op.locator('.curl-command').first().innerText().catch(() => '');
  return { status, body: bodyText, json, curl };
}

const checks = [
  ['Swagger UI renders the four tag groups', async ({ page }) => {
    const response = await page.goto(`${BASE_URL}/swagger/`, { waitUntil: 'load' });
    assert(response && response.ok(), `GET /swagger/ answered ${response && response.status()}`);
    await page.locator('.opblock-tag-section').first().waitFor({ timeout: TIMEOUT });
    const tags = await page.locator('.opblock-tag').evaluateAll((els) => els.map((e) => e.dataset.tag));
    for (const tag of TAGS) assert(tags.includes(tag), `tag ${tag} missing; rendered tags: ${tags.join(', ')}`);
    const title = await page.locator('.info .title').first().innerText();
    assert(title.includes('movie-booking'), `title is ${JSON.stringify(title)}`);
  }],
  ['Swagger UI lists the operations (login, book, seats, bookings, health...)', async ({ page }) => {
    const missing = [];
    for (const [method, route] of PATHS) {
      if (!(await operation(page, method, route).count())) missing.push(`${method.toUpperCase()} ${route}`);
    }
    assert(!missing.length, `operations missing from the page: ${missing.join(', ')}`);
    const count = await page.locator('.opblock').count();
    assert(count >= 20, `only ${count} operations rendered`);
  }],
  ['"Try it out" POST /api/signup/ answers 201', async ({ page }) => {
    const op = await tryItOut(page, 'post', '/api/signup/');
    const res = await execute(op, { body: { username, password, email: `${username}@example.com` } });
    assert(res.status === 201, `status ${res.status}: ${res.body}`);
    assert(res.json && res.json.username === username, `body ${res.body}`);
  }],
  ['"Try it out" POST /api/login/ answers 200 with an access token', async ({ page }) => {
    const op = await tryItOut(page, 'post', '/api/login/');
    const res = await execute(op, { body: { username, password } });
    assert(res.status === 200, `status ${res.status}: ${res.body}`);
    assert(res.json && typeof res.json.access === 'string' && res.json.access, `no access token in ${res.body}`);
    state.access = res.json.access;
  }],
  ['GET /api/me/ without authorizing answers 401 in Swagger UI', async ({ page }) => {
    const op = await tryItOut(page, 'get', '/api/me/');
    const res = await execute(op);
    assert(res.status === 401, `status ${res.status}: ${res.body}`);
  }],
  ['"Authorize" with `Bearer <access>` locks the padlock', async ({ page }) => {
    await page.locator('.scheme-container .btn.authorize').first().click();
    const modal = page.locator('.modal-ux');
    await modal.waitFor();
    await modal.locator('input[type="text"], input:not([type])').first().fill(`Bearer ${state.access}`);
    await modal.locator('.auth-btn-wrapper button.authorize').first().click();
    await modal.locator('button.btn-done, .auth-btn-wrapper button.btn-done').first().click();
    await modal.waitFor({ state: 'detached' });
    const cls = await page.locator('.scheme-container .btn.authorize').first().getAttribute('class');
    assert(/\blocked\b/.test(cls), `authorize button class is "${cls}"`);
  }],
  ['GET /api/me/ after authorizing answers 200 with the user', async ({ page }) => {
    const op = await tryItOut(page, 'get', '/api/me/');
    const res = await execute(op);
    assert(res.status === 200, `status ${res.status}: ${res.body}`);
    assert(res.json && res.json.username === username, `body ${res.body}`);
    assert(/Authorization: Bearer /i.test(res.curl), `curl has no Authorization header: ${res.curl}`);
  }],
  ['"Try it out" POST /api/shows/{id}/book/ answers 201 with the booking', async ({ page }) => {
    const shows = await api('GET', '/api/shows/?upcoming=true', { token: state.access });
    assert(shows.status === 200 && Array.isArray(shows.json) && shows.json.length, `no upcoming show: ${shows.status} ${shows.text}`);
    const show = shows.json.find((s) => s.available_seats > 0);
    assert(show, 'no upcoming show with a free seat');
    const seats = await api('GET', `/api/shows/${show.id}/seats/`, { token: state.access });
    const seat = (seats.json || []).find((s) => s.status === 'available');
    assert(seat, `no available seat in show ${show.id}: ${seats.text}`);
    state.show = show.id;
    state.seat = seat.seat_number;

    const op = await tryItOut(page, 'post', '/api/shows/{id}/book/');
    const res = await execute(op, { params: { id: show.id }, body: { seat_number: seat.seat_number } });
    assert(res.status === 201, `status ${res.status}: ${res.body}`);
    assert(res.json && res.json.status === 'CONFIRMED' && res.json.seat_number === seat.seat_number
      && res.json.show === show.id && res.json.user === username, `body ${res.body}`);
    state.booking = res.json.id;
    await op.locator('.live-responses-table .response').first()
      .evaluate((el) => el.scrollIntoView({ block: 'center' }));
    await page.screenshot({ path: SCREENSHOT });
  }],
  ['the booking made in Swagger UI is in GET /api/bookings/ and the seat is booked', async () => {
    const list = await api('GET', '/api/bookings/', { token: state.access });
    assert(list.status === 200, `status ${list.status}: ${list.text}`);
    assert(list.json.some((b) => b.id === state.booking && b.status === 'CONFIRMED'), `booking ${state.booking} not listed: ${list.text}`);
    const seats = await api('GET', `/api/shows/${state.show}/seats/`, { token: state.access });
    const seat = seats.json.find((s) => s.seat_number === state.seat);
    assert(seat && seat.status === 'booked', `seat ${state.seat} is ${JSON.stringify(seat)}`);
  }],
  ['no uncaught JavaScript errors on the page', async ({ page }) => {
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: SCREENSHOT_TOP });
    assert(!pageErrors.length, pageErrors.join('\n'));
  }],
];

let passed = 0;
let failed = 0;
const profile = mkdtempSync(path.join(tmpdir(), 'e2e-chromium-'));
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
      '--no-first-run', '--disable-component-update', '--disable-sync',
    ],
  });
  context.setDefaultTimeout(TIMEOUT);
  const page = context.pages()[0] || (await context.newPage());
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  let broken = null;
  for (const [name, run] of checks) {
    if (broken) {
      console.log(`  skip - ${name} (after: ${broken})`);
      failed += 1;
      continue;
    }
    try {
      await run({ page });
      console.log(`  ok - ${name}`);
      passed += 1;
    } catch (error) {
      console.log(`  FAIL - ${name}\n      ${String(error.message || error).split('\n').join('\n      ')}`);
      failed += 1;
      broken = name;
      await page.screenshot({ path: SCREENSHOT, fullPage: true }).catch(() => {});
    }
  }
} catch (error) {
  console.log(`  FAIL - cannot drive Chromium: ${error.message || error}`);
  failed += 1;
} finally {
  if (context) await context.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
