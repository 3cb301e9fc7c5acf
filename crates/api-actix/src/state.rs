//! What every handler can reach: the use cases (idempotent retries' included), the
//! storage's health, metrics and rate limits. Built by the composition root (`startup`), which alone knows the storage.

use std::sync::Arc;

use async_trait::async_trait;
use domain::{
    AccountService, BookingService, CatalogService, HoldService, IdempotencyService, StoreError,
};

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
}
