//! What the edge does to every request before any route sees it: a panic becomes a JSON
//! 500 for that request alone, compressed bodies are refused before anything reads
//! them, and HEAD is served as GET.

use std::any::Any;
use std::future::{ready, Ready};
use std::panic::AssertUnwindSafe;

use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpMessage, HttpResponse, ResponseError};
use futures_util::future::LocalBoxFuture;
use futures_util::FutureExt;

use crate::http::ApiError;

/// Middleware: a panic in a handler, an extractor or the router answers that request
/// with a JSON 500 `internal_error` (the panic's message goes to the log) instead of
/// unwinding through the worker, which would drop the connection and take every other
/// request in flight on that worker with it.
///
/// The answer is an `Err`, turned into the response by actix: the request itself is lost
/// with the unwound future, and a copy of it cannot be kept while the router still
/// needs it unshared.
pub struct CatchPanic;

impl<S, B> Transform<S, ServiceRequest> for CatchPanic
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    S::Future: 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = CatchPanicService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(CatchPanicService { service }))
    }
}

pub struct CatchPanicService<S> {
    service: S,
}

impl<S, B> Service<ServiceRequest> for CatchPanicService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    S::Future: 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        // Routing and handler set-up run inside `call`, before the future is polled.
        let call = match std::panic::catch_unwind(AssertUnwindSafe(|| self.service.call(req))) {
            Ok(call) => call,
            Err(panic) => return Box::pin(ready(Err(panicked(panic)))),
        };
        Box::pin(async move {
            AssertUnwindSafe(call)
                .catch_unwind()
                .await
                .unwrap_or_else(|panic| Err(panicked(panic)))
        })
    }
}

fn panicked(panic: Box<dyn Any + Send>) -> actix_web::Error {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned());
    ApiError::internal(format!("panic: {message}")).into()
}

/// A request whose body is compressed (any `Content-Encoding` but `identity`) gets 415
/// with `Accept-Encoding: identity` (RFC 7694). actix's JSON extractor would inflate a
/// gzip body chunk by chunk before its 64 KiB limit sees it, so a 61 KB upload could
/// cost 60 MiB; a JSON API with small bodies gains nothing from compressing them.
pub fn refuse_content_encoding(req: &ServiceRequest) -> Option<HttpResponse> {
    let encoded =
        req.headers()
            .get_all(header::CONTENT_ENCODING)
            .any(|value| {
                value.to_str().map_or(true, |codings| {
                    codings.split(',').map(str::trim).any(|coding| {
                        !coding.is_empty() && !coding.eq_ignore_ascii_case("identity")
                    })
                })
            });
    if !encoded {
        return None;
    }
    let mut response = ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_encoding",
        "compressed request bodies are not accepted: send the body without Content-Encoding",
    )
    .error_response();
    response.headers_mut().insert(
        header::ACCEPT_ENCODING,
        HeaderValue::from_static("identity"),
    );
    Some(response)
}

/// Routes HEAD as GET: actix serves only the methods a route names. The answer keeps
/// GET's status and headers, `Content-Length` included, and actix's HTTP layer leaves
/// the body out, because it noted the method when it parsed the request.
/// A response that never ends (a stream) checks [`HeadRequest`] to end at once.
pub fn head_as_get(req: &mut ServiceRequest) {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
        req.extensions_mut().insert(HeadRequest);
    }
}

/// Marks a request that came as HEAD and is routed as GET.
#[derive(Debug, Clone, Copy)]
pub struct HeadRequest;
