//! The values of idempotent retries. None of them knows HTTP: a status is a number, a
//! body is bytes.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use crate::shared::UserId;

/// A client's `Idempotency-Key`: 1 to 255 visible ASCII characters (`!` to `~`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const MAX_LEN: usize = 255;

    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() || raw.len() > Self::MAX_LEN {
            return Err(format!("must be 1 to {} characters long", Self::MAX_LEN));
        }
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("must be visible ASCII characters only (no spaces)".into());
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a key holds: the same key of another user, method or path is another key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyScope {
    pub user: UserId,
    /// The request method, upper case (`POST`).
    pub method: String,
    /// The request path, without the query string.
    pub path: String,
    pub key: IdempotencyKey,
}

/// A digest of the request body's bytes: a retry must send the same bytes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RequestFingerprint(pub Vec<u8>);

impl fmt::Debug for RequestFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequestFingerprint(")?;
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))?;
        write!(f, ")")
    }
}

/// Tells one request that claimed a scope from another that claims it later (after the
/// first one's row expired or was abandoned): only the holder may complete or release it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClaimToken(pub String);

/// A scope held by one running request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    pub scope: IdempotencyScope,
    pub token: ClaimToken,
}

/// The answer kept for a key and given again to its retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyState {
    /// Its request is still running (or died before it answered).
    InFlight,
    Done(StoredAnswer),
}

/// What storage holds for a scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub fingerprint: RequestFingerprint,
    /// When the scope was claimed: retention and the in-flight timeout count from here.
    pub created_at: DateTime<Utc>,
    pub state: KeyState,
}

/// How long keys live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdempotencyPolicy {
    /// After this, a key is forgotten: the same key runs again as a new request.
    pub retention: TimeDelta,
    /// After this, a request still in flight is taken as dead (its process stopped
    /// before it answered), and a retry may claim the key. Far longer than any request
    /// can run, since every database wait is bounded.
    pub in_flight_timeout: TimeDelta,
}

/// Turns a use case's result into the answer kept for its key.
pub type RenderAnswer<T> = Arc<dyn Fn(&T) -> StoredAnswer + Send + Sync>;

/// The answer a use case commits in the same transaction as its change, so that a
/// crash between the commit and the reply still leaves the retry its answer. `render`
/// turns the use case's result into that answer (the HTTP adapter's own rendering).
pub struct IdempotentAnswer<T: ?Sized> {
    pub claim: IdempotencyClaim,
    pub render: RenderAnswer<T>,
}

impl<T: ?Sized> IdempotentAnswer<T> {
    pub fn render(&self, result: &T) -> StoredAnswer {
        (self.render)(result)
    }
}

impl<T: ?Sized> Clone for IdempotentAnswer<T> {
    fn clone(&self) -> Self {
        Self {
            claim: self.claim.clone(),
            render: self.render.clone(),
        }
    }
}

impl<T: ?Sized> fmt::Debug for IdempotentAnswer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdempotentAnswer")
            .field("claim", &self.claim)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_1_to_255_visible_ascii_characters() {
        assert!(IdempotencyKey::parse("a").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        assert!(IdempotencyKey::parse("!~{}\"'").is_ok());
        assert!(IdempotencyKey::parse("550e8400-e29b-41d4-a716-446655440000").is_ok());
        for bad in ["", " ", "a b", "tab\t", "é", "line\n", "\u{7f}"] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
    }
}
