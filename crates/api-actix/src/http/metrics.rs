//! Prometheus metrics: HTTP traffic by route and status, latency, bookings, conflicts,
//! idempotent replays, seat holds and the database pool. One registry per application, so several apps in one process
//! (tests) keep separate counts.

use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

/// The database pool's figures, as the storage reports them through [`crate::state::Health`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStatus {
    pub max_size: usize,
    pub size: usize,
    pub idle: usize,
    pub waiting: usize,
}

pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    pub bookings_confirmed: IntCounter,
    pub bookings_cancelled: IntCounter,
    pub seat_conflicts: IntCounter,
    pub idempotent_replays: IntCounter,
    pub holds_created: IntCounter,
    pub holds_confirmed: IntCounter,
    pub holds_released: IntCounter,
    pub holds_expired: IntCounter,
    pool_max: IntGauge,
    pool_size: IntGauge,
    pool_idle: IntGauge,
    pool_waiting: IntGauge,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("movie_booking".into()), None)?;
        let http_requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by method, route pattern and status",
            ),
            &["method", "route", "status"],
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by method and route pattern",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["method", "route"],
        )?;
        let counter = |name: &str, help: &str| IntCounter::new(name, help);
        let gauge = |name: &str, help: &str| IntGauge::new(name, help);
        let metrics = Self {
            bookings_confirmed: counter(
                "bookings_confirmed_total",
                "Seats booked (one per confirmed booking)",
            )?,
            bookings_cancelled: counter("bookings_cancelled_total", "Bookings cancelled")?,
            seat_conflicts: counter(
                "seat_conflicts_total",
                "Booking requests refused because a seat was taken",
            )?,
            idempotent_replays: counter(
                "idempotent_replays_total",
                "Requests answered with the kept answer of their Idempotency-Key",
            )?,
            holds_created: counter("holds_created_total", "Seat holds made")?,
            holds_confirmed: counter(
                "holds_confirmed_total",
                "Seat holds confirmed into bookings",
            )?,
            holds_released: counter("holds_released_total", "Seat holds released by their owner")?,
            holds_expired: counter(
                "holds_expired_total",
                "Seat holds marked expired by housekeeping",
            )?,
            pool_max: gauge(
                "db_pool_max_size",
                "Largest number of database connections the pool may open",
            )?,
            pool_size: gauge("db_pool_size", "Database connections open")?,
            pool_idle: gauge("db_pool_idle", "Open database connections not in use")?,
            pool_waiting: gauge(
                "db_pool_waiting",
                "Requests waiting for a database connection",
            )?,
            http_requests,
            http_duration,
            registry,
        };
        metrics
            .registry
            .register(Box::new(metrics.http_requests.clone()))?;
        metrics
            .registry
            .register(Box::new(metrics.http_duration.clone()))?;
        for counter in [
            &metrics.bookings_confirmed,
            &metrics.bookings_cancelled,
            &metrics.seat_conflicts,
            &metrics.idempotent_replays,
            &metrics.holds_created,
            &metrics.holds_confirmed,
            &metrics.holds_released,
            &metrics.holds_expired,
        ] {
            metrics.registry.register(Box::new(counter.clone()))?;
        }
        for gauge in [
            &metrics.pool_max,
            &metrics.pool_size,
            &metrics.pool_idle,
            &metrics.pool_waiting,
        ] {
            metrics.registry.register(Box::new(gauge.clone()))?;
        }
        Ok(metrics)
    }

    /// Counts a request. `route` must be a pattern of the route table (or one fixed
    /// word), never a raw path; the method is folded by [`method_label`].
    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let method = method_label(method);
        self.http_requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.http_duration
            .with_label_values(&[method, route])
            .observe(elapsed.as_secs_f64());
    }

    /// Adds a metric kept elsewhere (the rate limits' Redis status) to this registry.
    pub fn register(
        &self,
        collector: Box<dyn prometheus::core::Collector>,
    ) -> Result<(), prometheus::Error> {
        self.registry.register(collector)
    }

    /// The text exposition, with the pool gauges read now.
    pub fn render(&self, pool: PoolStatus) -> Result<String, prometheus::Error> {
        self.pool_max.set(pool.max_size as i64);
        self.pool_size.set(pool.size as i64);
        self.pool_idle.set(pool.idle as i64);
        self.pool_waiting.set(pool.waiting as i64);
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        String::from_utf8(buffer).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}

/// The methods counted by name; any other (clients may send any token as a method)
/// counts as `OTHER`, so requests cannot add label values, and memory, without bound.
const METHOD_LABELS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

fn method_label(method: &str) -> &'static str {
    METHOD_LABELS
        .into_iter()
        .find(|known| *known == method)
        .unwrap_or("OTHER")
}
