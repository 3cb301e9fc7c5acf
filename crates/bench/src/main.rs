//! `bench`: measures a release-built movie-booking server from the outside. For each
//! backend it creates a throw-away database, migrates it, starts the server (timing it
//! to ready), prepares its data through the HTTP API, runs each workload with a fixed
//! number of keep-alive connections for a fixed time, checks the database after every
//! booking and checkout workload, and prints one Markdown table. `make bench` runs it;
//! the method and the measured figures are in docs/BENCHMARKS.md.
//!
//! This file is the run itself, kept as one piece so it reads top to bottom in the order
//! it runs: the command line, one backend's set-up, the workloads, their ceilings and the
//! checks after them. The parts it calls each have their own module.

mod api;
mod ceiling;
mod cpu;
mod db;
mod live;
mod load;
mod report;
mod server;
mod sse;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Parser, ValueEnum};
use rand::Rng;

use crate::api::{Api, User};
use crate::ceiling::{PgbenchJob, ShowLock, Target};
use crate::db::{Backend, Checker, Store};
use crate::live::{SeatTimes, Subscribers};
use crate::load::{Outcome, Plan};
use crate::report::{Check, Live, Memory, Report, Row};
use crate::server::{RssSampler, Server, ServerConfig};

#[derive(Parser, Debug)]
// A flag given twice takes its last value, so that `BENCH_ARGS` can override the
// flags `make bench-smoke` passes.
#[command(
    name = "bench",
    about = "Load-test a release-built movie-booking server on PostgreSQL and SQLite",
    args_override_self = true
)]
struct Args {
    /// Concurrent keep-alive connections, each with its own user.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Seconds each workload (and each pgbench ceiling) runs.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Backends to measure, in order.
    #[arg(long, value_delimiter = ',', default_value = "postgres,sqlite")]
    backends: Vec<Backend>,
    /// Workloads to run, in order.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "hot,storm,spread,multi,checkout,live,read,login"
    )]
    workloads: Vec<Workload>,
    /// Seat streams the live workload holds open on its show.
    #[arg(long, default_value_t = 1000)]
    streams: usize,
    /// A PostgreSQL URL allowed to create and drop databases; the bench's own database
    /// lives on the same server.
    #[arg(
        long,
        env = "BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    postgres_url: String,
    /// The service's binary [default: `movie-booking` beside this one].
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// The service's database pool (`database.pool_size`); pgbench uses as many connections.
    #[arg(long, default_value_t = 16)]
    pool_size: usize,
    /// PostgreSQL's pgbench, for the ceiling of the booking SQL.
    #[arg(long, default_value = "pgbench")]
    pgbench: String,
    /// Skip the pgbench ceiling.
    #[arg(long)]
    no_ceiling: bool,
    /// Also write the Markdown report to this file.
    #[arg(long)]
    output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Workload {
    /// One show of 10,000 seats; each request books a random seat.
    Hot,
    /// Every request wants one of the 16 seats of one show.
    Storm,
    /// 100 shows of 1,000 seats; random show, random seat.
    Spread,
    /// Runs of 2 to 6 adjacent seats of a 10,000-seat show, via `seat_numbers`.
    Multi,
    /// Hold two adjacent seats (random show, random pair), then confirm the hold with an
    /// Idempotency-Key; shows enough that a run fills them a quarter at most.
    Checkout,
    /// `hot` on a show of its own; then `--streams` seat streams opened on another show
    /// and `hot` booking that one: each event's delay from its booking's 201 to every
    /// subscriber, the server's memory with the streams open, and `hot` with them
    /// against `hot` without.
    Live,
    /// GET /health/ (the HTTP floor); then the 50-show list, a 1,000-seat seat map and
    /// the seat map of a 1,000-seat layout, one after the other, with every seat of
    /// those shows free, then again with every seat booked.
    Read,
    /// POST /api/login/: argon2id verification.
    Login,
}

/// The staff account the bench creates with `movie-booking create-admin`.
const ADMIN: &str = "bench-admin";
/// Access tokens live 15 minutes by default; older ones are renewed before a workload.
const TOKEN_REFRESH_AFTER: Duration = Duration::from_secs(600);
/// The seats of each checkout show, and the most a show can have.
const CHECKOUT_SHOW_SEATS: i32 = 10_000;
/// The seats of the live workload's shows: `hot`'s.
const LIVE_SHOW_SEATS: i32 = 10_000;
/// How long after the bookers stop the last events may take to arrive; the contract
/// says a second.
const LIVE_GRACE: Duration = Duration::from_secs(5);
/// File descriptors a process needs besides one per connection and stream.
const SPARE_FILES: u64 = 256;

/// How many 10,000-seat shows a checkout run (the service's, or its ceiling's) spreads
/// over: at 10,000 seats booked a second, a run of `duration` fills them a quarter, so
/// random pairs stay mostly free (a pair's chance of a taken seat is about twice the
/// share taken) and the ceiling, which takes pairs in order, never runs out.
fn checkout_shows(duration: Duration) -> usize {
    let seats = duration.as_secs_f64() * 10_000.0 / 0.25;
    ((seats / f64::from(CHECKOUT_SHOW_SEATS)).ceil() as usize).max(2)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("bench: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run_interruptible(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("bench: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs the bench; on Ctrl-C, stops the server and drops the PostgreSQL database first.
async fn run_interruptible(args: Args) -> anyhow::Result<bool> {
    let run_id: u32 = rand::thread_rng().gen();
    let db_name = format!("mb_bench_{run_id:08x}");
    let postgres_url = args.postgres_url.clone();
    tokio::select! {
        result = run(args, &db_name) => result,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("bench: interrupted; cleaning up");
            // The run's future is dropped here: the server is killed, temp files go.
            db::drop_database(&postgres_url, &db_name).await.ok();
            Ok(false)
        }
    }
}

/// Everything one backend's measurement needs besides the arguments.
struct Run<'a> {
    args: &'a Args,
    backend: Backend,
    scratch: &'a Path,
    admin_password: String,
}

async fn run(args: Args, db_name: &str) -> anyhow::Result<bool> {
    anyhow::ensure!(args.connections > 0, "--connections must be at least 1");
    anyhow::ensure!(
        args.duration > 0.0 && args.duration.is_finite(),
        "--duration must be a positive number of seconds"
    );
    if args.workloads.contains(&Workload::Live) {
        anyhow::ensure!(args.streams > 0, "--streams must be at least 1");
        // The server inherits the limit: it holds as many sockets as the bench.
        raise_open_files((args.streams + args.connections) as u64 + SPARE_FILES)?;
    }
    let server_bin = match &args.server_bin {
        Some(bin) => bin.clone(),
        None => std::env::current_exe()
            .context("cannot locate the bench binary")?
            .with_file_name("movie-booking"),
    };
    anyhow::ensure!(
        server_bin.is_file(),
        "no server binary at {} (build it: cargo build --release -p api-actix -p bench)",
        server_bin.display()
    );
    let scratch = tempfile::Builder::new()
        .prefix("mb_bench_run_")
        .tempdir()
        .context("cannot create a scratch folder")?;
    let mut report = Report::default();

    if args.workloads.contains(&Workload::Login) {
        let seconds = Duration::from_secs_f64(args.duration.min(3.0));
        eprintln!("bench: argon2id raw hashing for {seconds:?}");
        let measured =
            tokio::task::spawn_blocking(move || ceiling::argon2_hashes_per_second(seconds))
                .await
                .context("the argon2 measurement panicked")??;
        report.argon2 = Some(measured);
    }

    for &backend in &args.backends {
        let ctx = Run {
            args: &args,
            backend,
            scratch: scratch.path(),
            admin_password: format!("Bench-{db_name}-pass"),
        };
        let server = ServerConfig {
            bin: server_bin.clone(),
            database_url: String::new(),
            pool_size: args.pool_size,
            log_path: scratch.path().join(format!("server-{backend}.log")),
        };
        eprintln!("bench: {backend}: creating the database");
        let store = match Store::create(backend, &args.postgres_url, db_name).await {
            Ok(store) => store,
            Err(error) => {
                report.failures.push(format!("{backend}: {error:#}"));
                continue;
            }
        };
        let server = ServerConfig {
            database_url: store.url(),
            ..server
        };
        if let Err(error) = measure_backend(&ctx, &server, &store, &mut report).await {
            report.failures.push(format!("{backend}: {error:#}"));
        }
        if let Err(error) = store.remove().await {
            report
                .failures
                .push(format!("{backend}: cleanup: {error:#}"));
        }
    }

    let duration = Duration::from_secs_f64(args.duration);
    let markdown = report.markdown(args.connections, duration, args.pool_size);
    println!("{markdown}");
    if let Some(path) = &args.output {
        std::fs::write(path, &markdown)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    for failure in &report.failures {
        eprintln!("bench: FAILED: {failure}");
    }
    Ok(report.failures.is_empty())
}

/// Migrates, creates the staff account, starts the server and runs the workloads.
async fn measure_backend(
    ctx: &Run<'_>,
    config: &ServerConfig,
    store: &Store,
    report: &mut Report,
) -> anyhow::Result<()> {
    let backend = ctx.backend;
    config.run_once(&["migrate"], &[]).await?;
    config
        .run_once(
            &["create-admin", "--username", ADMIN],
            &[("MOVIE_BOOKING_ADMIN_PASSWORD", &ctx.admin_password)],
        )
        .await?;
    let server = config.start(server::free_port()?).await?;
    eprintln!(
        "bench: {backend}: ready {} ms after start",
        server.ready.as_millis()
    );
    let result = run_workloads(ctx, &server, store, report).await;
    let log_tail = server.log_tail();
    server.stop().await?;
    result
        .map_err(|error| anyhow::anyhow!("{error:#}\n--- end of the server's log ---\n{log_tail}"))
}

/// Creates shows through the staff API, each starting a minute after the last.
struct Shows {
    api: Api,
    staff: String,
    movie: i64,
    created: usize,
}

impl Shows {
    /// `count` shows of `seats` seats, one after the other.
    async fn create_many(
        &mut self,
        first_start: DateTime<Utc>,
        seats: i32,
        count: usize,
    ) -> anyhow::Result<Vec<i64>> {
        let mut ids = Vec::with_capacity(count);
        for _ in 0..count {
            ids.push(self.create(first_start, seats).await?);
        }
        Ok(ids)
    }

    async fn create(&mut self, first_start: DateTime<Utc>, seats: i32) -> anyhow::Result<i64> {
        self.created += 1;
        let start = first_start + chrono::Duration::minutes(self.created as i64);
        let screen = format!("Screen {}", self.created % 12 + 1);
        self.api
            .create_show(&self.staff, self.movie, &screen, start, seats)
            .await
    }

    /// A show on `screen`, standard seats at 1,250 and premium ones at 1,800.
    async fn create_on(&mut self, first_start: DateTime<Utc>, screen: i64) -> anyhow::Result<i64> {
        self.created += 1;
        let start = first_start + chrono::Duration::minutes(self.created as i64);
        let prices = serde_json::json!({"standard": 1250, "premium": 1800});
        self.api
            .create_show_on_screen(&self.staff, self.movie, screen, start, prices)
            .await
    }
}

async fn run_workloads(
    ctx: &Run<'_>,
    server: &Server,
    store: &Store,
    report: &mut Report,
) -> anyhow::Result<()> {
    let args = ctx.args;
    let backend = ctx.backend;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .pool_idle_timeout(None)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()
        .context("cannot build the HTTP client")?;
    let ready_rss = server.peak_rss_kib().ok();
    let api = Api::new(client.clone(), &server.base);
    let staff = api.login(ADMIN, &ctx.admin_password).await?;
    let movie = api.create_movie(&staff, "The Benchmark").await?;
    // Booking shows start in a month; the read workload's in a week, so that they are
    // the first page of GET /api/shows/.
    let later = Utc::now() + chrono::Duration::days(30);
    let sooner = Utc::now() + chrono::Duration::days(7);
    let mut shows = Shows {
        api: api.clone(),
        staff,
        movie,
        created: 0,
    };
    eprintln!("bench: {backend}: signing up {} users", args.connections);
    let mut users = create_users(&api, args.connections).await?;
    let mut logged_in = Instant::now();
    report.memory.push(Memory {
        backend,
        at_ready_kib: ready_rss,
        after_setup_kib: server.peak_rss_kib().ok(),
        users: users.len(),
    });
    let checker = store.checker().await?;

    for &workload in &args.workloads {
        if logged_in.elapsed() > TOKEN_REFRESH_AFTER {
            for user in &mut users {
                user.token = api.login(&user.username, &user.password).await?;
            }
            logged_in = Instant::now();
        }
        let book = |shows: Vec<i64>, seats: i32, run: std::ops::RangeInclusive<i32>| Plan::Book {
            shows: Arc::from(shows),
            seats,
            run,
            record: None,
        };
        match workload {
            Workload::Hot => {
                if backend == Backend::Postgres && !args.no_ceiling {
                    run_ceilings(ctx, store, &mut shows, later, &users, &checker, report).await?;
                }
                let show = shows.create(later, 10_000).await?;
                let plan = book(vec![show], 10_000, 1..=1);
                measure(
                    ctx, server, &client, &plan, &users, &checker, report, "hot", None,
                )
                .await?;
            }
            Workload::Storm => {
                let show = shows.create(later, 16).await?;
                let plan = book(vec![show], 16, 1..=1);
                measure(
                    ctx,
                    server,
                    &client,
                    &plan,
                    &users,
                    &checker,
                    report,
                    "storm",
                    Some(16),
                )
                .await?;
            }
            Workload::Spread => {
                let ids = shows.create_many(later, 1_000, 100).await?;
                let plan = book(ids, 1_000, 1..=1);
                measure(
                    ctx, server, &client, &plan, &users, &checker, report, "spread", None,
                )
                .await?;
            }
            Workload::Multi => {
                let show = shows.create(later, 10_000).await?;
                let plan = book(vec![show], 10_000, 2..=6);
                measure(
                    ctx, server, &client, &plan, &users, &checker, report, "multi", None,
                )
                .await?;
            }
            Workload::Checkout => {
                let count = checkout_shows(Duration::from_secs_f64(args.duration));
                if backend == Backend::Postgres && !args.no_ceiling {
                    run_checkout_ceiling(ctx, store, &api, &mut shows, later, &checker, report)
                        .await?;
                }
                let ids = shows.create_many(later, CHECKOUT_SHOW_SEATS, count).await?;
                let plan = Plan::Checkout {
                    shows: Arc::from(ids),
                    seats: CHECKOUT_SHOW_SEATS,
                };
                measure(
                    ctx, server, &client, &plan, &users, &checker, report, "checkout", None,
                )
                .await?;
            }
            Workload::Live => {
                measure_live(
                    ctx, server, &client, &mut shows, later, &users, &checker, report,
                )
                .await?;
            }
            Workload::Read => {
                let reads = prepare_reads(&api, &mut shows, sooner).await?;
                let health = Plan::Get {
                    path: "/health/".into(),
                };
                measure(
                    ctx,
                    server,
                    &client,
                    &health,
                    &users,
                    &checker,
                    report,
                    "read: /health/",
                    None,
                )
                .await?;
                measure_reads(
                    ctx, server, &client, &reads, &users, &checker, report, "empty",
                )
                .await?;
                sell_out(&api, &shows.staff, &reads, &users, &checker).await?;
                measure_reads(
                    ctx, server, &client, &reads, &users, &checker, report, "sold out",
                )
                .await?;
            }
            Workload::Login => {
                measure(
                    ctx,
                    server,
                    &client,
                    &Plan::Login,
                    &users,
                    &checker,
                    report,
                    "login",
                    None,
                )
                .await?;
            }
        }
    }
    Ok(())
}

/// One user per connection, signed up and logged in through the API, in id order.
async fn create_users(api: &Api, count: usize) -> anyhow::Result<Vec<User>> {
    let mut users = per_core(count, |i| {
        let api = api.clone();
        async move {
            api.new_user(format!("bench-user-{i}"), format!("bench-pass-{i}-x"))
                .await
        }
    })
    .await?;
    users.sort_by_key(|u| u.id);
    Ok(users)
}

/// The ids of `count` users signed up (not logged in) for the checkout ceiling, sorted.
async fn ceiling_users(api: &Api, count: usize) -> anyhow::Result<Vec<i64>> {
    let mut ids = per_core(count, |i| {
        let api = api.clone();
        async move {
            api.signup(&format!("bench-ceiling-{i}"), &format!("bench-pass-{i}-x"))
                .await
        }
    })
    .await?;
    ids.sort_unstable();
    Ok(ids)
}

/// Raises the soft limit of open files to at least `needed` (up to the hard limit);
/// many systems start processes at 1,024.
fn raise_open_files(needed: u64) -> anyhow::Result<()> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current.is_none_or(|current| current >= needed) {
        return Ok(());
    }
    anyhow::ensure!(
        limit.maximum.is_none_or(|maximum| maximum >= needed),
        "{needed} open files needed (streams and connections), but the hard limit is {:?}; \
         lower --streams or raise it (ulimit -Hn)",
        limit.maximum
    );
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(needed),
            maximum: limit.maximum,
        },
    )
    .context("cannot raise the open-file limit")
}

/// Runs `task(0..count)`, as many at a time as there are cores: signing up and logging
/// in hash passwords, which is CPU-bound, and each hash in flight holds 19 MiB of the
/// server's memory, which would otherwise show in every row's peak RSS.
async fn per_core<T, F, Fut>(count: usize, task: F) -> anyhow::Result<Vec<T>>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>> + Send + 'static,
{
    let mut tasks = tokio::task::JoinSet::new();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let limit = Arc::new(tokio::sync::Semaphore::new(cores));
    for i in 0..count {
        let (limit, run) = (limit.clone(), task(i));
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await?;
            run.await
        });
    }
    let mut done = Vec::with_capacity(count);
    while let Some(joined) = tasks.join_next().await {
        done.push(joined.context("a signup task panicked")??);
    }
    Ok(done)
}

/// 25 rows A to Y of 40 seats, 1,000 in all: aisles after places 10 and 30, four
/// wheelchair places in row A, rows P to R premium, two blocked places in row M (M20
/// and M22), which stay unbooked when the show is sold out.
fn layout_1000() -> serde_json::Value {
    ('A'..='Y')
        .map(|label| {
            let category = if ('P'..='R').contains(&label) {
                "premium"
            } else {
                "standard"
            };
            let wheelchair: &[i64] = if label == 'A' { &[1, 2, 39, 40] } else { &[] };
            let blocked: &[i64] = if label == 'M' { &[20, 22] } else { &[] };
            serde_json::json!({
                "label": label.to_string(), "count": 40, "category": category,
                "aisles_after": [10, 30], "wheelchair": wheelchair, "blocked": blocked,
            })
        })
        .collect()
}

/// The shows the read workload reads: 50 flat shows of 1,000 seats (the first page of
/// the list) and one show on a 1,000-seat layout.
struct ReadShows {
    listed: Vec<i64>,
    layout: i64,
}

impl ReadShows {
    fn all(&self) -> Vec<i64> {
        self.listed.iter().copied().chain([self.layout]).collect()
    }
}

/// 50 flat shows of 1,000 seats and one show on a 1,000-seat layout, none booked.
async fn prepare_reads(
    api: &Api,
    shows: &mut Shows,
    first_start: DateTime<Utc>,
) -> anyhow::Result<ReadShows> {
    let listed = shows.create_many(first_start, 1_000, 50).await?;
    let screen = api
        .create_screen(&shows.staff, "Bench 1000", layout_1000())
        .await?;
    // A month later than the listed ones: not on the list's first page.
    let layout = shows
        .create_on(first_start + chrono::Duration::days(30), screen)
        .await?;
    Ok(ReadShows { listed, layout })
}

/// The list, the first flat show's seat map and the layout show's, one after the other,
/// each for the full duration; `state` ("empty", "sold out") names the rows.
#[allow(clippy::too_many_arguments)]
async fn measure_reads(
    ctx: &Run<'_>,
    server: &Server,
    client: &reqwest::Client,
    reads: &ReadShows,
    users: &[User],
    checker: &Checker,
    report: &mut Report,
    state: &str,
) -> anyhow::Result<()> {
    let first = reads.listed.first().context("no show was created")?;
    let plans = [
        ("read: 50-show list", "/api/shows/?limit=50".to_owned()),
        ("read: seat map", format!("/api/shows/{first}/seats/")),
        (
            "read: layout seat map",
            format!("/api/shows/{}/seats/", reads.layout),
        ),
    ];
    for (name, path) in plans {
        let name = format!("{name}, {state}");
        let plan = Plan::Get { path };
        measure(
            ctx, server, client, &plan, users, checker, report, &name, None,
        )
        .await?;
    }
    Ok(())
}

/// Books every free seat of the read shows through the API, 10 adjacent seats a request
/// from the users in turn, then makes sure they are sold out: in the database, and in
/// the service's list and seat maps (which show others' changes within a second).
async fn sell_out(
    api: &Api,
    staff: &str,
    reads: &ReadShows,
    users: &[User],
    checker: &Checker,
) -> anyhow::Result<()> {
    let mut requests = Vec::new();
    let mut seats_total = 0;
    for show in reads.all() {
        // Free seats as the map says, so the layout's blocked seats are left out.
        let map = api.get(staff, &format!("/api/shows/{show}/seats/")).await?;
        let free: Vec<i32> = map
            .as_array()
            .context("the seat map is not a list")?
            .iter()
            .filter(|seat| seat["status"] == "available")
            .filter_map(|seat| seat["seat_number"].as_i64())
            .map(|n| n as i32)
            .collect();
        seats_total += free.len();
        requests.extend(free.chunks(10).map(|chunk| (show, chunk.to_vec())));
    }
    eprintln!(
        "bench: selling out the read shows: {seats_total} seats in {} requests",
        requests.len()
    );
    let mut tasks = tokio::task::JoinSet::new();
    let limit = Arc::new(tokio::sync::Semaphore::new(users.len().clamp(1, 32)));
    for (n, (show, seats)) in requests.into_iter().enumerate() {
        let (api, limit) = (api.clone(), limit.clone());
        let token = users[n % users.len()].token.clone();
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await?;
            api.book(&token, show, &seats).await
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.context("a booking task panicked")??;
    }
    let all = reads.all();
    let confirmed = checker.confirmed(&all).await?;
    anyhow::ensure!(
        confirmed == seats_total as i64,
        "selling out: {seats_total} seats booked but {confirmed} confirmed in the database"
    );
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        match still_free(api, staff, reads).await? {
            None => return Ok(()),
            Some(problem) if Instant::now() > deadline => {
                anyhow::bail!("the read shows are not sold out: {problem}")
            }
            Some(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// What the service still shows as free on the read shows, if anything: the list must
/// be exactly the 50 listed shows, each with no available seat, and no seat map may
/// have a seat that is neither booked nor blocked.
async fn still_free(api: &Api, staff: &str, reads: &ReadShows) -> anyhow::Result<Option<String>> {
    let list = api.get(staff, "/api/shows/?limit=50").await?;
    let list = list.as_array().context("the show list is not a list")?;
    let ids: Vec<i64> = list.iter().filter_map(|show| show["id"].as_i64()).collect();
    if ids != reads.listed {
        return Ok(Some(format!(
            "the list's first page is {ids:?}, not the read shows"
        )));
    }
    if let Some(show) = list.iter().find(|show| show["available_seats"] != 0) {
        return Ok(Some(format!(
            "show {} lists {} available seats",
            show["id"], show["available_seats"]
        )));
    }
    for show in reads.all() {
        let map = api.get(staff, &format!("/api/shows/{show}/seats/")).await?;
        let map = map.as_array().context("the seat map is not a list")?;
        let open = map
            .iter()
            .filter(|seat| seat["status"] != "booked" && seat["status"] != "blocked")
            .count();
        if open > 0 {
            return Ok(Some(format!(
                "show {show}'s seat map has {open} seats neither booked nor blocked"
            )));
        }
    }
    Ok(None)
}

/// The live workload: `hot` without streams on a show of its own, then `--streams`
/// subscribers on a second show (all with their snapshot before any booking) and `hot`
/// booking that show, each 201's seats and time recorded; then every subscriber must
/// have received every booked seat. The server's VmRSS is read before the streams
/// open, once they are open, and at its peak while `hot` runs with them.
#[allow(clippy::too_many_arguments)]
async fn measure_live(
    ctx: &Run<'_>,
    server: &Server,
    client: &reqwest::Client,
    shows: &mut Shows,
    first_start: DateTime<Utc>,
    users: &[User],
    checker: &Checker,
    report: &mut Report,
) -> anyhow::Result<()> {
    let backend = ctx.backend;
    let streams = ctx.args.streams;
    let hot = |show: i64, record: Option<Arc<SeatTimes>>| Plan::Book {
        shows: Arc::from(vec![show]),
        seats: LIVE_SHOW_SEATS,
        run: 1..=1,
        record,
    };
    let baseline_name = "live: hot, no streams";
    let baseline = hot(shows.create(first_start, LIVE_SHOW_SEATS).await?, None);
    measure(
        ctx,
        server,
        client,
        &baseline,
        users,
        checker,
        report,
        baseline_name,
        None,
    )
    .await?;

    let show = shows.create(first_start, LIVE_SHOW_SEATS).await?;
    let times = Arc::new(SeatTimes::new(LIVE_SHOW_SEATS));
    let rss_before_kib = server.rss_kib().ok();
    eprintln!("bench: {backend}: opening {streams} seat streams on show {show}");
    let tokens: Vec<String> = users.iter().map(|user| user.token.clone()).collect();
    let subscribers = match Subscribers::connect(
        server.base.trim_start_matches("http://"),
        &format!("/api/shows/{show}/seats/stream/"),
        &tokens,
        streams,
        LIVE_SHOW_SEATS as usize,
        times.clone(),
    )
    .await
    {
        Ok(subscribers) => subscribers,
        Err(error) => {
            report.failures.push(format!("{backend} live: {error:#}"));
            return Ok(());
        }
    };
    eprintln!(
        "bench: {backend}: {streams} streams open in {:?}",
        subscribers.connected_in
    );
    let rss_open_kib = server.rss_kib().ok();
    let sampler = RssSampler::start(server.pid());
    let name = format!("live: hot, {} streams", report::count(streams as f64));
    let measured = measure(
        ctx,
        server,
        client,
        &hot(show, Some(times)),
        users,
        checker,
        report,
        &name,
        None,
    )
    .await;
    let rss_peak_kib = sampler.stop().await;
    measured?;
    let events = subscribers.finish(LIVE_GRACE).await?;
    if events.errors() > 0 {
        report.failures.push(format!(
            "{backend} live: {} missing events, {} unexpected, {} stream errors; first: {}",
            events.missing,
            events.unexpected,
            events.stream_errors,
            events.first_error.as_deref().unwrap_or("-")
        ));
    }
    report.live.push(Live {
        backend,
        events,
        rss_before_kib,
        rss_open_kib,
        rss_peak_kib,
        baseline: baseline_name.to_owned(),
        with_streams: name,
    });
    Ok(())
}

/// pgbench on fresh 10,000-seat shows: the seed's whole-show lock, then the service's
/// own SQL right before the service's `hot` run.
async fn run_ceilings(
    ctx: &Run<'_>,
    store: &Store,
    shows: &mut Shows,
    first_start: DateTime<Utc>,
    users: &[User],
    checker: &Checker,
    report: &mut Report,
) -> anyhow::Result<()> {
    let (first, last) = match (users.first(), users.last()) {
        (Some(first), Some(last)) => (first.id, last.id),
        _ => anyhow::bail!("no users"),
    };
    // Random users like the service's connections, if their ids leave no gap.
    let users_range = if last - first + 1 == users.len() as i64 {
        (first, last)
    } else {
        (first, first)
    };
    for lock in [ShowLock::Update, ShowLock::Share] {
        let show = shows.create(first_start, 10_000).await?;
        eprintln!(
            "bench: {}: pgbench ceiling, show row {}",
            ctx.backend,
            lock.sql()
        );
        let url = store.url();
        let run = ceiling::pgbench(PgbenchJob {
            bin: &ctx.args.pgbench,
            database_url: &url,
            dir: ctx.scratch,
            target: Target::Book {
                lock,
                show,
                seats: 10_000,
                users: users_range,
            },
            clients: ctx.args.pool_size,
            duration: Duration::from_secs_f64(ctx.args.duration),
        })
        .await?;
        let doubles = checker.double_booked(&[show]).await?;
        if doubles != 0 || run.failed != 0 {
            report.failures.push(format!(
                "pgbench {}: {} failed transactions, {doubles} double-booked seats",
                lock.sql(),
                run.failed
            ));
        }
        report.ceilings.push(run);
    }
    Ok(())
}

/// pgbench running the service's checkout SQL, right before the service's `checkout`
/// run: on shows of its own, and on users of its own (signed up here, one or more per
/// pgbench client) so that neither run's holds lengthen the other's per-user reads.
/// Afterwards every checkout pgbench counted must have left its two confirmed bookings.
async fn run_checkout_ceiling(
    ctx: &Run<'_>,
    store: &Store,
    api: &Api,
    shows: &mut Shows,
    first_start: DateTime<Utc>,
    checker: &Checker,
    report: &mut Report,
) -> anyhow::Result<()> {
    let args = ctx.args;
    let clients = args.pool_size;
    let count = checkout_shows(Duration::from_secs_f64(args.duration));
    let ids = shows
        .create_many(first_start, CHECKOUT_SHOW_SEATS, count)
        .await?;
    let users = ceiling_users(api, args.connections.max(clients)).await?;
    let consecutive = |ids: &[i64]| match (ids.first(), ids.last()) {
        (Some(&first), Some(&last)) => (last - first + 1 == ids.len() as i64).then_some(first),
        _ => None,
    };
    let (Some(first_show), Some(first_user)) = (consecutive(&ids), consecutive(&users)) else {
        anyhow::bail!("the checkout ceiling needs consecutive show and user ids");
    };
    eprintln!(
        "bench: {}: pgbench ceiling, checkout on {count} shows",
        ctx.backend
    );
    let url = store.url();
    let run = ceiling::pgbench(PgbenchJob {
        bin: &args.pgbench,
        database_url: &url,
        dir: ctx.scratch,
        target: Target::Checkout {
            first_show,
            shows: count,
            seats: CHECKOUT_SHOW_SEATS,
            first_user,
            users: users.len(),
        },
        clients,
        duration: Duration::from_secs_f64(args.duration),
    })
    .await?;
    let mut problems = Vec::new();
    if run.failed != 0 {
        problems.push(format!("{} failed transactions", run.failed));
    }
    let confirmed = checker.confirmed(&ids).await?;
    if confirmed != 2 * run.transactions as i64 {
        problems.push(format!(
            "{} checkouts but {confirmed} confirmed bookings (out of seats, or a hold refused)",
            run.transactions
        ));
    }
    problems.extend(check_seats(checker, &ids).await?);
    for problem in problems {
        report.failures.push(format!("pgbench checkout: {problem}"));
    }
    report.ceilings.push(run);
    Ok(())
}

/// Runs one workload, checks the database after booking workloads, and adds the row.
#[allow(clippy::too_many_arguments)]
async fn measure(
    ctx: &Run<'_>,
    server: &Server,
    client: &reqwest::Client,
    plan: &Plan,
    users: &[User],
    checker: &Checker,
    report: &mut Report,
    name: &str,
    exact_bookings: Option<i64>,
) -> anyhow::Result<()> {
    let backend = ctx.backend;
    let duration = Duration::from_secs_f64(ctx.args.duration);
    eprintln!("bench: {backend}: {name} for {duration:?}");
    let seed: u64 = rand::thread_rng().gen();
    let cpu_before = cpu::Snapshot::take(server.pid());
    let outcome = load::run(client, &server.base, plan, users, duration, seed).await?;
    let cpu = match (cpu_before, cpu::Snapshot::take(server.pid())) {
        (Ok(before), Ok(after)) => Some(after.split_since(&before)),
        _ => None,
    };
    let mut problems = Vec::new();
    if outcome.errors > 0 {
        problems.push(format!(
            "{} errors (answers by status: {:?}, socket errors: {}); first: {}",
            outcome.errors,
            outcome.statuses,
            outcome.socket_errors,
            outcome.first_error.as_deref().unwrap_or("?")
        ));
    }
    let check = match plan {
        Plan::Book { shows, .. } | Plan::Checkout { shows, .. } => {
            problems.extend(check_bookings(checker, shows, &outcome, exact_bookings).await?);
            if matches!(plan, Plan::Checkout { .. }) {
                problems.extend(check_holds(checker, shows, &outcome).await?);
            }
            if problems.is_empty() {
                Check::Passed
            } else {
                Check::Failed
            }
        }
        _ => Check::None,
    };
    for problem in problems {
        report.failures.push(format!("{backend} {name}: {problem}"));
    }
    let peak_rss_kib = server.peak_rss_kib().ok();
    report.rows.push(Row {
        backend,
        workload: name.to_owned(),
        booking: matches!(plan, Plan::Book { .. } | Plan::Checkout { .. }),
        outcome,
        peak_rss_kib,
        cpu,
        ready: server.ready,
        check,
    });
    Ok(())
}

/// What the service answered must be what it wrote: as many confirmed rows as seats
/// it answered 201 for, no seat confirmed twice, no seat outside the show.
async fn check_bookings(
    checker: &Checker,
    shows: &[i64],
    outcome: &Outcome,
    exact: Option<i64>,
) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    let confirmed = checker.confirmed(shows).await?;
    if confirmed != outcome.seats_booked as i64 {
        problems.push(format!(
            "the service answered 201 for {} seats ({} requests) but the database holds {confirmed} confirmed bookings",
            outcome.seats_booked, outcome.successes
        ));
    }
    problems.extend(check_seats(checker, shows).await?);
    if let Some(exact) = exact {
        if confirmed != exact {
            problems.push(format!(
                "expected exactly {exact} confirmed bookings, found {confirmed}"
            ));
        }
    }
    Ok(problems)
}

/// No seat confirmed twice or outside its show, and every confirmed booking's seat
/// claimed as booked, with no booked claim left without its booking.
async fn check_seats(checker: &Checker, shows: &[i64]) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    let doubles = checker.double_booked(shows).await?;
    if doubles != 0 {
        problems.push(format!("{doubles} seats hold two confirmed bookings"));
    }
    let outside = checker.out_of_range(shows).await?;
    if outside != 0 {
        problems.push(format!("{outside} bookings outside their show's seats"));
    }
    let unclaimed = checker.bookings_without_claim(shows).await?;
    if unclaimed != 0 {
        problems.push(format!(
            "{unclaimed} confirmed bookings whose seat has no booked claim"
        ));
    }
    let orphaned = checker.claims_without_booking(shows).await?;
    if orphaned != 0 {
        problems.push(format!(
            "{orphaned} seats claimed as booked without a confirmed booking"
        ));
    }
    Ok(problems)
}

/// Every checkout the service answered 201 for is a confirmed hold, and no hold was
/// left active (each 201 hold was confirmed, or released after an error).
async fn check_holds(
    checker: &Checker,
    shows: &[i64],
    outcome: &Outcome,
) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    let confirmed = checker.holds(shows, "CONFIRMED").await?;
    if confirmed != outcome.successes as i64 {
        problems.push(format!(
            "the service confirmed {} holds (201) but the database holds {confirmed} confirmed holds",
            outcome.successes
        ));
    }
    let active = checker.holds(shows, "ACTIVE").await?;
    if active != 0 {
        problems.push(format!("{active} holds left active"));
    }
    Ok(problems)
}
