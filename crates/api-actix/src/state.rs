//! What every handler can reach: the use cases (idempotent retries' included), the
//! storage's health, metrics and rate limits. Built by the composition root (`startup`), which alone knows the storage.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use domain::{
    AccountService, BookingService, CatalogService, HoldService, IdempotencyService, SeatChange,
    ShowSeats, StoreError,
};
use tokio::sync::broadcast;

use crate::http::answers::AnswerCache;
use crate::http::metrics::{Metrics, PoolStatus};
use crate::http::ratelimit::RateLimits;

/// The storage as operations see it: does it answer, and how busy is its pool.
#[async_trait]
pub trait Health: Send + Sync {
    /// Ok when the database answers and takes writes: after a write failed because its
    /// disk is full or failing, only once a probe write of its own goes through.
    async fn ping(&self) -> Result<(), StoreError>;
    fn pool_status(&self) -> PoolStatus;
}

/// Where a seat stream starts.
pub enum StreamStart {
    /// The whole map, as of event `id`.
    Snapshot { id: u64, seats: Box<ShowSeats> },
    /// The changes after the subscriber's `Last-Event-ID`, oldest first.
    Replay(Vec<Arc<SeatChange>>),
}

/// One subscriber's view of a show's seat changes. A receiver that falls behind gets
/// `Lagged`: its stream ends, and the client reconnects.
pub struct SeatSubscription {
    pub start: StreamStart,
    pub events: broadcast::Receiver<Arc<SeatChange>>,
}

/// Every committed seat change of every process sharing the database, per show.
#[async_trait]
pub trait LiveSeats: Send + Sync {
    /// From `last_id` when its changes are still kept, else from a snapshot; `None` when
    /// the show does not exist.
    async fn subscribe(
        &self,
        show: i64,
        last_id: Option<u64>,
    ) -> Result<Option<SeatSubscription>, StoreError>;
    /// The whole map as of its latest event id; `None` when the show does not exist.
    async fn snapshot(&self, show: i64) -> Result<Option<(u64, ShowSeats)>, StoreError>;
    /// Changes whenever any read of shows may answer differently; `None` when reads go
    /// to the database. An answer computed after reading `Some(v)` stays right while it
    /// is still `v`.
    fn version(&self) -> Option<u64>;
    /// The same, for one show's seat map.
    fn seats_version(&self, show: i64) -> Option<(u64, u64)>;
}

#[derive(Clone)]
pub struct AppState {
    pub accounts: AccountService,
    pub catalog: CatalogService,
    pub bookings: BookingService,
    pub holds: HoldService,
    pub idempotency: IdempotencyService,
    pub health: Arc<dyn Health>,
    pub metrics: Arc<Metrics>,
    pub limits: Arc<RateLimits>,
    pub live: Arc<dyn LiveSeats>,
    /// How often an idle seat stream gets a comment line.
    pub heartbeat: Duration,
    pub answers: Arc<AnswerCache>,
    /// Set when the process starts shutting down: streams end then, rather than hold
    /// the graceful shutdown up until its timeout.
    pub stopping: Arc<tokio::sync::watch::Sender<bool>>,
}
