//! Request extractors and responders shared by the handlers: the authenticated caller,
//! and list responses with their `X-Total-Count` header.

use std::future::{ready, Ready};

use actix_web::body::BoxBody;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, Responder};
use domain::{AuthUser, Listing};
use paperclip::actix::{Apiv2Security, OperationModifier};
use paperclip::v2::models::{DefaultOperationRaw, DefaultSchemaRaw, Either, Response};
use paperclip::v2::schema::Apiv2Schema;
use serde::Serialize;

use crate::http::answers::Answer;
use crate::http::ApiError;
use crate::state::AppState;

/// The caller, proven by a valid access token in `Authorization: Bearer <token>`.
#[derive(Debug, Clone, Apiv2Security)]
#[openapi(
    apiKey,
    in = "header",
    name = "Authorization",
    description = "JWT access token from /api/login/, sent as `Bearer <access>`"
)]
pub struct Authenticated(pub AuthUser);

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req).map(Authenticated))
    }
}

/// The caller of a bearer token; also used by the booking rate limit, which runs first.
pub(crate) fn authenticate(req: &HttpRequest) -> Result<AuthUser, ApiError> {
    authenticate_with(req, || None)
}

/// The caller of the bearer token in the `Authorization` header or, without the header,
/// of the token `fallback` finds elsewhere in the request.
pub(crate) fn authenticate_with(
    req: &HttpRequest,
    fallback: impl FnOnce() -> Option<String>,
) -> Result<AuthUser, ApiError> {
    let Some(state) = req.app_data::<actix_web::web::Data<AppState>>() else {
        return Err(ApiError::internal("application state missing".into()));
    };
    let missing = || {
        ApiError::unauthorized(
            "not_authenticated",
            "authentication required: send Authorization: Bearer <access token>",
        )
    };
    let token = match req.headers().get(header::AUTHORIZATION) {
        Some(value) => {
            let value = value.to_str().map_err(|_| missing())?;
            match value.split_once(' ') {
                Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
                    token.trim().to_owned()
                }
                _ => return Err(missing()),
            }
        }
        None => fallback().ok_or_else(missing)?,
    };
    let user = state.accounts.authenticate(&token)?;
    // For the request log line.
    req.extensions_mut().insert(user.id);
    Ok(user)
}

/// One page of a list: a JSON array, with the total across pages in `X-Total-Count`.
pub struct Listed<T>(pub Vec<T>, pub i64);

impl<T> Listed<T> {
    pub fn from_listing<D>(listing: Listing<D>) -> Self
    where
        T: From<D>,
    {
        Self(
            listing.items.into_iter().map(T::from).collect(),
            listing.total,
        )
    }
}

impl<T: Serialize> Responder for Listed<T> {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse<BoxBody> {
        HttpResponse::Ok()
            .insert_header(("X-Total-Count", self.1.to_string()))
            .json(self.0)
    }
}

impl<T: Apiv2Schema> Apiv2Schema for Listed<T> {
    fn name() -> Option<String> {
        None
    }

    fn raw_schema() -> DefaultSchemaRaw {
        Vec::<T>::raw_schema()
    }
}

/// A list answered from [`crate::http::answers`]: the bytes `Listed<T>` wrote.
pub struct KeptList<T>(pub Answer, pub std::marker::PhantomData<T>);

impl<T> Responder for KeptList<T> {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse<BoxBody> {
        HttpResponse::Ok()
            .insert_header(("X-Total-Count", self.0.total.to_string()))
            .insert_header(actix_web::http::header::ContentType::json())
            .body(self.0.body)
    }
}

impl<T: Serialize> Listed<T> {
    /// The bytes this list answers with, to keep.
    pub fn answer(&self) -> Result<Answer, ApiError> {
        let body = serde_json::to_vec(&self.0).map_err(|e| ApiError::internal(e.to_string()))?;
        Ok(Answer {
            body: body.into(),
            total: self.1,
        })
    }
}

impl<T: Apiv2Schema> Apiv2Schema for KeptList<T> {
    fn name() -> Option<String> {
        None
    }

    fn raw_schema() -> DefaultSchemaRaw {
        Vec::<T>::raw_schema()
    }
}

impl<T: Apiv2Schema> OperationModifier for KeptList<T> {
    fn update_response(op: &mut DefaultOperationRaw) {
        Listed::<T>::update_response(op);
    }
}

impl<T: Apiv2Schema> OperationModifier for Listed<T> {
    fn update_response(op: &mut DefaultOperationRaw) {
        // The header is named in the description only: paperclip's OpenAPI 3 conversion
        // writes response headers in a shape validators reject.
        op.responses.insert(
            "200".into(),
            Either::Right(Response {
                description: Some(
                    "OK; the `X-Total-Count` header holds the number of items across all pages"
                        .into(),
                ),
                schema: Some({
                    let mut def = Vec::<T>::schema_with_ref();
                    def.retain_ref();
                    def
                }),
                ..Default::default()
            }),
        );
    }
}
