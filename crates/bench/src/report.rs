//! The printed result: one Markdown table, one row per backend and workload, then the
//! checkout steps, the live streams, the ceiling lines and the targets met or missed.

use std::fmt::Write as _;
use std::time::Duration;

use crate::ceiling::{PgbenchRun, Script, ShowLock};
use crate::cpu::Split;
use crate::db::Backend;
use crate::live::Events;
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

/// One live run: what the subscribers saw, the server's memory around the streams, and
/// the names of its two `hot` rows.
pub struct Live {
    pub backend: Backend,
    pub events: Events,
    /// VmRSS before the streams opened, once they were all open, and at its highest
    /// while `hot` booked with them open.
    pub rss_before_kib: Option<u64>,
    pub rss_open_kib: Option<u64>,
    pub rss_peak_kib: Option<u64>,
    pub baseline: String,
    pub with_streams: String,
}

impl Live {
    /// What the streams added to the server's resident memory: the larger of "open" and
    /// "while booking", over "before".
    pub fn added_kib(&self) -> Option<i64> {
        let before = self.rss_before_kib? as i64;
        let after = self.rss_open_kib.max(self.rss_peak_kib)? as i64;
        Some(after - before)
    }
}

/// The read targets: requests/s of each read, empty and sold out alike.
const LIST_TARGET: f64 = 10_000.0;
const SEAT_MAP_TARGET: f64 = 5_000.0;
/// Sold out counts as "the same" as empty down to this share.
const SAME_SHARE: f64 = 0.9;
/// The live targets.
const DELAY_P99_TARGET_MS: f64 = 100.0;
const STREAMS_RSS_TARGET_MIB: f64 = 32.0;
const HOT_SHARE_TARGET: f64 = 0.8;

#[derive(Default)]
pub struct Report {
    pub rows: Vec<Row>,
    pub memory: Vec<Memory>,
    pub live: Vec<Live>,
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
pub fn count(value: f64) -> String {
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
             reads: empty, then with every seat of the read shows booked (sold out); \
             live: `hot` on a show of its own, then `hot` on a show with the seat streams open.\n",
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
        for live in &self.live {
            self.live_line(&mut out, live);
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

    fn live_line(&self, out: &mut String, live: &Live) {
        let e = &live.events;
        let mib =
            |kib: Option<u64>| kib.map_or("?".into(), |k| format!("{:.1}", k as f64 / 1024.0));
        let plus = |kib: Option<u64>| match (kib, live.rss_before_kib) {
            (Some(now), Some(before)) => {
                format!("{:+.1}", (now as f64 - before as f64) / 1024.0)
            }
            _ => "?".into(),
        };
        let _ = write!(
            out,
            "- live on {}: {} streams on one 10,000-seat show, every snapshot received in {:.1} s; \
             {} seats booked (201) while they were open, so {} `booked` arrivals expected: {} arrived, \
             **{} missing**, {} unexpected, {} stream errors{}; delay from a booking's 201 to the \
             seat's event at each subscriber p50 / p99 / max: **{} / {} / {} ms** ({} arrivals came \
             before the bench had read the 201, counted as 0); {} heartbeats; server RSS {} MiB before \
             the streams, {} MiB ({}) with them open, at most {} MiB ({}) while booking",
            live.backend,
            count(e.streams as f64),
            e.connected_in.as_secs_f64(),
            count(e.booked as f64),
            count(e.expected as f64),
            count(e.arrived as f64),
            count(e.missing as f64),
            count(e.unexpected as f64),
            count(e.stream_errors as f64),
            e.first_error
                .as_deref()
                .map_or(String::new(), |first| format!(" (first: {first})")),
            ms(e.delays.value_at_quantile(0.5)),
            ms(e.delays.value_at_quantile(0.99)),
            ms(e.delays.max()),
            count(e.early as f64),
            count(e.heartbeats as f64),
            mib(live.rss_before_kib),
            mib(live.rss_open_kib),
            plus(live.rss_open_kib),
            mib(live.rss_peak_kib),
            plus(live.rss_peak_kib),
        );
        if let (Some(without), Some(with)) = (
            self.rate(live.backend, &live.baseline),
            self.rate(live.backend, &live.with_streams),
        ) {
            let _ = write!(
                out,
                "; hot with the streams ÷ hot without: {} ÷ {} requests/s = **{:.0} %**",
                count(with),
                count(without),
                100.0 * with / without.max(1e-9)
            );
        }
        out.push_str(".\n");
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
            for live in self.live.iter().filter(|l| l.backend == backend) {
                let e = &live.events;
                let p99 = e.delays.value_at_quantile(0.99) as f64 / 1000.0;
                lines.push((
                    backend,
                    format!(
                        "live: delay p99 < {DELAY_P99_TARGET_MS:.0} ms, {} streams",
                        count(e.streams as f64)
                    ),
                    format!("{} ms", ms(e.delays.value_at_quantile(0.99))),
                    verdict(e.arrived > 0 && p99 < DELAY_P99_TARGET_MS),
                ));
                lines.push((
                    backend,
                    "live: no missing event, no stream error".into(),
                    format!(
                        "{} missing, {} unexpected, {} stream errors",
                        count(e.missing as f64),
                        count(e.unexpected as f64),
                        count(e.stream_errors as f64)
                    ),
                    verdict(e.errors() == 0),
                ));
                if let Some(added) = live.added_kib() {
                    let mib = added as f64 / 1024.0;
                    lines.push((
                        backend,
                        format!("live: streams add ≤ {STREAMS_RSS_TARGET_MIB:.0} MiB RSS"),
                        format!("{mib:+.1} MiB"),
                        verdict(mib <= STREAMS_RSS_TARGET_MIB),
                    ));
                }
                if let (Some(without), Some(with)) = (
                    self.rate(backend, &live.baseline),
                    self.rate(backend, &live.with_streams),
                ) {
                    let share = with / without.max(1e-9);
                    lines.push((
                        backend,
                        format!(
                            "live: hot with the streams ≥ {:.0} % of hot",
                            100.0 * HOT_SHARE_TARGET
                        ),
                        format!("{:.0} %", 100.0 * share),
                        verdict(share >= HOT_SHARE_TARGET),
                    ));
                }
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
