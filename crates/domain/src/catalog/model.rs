//! Catalogue values, each built only by parsing, and the movies, screens and shows made
//! of them: a movie, screen or show that exists is valid.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use super::layout::{Category, Layout, SeatLabel, SeatType};
use crate::shared::{parse_line, MovieId, ScreenId, ShowId, ValidationErrors};

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

impl Layout {
    /// Every seat of the layout, blocked ones included, as a show counts them.
    pub fn total_seats(&self) -> TotalSeats {
        // A layout holds 1 to `Layout::MAX_CAPACITY` (= `TotalSeats::MAX`) seats.
        TotalSeats(self.capacity())
    }
}

/// A price in minor units (cents) of a show's currency: 0 to 10,000,000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price(i32);

impl Price {
    pub const MAX: i32 = 10_000_000;
    /// What a seat of a flat show costs unless the staff price it.
    pub const FREE: Self = Self(0);

    pub fn parse(raw: i64) -> Result<Self, String> {
        if (0..=i64::from(Self::MAX)).contains(&raw) {
            Ok(Self(raw as i32))
        } else {
            Err(format!(
                "must be a whole number of minor units from 0 to {}",
                Self::MAX
            ))
        }
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

/// A currency as ISO 4217 writes it: three capital letters (`EUR`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Currency(String);

impl Currency {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.len() == 3 && raw.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err("must be three capital letters (ISO 4217, e.g. EUR)".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a show charges for a seat of each category, in its currency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prices(BTreeMap<Category, Price>);

impl Prices {
    /// The prices of a flat show that the staff did not price: its one category is free.
    pub fn flat() -> Self {
        Self(BTreeMap::from([(Category::standard(), Price::FREE)]))
    }

    /// Prices as submitted (category -> minor units), every problem recorded under
    /// `<field>.<category>`.
    pub fn parse(
        errors: &mut ValidationErrors,
        field: &str,
        raw: &BTreeMap<String, i64>,
    ) -> Option<Self> {
        if raw.is_empty() {
            errors.add(field, "give a price for each category of the layout");
            return None;
        }
        let mut prices = BTreeMap::new();
        let mut valid = true;
        for (category, &price) in raw {
            let key = format!("{field}.{category}");
            let category = errors.take(&key, Category::parse(category));
            let price = errors.take(&key, Price::parse(price));
            match (category, price) {
                (Some(category), Some(price)) => {
                    prices.insert(category, price);
                }
                _ => valid = false,
            }
        }
        valid.then_some(Self(prices))
    }

    pub fn get(&self, category: &Category) -> Option<Price> {
        self.0.get(category).copied()
    }

    /// The priced categories and their prices, in category order.
    pub fn iter(&self) -> impl Iterator<Item = (&Category, Price)> + '_ {
        self.0.iter().map(|(category, &price)| (category, price))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<(Category, Price)> for Prices {
    fn from_iter<I: IntoIterator<Item = (Category, Price)>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

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

/// An auditorium: a name and a seat layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screen {
    pub id: ScreenId,
    pub name: ScreenName,
    pub layout: Layout,
}

/// A screen as the staff submit it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewScreen {
    pub name: ScreenName,
    pub layout: Layout,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScreenPatch {
    pub name: Option<ScreenName>,
    pub layout: Option<Layout>,
}

/// The screen a show runs on, as shown inside a show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenRef {
    pub id: ScreenId,
    pub name: ScreenName,
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
    /// The screen's name for a show on a screen.
    pub screen_name: ScreenName,
    pub start_time: StartTime,
    /// Every seat of the layout, blocked ones included.
    pub total_seats: TotalSeats,
    /// Seats neither booked nor blocked.
    pub available_seats: i32,
    /// The screen whose layout the show uses; `None` for a flat show (seats 1 to N).
    pub screen: Option<ScreenRef>,
    pub prices: Prices,
    pub currency: Currency,
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

/// What a booking transaction reads of a show under its lock: its snapshot, its seats
/// and what they cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShowForSale {
    pub snapshot: ShowSnapshot,
    pub layout: Layout,
    pub prices: Prices,
    pub currency: Currency,
}

/// A show with its layout and the seat numbers that have a confirmed booking
/// (ascending): everything a seat map or the best-available choice needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShowSeats {
    pub show: Show,
    pub layout: Layout,
    /// Seats with a confirmed booking, ascending.
    pub booked: Vec<i32>,
    /// Seats in an unexpired active hold, ascending.
    pub held: Vec<i32>,
}

impl ShowSeats {
    /// Whether a seat is booked or held: what the best-available choice avoids.
    pub fn is_taken(&self, seat: i32) -> bool {
        self.booked.binary_search(&seat).is_ok() || self.held.binary_search(&seat).is_ok()
    }
}

/// Where a show's seats come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seating {
    /// The seed's form: a screen named in the show, seats 1 to N in one row.
    Flat {
        screen_name: ScreenName,
        total_seats: TotalSeats,
    },
    /// The layout of a screen.
    Screen(ScreenId),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewShow {
    pub movie_id: MovieId,
    pub start_time: StartTime,
    pub seating: Seating,
    pub prices: Prices,
    pub currency: Currency,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShowPatch {
    pub movie_id: Option<MovieId>,
    pub screen_name: Option<ScreenName>,
    pub start_time: Option<StartTime>,
    pub total_seats: Option<TotalSeats>,
    /// Moves the show to this screen's layout.
    pub screen: Option<ScreenId>,
    /// Replaces every price of the show.
    pub prices: Option<Prices>,
}

impl ShowPatch {
    pub fn is_empty(&self) -> bool {
        self.movie_id.is_none()
            && self.screen_name.is_none()
            && self.start_time.is_none()
            && self.total_seats.is_none()
            && self.screen.is_none()
            && self.prices.is_none()
    }

    /// Whether the patch changes which seats the show has.
    pub fn changes_seating(&self) -> bool {
        self.total_seats.is_some() || self.screen.is_some()
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

/// Whether a seat can be had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeatStatus {
    Available,
    Held,
    Booked,
    Blocked,
}

impl SeatStatus {
    /// As the contract spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "available",
            Self::Held => "held",
            Self::Booked => "booked",
            Self::Blocked => "blocked",
        }
    }
}

/// One seat of a seat map, borrowed from the show's layout: where it is, what it is,
/// what it costs, and its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatState<'a> {
    pub seat_number: i32,
    pub row: &'a str,
    /// Its place in the row, from 1.
    pub place: i32,
    pub seat_type: SeatType,
    pub category: &'a Category,
    pub price: Price,
    pub status: SeatStatus,
}

impl<'a> SeatState<'a> {
    /// `"B7"`: the row label and the place in the row (`"7"` on a flat show).
    pub fn label(&self) -> SeatLabel<'a> {
        SeatLabel::new(self.row, self.place)
    }
}

/// A show's seat map: its layout, what a seat of each row costs, and the booked and
/// held seats.
/// Built by [`super::rules::seat_map`]; its seats are read without allocating per seat,
/// since a map may hold 10,000 of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatMap {
    pub(crate) layout: Layout,
    /// One price per row of the layout, in row order.
    pub(crate) row_prices: Vec<Price>,
    /// Ascending.
    pub(crate) booked: Vec<i32>,
    /// Ascending.
    pub(crate) held: Vec<i32>,
}

impl SeatMap {
    /// How many seats the map has: every seat of the layout.
    pub fn len(&self) -> usize {
        self.layout.capacity() as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every seat, in seat-number order.
    pub fn seats(&self) -> impl Iterator<Item = SeatState<'_>> + '_ {
        let mut booked = self.booked.iter().copied().peekable();
        let mut held = self.held.iter().copied().peekable();
        self.layout
            .rows()
            .iter()
            .zip(&self.row_prices)
            .flat_map(|(row, &price)| (1..=row.count()).map(move |place| (row, price, place)))
            .map(move |(row, price, place)| {
                let seat_number = row.first_seat() + place - 1;
                // Both lists are ascending, so one merge pass marks every seat.
                let is_booked = advance_to(&mut booked, seat_number);
                let is_held = advance_to(&mut held, seat_number);
                let seat_type = row.seat_type(place);
                let status = if seat_type == SeatType::Blocked {
                    SeatStatus::Blocked
                } else if is_booked {
                    SeatStatus::Booked
                } else if is_held {
                    SeatStatus::Held
                } else {
                    SeatStatus::Available
                };
                SeatState {
                    seat_number,
                    row: row.label(),
                    place,
                    seat_type,
                    category: row.category(),
                    price,
                    status,
                }
            })
    }
}

/// Moves an ascending list past `seat`, answering whether `seat` was in it.
fn advance_to(list: &mut std::iter::Peekable<impl Iterator<Item = i32>>, seat: i32) -> bool {
    let mut found = false;
    while let Some(n) = list.next_if(|&n| n <= seat) {
        found |= n == seat;
    }
    found
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
    fn prices_and_currencies_are_validated() {
        assert!(Price::parse(-1).is_err());
        assert!(Price::parse(10_000_001).is_err());
        assert_eq!(Price::parse(1250).unwrap().get(), 1250);
        assert!(Currency::parse("EUR").is_ok());
        for bad in ["eur", "EURO", "E1R", ""] {
            assert!(Currency::parse(bad).is_err(), "{bad:?}");
        }
        let mut errors = ValidationErrors::default();
        let raw = BTreeMap::from([("Premium".to_owned(), 5), ("standard".to_owned(), -1)]);
        assert_eq!(Prices::parse(&mut errors, "prices", &raw), None);
        assert_eq!(
            errors.0.keys().collect::<Vec<_>>(),
            vec!["prices.Premium", "prices.standard"]
        );
        let mut errors = ValidationErrors::default();
        assert_eq!(Prices::parse(&mut errors, "prices", &BTreeMap::new()), None);
        assert!(errors.0.contains_key("prices"));
        let ok = BTreeMap::from([("standard".to_owned(), 0)]);
        assert_eq!(
            Prices::parse(&mut ValidationErrors::default(), "prices", &ok),
            Some(Prices::flat())
        );
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

/// One committed change to a show's seats, as the live seat map streams it. `id`
/// increases within a show's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatChange {
    pub id: u64,
    pub kind: SeatChangeKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeatChangeKind {
    /// These seats now have these statuses, in seat-number order.
    Seats(Vec<(i32, SeatStatus)>),
    /// The show itself changed (its layout, seat count or prices) or is gone: read the
    /// whole map again.
    Reset,
}
