// The seat picker: a client of the public API only (docs/API.md), no framework, no build.
'use strict';

const $ = (id) => document.getElementById(id);
const TOKENS_KEY = 'movie-booking.tokens';
const POLL_MS = 1000;
const STREAM_RETRY_MS = 15000;
const MAX_SEATS = 10;
const PALETTE = ['#2a9d8f', '#8e5cd9', '#e07a1f', '#2f6fdb', '#c2417a', '#6b8e23'];
const STATUS_TEXT = { available: 'free', held: 'held', booked: 'booked', blocked: 'blocked' };

const state = {
  tokens: null, // { access, refresh, expiresAt }
  shows: [],
  show: null, // the open show
  screen: null, // its screen, for the aisles
  seats: new Map(), // seat_number -> seat of the seat map
  buttons: new Map(), // seat_number -> its button (a show may have 10,000 seats)
  selected: new Set(),
  hold: null, // the caller's active hold of the open show
  bookings: [],
  clockOffset: 0, // server clock minus ours, so that a skewed clock still counts down right
  opening: 0, // bumped by each openShow, so that a slow answer for an older show is dropped
};

// ------------------------------------------------------------------ the API

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `The server answered ${status}.`);
    this.status = status;
    this.code = body && body.code;
    this.fields = body && body.fields;
    this.seats = body && body.seats;
    this.retryAfter = 0;
  }
}

async function api(method, path, { body, headers = {}, auth = true, retried = false } = {}) {
  const init = { method, headers: { Accept: 'application/json', ...headers } };
  if (auth) {
    await freshTokens();
    init.headers.Authorization = `Bearer ${state.tokens.access}`;
  }
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, { error: 'Cannot reach the server. Check the connection and try again.', code: 'network' });
  }
  // The header has whole seconds: follow it only when it is off by more than that.
  const offset = Date.parse(res.headers.get('Date')) + 500 - Date.now();
  if (Math.abs(offset - state.clockOffset) > 1000) state.clockOffset = offset;
  // A 401 ran nothing, so the request can go again once, with a new access token.
  if (res.status === 401 && auth && !retried) {
    await refreshTokens();
    return api(method, path, { body, headers, auth, retried: true });
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!res.ok) {
    const error = new ApiError(res.status, data);
    error.retryAfter = Number(res.headers.get('Retry-After')) || 0;
    throw error;
  }
  return data;
}

function saveTokens(pair) {
  state.tokens = pair && {
    access: pair.access,
    refresh: pair.refresh,
    expiresAt: Date.now() + pair.expires_in * 1000,
  };
  if (state.tokens) sessionStorage.setItem(TOKENS_KEY, JSON.stringify(state.tokens));
  else sessionStorage.removeItem(TOKENS_KEY);
}

let refreshing = null;
// A refresh token works once, and a second use ends the login: every caller shares one refresh.
function refreshTokens() {
  refreshing ??= (async () => {
    try {
      saveTokens(await api('POST', '/api/token/refresh/', { auth: false, body: { refresh: state.tokens.refresh } }));
    } catch (error) {
      if (error.status === 401) signOut('Your session has ended; please log in again.');
      throw error;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

async function freshTokens() {
  if (!state.tokens) throw new ApiError(401, { error: 'Please log in.', code: 'not_authenticated' });
  if (state.tokens.expiresAt - Date.now() < 30000) await refreshTokens();
}

// Idempotency keys from getRandomValues: crypto.randomUUID needs HTTPS beyond localhost.
function uuid() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ------------------------------------------------------------------ messages and formats

function say(text, kind = 'info') {
  const box = $('message');
  box.textContent = text;
  box.dataset.kind = kind;
  box.hidden = !text;
}

function sayError(error) {
  let text = error.message;
  if (error.fields) {
    text += ` ${Object.entries(error.fields).map(([f, problems]) => `${f}: ${problems.join(', ')}`).join('; ')}.`;
  }
  if (error.seats && error.seats.length) text += ` (${error.seats.map(labelOf).join(', ')})`;
  say(text, 'error');
}

const labelOf = (n) => (state.seats.get(n) ? state.seats.get(n).label : `seat ${n}`);

function money(minor, currency) {
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(minor / 100);
  } catch {
    return `${(minor / 100).toFixed(2)} ${currency}`;
  }
}

const when = (iso) => new Date(iso).toLocaleString(undefined,
  { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });

// Runs an action from a button: disabled meanwhile, errors shown.
async function act(button, action) {
  if (button) button.disabled = true;
  try {
    await action();
  } catch (error) {
    sayError(error);
  } finally {
    if (button) button.disabled = false;
    renderSelection();
  }
}

// ------------------------------------------------------------------ signing in

async function signIn(event) {
  event.preventDefault();
  const form = event.target;
  const action = event.submitter ? event.submitter.value : 'login';
  const username = form.username.value.trim();
  const password = form.password.value;
  await act(event.submitter, async () => {
    if (action === 'signup') {
      const body = { username, password };
      if (form.email.value.trim()) body.email = form.email.value.trim();
      await api('POST', '/api/signup/', { auth: false, body });
    }
    saveTokens(await api('POST', '/api/login/', { auth: false, body: { username, password } }));
    form.password.value = '';
    say(action === 'signup' ? `Welcome, ${username}.` : '');
    await start();
  });
}

function signOut(text = '') {
  closeFeed();
  saveTokens(null);
  state.show = null;
  state.hold = null;
  state.selected.clear();
  renderHold();
  $('booking').hidden = true;
  $('who').hidden = true;
  $('auth').hidden = false;
  say(text, text ? 'error' : 'info');
}

async function logOut() {
  const refresh = state.tokens && state.tokens.refresh;
  signOut();
  // Ends the login on the server too; the page has forgotten the tokens either way.
  if (refresh) await api('POST', '/api/logout/', { auth: false, body: { refresh } }).catch(() => {});
}

async function start() {
  const [me, shows] = await Promise.all([
    api('GET', '/api/me/'),
    api('GET', '/api/shows/?upcoming=true&limit=200'),
  ]);
  state.shows = shows;
  $('who-name').textContent = `Signed in as ${me.username}`;
  $('who').hidden = false;
  $('auth').hidden = true;
  $('booking').hidden = false;
  const select = $('show');
  select.replaceChildren(...shows.map((show) => new Option(
    `${show.movie.title} · ${when(show.start_time)} · ${show.screen_name}`, show.id)));
  await loadBookings();
  if (!shows.length) {
    say('No upcoming shows to book.');
    return;
  }
  const wanted = Number(new URLSearchParams(location.hash.slice(1)).get('show'));
  const show = shows.find((s) => s.id === wanted) || shows[0];
  select.value = show.id;
  await openShow(show.id);
}

// ------------------------------------------------------------------ the seat map

async function openShow(id) {
  const ticket = ++state.opening;
  closeFeed();
  history.replaceState(null, '', `#show=${id}`);
  const [show, seats, holds] = await Promise.all([
    api('GET', `/api/shows/${id}/`),
    api('GET', `/api/shows/${id}/seats/`),
    api('GET', '/api/holds/?status=ACTIVE'),
  ]);
  const screen = show.screen && await api('GET', `/api/screens/${show.screen.id}/`);
  if (ticket !== state.opening) return;
  state.show = show;
  state.screen = screen;
  state.selected.clear();
  state.hold = holds.find((h) => h.show === id) || null;
  buildMap(seats);
  renderCategories();
  renderHold();
  renderSelection();
  openFeed(id);
}

function buildMap(seats) {
  state.seats = new Map(seats.map((s) => [s.seat_number, s]));
  state.buttons = new Map();
  const aisles = new Map(((state.screen && state.screen.rows) || []).map((r) => [r.label, new Set(r.aisles_after)]));
  const rows = new Map();
  for (const seat of seats) {
    if (!rows.has(seat.row)) rows.set(seat.row, []);
    rows.get(seat.row).push(seat);
  }
  const map = $('map');
  let cols = 0;
  let items = 0;
  const rowElements = [];
  for (const [label, rowSeats] of rows) {
    const row = document.createElement('div');
    row.className = label ? 'row' : 'row flat';
    row.setAttribute('role', 'group');
    row.setAttribute('aria-label', label ? `Row ${label}` : 'Seats');
    const after = aisles.get(label) || new Set();
    const tag = () => Object.assign(document.createElement('span'), { className: 'row-label', textContent: label, ariaHidden: 'true' });
    if (label) row.append(tag());
    for (const seat of rowSeats) {
      const place = seat.label.slice(label.length);
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'seat';
      button.dataset.seat = seat.seat_number;
      button.dataset.type = seat.type;
      button.tabIndex = -1;
      button.textContent = seat.type === 'wheelchair' ? '♿' : seat.type === 'blocked' ? '×' : place;
      state.buttons.set(seat.seat_number, button);
      row.append(button);
      if (after.has(Number(place))) row.append(Object.assign(document.createElement('span'), { className: 'aisle' }));
    }
    if (label) row.append(tag());
    cols = Math.max(cols, label ? rowSeats.length + after.size * 0.6 : Math.min(rowSeats.length, 20));
    items = Math.max(items, label ? rowSeats.length + after.size + 2 : Math.min(rowSeats.length, 20));
    rowElements.push(row);
  }
  map.style.setProperty('--cols', cols || 1);
  map.style.setProperty('--items', items || 1);
  map.replaceChildren(...rowElements);
  const first = map.querySelector('.seat[data-type="standard"]') || map.querySelector('.seat');
  if (first) first.tabIndex = 0;
  for (const seat of seats) paintSeat(seat.seat_number);
}

function categoryColour(category) {
  const categories = Object.keys(state.show.prices).sort();
  return PALETTE[Math.max(0, categories.indexOf(category)) % PALETTE.length];
}

function mine(n) {
  if (state.hold && state.hold.seats.some((s) => s.seat_number === n)) return 'held';
  const booked = state.bookings.some((b) => b.show === state.show.id && b.seat_number === n && b.status === 'CONFIRMED');
  return booked ? 'booked' : '';
}

function paintSeat(n) {
  const seat = state.seats.get(n);
  const button = state.buttons.get(n);
  if (!seat || !button || !state.show) return;
  const own = seat.status === 'held' || seat.status === 'booked' ? mine(n) : '';
  const selected = state.selected.has(n);
  button.dataset.status = seat.status;
  if (own) button.dataset.mine = own;
  else delete button.dataset.mine;
  button.style.setProperty('--cat', categoryColour(seat.category));
  button.setAttribute('aria-pressed', String(selected));
  button.setAttribute('aria-disabled', String(seat.status !== 'available'));
  const parts = [seat.label, seat.category, money(seat.price, state.show.currency)];
  if (seat.type === 'wheelchair') parts.push('wheelchair place');
  parts.push(own ? `${own} by you` : STATUS_TEXT[seat.status] || seat.status);
  button.setAttribute('aria-label', parts.join(', '));
  button.title = parts.join(', ');
}

// A whole seat map, from the stream's snapshot or a poll.
function applySnapshot(seats) {
  const same = seats.length === state.seats.size && seats.every((seat) => {
    const known = state.seats.get(seat.seat_number);
    return known && ['row', 'label', 'type', 'category', 'price'].every((key) => known[key] === seat[key]);
  });
  // The show changed as a whole (its seats, layout or prices): read it all again.
  if (!same) return act(null, () => openShow(state.show.id));
  applyChanges(seats);
}

function applyChanges(changes) {
  const lost = [];
  for (const { seat_number: n, status } of changes) {
    const seat = state.seats.get(n);
    if (!seat) continue;
    seat.status = status;
    if (status !== 'available' && state.selected.delete(n)) lost.push(seat.label);
    paintSeat(n);
  }
  if (lost.length) {
    say(`Just taken by someone else: ${lost.join(', ')}.`, 'error');
    renderSelection();
  }
  renderFree();
}

function renderFree() {
  let free = 0;
  for (const seat of state.seats.values()) if (seat.status === 'available') free += 1;
  $('show-info').textContent = `${state.show.screen_name} · ${free} of ${state.seats.size} seats free`;
}

function renderCategories() {
  const prices = Object.entries(state.show.prices).sort(([a], [b]) => a.localeCompare(b));
  const best = $('best-category');
  best.replaceChildren(new Option('any', ''), ...prices.map(([c]) => new Option(c, c)));
  const item = (className, text, colour) => {
    const li = document.createElement('li');
    const swatch = Object.assign(document.createElement('span'), { className: `swatch ${className}` });
    if (colour) swatch.style.setProperty('--cat', colour);
    li.append(swatch, text);
    return li;
  };
  $('legend').replaceChildren(
    ...prices.map(([c, p]) => item('available', `${c} ${money(p, state.show.currency)}`, categoryColour(c))),
    item('selected', 'chosen'), item('held', 'held'), item('held-mine', 'held by you'),
    item('booked', 'booked'), item('booked-mine', 'yours'), item('blocked', 'blocked'),
    item('wheelchair', 'wheelchair place'));
}

// Arrow keys move between seats; one seat of the map is in the tab order at a time.
function moveFocus(event) {
  const from = event.target.closest('.seat');
  const keys = ['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Home', 'End'];
  if (!from || !keys.includes(event.key)) return;
  event.preventDefault();
  const seats = [...$('map').querySelectorAll('.seat')];
  const i = seats.indexOf(from);
  const along = { ArrowLeft: seats[i - 1], ArrowRight: seats[i + 1], Home: seats[0], End: seats.at(-1) };
  let to = along[event.key];
  if (!(event.key in along)) {
    // Up and down: the nearest row that way, then the seat nearest across.
    const r = from.getBoundingClientRect();
    const dir = event.key === 'ArrowUp' ? -1 : 1;
    let score = Infinity;
    for (const seat of seats) {
      const q = seat.getBoundingClientRect();
      const dy = (q.top - r.top) * dir;
      if (dy < r.height / 2) continue;
      const s = dy * 1000 + Math.abs(q.left - r.left);
      if (s < score) [score, to] = [s, seat];
    }
  }
  if (to) focusSeat(to);
}

function focusSeat(button) {
  for (const b of $('map').querySelectorAll('.seat[tabindex="0"]')) b.tabIndex = -1;
  button.tabIndex = 0;
  button.focus();
}

function toggleSeat(event) {
  const button = event.target.closest('.seat');
  if (!button) return;
  focusSeat(button);
  const n = Number(button.dataset.seat);
  const seat = state.seats.get(n);
  if (seat.status !== 'available') {
    say(`${seat.label} is ${mine(n) ? `${mine(n)} by you` : STATUS_TEXT[seat.status]}.`);
    return;
  }
  if (state.selected.has(n)) state.selected.delete(n);
  else if (state.selected.size >= MAX_SEATS) return say(`At most ${MAX_SEATS} seats at a time.`, 'error');
  else state.selected.add(n);
  paintSeat(n);
  renderSelection();
}

function renderSelection() {
  if (!state.show) return;
  const seats = [...state.selected].sort((a, b) => a - b).map((n) => state.seats.get(n));
  const total = seats.reduce((sum, s) => sum + s.price, 0);
  $('selection').textContent = [
    seats.length ? `${seats.map((s) => s.label).join(', ')} · ${money(total, state.show.currency)}` : 'No seats chosen.',
    state.hold ? 'Confirm or release your hold before holding more.' : '',
  ].join(' ');
  $('hold').disabled = !seats.length || Boolean(state.hold);
  $('best-form').querySelector('button').disabled = Boolean(state.hold);
}

// ------------------------------------------------------------------ live updates

const feed = { source: null, retry: 0, refusals: 0, polling: 0, generations: 0 };

function openFeed(id) {
  connectStream(id);
  renderFree();
}

function closeFeed() {
  if (feed.source) feed.source.close();
  feed.source = null;
  feed.refusals = 0;
  clearTimeout(feed.retry);
  stopPolling();
}

// EventSource cannot send headers, hence the token in the query (never logged, API.md).
function connectStream(id) {
  const url = `/api/shows/${id}/seats/stream/?access_token=${encodeURIComponent(state.tokens.access)}`;
  const source = new EventSource(url);
  feed.source = source;
  const live = (handler) => (event) => {
    stopPolling();
    setLive(true);
    handler(JSON.parse(event.data));
  };
  source.addEventListener('snapshot', live(applySnapshot));
  source.addEventListener('seats', live((data) => applyChanges(data.seats)));
  // Reconnected: the browser sent Last-Event-ID, so the stream carries on where it was.
  source.addEventListener('open', () => {
    feed.refusals = 0;
    stopPolling();
    setLive(true);
  });
  source.addEventListener('error', () => {
    setLive(false);
    startPolling(id);
    // A refused stream is not retried by the browser. The first refusal is most likely
    // a reconnect with a token that has expired since: try again soon with a fresh one.
    if (source.readyState === EventSource.CLOSED && feed.source === source) {
      feed.source = null;
      feed.refusals += 1;
      feed.retry = setTimeout(() => freshTokens().then(() => {
        if (state.show && state.show.id === id && !feed.source) connectStream(id);
      }, () => {}), feed.refusals === 1 ? 1000 : STREAM_RETRY_MS);
    }
  });
}

function startPolling(id) {
  if (feed.polling) return;
  const generation = (feed.polling = ++feed.generations);
  const tick = async () => {
    try {
      const seats = await api('GET', `/api/shows/${id}/seats/`);
      if (feed.polling === generation) applySnapshot(seats);
    } catch { /* the next tick tries again */ }
    if (feed.polling === generation) setTimeout(tick, POLL_MS);
  };
  tick();
}

function stopPolling() {
  feed.polling = 0;
}

function setLive(live) {
  $('live').textContent = live ? '● live' : '○ updated every second';
  $('live').dataset.live = String(live);
}

// ------------------------------------------------------------------ holds

async function holdSeats(body) {
  const hold = await api('POST', `/api/shows/${state.show.id}/holds/`, { body });
  state.hold = hold;
  state.selected.clear();
  applyChanges(hold.seats.map((s) => ({ seat_number: s.seat_number, status: 'held' })));
  renderHold();
  $('confirm').focus(); // the next step, and in view on a phone too
  say(`Held ${hold.seats.map((s) => s.label).join(', ')} for you. Confirm before the time runs out.`);
}

function holdSelected() {
  return act($('hold'), () => holdSeats({ seat_numbers: [...state.selected].sort((a, b) => a - b) }));
}

function holdBest(event) {
  event.preventDefault();
  const body = { count: Number($('best-count').value) };
  if ($('best-category').value) body.category = $('best-category').value;
  if ($('best-wheelchair').checked) body.wheelchair = true;
  return act(event.submitter, () => holdSeats(body));
}

let countdown = 0;
function renderHold() {
  clearInterval(countdown);
  const hold = state.hold;
  $('hold-panel').hidden = !hold;
  if (!hold) return;
  $('hold-seats').textContent = hold.seats.map((s) => s.label).join(', ');
  $('hold-total').textContent = money(hold.total_price, hold.currency);
  const tick = () => {
    const left = Math.floor((Date.parse(hold.expires_at) - Date.now() - state.clockOffset) / 1000);
    if (left <= 0) {
      expired(hold);
      return;
    }
    $('countdown').textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}`;
    $('countdown').dataset.urgent = String(left <= 60);
  };
  tick();
  countdown = setInterval(tick, 1000);
}

// Past expires_at the seats are anyone's: the hold is gone whatever the feed says yet.
function expired(hold) {
  if (state.hold !== hold) return;
  state.hold = null;
  renderHold();
  for (const s of hold.seats) paintSeat(s.seat_number);
  renderSelection();
  say('Your hold has expired and its seats are free again.', 'error');
}

async function confirmHold() {
  const hold = state.hold;
  // One key per confirmation, kept for its retries: a retry after a lost answer gets
  // the bookings already made instead of a 409.
  hold.confirmKey ??= uuid();
  await act($('confirm'), async () => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        const { bookings } = await api('POST', `/api/holds/${hold.id}/confirm/`,
          { headers: { 'Idempotency-Key': hold.confirmKey } });
        state.hold = null;
        state.bookings = [...bookings, ...state.bookings];
        applyChanges(bookings.map((b) => ({ seat_number: b.seat_number, status: 'booked' })));
        renderHold();
        renderBookings();
        say(`Booked ${bookings.map((b) => b.seat_label).join(', ')}. Enjoy the film!`);
        return;
      } catch (error) {
        const again = error.status === 0 || error.status >= 500 || error.status === 429
          || error.code === 'idempotency_in_flight';
        if (again && attempt < 3) {
          await sleep(Math.max(error.retryAfter * 1000, attempt * 1000));
          continue;
        }
        if (['hold_expired', 'hold_not_active'].includes(error.code)) {
          state.hold = null;
          renderHold();
          await loadBookings();
        }
        throw error;
      }
    }
  });
}

function extendHold() {
  return act($('extend'), async () => {
    state.hold = { ...await api('POST', `/api/holds/${state.hold.id}/extend/`), confirmKey: state.hold.confirmKey };
    renderHold();
    say('More time to pay.');
  });
}

function releaseHold() {
  return act($('release'), async () => {
    const hold = state.hold;
    await api('DELETE', `/api/holds/${hold.id}/`);
    state.hold = null;
    renderHold();
    applyChanges(hold.seats.map((s) => ({ seat_number: s.seat_number, status: 'available' })));
    say(`Released ${hold.seats.map((s) => s.label).join(', ')}.`);
  });
}

// ------------------------------------------------------------------ bookings

async function loadBookings() {
  state.bookings = await api('GET', '/api/bookings/?limit=100');
  renderBookings();
}

function renderBookings() {
  const list = $('bookings');
  if (!state.bookings.length) {
    list.replaceChildren(Object.assign(document.createElement('li'), { className: 'muted', textContent: 'None yet.' }));
    return;
  }
  list.replaceChildren(...state.bookings.map((booking) => {
    const show = state.shows.find((s) => s.id === booking.show);
    const li = document.createElement('li');
    li.dataset.booking = booking.id;
    li.dataset.status = booking.status;
    const text = document.createElement('span');
    text.textContent = `${show ? `${show.movie.title}, ${when(show.start_time)}` : `Show ${booking.show}`} · `
      + `${booking.seat_label} · ${money(booking.price, booking.currency)}`
      + (booking.status === 'CANCELLED' ? ' · cancelled' : '');
    li.append(text);
    if (booking.status === 'CONFIRMED' && show) {
      const cancel = Object.assign(document.createElement('button'),
        { type: 'button', className: 'secondary small', textContent: 'Cancel' });
      cancel.setAttribute('aria-label', `Cancel ${booking.seat_label}, ${show.movie.title}`);
      cancel.addEventListener('click', () => cancelBooking(booking, cancel));
      li.append(cancel);
    }
    return li;
  }));
  if (state.show) for (const b of state.bookings) if (b.show === state.show.id) paintSeat(b.seat_number);
}

// A first click arms the button, a second one within a few seconds cancels.
function cancelBooking(booking, button) {
  if (button.dataset.armed !== 'true') {
    button.dataset.armed = 'true';
    button.textContent = 'Really cancel?';
    setTimeout(() => { button.dataset.armed = 'false'; button.textContent = 'Cancel'; }, 4000);
    return;
  }
  return act(button, async () => {
    const cancelled = await api('DELETE', `/api/bookings/${booking.id}/cancel/`);
    state.bookings = state.bookings.map((b) => (b.id === cancelled.id ? cancelled : b));
    renderBookings();
    if (state.show && cancelled.show === state.show.id) {
      applyChanges([{ seat_number: cancelled.seat_number, status: 'available' }]);
    }
    say(`Cancelled ${cancelled.seat_label}; the seat is free again.`);
  });
}

// ------------------------------------------------------------------ start

$('auth-form').addEventListener('submit', signIn);
$('logout').addEventListener('click', logOut);
$('show').addEventListener('change', (e) => act(null, () => openShow(Number(e.target.value))));
$('map').addEventListener('click', toggleSeat);
$('map').addEventListener('keydown', moveFocus);
$('hold').addEventListener('click', holdSelected);
$('best-form').addEventListener('submit', holdBest);
$('confirm').addEventListener('click', confirmHold);
$('extend').addEventListener('click', extendHold);
$('release').addEventListener('click', releaseHold);

try {
  state.tokens = JSON.parse(sessionStorage.getItem(TOKENS_KEY));
} catch { /* none kept */ }
if (state.tokens) {
  start().catch((error) => {
    signOut();
    sayError(error);
  });
} else {
  signOut();
}
