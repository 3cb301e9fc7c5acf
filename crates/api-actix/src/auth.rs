//! The domain's security ports: JWT access and refresh tokens (HS256), argon2id
//! password hashing off the async workers, and the system clock.

use std::sync::Arc;

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash as PhcHash, PasswordHasher as _, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{
    AccessToken, AuthUser, Clock, HashError, Password, PasswordHash, PasswordHasher, TokenError,
    TokenPair, TokenService, UserId,
};
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

/// argon2id with OWASP's parameters: 19 MiB, 2 iterations, 1 lane.
#[derive(Clone)]
pub struct Argon2Hasher {
    argon: Arc<Argon2<'static>>,
    /// A real hash of a random password, verified against when the user is unknown so
    /// that path costs the same as a wrong password.
    dummy: Arc<String>,
}

impl Argon2Hasher {
    pub fn new() -> Result<Self, HashError> {
        let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| HashError(e.to_string()))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let salt = SaltString::generate(&mut OsRng);
        let dummy = argon
            .hash_password(uuid::Uuid::new_v4().to_string().as_bytes(), &salt)
            .map_err(|e| HashError(e.to_string()))?
            .to_string();
        Ok(Self {
            argon: Arc::new(argon),
            dummy: Arc::new(dummy),
        })
    }
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let argon = self.argon.clone();
        let password = password.clone();
        // ~20 ms of CPU: never on an async worker.
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon
                .hash_password(password.expose().as_bytes(), &salt)
                .map(|h| PasswordHash(h.to_string()))
                .map_err(|e| HashError(e.to_string()))
        })
        .await
        .map_err(|e| HashError(e.to_string()))?
    }

    async fn verify(&self, password: &Password, hash: Option<PasswordHash>) -> bool {
        let argon = self.argon.clone();
        let password = password.clone();
        let known = hash.is_some();
        let phc = hash.map_or_else(|| self.dummy.as_str().to_owned(), |h| h.0);
        tokio::task::spawn_blocking(move || {
            let ok = PhcHash::new(&phc)
                .map(|parsed| {
                    argon
                        .verify_password(password.expose().as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false);
            ok && known
        })
        .await
        .unwrap_or(false)
    }
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[tokio::test]
    async fn argon2_hash_verifies_only_the_right_password() {
        let hasher = Argon2Hasher::new().unwrap();
        let password = Password::parse("correct horse", None).unwrap();
        let hash = hasher.hash(&password).await.unwrap();
        assert!(hash.0.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(hasher.verify(&password, Some(hash.clone())).await);
        let wrong = Password::parse("wrong horse", None).unwrap();
        assert!(!hasher.verify(&wrong, Some(hash)).await);
        assert!(!hasher.verify(&password, None).await);
    }
}
