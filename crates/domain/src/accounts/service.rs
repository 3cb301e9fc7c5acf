//! The account use cases: sign up, log in, refresh a token, authenticate a request,
//! who am I.

use std::sync::Arc;

use thiserror::Error;

use super::model::*;
use super::ports::*;
use crate::shared::{Clock, StoreError, ValidationErrors};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignupInput {
    pub username: String,
    pub password: String,
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignupError {
    #[error("invalid signup: {0}")]
    Invalid(ValidationErrors),
    #[error("username already taken")]
    UsernameTaken,
    #[error(transparent)]
    Hashing(#[from] HashError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LoginError {
    #[error("invalid login request: {0}")]
    Invalid(ValidationErrors),
    #[error("invalid username or password")]
    InvalidCredentials,
    /// The credentials were right but no token could be made: a fault of ours.
    #[error("cannot issue tokens: {0}")]
    IssueFailed(TokenError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RefreshError {
    #[error("refresh token refused: {0}")]
    InvalidToken(TokenError),
    #[error("cannot issue a token: {0}")]
    IssueFailed(TokenError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MeError {
    /// The token is valid but its user no longer exists.
    #[error("user no longer exists")]
    UserGone,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct AccountService {
    users: Arc<dyn UserRepository>,
    hasher: Arc<dyn PasswordHasher>,
    tokens: Arc<dyn TokenService>,
    clock: Arc<dyn Clock>,
}

impl AccountService {
    pub fn new(
        users: Arc<dyn UserRepository>,
        hasher: Arc<dyn PasswordHasher>,
        tokens: Arc<dyn TokenService>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            users,
            hasher,
            tokens,
            clock,
        }
    }

    /// Creates an account. Every field is checked before anything is hashed or stored,
    /// and all problems are reported at once.
    pub async fn signup(&self, input: SignupInput) -> Result<User, SignupError> {
        self.create_account(input, false).await
    }

    /// Creates a staff account (the `create-admin` command).
    pub async fn create_admin(&self, input: SignupInput) -> Result<User, SignupError> {
        self.create_account(input, true).await
    }

    async fn create_account(
        &self,
        input: SignupInput,
        is_staff: bool,
    ) -> Result<User, SignupError> {
        let mut errors = ValidationErrors::default();
        let username = errors.take("username", Username::parse(&input.username));
        let password = errors.take(
            "password",
            Password::parse(&input.password, Some(&input.username)),
        );
        let email = match input.email.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => errors.take("email", Email::parse(raw)),
        };
        let (Some(username), Some(password)) = (username, password) else {
            return Err(SignupError::Invalid(errors));
        };
        errors.into_result().map_err(SignupError::Invalid)?;
        let password_hash = self.hasher.hash(&password).await?;
        self.users
            .create_user(NewUser {
                username,
                email,
                password_hash,
                is_staff,
                created_at: self.clock.now(),
            })
            .await
            .map_err(|e| match e {
                CreateUserError::UsernameTaken => SignupError::UsernameTaken,
                CreateUserError::Store(store) => store.into(),
            })
    }

    /// Checks credentials and issues a token pair. An unknown user and a wrong password
    /// give the same error after the same hashing work.
    pub async fn login(&self, username: &str, password: &str) -> Result<TokenPair, LoginError> {
        // A request without credentials is malformed, not a failed login.
        let mut missing = ValidationErrors::default();
        if username.is_empty() {
            missing.add("username", "this field is required");
        }
        if password.is_empty() {
            missing.add("password", "this field is required");
        }
        missing.into_result().map_err(LoginError::Invalid)?;
        let Some(password) = Password::candidate(password) else {
            return Err(LoginError::InvalidCredentials);
        };
        let user = match Username::parse(username) {
            Ok(username) => self.users.find_by_username(&username).await?,
            Err(_) => None,
        };
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        let verified = self.hasher.verify(&password, hash).await;
        match user {
            Some(user) if verified => self
                .tokens
                .issue(&user.auth())
                .map_err(LoginError::IssueFailed),
            _ => Err(LoginError::InvalidCredentials),
        }
    }

    /// Issues a new access token for a valid refresh token, with the user's current
    /// staff flag, as long as the user still exists.
    pub async fn refresh(&self, refresh_token: &str) -> Result<AccessToken, RefreshError> {
        let claimed = self
            .tokens
            .verify_refresh(refresh_token)
            .map_err(RefreshError::InvalidToken)?;
        let user = self
            .users
            .find_by_id(claimed.id)
            .await?
            .ok_or(RefreshError::InvalidToken(TokenError::Invalid))?;
        self.tokens
            .issue_access(&user.auth())
            .map_err(RefreshError::IssueFailed)
    }

    /// Who a bearer token speaks for. No storage access: tokens are self-contained.
    pub fn authenticate(&self, access_token: &str) -> Result<AuthUser, TokenError> {
        self.tokens.verify_access(access_token)
    }

    pub async fn me(&self, caller: &AuthUser) -> Result<User, MeError> {
        self.users
            .find_by_id(caller.id)
            .await?
            .ok_or(MeError::UserGone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::{MockClock, UserId};
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
    fn blank_email_means_no_email() {
        let mut users = MockUserRepository::new();
        users
            .expect_create_user()
            .withf(|u| u.email.is_none())
            .returning(|_| Ok(user(1, "john")));
        let svc = service(users, hashing(), MockTokenService::new());
        assert!(block_on(svc.signup(SignupInput {
            username: "john".into(),
            password: "correct horse".into(),
            email: Some("  ".into()),
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
}
