//! The ceilings the service is measured against: `pgbench` running the service's own
//! booking and checkout transactions straight on PostgreSQL, and raw argon2id hashing
//! in-process.
//!
//! The scripts are the statements the service sends, as Diesel emits them (read from
//! PostgreSQL's `log_statement = all`), with pgbench variables for the bound values,
//! except for three kinds of value pgbench cannot build: arrays are `ARRAY[...]` of
//! their elements, a timestamp is `LOCALTIMESTAMP` (pgbench runs with `PGTZ=UTC`, as the
//! service keeps UTC), and strings that the service computes per request (a hold's
//! seats as JSON, an Idempotency-Key's hash, token and kept answer) are constants of
//! the same size, or for the key's hash a unique number.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::process::Command;

/// How the booking transaction locks the show row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShowLock {
    /// The service's `book_once`: bookings of one show share the lock.
    Share,
    /// The seed's variant: one booking of a show at a time.
    Update,
}

impl ShowLock {
    pub fn sql(self) -> &'static str {
        match self {
            Self::Share => "FOR SHARE",
            Self::Update => "FOR UPDATE",
        }
    }
}

/// Which transactions a pgbench run repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    /// `book_once` for one random seat, the show row locked this way.
    Book(ShowLock),
    /// A hold of two adjacent seats (`hold_once`), the Idempotency-Key's claim, and the
    /// hold's confirmation (`confirm_once`): one checkout per pgbench transaction.
    Checkout,
}

impl Script {
    fn file_name(self) -> &'static str {
        match self {
            Self::Book(ShowLock::Share) => "book_for_share.sql",
            Self::Book(ShowLock::Update) => "book_for_update.sql",
            Self::Checkout => "checkout.sql",
        }
    }

    pub fn text(self) -> String {
        match self {
            Self::Book(lock) => booking_script(lock),
            Self::Checkout => checkout_script(),
        }
    }
}

/// `show_for_share` / `show_for_update`.
fn show_lock_sql(lock: ShowLock) -> String {
    format!(
        r#"SELECT "shows"."id", "shows"."start_time", "shows"."total_seats", "shows"."screen_id", "shows"."currency" FROM "shows" WHERE ("shows"."id" = :show) LIMIT :one {}"#,
        lock.sql()
    )
}

/// `show_for_sale` (`ShowForSale`): the show row locked, with its prices. A flat show
/// has no screen, so `layout_of` reads nothing after it.
fn show_for_sale_sql(lock: ShowLock) -> String {
    format!(
        "SELECT id, start_time, total_seats, screen_id, currency, \
         ARRAY(SELECT category FROM show_prices WHERE show_id = shows.id ORDER BY category), \
         ARRAY(SELECT price FROM show_prices WHERE show_id = shows.id ORDER BY category) \
         FROM shows WHERE id = :show {}",
        lock.sql()
    )
}

/// `InsertFreeSeats` for the seats in these variables, each at price 0 with its number
/// as its label (a flat show's): the seats are claimed, then the claimed ones booked.
fn insert_free_seats_sql(seats: &[&str]) -> String {
    let list = |suffix: &str| -> String {
        let items: Vec<String> = seats.iter().map(|v| format!(":{v}::{suffix}")).collect();
        format!("ARRAY[{}]", items.join(", "))
    };
    let prices = format!("ARRAY[{}]", vec!["0"; seats.len()].join(", "));
    format!(
        "WITH claimed AS (INSERT INTO seat_claims (show_id, seat_number) SELECT :show, seat \
         FROM unnest({seats}) WITH ORDINALITY AS c(seat, n) ORDER BY n \
         ON CONFLICT (show_id, seat_number) DO UPDATE SET hold_id = NULL, expires_at = NULL \
         WHERE seat_claims.expires_at <= LOCALTIMESTAMP RETURNING seat_number) \
         INSERT INTO bookings (user_id, show_id, seat_number, status, booking_time, price, currency, seat_label) \
         SELECT :user, :show, seat, 'CONFIRMED', LOCALTIMESTAMP, price, :currency, label \
         FROM unnest({seats}, {prices}, {labels}) WITH ORDINALITY AS t(seat, price, label, n) \
         WHERE seat IN (SELECT seat_number FROM claimed) \
         ORDER BY n ON CONFLICT (show_id, seat_number) WHERE status = 'CONFIRMED' DO NOTHING \
         RETURNING id, user_id, show_id, seat_number, status, booking_time, cancelled_at, price, currency, seat_label",
        seats = list("int"),
        labels = list("text"),
    )
}

/// `book_once` on PostgreSQL for one random seat of a flat show, statement for statement
/// as the service sends it: BEGIN; lock the show row and read its prices; claim the seat
/// and insert its booking in one statement (`InsertFreeSeats` in infra-diesel's
/// sql/postgres.rs), unless a booking or an unexpired hold has it; COMMIT when a row
/// came back, ROLLBACK otherwise (the service rolls back a refused booking).
pub fn booking_script(lock: ShowLock) -> String {
    format!(
        r#"\set seat random(1, :seats)
\set user random(:umin, :umax)
\set id 0
BEGIN;
{show};
{insert} \aset
\if :id > 0
COMMIT;
\else
ROLLBACK;
\endif
"#,
        show = show_for_sale_sql(lock),
        insert = insert_free_seats_sql(&["seat"]),
    )
}

/// `HeldSeats`: the seats in the user's active holds, for the cap.
const HELD_SEATS_SQL: &str = "SELECT COALESCE(SUM(seat_count), 0)::int8 FROM holds \
     WHERE user_id = :user AND status = 'ACTIVE' AND expires_at > LOCALTIMESTAMP";

/// `InsertHold`: the hold of `:seat` and `:next` and the claims of its seats.
const INSERT_HOLD_SQL: &str = "WITH hold AS (INSERT INTO holds (user_id, show_id, status, \
     seat_count, seats, currency, created_at, expires_at, extensions) VALUES (:user, :show, \
     'ACTIVE', :seat_count, :held, :currency, LOCALTIMESTAMP, LOCALTIMESTAMP + :ttl::interval, \
     0) RETURNING id, user_id, show_id, status, seats, currency, created_at, expires_at, \
     extensions), claimed AS (INSERT INTO seat_claims (show_id, seat_number, hold_id, \
     expires_at) SELECT :show, seat, (SELECT id FROM hold), LOCALTIMESTAMP + :ttl::interval \
     FROM unnest(ARRAY[:seat::int, :next::int]) WITH ORDINALITY AS c(seat, n) ORDER BY n \
     ON CONFLICT (show_id, seat_number) DO UPDATE \
     SET hold_id = EXCLUDED.hold_id, expires_at = EXCLUDED.expires_at \
     WHERE seat_claims.expires_at <= LOCALTIMESTAMP RETURNING seat_number) \
     SELECT id, user_id, show_id, status, seats, currency, created_at, expires_at, \
     extensions, ARRAY(SELECT seat_number FROM claimed ORDER BY seat_number) FROM hold";

/// `ConfirmHold`: the claims made a booking's, the hold `CONFIRMED`, the bookings.
const CONFIRM_HOLD_SQL: &str = "WITH kept AS (UPDATE seat_claims SET expires_at = NULL \
     WHERE (show_id, seat_number) IN (SELECT show_id, seat_number FROM seat_claims \
     WHERE hold_id = :hold_id AND expires_at > LOCALTIMESTAMP ORDER BY seat_number FOR UPDATE) \
     RETURNING seat_number), ended AS (UPDATE holds SET status = 'CONFIRMED' \
     WHERE id = :hold_id RETURNING id) INSERT INTO bookings (user_id, show_id, seat_number, \
     status, booking_time, price, currency, seat_label) SELECT :user, :show, seat, \
     'CONFIRMED', LOCALTIMESTAMP, price, :currency, label \
     FROM unnest(ARRAY[:seat::int, :next::int], ARRAY[0, 0], ARRAY[:seat::text, :next::text]) \
     WITH ORDINALITY AS t(seat, price, label, n) \
     WHERE seat IN (SELECT seat_number FROM kept) AND EXISTS (SELECT 1 FROM ended) \
     ORDER BY n ON CONFLICT (show_id, seat_number) WHERE status = 'CONFIRMED' DO NOTHING \
     RETURNING id, user_id, show_id, seat_number, status, booking_time, cancelled_at, price, \
     currency, seat_label";

/// `StoreAnswer`: the answer kept in the key's row.
const STORE_ANSWER_SQL: &str = "WITH stored AS (UPDATE idempotency_keys SET status = \
     :answer_status, content_type = :content_type, body = :answer WHERE scope_hash = :scope \
     AND claim_token = :claim_token AND status IS NULL RETURNING 1) \
     SELECT count(*)::int4 FROM stored";

/// A hold's columns as `HoldRow` reads them.
const HOLD_COLUMNS: &str = r#""holds"."id", "holds"."user_id", "holds"."show_id", "holds"."status", "holds"."seats", "holds"."currency", "holds"."created_at", "holds"."expires_at", "holds"."extensions""#;

/// One checkout on PostgreSQL, statement for statement as the service runs
/// `POST /api/shows/{id}/holds/` with `seat_numbers` of two adjacent seats of a flat
/// show, then `POST /api/holds/{id}/confirm/` with an Idempotency-Key:
///
/// 1. `hold_once`: BEGIN; the show `FOR SHARE` with its prices; the user `FOR NO KEY
///    UPDATE`; the seats in the user's active holds (the cap, `HeldSeats`); the hold's
///    row and the claims of its seats in one statement (`InsertHold`); COMMIT. (The
///    pairs are disjoint, so every hold gets both seats: the service's refusal path,
///    a ROLLBACK, never runs.)
/// 2. The Idempotency-Key middleware's claim: BEGIN; its row; COMMIT.
/// 3. `confirm_once`: BEGIN; the hold `FOR UPDATE`; the show `FOR SHARE`; the claims
///    made permanent, the hold `CONFIRMED` and the bookings in one statement
///    (`ConfirmHold`); the answer kept in the key's row (`StoreAnswer`); COMMIT.
///
/// Each pgbench client is its own set of users, one hold at a time as the service's
/// connections are, and takes pairs no other client takes: the `p`-th checkout of the
/// run (`p` counts per client, interleaved across clients) takes seats `2q + 1` and
/// `2q + 2` of show `show0 + p % shows`, `q = p / shows`. Every checkout completes;
/// the run must end before `2q + 2` passes `seats` (checked by the caller's count of
/// confirmed bookings).
pub fn checkout_script() -> String {
    format!(
        r#"\set p :client_id + :clients * :k
\set user :umin + :client_id + :clients * (:k % :per)
\set k :k + 1
\set show :show0 + :p % :shows
\set seat 2 * (:p / :shows) + 1
\set next :seat + 1
\if :next <= :seats
BEGIN;
{for_sale};
SELECT "users"."id" FROM "users" WHERE ("users"."id" = :user) LIMIT :one FOR NO KEY UPDATE;
{HELD_SEATS_SQL};
{INSERT_HOLD_SQL} \gset hold_
COMMIT;
\set scope 1000000000000000000 + :hold_id
BEGIN;
INSERT INTO "idempotency_keys" ("scope_hash", "user_id", "method", "path", "idem_key", "fingerprint", "claim_token", "created_at", "status", "content_type", "body") VALUES (:scope, :user, :method, :path, :idem_key, :fingerprint, :claim_token, LOCALTIMESTAMP, DEFAULT, DEFAULT, DEFAULT) ON CONFLICT DO NOTHING;
COMMIT;
BEGIN;
SELECT {HOLD_COLUMNS} FROM "holds" WHERE ("holds"."id" = :hold_id) LIMIT :one FOR UPDATE;
{show_share};
{CONFIRM_HOLD_SQL};
{STORE_ANSWER_SQL};
COMMIT;
\endif
"#,
        for_sale = show_for_sale_sql(ShowLock::Share),
        show_share = show_lock_sql(ShowLock::Share),
    )
}

/// The values the service binds that are the same in every transaction, or of a size
/// that matters more than their content.
fn constant_defines() -> Vec<(&'static str, String)> {
    // Two bookings as the confirm answers them: the body the key's row keeps.
    let booking = |id: u32, seat: u32| {
        format!(
            r#"{{"id":{id},"user":"bench-user-10","show":123,"seat_number":{seat},"status":"CONFIRMED","booking_time":"2026-01-01T20:00:00.123456Z","cancelled_at":null,"seat_label":"{seat}","price":0,"currency":"EUR"}}"#
        )
    };
    let answer = format!(
        r#"{{"bookings":[{},{}]}}"#,
        booking(100_001, 1_235),
        booking(100_002, 1_236)
    );
    let hex = |bytes: &[u8]| -> String {
        let mut out = String::from("\\x");
        for b in bytes {
            let _ = write!(out, "{b:02x}");
        }
        out
    };
    let seat =
        |n: u32| format!(r#"{{"seat_number":{n},"label":"{n}","category":"standard","price":0}}"#);
    vec![
        ("one", "1".into()),
        ("currency", "EUR".into()),
        ("active", "ACTIVE".into()),
        ("confirmed", "CONFIRMED".into()),
        ("seat_count", "2".into()),
        ("extensions", "0".into()),
        // booking.hold_ttl_seconds' default.
        ("ttl", "600 seconds".into()),
        ("held", format!("[{},{}]", seat(1_235), seat(1_236))),
        ("method", "POST".into()),
        ("path", "/api/holds/100001/confirm/".into()),
        ("idem_key", "0123456789abcdef0123456789abcdef".into()),
        // SHA-256 of the empty body, the fingerprint of every confirm.
        (
            "fingerprint",
            "\\xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into(),
        ),
        ("claim_token", "b7406c8292374e838bbece122ee113d4".into()),
        ("answer_status", "201".into()),
        ("content_type", "application/json".into()),
        ("answer", hex(answer.as_bytes())),
    ]
}

/// What pgbench reported.
#[derive(Debug, Clone)]
pub struct PgbenchRun {
    pub script: Script,
    pub clients: usize,
    pub tps: f64,
    pub transactions: u64,
    pub failed: u64,
}

/// What a run works on.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// One show, random seats, random users of `users` (first and last id).
    Book {
        lock: ShowLock,
        show: i64,
        seats: i32,
        users: (i64, i64),
    },
    /// `shows` shows with consecutive ids from `first_show`, and `users` users with
    /// consecutive ids from `first_user` (at least one per client).
    Checkout {
        first_show: i64,
        shows: usize,
        seats: i32,
        first_user: i64,
        users: usize,
    },
}

impl Target {
    pub fn script(self) -> Script {
        match self {
            Self::Book { lock, .. } => Script::Book(lock),
            Self::Checkout { .. } => Script::Checkout,
        }
    }

    fn defines(self, clients: usize) -> Vec<(&'static str, String)> {
        let mut defines = constant_defines();
        match self {
            Self::Book {
                show, seats, users, ..
            } => defines.extend([
                ("show", show.to_string()),
                ("seats", seats.to_string()),
                ("umin", users.0.to_string()),
                ("umax", users.1.to_string()),
            ]),
            Self::Checkout {
                first_show,
                shows,
                seats,
                first_user,
                users,
            } => defines.extend([
                ("clients", clients.to_string()),
                ("k", "0".into()),
                ("show0", first_show.to_string()),
                ("shows", shows.to_string()),
                ("seats", seats.to_string()),
                ("umin", first_user.to_string()),
                ("per", (users / clients.max(1)).max(1).to_string()),
            ]),
        }
        defines
    }
}

/// The options of one pgbench run.
pub struct PgbenchJob<'a> {
    pub bin: &'a str,
    pub database_url: &'a str,
    pub dir: &'a Path,
    pub target: Target,
    pub clients: usize,
    pub duration: Duration,
}

/// Runs the target's script with `-M prepared` (Diesel's statements are prepared too).
pub async fn pgbench(job: PgbenchJob<'_>) -> anyhow::Result<PgbenchRun> {
    let script = job.target.script();
    if let Target::Checkout { users, .. } = job.target {
        anyhow::ensure!(
            users >= job.clients,
            "the checkout ceiling needs a user per client ({users} users, {} clients)",
            job.clients
        );
    }
    let path = job.dir.join(script.file_name());
    std::fs::write(&path, script.text())
        .with_context(|| format!("cannot write {}", path.display()))?;
    let seconds = job.duration.as_secs().max(1);
    let mut command = Command::new(job.bin);
    command
        .args(["--no-vacuum", "--protocol=prepared"])
        .arg(format!("--client={}", job.clients))
        .arg(format!("--jobs={}", job.clients.min(2)))
        .arg(format!("--time={seconds}"))
        .arg(format!("--file={}", path.display()));
    for (name, value) in job.target.defines(job.clients) {
        command.arg(format!("--define={name}={value}"));
    }
    let output = command
        .arg(job.database_url)
        // LOCALTIMESTAMP in UTC, the service's clock.
        .env("PGTZ", "UTC")
        .kill_on_drop(true)
        .output()
        .await
        .with_context(|| {
            format!(
                "cannot run {} (is PostgreSQL's pgbench installed?)",
                job.bin
            )
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!("pgbench failed ({}):\n{stdout}\n{stderr}", output.status);
    }
    let field = |prefix: &str| -> Option<&str> {
        stdout
            .lines()
            .find_map(|line| line.trim().strip_prefix(prefix))
            .map(str::trim)
    };
    let tps = field("tps =")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("no tps in pgbench's output:\n{stdout}"))?;
    let transactions = field("number of transactions actually processed:")
        .and_then(|rest| rest.split(['/', ' ']).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let failed = field("number of failed transactions:")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Ok(PgbenchRun {
        script,
        clients: job.clients,
        tps,
        transactions,
        failed,
    })
}

/// Raw argon2id hashes per second with the service's parameters (m = 19,456 KiB, t = 2,
/// p = 1), one hashing thread per core, each reusing one working area: the hashing
/// alone, without allocation or page faults, which is what login can reach at best.
pub fn argon2_hashes_per_second(duration: Duration) -> anyhow::Result<(f64, usize)> {
    let params = Params::new(19 * 1024, 2, 1, Some(32))
        .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let started = Instant::now();
    let deadline = started + duration;
    let counts: Vec<anyhow::Result<u64>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<u64> {
                    let mut out = [0u8; 32];
                    let mut memory = vec![Block::default(); argon.params().block_count()];
                    let mut hashes = 0;
                    while Instant::now() < deadline {
                        argon
                            .hash_password_into_with_memory(
                                b"bench-password-1",
                                b"bench-salt-16byt",
                                &mut out,
                                &mut memory,
                            )
                            .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
                        hashes += 1;
                    }
                    Ok(hashes)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a hashing thread panicked")))
            })
            .collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    let mut total = 0;
    for count in counts {
        total += count?;
    }
    Ok((total as f64 / elapsed, threads))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// infra-diesel's PostgreSQL statements, with Rust's line continuations joined.
    fn service_sql() -> String {
        let source = include_str!("../../infra-diesel/src/sql/postgres.rs");
        let mut joined = String::with_capacity(source.len());
        let mut rest = source;
        while let Some(at) = rest.find("\\\n") {
            joined.push_str(&rest[..at]);
            rest = rest[at + 2..].trim_start();
        }
        joined.push_str(rest);
        joined
    }

    #[test]
    fn the_scripts_differ_only_in_the_lock() {
        let share = booking_script(ShowLock::Share);
        let update = booking_script(ShowLock::Update);
        assert!(share.contains("FROM shows WHERE id = :show FOR SHARE;"));
        assert_eq!(share.replace("FOR SHARE", "FOR UPDATE"), update);
        assert!(share.contains("ON CONFLICT (show_id, seat_number) WHERE status = 'CONFIRMED'"));
    }

    #[test]
    fn a_direct_booking_claims_its_seat_in_the_insert() {
        let script = booking_script(ShowLock::Share);
        assert!(script.contains(
            "WITH claimed AS (INSERT INTO seat_claims (show_id, seat_number) SELECT :show, seat \
             FROM unnest(ARRAY[:seat::int]) WITH ORDINALITY AS c(seat, n) ORDER BY n \
             ON CONFLICT (show_id, seat_number) DO UPDATE SET hold_id = NULL, expires_at = NULL \
             WHERE seat_claims.expires_at <= LOCALTIMESTAMP RETURNING seat_number) INSERT INTO bookings"
        ));
        assert!(script.contains("WHERE seat IN (SELECT seat_number FROM claimed) ORDER BY n"));
        let service = service_sql();
        for fragment in [
            "WITH claimed AS (INSERT INTO seat_claims (show_id, seat_number) SELECT ",
            "ON CONFLICT (show_id, seat_number) DO UPDATE SET hold_id = NULL, expires_at = NULL WHERE seat_claims.expires_at <= ",
            ") WITH ORDINALITY AS t(seat, price, label, n) WHERE ",
            "seat IN (SELECT seat_number FROM claimed)",
        ] {
            assert!(service.contains(fragment), "the service no longer sends {fragment:?}");
        }
    }

    #[test]
    fn the_checkout_holds_and_confirms_as_the_service_does() {
        let service = service_sql();
        let for_sale = show_for_sale_sql(ShowLock::Share);
        // Each statement's text between its bound values, as both spell it.
        for (sql, fragments) in [
            (
                for_sale.as_str(),
                &[
                    "SELECT id, start_time, total_seats, screen_id, currency, ARRAY(SELECT category FROM show_prices WHERE show_id = shows.id ORDER BY category), ARRAY(SELECT price FROM show_prices WHERE show_id = shows.id ORDER BY category) FROM shows WHERE id = ",
                    " FOR SHARE",
                ][..],
            ),
            (
                HELD_SEATS_SQL,
                &[
                    "SELECT COALESCE(SUM(seat_count), 0)::int8 FROM holds WHERE user_id = ",
                    "' AND expires_at > ",
                ][..],
            ),
            (
                INSERT_HOLD_SQL,
                &[
                    "WITH hold AS (INSERT INTO holds (user_id, show_id, status, seat_count, seats, currency, created_at, expires_at, extensions) VALUES (",
                    "id, user_id, show_id, status, seats, currency, created_at, expires_at, extensions",
                    "), claimed AS (INSERT INTO seat_claims (show_id, seat_number, hold_id, expires_at) SELECT ",
                    ", seat, (SELECT id FROM hold), ",
                    ") WITH ORDINALITY AS c(seat, n) ORDER BY n ON CONFLICT (show_id, seat_number) DO UPDATE SET hold_id = EXCLUDED.hold_id, expires_at = EXCLUDED.expires_at WHERE seat_claims.expires_at <= ",
                    ", ARRAY(SELECT seat_number FROM claimed ORDER BY seat_number) FROM hold",
                ][..],
            ),
            (
                CONFIRM_HOLD_SQL,
                &[
                    "WITH kept AS (UPDATE seat_claims SET expires_at = NULL WHERE (show_id, seat_number) IN (SELECT show_id, seat_number FROM seat_claims WHERE hold_id = ",
                    " ORDER BY seat_number FOR UPDATE) RETURNING seat_number), ended AS (UPDATE holds SET status = '",
                    " RETURNING id) ",
                    "INSERT INTO bookings (user_id, show_id, seat_number, status, booking_time, price, currency, seat_label) SELECT ",
                    ") WITH ORDINALITY AS t(seat, price, label, n) WHERE ",
                    "seat IN (SELECT seat_number FROM kept) AND EXISTS (SELECT 1 FROM ended)",
                    " ORDER BY n ON CONFLICT (show_id, seat_number) WHERE status = '",
                ][..],
            ),
            (
                STORE_ANSWER_SQL,
                &[
                    "WITH stored AS (UPDATE idempotency_keys SET status = ",
                    " AND status IS NULL RETURNING 1) SELECT count(*)::int4 FROM stored",
                ][..],
            ),
        ] {
            for fragment in fragments {
                assert!(service.contains(fragment), "the service no longer sends {fragment:?}");
                let spaced = fragment.trim_matches(|c| c == ' ' || c == ',' || c == ')' || c == '\'');
                assert!(
                    sql.replace(" ,", ",").contains(spaced.trim()),
                    "the script does not send {fragment:?}"
                );
            }
        }
    }

    #[test]
    fn the_checkout_is_three_transactions() {
        let script = checkout_script();
        assert_eq!(script.matches("BEGIN;").count(), 3);
        assert_eq!(script.matches("COMMIT;").count(), 3);
        assert!(script.contains("LIMIT :one FOR NO KEY UPDATE;"));
        assert!(script.contains(r#"LIMIT :one FOR UPDATE;"#));
        assert!(script.contains(INSERT_HOLD_SQL) && script.contains(CONFIRM_HOLD_SQL));
        // Every variable the script reads is defined, set by it or pgbench's own.
        let mut known: Vec<String> = Target::Checkout {
            first_show: 1,
            shows: 1,
            seats: 10,
            first_user: 1,
            users: 1,
        }
        .defines(1)
        .into_iter()
        .map(|(name, _)| name.to_owned())
        .collect();
        known.extend(
            [
                "client_id",
                "p",
                "user",
                "show",
                "seat",
                "next",
                "hold_id",
                "scope",
            ]
            .map(String::from),
        );
        for (at, _) in script.match_indices(':') {
            let rest = &script[at + 1..];
            if rest.starts_with(':') || script[..at].ends_with(':') {
                continue; // a cast
            }
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && !name.chars().all(|c| c.is_ascii_digit()) {
                assert!(known.contains(&name), "undefined variable :{name}");
            }
        }
    }

    #[test]
    fn the_kept_answer_is_hex_encoded_bytes() {
        let defines = constant_defines();
        let answer = &defines.iter().find(|(n, _)| *n == "answer").unwrap().1;
        assert!(answer.starts_with("\\x7b22626f6f6b696e6773"));
        assert_eq!(answer.len() % 2, 0);
    }
}
