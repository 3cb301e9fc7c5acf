//! What every handler can reach: the use cases, the database for readiness, metrics
//! and rate limits.

use std::sync::Arc;

use domain::{AccountService, BookingService, CatalogService};
use infra_diesel::{Database, DieselStore};

use crate::auth::{Argon2Hasher, JwtTokens, SystemClock};
use crate::metrics::Metrics;
use crate::ratelimit::RateLimits;
use crate::settings::Settings;

#[derive(Clone)]
pub struct AppState {
    pub accounts: AccountService,
    pub catalog: CatalogService,
    pub bookings: BookingService,
    pub database: Database,
    pub metrics: Arc<Metrics>,
    pub limits: Arc<RateLimits>,
    /// Take the client IP from X-Forwarded-For.
    pub trust_forwarded_for: bool,
}

impl AppState {
    /// Wires the storage adapter and the security adapters into the use cases.
    pub fn new(settings: &Settings, database: Database) -> anyhow::Result<Self> {
        let store = Arc::new(DieselStore::new(database.clone()));
        let clock = Arc::new(SystemClock);
        let tokens = Arc::new(JwtTokens::new(
            &settings.auth.jwt_secret,
            settings.auth.access_ttl_seconds,
            settings.auth.refresh_ttl_seconds,
        ));
        let hasher = Arc::new(Argon2Hasher::new()?);
        Ok(Self {
            accounts: AccountService::new(store.clone(), hasher, tokens),
            catalog: CatalogService::new(store.clone(), clock.clone()),
            bookings: BookingService::new(store, clock),
            database,
            metrics: Arc::new(Metrics::new()?),
            limits: Arc::new(RateLimits::new(&settings.rate_limit)),
            trust_forwarded_for: settings.rate_limit.trust_forwarded_for,
        })
    }
}
