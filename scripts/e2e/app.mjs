// Browser test of the seat picker at /app/, with two people at once: a holder (desktop
// window) and a watcher (phone-sized window), each signed up on the page in a browser
// context of their own. Both open the same show; the holder holds a seat and the watcher
// sees it turn held within 2 s, the holder confirms and the watcher sees it booked within
// 2 s; then the best two seats, the keyboard, a release, a cancellation, and the same
// with the stream cut off (the page polls instead).
//
// Run by scripts/e2e.sh: node scripts/e2e/app.mjs
// Environment: BASE_URL (http://127.0.0.1:PORT), E2E_DIR (where playwright-core is
// installed and the screenshots go: app-holder.png and app-watcher.png, both pages with
// seats held and booked), CHROMIUM (default /usr/bin/chromium).
// Prints one `ok - ...` / `FAIL - ...` / `skip - ...` line per check, `# ...` notes, and,
// last, `browser: P passed, F failed` (a skipped check counts as failed). Exit code 0 only
// when every check passed.

import { createRequire } from 'node:module';
import path from 'node:path';

const BASE_URL = (process.env.BASE_URL || 'http://127.0.0.1:8000').replace(/\/$/, '');
const E2E_DIR = process.env.E2E_DIR || path.resolve('.e2e');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = 20_000;
// How soon the other person must see a change (API.md, "Live seats").
const SEEN_WITHIN = 2_000;

const require = createRequire(path.join(E2E_DIR, 'package.json'));
const { chromium } = require('playwright-core');

const stamp = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 5)}`;
const password = 'correct-horse-battery-staple';
const people = {
  holder: { username: `holder_${stamp}`, viewport: { width: 1280, height: 900 } },
  watcher: { username: `watcher_${stamp}`, viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
};
const state = { confirmKeys: [] };
const pageErrors = [];

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

async function api(method, route, { token, body } = {}) {
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(BASE_URL + route, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text };
}

const seat = (page, n) => page.locator(`#map .seat[data-seat="${n}"]`);

/** Waits until the seat shows `status` on the page; answers how long it took after `since`. */
async function seen(page, n, status, since) {
  const left = Math.max(SEEN_WITHIN - (Date.now() - since), 1);
  try {
    await page.locator(`#map .seat[data-seat="${n}"][data-status="${status}"]`).waitFor({ timeout: left });
  } catch {
    const now = await seat(page, n).getAttribute('data-status').catch(() => '?');
    throw new Error(`seat ${n} still "${now}" ${SEEN_WITHIN} ms after the change (wanted "${status}")`);
  }
  return Date.now() - since;
}

async function signUp(page, who) {
  const response = await page.goto(`${BASE_URL}/app/`, { waitUntil: 'load' });
  assert(response && response.ok(), `GET /app/ answered ${response && response.status()}`);
  const form = page.locator('#auth-form');
  await form.waitFor();
  await form.locator('input[name="username"]').fill(who.username);
  await form.locator('input[name="password"]').fill(password);
  await form.getByRole('button', { name: 'Sign up' }).click();
  await page.locator('#booking').waitFor();
  const name = await page.locator('#who-name').innerText();
  assert(name.includes(who.username), `header says ${JSON.stringify(name)}`);
}

async function openShow(page, show) {
  await page.locator('#show').selectOption(String(show.id));
  await page.waitForFunction((n) => document.querySelectorAll('#map .seat[data-status]').length === n,
    show.total_seats, { timeout: TIMEOUT });
}

const checks = [
  ['an API error is shown with its message (sign up with a short password)', async ({ holder }) => {
    await holder.goto(`${BASE_URL}/app/`, { waitUntil: 'load' });
    const form = holder.locator('#auth-form');
    await form.locator('input[name="username"]').fill(people.holder.username);
    await form.locator('input[name="password"]').fill('short');
    await form.getByRole('button', { name: 'Sign up' }).click();
    const message = holder.locator('#message[data-kind="error"]');
    await message.waitFor();
    const text = await message.innerText();
    assert(/password/i.test(text), `message: ${JSON.stringify(text)}`);
  }],
  ['two people sign up on /app/ in browser contexts of their own', async ({ holder, watcher }) => {
    await signUp(holder, people.holder);
    await signUp(watcher, people.watcher);
    const login = await api('POST', '/api/login/', { body: { username: people.holder.username, password } });
    assert(login.status === 200, `login ${login.status}: ${login.text}`);
    state.token = login.json.access;
  }],
  ['both open the same show: rows, aisles, wheelchair places, blocked seats, prices', async ({ holder, watcher }) => {
    const shows = await api('GET', '/api/shows/?upcoming=true', { token: state.token });
    state.show = (shows.json || []).find((s) => s.screen && s.available_seats > 10);
    assert(state.show, `no upcoming show with a screen and free seats: ${shows.text}`);
    const seats = await api('GET', `/api/shows/${state.show.id}/seats/`, { token: state.token });
    state.seats = seats.json;
    await openShow(holder, state.show);
    await openShow(watcher, state.show);
    for (const page of [holder, watcher]) {
      const counts = await page.evaluate(() => ({
        rows: document.querySelectorAll('#map .row').length,
        aisles: document.querySelectorAll('#map .aisle').length,
        wheelchair: document.querySelectorAll('#map .seat[data-type="wheelchair"]').length,
        blocked: document.querySelectorAll('#map .seat[data-status="blocked"]').length,
        legend: document.querySelector('#legend').innerText,
      }));
      const rows = new Set(state.seats.map((s) => s.row)).size;
      assert(counts.rows === rows, `${counts.rows} rows drawn, the seat map has ${rows}`);
      assert(counts.aisles > 0 && counts.wheelchair > 0 && counts.blocked > 0, JSON.stringify(counts));
      assert(/€|EUR/.test(counts.legend), `legend without prices: ${counts.legend}`);
    }
    const a1 = await seat(watcher, state.seats[0].seat_number).getAttribute('aria-label');
    assert(a1.startsWith(state.seats[0].label), `aria-label ${JSON.stringify(a1)}`);
  }],
  ['both pages follow the seat stream (EventSource)', async ({ holder, watcher }) => {
    for (const page of [holder, watcher]) await page.locator('#live[data-live="true"]').waitFor({ timeout: 5_000 });
  }],
  ['the holder holds a seat by clicking it; a countdown runs', async ({ holder }) => {
    const rows = [...new Set(state.seats.map((s) => s.row))];
    const middle = rows[Math.floor(rows.length / 2)];
    const inRow = state.seats.filter((s) => s.row === middle && s.status === 'available' && s.type === 'standard');
    const pick = inRow[Math.floor(inRow.length / 2)];
    assert(pick, `no free seat in row ${middle}`);
    state.seat = pick;
    await seat(holder, pick.seat_number).click();
    assert(await seat(holder, pick.seat_number).getAttribute('aria-pressed') === 'true', 'seat not chosen');
    await holder.locator('#hold').click();
    await holder.locator('#hold-panel').waitFor();
    state.heldAt = Date.now();
    const countdown = await holder.locator('#countdown').innerText();
    assert(/^\d+:\d\d$/.test(countdown), `countdown ${JSON.stringify(countdown)}`);
    assert(await seat(holder, pick.seat_number).getAttribute('data-mine') === 'held', 'not shown as held by the holder');
  }],
  ['the watcher sees that seat turn held within 2 s', async ({ watcher }) => {
    const ms = await seen(watcher, state.seat.seat_number, 'held', state.heldAt);
    const label = await seat(watcher, state.seat.seat_number).getAttribute('aria-label');
    assert(/held/.test(label) && !/by you/.test(label), `aria-label ${label}`);
    console.log(`  # held seen after ${ms} ms`);
  }],
  ['the holder confirms (with an Idempotency-Key); the watcher sees it booked within 2 s', async ({ holder, watcher }) => {
    await holder.locator('#confirm').click();
    await holder.locator('#hold-panel').waitFor({ state: 'hidden' });
    const bookedAt = Date.now();
    const ms = await seen(watcher, state.seat.seat_number, 'booked', bookedAt);
    console.log(`  # booked seen after ${ms} ms`);
    assert(state.confirmKeys.length === 1 && /^[0-9a-f-]{36}$/.test(state.confirmKeys[0]),
      `Idempotency-Key headers sent: ${JSON.stringify(state.confirmKeys)}`);
    const mine = await seat(holder, state.seat.seat_number).getAttribute('data-mine');
    assert(mine === 'booked', `the holder's seat is data-mine=${mine}`);
    const list = await holder.locator('#bookings').innerText();
    assert(list.includes(state.seat.label), `bookings: ${list}`);
  }],
  ['the watcher chooses a seat with the arrow keys and Space', async ({ watcher }) => {
    const free = state.seats.filter((s) => s.status === 'available' && s.type === 'standard'
      && s.seat_number !== state.seat.seat_number);
    const start = free.find((s) => free.some((t) => t.seat_number === s.seat_number + 1 && t.row === s.row));
    await seat(watcher, start.seat_number).focus();
    await watcher.keyboard.press('ArrowRight');
    const focused = await watcher.evaluate(() => document.activeElement.dataset.seat);
    assert(Number(focused) === start.seat_number + 1, `focus on seat ${focused}, wanted ${start.seat_number + 1}`);
    await watcher.keyboard.press('Space');
    assert(await seat(watcher, start.seat_number + 1).getAttribute('aria-pressed') === 'true', 'Space did not choose the seat');
    await watcher.locator('#hold').click();
    await watcher.locator('#hold-panel').waitFor();
    state.watcherSeat = start.seat_number + 1;
    await seen(watcher, state.watcherSeat, 'held', Date.now());
  }],
  ['the holder holds the best 2 seats; the watcher sees both held within 2 s', async ({ holder, watcher }) => {
    await holder.locator('#best-count').fill('2');
    await holder.getByRole('button', { name: 'Hold the best seats' }).click();
    await holder.locator('#hold-panel').waitFor();
    const heldAt = Date.now();
    const held = await holder.locator('#map .seat[data-mine="held"]').evaluateAll((els) => els.map((e) => Number(e.dataset.seat)));
    assert(held.length === 2, `held by the holder: ${held}`);
    for (const n of held) await seen(watcher, n, 'held', heldAt);
    await seen(holder, state.watcherSeat, 'held', heldAt);
    state.best = held;
    await holder.screenshot({ path: path.join(E2E_DIR, 'app-holder.png'), fullPage: true });
    await watcher.screenshot({ path: path.join(E2E_DIR, 'app-watcher.png'), fullPage: true });
  }],
  ['the phone-sized page needs no sideways scrolling', async ({ watcher }) => {
    const widths = await watcher.evaluate(() => ({ page: document.documentElement.scrollWidth, window: window.innerWidth }));
    assert(widths.page <= widths.window, `page ${widths.page}px wide in a ${widths.window}px window`);
  }],
  ['the holder releases the hold; the watcher sees the seats free within 2 s', async ({ holder, watcher }) => {
    await holder.locator('#release').click();
    await holder.locator('#hold-panel').waitFor({ state: 'hidden' });
    const at = Date.now();
    for (const n of state.best) await seen(watcher, n, 'available', at);
  }],
  ['the holder cancels the booking; the watcher sees the seat free within 2 s', async ({ holder, watcher }) => {
    const cancel = holder.locator('#bookings li[data-status="CONFIRMED"]').filter({ hasText: state.seat.label })
      .getByRole('button');
    await cancel.click();
    await cancel.click(); // the second click confirms
    await holder.locator('#bookings li[data-status="CANCELLED"]').filter({ hasText: state.seat.label }).waitFor();
    await seen(watcher, state.seat.seat_number, 'available', Date.now());
  }],
  ['with the stream cut off, the watcher polls and still sees a hold within 2 s', async ({ holder, watcher }) => {
    await watcher.route('**/seats/stream/**', (route) => route.abort());
    await watcher.reload({ waitUntil: 'load' });
    await watcher.locator('#live[data-live="false"]').waitFor();
    await openShow(watcher, state.show);
    const free = holder.locator('#map .seat[data-status="available"][data-type="standard"]').first();
    const n = Number(await free.getAttribute('data-seat'));
    await free.click();
    await holder.locator('#hold').click();
    await holder.locator('#hold-panel').waitFor();
    const ms = await seen(watcher, n, 'held', Date.now());
    console.log(`  # held seen by polling after ${ms} ms`);
    await holder.locator('#release').click();
    await holder.locator('#hold-panel').waitFor({ state: 'hidden' });
  }],
  ['no uncaught JavaScript errors on either page', async () => {
    assert(!pageErrors.length, pageErrors.join('\n'));
  }],
];

let passed = 0;
let failed = 0;
let browser;
try {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
      '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
  const pages = {};
  for (const [name, who] of Object.entries(people)) {
    const { username: _, ...options } = who;
    const context = await browser.newContext(options);
    context.setDefaultTimeout(TIMEOUT);
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(`${name}: ${error}`));
    page.on('request', (request) => {
      if (/\/api\/holds\/\d+\/confirm\/$/.test(request.url())) state.confirmKeys.push(request.headers()['idempotency-key']);
    });
    pages[name] = page;
  }
  let broken = null;
  for (const [name, run] of checks) {
    if (broken) {
      console.log(`  skip - ${name} (after: ${broken})`);
      failed += 1;
      continue;
    }
    try {
      await run(pages);
      console.log(`  ok - ${name}`);
      passed += 1;
    } catch (error) {
      console.log(`  FAIL - ${name}\n      ${String(error.message || error).split('\n').join('\n      ')}`);
      failed += 1;
      broken = name;
      for (const [who, page] of Object.entries(pages)) {
        await page.screenshot({ path: path.join(E2E_DIR, `app-${who}.png`), fullPage: true }).catch(() => {});
      }
    }
  }
} catch (error) {
  console.log(`  FAIL - cannot drive Chromium: ${error.message || error}`);
  failed += 1;
} finally {
  if (browser) await browser.close().catch(() => {});
}
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
