//! The JSON shapes of the account routes, documented for OpenAPI, and their
//! conversions from domain types.

use domain::{Email, TokenPair, User};
use paperclip::actix::Apiv2Schema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, Apiv2Schema)]
#[openapi(
    example = r#"{"username": "john", "password": "correct-horse-9", "email": "john@example.com"}"#
)]
pub struct SignupRequest {
    /// 1 to 150 letters, digits or `@.+-_`; unique regardless of case.
    #[serde(default)]
    pub username: String,
    /// 8 to 128 characters, not all digits, not the username.
    #[serde(default)]
    pub password: String,
    /// Optional e-mail address.
    pub email: Option<String>,
}

#[derive(Debug, Deserialize, Apiv2Schema)]
#[openapi(example = r#"{"username": "john", "password": "correct-horse-9"}"#)]
pub struct LoginRequest {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
}

/// The body of token refresh and logout.
#[derive(Debug, Deserialize, Apiv2Schema)]
#[openapi(example = r#"{"refresh": "<the latest refresh token from login or refresh>"}"#)]
pub struct RefreshRequest {
    /// The latest refresh token, from login or the last refresh.
    #[serde(default)]
    pub refresh: String,
}

#[derive(Debug, Serialize, Apiv2Schema)]
pub struct UserResponse {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
}

#[derive(Debug, Serialize, Apiv2Schema)]
pub struct MeResponse {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
    pub is_staff: bool,
}

/// The answer of login and of token refresh.
#[derive(Serialize, Apiv2Schema)]
pub struct TokenResponse {
    /// Access token: send as `Authorization: Bearer <access>`.
    pub access: String,
    /// Refresh token: exchange it once at `/api/token/refresh/` for a new pair, or end
    /// the login with it at `/api/logout/`.
    pub refresh: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

impl From<User> for UserResponse {
    fn from(user: User) -> Self {
        Self {
            id: user.id.0,
            username: user.username.into_string(),
            email: user.email.map(Email::into_string),
        }
    }
}

impl From<User> for MeResponse {
    fn from(user: User) -> Self {
        Self {
            id: user.id.0,
            username: user.username.into_string(),
            email: user.email.map(Email::into_string),
            is_staff: user.is_staff,
        }
    }
}

impl From<TokenPair> for TokenResponse {
    fn from(pair: TokenPair) -> Self {
        Self {
            access: pair.access.token,
            refresh: pair.refresh,
            token_type: "Bearer".into(),
            expires_in: pair.access.expires_in,
        }
    }
}
