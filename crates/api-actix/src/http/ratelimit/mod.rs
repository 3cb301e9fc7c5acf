//! Rate limits: per client IP on signup, login, token refresh and logout; per user on
//! booking.
//! A limit of 0 turns it off (test suites and benchmarks sign up many users from one IP).
//!
//! The limits are enforced by a middleware ([`enforce`]) that runs before the handler's
//! extractors, so every request to a limited route counts, whatever its outcome: a
//! malformed body costs as much of the allowance as a valid one. Counts are kept in
//! Redis when `rate_limit.redis_url` is set (shared by every process, see `shared`), and
//! per process otherwise or while Redis is unavailable.

mod client_ip;
mod shared;

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, ResponseError};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use secrecy::ExposeSecret;

pub use client_ip::TrustedProxies;
use shared::{Outcome, Shared};

use crate::http::extract::authenticate;
use crate::http::metrics::Metrics;
use crate::http::ApiError;
use crate::settings::RateLimitSettings;
use crate::state::AppState;

/// Routes limited per client IP, and the route limited per user (patterns of `app.rs`).
const AUTH_ROUTES: &[&str] = &[
    "/api/signup/",
    "/api/login/",
    "/api/token/refresh/",
    "/api/logout/",
];
/// Routes that take seats, counted together per user.
const BOOKING_ROUTES: &[&str] = &["/api/shows/{id}/book/", "/api/shows/{id}/holds/"];

struct Limit<K: Hash + Eq + Clone> {
    per_minute: NonZeroU32,
    limiter: DefaultKeyedRateLimiter<K>,
    checks: AtomicU64,
}

impl<K: Hash + Eq + Clone> Limit<K> {
    fn per_minute(n: u32) -> Option<Self> {
        NonZeroU32::new(n).map(|per_minute| Self {
            per_minute,
            limiter: DefaultKeyedRateLimiter::keyed(Quota::per_minute(per_minute)),
            checks: AtomicU64::new(0),
        })
    }

    /// Counts in this process; `Err` holds the wait until the key is allowed again.
    fn check_here(&self, key: &K) -> Result<(), Duration> {
        // Forget keys that are back to a full quota now and then, so memory stays bounded.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

pub struct RateLimits {
    auth: Option<Limit<IpAddr>>,
    bookings: Option<Limit<i64>>,
    proxies: TrustedProxies,
    shared: Option<Arc<Shared>>,
}

impl RateLimits {
    pub fn new(settings: &RateLimitSettings, metrics: &Metrics) -> Result<Self, String> {
        check_settings(settings)?;
        let url = settings.redis_url.expose_secret();
        let shared = if url.is_empty() {
            None
        } else {
            Some(Arc::new(Shared::new(
                url,
                &settings.redis_key_prefix,
                Duration::from_millis(settings.redis_timeout_ms),
                metrics,
            )?))
        };
        Ok(Self {
            auth: Limit::per_minute(settings.auth_per_minute),
            bookings: Limit::per_minute(settings.bookings_per_minute),
            proxies: TrustedProxies::parse(&settings.trusted_proxies)?,
            shared,
        })
    }

    /// Connects to Redis in the background, when one is configured. Call it from the
    /// runtime that serves (it outlives the HTTP workers).
    pub fn start(&self) -> Result<(), String> {
        self.shared.as_ref().map_or(Ok(()), Shared::start)
    }

    /// The address a request counts against (see `client_ip`).
    pub fn client_ip(&self, req: &ServiceRequest) -> IpAddr {
        self.proxies
            .client_ip(req.peer_addr().map(|addr| addr.ip()), req.headers())
    }

    pub async fn check_auth(&self, ip: IpAddr) -> Result<(), ApiError> {
        match &self.auth {
            Some(limit) => self.check(limit, "auth", ip).await,
            None => Ok(()),
        }
    }

    pub async fn check_booking(&self, user: i64) -> Result<(), ApiError> {
        match &self.bookings {
            Some(limit) => self.check(limit, "booking", user).await,
            None => Ok(()),
        }
    }

    async fn check<K>(&self, limit: &Limit<K>, class: &str, key: K) -> Result<(), ApiError>
    where
        K: Hash + Eq + Clone + ToString,
    {
        let outcome = match &self.shared {
            Some(shared) => {
                shared
                    .check(class, &key.to_string(), limit.per_minute)
                    .await
            }
            None => Outcome::Unavailable,
        };
        let refused = match outcome {
            Outcome::Allowed => return Ok(()),
            Outcome::Refused(wait) => wait,
            Outcome::Unavailable => match limit.check_here(&key) {
                Ok(()) => return Ok(()),
                Err(wait) => wait,
            },
        };
        Err(ApiError::too_many_requests(
            refused.as_secs_f64().ceil() as u32
        ))
    }
}

/// Refuses rate-limit settings that cannot work, with a one-line reason.
pub fn check_settings(settings: &RateLimitSettings) -> Result<(), String> {
    if settings.trust_forwarded_for {
        return Err("rate_limit.trust_forwarded_for is no longer supported (any client could pick its own IP): list the proxies whose X-Forwarded-For is trusted in rate_limit.trusted_proxies (e.g. APP__RATE_LIMIT__TRUSTED_PROXIES=10.0.0.0/8), and remove trust_forwarded_for".into());
    }
    TrustedProxies::parse(&settings.trusted_proxies)?;
    if !settings.redis_url.expose_secret().is_empty() {
        redis::Client::open(settings.redis_url.expose_secret())
            .map_err(|e| format!("rate_limit.redis_url is not a Redis URL: {e}"))?;
        if settings.redis_timeout_ms == 0 {
            return Err("rate_limit.redis_timeout_ms must be positive".into());
        }
    }
    Ok(())
}

/// The middleware: counts the request against its route's limit before any extractor
/// reads the body, and answers 429 with `Retry-After` beyond it.
pub async fn enforce<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    if let Err(error) = check_request(&req).await {
        return Ok(req
            .into_response(error.error_response())
            .map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

async fn check_request(req: &ServiceRequest) -> Result<(), ApiError> {
    let Some(pattern) = req.match_pattern() else {
        return Ok(());
    };
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return Ok(());
    };
    let limits = &state.limits;
    if AUTH_ROUTES.contains(&pattern.as_str()) {
        limits.check_auth(limits.client_ip(req)).await
    } else if BOOKING_ROUTES.contains(&pattern.as_str()) {
        // Without a valid token there is no user to count; the handler answers 401.
        match authenticate(req.request()) {
            Ok(user) => limits.check_booking(user.id.0).await,
            Err(_) => Ok(()),
        }
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limited_patterns_are_routes_of_the_app() {
        let posted = |path: &str| crate::app::ROUTES.contains(&("post", path));
        for route in AUTH_ROUTES.iter().chain(BOOKING_ROUTES) {
            assert!(posted(route), "{route} is not a POST route of app.rs");
        }
    }

    fn settings() -> RateLimitSettings {
        crate::settings::Settings::load()
            .expect("defaults load")
            .rate_limit
    }

    #[test]
    fn the_old_trust_forwarded_for_is_refused_with_the_replacement_named() {
        let mut settings = settings();
        assert!(check_settings(&settings).is_ok());
        settings.trust_forwarded_for = true;
        let error = check_settings(&settings).unwrap_err();
        assert!(error.contains("rate_limit.trusted_proxies"), "{error}");
    }

    #[test]
    fn bad_proxies_and_redis_urls_are_refused() {
        let mut settings = settings();
        settings.trusted_proxies = vec!["10.0.0.0/8".into(), "nonsense".into()];
        assert!(check_settings(&settings).unwrap_err().contains("nonsense"));
        let mut settings = self::tests::settings();
        settings.redis_url = "http://not-redis".to_owned().into();
        assert!(check_settings(&settings).is_err());
        settings.redis_url = "redis://127.0.0.1:6379".to_owned().into();
        assert!(check_settings(&settings).is_ok());
    }

    #[tokio::test]
    async fn without_redis_the_limit_is_counted_here() {
        let mut settings = settings();
        settings.auth_per_minute = 2;
        let limits = RateLimits::new(&settings, &Metrics::new().unwrap()).unwrap();
        let ip: IpAddr = "198.51.100.7".parse().unwrap();
        assert!(limits.check_auth(ip).await.is_ok());
        assert!(limits.check_auth(ip).await.is_ok());
        assert!(limits.check_auth(ip).await.is_err());
        // Per IP.
        assert!(limits
            .check_auth("198.51.100.8".parse().unwrap())
            .await
            .is_ok());
    }
}
