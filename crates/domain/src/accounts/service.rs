//! The account use cases: sign up, log in, refresh a token, log out, authenticate a
//! request, who am I.

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
    /// Well signed, but its record says no (retired, revoked, expired or unknown).
    #[error("refresh token refused: {0}")]
    Refused(RefreshRefusal),
    #[error("cannot issue a token: {0}")]
    IssueFailed(TokenError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LogoutError {
    #[error("refresh token refused: {0}")]
    InvalidToken(TokenError),
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
    sessions: Arc<dyn SessionRepository>,
    hasher: Arc<dyn PasswordHasher>,
    tokens: Arc<dyn TokenService>,
    clock: Arc<dyn Clock>,
}

impl AccountService {
    pub fn new(
        users: Arc<dyn UserRepository>,
        sessions: Arc<dyn SessionRepository>,
        hasher: Arc<dyn PasswordHasher>,
        tokens: Arc<dyn TokenService>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            users,
            sessions,
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
        // Absent (or null) means no e-mail; a given one, even blank, must be an address.
        let email = errors.optional("email", input.email.as_deref().map(Email::parse));
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

    /// Checks credentials and issues a token pair whose refresh token starts a new
    /// family. An unknown user and a wrong password give the same error after the same
    /// hashing work.
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
        let user = match user {
            Some(user) if verified => user,
            _ => return Err(LoginError::InvalidCredentials),
        };
        let now = self.clock.now();
        let issued = self
            .tokens
            .issue(&user.auth(), None, now)
            .map_err(LoginError::IssueFailed)?;
        self.sessions.start_family(&issued.record, now).await?;
        Ok(issued.pair)
    }

    /// Exchanges a refresh token for a new pair, with the user's current staff flag, as
    /// long as the user still exists. The presented token is retired; presenting it
    /// again revokes its whole family (see [`SessionRepository::rotate`]).
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, RefreshError> {
        let claimed = self
            .tokens
            .verify_refresh(refresh_token)
            .map_err(RefreshError::InvalidToken)?;
        let user = self
            .users
            .find_by_id(claimed.user.id)
            .await?
            .ok_or(RefreshError::InvalidToken(TokenError::Invalid))?;
        let now = self.clock.now();
        // Signed before the exchange, which must record the next token's id with it.
        let issued = self
            .tokens
            .issue(&user.auth(), Some(claimed.family.clone()), now)
            .map_err(RefreshError::IssueFailed)?;
        self.sessions
            .rotate(&claimed, &issued.record, now)
            .await
            .map_err(|e| match e {
                RotateError::Refused(refusal) => RefreshError::Refused(refusal),
                RotateError::Store(store) => store.into(),
            })?;
        Ok(issued.pair)
    }

    /// Ends the login a refresh token belongs to: that token and every token of its
    /// family stop working. Any well-signed, unexpired refresh token will do, retired or
    /// revoked ones included, so ending an ended login succeeds too.
    pub async fn logout(&self, refresh_token: &str) -> Result<(), LogoutError> {
        let claimed = self
            .tokens
            .verify_refresh(refresh_token)
            .map_err(LogoutError::InvalidToken)?;
        self.sessions
            .revoke_family(&claimed.family, claimed.user.id, self.clock.now())
            .await?;
        Ok(())
    }

    /// Who a bearer token speaks for. No storage access: access tokens are
    /// self-contained, so a logout leaves them valid until they expire.
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
