//! Seats as a request names them, and bookings as stored.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::{Category, Currency, Price, ShowForSale, TotalSeats};
use crate::shared::{BookingId, ShowId, StoreError, UserId};

/// A seat number: a positive integer. Whether it exists in a show is a rule of the show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeatNumber(i32);

impl SeatNumber {
    pub fn new(raw: i64) -> Result<Self, String> {
        if (1..=i64::from(TotalSeats::MAX)).contains(&raw) {
            Ok(Self(raw as i32))
        } else {
            Err(format!(
                "seat numbers are integers from 1 to the show's total seats (at most {})",
                TotalSeats::MAX
            ))
        }
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

/// The seats of one booking request: 1 to 10 distinct seats, kept in ascending order,
/// which is also the order in which a storage adapter locks them. It remembers which
/// request field named them, so a refusal blames the field the client used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatSelection {
    seats: Vec<SeatNumber>,
    field: &'static str,
}

impl SeatSelection {
    pub const MAX_SEATS: usize = 10;

    /// Seats given as a list (`seat_numbers`).
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
        Ok(Self {
            seats,
            field: "seat_numbers",
        })
    }

    /// One seat given on its own (`seat_number`).
    pub fn single(raw: i64) -> Result<Self, String> {
        Ok(Self {
            seats: vec![SeatNumber::new(raw)?],
            field: "seat_number",
        })
    }

    /// The request field these seats came from.
    pub fn field(&self) -> &'static str {
        self.field
    }

    pub fn seats(&self) -> &[SeatNumber] {
        &self.seats
    }

    pub fn numbers(&self) -> Vec<i32> {
        self.seats.iter().map(|s| s.get()).collect()
    }

    pub fn len(&self) -> usize {
        self.seats.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seats.is_empty()
    }

    /// The requested seats that are not among `present`, ascending: the taken ones
    /// when `present` is what a booking got, the free ones when it is what is booked.
    pub fn missing_from(&self, present: &[i32]) -> Vec<i32> {
        self.seats
            .iter()
            .map(|s| s.get())
            .filter(|n| !present.contains(n))
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BookingStatus {
    Confirmed,
    Cancelled,
}

impl BookingStatus {
    pub const ALL: [Self; 2] = [Self::Confirmed, Self::Cancelled];

    /// The status as stored and as the contract spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "CONFIRMED",
            Self::Cancelled => "CANCELLED",
        }
    }

    /// A status as stored: exactly one of [`Self::as_str`]'s spellings.
    pub fn from_stored(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// A status as a client writes it in a filter: any case.
    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::from_stored(&raw.to_ascii_uppercase())
            .ok_or_else(|| "must be CONFIRMED or CANCELLED".into())
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
    /// The seat's label when it was booked (`"B7"`; `"7"` on a flat show).
    pub seat_label: String,
    /// What the seat cost when it was booked, in `currency`.
    pub price: Price,
    pub currency: Currency,
}

/// A seat as a booking or a hold buys it: its number, its label, its category and its
/// price at that moment. A booking keeps the label and the price, so a later change of
/// prices never changes what was paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub seat_number: i32,
    pub label: String,
    pub category: Category,
    pub price: Price,
}

impl Ticket {
    /// A ticket for each seat, in the selection's (ascending) order. A seat outside the
    /// layout or a category without a price is a state no rule allows: call this after
    /// [`super::rules::check_booking`].
    pub fn for_seats(show: &ShowForSale, seats: &SeatSelection) -> Result<Vec<Self>, StoreError> {
        seats
            .numbers()
            .into_iter()
            .map(|seat_number| {
                let seat = show.layout.seat(seat_number).ok_or_else(|| {
                    StoreError::Unexpected(format!("seat {seat_number} is not in the layout"))
                })?;
                let price = show.prices.get(seat.category).ok_or_else(|| {
                    StoreError::Unexpected(format!(
                        "no stored price for category {}",
                        seat.category
                    ))
                })?;
                Ok(Self {
                    seat_number,
                    label: seat.label(),
                    category: seat.category.clone(),
                    price,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn seat_selection_remembers_the_field_it_came_from() {
        assert_eq!(SeatSelection::single(3).unwrap().field(), "seat_number");
        assert_eq!(SeatSelection::new(&[3]).unwrap().field(), "seat_numbers");
    }

    #[test]
    fn missing_seats_are_the_requested_ones_not_present() {
        let seats = SeatSelection::new(&[3, 1, 2]).unwrap();
        assert_eq!(seats.missing_from(&[2, 9]), vec![1, 3]);
        assert_eq!(seats.missing_from(&[]), vec![1, 2, 3]);
        assert!(seats.missing_from(&[1, 2, 3]).is_empty());
    }

    #[test]
    fn booking_status_round_trips() {
        assert_eq!(
            BookingStatus::parse("cancelled").unwrap(),
            BookingStatus::Cancelled
        );
        for status in BookingStatus::ALL {
            assert_eq!(BookingStatus::from_stored(status.as_str()), Some(status));
        }
        assert!(BookingStatus::parse("gone").is_err());
        assert_eq!(BookingStatus::from_stored("confirmed"), None);
    }
}
