//! The closed-loop load: a fixed number of connections, each sending its next request
//! as soon as the last one is answered, until the time is up. Every latency goes into
//! an HDR histogram; every answer is counted by status. A checkout is two requests in a
//! row (hold, then confirm), each step with its own histogram besides.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::{RequestBuilder, StatusCode};

use crate::api::User;
use crate::live::SeatTimes;

/// What each request of a workload does.
#[derive(Debug, Clone)]
pub enum Plan {
    /// POST /api/shows/{id}/book/ for a random show of `shows` and a random run of
    /// `run` adjacent seats among 1..=`seats` (`seat_number` for runs of one,
    /// `seat_numbers` otherwise). 201 and 409 are the expected answers. With `record`,
    /// each 201's seats and the instant it was read go there (one show only).
    Book {
        shows: Arc<[i64]>,
        seats: i32,
        run: RangeInclusive<i32>,
        record: Option<Arc<SeatTimes>>,
    },
    /// A checkout: POST /api/shows/{id}/holds/ for a random show of `shows` and a
    /// random pair of adjacent seats among 1..=`seats` (`seat_numbers`), then, after a
    /// 201, POST /api/holds/{id}/confirm/ with a new Idempotency-Key. A 409 `seat_taken`
    /// to the hold is a conflict (someone else has a seat); any other answer but 201 to
    /// either step is an error, after which the hold is released (DELETE) so that the
    /// user's seat cap stays free. One hold in flight per connection at most.
    Checkout { shows: Arc<[i64]>, seats: i32 },
    /// GET this path with the connection's token; 200 expected.
    Get { path: String },
    /// POST /api/login/ with the connection's own user; 200 expected.
    Login,
}

/// Latencies are recorded in microseconds, up to a minute.
fn histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 60_000_000, 3).context("cannot create a latency histogram")
}

/// The steps of the checkouts of a workload.
#[derive(Debug, Clone)]
pub struct Steps {
    /// 201 answers to holds.
    pub holds: u64,
    /// Holds released after a failed confirmation.
    pub releases: u64,
    /// Latencies of the 201 holds.
    pub hold: Histogram<u64>,
    /// Latencies of the 201 confirmations.
    pub confirm: Histogram<u64>,
    /// From sending a hold to the 201 of its confirmation.
    pub checkout: Histogram<u64>,
}

impl Steps {
    fn new() -> anyhow::Result<Self> {
        Ok(Self {
            holds: 0,
            releases: 0,
            hold: histogram()?,
            confirm: histogram()?,
            checkout: histogram()?,
        })
    }

    fn merge(&mut self, other: Steps) -> anyhow::Result<()> {
        self.holds += other.holds;
        self.releases += other.releases;
        for (mine, theirs) in [
            (&mut self.hold, &other.hold),
            (&mut self.confirm, &other.confirm),
            (&mut self.checkout, &other.checkout),
        ] {
            mine.add(theirs).context("cannot merge latencies")?;
        }
        Ok(())
    }
}

/// What one workload measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// From the first request sent to the last answer received.
    pub elapsed: Duration,
    /// Every request; a checkout's hold, confirmation and release each count.
    pub requests: u64,
    /// 201 for bookings, 200 otherwise; for checkouts, completed checkouts (a 201 hold
    /// followed by a 201 confirmation).
    pub successes: u64,
    /// Seats booked by the successful requests (= rows the service says it wrote); for
    /// checkouts, the bookings the confirmations answered with.
    pub seats_booked: u64,
    /// 409 answers to booking requests; for checkouts, 409 `seat_taken` to holds.
    pub conflicts: u64,
    /// Anything else: other statuses and socket errors.
    pub errors: u64,
    pub statuses: BTreeMap<u16, u64>,
    pub socket_errors: u64,
    pub first_error: Option<String>,
    pub latency: Histogram<u64>,
    pub conflict_latency: Histogram<u64>,
    /// Checkouts only.
    pub steps: Option<Steps>,
}

impl Outcome {
    fn new() -> anyhow::Result<Self> {
        Ok(Self {
            elapsed: Duration::ZERO,
            requests: 0,
            successes: 0,
            seats_booked: 0,
            conflicts: 0,
            errors: 0,
            statuses: BTreeMap::new(),
            socket_errors: 0,
            first_error: None,
            latency: histogram()?,
            conflict_latency: histogram()?,
            steps: None,
        })
    }

    fn merge(&mut self, other: Outcome) -> anyhow::Result<()> {
        self.requests += other.requests;
        self.successes += other.successes;
        self.seats_booked += other.seats_booked;
        self.conflicts += other.conflicts;
        self.errors += other.errors;
        self.socket_errors += other.socket_errors;
        for (status, count) in other.statuses {
            *self.statuses.entry(status).or_default() += count;
        }
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.latency
            .add(&other.latency)
            .context("cannot merge latencies")?;
        self.conflict_latency
            .add(&other.conflict_latency)
            .context("cannot merge latencies")?;
        match (&mut self.steps, other.steps) {
            (Some(mine), Some(theirs)) => mine.merge(theirs)?,
            (mine @ None, theirs) => *mine = theirs,
            (Some(_), None) => {}
        }
        Ok(())
    }

    pub fn per_second(&self, count: u64) -> f64 {
        count as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn error(&mut self, message: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(message);
        }
    }

    /// Counts a request and its answer's status; a socket error counts as an error.
    fn answered(&mut self, answer: &Answer, micros: u64) {
        self.requests += 1;
        self.latency.saturating_record(micros);
        match answer {
            Ok((status, _)) => *self.statuses.entry(status.as_u16()).or_default() += 1,
            Err(message) => {
                self.socket_errors += 1;
                self.error(message.clone());
            }
        }
    }

    /// An answer that is not what the step expects.
    fn unexpected(&mut self, what: &str, status: StatusCode, body: &[u8]) {
        let text = String::from_utf8_lossy(body);
        self.error(format!(
            "{what}: HTTP {status}: {}",
            text.chars().take(300).collect::<String>()
        ));
    }
}

/// A status and body, or why none came.
type Answer = Result<(StatusCode, Vec<u8>), String>;

/// Sends a request and reads its whole answer; returns it with its latency in µs.
async fn send(request: RequestBuilder) -> (Answer, u64) {
    let sent = Instant::now();
    let answer = match request.send().await {
        Ok(response) => {
            let status = response.status();
            match response.bytes().await {
                Ok(body) => Ok((status, body.to_vec())),
                Err(error) => Err(format!("body cut short after {status}: {error}")),
            }
        }
        Err(error) => Err(format!("{error:?}")),
    };
    (answer, sent.elapsed().as_micros().max(1) as u64)
}

/// Runs `plan` on one connection per user for `duration`, and merges what they saw.
pub async fn run(
    client: &reqwest::Client,
    base: &str,
    plan: &Plan,
    users: &[User],
    duration: Duration,
    seed: u64,
) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for (index, user) in users.iter().enumerate() {
        let (client, base, plan, user) =
            (client.clone(), base.to_owned(), plan.clone(), user.clone());
        let rng = StdRng::seed_from_u64(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        tasks.spawn(connection(client, base, plan, user, deadline, rng));
    }
    let mut total = Outcome::new()?;
    while let Some(joined) = tasks.join_next().await {
        total.merge(joined.context("a load task panicked")??)?;
    }
    total.elapsed = started.elapsed();
    Ok(total)
}

/// One connection's loop.
async fn connection(
    client: reqwest::Client,
    base: String,
    plan: Plan,
    user: User,
    deadline: Instant,
    mut rng: StdRng,
) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::new()?;
    let bearer = format!("Bearer {}", user.token);
    let login_url = format!("{base}/api/login/");
    let login_body =
        serde_json::json!({"username": user.username, "password": user.password}).to_string();
    let (is_booking, expected) = match plan {
        Plan::Book { .. } => (true, StatusCode::CREATED),
        _ => (false, StatusCode::OK),
    };
    if let Plan::Checkout { shows, seats } = &plan {
        outcome.steps = Some(Steps::new()?);
        while Instant::now() < deadline {
            checkout(
                &client,
                &base,
                &bearer,
                shows,
                *seats,
                &mut rng,
                &mut outcome,
            )
            .await;
        }
        return Ok(outcome);
    }
    while Instant::now() < deadline {
        let mut seats_in_request = 0;
        let mut first_seat = 0;
        let request = match &plan {
            Plan::Book {
                shows, seats, run, ..
            } => {
                let show = shows[rng.gen_range(0..shows.len())];
                let len = rng.gen_range(run.clone()).clamp(1, *seats);
                let first = rng.gen_range(1..=*seats - len + 1);
                seats_in_request = len as u64;
                first_seat = first;
                let body = if run == &(1..=1) {
                    format!("{{\"seat_number\":{first}}}")
                } else {
                    let list: Vec<String> = (first..first + len).map(|s| s.to_string()).collect();
                    format!("{{\"seat_numbers\":[{}]}}", list.join(","))
                };
                client
                    .post(format!("{base}/api/shows/{show}/book/"))
                    .header(AUTHORIZATION, &bearer)
                    .header(CONTENT_TYPE, "application/json")
                    .body(body)
            }
            Plan::Checkout { .. } => unreachable!("checkouts have their own loop"),
            Plan::Get { path } => client
                .get(format!("{base}{path}"))
                .header(AUTHORIZATION, &bearer),
            Plan::Login => client
                .post(&login_url)
                .header(CONTENT_TYPE, "application/json")
                .body(login_body.clone()),
        };
        let sent = Instant::now();
        let answer = match request.send().await {
            Ok(response) => {
                let status = response.status();
                match response.bytes().await {
                    Ok(body) => Ok((status, body)),
                    Err(error) => Err(format!("body cut short after {status}: {error}")),
                }
            }
            Err(error) => Err(format!("{error:?}")),
        };
        let answered = Instant::now();
        let micros = answered.duration_since(sent).as_micros().max(1) as u64;
        outcome.requests += 1;
        outcome.latency.saturating_record(micros);
        match answer {
            Ok((status, body)) => {
                *outcome.statuses.entry(status.as_u16()).or_default() += 1;
                if status == expected {
                    outcome.successes += 1;
                    outcome.seats_booked += seats_in_request;
                    if let Plan::Book {
                        record: Some(times),
                        ..
                    } = &plan
                    {
                        times.booked(first_seat..first_seat + seats_in_request as i32, answered);
                    }
                } else if is_booking && status == StatusCode::CONFLICT {
                    outcome.conflicts += 1;
                    outcome.conflict_latency.saturating_record(micros);
                } else {
                    let text = String::from_utf8_lossy(&body);
                    outcome.error(format!(
                        "HTTP {status}: {}",
                        text.chars().take(300).collect::<String>()
                    ));
                }
            }
            Err(message) => {
                outcome.socket_errors += 1;
                outcome.error(message);
            }
        }
    }
    Ok(outcome)
}

/// One checkout: a hold of a random pair of adjacent seats, then its confirmation.
async fn checkout(
    client: &reqwest::Client,
    base: &str,
    bearer: &str,
    shows: &[i64],
    seats: i32,
    rng: &mut StdRng,
    outcome: &mut Outcome,
) {
    let show = shows[rng.gen_range(0..shows.len())];
    let first = rng.gen_range(1..seats.max(2));
    let started = Instant::now();
    let (answer, micros) = send(
        client
            .post(format!("{base}/api/shows/{show}/holds/"))
            .header(AUTHORIZATION, bearer)
            .header(CONTENT_TYPE, "application/json")
            .body(format!("{{\"seat_numbers\":[{first},{}]}}", first + 1)),
    )
    .await;
    outcome.answered(&answer, micros);
    let Ok((status, body)) = answer else { return };
    let hold = match status {
        StatusCode::CREATED => match serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|hold| hold["id"].as_i64())
        {
            Some(id) => id,
            None => return outcome.unexpected("hold without an id", status, &body),
        },
        StatusCode::CONFLICT if error_code(&body).as_deref() == Some("seat_taken") => {
            outcome.conflicts += 1;
            outcome.conflict_latency.saturating_record(micros);
            return;
        }
        _ => return outcome.unexpected("hold", status, &body),
    };
    if let Some(steps) = &mut outcome.steps {
        steps.holds += 1;
        steps.hold.saturating_record(micros);
    }
    let key = format!("{:032x}", rng.gen::<u128>());
    let (answer, micros) = send(
        client
            .post(format!("{base}/api/holds/{hold}/confirm/"))
            .header(AUTHORIZATION, bearer)
            .header("Idempotency-Key", key),
    )
    .await;
    outcome.answered(&answer, micros);
    let booked = match &answer {
        Ok((StatusCode::CREATED, body)) => serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|answer| answer["bookings"].as_array().map(Vec::len)),
        _ => None,
    };
    match (booked, &answer) {
        (Some(booked), _) => {
            outcome.successes += 1;
            outcome.seats_booked += booked as u64;
            if let Some(steps) = &mut outcome.steps {
                steps.confirm.saturating_record(micros);
                steps
                    .checkout
                    .saturating_record(started.elapsed().as_micros().max(1) as u64);
            }
        }
        (None, Ok((status, body))) => {
            outcome.unexpected("confirm", *status, body);
            release(client, base, bearer, hold, outcome).await;
        }
        // A socket error was counted; the hold may or may not be confirmed.
        (None, Err(_)) => release(client, base, bearer, hold, outcome).await,
    }
}

/// Gives a hold's seats back after a failed confirmation (best effort: a 409 means it
/// was confirmed or released after all, which the database check then sees).
async fn release(
    client: &reqwest::Client,
    base: &str,
    bearer: &str,
    hold: i64,
    outcome: &mut Outcome,
) {
    let (answer, micros) = send(
        client
            .delete(format!("{base}/api/holds/{hold}/"))
            .header(AUTHORIZATION, bearer),
    )
    .await;
    outcome.answered(&answer, micros);
    if let Some(steps) = &mut outcome.steps {
        steps.releases += 1;
    }
}

/// The `code` of an error answer.
fn error_code(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()?
        .get("code")?
        .as_str()
        .map(str::to_owned)
}
