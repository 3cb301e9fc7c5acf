//! How the account use cases' errors answer over HTTP.

use domain::{LoginError, MeError, RefreshError, SignupError, ValidationErrors};

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
            RefreshError::IssueFailed(error) => Self::internal(error.to_string()),
            RefreshError::Store(error) => error.into(),
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
