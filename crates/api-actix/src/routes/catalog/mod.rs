//! Catalogue: anyone signed in reads movies, shows and seat maps; staff edit them.

mod dto;
mod errors;
mod stream;

pub use dto::PageQuery;
pub use stream::seat_stream;

use actix_web::body::BoxBody;
use actix_web::{HttpRequest, HttpResponse, Responder};
use std::marker::PhantomData;

use actix_web::web::Bytes;
use domain::SeatMap;
use paperclip::actix::{api_v2_operation, web, CreatedJson, NoContent, OperationModifier};
use paperclip::v2::models::{DefaultOperationRaw, DefaultSchemaRaw, Either, Response};
use paperclip::v2::schema::Apiv2Schema;

use crate::http::extract::{Authenticated, KeptList, Listed};
use crate::http::ApiError;
use crate::state::AppState;
use dto::*;

/// List movies
///
/// Movies ordered by title. `X-Total-Count` holds the total.
#[api_v2_operation(tags(Catalogue))]
pub async fn list_movies(
    state: web::Data<AppState>,
    _caller: Authenticated,
    query: web::Query<PageQuery>,
) -> Result<Listed<MovieResponse>, ApiError> {
    let listing = state.catalog.list_movies(query.limit, query.offset).await?;
    Ok(Listed::from_listing(listing))
}

/// Get a movie
#[api_v2_operation(tags(Catalogue))]
pub async fn get_movie(
    state: web::Data<AppState>,
    _caller: Authenticated,
    id: web::Path<i64>,
) -> Result<web::Json<MovieResponse>, ApiError> {
    Ok(web::Json(state.catalog.movie(*id).await?.into()))
}

/// Create a movie (staff)
#[api_v2_operation(tags(Catalogue))]
pub async fn create_movie(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: web::Json<MovieRequest>,
) -> Result<CreatedJson<MovieResponse>, ApiError> {
    let movie = state
        .catalog
        .create_movie(&caller.0, body.into_inner().into())
        .await?;
    Ok(CreatedJson(movie.into()))
}

/// Update a movie (staff)
///
/// Changes only the fields given.
#[api_v2_operation(tags(Catalogue))]
pub async fn update_movie(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<i64>,
    body: web::Json<MovieRequest>,
) -> Result<web::Json<MovieResponse>, ApiError> {
    let movie = state
        .catalog
        .update_movie(&caller.0, *id, body.into_inner().into())
        .await?;
    Ok(web::Json(movie.into()))
}

/// Delete a movie (staff)
///
/// Deletes the movie and its shows. Refused with 409 while any of its shows has a
/// confirmed booking.
#[api_v2_operation(tags(Catalogue))]
pub async fn delete_movie(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<i64>,
) -> Result<NoContent, ApiError> {
    state.catalog.delete_movie(&caller.0, *id).await?;
    Ok(NoContent)
}

/// List a movie's shows
///
/// The shows of one movie, by start time; accepts the filters of the show list.
#[api_v2_operation(tags(Catalogue))]
pub async fn movie_shows(
    state: web::Data<AppState>,
    _caller: Authenticated,
    id: web::Path<i64>,
    query: web::Query<ShowsQuery>,
) -> Result<Listed<ShowResponse>, ApiError> {
    let listing = state
        .catalog
        .movie_shows(*id, query.into_inner().into_domain())
        .await?;
    Ok(Listed::from_listing(listing))
}

/// List shows
///
/// Shows ordered by start time, filtered by `movie`, `date` (UTC day) and `upcoming`.
/// `X-Total-Count` holds the total.
#[api_v2_operation(tags(Catalogue))]
pub async fn list_shows(
    state: web::Data<AppState>,
    _caller: Authenticated,
    query: web::Query<ShowsQuery>,
) -> Result<KeptList<ShowResponse>, ApiError> {
    let key = format!("{:?}", *query);
    let version = state.live.version();
    let answer = match state.answers.show_list(&key, version) {
        Some(answer) => answer,
        None => {
            let listing = state
                .catalog
                .list_shows(query.into_inner().into_domain())
                .await?;
            let answer = Listed::<ShowResponse>::from_listing(listing).answer()?;
            state.answers.keep_show_list(key, version, answer.clone());
            answer
        }
    };
    Ok(KeptList(answer, PhantomData))
}

/// Get a show
#[api_v2_operation(tags(Catalogue))]
pub async fn get_show(
    state: web::Data<AppState>,
    _caller: Authenticated,
    id: web::Path<i64>,
) -> Result<web::Json<ShowResponse>, ApiError> {
    Ok(web::Json(state.catalog.show(*id).await?.into()))
}

/// The seat map's JSON, written straight from the show's layout (a map may hold 10,000
/// seats): the body of the seat map route and of a stream's snapshot.
fn seat_map_json(map: &SeatMap) -> Result<Bytes, ApiError> {
    serde_json::to_vec(&SeatsBody(map))
        .map(Bytes::from)
        .map_err(|error| ApiError::internal(error.to_string()))
}

/// A 200 with the seat map's JSON.
pub struct SeatMapJson(Bytes);

impl Responder for SeatMapJson {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse<BoxBody> {
        HttpResponse::Ok()
            .insert_header(actix_web::http::header::ContentType::json())
            .body(self.0)
    }
}

impl Apiv2Schema for SeatMapJson {
    fn name() -> Option<String> {
        None
    }

    fn raw_schema() -> DefaultSchemaRaw {
        Vec::<SeatResponse<'static>>::raw_schema()
    }
}

impl OperationModifier for SeatMapJson {
    fn update_response(op: &mut DefaultOperationRaw) {
        op.responses.insert(
            "200".into(),
            Either::Right(Response {
                description: Some("OK: every seat, in seat-number order".into()),
                schema: Some({
                    let mut def = Vec::<SeatResponse<'static>>::schema_with_ref();
                    def.retain_ref();
                    def
                }),
                ..Default::default()
            }),
        );
    }
}

/// Seat map of a show
///
/// Every seat from 1 to total_seats, in order: its row, label, type, category and
/// price, and its status, `available`, `booked` or `blocked`. A flat show has one row
/// `""`, labels `"1"` to `"N"`, type and category `standard`.
#[api_v2_operation(tags(Catalogue))]
pub async fn seat_map(
    state: web::Data<AppState>,
    _caller: Authenticated,
    id: web::Path<i64>,
) -> Result<SeatMapJson, ApiError> {
    let show = *id;
    let version = state.live.seats_version(show);
    if let Some(answer) = state.answers.seat_map(show, version) {
        return Ok(SeatMapJson(answer));
    }
    let (_, seats) = state.catalog.seat_map(show).await?;
    let body = seat_map_json(&seats)?;
    state.answers.keep_seat_map(show, version, body.clone());
    Ok(SeatMapJson(body))
}

/// Create a show (staff)
///
/// On a screen (`screen_id`, and `prices` for every category of its layout), or flat
/// (`screen_name` and `total_seats`; `prices` optional, `{"standard": 0}` by default).
/// Prices are in minor units of `booking.currency`.
#[api_v2_operation(tags(Catalogue))]
pub async fn create_show(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: web::Json<ShowRequest>,
) -> Result<CreatedJson<ShowResponse>, ApiError> {
    let show = state
        .catalog
        .create_show(&caller.0, body.into_inner().into())
        .await?;
    Ok(CreatedJson(show.into()))
}

/// Update a show (staff)
///
/// Changes only the fields given. `prices` replaces every price. `screen_id` moves the
/// show to that screen's layout; `screen_name` and `total_seats` change only a flat
/// show. Seats that would disappear or be blocked while booked are refused with 409
/// `seat_booked`.
#[api_v2_operation(tags(Catalogue))]
pub async fn update_show(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<i64>,
    body: web::Json<ShowRequest>,
) -> Result<web::Json<ShowResponse>, ApiError> {
    let show = state
        .catalog
        .update_show(&caller.0, *id, body.into_inner().into())
        .await?;
    Ok(web::Json(show.into()))
}

/// Delete a show (staff)
///
/// Refused with 409 while the show has a confirmed booking.
#[api_v2_operation(tags(Catalogue))]
pub async fn delete_show(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<i64>,
) -> Result<NoContent, ApiError> {
    state.catalog.delete_show(&caller.0, *id).await?;
    Ok(NoContent)
}
