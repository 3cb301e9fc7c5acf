//! The live workload's subscribers: many open seat streams on one show
//! (`GET /api/shows/{id}/seats/stream/`), one task each, while the bookers book that
//! show. Every 201 records when it was read and which seats it booked ([`SeatTimes`]);
//! every subscriber notes when each seat arrives as `booked` in a `seats` event. The
//! delay is the arrival minus the 201, per subscriber and seat; a seat booked with a
//! 201 that never arrives at a subscriber is a missing event.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use serde::Deserialize;
use tokio::sync::{mpsc, watch, Semaphore};

use crate::sse::{Event, Stream};

/// Streams connecting (and receiving their snapshot) at once: a snapshot of a large
/// show is a large answer, and connecting all at once would only measure the server's
/// accept queue.
const CONNECTING_AT_ONCE: usize = 16;
/// How long one stream may take to answer and send its snapshot.
const SNAPSHOT_DEADLINE: Duration = Duration::from_secs(60);

/// When the service answered 201 for each seat of one show, in µs since an epoch plus
/// one; 0 for a seat without a 201.
pub struct SeatTimes {
    epoch: Instant,
    at: Box<[AtomicU64]>,
}

impl std::fmt::Debug for SeatTimes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeatTimes")
            .field("seats", &(self.at.len() - 1))
            .finish_non_exhaustive()
    }
}

impl SeatTimes {
    pub fn new(seats: i32) -> Self {
        Self {
            epoch: Instant::now(),
            at: (0..=seats.max(0)).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn micros(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.epoch).as_micros() as u64 + 1
    }

    /// Records a 201 for `seats`, read at `at`.
    pub fn booked(&self, seats: Range<i32>, at: Instant) {
        let micros = self.micros(at);
        for seat in seats {
            if let Some(slot) = usize::try_from(seat).ok().and_then(|s| self.at.get(s)) {
                slot.store(micros, Ordering::Relaxed);
            }
        }
    }

    fn get(&self, seat: usize) -> u64 {
        self.at
            .get(seat)
            .map_or(0, |slot| slot.load(Ordering::Relaxed))
    }

    /// The seats with a 201.
    fn booked_seats(&self) -> Vec<usize> {
        (1..self.at.len()).filter(|&s| self.get(s) != 0).collect()
    }
}

/// What every subscriber shares.
struct Shared {
    times: Arc<SeatTimes>,
    /// Seats of the show (seat numbers 1..=seats).
    seats: usize,
    /// Seats that arrived as booked, summed over subscribers (each seat once each).
    arrived: AtomicU64,
    /// Streams open and read.
    open: AtomicUsize,
    /// Delays in µs, sharded so that the subscribers rarely wait for each other.
    delays: Vec<Mutex<Histogram<u64>>>,
}

/// The delay of a seat event: from the 201 to the event's arrival.
fn delay_histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 60_000_000, 3).context("cannot create a delay histogram")
}

/// The shape of a `seats` event; other fields are ignored.
#[derive(Deserialize)]
struct SeatsEvent<'a> {
    #[serde(borrow)]
    seats: Vec<SeatChange<'a>>,
}

#[derive(Deserialize)]
struct SeatChange<'a> {
    seat_number: i64,
    #[serde(borrow)]
    status: std::borrow::Cow<'a, str>,
}

/// One subscriber's view of its stream.
struct Watch {
    /// Seats that arrived as booked, one bit each.
    seen: Vec<u64>,
    snapshot: bool,
    /// Seats that arrived as booked before the bench had read their 201.
    early: u64,
    /// Newly arrived seats and delays of the current read, handed to [`Shared`] after it.
    new_seats: u64,
    new_delays: Vec<u64>,
    /// Events that were not what the contract says.
    errors: u64,
    first_error: Option<String>,
}

impl Watch {
    fn new(seats: usize) -> Self {
        Self {
            seen: vec![0; seats / 64 + 1],
            snapshot: false,
            early: 0,
            new_seats: 0,
            new_delays: Vec::new(),
            errors: 0,
            first_error: None,
        }
    }

    fn error(&mut self, message: String) {
        self.errors += 1;
        self.first_error.get_or_insert(message);
    }

    fn has_seen(&self, seat: usize) -> bool {
        self.seen[seat / 64] & (1 << (seat % 64)) != 0
    }

    fn on_event(&mut self, shared: &Shared, event: Event<'_>, arrived: u64) {
        match event.kind {
            // The contract sends a snapshot first, and later only to a reconnection.
            "snapshot" if self.snapshot => {
                self.error("a second snapshot (the show was reset)".into())
            }
            "snapshot" => {
                // A count of the seats rather than a parse: a 10,000-seat map is about
                // a megabyte, and a thousand of them arrive before the run starts.
                let seats = memchr::memmem::find_iter(event.data, b"\"seat_number\"").count();
                if seats != shared.seats {
                    self.error(format!(
                        "a snapshot of {seats} seats, the show has {}",
                        shared.seats
                    ));
                }
                self.snapshot = true;
            }
            "seats" if !self.snapshot => self.error("a seats event before the snapshot".into()),
            "seats" => match serde_json::from_slice::<SeatsEvent<'_>>(event.data) {
                Ok(change) => {
                    for seat in change.seats {
                        if seat.status == "booked" {
                            self.booked(shared, seat.seat_number, arrived);
                        }
                    }
                }
                Err(error) => self.error(format!(
                    "a seats event that is not {{\"seats\": [...]}} ({error}): {}",
                    String::from_utf8_lossy(&event.data[..event.data.len().min(200)])
                )),
            },
            other => self.error(format!("an event of type {other:?}")),
        }
    }

    fn booked(&mut self, shared: &Shared, seat: i64, arrived: u64) {
        let Some(seat) = usize::try_from(seat)
            .ok()
            .filter(|s| (1..=shared.seats).contains(s))
        else {
            return self.error(format!("seat {seat} is not a seat of the show"));
        };
        if self.has_seen(seat) {
            return;
        }
        self.seen[seat / 64] |= 1 << (seat % 64);
        self.new_seats += 1;
        let answered = shared.times.get(seat);
        let delay = if answered == 0 || arrived < answered {
            self.early += 1;
            1
        } else {
            (arrived - answered).max(1)
        };
        self.new_delays.push(delay);
    }
}

/// One open stream and what arrived on it.
struct Subscriber {
    stream: Stream,
    watch: Watch,
    shard: usize,
}

impl Subscriber {
    /// Reads once; false when the stream ended.
    async fn read(&mut self, shared: &Shared) -> anyhow::Result<bool> {
        // One clock reading for all the events of one read: they arrived together.
        let mut arrived = None;
        let Self { stream, watch, .. } = self;
        let open = stream
            .read(&mut |event| {
                let at = *arrived.get_or_insert_with(|| shared.times.micros(Instant::now()));
                watch.on_event(shared, event, at);
            })
            .await?;
        if self.watch.new_seats > 0 {
            shared
                .arrived
                .fetch_add(self.watch.new_seats, Ordering::Relaxed);
            self.watch.new_seats = 0;
            let mut delays = shared.delays[self.shard]
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            for delay in self.watch.new_delays.drain(..) {
                delays.saturating_record(delay);
            }
        }
        Ok(open)
    }
}

/// How one subscriber's task ended.
struct Ended {
    watch: Watch,
    heartbeats: u64,
    /// Why the stream stopped before it was told to, if it did.
    broke: Option<String>,
}

/// The open streams of one live run.
pub struct Subscribers {
    shared: Arc<Shared>,
    tasks: tokio::task::JoinSet<Ended>,
    stop: watch::Sender<bool>,
    pub streams: usize,
    pub connected_in: Duration,
}

/// What the subscribers saw.
#[derive(Debug, Clone)]
pub struct Events {
    pub streams: usize,
    /// From the first connection to the last snapshot received.
    pub connected_in: Duration,
    /// Seats the service answered 201 for.
    pub booked: u64,
    /// `booked` × streams: a `booked` arrival expected for each.
    pub expected: u64,
    pub arrived: u64,
    pub missing: u64,
    /// Seats that arrived as booked without a 201 (an answer the bench lost).
    pub unexpected: u64,
    /// Arrivals before the bench had read the seat's 201 (their delay counts as 0).
    pub early: u64,
    /// From each 201 to its seats' arrival at every subscriber, in µs.
    pub delays: Histogram<u64>,
    /// Malformed events and streams that ended or broke before the end.
    pub stream_errors: u64,
    pub first_error: Option<String>,
    pub heartbeats: u64,
}

impl Events {
    /// Every way the live run can fail: missing or unexpected events, stream errors.
    pub fn errors(&self) -> u64 {
        self.missing + self.unexpected + self.stream_errors
    }
}

impl Subscribers {
    /// Opens `streams` streams of `path` on `addr`, the tokens taken in turn, and returns
    /// once every one has received its snapshot. `times` is where the bookers record
    /// their 201s; `seats` is the show's size.
    pub async fn connect(
        addr: &str,
        path: &str,
        tokens: &[String],
        streams: usize,
        seats: usize,
        times: Arc<SeatTimes>,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(!tokens.is_empty(), "no tokens to subscribe with");
        let shards = std::thread::available_parallelism().map_or(1, |n| n.get());
        let shared = Arc::new(Shared {
            times,
            seats,
            arrived: AtomicU64::new(0),
            open: AtomicUsize::new(0),
            delays: (0..shards)
                .map(|_| delay_histogram().map(Mutex::new))
                .collect::<anyhow::Result<_>>()?,
        });
        let (stop, stopped) = watch::channel(false);
        let (connected_tx, mut connected) = mpsc::channel(streams.max(1));
        let limit = Arc::new(Semaphore::new(CONNECTING_AT_ONCE));
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        let next_shard = AtomicUsize::new(0);
        for i in 0..streams {
            let (shared, limit, connected_tx, mut stopped) = (
                shared.clone(),
                limit.clone(),
                connected_tx.clone(),
                stopped.clone(),
            );
            let (addr, path) = (addr.to_owned(), path.to_owned());
            let token = tokens[i % tokens.len()].clone();
            let shard = next_shard.fetch_add(1, Ordering::Relaxed) % shards;
            tasks.spawn(async move {
                // Once one stream failed to open, the others stop trying.
                let subscribed = tokio::select! {
                    _ = stopped.changed() => Err(anyhow::anyhow!("not opened: another stream failed")),
                    subscribed = async {
                        let _permit = limit.acquire_owned().await;
                        subscribe(&addr, &path, &token, &shared, shard).await
                    } => subscribed,
                };
                let mut subscriber = match subscribed {
                    Ok(subscriber) => {
                        shared.open.fetch_add(1, Ordering::Relaxed);
                        let _ = connected_tx.send(Ok(())).await;
                        subscriber
                    }
                    Err(error) => {
                        let _ = connected_tx.send(Err(format!("{error:#}"))).await;
                        return Ended {
                            watch: Watch::new(shared.seats),
                            heartbeats: 0,
                            broke: Some(format!("{error:#}")),
                        };
                    }
                };
                let broke = loop {
                    tokio::select! {
                        biased;
                        _ = stopped.changed() => break None,
                        read = subscriber.read(&shared) => match read {
                            Ok(true) => {}
                            Ok(false) => break Some("the stream ended".to_owned()),
                            Err(error) => break Some(format!("{error:#}")),
                        },
                    }
                };
                shared.open.fetch_sub(1, Ordering::Relaxed);
                Ended {
                    heartbeats: subscriber.stream.parser.comments,
                    watch: subscriber.watch,
                    broke,
                }
            });
        }
        drop(connected_tx);
        let mut subscribers = Self {
            shared,
            tasks,
            stop,
            streams,
            connected_in: Duration::ZERO,
        };
        for _ in 0..streams {
            match connected.recv().await {
                Some(Ok(())) => {}
                Some(Err(error)) => {
                    subscribers.close().await;
                    anyhow::bail!("a seat stream did not open: {error}");
                }
                None => {
                    subscribers.close().await;
                    anyhow::bail!("a seat stream's task ended before it opened");
                }
            }
        }
        subscribers.connected_in = started.elapsed();
        Ok(subscribers)
    }

    /// Stops every stream and waits for their tasks.
    async fn close(&mut self) -> Vec<Ended> {
        let _ = self.stop.send(true);
        let mut ended = Vec::with_capacity(self.streams);
        while let Some(joined) = self.tasks.join_next().await {
            if let Ok(done) = joined {
                ended.push(done);
            }
        }
        ended
    }

    /// Waits up to `grace` for every booked seat to arrive at every subscriber, then
    /// closes the streams and counts what arrived.
    pub async fn finish(mut self, grace: Duration) -> anyhow::Result<Events> {
        let booked = self.shared.times.booked_seats();
        let expected = booked.len() as u64 * self.streams as u64;
        let deadline = Instant::now() + grace;
        while self.shared.arrived.load(Ordering::Relaxed) < expected
            && Instant::now() < deadline
            && self.shared.open.load(Ordering::Relaxed) > 0
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let ended = self.close().await;
        let mut events = Events {
            streams: self.streams,
            connected_in: self.connected_in,
            booked: booked.len() as u64,
            expected,
            arrived: self.shared.arrived.load(Ordering::Relaxed),
            missing: 0,
            unexpected: 0,
            early: 0,
            delays: delay_histogram()?,
            stream_errors: 0,
            first_error: None,
            heartbeats: 0,
        };
        let lost = self.streams.saturating_sub(ended.len());
        if lost > 0 {
            events.stream_errors += lost as u64;
            events.missing += lost as u64 * booked.len() as u64;
            events.first_error = Some(format!("{lost} subscriber tasks panicked"));
        }
        for done in ended {
            let watch = &done.watch;
            events.missing += booked.iter().filter(|&&s| !watch.has_seen(s)).count() as u64;
            events.unexpected += (1..=self.shared.seats)
                .filter(|&s| watch.has_seen(s) && self.shared.times.get(s) == 0)
                .count() as u64;
            events.early += watch.early;
            events.heartbeats += done.heartbeats;
            events.stream_errors += watch.errors + u64::from(done.broke.is_some());
            if events.first_error.is_none() {
                events.first_error = watch.first_error.clone().or(done.broke);
            }
        }
        for shard in &self.shared.delays {
            let shard = shard
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            events.delays.add(&*shard).context("cannot merge delays")?;
        }
        Ok(events)
    }
}

/// Opens one stream and reads up to its snapshot.
async fn subscribe(
    addr: &str,
    path: &str,
    token: &str,
    shared: &Shared,
    shard: usize,
) -> anyhow::Result<Subscriber> {
    let stream = Stream::open(addr, path, token, SNAPSHOT_DEADLINE).await?;
    let mut subscriber = Subscriber {
        stream,
        watch: Watch::new(shared.seats),
        shard,
    };
    let snapshot = async {
        while !subscriber.watch.snapshot {
            if !subscriber.read(shared).await? {
                anyhow::bail!("the stream ended before its snapshot");
            }
        }
        Ok(())
    };
    tokio::time::timeout(SNAPSHOT_DEADLINE, snapshot)
        .await
        .with_context(|| format!("no snapshot within {SNAPSHOT_DEADLINE:?}"))??;
    if let Some(error) = &subscriber.watch.first_error {
        anyhow::bail!("{error}");
    }
    Ok(subscriber)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(seats: i32) -> Shared {
        Shared {
            times: Arc::new(SeatTimes::new(seats)),
            seats: seats as usize,
            arrived: AtomicU64::new(0),
            open: AtomicUsize::new(0),
            delays: vec![Mutex::new(delay_histogram().unwrap())],
        }
    }

    fn event<'a>(kind: &'a str, data: &'a str) -> Event<'a> {
        Event {
            kind,
            id: Some("1"),
            data: data.as_bytes(),
        }
    }

    const SNAPSHOT: &str = r#"[{"seat_number":1,"status":"available"},{"seat_number":2,"status":"available"},{"seat_number":3,"status":"available"}]"#;

    #[test]
    fn a_booked_seat_counts_once_with_its_delay_from_the_201() {
        let shared = shared(3);
        let answered = shared.times.epoch + Duration::from_millis(5);
        shared.times.booked(2..3, answered);
        let mut watch = Watch::new(3);
        watch.on_event(&shared, event("snapshot", SNAPSHOT), 1);
        let at = shared.times.micros(answered) + 1_500;
        let booked = r#"{"seats":[{"seat_number":2,"status":"booked","label":"2"}]}"#;
        watch.on_event(&shared, event("seats", booked), at);
        watch.on_event(&shared, event("seats", booked), at + 10);
        assert_eq!(watch.errors, 0, "{:?}", watch.first_error);
        assert_eq!(
            (watch.new_seats, watch.new_delays.clone()),
            (1, vec![1_500])
        );
        assert!(watch.has_seen(2) && !watch.has_seen(1));
        assert_eq!(watch.early, 0);
    }

    #[test]
    fn an_arrival_before_the_201_is_early_with_no_delay() {
        let shared = shared(3);
        let mut watch = Watch::new(3);
        watch.on_event(&shared, event("snapshot", SNAPSHOT), 1);
        let booked = r#"{"seats":[{"seat_number":3,"status":"booked"},{"seat_number":1,"status":"available"}]}"#;
        watch.on_event(&shared, event("seats", booked), 50);
        assert_eq!((watch.new_seats, watch.early), (1, 1));
        assert_eq!(watch.new_delays, vec![1]);
        assert!(!watch.has_seen(1));
    }

    #[test]
    fn contract_breaches_are_errors() {
        let shared = shared(3);
        let mut watch = Watch::new(3);
        let booked = r#"{"seats":[{"seat_number":1,"status":"booked"}]}"#;
        watch.on_event(&shared, event("seats", booked), 1);
        watch.on_event(&shared, event("snapshot", r#"[{"seat_number":1}]"#), 1);
        watch.on_event(&shared, event("seats", r#"[1, 2]"#), 1);
        watch.on_event(
            &shared,
            event(
                "seats",
                r#"{"seats":[{"seat_number":4,"status":"booked"}]}"#,
            ),
            1,
        );
        watch.on_event(&shared, event("message", "x"), 1);
        assert_eq!(watch.errors, 5);
        assert_eq!(
            watch.first_error.as_deref(),
            Some("a seats event before the snapshot")
        );
        assert_eq!(watch.new_seats, 0);
    }

    #[test]
    fn seat_times_keep_each_201() {
        let times = SeatTimes::new(10);
        let at = times.epoch + Duration::from_millis(2);
        times.booked(4..7, at);
        times.booked(11..12, at);
        assert_eq!(times.booked_seats(), vec![4, 5, 6]);
        assert_eq!(times.get(5), 2_001);
    }
}
