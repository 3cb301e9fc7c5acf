//! Seat holds: seats kept for one user for a few minutes while they pay, then confirmed
//! into bookings, released, or expired. This file holds the hold as a value and the
//! rules of its life (lifetime, extensions, the per-user cap, owner only, exact expiry);
//! pure functions over the clock's `now`, for a storage adapter to apply inside the
//! transaction that reads the hold under its lock.

use chrono::{DateTime, Duration, Utc};
use thiserror::Error;

use super::model::Ticket;
use crate::catalog::Currency;
use crate::shared::{HoldId, ShowId, UserId};

/// How long holds live and how many seats a user may hold: `booking.hold_*` settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldPolicy {
    /// A new hold's lifetime, and what an extension adds from its moment.
    pub ttl: Duration,
    /// No hold lives longer than this after its creation, however often extended.
    pub max_lifetime: Duration,
    pub max_extensions: u32,
    /// Seats in one user's active holds, across all shows.
    pub max_held_seats_per_user: usize,
}

impl Default for HoldPolicy {
    fn default() -> Self {
        Self {
            ttl: Duration::seconds(600),
            max_lifetime: Duration::seconds(1800),
            max_extensions: 2,
            max_held_seats_per_user: 10,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HoldStatus {
    Active,
    Confirmed,
    Released,
    Expired,
}

impl HoldStatus {
    pub const ALL: [Self; 4] = [Self::Active, Self::Confirmed, Self::Released, Self::Expired];

    /// The status as stored and as the contract spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Confirmed => "CONFIRMED",
            Self::Released => "RELEASED",
            Self::Expired => "EXPIRED",
        }
    }

    /// A status as stored: exactly one of [`Self::as_str`]'s spellings.
    pub fn from_stored(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// A status as a client writes it in a filter: any case.
    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::from_stored(&raw.to_ascii_uppercase())
            .ok_or_else(|| "must be ACTIVE, CONFIRMED, RELEASED or EXPIRED".into())
    }
}

/// A hold as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub id: HoldId,
    pub user_id: UserId,
    pub show_id: ShowId,
    pub seats: Vec<Ticket>,
    pub currency: Currency,
    /// As stored: an `Active` hold past `expires_at` is expired all the same.
    pub stored_status: HoldStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub extensions: u32,
}

impl Hold {
    /// The status at `now`: expiry is exact, whether or not housekeeping has marked it.
    pub fn status(&self, now: DateTime<Utc>) -> HoldStatus {
        match self.stored_status {
            HoldStatus::Active if self.expires_at <= now => HoldStatus::Expired,
            status => status,
        }
    }

    pub fn total_price(&self) -> i64 {
        self.seats.iter().map(|t| i64::from(t.price.get())).sum()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HoldRefusal {
    /// Unknown, or someone else's: the caller cannot tell which.
    #[error("hold not found")]
    NotFound,
    #[error("the hold has expired")]
    Expired,
    #[error("the hold is {0:?}, not active")]
    NotActive(HoldStatus),
    #[error("the hold cannot be extended any further")]
    ExtensionLimit,
    #[error("{held} seats already held; at most {max} at a time")]
    HoldLimit { held: usize, max: usize },
}

/// May a user who holds `already_held` seats in active holds hold `asked` more? And
/// until when would the new hold last?
pub fn check_new_hold(
    policy: &HoldPolicy,
    already_held: usize,
    asked: usize,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, HoldRefusal> {
    if already_held + asked > policy.max_held_seats_per_user {
        return Err(HoldRefusal::HoldLimit {
            held: already_held,
            max: policy.max_held_seats_per_user,
        });
    }
    Ok(now + policy.ttl)
}

/// May `user` confirm or release this hold now? Owner only, active and unexpired.
pub fn check_usable(hold: &Hold, user: UserId, now: DateTime<Utc>) -> Result<(), HoldRefusal> {
    if hold.user_id != user {
        return Err(HoldRefusal::NotFound);
    }
    match hold.status(now) {
        HoldStatus::Active => Ok(()),
        HoldStatus::Expired => Err(HoldRefusal::Expired),
        other => Err(HoldRefusal::NotActive(other)),
    }
}

/// The new `expires_at` of an extension: now + the lifetime, capped at the creation plus
/// the longest lifetime, at most `max_extensions` times; refused when the count is used
/// up or the cap leaves nothing to add.
pub fn check_extend(
    hold: &Hold,
    user: UserId,
    policy: &HoldPolicy,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, HoldRefusal> {
    check_usable(hold, user, now)?;
    if hold.extensions >= policy.max_extensions {
        return Err(HoldRefusal::ExtensionLimit);
    }
    let extended = (now + policy.ttl).min(hold.created_at + policy.max_lifetime);
    if extended <= hold.expires_at {
        return Err(HoldRefusal::ExtensionLimit);
    }
    Ok(extended)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Category, Price};
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 15, 10, 0, 0).unwrap()
    }

    fn hold(user: i64, status: HoldStatus, extensions: u32) -> Hold {
        Hold {
            id: HoldId(1),
            user_id: UserId(user),
            show_id: ShowId(1),
            seats: vec![
                Ticket {
                    seat_number: 5,
                    label: "A5".into(),
                    category: Category::parse("standard").unwrap(),
                    price: Price::parse(1250).unwrap(),
                },
                Ticket {
                    seat_number: 6,
                    label: "A6".into(),
                    category: Category::parse("premium").unwrap(),
                    price: Price::parse(1800).unwrap(),
                },
            ],
            currency: Currency::parse("EUR").unwrap(),
            stored_status: status,
            created_at: t0(),
            expires_at: t0() + Duration::seconds(600),
            extensions,
        }
    }

    #[test]
    fn a_hold_expires_exactly_at_its_expiry_whatever_housekeeping_did() {
        let h = hold(1, HoldStatus::Active, 0);
        assert_eq!(
            h.status(h.expires_at - Duration::milliseconds(1)),
            HoldStatus::Active
        );
        assert_eq!(h.status(h.expires_at), HoldStatus::Expired);
        let marked = hold(1, HoldStatus::Expired, 0);
        assert_eq!(marked.status(t0()), HoldStatus::Expired);
        assert_eq!(
            hold(1, HoldStatus::Confirmed, 0).status(h.expires_at),
            HoldStatus::Confirmed
        );
        assert_eq!(h.total_price(), 3050);
    }

    #[test]
    fn a_user_holds_at_most_the_cap_across_all_holds() {
        let policy = HoldPolicy::default();
        assert_eq!(
            check_new_hold(&policy, 8, 2, t0()),
            Ok(t0() + Duration::seconds(600))
        );
        assert_eq!(
            check_new_hold(&policy, 9, 2, t0()),
            Err(HoldRefusal::HoldLimit { held: 9, max: 10 })
        );
    }

    #[test]
    fn only_the_owner_uses_an_active_unexpired_hold() {
        let h = hold(1, HoldStatus::Active, 0);
        assert_eq!(check_usable(&h, UserId(1), t0()), Ok(()));
        assert_eq!(
            check_usable(&h, UserId(2), t0()),
            Err(HoldRefusal::NotFound)
        );
        assert_eq!(
            check_usable(&h, UserId(1), h.expires_at),
            Err(HoldRefusal::Expired)
        );
        assert_eq!(
            check_usable(&hold(1, HoldStatus::Released, 0), UserId(1), t0()),
            Err(HoldRefusal::NotActive(HoldStatus::Released))
        );
        assert_eq!(
            check_usable(&hold(1, HoldStatus::Expired, 0), UserId(1), t0()),
            Err(HoldRefusal::Expired)
        );
    }

    #[test]
    fn an_extension_adds_the_lifetime_from_now_up_to_the_cap() {
        let policy = HoldPolicy::default();
        let h = hold(1, HoldStatus::Active, 0);
        let now = t0() + Duration::seconds(300);
        assert_eq!(
            check_extend(&h, UserId(1), &policy, now),
            Ok(now + Duration::seconds(600))
        );
        // Near the cap: only what is left until created_at + 30 min.
        let mut late = hold(1, HoldStatus::Active, 1);
        late.expires_at = t0() + Duration::seconds(1500);
        let now = t0() + Duration::seconds(1400);
        assert_eq!(
            check_extend(&late, UserId(1), &policy, now),
            Ok(t0() + Duration::seconds(1800))
        );
    }

    #[test]
    fn extensions_stop_at_their_count_or_when_the_cap_leaves_nothing() {
        let policy = HoldPolicy::default();
        let used_up = hold(1, HoldStatus::Active, 2);
        assert_eq!(
            check_extend(&used_up, UserId(1), &policy, t0()),
            Err(HoldRefusal::ExtensionLimit)
        );
        let mut at_cap = hold(1, HoldStatus::Active, 1);
        at_cap.expires_at = t0() + Duration::seconds(1800);
        assert_eq!(
            check_extend(&at_cap, UserId(1), &policy, t0() + Duration::seconds(1700)),
            Err(HoldRefusal::ExtensionLimit)
        );
        let h = hold(1, HoldStatus::Active, 0);
        assert_eq!(
            check_extend(&h, UserId(1), &policy, h.expires_at),
            Err(HoldRefusal::Expired)
        );
    }

    #[test]
    fn hold_status_round_trips() {
        for status in HoldStatus::ALL {
            assert_eq!(HoldStatus::from_stored(status.as_str()), Some(status));
        }
        assert_eq!(HoldStatus::from_stored("active"), None);
        assert_eq!(HoldStatus::parse("active"), Ok(HoldStatus::Active));
        assert!(HoldStatus::parse("gone").is_err());
    }
}
