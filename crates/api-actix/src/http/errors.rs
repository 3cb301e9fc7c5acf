//! How failures become HTTP: the one `ApiError`, its JSON body
//! `{"error", "code", "fields"?, "seats"?}`, the storage and token errors every area
//! shares, and actix's extractor errors. Each area maps its own use-case errors beside
//! its handlers (`routes/<area>/errors.rs`).

use std::collections::BTreeMap;
use std::fmt;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use domain::{StoreError, TokenError, ValidationErrors};
use paperclip::actix::{api_v2_errors, Apiv2Schema};
use serde::Serialize;

/// Seconds a client should wait before retrying a 503.
const RETRY_AFTER_SECONDS: u32 = 1;
/// Seconds to wait when the database's disk is full or failing: that lasts longer than
/// a lock wait, and retrying sooner only adds load.
const STORAGE_RETRY_AFTER_SECONDS: u32 = 10;

/// The JSON body of every error response.
#[derive(Debug, Clone, Serialize, Apiv2Schema)]
pub struct ErrorBody {
    /// Human-readable message.
    pub error: String,
    /// Stable snake_case code, e.g. `seat_taken`.
    pub code: String,
    /// For validation errors: the problems of each field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, Vec<String>>>,
    /// For `seat_taken`, `seat_blocked` and `seat_booked`: the seats concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seats: Option<Vec<i32>>,
}

#[api_v2_errors(
    code = 400,
    description = "Malformed or invalid input",
    code = 401,
    description = "Missing, invalid or expired token, or bad credentials",
    code = 403,
    description = "Authenticated but not allowed (staff only)",
    code = 404,
    description = "Unknown resource, or someone else's booking",
    code = 409,
    description = "Conflict with the current state (seat taken, show started, ...)",
    code = 413,
    description = "Request body too large",
    code = 422,
    description = "The Idempotency-Key was already used with another request body",
    code = 429,
    description = "Rate limited; see Retry-After",
    code = 503,
    description = "A dependency is unavailable; see Retry-After",
    default_schema = "ErrorBody"
)]
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Boxed: keeps `Result<_, ApiError>` small on the success path.
    pub body: Box<ErrorBody>,
    /// The cause, for the log line of a 5xx; never sent to the client.
    pub internal: Option<String>,
    pub retry_after: Option<u32>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, error: impl Into<String>) -> Self {
        Self {
            status,
            body: Box::new(ErrorBody {
                error: error.into(),
                code: code.to_owned(),
                fields: None,
                seats: None,
            }),
            internal: None,
            retry_after: None,
        }
    }

    pub fn invalid(fields: ValidationErrors) -> Self {
        let mut error = Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_input",
            format!("invalid input: {fields}"),
        );
        error.body.fields = Some(fields.0);
        error
    }

    pub fn bad_request(code: &str, error: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, error)
    }

    pub fn unauthorized(code: &str, error: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, error)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub fn conflict(code: &str, error: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, error)
    }

    pub fn unavailable(cause: String) -> Self {
        Self::retry_later(
            "unavailable",
            "the service is temporarily unavailable, retry shortly",
            cause,
            RETRY_AFTER_SECONDS,
        )
    }

    /// The database's disk is full or failing: 503 `storage_unavailable`.
    pub fn storage_unavailable(cause: String) -> Self {
        Self::retry_later(
            "storage_unavailable",
            "the service cannot store data right now, retry later",
            cause,
            STORAGE_RETRY_AFTER_SECONDS,
        )
    }

    /// A 503 whose cause is logged, not sent, with the wait the client should respect.
    fn retry_later(code: &str, error: &str, cause: String, seconds: u32) -> Self {
        let mut answer = Self::new(StatusCode::SERVICE_UNAVAILABLE, code, error);
        answer.internal = Some(cause);
        answer.retry_after = Some(seconds);
        answer
    }

    pub fn too_many_requests(retry_after: u32) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests, slow down",
        );
        error.retry_after = Some(retry_after.max(1));
        error
    }

    pub fn internal(cause: String) -> Self {
        let mut error = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "internal error",
        );
        error.internal = Some(cause);
        error
    }

    pub(crate) fn token(error: TokenError) -> Self {
        match error {
            TokenError::Expired => Self::unauthorized("token_expired", "the token has expired"),
            TokenError::Invalid => Self::unauthorized("token_invalid", "the token is invalid"),
            TokenError::WrongType => {
                Self::unauthorized("token_invalid", "wrong kind of token for this use")
            }
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.body.code,
            self.body.error
        )?;
        if let Some(internal) = &self.internal {
            write!(f, " ({internal})")?;
        }
        Ok(())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        // The cause of a 5xx is logged here, once; the client only sees the safe body.
        let cause = self.internal.as_deref().unwrap_or("");
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            tracing::warn!(status = 503, code = %self.body.code, cause, "dependency unavailable");
        } else if self.status.is_server_error() {
            tracing::error!(status = self.status.as_u16(), code = %self.body.code, cause, "request failed");
        }
        let mut response = HttpResponse::build(self.status);
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.json(&self.body)
    }
}

impl From<TokenError> for ApiError {
    fn from(error: TokenError) -> Self {
        Self::token(error)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(cause) => Self::unavailable(cause),
            StoreError::StorageUnavailable(cause) => Self::storage_unavailable(cause),
            StoreError::Unexpected(cause) => Self::internal(cause),
        }
    }
}

/// Turns actix's extractor errors (bad JSON, bad path, bad query) into the contract's
/// JSON 400 (413 for an oversized body), never its plain-text default.
pub fn json_error(error: actix_web::error::JsonPayloadError) -> ApiError {
    use actix_web::error::JsonPayloadError as E;
    match &error {
        E::Overflow { .. } | E::OverflowKnownLength { .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "request body too large",
        ),
        E::Deserialize(inner) => {
            ApiError::bad_request("invalid_json", format!("invalid request body: {inner}"))
        }
        // Cut short or badly framed; the cause's text is debug output, of no use here.
        E::Payload(_) => {
            ApiError::bad_request("invalid_json", "the request body could not be read")
        }
        _ => ApiError::bad_request("invalid_json", format!("invalid request body: {error}")),
    }
}

pub fn path_error(error: actix_web::error::PathError) -> ApiError {
    ApiError::bad_request("invalid_path", format!("invalid path parameter: {error}"))
}

pub fn query_error(error: actix_web::error::QueryPayloadError) -> ApiError {
    ApiError::bad_request("invalid_query", format!("invalid query parameter: {error}"))
}
