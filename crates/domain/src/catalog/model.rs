//! Catalogue values, each built only by parsing, and the movies and shows made of them:
//! a movie or show that exists is valid.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::shared::{parse_line, MovieId, ShowId};

/// A trimmed line of text of bounded length.
macro_rules! line_type {
    ($(#[$doc:meta])* $name:ident, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub const MAX_LEN: usize = $max;

            pub fn parse(raw: &str) -> Result<Self, String> {
                parse_line(raw, Self::MAX_LEN).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }
    };
}

/// A whole number within a range, stored as `i32`.
macro_rules! bounded_type {
    ($(#[$doc:meta])* $name:ident, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(i32);

        impl $name {
            pub const MAX: i32 = $max;

            pub fn parse(raw: i64) -> Result<Self, String> {
                if (1..=i64::from(Self::MAX)).contains(&raw) {
                    Ok(Self(raw as i32))
                } else {
                    Err(format!("must be between 1 and {}", Self::MAX))
                }
            }

            pub fn get(self) -> i32 {
                self.0
            }
        }
    };
}

line_type!(
    /// A movie's title: 1 to 200 characters on one line.
    Title,
    200
);
line_type!(
    /// The name of the screen a show plays on: 1 to 100 characters on one line.
    ScreenName,
    100
);
bounded_type!(
    /// A running time in minutes, 1 to 1000.
    DurationMinutes,
    1000
);
bounded_type!(
    /// The seats of a show, numbered 1 to this, at most 10 000.
    TotalSeats,
    10_000
);

/// A movie's description: may be empty or span lines, at most 5000 characters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub const MAX_LEN: usize = 5000;

    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.chars().count() > Self::MAX_LEN {
            return Err(format!("must be at most {} characters", Self::MAX_LEN));
        }
        // Line breaks and tabs are text; NUL and the other controls are not.
        if raw
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err("must not contain control characters".into());
        }
        Ok(Self(raw.trim().to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

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

/// When a show starts, within the years every database stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StartTime(DateTime<Utc>);

impl StartTime {
    pub fn parse(raw: DateTime<Utc>) -> Result<Self, String> {
        within_years(raw.year()).map(|()| Self(raw))
    }

    pub fn get(self) -> DateTime<Utc> {
        self.0
    }

    /// The one definition of "the show has started": from its start time on, nothing of
    /// it can be booked or cancelled.
    pub fn has_passed(self, now: DateTime<Utc>) -> bool {
        self.0 <= now
    }
}

/// A day to list shows of (UTC), within the years every database stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShowDate(NaiveDate);

impl ShowDate {
    pub fn parse(raw: NaiveDate) -> Result<Self, String> {
        within_years(raw.year()).map(|()| Self(raw))
    }

    pub fn get(self) -> NaiveDate {
        self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movie {
    pub id: MovieId,
    pub title: Title,
    pub description: Description,
    pub duration_minutes: DurationMinutes,
}

/// A movie as the staff submit it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMovie {
    pub title: Title,
    pub description: Description,
    pub duration_minutes: DurationMinutes,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MoviePatch {
    pub title: Option<Title>,
    pub description: Option<Description>,
    pub duration_minutes: Option<DurationMinutes>,
}

impl MoviePatch {
    pub fn is_empty(&self) -> bool {
        self.title.is_none() && self.description.is_none() && self.duration_minutes.is_none()
    }
}

/// The movie a show belongs to, as shown inside a show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovieRef {
    pub id: MovieId,
    pub title: Title,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Show {
    pub id: ShowId,
    pub movie: MovieRef,
    pub screen_name: ScreenName,
    pub start_time: StartTime,
    pub total_seats: TotalSeats,
    pub available_seats: i32,
}

/// What a transaction reads of a show, under its lock, to apply the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShowSnapshot {
    pub id: ShowId,
    pub start_time: StartTime,
    pub total_seats: TotalSeats,
}

impl ShowSnapshot {
    pub fn has_started(&self, now: DateTime<Utc>) -> bool {
        self.start_time.has_passed(now)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewShow {
    pub movie_id: MovieId,
    pub screen_name: ScreenName,
    pub start_time: StartTime,
    pub total_seats: TotalSeats,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShowPatch {
    pub movie_id: Option<MovieId>,
    pub screen_name: Option<ScreenName>,
    pub start_time: Option<StartTime>,
    pub total_seats: Option<TotalSeats>,
}

impl ShowPatch {
    pub fn is_empty(&self) -> bool {
        self.movie_id.is_none()
            && self.screen_name.is_none()
            && self.start_time.is_none()
            && self.total_seats.is_none()
    }
}

/// Which shows a list wants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShowFilter {
    pub movie: Option<MovieId>,
    /// Shows starting on this UTC date.
    pub date: Option<ShowDate>,
    /// Only shows starting after this instant.
    pub starts_after: Option<DateTime<Utc>>,
}

/// One seat of a seat map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatState {
    pub seat_number: i32,
    pub booked: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn catalogue_fields_are_validated() {
        assert!(Title::parse("  ").is_err());
        assert_eq!(Title::parse(" Up ").unwrap().as_str(), "Up");
        assert!(Title::parse(&"x".repeat(201)).is_err());
        assert!(DurationMinutes::parse(0).is_err());
        assert!(DurationMinutes::parse(1001).is_err());
        assert!(TotalSeats::parse(0).is_err());
        assert!(TotalSeats::parse(10_001).is_err());
        assert_eq!(TotalSeats::parse(10_000).unwrap().get(), 10_000);
        assert!(ScreenName::parse("").is_err());
        assert!(Description::parse(&"x".repeat(5001)).is_err());
    }

    #[test]
    fn text_with_control_characters_is_refused() {
        assert!(Title::parse("Up\u{0}").is_err());
        assert!(ScreenName::parse("A\u{7}").is_err());
        assert!(Description::parse("line one\nline two\ttab").is_ok());
        assert!(Description::parse("nul\u{0}").is_err());
    }

    #[test]
    fn times_and_dates_stay_within_storable_years() {
        assert!(StartTime::parse(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()).is_ok());
        assert!(StartTime::parse(Utc.with_ymd_and_hms(1899, 12, 31, 0, 0, 0).unwrap()).is_err());
        assert!(ShowDate::parse(NaiveDate::from_ymd_opt(10_000, 1, 1).unwrap()).is_err());
        assert!(ShowDate::parse(NaiveDate::MAX).is_err());
        assert!(ShowDate::parse(NaiveDate::from_ymd_opt(9999, 12, 31).unwrap()).is_ok());
    }

    #[test]
    fn a_show_has_started_from_its_start_time_on() {
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 20, 0, 0).unwrap();
        let time = StartTime::parse(start).unwrap();
        assert!(!time.has_passed(start - chrono::Duration::seconds(1)));
        assert!(time.has_passed(start));
        assert!(time.has_passed(start + chrono::Duration::hours(1)));
    }
}
