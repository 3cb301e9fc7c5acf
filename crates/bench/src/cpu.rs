//! Where the machine's CPU went during a workload: the server, the load generator, and
//! everything else (the database, mostly). Server, database and load generator share
//! the same cores, so this says what bounds each figure.

use anyhow::Context;

/// CPU counters at one instant, in the kernel's clock ticks.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    busy: u64,
    total: u64,
    server: u64,
    bench: u64,
}

/// Shares of the whole machine (all cores = 100 %) over an interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Split {
    pub server: f64,
    pub bench: f64,
    /// Busy time of every other process: the database, and anything else running.
    pub other: f64,
}

impl Snapshot {
    pub fn take(server_pid: u32) -> anyhow::Result<Self> {
        let stat = std::fs::read_to_string("/proc/stat").context("cannot read /proc/stat")?;
        let (busy, total) = machine_ticks(&stat).context("no cpu line in /proc/stat")?;
        Ok(Self {
            busy,
            total,
            server: process_ticks(&format!("/proc/{server_pid}/stat"))?,
            bench: process_ticks("/proc/self/stat")?,
        })
    }

    pub fn split_since(&self, start: &Snapshot) -> Split {
        let total = self.total.saturating_sub(start.total).max(1) as f64;
        let share = |now: u64, then: u64| 100.0 * now.saturating_sub(then) as f64 / total;
        let server = share(self.server, start.server);
        let bench = share(self.bench, start.bench);
        let busy = share(self.busy, start.busy);
        Split {
            server,
            bench,
            other: (busy - server - bench).max(0.0),
        }
    }
}

/// (busy, total) ticks of all cores from the first line of /proc/stat.
fn machine_ticks(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    Some((total.saturating_sub(idle), total))
}

/// utime + stime of a process, all threads.
fn process_ticks(path: &str) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
    parse_process_ticks(&stat).with_context(|| format!("cannot parse {path}"))
}

fn parse_process_ticks(stat: &str) -> Option<u64> {
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Field 3 (state) is fields[0], so utime (14) and stime (15) are 11 and 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_ticks_are_utime_plus_stime() {
        let stat = "42 (movie (booking)) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0";
        assert_eq!(parse_process_ticks(stat), Some(300));
    }

    #[test]
    fn machine_ticks_leave_out_idle_and_iowait() {
        let stat = "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\n";
        assert_eq!(machine_ticks(stat), Some((150, 1000)));
    }
}
