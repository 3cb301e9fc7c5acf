//! The seat feed: what every committed seat change tells this process, kept as each
//! show's claims in memory, streamed to subscribers and used to answer reads without the
//! database.
//!
//! - A write tells the feed what it changed right after its commit ([`SeatFeed::seats_changed`]
//!   and friends): the cache takes it at once, so a client reads its own change as soon
//!   as it has the answer, and the show's subscribers get an event.
//! - Other processes hear of it through PostgreSQL `NOTIFY` (`pg`): the payload names the
//!   shows only, and the hearer reads their claims again and streams the difference, so
//!   notifications arriving in any order still end at the committed state. SQLite is
//!   served by one process, so its feed is in-process only.
//! - Every second a show changed here is read again too (two commits on one seat may tell
//!   the feed in the other order), every 5 s every cached show is, and on every
//!   (re)connection of the listener everything is, before reads trust the cache again.
//!   While the listener is down, reads go to the database.
//! - A hold's seat counts as held until its `expires_at`, judged at read time; a sweep
//!   streams it as available within a quarter of a second of that instant.

pub(crate) mod load;
mod pg;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use domain::{
    Clock, Layout, Listing, Page, SeatChange, SeatChangeKind, SeatStatus, Show, ShowFilter,
    ShowSeats, StoreError,
};
use tokio::sync::{broadcast, mpsc};

use crate::db::Database;
use crate::rows::to_naive;

/// Events kept per show for a reconnecting subscriber's `Last-Event-ID`.
const KEPT_EVENTS: usize = 512;
/// Events a subscriber may fall behind by before it is dropped.
const SUBSCRIBER_BACKLOG: usize = 256;
/// How often held seats are checked for expiry, and changed shows for a re-read.
const TICK: Duration = Duration::from_millis(250);
/// How long after a local change the show is read again.
const VERIFY_AFTER: Duration = Duration::from_secs(1);
/// How often every cached show is read again, whatever the feed said.
const RESYNC_EVERY: Duration = Duration::from_secs(5);
/// A cached show nobody read or watched for this long is dropped.
const IDLE_AFTER: Duration = Duration::from_secs(600);

/// What a write did to one seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Claim {
    Free,
    Booked,
    Held(NaiveDateTime),
}

/// Where a new subscriber starts.
pub enum Start {
    /// The whole map, as of event `id`.
    Snapshot { id: u64, seats: Box<ShowSeats> },
    /// The events after the subscriber's `Last-Event-ID`, oldest first.
    Replay(Vec<Arc<SeatChange>>),
}

/// A subscription to one show's changes. A receiver that falls more than
/// [`SUBSCRIBER_BACKLOG`] events behind gets `Lagged` and should be dropped.
pub struct Subscription {
    pub start: Start,
    pub events: broadcast::Receiver<Arc<SeatChange>>,
}

/// The feed of one process; cheap to clone.
#[derive(Clone)]
pub struct SeatFeed {
    inner: Arc<Inner>,
}

struct Inner {
    db: Database,
    clock: Arc<dyn Clock>,
    /// This process, in its notifications, so it ignores its own.
    origin: u64,
    /// The high bits of every event id of this process: an id from another process (or
    /// an earlier one) is not resumed from.
    epoch: u64,
    counter: AtomicU64,
    /// Counts whatever may change a read's answer: every event, every change of the
    /// catalogue, of following, or of the cached shows.
    version: AtomicU64,
    shows: Mutex<HashMap<i64, Arc<ShowLive>>>,
    catalogue: Mutex<Catalogue>,
    /// Whether the cache follows every committed change: set once the feed runs and has
    /// read everything again since its listener (re)connected.
    following: AtomicBool,
    /// The listener's current connection, counted; a change of it while a resync runs
    /// means the resync may have missed something.
    link: Mutex<u64>,
    work: mpsc::UnboundedSender<Work>,
    inbox: Mutex<Option<mpsc::UnboundedReceiver<Work>>>,
    /// To other processes (PostgreSQL), once started.
    outbox: Mutex<Option<mpsc::Sender<Signal>>>,
}

/// What crosses processes: which show's seats, or which show, or the catalogue changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Signal {
    Seats(i64),
    Show(i64),
    Catalogue,
}

enum Work {
    Heard(Signal),
    /// Read every cached show again; then follow, if the listener is still connection
    /// `generation`.
    Resync(u64),
}

#[derive(Default)]
struct Catalogue {
    shows: Option<Arc<Vec<Show>>>,
    generation: u64,
}

struct ShowLive {
    state: Mutex<ShowState>,
    events: broadcast::Sender<Arc<SeatChange>>,
}

#[derive(Default)]
struct ShowState {
    /// The show (available seats counting blocked seats only) and its layout.
    info: Option<Arc<(Show, Layout)>>,
    claims_loaded: bool,
    booked: BTreeSet<i32>,
    held: BTreeMap<i32, NaiveDateTime>,
    /// Reads of the claims in flight, and the seats changed here meanwhile: those keep
    /// what the change said, newer than or as new as the read.
    reloads: u32,
    touched: HashSet<i32>,
    kept: VecDeque<Arc<SeatChange>>,
    /// Resuming after an id older than this misses events.
    floor: u64,
    last_id: u64,
    verify_at: Option<Instant>,
    used_at: Option<Instant>,
}

impl ShowState {
    fn status(&self, seat: i32, now: NaiveDateTime) -> SeatStatus {
        if self.booked.contains(&seat) {
            SeatStatus::Booked
        } else if self.held.get(&seat).is_some_and(|until| *until > now) {
            SeatStatus::Held
        } else {
            SeatStatus::Available
        }
    }

    fn set(&mut self, seat: i32, claim: Claim) {
        match claim {
            Claim::Free => {
                self.booked.remove(&seat);
                self.held.remove(&seat);
            }
            Claim::Booked => {
                self.held.remove(&seat);
                self.booked.insert(seat);
            }
            Claim::Held(until) => {
                self.booked.remove(&seat);
                self.held.insert(seat, until);
            }
        }
    }

    fn taken(&self, now: NaiveDateTime) -> usize {
        self.booked.len() + self.held.values().filter(|until| **until > now).count()
    }

    fn show_seats(&self, now: NaiveDateTime) -> Option<ShowSeats> {
        let info = self.info.as_ref()?;
        let (show, layout) = info.as_ref();
        let mut show = show.clone();
        show.available_seats -= self.taken(now) as i32;
        Some(ShowSeats {
            show,
            layout: layout.clone(),
            booked: self.booked.iter().copied().collect(),
            held: self
                .held
                .iter()
                .filter(|(_, until)| **until > now)
                .map(|(seat, _)| *seat)
                .collect(),
        })
    }

    /// Takes the claims read from the database, but not for seats changed here since
    /// the read began; returns the seats whose status changed.
    fn absorb(
        &mut self,
        rows: Vec<(i32, Option<NaiveDateTime>)>,
        now: NaiveDateTime,
    ) -> Vec<(i32, SeatStatus)> {
        let mut fresh: BTreeMap<i32, Claim> = rows
            .into_iter()
            .map(|(seat, until)| (seat, until.map_or(Claim::Booked, Claim::Held)))
            .collect();
        let known: Vec<i32> = self
            .booked
            .iter()
            .chain(self.held.keys())
            .copied()
            .collect();
        for seat in known {
            fresh.entry(seat).or_insert(Claim::Free);
        }
        let report = self.claims_loaded;
        let mut changed = Vec::new();
        for (seat, claim) in fresh {
            if self.touched.contains(&seat) {
                continue;
            }
            let before = self.status(seat, now);
            self.set(seat, claim);
            let after = self.status(seat, now);
            if report && before != after {
                changed.push((seat, after));
            }
        }
        self.claims_loaded = true;
        changed
    }
}

impl ShowLive {
    fn new(id: u64) -> Self {
        let (events, _) = broadcast::channel(SUBSCRIBER_BACKLOG);
        Self {
            state: Mutex::new(ShowState {
                floor: id,
                last_id: id,
                ..ShowState::default()
            }),
            events,
        }
    }

    fn lock(&self) -> MutexGuard<'_, ShowState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl SeatFeed {
    pub(crate) fn new(db: Database, clock: Arc<dyn Clock>) -> Self {
        let (work, inbox) = mpsc::unbounded_channel();
        let origin = rand_u64();
        Self {
            inner: Arc::new(Inner {
                db,
                clock,
                origin,
                // 20 bits, so that ids stay below 2^52 (exact in JavaScript).
                epoch: (origin >> 44) << 32,
                counter: AtomicU64::new(0),
                version: AtomicU64::new(0),
                shows: Mutex::default(),
                catalogue: Mutex::default(),
                following: AtomicBool::new(false),
                link: Mutex::new(0),
                work,
                inbox: Mutex::new(Some(inbox)),
                outbox: Mutex::new(None),
            }),
        }
    }

    /// Starts the feed's tasks on the current Tokio runtime: the worker, and on
    /// PostgreSQL the listener and the publisher. Until then (and in a process that never
    /// starts it) reads go to the database. A second call starts nothing.
    pub fn start(&self) -> Vec<tokio::task::JoinHandle<()>> {
        let Some(inbox) = lock(&self.inner.inbox).take() else {
            return Vec::new();
        };
        let mut tasks = vec![tokio::spawn(self.clone().run(inbox))];
        match &self.inner.db {
            Database::Postgres { .. } => tasks.extend(pg::start(self.clone())),
            Database::Sqlite { .. } => {
                let _ = self.inner.work.send(Work::Resync(0));
            }
        }
        tasks
    }

    /// Whether reads may be answered from the cache.
    pub fn is_following(&self) -> bool {
        self.inner.following.load(Ordering::Acquire)
    }

    pub(super) fn set_following(&self, following: bool) {
        self.inner.following.store(following, Ordering::Release);
        self.bump();
    }

    fn bump(&self) {
        self.inner.version.fetch_add(1, Ordering::AcqRel);
    }

    /// A number that changes whenever the answer to any read of shows may have changed,
    /// here or, once heard, in another process; `None` while the feed does not follow.
    /// An answer computed after reading `Some(v)` may be reused while this is still `v`.
    pub fn version(&self) -> Option<u64> {
        let version = self.inner.version.load(Ordering::Acquire);
        self.is_following().then_some(version)
    }

    /// Like [`Self::version`], for one show's seat map only: the id of its last event,
    /// with the catalogue's generation; `None` while the show is not cached or the feed
    /// does not follow.
    pub fn seats_version(&self, show: i64) -> Option<(u64, u64)> {
        if !self.is_following() {
            return None;
        }
        let generation = lock(&self.inner.catalogue).generation;
        let live = self.cached(show)?;
        let mut state = live.lock();
        state.used_at = Some(Instant::now());
        (state.info.is_some() && state.claims_loaded).then_some((state.last_id, generation))
    }

    fn now(&self) -> NaiveDateTime {
        to_naive(self.inner.clock.now())
    }

    fn next_id(&self) -> u64 {
        self.inner.epoch | (self.inner.counter.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn live(&self, show: i64) -> Arc<ShowLive> {
        lock(&self.inner.shows)
            .entry(show)
            .or_insert_with(|| Arc::new(ShowLive::new(self.next_id())))
            .clone()
    }

    fn cached(&self, show: i64) -> Option<Arc<ShowLive>> {
        lock(&self.inner.shows).get(&show).cloned()
    }

    fn emit(&self, live: &ShowLive, state: &mut ShowState, kind: SeatChangeKind) {
        let change = Arc::new(SeatChange {
            id: self.next_id(),
            kind,
        });
        state.last_id = change.id;
        self.bump();
        if state.kept.len() == KEPT_EVENTS {
            if let Some(old) = state.kept.pop_front() {
                state.floor = old.id;
            }
        }
        state.kept.push_back(change.clone());
        // No receiver is fine: nobody watches this show here.
        let _ = live.events.send(change);
    }

    fn signal(&self, signal: Signal) {
        if let Some(outbox) = lock(&self.inner.outbox).as_ref() {
            // A full outbox drops the signal: other processes re-read every cached show
            // every few seconds anyway.
            if outbox.try_send(signal).is_err() {
                tracing::debug!(?signal, "seat feed outbox full; signal dropped");
            }
        }
    }

    // --- What writes tell the feed, after their commit. ---

    /// These seats of the show were committed as `claims`.
    pub(crate) fn seats_changed(&self, show: i64, claims: &[(i32, Claim)]) {
        if claims.is_empty() {
            return;
        }
        self.signal(Signal::Seats(show));
        let Some(live) = self.cached(show) else {
            return;
        };
        let now = self.now();
        let mut state = live.lock();
        let mut changed = Vec::new();
        for &(seat, claim) in claims {
            if state.reloads > 0 {
                state.touched.insert(seat);
            }
            let before = state.status(seat, now);
            state.set(seat, claim);
            let after = state.status(seat, now);
            if before != after {
                changed.push((seat, after));
            }
        }
        state
            .verify_at
            .get_or_insert_with(|| Instant::now() + VERIFY_AFTER);
        if state.claims_loaded && !changed.is_empty() {
            changed.sort_unstable_by_key(|(seat, _)| *seat);
            self.emit(&live, &mut state, SeatChangeKind::Seats(changed));
        }
    }

    /// The show's layout, seat count, prices or time changed, or it was deleted.
    pub(crate) fn show_changed(&self, show: i64) {
        self.signal(Signal::Show(show));
        self.reset(show);
        self.forget_catalogue();
    }

    /// Movies, screens or the set of shows changed.
    pub(crate) fn catalogue_changed(&self) {
        self.signal(Signal::Catalogue);
        self.forget_catalogue();
    }

    fn reset(&self, show: i64) {
        let Some(live) = self.cached(show) else {
            return;
        };
        let mut state = live.lock();
        state.info = None;
        state.claims_loaded = false;
        state.booked.clear();
        state.held.clear();
        state.touched.clear();
        state.kept.clear();
        self.emit(&live, &mut state, SeatChangeKind::Reset);
        state.floor = state.last_id;
    }

    fn forget_catalogue(&self) {
        let mut catalogue = lock(&self.inner.catalogue);
        catalogue.shows = None;
        catalogue.generation += 1;
        drop(catalogue);
        self.bump();
        // A show's movie title or screen may have changed with it.
        for live in lock(&self.inner.shows).values() {
            live.lock().info = None;
        }
    }

    // --- Reads. ---

    /// The show, its layout and its claims, loading what is not cached; `None` when the
    /// show does not exist.
    async fn loaded(&self, show: i64) -> Result<Option<Arc<ShowLive>>, StoreError> {
        let live = self.live(show);
        {
            let mut state = live.lock();
            state.used_at = Some(Instant::now());
            if state.info.is_some() && state.claims_loaded {
                return Ok(Some(live.clone()));
            }
            state.reloads += 1;
        }
        let read = async {
            let info = load::show(&self.inner.db, show).await?;
            let claims = load::claims(&self.inner.db, &[show], self.now()).await?;
            Ok::<_, StoreError>((info, claims))
        }
        .await;
        let mut state = live.lock();
        state.reloads -= 1;
        let result = match read {
            Ok((None, _)) => Ok(None),
            Ok((Some(info), mut claims)) => {
                if state.info.is_none() {
                    state.info = Some(Arc::new(info));
                }
                let rows = claims.remove(&show).unwrap_or_default();
                let changed = state.absorb(rows, self.now());
                if !changed.is_empty() {
                    self.emit(&live, &mut state, SeatChangeKind::Seats(changed));
                }
                Ok(Some(live.clone()))
            }
            Err(e) => Err(e),
        };
        if state.reloads == 0 {
            state.touched.clear();
        }
        result
    }

    /// The show with its layout and taken seats, from the cache; `None` when the cache
    /// does not follow the database (the caller reads the database).
    pub(crate) async fn show_seats(
        &self,
        show: i64,
    ) -> Option<Result<Option<ShowSeats>, StoreError>> {
        if !self.is_following() {
            return None;
        }
        Some(self.snapshot(show).await.map(|s| s.map(|(_, seats)| seats)))
    }

    /// The show with its available seats, from the cache (see [`Self::show_seats`]).
    pub(crate) async fn show(&self, show: i64) -> Option<Result<Option<Show>, StoreError>> {
        self.show_seats(show)
            .await
            .map(|found| found.map(|seats| seats.map(|s| s.show)))
    }

    /// The whole seat map as of its last event id.
    pub async fn snapshot(&self, show: i64) -> Result<Option<(u64, ShowSeats)>, StoreError> {
        // A reset between the load and the lock empties the cache again: load again.
        for _ in 0..3 {
            let Some(live) = self.loaded(show).await? else {
                return Ok(None);
            };
            let state = live.lock();
            if let Some(seats) = state.show_seats(self.now()) {
                return Ok(Some((state.last_id, seats)));
            }
        }
        Err(StoreError::Unavailable(
            "the show keeps changing; try again".into(),
        ))
    }

    /// Subscribes to the show's changes, from `last_id` when its events are still kept,
    /// else from a snapshot. `None` when the show does not exist.
    pub async fn subscribe(
        &self,
        show: i64,
        last_id: Option<u64>,
    ) -> Result<Option<Subscription>, StoreError> {
        for _ in 0..3 {
            let Some(live) = self.loaded(show).await? else {
                return Ok(None);
            };
            let state = live.lock();
            // Subscribed under the lock that events are sent under: none is missed or
            // sent twice.
            let events = live.events.subscribe();
            let resumable = last_id.filter(|id| {
                id & !0xFFFF_FFFF == self.inner.epoch && *id >= state.floor && *id <= state.last_id
            });
            if let (Some(after), true) = (resumable, state.info.is_some()) {
                let missed = state.kept.iter().filter(|c| c.id > after).cloned();
                return Ok(Some(Subscription {
                    start: Start::Replay(missed.collect()),
                    events,
                }));
            }
            if let Some(seats) = state.show_seats(self.now()) {
                return Ok(Some(Subscription {
                    start: Start::Snapshot {
                        id: state.last_id,
                        seats: Box::new(seats),
                    },
                    events,
                }));
            }
        }
        Err(StoreError::Unavailable(
            "the show keeps changing; try again".into(),
        ))
    }

    /// A page of shows with their available seats, from the cache (see
    /// [`Self::show_seats`]).
    pub(crate) async fn list_shows(
        &self,
        filter: &ShowFilter,
        page: Page,
    ) -> Option<Result<Listing<Show>, StoreError>> {
        if !self.is_following() {
            return None;
        }
        Some(self.list_cached(filter, page).await)
    }

    async fn catalogue(&self) -> Result<Arc<Vec<Show>>, StoreError> {
        let generation = {
            let catalogue = lock(&self.inner.catalogue);
            if let Some(shows) = &catalogue.shows {
                return Ok(shows.clone());
            }
            catalogue.generation
        };
        let shows = Arc::new(load::catalogue(&self.inner.db).await?);
        let mut catalogue = lock(&self.inner.catalogue);
        // Kept only if nothing changed meanwhile; answered either way.
        if catalogue.generation == generation {
            catalogue.shows = Some(shows.clone());
        }
        Ok(shows)
    }

    async fn list_cached(
        &self,
        filter: &ShowFilter,
        page: Page,
    ) -> Result<Listing<Show>, StoreError> {
        let shows = self.catalogue().await?;
        let day = filter.date.map(|date| {
            let start = date
                .get()
                .and_hms_opt(0, 0, 0)
                .unwrap_or_default()
                .and_utc();
            (start, start.checked_add_signed(chrono::Duration::days(1)))
        });
        let wanted = |show: &&Show| {
            let at = show.start_time.get();
            filter.movie.is_none_or(|movie| show.movie.id == movie)
                && day.is_none_or(|(from, to)| at >= from && to.is_none_or(|to| at < to))
                && filter.starts_after.is_none_or(|after| at > after)
        };
        let total = shows.iter().filter(wanted).count() as i64;
        let offset = usize::try_from(page.offset).unwrap_or(usize::MAX);
        let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
        let mut items: Vec<Show> = shows
            .iter()
            .filter(wanted)
            .skip(offset)
            .take(limit)
            .cloned()
            .collect();
        let ids: Vec<i64> = items.iter().map(|s| s.id.0).collect();
        let taken = self.taken(&ids).await?;
        for show in &mut items {
            show.available_seats -= taken.get(&show.id.0).copied().unwrap_or(0) as i32;
        }
        Ok(Listing { items, total })
    }

    /// The seats taken now of these shows, loading the claims of those not cached in
    /// one read.
    async fn taken(&self, ids: &[i64]) -> Result<HashMap<i64, usize>, StoreError> {
        let now = self.now();
        let mut taken = HashMap::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            let live = self.live(*id);
            let mut state = live.lock();
            state.used_at = Some(Instant::now());
            if state.claims_loaded {
                taken.insert(*id, state.taken(now));
            } else {
                state.reloads += 1;
                missing.push((*id, live.clone()));
            }
        }
        if missing.is_empty() {
            return Ok(taken);
        }
        let missing_ids: Vec<i64> = missing.iter().map(|(id, _)| *id).collect();
        let read = load::claims(&self.inner.db, &missing_ids, now).await;
        let mut failed = None;
        let mut read = match read {
            Ok(rows) => rows,
            Err(e) => {
                failed = Some(e);
                HashMap::new()
            }
        };
        let now = self.now();
        for (id, live) in missing {
            let mut state = live.lock();
            state.reloads -= 1;
            if failed.is_none() {
                let changed = state.absorb(read.remove(&id).unwrap_or_default(), now);
                if !changed.is_empty() {
                    self.emit(&live, &mut state, SeatChangeKind::Seats(changed));
                }
                taken.insert(id, state.taken(now));
            }
            if state.reloads == 0 {
                state.touched.clear();
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(taken),
        }
    }

    // --- The worker. ---

    async fn run(self, mut inbox: mpsc::UnboundedReceiver<Work>) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut resync_at = Instant::now() + RESYNC_EVERY;
        loop {
            let mut heard = HashSet::new();
            let mut resync = None;
            tokio::select! {
                work = inbox.recv() => {
                    let Some(work) = work else { return };
                    let mut next = Some(work);
                    while let Some(work) = next {
                        match work {
                            Work::Heard(signal) => { heard.insert(signal); }
                            Work::Resync(generation) => resync = Some(generation),
                        }
                        next = inbox.try_recv().ok();
                    }
                }
                _ = tick.tick() => {
                    self.expire_held();
                    if Instant::now() >= resync_at {
                        resync_at = Instant::now() + RESYNC_EVERY;
                        self.drop_idle();
                        resync = Some(u64::MAX);
                    }
                }
            }
            let mut reread: BTreeSet<i64> = BTreeSet::new();
            for signal in heard {
                match signal {
                    Signal::Seats(show) => {
                        reread.insert(show);
                    }
                    Signal::Show(show) => {
                        self.reset(show);
                        self.forget_catalogue();
                    }
                    Signal::Catalogue => self.forget_catalogue(),
                }
            }
            if resync.is_some() {
                reread.extend(lock(&self.inner.shows).keys().copied());
                if resync != Some(u64::MAX) {
                    self.forget_catalogue();
                }
            } else {
                reread.extend(self.due_for_verify());
            }
            let reread: Vec<i64> = reread.into_iter().collect();
            match self.reread(&reread).await {
                Ok(()) => {
                    if let Some(generation) = resync.filter(|g| *g != u64::MAX) {
                        if pg::follow_if_current(&self, generation) {
                            tracing::info!("seat feed following");
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "seat feed cannot read seats; trying again");
                    for show in reread {
                        let _ = self.inner.work.send(Work::Heard(Signal::Seats(show)));
                    }
                    if let Some(generation) = resync {
                        let _ = self.inner.work.send(Work::Resync(generation));
                    }
                    tokio::time::sleep(TICK).await;
                }
            }
        }
    }

    /// Shows changed here a while ago, to read again in case two commits told the feed
    /// in the other order.
    fn due_for_verify(&self) -> Vec<i64> {
        let now = Instant::now();
        let shows = lock(&self.inner.shows);
        let mut due = Vec::new();
        for (id, live) in shows.iter() {
            let mut state = live.lock();
            if state.verify_at.is_some_and(|at| at <= now) {
                state.verify_at = None;
                due.push(*id);
            }
        }
        due
    }

    async fn reread(&self, shows: &[i64]) -> Result<(), StoreError> {
        let shows: Vec<(i64, Arc<ShowLive>)> = shows
            .iter()
            .filter_map(|id| self.cached(*id).map(|live| (*id, live)))
            .collect();
        if shows.is_empty() {
            return Ok(());
        }
        for (_, live) in &shows {
            live.lock().reloads += 1;
        }
        let ids: Vec<i64> = shows.iter().map(|(id, _)| *id).collect();
        let read = load::claims(&self.inner.db, &ids, self.now()).await;
        let now = self.now();
        let mut rows = match &read {
            Ok(rows) => rows.clone(),
            Err(_) => HashMap::new(),
        };
        for (id, live) in &shows {
            let mut state = live.lock();
            state.reloads -= 1;
            if read.is_ok() && state.claims_loaded {
                let skipped = !state.touched.is_empty();
                let changed = state.absorb(rows.remove(id).unwrap_or_default(), now);
                if !changed.is_empty() {
                    self.emit(live, &mut state, SeatChangeKind::Seats(changed));
                }
                if skipped {
                    state
                        .verify_at
                        .get_or_insert_with(|| Instant::now() + VERIFY_AFTER);
                }
            }
            if state.reloads == 0 {
                state.touched.clear();
            }
        }
        read.map(|_| ())
    }

    /// Streams held seats whose hold expired as available.
    fn expire_held(&self) {
        let now = self.now();
        let shows: Vec<Arc<ShowLive>> = lock(&self.inner.shows).values().cloned().collect();
        for live in shows {
            let mut state = live.lock();
            let expired: Vec<i32> = state
                .held
                .iter()
                .filter(|(_, until)| **until <= now)
                .map(|(seat, _)| *seat)
                .collect();
            if expired.is_empty() {
                continue;
            }
            for seat in &expired {
                state.held.remove(seat);
            }
            if state.claims_loaded {
                let changed = expired
                    .into_iter()
                    .map(|seat| (seat, SeatStatus::Available))
                    .collect();
                self.emit(&live, &mut state, SeatChangeKind::Seats(changed));
            }
        }
    }

    fn drop_idle(&self) {
        let now = Instant::now();
        let mut shows = lock(&self.inner.shows);
        let before = shows.len();
        shows.retain(|_, live| {
            live.events.receiver_count() > 0
                || live
                    .lock()
                    .used_at
                    .is_some_and(|at| now.duration_since(at) < IDLE_AFTER)
        });
        // A dropped show no longer hears its changes: what was read of it is void.
        if shows.len() != before {
            drop(shows);
            self.bump();
        }
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // Random per process without another dependency: std seeds each RandomState anew.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    hasher.write_u32(std::process::id());
    hasher.finish()
}
