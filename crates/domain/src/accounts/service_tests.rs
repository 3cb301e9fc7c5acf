//! Unit tests of the account use cases, over mocks of their ports.

use std::sync::Arc;

use super::*;
use crate::shared::*;
use chrono::{DateTime, TimeZone, Utc};
use futures_executor::block_on;
use mockall::predicate::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 15, 10, 0, 0).unwrap()
}

fn user(id: i64, name: &str) -> User {
    User {
        id: UserId(id),
        username: Username::parse(name).unwrap(),
        email: None,
        is_staff: false,
        password_hash: PasswordHash("hash".into()),
    }
}

/// A service whose session storage must not be touched (any call panics the mock).
fn service(
    users: MockUserRepository,
    hasher: MockPasswordHasher,
    tokens: MockTokenService,
) -> AccountService {
    service_with(users, MockSessionRepository::new(), hasher, tokens)
}

fn service_with(
    users: MockUserRepository,
    sessions: MockSessionRepository,
    hasher: MockPasswordHasher,
    tokens: MockTokenService,
) -> AccountService {
    let mut clock = MockClock::new();
    clock.expect_now().returning(now);
    AccountService::new(
        Arc::new(users),
        Arc::new(sessions),
        Arc::new(hasher),
        Arc::new(tokens),
        Arc::new(clock),
    )
}

fn hashing() -> MockPasswordHasher {
    let mut hasher = MockPasswordHasher::new();
    hasher
        .expect_hash()
        .returning(|_| Ok(PasswordHash("hash".into())));
    hasher
}

fn pair(refresh: &str) -> TokenPair {
    TokenPair {
        access: AccessToken {
            token: format!("access-{refresh}"),
            expires_in: 900,
        },
        refresh: refresh.into(),
    }
}

/// Tokens as the token service issues them: refresh token `jti`, of `family`.
fn issued(jti: &str, family: &str) -> IssuedTokens {
    IssuedTokens {
        pair: pair(jti),
        record: RefreshRecord {
            jti: TokenId(jti.into()),
            family: FamilyId(family.into()),
            user: UserId(1),
            issued_at: now(),
            expires_at: now() + chrono::Duration::days(1),
        },
    }
}

/// What the refresh token `jti` of `family`, John's, says once verified.
fn claims(jti: &str, family: &str) -> RefreshClaims {
    RefreshClaims {
        user: AuthUser {
            id: UserId(1),
            username: "john".into(),
            is_staff: false,
        },
        jti: TokenId(jti.into()),
        family: FamilyId(family.into()),
    }
}

/// John exists (a staff member now), and his refresh token "r1" of family "f" verifies.
fn john_with_refresh_token() -> (MockUserRepository, MockTokenService) {
    let mut users = MockUserRepository::new();
    users
        .expect_find_by_id()
        .with(eq(UserId(1)))
        .returning(|_| {
            let mut u = user(1, "john");
            u.is_staff = true;
            Ok(Some(u))
        });
    let mut tokens = MockTokenService::new();
    tokens
        .expect_verify_refresh()
        .with(eq("r1"))
        .returning(|_| Ok(claims("r1", "f")));
    (users, tokens)
}

#[test]
fn signup_creates_a_plain_user_with_a_hashed_password() {
    let mut users = MockUserRepository::new();
    users
        .expect_create_user()
        .withf(|u| {
            u.username.as_str() == "john"
                && !u.is_staff
                && u.password_hash.0 == "hash"
                && u.email.as_ref().map(Email::as_str) == Some("j@x.io")
                && u.created_at == now()
        })
        .returning(|_| Ok(user(1, "john")));
    let svc = service(users, hashing(), MockTokenService::new());
    let created = block_on(svc.signup(SignupInput {
        username: "john".into(),
        password: "correct horse".into(),
        email: Some("j@x.io".into()),
    }))
    .unwrap();
    assert_eq!(created.id, UserId(1));
}

#[test]
fn signup_reports_every_invalid_field_and_stores_nothing() {
    // No expectations: any call to storage or hasher would panic the mock.
    let svc = service(
        MockUserRepository::new(),
        MockPasswordHasher::new(),
        MockTokenService::new(),
    );
    let err = block_on(svc.signup(SignupInput {
        username: "bad name".into(),
        password: "1".into(),
        email: Some("nope".into()),
    }))
    .unwrap_err();
    let SignupError::Invalid(fields) = err else {
        panic!("expected Invalid, got {err:?}");
    };
    assert_eq!(
        fields.0.keys().collect::<Vec<_>>(),
        vec!["email", "password", "username"]
    );
}

#[test]
fn signup_refuses_password_equal_to_username() {
    let svc = service(
        MockUserRepository::new(),
        MockPasswordHasher::new(),
        MockTokenService::new(),
    );
    let err = block_on(svc.signup(SignupInput {
        username: "johnsmith".into(),
        password: "johnsmith".into(),
        email: None,
    }))
    .unwrap_err();
    assert!(matches!(err, SignupError::Invalid(f) if f.0.contains_key("password")));
}

#[test]
fn signup_with_taken_username_is_a_conflict() {
    let mut users = MockUserRepository::new();
    users
        .expect_create_user()
        .returning(|_| Err(CreateUserError::UsernameTaken));
    let svc = service(users, hashing(), MockTokenService::new());
    let err = block_on(svc.signup(SignupInput {
        username: "john".into(),
        password: "correct horse".into(),
        email: None,
    }))
    .unwrap_err();
    assert_eq!(err, SignupError::UsernameTaken);
}

#[test]
fn blank_email_is_refused_not_dropped() {
    for blank in ["", "  "] {
        // No expectations: nothing may be hashed or stored.
        let svc = service(
            MockUserRepository::new(),
            MockPasswordHasher::new(),
            MockTokenService::new(),
        );
        let err = block_on(svc.signup(SignupInput {
            username: "john".into(),
            password: "correct horse".into(),
            email: Some(blank.into()),
        }))
        .unwrap_err();
        let SignupError::Invalid(errors) = err else {
            panic!("{blank:?}: {err:?}");
        };
        assert_eq!(errors.0.keys().collect::<Vec<_>>(), vec!["email"]);
    }
}

#[test]
fn absent_email_means_no_email() {
    let mut users = MockUserRepository::new();
    users
        .expect_create_user()
        .withf(|u| u.email.is_none())
        .returning(|_| Ok(user(1, "john")));
    let svc = service(users, hashing(), MockTokenService::new());
    assert!(block_on(svc.signup(SignupInput {
        username: "john".into(),
        password: "correct horse".into(),
        email: None,
    }))
    .is_ok());
}

#[test]
fn create_admin_makes_a_staff_user() {
    let mut users = MockUserRepository::new();
    users
        .expect_create_user()
        .withf(|u| u.is_staff)
        .returning(|_| Ok(user(1, "admin")));
    let svc = service(users, hashing(), MockTokenService::new());
    assert!(block_on(svc.create_admin(SignupInput {
        username: "admin".into(),
        password: "correct horse".into(),
        email: None,
    }))
    .is_ok());
}

#[test]
fn login_with_right_password_issues_tokens_of_a_new_recorded_family() {
    let mut users = MockUserRepository::new();
    users
        .expect_find_by_username()
        .withf(|name| name.as_str() == "john")
        .returning(|_| Ok(Some(user(1, "john"))));
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_verify().returning(|_, h| h.is_some());
    let mut tokens = MockTokenService::new();
    tokens
        .expect_issue()
        .withf(|u, family, at| {
            u.id == UserId(1) && u.username == "john" && family.is_none() && *at == now()
        })
        .returning(|_, _, _| Ok(issued("r1", "f")));
    let mut sessions = MockSessionRepository::new();
    sessions
        .expect_start_family()
        .withf(|first, at| *first == issued("r1", "f").record && *at == now())
        .times(1)
        .returning(|_, _| Ok(()));
    let svc = service_with(users, sessions, hasher, tokens);
    assert_eq!(
        block_on(svc.login("john", "correct horse")).unwrap(),
        pair("r1")
    );
}

#[test]
fn login_fails_unavailable_when_its_family_cannot_be_recorded() {
    let mut users = MockUserRepository::new();
    users
        .expect_find_by_username()
        .returning(|_| Ok(Some(user(1, "john"))));
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_verify().returning(|_, _| true);
    let mut tokens = MockTokenService::new();
    tokens
        .expect_issue()
        .returning(|_, _, _| Ok(issued("r1", "f")));
    let mut sessions = MockSessionRepository::new();
    sessions
        .expect_start_family()
        .returning(|_, _| Err(StoreError::Unavailable("down".into())));
    let svc = service_with(users, sessions, hasher, tokens);
    assert!(matches!(
        block_on(svc.login("john", "correct horse")),
        Err(LoginError::Store(StoreError::Unavailable(_)))
    ));
}

#[test]
fn unknown_user_and_wrong_password_get_the_same_error_after_hashing() {
    let mut users = MockUserRepository::new();
    users
        .expect_find_by_username()
        .returning(|name| Ok((name.as_str() == "john").then(|| user(1, "john"))));
    let mut hasher = MockPasswordHasher::new();
    // Both paths must run the hasher once: that is what equalises their timing.
    hasher.expect_verify().times(2).returning(|_, _| false);
    let svc = service(users, hasher, MockTokenService::new());
    assert_eq!(
        block_on(svc.login("ghost", "whatever1")).unwrap_err(),
        LoginError::InvalidCredentials
    );
    assert_eq!(
        block_on(svc.login("john", "wrong-password")).unwrap_err(),
        LoginError::InvalidCredentials
    );
}

#[test]
fn empty_or_huge_login_password_is_refused_without_hashing() {
    let svc = service(
        MockUserRepository::new(),
        MockPasswordHasher::new(),
        MockTokenService::new(),
    );
    assert!(matches!(
        block_on(svc.login("john", "")),
        Err(LoginError::Invalid(_))
    ));
    assert!(matches!(
        block_on(svc.login("", "x")),
        Err(LoginError::Invalid(_))
    ));
    assert_eq!(
        block_on(svc.login("john", &"x".repeat(10_000))).unwrap_err(),
        LoginError::InvalidCredentials
    );
}

#[test]
fn refresh_rotates_within_the_family_with_the_current_staff_flag() {
    let (users, mut tokens) = john_with_refresh_token();
    tokens
        .expect_issue()
        .withf(|u, family, at| {
            u.is_staff && family.as_ref() == Some(&FamilyId("f".into())) && *at == now()
        })
        .returning(|_, _, _| Ok(issued("r2", "f")));
    let mut sessions = MockSessionRepository::new();
    sessions
        .expect_rotate()
        .withf(|presented, next, at| {
            *presented == claims("r1", "f") && next.jti == TokenId("r2".into()) && *at == now()
        })
        .times(1)
        .returning(|_, _, _| Ok(()));
    let svc = service_with(users, sessions, MockPasswordHasher::new(), tokens);
    let fresh = block_on(svc.refresh("r1")).unwrap();
    assert_eq!(fresh, pair("r2"));
}

#[test]
fn refresh_refused_by_storage_answers_the_refusal_and_no_tokens() {
    for refusal in [
        RefreshRefusal::Reused,
        RefreshRefusal::Revoked,
        RefreshRefusal::Expired,
        RefreshRefusal::Unknown,
    ] {
        let (users, mut tokens) = john_with_refresh_token();
        tokens
            .expect_issue()
            .returning(|_, _, _| Ok(issued("r2", "f")));
        let mut sessions = MockSessionRepository::new();
        sessions
            .expect_rotate()
            .returning(move |_, _, _| Err(RotateError::Refused(refusal)));
        let svc = service_with(users, sessions, MockPasswordHasher::new(), tokens);
        assert_eq!(
            block_on(svc.refresh("r1")).unwrap_err(),
            RefreshError::Refused(refusal)
        );
    }
}

#[test]
fn refresh_storage_outage_is_unavailable_not_a_refusal() {
    let (users, mut tokens) = john_with_refresh_token();
    tokens
        .expect_issue()
        .returning(|_, _, _| Ok(issued("r2", "f")));
    let mut sessions = MockSessionRepository::new();
    sessions
        .expect_rotate()
        .returning(|_, _, _| Err(StoreError::Unavailable("down".into()).into()));
    let svc = service_with(users, sessions, MockPasswordHasher::new(), tokens);
    assert!(matches!(
        block_on(svc.refresh("r1")),
        Err(RefreshError::Store(StoreError::Unavailable(_)))
    ));
}

#[test]
fn refresh_is_refused_for_a_bad_token_or_a_deleted_user_before_storage_is_asked() {
    let mut tokens = MockTokenService::new();
    tokens
        .expect_verify_refresh()
        .with(eq("access-token"))
        .returning(|_| Err(TokenError::WrongType));
    tokens
        .expect_verify_refresh()
        .with(eq("expired"))
        .returning(|_| Err(TokenError::Expired));
    tokens.expect_verify_refresh().returning(|_| {
        let mut gone = claims("r1", "f");
        gone.user.id = UserId(7);
        Ok(gone)
    });
    let mut users = MockUserRepository::new();
    users.expect_find_by_id().returning(|_| Ok(None));
    // No session storage expectations: a rotation here would panic the mock.
    let svc = service(users, MockPasswordHasher::new(), tokens);
    assert_eq!(
        block_on(svc.refresh("access-token")).unwrap_err(),
        RefreshError::InvalidToken(TokenError::WrongType)
    );
    assert_eq!(
        block_on(svc.refresh("expired")).unwrap_err(),
        RefreshError::InvalidToken(TokenError::Expired)
    );
    assert_eq!(
        block_on(svc.refresh("r")).unwrap_err(),
        RefreshError::InvalidToken(TokenError::Invalid)
    );
}

#[test]
fn logout_revokes_the_family_of_the_presented_token() {
    let (_, tokens) = john_with_refresh_token();
    let mut sessions = MockSessionRepository::new();
    sessions
        .expect_revoke_family()
        .withf(|family, user, at| {
            *family == FamilyId("f".into()) && *user == UserId(1) && *at == now()
        })
        .times(1)
        .returning(|_, _, _| Ok(()));
    let svc = service_with(
        MockUserRepository::new(),
        sessions,
        MockPasswordHasher::new(),
        tokens,
    );
    assert_eq!(block_on(svc.logout("r1")), Ok(()));
}

#[test]
fn logout_with_a_token_that_does_not_verify_touches_nothing() {
    let mut tokens = MockTokenService::new();
    tokens
        .expect_verify_refresh()
        .with(eq("expired"))
        .returning(|_| Err(TokenError::Expired));
    tokens
        .expect_verify_refresh()
        .returning(|_| Err(TokenError::Invalid));
    let svc = service(MockUserRepository::new(), MockPasswordHasher::new(), tokens);
    assert_eq!(
        block_on(svc.logout("garbage")),
        Err(LogoutError::InvalidToken(TokenError::Invalid))
    );
    assert_eq!(
        block_on(svc.logout("expired")),
        Err(LogoutError::InvalidToken(TokenError::Expired))
    );
}

#[test]
fn storage_outage_is_unavailable_not_a_credential_error() {
    let mut users = MockUserRepository::new();
    users
        .expect_find_by_username()
        .returning(|_| Err(StoreError::Unavailable("down".into())));
    let svc = service(users, MockPasswordHasher::new(), MockTokenService::new());
    assert!(matches!(
        block_on(svc.login("john", "correct horse")),
        Err(LoginError::Store(StoreError::Unavailable(_)))
    ));
}
