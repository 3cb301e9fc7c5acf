//! Account values, each built only by parsing, and the user as stored and as proven by
//! a token.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::shared::UserId;

/// 1 to 150 letters, digits or `@.+-_`, as Django's username rule, whose lower-cased
/// [`key`](Self::key) also fits in 150 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub const MAX_LEN: usize = 150;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let count = raw.chars().count();
        if count == 0 {
            return Err("must not be empty".into());
        }
        if count > Self::MAX_LEN {
            return Err(format!("must be at most {} characters", Self::MAX_LEN));
        }
        if !raw
            .chars()
            .all(|c| c.is_alphanumeric() || "@.+-_".contains(c))
        {
            return Err("may contain only letters, digits and @.+-_".into());
        }
        let username = Self(raw.to_owned());
        // Lower-casing can lengthen a name ("İ" becomes "i" and a combining dot), and the
        // key is stored too: every backend must be able to hold it.
        if username.key().chars().count() > Self::MAX_LEN {
            return Err(format!(
                "must be at most {} characters once lower-cased",
                Self::MAX_LEN
            ));
        }
        Ok(username)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// The key that makes usernames unique regardless of case. Storage indexes this key
    /// and looks users up by it; nothing else lower-cases a username.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// An e-mail address that looks like one: `local@domain.tld`, no spaces, at most 254 chars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let bad = || Err("must be a valid e-mail address".to_owned());
        if raw.len() > 254 || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return bad();
        }
        let Some((local, domain)) = raw.rsplit_once('@') else {
            return bad();
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@');
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return bad();
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A password that satisfies the rules. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub const MIN_LEN: usize = 8;
    pub const MAX_LEN: usize = 128;

    pub fn parse(raw: &str, username: Option<&str>) -> Result<Self, String> {
        let count = raw.chars().count();
        if count < Self::MIN_LEN {
            return Err(format!("must be at least {} characters", Self::MIN_LEN));
        }
        if count > Self::MAX_LEN {
            return Err(format!("must be at most {} characters", Self::MAX_LEN));
        }
        if raw.chars().all(|c| c.is_ascii_digit()) {
            return Err("must not be entirely numeric".into());
        }
        if username.is_some_and(|u| u.eq_ignore_ascii_case(raw)) {
            return Err("must not be the same as the username".into());
        }
        Ok(Self(raw.to_owned()))
    }

    /// A password as typed at login: not re-validated (old rules may differ), only bounded
    /// so a huge body cannot make the hasher work for long.
    pub fn candidate(raw: &str) -> Option<Self> {
        (!raw.is_empty() && raw.chars().count() <= Self::MAX_LEN).then(|| Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// A password hash in PHC string format. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(pub String);

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash([redacted])")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: Username,
    pub email: Option<Email>,
    pub is_staff: bool,
    pub password_hash: PasswordHash,
}

impl User {
    /// Who this user is, as a token proves it.
    pub fn auth(&self) -> AuthUser {
        AuthUser {
            id: self.id,
            username: self.username.as_str().to_owned(),
            is_staff: self.is_staff,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub username: Username,
    pub email: Option<Email>,
    pub password_hash: PasswordHash,
    pub is_staff: bool,
    pub created_at: DateTime<Utc>,
}

/// Who is calling, as proven by a valid access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    pub id: UserId,
    pub username: String,
    pub is_staff: bool,
}

/// A freshly issued access token.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub token: String,
    pub expires_in: i64,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken([redacted])")
    }
}

/// Access and refresh tokens, issued at login and at each refresh.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenPair {
    pub access: AccessToken,
    pub refresh: String,
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenPair([redacted])")
    }
}

/// The id of one refresh token: its `jti` claim.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenId(pub String);

/// The id of one login's refresh tokens: its `fam` claim. Every token rotated from a
/// login's first refresh token carries it, so one login can be ended as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FamilyId(pub String);

/// What a verified refresh token says: whose it is, which token, which login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshClaims {
    pub user: AuthUser,
    pub jti: TokenId,
    pub family: FamilyId,
}

/// What storage keeps of an issued refresh token: its ids and times, never the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    pub jti: TokenId,
    pub family: FamilyId,
    pub user: UserId,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A refresh token's record as stored, with what has happened to it since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRefresh {
    pub record: RefreshRecord,
    /// When it was exchanged for the next token of its family.
    pub retired_at: Option<DateTime<Utc>>,
    /// When its family was ended: by a logout or a detected reuse.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A freshly signed token pair, and the record its refresh token needs in storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedTokens {
    pub pair: TokenPair,
    pub record: RefreshRecord,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_accepts_django_characters() {
        assert!(Username::parse("john.doe+1@x_y-z").is_ok());
        assert!(Username::parse("Élodie").is_ok());
    }

    #[test]
    fn username_rejects_empty_long_and_odd_characters() {
        assert!(Username::parse("").is_err());
        assert!(Username::parse(&"a".repeat(151)).is_err());
        assert!(Username::parse(&"a".repeat(150)).is_ok());
        assert!(Username::parse("john doe").is_err());
        assert!(Username::parse("john/doe").is_err());
    }

    #[test]
    fn username_whose_key_grows_past_the_limit_is_refused() {
        // "İ" lower-cases to two characters: 75 of them make a 150-character key.
        assert_eq!(
            Username::parse(&"İ".repeat(75))
                .unwrap()
                .key()
                .chars()
                .count(),
            150
        );
        let err = Username::parse(&"İ".repeat(76)).unwrap_err();
        assert!(err.contains("lower-cased"), "{err}");
    }

    #[test]
    fn username_key_ignores_case() {
        let a = Username::parse("John").unwrap();
        let b = Username::parse("jOHN").unwrap();
        assert_eq!(a.key(), b.key());
    }

    #[test]
    fn password_rules() {
        assert!(Password::parse("a", None).is_err());
        assert!(Password::parse("1234567", None).is_err());
        assert!(Password::parse("12345678", None).is_err());
        assert!(Password::parse("johnjohn", Some("JohnJohn")).is_err());
        assert!(Password::parse(&"a".repeat(129), None).is_err());
        assert!(Password::parse("correct horse", Some("john")).is_ok());
    }

    #[test]
    fn password_debug_is_redacted() {
        let p = Password::parse("s3cretpassword", None).unwrap();
        assert!(!format!("{p:?}").contains("s3cret"));
        let h = PasswordHash("$argon2id$secret".into());
        assert!(!format!("{h:?}").contains("argon2"));
    }

    #[test]
    fn email_must_look_like_an_address() {
        assert!(Email::parse("a@b.co").is_ok());
        for bad in [
            "", "a", "a@b", "@b.co", "a@.co", "a@b.", "a b@c.de", "a@b..c",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
