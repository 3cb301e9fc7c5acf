//! Refresh-token records on both backends: rotation, reuse detection, family revocation,
//! clean-up of expired records, and a race of concurrent refreshes of one token.

use chrono::{DateTime, Duration, Utc};
use domain::*;

use super::{race, Fixture};

infra_diesel::on_both_backends!(
    setup = Fixture::new, worker_threads = 4;
    rotation_retires_the_presented_token_and_records_the_next,
    a_reused_token_revokes_its_whole_family_and_only_it,
    revoking_a_family_ends_every_token_of_it_and_may_be_repeated,
    a_family_is_revoked_only_for_its_own_user,
    an_expired_record_is_refused_and_deleted_at_the_next_login,
    race_32_refreshes_of_one_token_exactly_one_wins_and_the_family_ends,
);

/// The record of refresh token `jti` of `family`, issued at `at`, living a day.
fn record(user: &AuthUser, jti: &str, family: &str, at: DateTime<Utc>) -> RefreshRecord {
    RefreshRecord {
        jti: TokenId(jti.into()),
        family: FamilyId(family.into()),
        user: user.id,
        issued_at: at,
        expires_at: at + Duration::days(1),
    }
}

/// What the token of `record` says once verified.
fn claims(user: &AuthUser, record: &RefreshRecord) -> RefreshClaims {
    RefreshClaims {
        user: user.clone(),
        jti: record.jti.clone(),
        family: record.family.clone(),
    }
}

impl Fixture {
    /// A login: the first token of a new family.
    async fn login(&self, user: &AuthUser, jti: &str, family: &str) -> RefreshRecord {
        let first = record(user, jti, family, Utc::now());
        self.store.start_family(&first, Utc::now()).await.unwrap();
        first
    }

    /// Exchanges `presented` for a new token `next` of the same family.
    async fn refresh(
        &self,
        user: &AuthUser,
        presented: &RefreshRecord,
        next: &str,
    ) -> Result<RefreshRecord, RotateError> {
        let next = record(user, next, &presented.family.0, Utc::now());
        self.store
            .rotate(&claims(user, presented), &next, Utc::now())
            .await
            .map(|()| next)
    }
}

fn refused(refusal: RefreshRefusal) -> Result<RefreshRecord, RotateError> {
    Err(RotateError::Refused(refusal))
}

async fn rotation_retires_the_presented_token_and_records_the_next(f: Fixture) {
    let john = f.user("john").await;
    let first = f.login(&john, "t1", "f1").await;
    let second = f.refresh(&john, &first, "t2").await.unwrap();
    let third = f.refresh(&john, &second, "t3").await.unwrap();
    assert_eq!(third.family, first.family);
    // A token never recorded (signed, say, before records existed) is unknown.
    let stray = record(&john, "never-recorded", "f1", Utc::now());
    assert_eq!(
        f.refresh(&john, &stray, "t9").await,
        refused(RefreshRefusal::Unknown)
    );
    // The latest token still works: a refusal of an unknown token revokes nothing.
    assert!(f.refresh(&john, &third, "t4").await.is_ok());
}

async fn a_reused_token_revokes_its_whole_family_and_only_it(f: Fixture) {
    let john = f.user("john").await;
    let first = f.login(&john, "t1", "f1").await;
    let other_login = f.login(&john, "o1", "f2").await;
    let second = f.refresh(&john, &first, "t2").await.unwrap();
    // The retired first token, presented again: a reuse.
    assert_eq!(
        f.refresh(&john, &first, "t3").await,
        refused(RefreshRefusal::Reused)
    );
    // The revocation was kept: the token rotated from it is dead too, and so is the
    // reused one, now as revoked.
    assert_eq!(
        f.refresh(&john, &second, "t4").await,
        refused(RefreshRefusal::Revoked)
    );
    assert_eq!(
        f.refresh(&john, &first, "t5").await,
        refused(RefreshRefusal::Revoked)
    );
    // The same user's other login lives on.
    assert!(f.refresh(&john, &other_login, "o2").await.is_ok());
}

async fn revoking_a_family_ends_every_token_of_it_and_may_be_repeated(f: Fixture) {
    let john = f.user("john").await;
    let first = f.login(&john, "t1", "f1").await;
    let second = f.refresh(&john, &first, "t2").await.unwrap();
    let other_login = f.login(&john, "o1", "f2").await;
    for _ in 0..2 {
        f.store
            .revoke_family(&first.family, john.id, Utc::now())
            .await
            .unwrap();
    }
    assert_eq!(
        f.refresh(&john, &second, "t3").await,
        refused(RefreshRefusal::Revoked)
    );
    assert_eq!(
        f.refresh(&john, &first, "t3").await,
        refused(RefreshRefusal::Revoked)
    );
    assert!(f.refresh(&john, &other_login, "o2").await.is_ok());
    // A family nobody has: nothing to do, no error.
    f.store
        .revoke_family(&FamilyId("nope".into()), john.id, Utc::now())
        .await
        .unwrap();
}

async fn a_family_is_revoked_only_for_its_own_user(f: Fixture) {
    let (john, jane) = (f.user("john").await, f.user("jane").await);
    let johns = f.login(&john, "t1", "f1").await;
    f.store
        .revoke_family(&johns.family, jane.id, Utc::now())
        .await
        .unwrap();
    assert!(f.refresh(&john, &johns, "t2").await.is_ok());
}

async fn an_expired_record_is_refused_and_deleted_at_the_next_login(f: Fixture) {
    let john = f.user("john").await;
    let old = f.login(&john, "t1", "f1").await;
    let after_expiry = old.expires_at + Duration::seconds(1);
    let next = record(&john, "t2", "f1", after_expiry);
    assert_eq!(
        f.store
            .rotate(&claims(&john, &old), &next, after_expiry)
            .await,
        Err(RotateError::Refused(RefreshRefusal::Expired))
    );
    // Expired at a later login, so that login deletes it: it is unknown from then on.
    let later = record(&john, "n1", "f2", after_expiry);
    f.store.start_family(&later, after_expiry).await.unwrap();
    assert_eq!(
        f.store
            .rotate(&claims(&john, &old), &next, old.issued_at)
            .await,
        Err(RotateError::Refused(RefreshRefusal::Unknown))
    );
    // The new login's token is unaffected.
    let after = record(&john, "n2", "f2", after_expiry);
    assert!(f
        .store
        .rotate(&claims(&john, &later), &after, after_expiry)
        .await
        .is_ok());
}

/// All at once behind a barrier: exactly one exchange wins. The next one to get the lock
/// is a reuse and ends the family, the winner's new token included; every later one
/// finds the family revoked.
async fn race_32_refreshes_of_one_token_exactly_one_wins_and_the_family_ends(f: Fixture) {
    let john = f.user("john").await;
    let first = f.login(&john, "t1", "f1").await;
    let other_login = f.login(&john, "o1", "f2").await;
    let store = f.store.clone();
    let results = race(32, |i| {
        let (store, presented) = (store.clone(), claims(&john, &first));
        let next = record(&john, &format!("next-{i}"), "f1", Utc::now());
        async move {
            store
                .rotate(&presented, &next, Utc::now())
                .await
                .map(|()| next)
        }
    })
    .await;
    let winners: Vec<&RefreshRecord> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    let count = |refusal| results.iter().filter(|r| **r == refused(refusal)).count();
    assert_eq!(
        (
            winners.len(),
            count(RefreshRefusal::Reused),
            count(RefreshRefusal::Revoked)
        ),
        (1, 1, 30),
        "{results:?}"
    );
    assert_eq!(
        f.refresh(&john, winners[0], "late").await,
        refused(RefreshRefusal::Revoked)
    );
    assert!(f.refresh(&john, &other_login, "o2").await.is_ok());
}
