//! Operations: liveness and readiness.

use std::time::Duration;

use paperclip::actix::{api_v2_operation, web};

use crate::dto::StatusResponse;
use crate::errors::ApiError;
use crate::state::AppState;

/// How long `/ready/` waits for the database.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Liveness
///
/// 200 while the process runs.
#[api_v2_operation(tags(Operations))]
pub async fn health() -> Result<web::Json<StatusResponse>, ApiError> {
    Ok(web::Json(StatusResponse {
        status: "ok".into(),
    }))
}

/// Readiness
///
/// 200 when the database answers within 2 seconds, 503 otherwise.
#[api_v2_operation(tags(Operations))]
pub async fn ready(state: web::Data<AppState>) -> Result<web::Json<StatusResponse>, ApiError> {
    match tokio::time::timeout(READY_TIMEOUT, state.database.ping()).await {
        Ok(Ok(())) => Ok(web::Json(StatusResponse {
            status: "ready".into(),
        })),
        Ok(Err(error)) => Err(error.into()),
        Err(_) => Err(ApiError::unavailable(
            "database did not answer in time".into(),
        )),
    }
}
