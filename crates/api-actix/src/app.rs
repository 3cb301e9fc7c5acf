//! The application: every route of the contract, documented through paperclip from the
//! first route on, plus the middleware that keeps every answer JSON.

use std::time::Instant;

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode, Uri};
use actix_web::middleware::{Condition, DefaultHeaders, ErrorHandlerResponse, ErrorHandlers};
use actix_web::{HttpMessage, HttpResponse, ResponseError};
use domain::UserId;
use paperclip::actix::{web, OpenApiExt};
use paperclip::v2::models::{DefaultApiRaw, Info, Tag};

use crate::http::edge::{head_as_get, refuse_content_encoding, CatchPanic};
use crate::http::idempotency::{self, DocumentIdempotencyKey, HonouredRoutes};
use crate::http::{json_error, openapi, path_error, query_error, ratelimit, ApiError};
use crate::routes::{accounts, booking, catalog, ops, screens};
use crate::settings::ServerSettings;
use crate::state::AppState;

/// Request bodies above this get 413.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Files of the bundled Swagger UI; any other `/swagger/...` path is a JSON 404.
pub const SWAGGER_FILES: &[&str] = &[
    "index.html",
    "oauth2-redirect.html",
    "swagger-ui.css",
    "swagger-ui.js",
    "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js",
    "swagger-ui-es-bundle.js",
    "swagger-ui-es-bundle-core.js",
    "favicon-16x16.png",
    "favicon-32x32.png",
];

/// Where `/swagger/` sends the browser: the UI's page, showing the OpenAPI 3 document.
const SWAGGER_INDEX: &str = "/swagger/index.html?url=/api/openapi.json";

fn spec() -> DefaultApiRaw {
    let tag = |name: &str, description: &str| Tag {
        name: name.into(),
        description: Some(description.into()),
        external_docs: None,
    };
    DefaultApiRaw {
        info: Info {
            version: env!("CARGO_PKG_VERSION").into(),
            title: "movie-booking".into(),
            description: Some(
                "Book cinema seats. Log in at /api/login/, then send `Authorization: Bearer <access>` \
                 (in Swagger UI: Authorize, and paste `Bearer <access>`). Every authenticated \
                 POST, PATCH and DELETE takes an optional `Idempotency-Key` header, so that \
                 a retry after a lost answer is safe."
                    .into(),
            ),
            ..Default::default()
        },
        tags: vec![
            tag("Accounts", "Sign up, log in, tokens"),
            tag(
                "Catalogue",
                "Movies, screens, shows and seat maps; staff edit them",
            ),
            tag("Booking", "Book, list and cancel seats"),
            tag(
                "Holds",
                "Keep seats while paying, then confirm them into bookings",
            ),
            tag("Operations", "Health, readiness and metrics"),
        ],
        ..Default::default()
    }
}

/// Declares every documented route once: [`ROUTES`] lists them and [`register_routes`]
/// registers them, so the route table and the OpenAPI document cannot drift apart
/// unnoticed (a test compares the document with [`ROUTES`]).
macro_rules! routes {
    ($($path:literal => { $($method:ident => $handler:path),+ $(,)? }),* $(,)?) => {
        /// (method, path) of every route the router serves and the document must list.
        pub const ROUTES: &[(&str, &str)] = &[$($((stringify!($method), $path)),+),*];

        fn register_routes(config: &mut web::ServiceConfig) {
            $(config.service(web::resource($path)$(.route(web::$method().to($handler)))+);)*
        }
    };
}

routes! {
    "/api/signup/" => { post => accounts::signup },
    "/api/login/" => { post => accounts::login },
    "/api/token/refresh/" => { post => accounts::refresh },
    "/api/logout/" => { post => accounts::logout },
    "/api/me/" => { get => accounts::me },
    "/api/movies/" => { get => catalog::list_movies, post => catalog::create_movie },
    "/api/movies/{id}/" => {
        get => catalog::get_movie,
        patch => catalog::update_movie,
        delete => catalog::delete_movie,
    },
    "/api/movies/{id}/shows/" => { get => catalog::movie_shows },
    "/api/screens/" => { get => screens::list_screens, post => screens::create_screen },
    "/api/screens/{id}/" => {
        get => screens::get_screen,
        patch => screens::update_screen,
        delete => screens::delete_screen,
    },
    "/api/shows/" => { get => catalog::list_shows, post => catalog::create_show },
    "/api/shows/{id}/" => {
        get => catalog::get_show,
        patch => catalog::update_show,
        delete => catalog::delete_show,
    },
    "/api/shows/{id}/seats/" => { get => catalog::seat_map },
    "/api/shows/{id}/seats/stream/" => { get => catalog::seat_stream },
    "/api/shows/{id}/best-seats/" => { get => booking::best_seats },
    "/api/shows/{id}/book/" => { post => booking::book },
    "/api/shows/{id}/holds/" => { post => booking::create_hold },
    "/api/holds/" => { get => booking::list_holds },
    "/api/holds/{id}/" => { get => booking::get_hold, delete => booking::release_hold },
    "/api/holds/{id}/extend/" => { post => booking::extend_hold },
    "/api/holds/{id}/confirm/" => { post => booking::confirm_hold },
    "/api/bookings/" => { get => booking::list_bookings },
    "/api/my-bookings/" => { get => booking::my_bookings },
    "/api/bookings/{id}/" => { get => booking::get_booking },
    "/api/bookings/{id}/cancel/" => {
        delete => booking::cancel_booking,
        post => booking::cancel_booking_post,
    },
    "/health/" => { get => ops::health },
    "/ready/" => { get => ops::ready },
    "/metrics" => { get => ops::metrics },
}

pub fn build_app(
    state: web::Data<AppState>,
    server: &ServerSettings,
) -> actix_web::App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let metrics = state.metrics.clone();
    let allowed_hosts = server.allowed_hosts.clone();
    let mut spec_v2 = serde_json::Value::Null;
    let idempotent_routes = HonouredRoutes::default();
    actix_web::App::new()
        .app_data(state)
        .app_data(idempotent_routes.clone())
        .app_data(
            web::JsonConfig::default()
                .limit(BODY_LIMIT)
                .content_type_required(false)
                .error_handler(|err, _| json_error(err).into()),
        )
        .app_data(web::PathConfig::default().error_handler(|err, _| path_error(err).into()))
        .app_data(web::QueryConfig::default().error_handler(|err, _| query_error(err).into()))
        .wrap_api_with_spec(spec())
        .configure(register_routes)
        .service(DocumentIdempotencyKey(idempotent_routes))
        // The documents with their nullable fields marked; paperclip's own handlers for
        // the same paths come after them, and stay only to give Swagger UI its URL.
        .with_raw_json_spec(|app, v2| {
            spec_v2 = v2;
            app
        })
        .with_raw_json_spec_v3(|app, v3| openapi::serve(app, std::mem::take(&mut spec_v2), v3))
        .with_json_spec_at(openapi::V2_PATH)
        .with_json_spec_v3_at(openapi::V3_PATH)
        .with_swagger_ui_at("/swagger")
        .build()
        .configure(crate::routes::app_page::configure)
        .service(actix_web::web::resource("/").to(|| async {
            HttpResponse::Found()
                .insert_header((header::LOCATION, "/swagger/"))
                .finish()
        }))
        .default_service(actix_web::web::to(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route").error_response()
        }))
        .wrap(CatchPanic)
        // Inside the rate limits, so that retries count too; outside CatchPanic, so that
        // a panic releases the key.
        .wrap(actix_web::middleware::from_fn(idempotency::enforce))
        // Before the extractors, so that malformed requests count too.
        .wrap(actix_web::middleware::from_fn(ratelimit::enforce))
        .wrap(
            ErrorHandlers::new().handler(StatusCode::METHOD_NOT_ALLOWED, |res| {
                json_error_response(
                    res,
                    ApiError::new(
                        StatusCode::METHOD_NOT_ALLOWED,
                        "method_not_allowed",
                        "method not allowed on this route",
                    ),
                )
            }),
        )
        .wrap(Condition::new(
            !server.cors_allowed_origins.is_empty(),
            cors(&server.cors_allowed_origins),
        ))
        .wrap_fn(move |req, srv| {
            // Answered here, before routing: a Host this service does not serve, a
            // compressed body, and Swagger UI's bare path and unknown files.
            let answer = if !host_allowed(&allowed_hosts, &req) {
                Some(
                    ApiError::bad_request("invalid_host", "this Host is not served here")
                        .error_response(),
                )
            } else {
                refuse_content_encoding(&req).or_else(|| swagger_answer(&req))
            };
            if let Some(response) = answer {
                let (req, _) = req.into_parts();
                return futures_util::future::Either::Left(std::future::ready(Ok(
                    ServiceResponse::new(req, response).map_into_right_body(),
                )));
            }
            let call = srv.call(req);
            futures_util::future::Either::Right(async move {
                call.await.map(|res| res.map_into_left_body())
            })
        })
        .wrap_fn(move |mut req, srv| {
            add_trailing_slash(&mut req);
            let request_id = request_id(&req);
            let started = Instant::now();
            let method = req.method().clone();
            head_as_get(&mut req);
            let path = req.path().to_owned();
            // A pattern of the route table, never the path: the label set stays small.
            let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
            let metrics = metrics.clone();
            let call = srv.call(req);
            async move {
                let result = call.await;
                let status = match &result {
                    Ok(res) => res.status(),
                    // A caught panic; actix turns the error into the response.
                    Err(error) => error.as_response_error().status_code(),
                }
                .as_u16();
                let elapsed = started.elapsed();
                metrics.observe_request(method.as_str(), &route, status, elapsed);
                let user = result
                    .as_ref()
                    .ok()
                    .and_then(|res| res.request().extensions().get::<UserId>().map(|id| id.0));
                tracing::info!(
                    %method,
                    path,
                    route,
                    status,
                    latency_ms = elapsed.as_secs_f64() * 1000.0,
                    user,
                    request_id,
                    "request"
                );
                let mut res = result?;
                if let Ok(value) = header::HeaderValue::from_str(&request_id) {
                    res.headers_mut()
                        .insert(header::HeaderName::from_static(REQUEST_ID), value);
                }
                Ok(res)
            }
        })
        .wrap(
            DefaultHeaders::new()
                .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                .add((header::X_FRAME_OPTIONS, "DENY"))
                .add((header::REFERRER_POLICY, "no-referrer")),
        )
}

const REQUEST_ID: &str = "x-request-id";

/// The caller's `X-Request-Id` when it is a sane token, else a new one.
fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| uuid::Uuid::new_v4().simple().to_string(), str::to_owned)
}

/// With `server.allowed_hosts` set, only those Host names (any port) are served.
fn host_allowed(allowed: &[String], req: &ServiceRequest) -> bool {
    if allowed.is_empty() {
        return true;
    }
    let host = req.connection_info().host().to_owned();
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name.to_owned(),
        _ => host,
    };
    allowed.iter().any(|a| a.eq_ignore_ascii_case(&name))
}

fn cors(origins: &[String]) -> Cors {
    let cors = Cors::default()
        .allowed_methods(["GET", "POST", "PATCH", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::HeaderName::from_static(REQUEST_ID),
            header::HeaderName::from_static(idempotency::IDEMPOTENCY_KEY),
        ])
        .expose_headers([
            "X-Total-Count",
            "X-Request-Id",
            "Retry-After",
            "Idempotent-Replayed",
        ])
        .max_age(3600);
    if origins.iter().any(|o| o == "*") {
        cors.allow_any_origin()
    } else {
        origins
            .iter()
            .fold(cors, |cors, origin| cors.allowed_origin(origin))
    }
}

fn json_error_response<B>(
    res: ServiceResponse<B>,
    error: ApiError,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let (req, _) = res.into_parts();
    let response = error.error_response();
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, response).map_into_right_body(),
    ))
}

/// A GET of Swagger UI's bare path is redirected here, whatever its query string, and
/// names that are not among its files are a 404: paperclip's handler panics on both.
fn swagger_answer(req: &ServiceRequest) -> Option<HttpResponse> {
    // The path the router matches, percent-decoded (`/%73wagger/` is `/swagger/`).
    let path = req.match_info().as_str();
    if (path == "/swagger" || path == "/swagger/") && req.method() == actix_web::http::Method::GET {
        return Some(
            HttpResponse::PermanentRedirect()
                .insert_header((header::LOCATION, SWAGGER_INDEX))
                .finish(),
        );
    }
    let file = path.strip_prefix("/swagger/")?;
    (!SWAGGER_FILES.contains(&file))
        .then(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such file").error_response())
}

/// `/api/movies` answers like `/api/movies/`: the contract's paths end in a slash, and
/// clients may leave it off. Files (`openapi.json`) and the Swagger UI are left alone.
fn add_trailing_slash(req: &mut ServiceRequest) {
    let path = req.path();
    let wants_slash = (path.starts_with("/api/") || path == "/health" || path == "/ready")
        && !path.ends_with('/')
        && !path
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.'));
    if !wants_slash {
        return;
    }
    let rewritten = match req.query_string() {
        "" => format!("{path}/"),
        query => format!("{path}/?{query}"),
    };
    if let Ok(uri) = rewritten.parse::<Uri>() {
        req.match_info_mut().get_mut().update(&uri);
        req.head_mut().uri = uri;
    }
}
