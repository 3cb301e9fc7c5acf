//! The printed result: one Markdown table, one row per backend and workload, then the
//! checkout steps, the live streams, the ceiling lines and the targets met or missed.

use std::fmt::Write as _;
use std::time::Duration;

use crate::ceiling::{PgbenchRun, Script, ShowLock};
use crate::cpu::Split;
use crate::db::Backend;
use crate::load::Outcome;

/// The after-run database check of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Passed,
    Failed,
    /// Reads and logins write nothing to check.
    None,
}

pub struct Row {
    pub backend: Backend,
    pub workload: String,
    pub booking: bool,
    pub outcome: Outcome,
    /// The server's VmHWM after this workload (peak since it started).
    pub peak_rss_kib: Option<u64>,
    /// Where the CPU went while the workload ran.
    pub cpu: Option<Split>,
    pub ready: Duration,
    pub check: Check,
}

/// The server's peak memory before the workloads.
pub struct Memory {
    pub backend: Backend,
    pub at_ready_kib: Option<u64>,
    /// After the bench's users signed up and logged in (argon2 hashing).
    pub after_setup_kib: Option<u64>,
    pub users: usize,
}

/// The read targets: requests/s of each read, empty and sold out alike.
const LIST_TARGET: f64 = 10_000.0;
const SEAT_MAP_TARGET: f64 = 5_000.0;
/// Sold out counts as "the same" as empty down to this share.
const SAME_SHARE: f64 = 0.9;
#[derive(Default)]
pub struct Report {
    pub rows: Vec<Row>,
    pub memory: Vec<Memory>,
    pub ceilings: Vec<PgbenchRun>,
    pub argon2: Option<(f64, usize)>,
    pub failures: Vec<String>,
}

fn ms(micros: u64) -> String {
    let ms = micros as f64 / 1000.0;
    if ms < 10.0 {
        format!("{ms:.2}")
    } else if ms < 100.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

/// 12345.6 → "12,346".
fn count(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Report {
    pub fn row(&self, backend: Backend, workload: &str) -> Option<&Row> {
        self.rows
            .iter()
            .find(|r| r.backend == backend && r.workload == workload)
    }

    pub fn markdown(&self, connections: usize, duration: Duration, pool_size: usize) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{connections} connections, {:.0} s per workload, database pool {pool_size}; \
             latencies in ms; peak RSS in MiB (the server's VmHWM after the workload); \
             ready: ms from process start to the first 200 from /ready/ on a migrated database; \
             CPU: % of all cores used by the server / the load generator / everything else (the database) during the workload; \
             checkout: requests are its holds and confirms, bookings the seats confirmed, conflicts 409 `seat_taken` to a hold; \
             reads: empty, then with every seat of the read shows booked (sold out).\n",
            duration.as_secs_f64()
        );
        out.push_str(
            "| backend | workload | requests/s | bookings/s | conflicts/s | p50 | p99 | max | 409 p99 | errors | peak RSS | ready | CPU | DB check |\n\
             |---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n",
        );
        for row in &self.rows {
            let o = &row.outcome;
            let dash = || "–".to_string();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                row.backend,
                row.workload,
                count(o.per_second(o.requests)),
                if row.booking {
                    count(o.per_second(o.seats_booked))
                } else {
                    dash()
                },
                if row.booking {
                    count(o.per_second(o.conflicts))
                } else {
                    dash()
                },
                ms(o.latency.value_at_quantile(0.5)),
                ms(o.latency.value_at_quantile(0.99)),
                ms(o.latency.max()),
                if o.conflicts > 0 {
                    ms(o.conflict_latency.value_at_quantile(0.99))
                } else {
                    dash()
                },
                o.errors,
                row.peak_rss_kib
                    .map_or_else(dash, |kib| format!("{:.1}", kib as f64 / 1024.0)),
                row.ready.as_millis(),
                row.cpu.map_or_else(dash, |c| format!(
                    "{:.0} / {:.0} / {:.0}",
                    c.server, c.bench, c.other
                )),
                match row.check {
                    Check::Passed => "ok",
                    Check::Failed => "**FAILED**",
                    Check::None => "–",
                },
            );
        }
        out.push('\n');
        let ceiling = |script| self.ceilings.iter().find(|c| c.script == script);
        if let Some(share) = ceiling(Script::Book(ShowLock::Share)) {
            let _ = writeln!(
                out,
                "- Ceiling: pgbench running the service's booking SQL (show row `FOR SHARE`), \
                 {} connections, fresh 10,000-seat show: **{} tps** ({} transactions, {} failed).",
                share.clients,
                count(share.tps),
                count(share.transactions as f64),
                share.failed
            );
        }
        if let Some(update) = ceiling(Script::Book(ShowLock::Update)) {
            let _ = writeln!(
                out,
                "- Whole-show lock (the seed's `FOR UPDATE`), same SQL otherwise: **{} tps** ({} transactions, {} failed).",
                count(update.tps),
                count(update.transactions as f64),
                update.failed
            );
        }
        if let (Some(share), Some(hot)) = (
            ceiling(Script::Book(ShowLock::Share)),
            self.row(Backend::Postgres, "hot"),
        ) {
            let o = &hot.outcome;
            let _ = writeln!(
                out,
                "- hot on PostgreSQL ÷ ceiling: bookings/s {} ÷ {} tps = **{:.0} %**; \
                 booking requests/s (201 + 409) {} ÷ {} tps = **{:.0} %**.",
                count(o.per_second(o.seats_booked)),
                count(share.tps),
                100.0 * o.per_second(o.seats_booked) / share.tps.max(1e-9),
                count(o.per_second(o.requests)),
                count(share.tps),
                100.0 * o.per_second(o.requests) / share.tps.max(1e-9),
            );
        }
        for row in self.rows.iter().filter(|r| r.workload == "checkout") {
            let o = &row.outcome;
            let Some(steps) = &o.steps else { continue };
            let p = |h: &hdrhistogram::Histogram<u64>| {
                format!(
                    "{} / {}",
                    ms(h.value_at_quantile(0.5)),
                    ms(h.value_at_quantile(0.99))
                )
            };
            let _ = writeln!(
                out,
                "- checkout on {}: **{} checkouts/s** ({} completed: a 201 hold of 2 seats, then a 201 confirm \
                 with an Idempotency-Key); p50 / p99 ms: hold {}, confirm {}, whole checkout {}; \
                 {} conflicts (409 `seat_taken` to a hold, {}/s); {} errors, {} holds released after one.",
                row.backend,
                count(o.per_second(o.successes)),
                count(o.successes as f64),
                p(&steps.hold),
                p(&steps.confirm),
                p(&steps.checkout),
                count(o.conflicts as f64),
                count(o.per_second(o.conflicts)),
                o.errors,
                steps.releases,
            );
        }
        if let Some(checkout) = ceiling(Script::Checkout) {
            let _ = writeln!(
                out,
                "- Checkout ceiling: pgbench running the service's hold, Idempotency-Key and confirm SQL \
                 (3 transactions a checkout), {} connections, pairs taken in order on fresh 10,000-seat shows: \
                 **{} checkouts/s** ({} checkouts, {} failed).",
                checkout.clients,
                count(checkout.tps),
                count(checkout.transactions as f64),
                checkout.failed
            );
            if let Some(row) = self.row(Backend::Postgres, "checkout") {
                let o = &row.outcome;
                let _ = writeln!(
                    out,
                    "- checkout on PostgreSQL ÷ ceiling: checkouts/s {} ÷ {} = **{:.0} %**.",
                    count(o.per_second(o.successes)),
                    count(checkout.tps),
                    100.0 * o.per_second(o.successes) / checkout.tps.max(1e-9),
                );
            }
        }
        let mib =
            |kib: Option<u64>| kib.map_or("?".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0));
        for memory in &self.memory {
            let end = self
                .rows
                .iter()
                .filter(|r| r.backend == memory.backend)
                .filter_map(|r| r.peak_rss_kib)
                .max();
            let _ = writeln!(
                out,
                "- Server peak RSS on {}: {} when ready, {} after {} users signed up and logged in \
                 (argon2id hashing), {} at the end.",
                memory.backend,
                mib(memory.at_ready_kib),
                mib(memory.after_setup_kib),
                memory.users,
                mib(end)
            );
        }
        if let Some((rate, threads)) = self.argon2 {
            let _ = write!(
                out,
                "- argon2id (m = 19,456 KiB, t = 2, p = 1), hashing alone in-process on {threads} threads: **{} hashes/s**",
                count(rate)
            );
            for backend in [Backend::Postgres, Backend::Sqlite] {
                if let Some(login) = self.row(backend, "login") {
                    let o = &login.outcome;
                    let _ = write!(
                        out,
                        "; login on {backend}: {} req/s = {:.0} %",
                        count(o.per_second(o.requests)),
                        100.0 * o.per_second(o.requests) / rate.max(1e-9)
                    );
                }
            }
            out.push_str(".\n");
        }
        self.targets(&mut out);
        out
    }

    fn rate(&self, backend: Backend, workload: &str) -> Option<f64> {
        self.row(backend, workload)
            .map(|row| row.outcome.per_second(row.outcome.requests))
    }

    /// One line per target and backend that was measured, with its verdict.
    fn targets(&self, out: &mut String) {
        let mut lines = Vec::new();
        let verdict = |met: bool| if met { "met" } else { "**missed**" };
        for backend in [Backend::Postgres, Backend::Sqlite] {
            let rate = |name: &str, state: &str| self.rate(backend, &format!("{name}, {state}"));
            let reads = [
                ("50-show list", "read: 50-show list", LIST_TARGET),
                ("seat map", "read: seat map", SEAT_MAP_TARGET),
                ("layout seat map", "read: layout seat map", SEAT_MAP_TARGET),
            ];
            for (label, name, target) in reads {
                let (Some(empty), Some(sold_out)) = (rate(name, "empty"), rate(name, "sold out"))
                else {
                    continue;
                };
                lines.push((
                    backend,
                    format!("{label} ≥ {} req/s, empty and sold out", count(target)),
                    format!("{} / {}", count(empty), count(sold_out)),
                    verdict(empty >= target && sold_out >= target),
                ));
                let share = sold_out / empty.max(1e-9);
                lines.push((
                    backend,
                    format!(
                        "{label} sold out as fast as empty (≥ {:.0} %)",
                        100.0 * SAME_SHARE
                    ),
                    format!("{:.0} %", 100.0 * share),
                    verdict(share >= SAME_SHARE),
                ));
            }
            let reads: Vec<&Row> = self
                .rows
                .iter()
                .filter(|r| r.backend == backend && r.workload.starts_with("read: "))
                .collect();
            if !reads.is_empty() {
                let errors: u64 = reads.iter().map(|r| r.outcome.errors).sum();
                lines.push((
                    backend,
                    "reads: zero errors".into(),
                    count(errors as f64),
                    verdict(errors == 0),
                ));
            }
        }
        if lines.is_empty() {
            return;
        }
        out.push_str("\n| backend | target | measured | |\n|---|---|--:|---|\n");
        for (backend, target, measured, verdict) in lines {
            let _ = writeln!(out, "| {backend} | {target} | {measured} | {verdict} |");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(count(0.4), "0");
        assert_eq!(count(999.0), "999");
        assert_eq!(count(1234.6), "1,235");
        assert_eq!(count(1_234_567.0), "1,234,567");
    }

    #[test]
    fn latencies_keep_three_figures() {
        assert_eq!(ms(1_234), "1.23");
        assert_eq!(ms(12_340), "12.3");
        assert_eq!(ms(123_400), "123");
    }
}
