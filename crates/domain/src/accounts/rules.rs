//! The rule a storage adapter applies inside its transaction, on the refresh-token
//! record it read under its lock. A pure function, so it is tested here without a
//! database.

use chrono::{DateTime, Utc};

use super::model::{RefreshClaims, StoredRefresh};
use super::ports::RefreshRefusal;

/// May the presented refresh token be exchanged now, given its stored record (if any)?
///
/// It is usable iff it is recorded for its user and family, its family is not revoked,
/// it was not exchanged before and it has not expired. A retired token presented again
/// is [`RefreshRefusal::Reused`], on which the adapter revokes the family
/// ([`RefreshRefusal::revokes_family`]), even if it has expired since.
pub fn check_refresh(
    stored: Option<&StoredRefresh>,
    presented: &RefreshClaims,
    now: DateTime<Utc>,
) -> Result<(), RefreshRefusal> {
    // A record of another user or family cannot come from a token this service signed.
    let Some(stored) = stored
        .filter(|s| s.record.user == presented.user.id && s.record.family == presented.family)
    else {
        return Err(RefreshRefusal::Unknown);
    };
    // Revoked first: a revoked family has nothing left to protect, so nothing to revoke.
    if stored.revoked_at.is_some() {
        return Err(RefreshRefusal::Revoked);
    }
    if stored.retired_at.is_some() {
        return Err(RefreshRefusal::Reused);
    }
    if stored.record.expires_at <= now {
        return Err(RefreshRefusal::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::{AuthUser, FamilyId, RefreshRecord, TokenId};
    use crate::shared::UserId;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 15, 10, 0, 0).unwrap()
    }

    fn claims() -> RefreshClaims {
        RefreshClaims {
            user: AuthUser {
                id: UserId(1),
                username: "john".into(),
                is_staff: false,
            },
            jti: TokenId("t1".into()),
            family: FamilyId("f1".into()),
        }
    }

    fn stored(expires_in: Duration) -> StoredRefresh {
        StoredRefresh {
            record: RefreshRecord {
                jti: TokenId("t1".into()),
                family: FamilyId("f1".into()),
                user: UserId(1),
                issued_at: now() - Duration::hours(1),
                expires_at: now() + expires_in,
            },
            retired_at: None,
            revoked_at: None,
        }
    }

    #[test]
    fn a_fresh_token_is_usable() {
        let fresh = stored(Duration::hours(1));
        assert_eq!(check_refresh(Some(&fresh), &claims(), now()), Ok(()));
    }

    #[test]
    fn a_retired_token_presented_again_is_a_reuse_that_revokes_the_family() {
        let mut retired = stored(Duration::hours(1));
        retired.retired_at = Some(now() - Duration::minutes(5));
        let refusal = check_refresh(Some(&retired), &claims(), now()).unwrap_err();
        assert_eq!(refusal, RefreshRefusal::Reused);
        assert!(refusal.revokes_family());
        // Expired since it was retired: still a reuse, the rest of the family may live.
        let mut old = stored(-Duration::minutes(1));
        old.retired_at = Some(now() - Duration::hours(2));
        assert_eq!(
            check_refresh(Some(&old), &claims(), now()),
            Err(RefreshRefusal::Reused)
        );
    }

    #[test]
    fn a_token_of_a_revoked_family_is_refused_without_another_revocation() {
        let mut revoked = stored(Duration::hours(1));
        revoked.revoked_at = Some(now() - Duration::minutes(1));
        assert_eq!(
            check_refresh(Some(&revoked), &claims(), now()),
            Err(RefreshRefusal::Revoked)
        );
        revoked.retired_at = Some(now() - Duration::minutes(2));
        let refusal = check_refresh(Some(&revoked), &claims(), now()).unwrap_err();
        assert_eq!(refusal, RefreshRefusal::Revoked);
        assert!(!refusal.revokes_family());
    }

    #[test]
    fn a_token_is_expired_from_its_expiry_on() {
        assert_eq!(
            check_refresh(Some(&stored(Duration::zero())), &claims(), now()),
            Err(RefreshRefusal::Expired)
        );
        assert_eq!(
            check_refresh(Some(&stored(-Duration::seconds(1))), &claims(), now()),
            Err(RefreshRefusal::Expired)
        );
        assert!(check_refresh(Some(&stored(Duration::seconds(1))), &claims(), now()).is_ok());
    }

    #[test]
    fn a_missing_record_or_one_of_another_user_or_family_is_unknown() {
        assert_eq!(
            check_refresh(None, &claims(), now()),
            Err(RefreshRefusal::Unknown)
        );
        let mut other_user = stored(Duration::hours(1));
        other_user.record.user = UserId(2);
        assert_eq!(
            check_refresh(Some(&other_user), &claims(), now()),
            Err(RefreshRefusal::Unknown)
        );
        let mut other_family = stored(Duration::hours(1));
        other_family.record.family = FamilyId("f2".into());
        assert_eq!(
            check_refresh(Some(&other_family), &claims(), now()),
            Err(RefreshRefusal::Unknown)
        );
    }
}
