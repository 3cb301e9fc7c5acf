//! Accounts: sign up, log in, refresh a token, who am I.

mod dto;
mod errors;

use domain::SignupInput;
use paperclip::actix::{api_v2_operation, web, CreatedJson};

use crate::http::extract::Authenticated;
use crate::http::ApiError;
use crate::state::AppState;
use dto::*;

/// Sign up
///
/// Creates a plain (non-staff) account. The username is unique regardless of case; the
/// password needs 8 to 128 characters, not all digits, and must differ from the username.
#[api_v2_operation(tags(Accounts))]
pub async fn signup(
    state: web::Data<AppState>,
    body: web::Json<SignupRequest>,
) -> Result<CreatedJson<UserResponse>, ApiError> {
    let body = body.into_inner();
    let user = state
        .accounts
        .signup(SignupInput {
            username: body.username,
            password: body.password,
            email: body.email,
        })
        .await?;
    Ok(CreatedJson(user.into()))
}

/// Log in
///
/// Exchanges a username and password for an access token (short-lived) and a refresh
/// token. An unknown user and a wrong password get the same 401.
#[api_v2_operation(tags(Accounts))]
pub async fn login(
    state: web::Data<AppState>,
    body: web::Json<LoginRequest>,
) -> Result<web::Json<LoginResponse>, ApiError> {
    let pair = state.accounts.login(&body.username, &body.password).await?;
    Ok(web::Json(pair.into()))
}

/// Refresh the access token
///
/// Exchanges a refresh token for a new access token. An access token is refused here.
#[api_v2_operation(tags(Accounts))]
pub async fn refresh(
    state: web::Data<AppState>,
    body: web::Json<RefreshRequest>,
) -> Result<web::Json<RefreshResponse>, ApiError> {
    let token = state.accounts.refresh(&body.refresh).await?;
    Ok(web::Json(token.into()))
}

/// Who am I
///
/// The account of the access token's user.
#[api_v2_operation(tags(Accounts))]
pub async fn me(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<web::Json<MeResponse>, ApiError> {
    let user = state.accounts.me(&caller.0).await?;
    Ok(web::Json(user.into()))
}
