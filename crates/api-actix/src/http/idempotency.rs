//! Idempotent retries over HTTP. [`enforce`], a middleware, gives every authenticated
//! POST, PATCH and DELETE under `/api/` its `Idempotency-Key` behaviour, so a new route
//! has it without code; [`DocumentIdempotencyKey`] adds the header to those operations
//! in the OpenAPI document and tells the middleware which they are ([`HonouredRoutes`]);
//! [`answer_for`] and [`Rendered`] let a handler whose use case commits its answer with
//! its change (booking, cancelling) hand that answer over.
//!
//! The middleware authenticates the bearer token itself (without a valid one the request
//! passes through untouched, and the handler answers 401), reads the body (up to
//! [`BODY_LIMIT`]), claims the key through [`IdempotencyService::begin`] and then either
//! answers from what is kept or runs the request and keeps its answer.

use std::collections::{BTreeMap, HashSet};
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{AppService, HttpServiceFactory, Payload, ServiceRequest, ServiceResponse};
use actix_web::error::JsonPayloadError;
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, Responder, ResponseError};
use domain::idempotency::rules;
use domain::{
    Begin, ClaimToken, IdempotencyClaim, IdempotencyKey, IdempotencyScope, IdempotencyService,
    IdempotentAnswer, RenderAnswer, RequestFingerprint, StoredAnswer,
};
use futures_util::StreamExt;
use paperclip::actix::{Mountable, OperationModifier};
use paperclip::v2::models::{
    DataType, DefaultOperationRaw, DefaultParameterRaw, DefaultPathItemRaw, DefaultSchemaRaw,
    Either, HttpMethod, ParameterIn, SecurityScheme,
};
use paperclip::v2::schema::Apiv2Schema;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::app::BODY_LIMIT;
use crate::http::extract::authenticate;
use crate::http::{json_error, ApiError};
use crate::state::AppState;

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

/// Seconds a client should wait before retrying a request whose key is in flight.
const IN_FLIGHT_RETRY_AFTER_SECONDS: u32 = 1;

/// The middleware. It sits inside the rate limits (a retry counts like any request) and
/// outside `CatchPanic` (a panic reaches it as a 500, which releases the key).
pub async fn enforce<B>(
    mut req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error>
where
    B: MessageBody + 'static,
{
    let applies = req.headers().contains_key(IDEMPOTENCY_KEY)
        && req
            .app_data::<HonouredRoutes>()
            .is_some_and(|routes| routes.honour(&req));
    if !applies {
        return pass(req, next).await;
    }
    let Some(state) = req.app_data::<actix_web::web::Data<AppState>>().cloned() else {
        return pass(req, next).await;
    };
    // Without a valid token there is no user to scope the key to; the handler answers 401.
    let Ok(user) = authenticate(req.request()) else {
        return pass(req, next).await;
    };
    let key = match idempotency_key(&req) {
        Ok(key) => key,
        Err(error) => return Ok(answer(req, error)),
    };
    let body = match read_body(&mut req).await {
        Ok(body) => body,
        Err(error) => return Ok(answer(req, error)),
    };
    let fingerprint = RequestFingerprint(Sha256::digest(&body).to_vec());
    req.set_payload(Payload::from(body));
    let scope = IdempotencyScope {
        user: user.id,
        method: req.method().as_str().to_owned(),
        path: req.path().to_owned(),
        key,
    };
    let token = ClaimToken(uuid::Uuid::new_v4().simple().to_string());
    match state.idempotency.begin(scope, &fingerprint, token).await {
        Ok(Begin::Run(claim)) => run(req, next, &state.idempotency, claim).await,
        Ok(Begin::Replay(stored)) => {
            state.metrics.idempotent_replays.inc();
            Ok(req
                .into_response(response_of(stored, true))
                .map_into_right_body())
        }
        Ok(Begin::Reused) => Ok(answer(
            req,
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was used with another request body: use a new key",
            ),
        )),
        Ok(Begin::InFlight) => {
            let mut error = ApiError::conflict(
                "idempotency_in_flight",
                "a request with this Idempotency-Key is still running: retry shortly",
            );
            error.retry_after = Some(IN_FLIGHT_RETRY_AFTER_SECONDS);
            Ok(answer(req, error))
        }
        Err(error) => Ok(answer(req, error.into())),
    }
}

async fn pass<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

fn answer<B>(req: ServiceRequest, error: ApiError) -> ServiceResponse<EitherBody<B>> {
    req.into_response(error.error_response())
        .map_into_right_body()
}

/// The one `Idempotency-Key` header, parsed; several of them are as invalid as a bad one.
fn idempotency_key(req: &ServiceRequest) -> Result<IdempotencyKey, ApiError> {
    let mut values = req.headers().get_all(IDEMPOTENCY_KEY);
    let problem = match (values.next(), values.next()) {
        (Some(value), None) => match value.to_str().map(IdempotencyKey::parse) {
            Ok(Ok(key)) => return Ok(key),
            Ok(Err(problem)) => problem,
            Err(_) => "must be visible ASCII characters only (no spaces)".to_owned(),
        },
        _ => "send it once".to_owned(),
    };
    Err(ApiError::bad_request(
        "invalid_idempotency_key",
        format!("invalid Idempotency-Key: {problem}"),
    ))
}

/// The whole body, refused with the usual 413 beyond [`BODY_LIMIT`] (before anything is
/// stored), to be fingerprinted and handed on to the handler.
async fn read_body(req: &mut ServiceRequest) -> Result<Bytes, ApiError> {
    let too_large = || json_error(JsonPayloadError::Overflow { limit: BODY_LIMIT });
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > BODY_LIMIT) {
        return Err(too_large());
    }
    let mut payload = req.take_payload();
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| json_error(JsonPayloadError::Payload(e)))?;
        if body.len() + chunk.len() > BODY_LIMIT {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Runs the request holding `claim`, then keeps its answer (or releases the key for a
/// 429 or 5xx, so a retry runs again).
async fn run<B>(
    req: ServiceRequest,
    next: Next<B>,
    idempotency: &IdempotencyService,
    claim: IdempotencyClaim,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error>
where
    B: MessageBody + 'static,
{
    let guard = ClaimGuard {
        idempotency: idempotency.clone(),
        claim: Some(claim.clone()),
    };
    req.extensions_mut().insert(claim);
    let res = match next.call(req).await {
        Ok(res) => res,
        Err(error) => {
            guard.abandon().await;
            return Err(error);
        }
    };
    if res.request().extensions().contains::<AnswerCommitted>() {
        guard.disarm();
        return Ok(res.map_into_left_body());
    }
    let status = res.status();
    if !rules::is_kept(status.as_u16()) {
        guard.abandon().await;
        return Ok(res.map_into_left_body());
    }
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let (http_req, response) = res.into_parts();
    let (head, body) = response.into_parts();
    let body = match actix_web::body::to_bytes(body).await {
        Ok(body) => body,
        Err(error) => {
            guard.abandon().await;
            let cause: Box<dyn std::error::Error> = error.into();
            let error = ApiError::internal(format!("reading the response body: {cause}"));
            return Ok(ServiceResponse::new(http_req, error.error_response()).map_into_right_body());
        }
    };
    let stored = StoredAnswer {
        status: status.as_u16(),
        content_type,
        body: body.to_vec(),
    };
    guard.finish(&stored).await;
    Ok(ServiceResponse::new(http_req, head.set_body(BoxBody::new(body))).map_into_right_body())
}

/// Releases the claim if the request ends without finishing it, including when its
/// future is dropped (the client went away): a retry then runs again instead of waiting
/// for the in-flight timeout. Releasing only ever deletes a row still in flight under
/// this claim, so it never undoes an answer already kept.
struct ClaimGuard {
    idempotency: IdempotencyService,
    claim: Option<IdempotencyClaim>,
}

impl ClaimGuard {
    async fn finish(mut self, answer: &StoredAnswer) {
        if let Some(claim) = &self.claim {
            if let Err(error) = self.idempotency.finish(claim, answer).await {
                // The client still gets its answer; a retry finds the key in flight until
                // the in-flight timeout, then runs again.
                tracing::warn!(%error, "cannot keep the answer of an Idempotency-Key");
            }
        }
        self.claim = None;
    }

    async fn abandon(mut self) {
        if let Some(claim) = &self.claim {
            if let Err(error) = self.idempotency.abandon(claim).await {
                tracing::warn!(%error, "cannot release an Idempotency-Key");
            }
        }
        self.claim = None;
    }

    fn disarm(mut self) {
        self.claim = None;
    }
}

impl Drop for ClaimGuard {
    fn drop(&mut self) {
        let Some(claim) = self.claim.take() else {
            return;
        };
        let idempotency = self.idempotency.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(error) = idempotency.abandon(&claim).await {
                    tracing::warn!(%error, "cannot release an Idempotency-Key");
                }
            });
        }
    }
}

/// Marks a request whose use case committed the answer with its change.
struct AnswerCommitted;

/// The answer to commit with the change, when this request claimed an idempotency key.
/// Call [`answer_committed`] once the use case has succeeded with it.
pub fn answer_for<T: ?Sized>(
    req: &HttpRequest,
    render: &RenderAnswer<T>,
) -> Option<IdempotentAnswer<T>> {
    let claim = req.extensions().get::<IdempotencyClaim>().cloned()?;
    Some(IdempotentAnswer {
        claim,
        render: render.clone(),
    })
}

/// After the use case succeeded with `answer`: when there was one, tells the middleware
/// that the answer is stored already, so it writes nothing.
pub fn answer_committed<T: ?Sized>(req: &HttpRequest, answer: &Option<IdempotentAnswer<T>>) {
    if answer.is_some() {
        req.extensions_mut().insert(AnswerCommitted);
    }
}

/// A JSON answer, rendered once for both the client and the idempotency store.
pub fn json_answer(status: StatusCode, value: &impl Serialize) -> StoredAnswer {
    StoredAnswer {
        status: status.as_u16(),
        content_type: Some("application/json".to_owned()),
        // The response types are plain structs of strings, numbers and times, which
        // always serialize.
        body: serde_json::to_vec(value).unwrap_or_default(),
    }
}

/// An answer's status, content type and body; a replay is marked as one.
fn response_of(answer: StoredAnswer, replayed: bool) -> HttpResponse {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    if let Some(content_type) = answer.content_type {
        response.insert_header((header::CONTENT_TYPE, content_type));
    }
    if replayed {
        response.insert_header((IDEMPOTENT_REPLAYED, "true"));
        // The one header a kept answer needs besides its content type.
        if status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
    }
    response.body(answer.body)
}

/// A handler's answer rendered by the same function its use case stored it with, so a
/// replay is byte for byte what the first client got. Documented in OpenAPI as `D`.
pub struct Rendered<D> {
    answer: StoredAnswer,
    doc: PhantomData<D>,
}

impl<D> Rendered<D> {
    pub fn new(answer: StoredAnswer) -> Self {
        Self {
            answer,
            doc: PhantomData,
        }
    }
}

impl<D> Responder for Rendered<D> {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse<BoxBody> {
        response_of(self.answer, false)
    }
}

impl<D: Apiv2Schema> Apiv2Schema for Rendered<D> {
    fn name() -> Option<String> {
        D::name()
    }

    fn description() -> &'static str {
        D::description()
    }

    fn raw_schema() -> DefaultSchemaRaw {
        D::raw_schema()
    }
}

impl<D: OperationModifier> OperationModifier for Rendered<D> {
    fn update_parameter(op: &mut DefaultOperationRaw) {
        D::update_parameter(op)
    }

    fn update_response(op: &mut DefaultOperationRaw) {
        D::update_response(op)
    }

    fn update_definitions(map: &mut BTreeMap<String, DefaultSchemaRaw>) {
        D::update_definitions(map)
    }

    fn update_security(op: &mut DefaultOperationRaw) {
        D::update_security(op)
    }

    fn update_security_definitions(map: &mut BTreeMap<String, SecurityScheme>) {
        D::update_security_definitions(map)
    }
}

/// The operations the middleware applies to, as (method, route pattern): the POST,
/// PATCH and DELETE operations under `/api/` that the OpenAPI document says need the
/// bearer token. Read from the document as the app is built, so a route is covered as
/// soon as its handler takes `Authenticated`; public routes (signup, login, token
/// refresh, logout) never are, so the tokens they answer are never stored.
#[derive(Clone, Default)]
pub struct HonouredRoutes(Arc<OnceLock<HashSet<(String, String)>>>);

impl HonouredRoutes {
    fn honour(&self, req: &ServiceRequest) -> bool {
        let (Some(routes), Some(pattern)) = (self.0.get(), req.match_pattern()) else {
            return false;
        };
        routes.contains(&(req.method().as_str().to_owned(), pattern))
    }
}

/// Adds the `Idempotency-Key` header to every operation the middleware applies to, and
/// records them in its [`HonouredRoutes`]. Mounted after the routes, so it sees them
/// all; it serves nothing.
pub struct DocumentIdempotencyKey(pub HonouredRoutes);

impl HttpServiceFactory for DocumentIdempotencyKey {
    fn register(self, _: &mut AppService) {}
}

impl Mountable for DocumentIdempotencyKey {
    fn path(&self) -> &str {
        "/api/"
    }

    fn operations(&mut self) -> BTreeMap<HttpMethod, DefaultOperationRaw> {
        BTreeMap::new()
    }

    fn definitions(&mut self) -> BTreeMap<String, DefaultSchemaRaw> {
        BTreeMap::new()
    }

    fn security_definitions(&mut self) -> BTreeMap<String, SecurityScheme> {
        BTreeMap::new()
    }

    fn update_operations(&mut self, map: &mut BTreeMap<String, DefaultPathItemRaw>) {
        let methods = [
            (HttpMethod::Post, Method::POST),
            (HttpMethod::Patch, Method::PATCH),
            (HttpMethod::Delete, Method::DELETE),
        ];
        let mut honoured = HashSet::new();
        for (path, item) in map.iter_mut().filter(|(path, _)| path.starts_with("/api/")) {
            for (documented, method) in &methods {
                let Some(op) = item.methods.get_mut(documented) else {
                    continue;
                };
                if !op.security.is_empty() {
                    op.parameters.push(Either::Right(key_parameter()));
                    honoured.insert((method.as_str().to_owned(), path.clone()));
                }
            }
        }
        // Built once per app; a second build of the same document changes nothing.
        let _ = self.0 .0.set(honoured);
    }
}

fn key_parameter() -> DefaultParameterRaw {
    DefaultParameterRaw {
        description: Some(
            "Makes a retry safe: a new value for each request (a UUID will do), 1 to 255 \
             visible ASCII characters. The same key and the same body again get the first \
             answer, with `Idempotent-Replayed: true`, and change nothing; another body: 422 \
             `idempotency_key_reused`; while the first request runs: 409 \
             `idempotency_in_flight` with `Retry-After`. A key is scoped to the user, the \
             method and the path; 429 and 5xx answers are not kept."
                .into(),
        ),
        in_: ParameterIn::Header,
        name: "Idempotency-Key".into(),
        required: false,
        data_type: Some(DataType::String),
        min_length: Some(1),
        max_length: Some(IdempotencyKey::MAX_LEN as u32),
        pattern: Some("^[!-~]+$".into()),
        ..Default::default()
    }
}
