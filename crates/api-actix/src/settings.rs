//! Configuration, in layers: the built-in `config/default.toml`, then
//! `config/{APP_ENV}.toml` if present, then `APP__SECTION__KEY` environment variables
//! and `DATABASE_URL`.

use config::{Config, Environment, File, FileFormat};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

const DEFAULTS: &str = include_str!("../../../config/default.toml");
/// One day: the longest hold lifetime accepted.
const MAX_HOLD_SECONDS: u64 = 86_400;

/// Ten years: the longest idempotency retention or in-flight timeout accepted.
const MAX_IDEMPOTENCY_SECONDS: u64 = 10 * 366 * 86_400;
/// The committed development secret; refused in production.
pub const DEV_JWT_SECRET: &str = "dev-only-secret-change-me-dev-only-secret";

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    #[serde(skip)]
    pub env: String,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub booking: BookingSettings,
    pub rate_limit: RateLimitSettings,
    pub idempotency: IdempotencySettings,
    pub live: LiveSettings,
    pub log: LogSettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub workers: usize,
    pub request_timeout_seconds: u64,
    pub keep_alive_seconds: u64,
    pub shutdown_timeout_seconds: u64,
    pub allowed_hosts: Vec<String>,
    pub cors_allowed_origins: Vec<String>,
    pub tls_cert_path: String,
    pub tls_key_path: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    pub url: String,
    pub pool_size: usize,
    pub pool_timeout_ms: u64,
    pub lock_timeout_ms: u64,
    pub statement_timeout_ms: u64,
    pub allow_sqlite_in_production: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    pub jwt_secret: SecretString,
    pub jwt_secret_file: String,
    pub access_ttl_seconds: i64,
    pub refresh_ttl_seconds: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BookingSettings {
    /// The currency new shows are priced in (ISO 4217, checked at start-up).
    pub currency: String,
    /// A new hold's lifetime, and what an extension adds from its moment.
    pub hold_ttl_seconds: u64,
    /// No hold lives longer than this after its creation, however often extended.
    pub hold_max_seconds: u64,
    pub hold_max_extensions: u32,
    /// Seats in one user's active holds, across all shows.
    pub max_held_seats_per_user: u32,
    /// How often housekeeping marks expired holds `EXPIRED`; 0 = never (expiry is exact
    /// without it: it only tidies up).
    pub hold_housekeeping_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RateLimitSettings {
    pub auth_per_minute: u32,
    pub bookings_per_minute: u32,
    /// CIDRs (or single addresses) of the proxies whose X-Forwarded-For is believed.
    pub trusted_proxies: Vec<String>,
    /// Empty: counted per process. A secret, as it may carry a password.
    pub redis_url: SecretString,
    pub redis_key_prefix: String,
    pub redis_timeout_ms: u64,
    /// Replaced by `trusted_proxies`; `true` is refused at start-up.
    #[serde(default)]
    pub trust_forwarded_for: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct IdempotencySettings {
    /// How long an `Idempotency-Key`'s answer is kept.
    pub retention_seconds: u64,
    /// After this, a request with a key that has not answered is taken as dead.
    pub in_flight_timeout_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LiveSettings {
    /// A seat stream with nothing to say sends a comment line this often.
    pub heartbeat_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub format: String,
    pub level: String,
}

impl Settings {
    /// Reads the layers for `APP_ENV` (default `development`).
    pub fn load() -> Result<Self, config::ConfigError> {
        let env = std::env::var("APP_ENV").unwrap_or_else(|_| "development".into());
        let dir = std::env::var("APP_CONFIG_DIR").unwrap_or_else(|_| "config".into());
        let mut builder = Config::builder()
            .add_source(File::from_str(DEFAULTS, FileFormat::Toml))
            .add_source(File::with_name(&format!("{dir}/{env}")).required(false))
            .add_source(
                Environment::with_prefix("APP")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true)
                    .list_separator(",")
                    .with_list_parse_key("server.allowed_hosts")
                    .with_list_parse_key("server.cors_allowed_origins")
                    .with_list_parse_key("rate_limit.trusted_proxies"),
            );
        if let Ok(url) = std::env::var("DATABASE_URL") {
            builder = builder.set_override("database.url", url)?;
        }
        let mut settings: Settings = builder.build()?.try_deserialize()?;
        settings.env = env;
        // `APP__SERVER__ALLOWED_HOSTS=""` means "none", not one empty name.
        for list in [
            &mut settings.server.allowed_hosts,
            &mut settings.server.cors_allowed_origins,
            &mut settings.rate_limit.trusted_proxies,
        ] {
            list.retain(|entry| !entry.trim().is_empty());
        }
        if !settings.auth.jwt_secret_file.is_empty() {
            let path = &settings.auth.jwt_secret_file;
            let secret = std::fs::read_to_string(path).map_err(|e| {
                config::ConfigError::Message(format!(
                    "cannot read auth.jwt_secret_file {path}: {e}"
                ))
            })?;
            settings.auth.jwt_secret = SecretString::from(secret.trim().to_owned());
        }
        Ok(settings)
    }

    pub fn tls_enabled(&self) -> bool {
        !self.server.tls_cert_path.is_empty() || !self.server.tls_key_path.is_empty()
    }

    pub fn is_production(&self) -> bool {
        self.env == "production"
    }

    /// Refuses settings that must never reach production, with a one-line reason.
    pub fn check(&self) -> Result<(), String> {
        let secret = self.auth.jwt_secret.expose_secret();
        if self.is_production() {
            if secret == DEV_JWT_SECRET {
                return Err(
                    "APP_ENV=production with the development JWT secret: set APP__AUTH__JWT_SECRET"
                        .into(),
                );
            }
            if secret.len() < 32 {
                return Err("APP_ENV=production needs a JWT secret of at least 32 bytes (APP__AUTH__JWT_SECRET)".into());
            }
        }
        if self.tls_enabled()
            && (self.server.tls_cert_path.is_empty() || self.server.tls_key_path.is_empty())
        {
            return Err("server.tls_cert_path and server.tls_key_path must be set together".into());
        }
        if self.auth.access_ttl_seconds <= 0 || self.auth.refresh_ttl_seconds <= 0 {
            return Err(
                "auth.access_ttl_seconds and auth.refresh_ttl_seconds must be positive".into(),
            );
        }
        let booking = &self.booking;
        if !(1..=MAX_HOLD_SECONDS).contains(&booking.hold_ttl_seconds)
            || !(booking.hold_ttl_seconds..=MAX_HOLD_SECONDS).contains(&booking.hold_max_seconds)
        {
            return Err(format!(
                "booking.hold_ttl_seconds must be 1 to {MAX_HOLD_SECONDS}, and booking.hold_max_seconds from it to {MAX_HOLD_SECONDS}"
            ));
        }
        if booking.hold_max_extensions > 1000
            || !(1..=1000).contains(&booking.max_held_seats_per_user)
        {
            return Err(
                "booking.hold_max_extensions must be 0 to 1000 and booking.max_held_seats_per_user 1 to 1000".into(),
            );
        }
        if !(1..=3600).contains(&self.live.heartbeat_seconds) {
            return Err("live.heartbeat_seconds must be 1 to 3600".into());
        }
        // Bounded so that a timestamp plus either of them stays a valid time.
        let idempotency = &self.idempotency;
        if !(1..=MAX_IDEMPOTENCY_SECONDS).contains(&idempotency.retention_seconds)
            || !(1..=MAX_IDEMPOTENCY_SECONDS).contains(&idempotency.in_flight_timeout_seconds)
        {
            return Err(format!(
                "idempotency.retention_seconds and idempotency.in_flight_timeout_seconds must be 1 to {MAX_IDEMPOTENCY_SECONDS}"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        let mut settings = Settings::load().expect("defaults load");
        settings.env = "production".into();
        settings.database.url = "postgres://app@db/x".into();
        settings
    }

    #[test]
    fn secrets_print_redacted() {
        let mut settings = settings();
        settings.auth.jwt_secret =
            SecretString::from("a-production-secret-of-more-than-32-bytes".to_owned());
        let printed = format!("{settings:?}");
        assert!(!printed.contains("a-production-secret"), "{printed}");
        assert!(printed.contains("REDACTED"), "{printed}");
    }

    #[test]
    fn production_refuses_weak_secrets() {
        let mut settings = settings();
        assert!(settings.check().is_err(), "the development secret");
        settings.auth.jwt_secret = SecretString::from("short".to_owned());
        assert!(settings.check().is_err(), "a short secret");
        settings.auth.jwt_secret = SecretString::from("x".repeat(32));
        assert!(settings.check().is_ok());
    }

    #[test]
    fn hold_times_must_be_positive_and_ordered() {
        let mut settings = Settings::load().unwrap();
        assert_eq!(settings.booking.hold_ttl_seconds, 600);
        assert_eq!(settings.booking.hold_max_seconds, 1800);
        assert!(settings.check().is_ok());
        settings.booking.hold_ttl_seconds = 0;
        assert!(settings.check().unwrap_err().contains("hold_ttl_seconds"));
        settings.booking.hold_ttl_seconds = 2000;
        assert!(settings.check().unwrap_err().contains("hold_max_seconds"));
        settings.booking.hold_ttl_seconds = 600;
        settings.booking.max_held_seats_per_user = 0;
        assert!(settings
            .check()
            .unwrap_err()
            .contains("max_held_seats_per_user"));
    }

    #[test]
    fn idempotency_times_must_be_positive_and_bounded() {
        let mut settings = Settings::load().expect("defaults load");
        assert_eq!(settings.idempotency.retention_seconds, 86_400);
        assert!(settings.check().is_ok());
        settings.idempotency.retention_seconds = 0;
        assert!(settings.check().unwrap_err().contains("idempotency"));
        settings.idempotency.retention_seconds = u64::MAX;
        assert!(settings.check().is_err());
        settings.idempotency.retention_seconds = 1;
        settings.idempotency.in_flight_timeout_seconds = 0;
        assert!(settings.check().is_err());
    }
}
