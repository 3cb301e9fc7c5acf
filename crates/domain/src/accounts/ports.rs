//! What accounts need from outside: storage of users and of refresh-token records,
//! password hashing and tokens.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use thiserror::Error;

use super::model::*;
use crate::shared::{StoreError, UserId};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CreateUserError {
    #[error("username already taken")]
    UsernameTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Stores a user; a username whose [`Username::key`] is taken is refused.
    async fn create_user(&self, user: NewUser) -> Result<User, CreateUserError>;
    /// Looks a user up by [`Username::key`], so case does not matter.
    async fn find_by_username(&self, username: &Username) -> Result<Option<User>, StoreError>;
    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, StoreError>;
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(pub String);

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError>;
    /// Checks a password. With no hash it does the same work and answers false, so an
    /// unknown user takes as long to refuse as a wrong password.
    async fn verify(&self, password: &Password, hash: Option<PasswordHash>) -> bool;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TokenError {
    #[error("token expired")]
    Expired,
    #[error("invalid token")]
    Invalid,
    #[error("wrong kind of token")]
    WrongType,
}

#[cfg_attr(test, mockall::automock)]
pub trait TokenService: Send + Sync {
    /// Signs an access token and a refresh token issued at `now`. The refresh token gets
    /// a new `jti` and joins `family`, or starts a new family when there is none (login).
    fn issue(
        &self,
        user: &AuthUser,
        family: Option<FamilyId>,
        now: DateTime<Utc>,
    ) -> Result<IssuedTokens, TokenError>;
    fn verify_access(&self, token: &str) -> Result<AuthUser, TokenError>;
    /// Checks a refresh token's signature, kind and expiry; whether it is still usable
    /// is storage's to say ([`SessionRepository::rotate`]).
    fn verify_refresh(&self, token: &str) -> Result<RefreshClaims, TokenError>;
}

/// Why a well-signed refresh token cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum RefreshRefusal {
    /// No record of it: not issued by this service's storage, or its user is gone.
    #[error("unknown refresh token")]
    Unknown,
    #[error("refresh token expired")]
    Expired,
    /// Its family was ended, by a logout or a detected reuse.
    #[error("refresh token revoked")]
    Revoked,
    /// It was already exchanged once: presented again, it is taken as stolen.
    #[error("refresh token reused")]
    Reused,
}

impl RefreshRefusal {
    /// A reuse ends the whole family: the thief and the owner both hold a token of it,
    /// and nobody can tell which of them presented which.
    pub fn revokes_family(self) -> bool {
        self == Self::Reused
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RotateError {
    #[error(transparent)]
    Refused(RefreshRefusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The records of issued refresh tokens: one row per token, grouped by family.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait SessionRepository: Send + Sync {
    /// Records the first refresh token of a login (a new family), and deletes records
    /// that have expired by `now`.
    async fn start_family(
        &self,
        first: &RefreshRecord,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Exchanges the presented refresh token for `next`, atomically: of concurrent
    /// exchanges of one token exactly one succeeds. The presented token's record is
    /// judged by [`crate::accounts::rules::check_refresh`]; if usable it is retired and
    /// `next` recorded. A reuse revokes the family, and that revocation is kept although
    /// the exchange is refused.
    async fn rotate(
        &self,
        presented: &RefreshClaims,
        next: &RefreshRecord,
        now: DateTime<Utc>,
    ) -> Result<(), RotateError>;
    /// Revokes every refresh token of this user's family; revoking twice changes nothing.
    async fn revoke_family(
        &self,
        family: &FamilyId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}
