//! What accounts need from outside: storage of users, password hashing and tokens.

use async_trait::async_trait;
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
    fn issue(&self, user: &AuthUser) -> Result<TokenPair, TokenError>;
    fn issue_access(&self, user: &AuthUser) -> Result<AccessToken, TokenError>;
    fn verify_access(&self, token: &str) -> Result<AuthUser, TokenError>;
    fn verify_refresh(&self, token: &str) -> Result<AuthUser, TokenError>;
}
