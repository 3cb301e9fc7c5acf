//! The token port on JWT: HS256 access and refresh tokens told apart by a `typ` claim.

use chrono::Utc;
use domain::{AccessToken, AuthUser, TokenError, TokenPair, TokenService, UserId};
use jsonwebtoken::{
    decode, encode, errors::ErrorKind, DecodingKey, EncodingKey, Header, Validation,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

const ACCESS: &str = "access";
const REFRESH: &str = "refresh";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    username: String,
    is_staff: bool,
    typ: String,
    iat: i64,
    exp: i64,
    jti: String,
}

pub struct JwtTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    access_ttl: i64,
    refresh_ttl: i64,
}

impl JwtTokens {
    pub fn new(secret: &SecretString, access_ttl: i64, refresh_ttl: i64) -> Self {
        let key = secret.expose_secret().as_bytes();
        // HS256 only: a token naming another algorithm, or `none`, is refused.
        let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        Self {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            validation,
            access_ttl,
            refresh_ttl,
        }
    }

    fn sign(&self, user: &AuthUser, typ: &str, ttl: i64) -> Result<String, TokenError> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user.id.0.to_string(),
            username: user.username.clone(),
            is_staff: user.is_staff,
            typ: typ.to_owned(),
            iat: now,
            exp: now + ttl,
            jti: uuid::Uuid::new_v4().simple().to_string(),
        };
        encode(
            &Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &self.encoding,
        )
        .map_err(|_| TokenError::Invalid)
    }

    fn verify(&self, token: &str, typ: &str) -> Result<AuthUser, TokenError> {
        let data =
            decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| {
                match e.kind() {
                    ErrorKind::ExpiredSignature => TokenError::Expired,
                    _ => TokenError::Invalid,
                }
            })?;
        let claims = data.claims;
        if claims.typ != typ {
            return Err(TokenError::WrongType);
        }
        let id = claims.sub.parse().map_err(|_| TokenError::Invalid)?;
        Ok(AuthUser {
            id: UserId(id),
            username: claims.username,
            is_staff: claims.is_staff,
        })
    }
}

impl TokenService for JwtTokens {
    fn issue(&self, user: &AuthUser) -> Result<TokenPair, TokenError> {
        Ok(TokenPair {
            access: self.issue_access(user)?,
            refresh: self.sign(user, REFRESH, self.refresh_ttl)?,
        })
    }

    fn issue_access(&self, user: &AuthUser) -> Result<AccessToken, TokenError> {
        Ok(AccessToken {
            token: self.sign(user, ACCESS, self.access_ttl)?,
            expires_in: self.access_ttl,
        })
    }

    fn verify_access(&self, token: &str) -> Result<AuthUser, TokenError> {
        self.verify(token, ACCESS)
    }

    fn verify_refresh(&self, token: &str) -> Result<AuthUser, TokenError> {
        self.verify(token, REFRESH)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::UserId;

    fn user() -> AuthUser {
        AuthUser {
            id: UserId(7),
            username: "john".into(),
            is_staff: true,
        }
    }

    fn tokens(secret: &str) -> JwtTokens {
        JwtTokens::new(&SecretString::from(secret.to_owned()), 900, 86_400)
    }

    #[test]
    fn access_token_round_trips_and_is_not_a_refresh_token() {
        let jwt = tokens("a-secret-of-some-length-for-tests");
        let pair = jwt.issue(&user()).unwrap();
        assert_eq!(jwt.verify_access(&pair.access.token).unwrap(), user());
        assert_eq!(jwt.verify_refresh(&pair.refresh).unwrap(), user());
        assert_eq!(
            jwt.verify_access(&pair.refresh).unwrap_err(),
            TokenError::WrongType
        );
        assert_eq!(
            jwt.verify_refresh(&pair.access.token).unwrap_err(),
            TokenError::WrongType
        );
        assert_eq!(pair.access.expires_in, 900);
    }

    #[test]
    fn token_signed_with_another_key_is_invalid() {
        let pair = tokens("key-one-key-one-key-one-key-one")
            .issue(&user())
            .unwrap();
        assert_eq!(
            tokens("key-two-key-two-key-two-key-two")
                .verify_access(&pair.access.token)
                .unwrap_err(),
            TokenError::Invalid
        );
    }

    #[test]
    fn expired_token_is_refused() {
        let jwt = JwtTokens::new(&SecretString::from("k".repeat(32)), -10, -10);
        let pair = jwt.issue(&user()).unwrap();
        assert_eq!(
            jwt.verify_access(&pair.access.token).unwrap_err(),
            TokenError::Expired
        );
    }
}
