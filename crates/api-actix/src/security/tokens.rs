//! The token port on JWT: HS256 access and refresh tokens told apart by a `typ` claim.
//! A refresh token also names its family (`fam`), and its `jti` keys its record in
//! storage; an access token is checked by its signature alone.

use chrono::{DateTime, Utc};
use domain::{
    AccessToken, AuthUser, FamilyId, IssuedTokens, RefreshClaims, RefreshRecord, TokenError,
    TokenId, TokenPair, TokenService, UserId,
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
    /// The family of a refresh token; access tokens have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fam: Option<String>,
}

pub struct JwtTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    access_ttl: i64,
    refresh_ttl: i64,
}

fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
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

    fn sign(&self, claims: &Claims) -> Result<String, TokenError> {
        encode(
            &Header::new(jsonwebtoken::Algorithm::HS256),
            claims,
            &self.encoding,
        )
        .map_err(|_| TokenError::Invalid)
    }

    fn claims(&self, user: &AuthUser, typ: &str, iat: i64, ttl: i64) -> Claims {
        Claims {
            sub: user.id.0.to_string(),
            username: user.username.clone(),
            is_staff: user.is_staff,
            typ: typ.to_owned(),
            iat,
            exp: iat + ttl,
            jti: new_id(),
            fam: None,
        }
    }

    fn verify(&self, token: &str, typ: &str) -> Result<Claims, TokenError> {
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
        Ok(claims)
    }
}

fn auth_user(claims: &Claims) -> Result<AuthUser, TokenError> {
    let id = claims.sub.parse().map_err(|_| TokenError::Invalid)?;
    Ok(AuthUser {
        id: UserId(id),
        username: claims.username.clone(),
        is_staff: claims.is_staff,
    })
}

impl TokenService for JwtTokens {
    fn issue(
        &self,
        user: &AuthUser,
        family: Option<FamilyId>,
        now: DateTime<Utc>,
    ) -> Result<IssuedTokens, TokenError> {
        let iat = now.timestamp();
        let access = self.claims(user, ACCESS, iat, self.access_ttl);
        let mut refresh = self.claims(user, REFRESH, iat, self.refresh_ttl);
        let family = family.unwrap_or_else(|| FamilyId(new_id()));
        refresh.fam = Some(family.0.clone());
        // The record expires when the token does, to the second.
        let expires_at = DateTime::from_timestamp(refresh.exp, 0).ok_or(TokenError::Invalid)?;
        Ok(IssuedTokens {
            pair: TokenPair {
                access: AccessToken {
                    token: self.sign(&access)?,
                    expires_in: self.access_ttl,
                },
                refresh: self.sign(&refresh)?,
            },
            record: RefreshRecord {
                jti: TokenId(refresh.jti),
                family,
                user: user.id,
                issued_at: now,
                expires_at,
            },
        })
    }

    fn verify_access(&self, token: &str) -> Result<AuthUser, TokenError> {
        auth_user(&self.verify(token, ACCESS)?)
    }

    fn verify_refresh(&self, token: &str) -> Result<RefreshClaims, TokenError> {
        let claims = self.verify(token, REFRESH)?;
        // Refresh tokens signed before families existed carry none: they are refused.
        let family = claims.fam.clone().ok_or(TokenError::Invalid)?;
        Ok(RefreshClaims {
            user: auth_user(&claims)?,
            jti: TokenId(claims.jti),
            family: FamilyId(family),
        })
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
        let pair = jwt.issue(&user(), None, Utc::now()).unwrap().pair;
        assert_eq!(jwt.verify_access(&pair.access.token).unwrap(), user());
        assert_eq!(jwt.verify_refresh(&pair.refresh).unwrap().user, user());
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
    fn refresh_token_carries_its_record_ids_and_a_login_starts_a_family() {
        let jwt = tokens("a-secret-of-some-length-for-tests");
        let now = Utc::now();
        let login = jwt.issue(&user(), None, now).unwrap();
        let claims = jwt.verify_refresh(&login.pair.refresh).unwrap();
        assert_eq!(claims.jti, login.record.jti);
        assert_eq!(claims.family, login.record.family);
        assert_eq!(login.record.user, UserId(7));
        assert_eq!(login.record.issued_at, now);
        assert_eq!(
            login.record.expires_at.timestamp(),
            now.timestamp() + 86_400
        );
        // A rotation keeps the family and takes a new jti; another login gets its own.
        let next = jwt
            .issue(&user(), Some(claims.family.clone()), now)
            .unwrap();
        assert_eq!(next.record.family, claims.family);
        assert_ne!(next.record.jti, claims.jti);
        let other = jwt.issue(&user(), None, now).unwrap();
        assert_ne!(other.record.family, claims.family);
    }

    #[test]
    fn token_signed_with_another_key_is_invalid() {
        let pair = tokens("key-one-key-one-key-one-key-one")
            .issue(&user(), None, Utc::now())
            .unwrap()
            .pair;
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
        let pair = jwt.issue(&user(), None, Utc::now()).unwrap().pair;
        assert_eq!(
            jwt.verify_access(&pair.access.token).unwrap_err(),
            TokenError::Expired
        );
        assert_eq!(
            jwt.verify_refresh(&pair.refresh).unwrap_err(),
            TokenError::Expired
        );
    }

    #[test]
    fn refresh_token_without_a_family_is_invalid() {
        let jwt = tokens("a-secret-of-some-length-for-tests");
        let mut claims = jwt.claims(&user(), REFRESH, Utc::now().timestamp(), 600);
        claims.fam = None;
        let legacy = jwt.sign(&claims).unwrap();
        assert_eq!(
            jwt.verify_refresh(&legacy).unwrap_err(),
            TokenError::Invalid
        );
    }
}
