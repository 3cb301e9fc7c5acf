//! The rules of idempotent retries, as pure functions: what a request with a key gets,
//! given what storage holds for its scope (applied by the storage adapter inside the
//! transaction that claims the key), and which answers are kept.

use chrono::{DateTime, Utc};

use super::model::*;

/// What a request with a key gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing live holds the scope: the request claims it and runs.
    Claim,
    /// The same request ran: its answer, given again, and nothing changes.
    Replay(StoredAnswer),
    /// The key was used with another body.
    Reused,
    /// The same request is still running.
    InFlight,
}

/// The verdict on a request with `fingerprint`, given the record that holds its scope.
///
/// An expired record is as good as absent, whatever housekeeping has deleted yet; so is
/// a record in flight past the in-flight timeout (its request died before answering).
/// A different body is refused before anything else: it is the client's mistake, and
/// waiting would not cure it.
pub fn decide(
    existing: Option<IdempotencyRecord>,
    fingerprint: &RequestFingerprint,
    now: DateTime<Utc>,
    policy: &IdempotencyPolicy,
) -> Verdict {
    let Some(record) = existing.filter(|r| !is_expired(r, now, policy)) else {
        return Verdict::Claim;
    };
    if record.fingerprint != *fingerprint {
        return Verdict::Reused;
    }
    match record.state {
        KeyState::Done(answer) => Verdict::Replay(answer),
        KeyState::InFlight if record.created_at + policy.in_flight_timeout <= now => Verdict::Claim,
        KeyState::InFlight => Verdict::InFlight,
    }
}

/// Past its retention, a record is forgotten.
pub fn is_expired(
    record: &IdempotencyRecord,
    now: DateTime<Utc>,
    policy: &IdempotencyPolicy,
) -> bool {
    record.created_at + policy.retention <= now
}

/// Records created before this are expired at `now`: what housekeeping deletes.
pub fn expired_before(now: DateTime<Utc>, policy: &IdempotencyPolicy) -> DateTime<Utc> {
    now - policy.retention
}

/// Whether an answer with this status is kept for retries. A 429 or a 5xx says "try
/// again later", so it is not: the retry runs again.
pub fn is_kept(status: u16) -> bool {
    status != 429 && !(500..=599).contains(&status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 15, 10, 0, 0).unwrap()
    }

    fn policy() -> IdempotencyPolicy {
        IdempotencyPolicy {
            retention: TimeDelta::seconds(86_400),
            in_flight_timeout: TimeDelta::seconds(60),
        }
    }

    fn body(n: u8) -> RequestFingerprint {
        RequestFingerprint(vec![n; 32])
    }

    fn answer() -> StoredAnswer {
        StoredAnswer {
            status: 201,
            content_type: Some("application/json".into()),
            body: br#"{"id":1}"#.to_vec(),
        }
    }

    fn record(age_seconds: i64, state: KeyState) -> IdempotencyRecord {
        IdempotencyRecord {
            fingerprint: body(1),
            created_at: now() - TimeDelta::seconds(age_seconds),
            state,
        }
    }

    fn done(age_seconds: i64) -> Option<IdempotencyRecord> {
        Some(record(age_seconds, KeyState::Done(answer())))
    }

    fn in_flight(age_seconds: i64) -> Option<IdempotencyRecord> {
        Some(record(age_seconds, KeyState::InFlight))
    }

    #[test]
    fn a_new_key_runs() {
        assert_eq!(decide(None, &body(1), now(), &policy()), Verdict::Claim);
    }

    #[test]
    fn the_same_body_again_gets_the_kept_answer() {
        assert_eq!(
            decide(done(10), &body(1), now(), &policy()),
            Verdict::Replay(answer())
        );
    }

    #[test]
    fn another_body_with_the_key_is_refused_done_or_in_flight() {
        assert_eq!(
            decide(done(10), &body(2), now(), &policy()),
            Verdict::Reused
        );
        assert_eq!(
            decide(in_flight(1), &body(2), now(), &policy()),
            Verdict::Reused
        );
    }

    #[test]
    fn the_same_request_while_the_first_runs_is_in_flight() {
        assert_eq!(
            decide(in_flight(0), &body(1), now(), &policy()),
            Verdict::InFlight
        );
        assert_eq!(
            decide(in_flight(59), &body(1), now(), &policy()),
            Verdict::InFlight
        );
    }

    #[test]
    fn a_request_in_flight_past_the_timeout_is_taken_as_dead() {
        assert_eq!(
            decide(in_flight(60), &body(1), now(), &policy()),
            Verdict::Claim
        );
    }

    #[test]
    fn an_expired_record_is_as_good_as_absent() {
        assert_eq!(
            decide(done(86_400), &body(1), now(), &policy()),
            Verdict::Claim
        );
        // Expired, another body is a new request, not a reuse.
        assert_eq!(
            decide(done(86_401), &body(2), now(), &policy()),
            Verdict::Claim
        );
        assert_eq!(
            decide(done(86_399), &body(1), now(), &policy()),
            Verdict::Replay(answer())
        );
        assert_eq!(
            expired_before(now(), &policy()),
            now() - TimeDelta::seconds(86_400)
        );
    }

    #[test]
    fn rate_limits_and_server_errors_are_not_kept() {
        for status in [429, 500, 502, 503, 504, 599] {
            assert!(!is_kept(status), "{status}");
        }
        for status in [200, 201, 204, 400, 401, 403, 404, 409, 413, 422] {
            assert!(is_kept(status), "{status}");
        }
    }
}
