//! Rate limits counted in Redis, so that every process behind the load balancer draws on
//! the same allowance.
//!
//! The algorithm is GCRA, the one the per-process limiter (`governor`) uses: a key holds
//! the client's theoretical arrival time (TAT), and one Lua script reads, decides and
//! writes it atomically, on Redis's clock, so processes with skewed clocks agree. With
//! `n` per minute a client gets a burst of `n`, then one more every `60/n` s. A key
//! expires when its client is back to a full burst.
//!
//! Redis is never allowed to slow a request down: every call is bounded by
//! `rate_limit.redis_timeout_ms`, and once a call fails the service stops asking Redis
//! and counts per process until a background probe (every second) gets an answer again.

use std::num::NonZeroU32;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use prometheus::{IntCounter, IntGauge};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script};
use tokio::sync::watch;
use tokio::time::timeout;

use crate::http::metrics::Metrics;

/// Longest wait for a new connection, in the background probe only.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How often an unreachable Redis is tried again.
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// Returns 0 when the request is allowed, else the microseconds until it would be.
/// KEYS[1]: the client's TAT (microseconds); ARGV[1]: emission interval, ARGV[2]: burst
/// tolerance, both in microseconds.
const GCRA: &str = r"
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local stored = redis.call('GET', KEYS[1])
local tat = stored and tonumber(stored) or now
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait > 0 then return wait end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return 0
";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    /// The first connection attempt has not finished.
    Starting,
    Up,
    Down,
}

/// What Redis decided; `Unavailable` means "count it per process".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Allowed,
    Refused(Duration),
    Unavailable,
}

pub(super) struct Shared {
    client: Client,
    prefix: String,
    timeout: Duration,
    script: Script,
    /// Set once the first connection succeeds; the manager reconnects by itself.
    conn: OnceLock<ConnectionManager>,
    status: watch::Sender<Status>,
    up: IntGauge,
    fallbacks: IntCounter,
}

impl Shared {
    /// Parses the URL and registers the metrics; connecting is left to [`Shared::start`].
    pub(super) fn new(
        url: &str,
        prefix: &str,
        timeout: Duration,
        metrics: &Metrics,
    ) -> Result<Self, String> {
        let client = Client::open(url).map_err(|e| format!("rate_limit.redis_url: {e}"))?;
        let metric_error = |e: prometheus::Error| e.to_string();
        let up = IntGauge::new(
            "rate_limit_redis_up",
            "1 while rate limits are counted in Redis, 0 while they are counted per process",
        )
        .map_err(metric_error)?;
        let fallbacks = IntCounter::new(
            "rate_limit_redis_fallbacks_total",
            "Rate-limited requests counted per process because Redis was unavailable",
        )
        .map_err(metric_error)?;
        metrics
            .register(Box::new(up.clone()))
            .map_err(metric_error)?;
        metrics
            .register(Box::new(fallbacks.clone()))
            .map_err(metric_error)?;
        Ok(Self {
            client,
            prefix: prefix.to_owned(),
            timeout,
            script: Script::new(GCRA),
            conn: OnceLock::new(),
            status: watch::Sender::new(Status::Starting),
            up,
            fallbacks,
        })
    }

    /// Starts the background task that connects, and reconnects after a failure. It runs
    /// on the current runtime (the main one, which outlives the HTTP workers) and ends
    /// when the limits are dropped.
    pub(super) fn start(self: &Arc<Self>) -> Result<(), String> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| "rate limits: Redis needs a Tokio runtime to start".to_owned())?;
        runtime.spawn(supervise(Arc::downgrade(self)));
        Ok(())
    }

    /// Counts one request of `key` in `class` against `per_minute`.
    pub(super) async fn check(&self, class: &str, key: &str, per_minute: NonZeroU32) -> Outcome {
        let Some(mut conn) = self.connection().await else {
            self.fallbacks.inc();
            return Outcome::Unavailable;
        };
        let (interval, tolerance) = gcra(per_minute);
        let mut invocation = self.script.key(format!("{}:{class}:{key}", self.prefix));
        invocation.arg(interval).arg(tolerance);
        let failure = match timeout(self.timeout, invocation.invoke_async::<i64>(&mut conn)).await {
            Ok(Ok(wait)) if wait > 0 => {
                return Outcome::Refused(Duration::from_micros(wait as u64))
            }
            Ok(Ok(_)) => return Outcome::Allowed,
            Ok(Err(error)) => error.to_string(),
            Err(_) => format!("no answer within {} ms", self.timeout.as_millis()),
        };
        self.set_status(Status::Down, &failure);
        self.fallbacks.inc();
        Outcome::Unavailable
    }

    /// The connection, while Redis is known to answer. Right after start-up, waits (at
    /// most the call timeout) for the first attempt to finish.
    async fn connection(&self) -> Option<ConnectionManager> {
        if *self.status.borrow() == Status::Starting {
            let mut changes = self.status.subscribe();
            let _ = timeout(
                self.timeout,
                changes.wait_for(|status| *status != Status::Starting),
            )
            .await;
        }
        if *self.status.borrow() != Status::Up {
            return None;
        }
        self.conn.get().cloned()
    }

    /// Connects if needed and asks for a PONG.
    async fn probe(&self) -> Result<(), String> {
        let mut conn = match self.conn.get() {
            Some(conn) => conn.clone(),
            None => {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(CONNECT_TIMEOUT)
                    .set_response_timeout(self.timeout)
                    // One attempt per probe: the probe itself is the retry loop.
                    .set_number_of_retries(0);
                let connect = ConnectionManager::new_with_config(self.client.clone(), config);
                match timeout(CONNECT_TIMEOUT, connect).await {
                    Ok(Ok(conn)) => self.conn.get_or_init(|| conn).clone(),
                    Ok(Err(error)) => return Err(error.to_string()),
                    Err(_) => return Err("no connection within 1 s".into()),
                }
            }
        };
        match timeout(
            self.timeout,
            redis::cmd("PING").query_async::<String>(&mut conn),
        )
        .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err(format!("no answer within {} ms", self.timeout.as_millis())),
        }
    }

    /// Records a change of status, logging only the transitions.
    fn set_status(&self, new: Status, reason: &str) {
        let mut old = new;
        self.status.send_if_modified(|status| {
            old = *status;
            *status = new;
            old != new
        });
        if old == new {
            return;
        }
        self.up.set(i64::from(new == Status::Up));
        match new {
            Status::Up => {
                tracing::info!("rate limits are counted in Redis, shared by every process")
            }
            Status::Down => tracing::warn!(
                error = reason,
                "Redis for rate limits is unavailable: counting per process until it answers again"
            ),
            Status::Starting => {}
        }
    }
}

/// Emission interval and burst tolerance, in microseconds, for `n` per minute with a
/// burst of `n` (as `governor::Quota::per_minute`).
fn gcra(per_minute: NonZeroU32) -> (u64, u64) {
    let n = u64::from(per_minute.get());
    let interval = (60_000_000 / n).max(1);
    (interval, interval * (n - 1))
}

/// Probes until Redis answers, then waits until a request finds it failing, and again.
async fn supervise(shared: Weak<Shared>) {
    loop {
        let Some(this) = shared.upgrade() else { return };
        let result = this.probe().await;
        let mut changes = this.status.subscribe();
        match &result {
            Ok(()) => this.set_status(Status::Up, ""),
            Err(reason) => this.set_status(Status::Down, reason),
        }
        drop(this);
        if result.is_ok() {
            // The sender closes when the limits are dropped: then the task ends.
            if changes
                .wait_for(|status| *status == Status::Down)
                .await
                .is_err()
            {
                return;
            }
        } else {
            tokio::time::sleep(PROBE_EVERY).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcra_matches_the_per_process_quota() {
        let n = |n| NonZeroU32::new(n).unwrap();
        // 20 a minute: one every 3 s, and 19 intervals of tolerance, so a burst of 20.
        assert_eq!(gcra(n(20)), (3_000_000, 57_000_000));
        // 1 a minute: no burst beyond the one request.
        assert_eq!(gcra(n(1)), (60_000_000, 0));
        // Absurdly high rates still give a positive interval.
        assert_eq!(gcra(n(u32::MAX)).0, 1);
    }
}
