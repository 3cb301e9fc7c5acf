//! Operations: liveness and readiness.

use std::time::Duration;

use paperclip::actix::{api_v2_operation, web, Apiv2Schema};
use serde::Serialize;

use crate::http::ApiError;
use crate::state::AppState;

#[derive(Debug, Serialize, Apiv2Schema)]
pub struct StatusResponse {
    pub status: String,
}

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
/// 200 when the database answers within 2 seconds and takes writes, 503 otherwise:
/// `storage_unavailable` after a write failed on a full or failing disk, until a small
/// write of its own goes through again.
#[api_v2_operation(tags(Operations))]
pub async fn ready(state: web::Data<AppState>) -> Result<web::Json<StatusResponse>, ApiError> {
    match tokio::time::timeout(READY_TIMEOUT, state.health.ping()).await {
        Ok(Ok(())) => Ok(web::Json(StatusResponse {
            status: "ready".into(),
        })),
        Ok(Err(error)) => Err(error.into()),
        Err(_) => Err(ApiError::unavailable(
            "database did not answer in time".into(),
        )),
    }
}

/// Prometheus metrics in the text exposition format.
pub struct MetricsText(String);

impl actix_web::Responder for MetricsText {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, _: &actix_web::HttpRequest) -> actix_web::HttpResponse {
        actix_web::HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(self.0)
    }
}

impl paperclip::v2::schema::Apiv2Schema for MetricsText {}

impl paperclip::actix::OperationModifier for MetricsText {
    fn update_response(op: &mut paperclip::v2::models::DefaultOperationRaw) {
        use paperclip::v2::models::{DataType, DefaultSchemaRaw, Either, MediaRange, Response};
        op.produces = Some(
            ["text/plain"]
                .iter()
                .filter_map(|m| m.parse().ok().map(MediaRange))
                .collect(),
        );
        op.responses.insert(
            "200".into(),
            Either::Right(Response {
                description: Some("Prometheus text exposition format".into()),
                schema: Some(DefaultSchemaRaw {
                    data_type: Some(DataType::String),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        );
    }
}

/// Metrics
///
/// Prometheus text format: requests by route and status, latency histograms, bookings
/// confirmed and cancelled, seat conflicts, and the database pool.
#[api_v2_operation(tags(Operations))]
pub async fn metrics(state: web::Data<AppState>) -> Result<MetricsText, ApiError> {
    let text = state
        .metrics
        .render(state.health.pool_status())
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(MetricsText(text))
}
