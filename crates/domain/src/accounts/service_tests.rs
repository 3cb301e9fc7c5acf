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

fn service(
    users: MockUserRepository,
    hasher: MockPasswordHasher,
    tokens: MockTokenService,
) -> AccountService {
    let mut clock = MockClock::new();
    clock.expect_now().returning(now);
    AccountService::new(
        Arc::new(users),
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

fn pair() -> TokenPair {
    TokenPair {
        access: AccessToken {
            token: "a".into(),
            expires_in: 900,
        },
        refresh: "r".into(),
    }
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
fn login_with_right_password_issues_tokens() {
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
        .withf(|u| u.id == UserId(1) && u.username == "john")
        .returning(|_| Ok(pair()));
    let svc = service(users, hasher, tokens);
    assert_eq!(
        block_on(svc.login("john", "correct horse")).unwrap(),
        pair()
    );
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
fn refresh_issues_access_token_with_current_staff_flag() {
    let mut tokens = MockTokenService::new();
    tokens.expect_verify_refresh().returning(|_| {
        Ok(AuthUser {
            id: UserId(1),
            username: "john".into(),
            is_staff: false,
        })
    });
    tokens
        .expect_issue_access()
        .withf(|u| u.is_staff)
        .returning(|_| {
            Ok(AccessToken {
                token: "new".into(),
                expires_in: 900,
            })
        });
    let mut users = MockUserRepository::new();
    users.expect_find_by_id().returning(|_| {
        let mut u = user(1, "john");
        u.is_staff = true;
        Ok(Some(u))
    });
    let svc = service(users, MockPasswordHasher::new(), tokens);
    assert_eq!(block_on(svc.refresh("r")).unwrap().token, "new");
}

#[test]
fn refresh_is_refused_for_a_bad_token_or_a_deleted_user() {
    let mut tokens = MockTokenService::new();
    tokens
        .expect_verify_refresh()
        .with(eq("access-token"))
        .returning(|_| Err(TokenError::WrongType));
    tokens.expect_verify_refresh().returning(|_| {
        Ok(AuthUser {
            id: UserId(7),
            username: "gone".into(),
            is_staff: false,
        })
    });
    let mut users = MockUserRepository::new();
    users.expect_find_by_id().returning(|_| Ok(None));
    let svc = service(users, MockPasswordHasher::new(), tokens);
    assert_eq!(
        block_on(svc.refresh("access-token")).unwrap_err(),
        RefreshError::InvalidToken(TokenError::WrongType)
    );
    assert_eq!(
        block_on(svc.refresh("r")).unwrap_err(),
        RefreshError::InvalidToken(TokenError::Invalid)
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
