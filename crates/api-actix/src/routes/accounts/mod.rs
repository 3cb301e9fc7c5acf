//! Accounts: sign up, log in, refresh a token, log out, who am I.

mod dto;
mod errors;

use domain::SignupInput;
use domain::{RefreshError, RefreshRefusal};
use paperclip::actix::{api_v2_operation, web, CreatedJson, NoContent};

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
/// token that starts a new login. An unknown user and a wrong password get the same 401.
#[api_v2_operation(tags(Accounts))]
pub async fn login(
    state: web::Data<AppState>,
    body: web::Json<LoginRequest>,
) -> Result<web::Json<TokenResponse>, ApiError> {
    let pair = state.accounts.login(&body.username, &body.password).await?;
    Ok(web::Json(pair.into()))
}

/// Refresh the tokens
///
/// Exchanges a refresh token for a new access token and a new refresh token; the one
/// presented is retired. A retired refresh token presented again is taken as stolen: 401,
/// and every refresh token of that login stops working. An access token is refused here.
#[api_v2_operation(tags(Accounts))]
pub async fn refresh(
    state: web::Data<AppState>,
    body: web::Json<RefreshRequest>,
) -> Result<web::Json<TokenResponse>, ApiError> {
    let pair = state
        .accounts
        .refresh(&body.refresh)
        .await
        .inspect_err(|e| {
            if *e == RefreshError::Refused(RefreshRefusal::Reused) {
                tracing::warn!("refresh token reused: its login's refresh tokens are revoked");
            }
        })?;
    Ok(web::Json(pair.into()))
}

/// Log out
///
/// Ends the login of a refresh token: it and every refresh token rotated from it (or
/// before it) stop working. Access tokens already issued stay valid until they expire.
/// Logging out of a login already ended answers 204 as well.
#[api_v2_operation(tags(Accounts))]
pub async fn logout(
    state: web::Data<AppState>,
    body: web::Json<RefreshRequest>,
) -> Result<NoContent, ApiError> {
    state.accounts.logout(&body.refresh).await?;
    Ok(NoContent)
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
