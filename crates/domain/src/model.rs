//! Entities and value objects of the cinema. A value object can only be built by
//! parsing, so a value that exists is valid and nothing downstream re-checks it.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Field name -> problems, as the contract's `"fields"` object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ValidationErrors(pub BTreeMap<String, Vec<String>>);

impl ValidationErrors {
    pub fn add(&mut self, field: &str, problem: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_default()
            .push(problem.into());
    }

    pub fn single(field: &str, problem: impl Into<String>) -> Self {
        let mut errors = Self::default();
        errors.add(field, problem);
        errors
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Ok when nothing was recorded, so a parser can collect every problem first.
    pub fn into_result(self) -> Result<(), Self> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }

    /// Records the problem of a field parse and hands back its value, if any.
    pub fn take<T>(&mut self, field: &str, parsed: Result<T, String>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(problem) => {
                self.add(field, problem);
                None
            }
        }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(field, problems)| format!("{field}: {}", problems.join(", ")))
            .collect();
        f.write_str(&parts.join("; "))
    }
}

macro_rules! id_type {
    ($name:ident) => {
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(UserId);
id_type!(MovieId);
id_type!(ShowId);
id_type!(BookingId);

/// 1 to 150 letters, digits or `@.+-_`, as Django's username rule.
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
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key that makes usernames unique regardless of case.
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
    pub username: String,
    pub email: Option<String>,
    pub is_staff: bool,
    pub password_hash: PasswordHash,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub username: Username,
    pub email: Option<Email>,
    pub password_hash: PasswordHash,
    pub is_staff: bool,
}

/// Who is calling, as proven by a valid access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    pub id: UserId,
    pub username: String,
    pub is_staff: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movie {
    pub id: MovieId,
    pub title: String,
    pub description: String,
    pub duration_minutes: i32,
}

fn parse_text(raw: &str, max: usize) -> Result<String, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err("must not be blank".into());
    }
    if trimmed.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(trimmed.to_owned())
}

pub const TITLE_MAX: usize = 200;
pub const DESCRIPTION_MAX: usize = 5000;
pub const SCREEN_NAME_MAX: usize = 100;
pub const DURATION_MAX: i64 = 1000;

pub fn parse_title(raw: &str) -> Result<String, String> {
    parse_text(raw, TITLE_MAX)
}

pub fn parse_description(raw: &str) -> Result<String, String> {
    if raw.chars().count() > DESCRIPTION_MAX {
        return Err(format!("must be at most {DESCRIPTION_MAX} characters"));
    }
    // Line breaks and tabs are text; NUL and the other controls are not.
    if raw
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err("must not contain control characters".into());
    }
    Ok(raw.trim().to_owned())
}

pub fn parse_duration(raw: i64) -> Result<i32, String> {
    if (1..=DURATION_MAX).contains(&raw) {
        Ok(raw as i32)
    } else {
        Err(format!("must be between 1 and {DURATION_MAX}"))
    }
}

pub fn parse_screen_name(raw: &str) -> Result<String, String> {
    parse_text(raw, SCREEN_NAME_MAX)
}

/// A movie as the staff submit it, already validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMovie {
    pub title: String,
    pub description: String,
    pub duration_minutes: i32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MoviePatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub duration_minutes: Option<i32>,
}

/// The movie a show belongs to, as shown inside a show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovieRef {
    pub id: MovieId,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Show {
    pub id: ShowId,
    pub movie: MovieRef,
    pub screen_name: String,
    pub start_time: DateTime<Utc>,
    pub total_seats: i32,
    pub available_seats: i32,
}

/// What a booking transaction reads of a show, under its lock, to apply the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShowSnapshot {
    pub id: ShowId,
    pub start_time: DateTime<Utc>,
    pub total_seats: i32,
}

impl ShowSnapshot {
    pub fn has_started(&self, now: DateTime<Utc>) -> bool {
        self.start_time <= now
    }
}

pub const MAX_TOTAL_SEATS: i64 = 10_000;

/// Years a show may start in, and a date filter may name: what every database stores.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=9999;

fn within_years(year: i32) -> Result<(), String> {
    if YEARS.contains(&year) {
        Ok(())
    } else {
        Err(format!(
            "must be in the years {} to {}",
            YEARS.start(),
            YEARS.end()
        ))
    }
}

pub fn parse_start_time(raw: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    use chrono::Datelike;
    within_years(raw.year()).map(|()| raw)
}

pub fn parse_date(raw: NaiveDate) -> Result<NaiveDate, String> {
    use chrono::Datelike;
    within_years(raw.year()).map(|()| raw)
}

pub fn parse_total_seats(raw: i64) -> Result<i32, String> {
    if (1..=MAX_TOTAL_SEATS).contains(&raw) {
        Ok(raw as i32)
    } else {
        Err(format!("must be between 1 and {MAX_TOTAL_SEATS}"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewShow {
    pub movie_id: MovieId,
    pub screen_name: String,
    pub start_time: DateTime<Utc>,
    pub total_seats: i32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShowPatch {
    pub movie_id: Option<MovieId>,
    pub screen_name: Option<String>,
    pub start_time: Option<DateTime<Utc>>,
    pub total_seats: Option<i32>,
}

/// Which shows a list wants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShowFilter {
    pub movie: Option<MovieId>,
    /// Shows starting on this UTC date.
    pub date: Option<NaiveDate>,
    /// Only shows starting after this instant.
    pub starts_after: Option<DateTime<Utc>>,
}

/// A seat number: a positive integer. Whether it exists in a show is a rule of the show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeatNumber(i32);

impl SeatNumber {
    pub fn new(raw: i64) -> Result<Self, String> {
        if (1..=MAX_TOTAL_SEATS).contains(&raw) {
            Ok(Self(raw as i32))
        } else {
            Err(format!(
                "seat numbers are integers from 1 to the show's total seats (at most {MAX_TOTAL_SEATS})"
            ))
        }
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

/// The seats of one booking request: 1 to 10 distinct seats, kept in ascending order,
/// which is also the order in which a storage adapter locks them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatSelection(Vec<SeatNumber>);

impl SeatSelection {
    pub const MAX_SEATS: usize = 10;

    pub fn new(raw: &[i64]) -> Result<Self, String> {
        if raw.is_empty() {
            return Err("at least one seat is required".into());
        }
        if raw.len() > Self::MAX_SEATS {
            return Err(format!("at most {} seats per booking", Self::MAX_SEATS));
        }
        let mut seats = raw
            .iter()
            .map(|&n| SeatNumber::new(n))
            .collect::<Result<Vec<_>, _>>()?;
        seats.sort_unstable();
        let before = seats.len();
        seats.dedup();
        if seats.len() != before {
            return Err("a seat may appear only once".into());
        }
        Ok(Self(seats))
    }

    pub fn seats(&self) -> &[SeatNumber] {
        &self.0
    }

    pub fn numbers(&self) -> Vec<i32> {
        self.0.iter().map(|s| s.get()).collect()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BookingStatus {
    Confirmed,
    Cancelled,
}

impl BookingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "CONFIRMED",
            Self::Cancelled => "CANCELLED",
        }
    }

    /// Accepts `CONFIRMED` / `cancelled` in any case.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.to_ascii_uppercase().as_str() {
            "CONFIRMED" => Ok(Self::Confirmed),
            "CANCELLED" => Ok(Self::Cancelled),
            _ => Err("must be CONFIRMED or CANCELLED".into()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    pub id: BookingId,
    pub user_id: UserId,
    pub username: String,
    pub show_id: ShowId,
    pub seat_number: i32,
    pub status: BookingStatus,
    pub booking_time: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// One seat of a seat map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatState {
    pub seat_number: i32,
    pub booked: bool,
}

/// `limit`/`offset` of a list: limit 1 to 500 (default 50), offset from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

impl Page {
    pub const DEFAULT_LIMIT: i64 = 50;
    pub const MAX_LIMIT: i64 = 500;

    pub fn new(limit: Option<i64>, offset: Option<i64>) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let limit = limit.unwrap_or(Self::DEFAULT_LIMIT);
        if !(1..=Self::MAX_LIMIT).contains(&limit) {
            errors.add(
                "limit",
                format!("must be between 1 and {}", Self::MAX_LIMIT),
            );
        }
        let offset = offset.unwrap_or(0);
        if offset < 0 {
            errors.add("offset", "must not be negative");
        }
        errors.into_result()?;
        Ok(Self { limit, offset })
    }
}

impl Default for Page {
    fn default() -> Self {
        Self {
            limit: Self::DEFAULT_LIMIT,
            offset: 0,
        }
    }
}

/// One page of a list and the total number of items across all pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub total: i64,
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

/// Access and refresh tokens issued at login.
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

    #[test]
    fn seat_number_must_be_positive_and_bounded() {
        assert!(SeatNumber::new(0).is_err());
        assert!(SeatNumber::new(-1).is_err());
        assert!(SeatNumber::new(10_001).is_err());
        assert_eq!(SeatNumber::new(5).unwrap().get(), 5);
    }

    #[test]
    fn seat_selection_is_sorted_bounded_and_distinct() {
        assert_eq!(
            SeatSelection::new(&[7, 5, 6]).unwrap().numbers(),
            vec![5, 6, 7]
        );
        assert!(SeatSelection::new(&[]).is_err());
        assert!(SeatSelection::new(&[1, 1]).is_err());
        assert!(SeatSelection::new(&(1..=11).collect::<Vec<_>>()).is_err());
        assert!(SeatSelection::new(&(1..=10).collect::<Vec<_>>()).is_ok());
        assert!(SeatSelection::new(&[1, 0]).is_err());
    }

    #[test]
    fn page_defaults_and_bounds() {
        assert_eq!(
            Page::new(None, None).unwrap(),
            Page {
                limit: 50,
                offset: 0
            }
        );
        assert!(Page::new(Some(0), None).is_err());
        assert!(Page::new(Some(501), None).is_err());
        assert!(Page::new(Some(500), Some(10)).is_ok());
        assert!(Page::new(None, Some(-1)).is_err());
    }

    #[test]
    fn catalogue_fields_are_validated() {
        assert!(parse_title("  ").is_err());
        assert_eq!(parse_title(" Up ").unwrap(), "Up");
        assert!(parse_title(&"x".repeat(201)).is_err());
        assert!(parse_duration(0).is_err());
        assert!(parse_duration(1001).is_err());
        assert!(parse_total_seats(0).is_err());
        assert!(parse_total_seats(10_001).is_err());
        assert_eq!(parse_total_seats(10_000).unwrap(), 10_000);
        assert!(parse_screen_name("").is_err());
        assert!(parse_description(&"x".repeat(5001)).is_err());
    }

    #[test]
    fn text_with_control_characters_is_refused() {
        assert!(parse_title("Up\u{0}").is_err());
        assert!(parse_screen_name("A\u{7}").is_err());
        assert!(parse_description("line one\nline two\ttab").is_ok());
        assert!(parse_description("nul\u{0}").is_err());
    }

    #[test]
    fn times_and_dates_stay_within_storable_years() {
        use chrono::TimeZone;
        assert!(parse_start_time(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()).is_ok());
        assert!(parse_start_time(Utc.with_ymd_and_hms(1899, 12, 31, 0, 0, 0).unwrap()).is_err());
        assert!(parse_date(NaiveDate::from_ymd_opt(10_000, 1, 1).unwrap()).is_err());
        assert!(parse_date(NaiveDate::MAX).is_err());
        assert!(parse_date(NaiveDate::from_ymd_opt(9999, 12, 31).unwrap()).is_ok());
    }

    #[test]
    fn booking_status_round_trips() {
        assert_eq!(
            BookingStatus::parse("cancelled").unwrap(),
            BookingStatus::Cancelled
        );
        assert_eq!(BookingStatus::Confirmed.as_str(), "CONFIRMED");
        assert!(BookingStatus::parse("gone").is_err());
    }
}
