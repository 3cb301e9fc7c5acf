//! The ceilings the service is measured against: `pgbench` running the service's own
//! booking transaction straight on PostgreSQL, and raw argon2id hashing in-process.

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

/// `book_once` on PostgreSQL for one random seat of a flat show, statement for statement
/// as the service sends it (the insert is `InsertFreeSeats` in infra-diesel's
/// sql/postgres.rs): BEGIN; lock the show row; read its prices; insert unless the seat
/// is held, with its label and price; COMMIT when a row came back, ROLLBACK otherwise
/// (the service rolls back a refused booking). A flat show has no layout to read.
pub fn booking_script(lock: ShowLock) -> String {
    format!(
        r#"\set seat random(1, :seats)
\set user random(:umin, :umax)
\set id 0
BEGIN;
SELECT "shows"."id", "shows"."start_time", "shows"."total_seats", "shows"."screen_id", "shows"."currency" FROM "shows" WHERE ("shows"."id" = :show) LIMIT 1 {lock};
SELECT "show_prices"."category", "show_prices"."price" FROM "show_prices" WHERE ("show_prices"."show_id" = :show);
INSERT INTO bookings (user_id, show_id, seat_number, status, booking_time, price, currency, seat_label) SELECT :user, :show, seat, 'CONFIRMED', LOCALTIMESTAMP, price, 'EUR', label FROM unnest(ARRAY[:seat::int], ARRAY[0], ARRAY[:seat::text]) WITH ORDINALITY AS t(seat, price, label, n) ORDER BY n ON CONFLICT (show_id, seat_number) WHERE status = 'CONFIRMED' DO NOTHING RETURNING id, user_id, show_id, seat_number, status, booking_time, cancelled_at, price, currency, seat_label \aset
\if :id > 0
COMMIT;
\else
ROLLBACK;
\endif
"#,
        lock = lock.sql()
    )
}

/// What pgbench reported.
#[derive(Debug, Clone)]
pub struct PgbenchRun {
    pub lock: ShowLock,
    pub clients: usize,
    pub tps: f64,
    pub transactions: u64,
    pub failed: u64,
}

/// The options of one pgbench run.
pub struct PgbenchJob<'a> {
    pub bin: &'a str,
    pub database_url: &'a str,
    pub dir: &'a Path,
    pub lock: ShowLock,
    pub clients: usize,
    pub duration: Duration,
    pub show: i64,
    pub seats: i32,
    pub users: (i64, i64),
}

/// Runs the booking script with `-M prepared` (Diesel's statements are prepared too).
pub async fn pgbench(job: PgbenchJob<'_>) -> anyhow::Result<PgbenchRun> {
    let script = job.dir.join(match job.lock {
        ShowLock::Share => "book_for_share.sql",
        ShowLock::Update => "book_for_update.sql",
    });
    std::fs::write(&script, booking_script(job.lock))
        .with_context(|| format!("cannot write {}", script.display()))?;
    let seconds = job.duration.as_secs().max(1);
    let output = Command::new(job.bin)
        .args(["--no-vacuum", "--protocol=prepared"])
        .arg(format!("--client={}", job.clients))
        .arg(format!("--jobs={}", job.clients.min(2)))
        .arg(format!("--time={seconds}"))
        .arg(format!("--file={}", script.display()))
        .arg(format!("--define=show={}", job.show))
        .arg(format!("--define=seats={}", job.seats))
        .arg(format!("--define=umin={}", job.users.0))
        .arg(format!("--define=umax={}", job.users.1))
        .arg(job.database_url)
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
        lock: job.lock,
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

    #[test]
    fn the_scripts_differ_only_in_the_lock() {
        let share = booking_script(ShowLock::Share);
        let update = booking_script(ShowLock::Update);
        assert!(share.contains("LIMIT 1 FOR SHARE;"));
        assert_eq!(share.replace("FOR SHARE", "FOR UPDATE"), update);
        assert!(share.contains("ON CONFLICT (show_id, seat_number) WHERE status = 'CONFIRMED'"));
    }
}
