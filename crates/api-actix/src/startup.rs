//! The composition root: the one module that names the storage adapter. It checks the
//! settings, opens and migrates the database, wires the storage and security adapters
//! into the use cases, and serves.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::HttpServer;
use anyhow::Context;
use async_trait::async_trait;
use domain::{
    AccountService, BookingService, CatalogService, Currency, HoldPolicy, HoldService,
    IdempotencyPolicy, IdempotencyService, StoreError,
};
use infra_diesel::{
    redact_url, sqlite_path, Database, DieselStore, SeatFeed, Start, StoreSettings,
};
use paperclip::actix::web;

use crate::app::build_app;
use crate::http::metrics::{Metrics, PoolStatus};
use crate::http::ratelimit::RateLimits;
use crate::security::{Argon2Hasher, JwtTokens, SystemClock};
use crate::settings::{BookingSettings, DatabaseSettings, IdempotencySettings, Settings};
use crate::state::{AppState, Health, LiveSeats, SeatSubscription, StreamStart};

/// The database the service runs on, opened but not yet wired.
#[derive(Clone)]
pub struct Storage {
    database: Database,
}

impl From<Database> for Storage {
    fn from(database: Database) -> Self {
        Self { database }
    }
}

impl Storage {
    /// Opens the pool and applies pending migrations.
    pub async fn open(settings: &Settings) -> anyhow::Result<Self> {
        let url = redact_url(&settings.database.url);
        let database = Database::connect(&store_settings(&settings.database))
            .with_context(|| format!("cannot open the database {url}"))?;
        database
            .migrate()
            .await
            .with_context(|| format!("cannot migrate the database {url}"))?;
        Ok(Self { database })
    }

    /// The use cases over this storage and the security adapters, ready for handlers,
    /// and the seat feed they read through, to be started.
    pub fn wire(&self, settings: &Settings) -> anyhow::Result<(AppState, SeatFeed)> {
        let clock = Arc::new(SystemClock);
        let store = Arc::new(DieselStore::new(self.database.clone()).with_clock(clock.clone()));
        let feed = store.seat_feed().clone();
        let tokens = Arc::new(JwtTokens::new(
            &settings.auth.jwt_secret,
            settings.auth.access_ttl_seconds,
            settings.auth.refresh_ttl_seconds,
        ));
        let hasher = Arc::new(Argon2Hasher::new()?);
        let metrics = Arc::new(Metrics::new()?);
        let limits = RateLimits::new(&settings.rate_limit, &metrics).map_err(anyhow::Error::msg)?;
        let currency = currency(settings).map_err(anyhow::Error::msg)?;
        let state = AppState {
            accounts: AccountService::new(
                store.clone(),
                store.clone(),
                hasher,
                tokens,
                clock.clone(),
            ),
            catalog: CatalogService::new(
                store.clone(),
                store.clone(),
                store.clone(),
                clock.clone(),
                currency,
            ),
            bookings: BookingService::new(store.clone(), store.clone(), clock.clone()),
            holds: HoldService::new(store.clone(), clock.clone(), hold_policy(&settings.booking)),
            idempotency: IdempotencyService::new(
                store,
                clock,
                idempotency_policy(&settings.idempotency),
            ),
            health: Arc::new(self.database.clone()),
            metrics,
            limits: Arc::new(limits),
            live: Arc::new(feed.clone()),
            heartbeat: Duration::from_secs(settings.live.heartbeat_seconds),
            answers: Arc::default(),
            stopping: Arc::new(tokio::sync::watch::Sender::new(false)),
        };
        Ok((state, feed))
    }

    pub fn close(&self) {
        self.database.close();
    }
}

#[async_trait]
impl Health for Database {
    async fn ping(&self) -> Result<(), StoreError> {
        Database::ping(self).await
    }

    fn pool_status(&self) -> PoolStatus {
        let status = Database::pool_status(self);
        PoolStatus {
            max_size: status.max_size,
            size: status.size,
            idle: status.idle,
            waiting: status.waiting,
        }
    }
}

#[async_trait]
impl LiveSeats for SeatFeed {
    async fn subscribe(
        &self,
        show: i64,
        last_id: Option<u64>,
    ) -> Result<Option<SeatSubscription>, StoreError> {
        Ok(SeatFeed::subscribe(self, show, last_id)
            .await?
            .map(|subscription| SeatSubscription {
                start: match subscription.start {
                    Start::Snapshot { id, seats } => StreamStart::Snapshot { id, seats },
                    Start::Replay(changes) => StreamStart::Replay(changes),
                },
                events: subscription.events,
            }))
    }

    async fn snapshot(&self, show: i64) -> Result<Option<(u64, domain::ShowSeats)>, StoreError> {
        SeatFeed::snapshot(self, show).await
    }

    fn version(&self) -> Option<u64> {
        SeatFeed::version(self)
    }

    fn seats_version(&self, show: i64) -> Option<(u64, u64)> {
        SeatFeed::seats_version(self, show)
    }
}

fn idempotency_policy(settings: &IdempotencySettings) -> IdempotencyPolicy {
    let seconds = |s: u64| chrono::TimeDelta::seconds(i64::try_from(s).unwrap_or(i64::MAX));
    IdempotencyPolicy {
        retention: seconds(settings.retention_seconds),
        in_flight_timeout: seconds(settings.in_flight_timeout_seconds),
    }
}

fn hold_policy(settings: &BookingSettings) -> HoldPolicy {
    let seconds = |s: u64| chrono::TimeDelta::seconds(i64::try_from(s).unwrap_or(i64::MAX));
    HoldPolicy {
        ttl: seconds(settings.hold_ttl_seconds),
        max_lifetime: seconds(settings.hold_max_seconds),
        max_extensions: settings.hold_max_extensions,
        max_held_seats_per_user: settings.max_held_seats_per_user as usize,
    }
}

/// How many expired holds one housekeeping transaction marks at most, so that a
/// backlog never holds locks for long.
const EXPIRE_BATCH: i64 = 500;

/// Housekeeping of holds: marks the expired ones `EXPIRED` and frees their seats in the
/// storage. Expiry is exact without it (a seat whose hold has expired is free to anyone
/// who asks), and it is harmless late, twice or in several processes at once, so a
/// failure is only logged.
async fn expire_holds(holds: HoldService, metrics: Arc<Metrics>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        loop {
            match holds.expire(EXPIRE_BATCH).await {
                Ok(0) => break,
                Ok(expired) => {
                    metrics.holds_expired.inc_by(expired as u64);
                    tracing::debug!(expired, "expired holds marked");
                    if (expired as i64) < EXPIRE_BATCH {
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot mark expired holds");
                    break;
                }
            }
        }
    }
}

/// Ends the seat streams when a signal stops the server (actix handles the signal
/// itself): a graceful shutdown waits for open responses, and a stream never ends.
async fn end_streams_on_signal(stopping: Arc<tokio::sync::watch::Sender<bool>>) {
    use tokio::signal::unix::{signal, SignalKind};
    let kinds = [
        SignalKind::terminate(),
        SignalKind::interrupt(),
        SignalKind::quit(),
    ];
    let mut signals = Vec::new();
    for kind in kinds {
        match signal(kind) {
            Ok(stream) => signals.push(stream),
            Err(error) => tracing::warn!(%error, "cannot listen for a stop signal"),
        }
    }
    if signals.is_empty() {
        return;
    }
    let any = futures_util::future::select_all(signals.iter_mut().map(|s| Box::pin(s.recv())));
    any.await;
    stopping.send_replace(true);
}

/// Housekeeping of idempotency keys: deletes the expired ones now and then. Nothing
/// depends on it having run (an expired key counts as absent), and running it twice or
/// in several processes at once is harmless, so a failure is only logged.
async fn purge_expired_keys(idempotency: IdempotencyService, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match idempotency.purge_expired().await {
            Ok(0) => {}
            Ok(purged) => tracing::debug!(purged, "expired idempotency keys deleted"),
            Err(error) => tracing::warn!(%error, "cannot delete expired idempotency keys"),
        }
    }
}

/// The storage adapter's settings, from the `database` section.
pub fn store_settings(database: &DatabaseSettings) -> StoreSettings {
    StoreSettings {
        url: database.url.clone(),
        pool_size: database.pool_size,
        pool_timeout: Duration::from_millis(database.pool_timeout_ms),
        lock_timeout: Duration::from_millis(database.lock_timeout_ms),
        statement_timeout: Duration::from_millis(database.statement_timeout_ms),
    }
}

/// The currency new shows are priced in.
fn currency(settings: &Settings) -> Result<Currency, String> {
    Currency::parse(&settings.booking.currency)
        .map_err(|problem| format!("booking.currency {problem}"))
}

/// Every check of the settings, including those that need to know the backends.
pub fn check(settings: &Settings) -> Result<(), String> {
    settings.check()?;
    crate::http::ratelimit::check_settings(&settings.rate_limit)?;
    currency(settings)?;
    if settings.is_production()
        && sqlite_path(&settings.database.url).is_some()
        && !settings.database.allow_sqlite_in_production
    {
        return Err("APP_ENV=production with SQLite: set DATABASE_URL=postgres://... (or APP__DATABASE__ALLOW_SQLITE_IN_PRODUCTION=true for a single-machine deployment)".into());
    }
    Ok(())
}

/// The database URL with its password hidden, for logs.
pub fn database_for_logs(settings: &Settings) -> String {
    redact_url(&settings.database.url)
}

pub struct Application {
    port: u16,
    server: Server,
    storage: Storage,
    housekeeping: Vec<tokio::task::JoinHandle<()>>,
}

impl Application {
    /// Checks the settings, opens the storage and binds the listener; `run` serves.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        check(&settings).map_err(anyhow::Error::msg)?;
        let storage = Storage::open(&settings).await?;
        let listener = TcpListener::bind((settings.server.host.as_str(), settings.server.port))
            .with_context(|| {
                format!(
                    "cannot listen on {}:{}",
                    settings.server.host, settings.server.port
                )
            })?;
        Self::with_listener(settings, storage, listener)
    }

    pub fn with_listener(
        settings: Settings,
        storage: impl Into<Storage>,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        let storage = storage.into();
        let port = listener.local_addr()?.port();
        let (state, feed) = storage.wire(&settings)?;
        let state = web::Data::new(state);
        state.limits.start().map_err(anyhow::Error::msg)?;
        let idempotency = state.idempotency.clone();
        let holds = (state.holds.clone(), state.metrics.clone());
        let stopping = state.stopping.clone();
        let server_settings = settings.server.clone();
        let http = server_settings.clone();
        let mut server = HttpServer::new(move || build_app(state.clone(), &http))
            .client_request_timeout(Duration::from_secs(server_settings.request_timeout_seconds))
            .keep_alive(Duration::from_secs(server_settings.keep_alive_seconds))
            .shutdown_timeout(server_settings.shutdown_timeout_seconds);
        if server_settings.workers > 0 {
            server = server.workers(server_settings.workers);
        }
        let server = if settings.tls_enabled() {
            server.listen_rustls_0_23(listener, tls_config(&settings)?)?
        } else {
            server.listen(listener)?
        }
        .run();
        // On the runtime that serves, which outlives the HTTP workers. As often as keys
        // expire, within 1 s to 5 min.
        let every = Duration::from_secs(settings.idempotency.retention_seconds.clamp(1, 300));
        let runtime = tokio::runtime::Handle::try_current()
            .context("the application needs a Tokio runtime")?;
        let mut housekeeping = feed.start();
        housekeeping.push(runtime.spawn(end_streams_on_signal(stopping)));
        housekeeping.push(runtime.spawn(purge_expired_keys(idempotency, every)));
        if settings.booking.hold_housekeeping_seconds > 0 {
            let every = Duration::from_secs(settings.booking.hold_housekeeping_seconds);
            housekeeping.push(runtime.spawn(expire_holds(holds.0, holds.1, every)));
        }
        Ok(Self {
            port,
            server,
            storage,
            housekeeping,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGINT/SIGTERM (or a stop), letting in-flight requests finish.
    pub async fn run(self) -> std::io::Result<()> {
        let result = self.server.await;
        for task in &self.housekeeping {
            task.abort();
        }
        self.storage.close();
        result
    }
}

/// rustls with ring, from the PEM certificate chain and private key in the settings.
fn tls_config(settings: &Settings) -> anyhow::Result<rustls::ServerConfig> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let (cert_path, key_path) = (
        &settings.server.tls_cert_path,
        &settings.server.tls_key_path,
    );
    let certs = CertificateDer::pem_file_iter(cert_path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("cannot read the TLS certificate chain {cert_path}"))?;
    let key = PrivateKeyDer::from_pem_file(key_path)
        .with_context(|| format!("cannot read the TLS private key {key_path}"))?;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the TLS certificate and key do not match")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    #[test]
    fn production_refuses_sqlite_unless_allowed() {
        let mut settings = Settings::load().unwrap();
        settings.env = "production".into();
        settings.auth.jwt_secret = SecretString::from("x".repeat(32));
        settings.database.url = "postgres://db/x".into();
        assert!(check(&settings).is_ok());
        settings.database.url = "sqlite://data/x.sqlite3".into();
        assert!(check(&settings).is_err(), "SQLite in production");
        settings.database.allow_sqlite_in_production = true;
        assert!(check(&settings).is_ok());
    }

    #[test]
    fn the_currency_must_be_an_iso_code() {
        let mut settings = Settings::load().unwrap();
        assert_eq!(settings.booking.currency, "EUR");
        assert!(check(&settings).is_ok());
        settings.booking.currency = "euro".into();
        assert!(check(&settings).unwrap_err().contains("booking.currency"));
    }
}
