//! Rate limits: per client IP on signup, login and token refresh; per user on booking.
//! A limit of 0 turns it off (test suites and benchmarks sign up many users from one IP).

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::http::ApiError;
use crate::settings::RateLimitSettings;

struct Limit<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    checks: AtomicU64,
}

impl<K: Hash + Eq + Clone> Limit<K> {
    fn per_minute(n: u32) -> Option<Self> {
        NonZeroU32::new(n).map(|n| Self {
            limiter: DefaultKeyedRateLimiter::keyed(Quota::per_minute(n)),
            checks: AtomicU64::new(0),
        })
    }

    fn check(&self, key: &K) -> Result<(), ApiError> {
        // Forget keys that are back to a full quota now and then, so memory stays bounded.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::too_many_requests(wait.as_secs_f64().ceil() as u32)
        })
    }
}

pub struct RateLimits {
    auth: Option<Limit<IpAddr>>,
    bookings: Option<Limit<i64>>,
}

impl RateLimits {
    pub fn new(settings: &RateLimitSettings) -> Self {
        Self {
            auth: Limit::per_minute(settings.auth_per_minute),
            bookings: Limit::per_minute(settings.bookings_per_minute),
        }
    }

    pub fn check_auth(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        match (&self.auth, ip) {
            (Some(limit), Some(ip)) => limit.check(&ip),
            _ => Ok(()),
        }
    }

    pub fn check_booking(&self, user: i64) -> Result<(), ApiError> {
        match &self.bookings {
            Some(limit) => limit.check(&user),
            None => Ok(()),
        }
    }
}
