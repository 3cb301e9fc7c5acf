//! Screens (auditoriums) and their seat layouts: anyone signed in reads them; staff edit
//! them. Their errors are the catalogue's (`routes/catalog/errors.rs`).

mod dto;

use paperclip::actix::{api_v2_operation, web, CreatedJson, NoContent};

use crate::http::extract::{Authenticated, Listed};
use crate::http::ApiError;
use crate::routes::catalog::PageQuery;
use crate::state::AppState;
use dto::*;

/// List screens
///
/// Screens ordered by name, without their layouts (`GET /api/screens/{id}/` has it).
/// `X-Total-Count` holds the total.
#[api_v2_operation(tags(Catalogue))]
pub async fn list_screens(
    state: web::Data<AppState>,
    _caller: Authenticated,
    query: web::Query<PageQuery>,
) -> Result<Listed<ScreenSummaryResponse>, ApiError> {
    let listing = state
        .catalog
        .list_screens(query.limit, query.offset)
        .await?;
    Ok(Listed::from_listing(listing))
}

/// Get a screen
///
/// The screen with its layout, in the compact form it was created with.
#[api_v2_operation(tags(Catalogue))]
pub async fn get_screen(
    state: web::Data<AppState>,
    _caller: Authenticated,
    id: web::Path<i64>,
) -> Result<web::Json<ScreenResponse>, ApiError> {
    Ok(web::Json(state.catalog.screen(*id).await?.into()))
}

/// Create a screen (staff)
///
/// `rows` in the compact form: each row's `label`, `count`, `category` (default
/// `standard`), and the places (from 1) of its `aisles_after`, `wheelchair` and
/// `blocked`. Seat numbers run from 1 in row order, left to right.
#[api_v2_operation(tags(Catalogue))]
pub async fn create_screen(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: web::Json<ScreenRequest>,
) -> Result<CreatedJson<ScreenResponse>, ApiError> {
    let screen = state
        .catalog
        .create_screen(&caller.0, body.into_inner().into())
        .await?;
    Ok(CreatedJson(screen.into()))
}

/// Update a screen (staff)
///
/// Changes `name` and/or `rows`. The rows of a screen that a show uses cannot change:
/// 409 `screen_in_use` (renaming is fine).
#[api_v2_operation(tags(Catalogue))]
pub async fn update_screen(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<i64>,
    body: web::Json<ScreenRequest>,
) -> Result<web::Json<ScreenResponse>, ApiError> {
    let screen = state
        .catalog
        .update_screen(&caller.0, *id, body.into_inner().into())
        .await?;
    Ok(web::Json(screen.into()))
}

/// Delete a screen (staff)
///
/// Refused with 409 `screen_in_use` while a show uses it.
#[api_v2_operation(tags(Catalogue))]
pub async fn delete_screen(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<i64>,
) -> Result<NoContent, ApiError> {
    state.catalog.delete_screen(&caller.0, *id).await?;
    Ok(NoContent)
}
