//! How the account use cases' errors answer over HTTP.

use domain::{
    LoginError, LogoutError, MeError, RefreshError, RefreshRefusal, SignupError, ValidationErrors,
};

use crate::http::ApiError;

impl From<SignupError> for ApiError {
    fn from(error: SignupError) -> Self {
        match error {
            SignupError::Invalid(fields) => Self::invalid(fields),
            SignupError::UsernameTaken => {
                let mut e = Self::conflict("username_taken", "this username is already taken");
                e.body.fields = Some(ValidationErrors::single("username", "already taken").0);
                e
            }
            SignupError::Hashing(error) => Self::internal(error.to_string()),
            SignupError::Store(error) => error.into(),
        }
    }
}

impl From<LoginError> for ApiError {
    fn from(error: LoginError) -> Self {
        match error {
            LoginError::Invalid(fields) => Self::invalid(fields),
            LoginError::InvalidCredentials => {
                Self::unauthorized("invalid_credentials", "invalid username or password")
            }
            LoginError::IssueFailed(error) => Self::internal(error.to_string()),
            LoginError::Store(error) => error.into(),
        }
    }
}

impl From<RefreshError> for ApiError {
    fn from(error: RefreshError) -> Self {
        match error {
            RefreshError::InvalidToken(token) => Self::token(token),
            RefreshError::Refused(refusal) => refused(refusal),
            RefreshError::IssueFailed(error) => Self::internal(error.to_string()),
            RefreshError::Store(error) => error.into(),
        }
    }
}

/// A well-signed refresh token its record refuses: the same codes as a token that does
/// not verify, so clients need no new case; the message says what happened.
fn refused(refusal: RefreshRefusal) -> ApiError {
    match refusal {
        RefreshRefusal::Expired => {
            ApiError::unauthorized("token_expired", "the token has expired")
        }
        RefreshRefusal::Unknown => ApiError::unauthorized("token_invalid", "the token is invalid"),
        RefreshRefusal::Revoked => ApiError::unauthorized(
            "token_invalid",
            "this refresh token's login has ended: log in again",
        ),
        RefreshRefusal::Reused => ApiError::unauthorized(
            "token_invalid",
            "this refresh token was already used: every refresh token of its login is revoked; log in again",
        ),
    }
}

impl From<LogoutError> for ApiError {
    fn from(error: LogoutError) -> Self {
        match error {
            LogoutError::InvalidToken(token) => Self::token(token),
            LogoutError::Store(error) => error.into(),
        }
    }
}

impl From<MeError> for ApiError {
    fn from(error: MeError) -> Self {
        match error {
            MeError::UserGone => {
                Self::unauthorized("token_invalid", "the user of this token no longer exists")
            }
            MeError::Store(error) => error.into(),
        }
    }
}
