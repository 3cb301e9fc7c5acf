//! The rules a storage adapter applies inside its transaction, on what it read under
//! its locks. Pure functions, so every rule is tested here without a database.

use chrono::{DateTime, Utc};

use super::best_seats::{best_seats, SeatQuery};
use super::model::{Booking, BookingStatus, SeatSelection};
use super::ports::{BookError, CancelError};
use super::service::BestSeatsError;
use crate::catalog::Layout;
use crate::catalog::{SeatType, ShowForSale, ShowSnapshot};
use crate::shared::UserId;

/// May these seats of this show be booked now? Every seat must exist in the layout, the
/// show must not have started, and no seat may be blocked. (Whether they are free is
/// the adapter's to know: only it sees the other transactions.)
pub fn check_booking(
    show: &ShowForSale,
    seats: &SeatSelection,
    now: DateTime<Utc>,
) -> Result<(), BookError> {
    let total_seats = show.layout.capacity();
    let out_of_range: Vec<i32> = seats
        .numbers()
        .into_iter()
        .filter(|&n| n > total_seats)
        .collect();
    if !out_of_range.is_empty() {
        return Err(BookError::SeatOutOfRange {
            field: seats.field(),
            seats: out_of_range,
            total_seats,
        });
    }
    if show.snapshot.has_started(now) {
        return Err(BookError::ShowStarted);
    }
    let blocked: Vec<i32> = seats
        .numbers()
        .into_iter()
        .filter(|&n| {
            show.layout
                .seat(n)
                .is_some_and(|s| s.seat_type == SeatType::Blocked)
        })
        .collect();
    if !blocked.is_empty() {
        return Err(BookError::SeatBlocked { seats: blocked });
    }
    Ok(())
}

/// The block `query` gets from a show with this layout and these seats `taken`: refused
/// when the show has started, when it asks for a category the layout lacks, and when no
/// block fits. The best-seats answer and a `count` hold both choose through it.
pub fn choose_block(
    layout: &Layout,
    taken: impl Fn(i32) -> bool,
    query: &SeatQuery,
    started: bool,
) -> Result<Vec<i32>, BestSeatsError> {
    if started {
        return Err(BestSeatsError::ShowStarted);
    }
    query
        .check_against(layout)
        .map_err(BestSeatsError::Invalid)?;
    best_seats(layout, taken, query).ok_or(BestSeatsError::NoAdjacentSeats)
}

/// May this user cancel this booking of this show, now?
pub fn check_cancel(
    booking: &Booking,
    user: UserId,
    show: &ShowSnapshot,
    now: DateTime<Utc>,
) -> Result<(), CancelError> {
    // Someone else's booking is indistinguishable from a missing one: no id probing.
    if booking.user_id != user {
        return Err(CancelError::NotFound);
    }
    if booking.status == BookingStatus::Cancelled {
        return Err(CancelError::AlreadyCancelled);
    }
    if show.has_started(now) {
        return Err(CancelError::ShowStarted);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::booking::Ticket;
    use crate::catalog::{
        Category, Currency, Layout, Price, Prices, RowInput, StartTime, TotalSeats,
    };
    use crate::shared::{BookingId, ShowId};
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 15, 10, 0, 0).unwrap()
    }

    fn show(total: i64, starts_in: Duration) -> ShowSnapshot {
        ShowSnapshot {
            id: ShowId(1),
            start_time: StartTime::parse(now() + starts_in).unwrap(),
            total_seats: TotalSeats::parse(total).unwrap(),
        }
    }

    fn flat(total: i64, starts_in: Duration) -> ShowForSale {
        ShowForSale {
            snapshot: show(total, starts_in),
            layout: Layout::flat(total as i32),
            prices: Prices::flat(),
            currency: Currency::parse("EUR").unwrap(),
        }
    }

    /// Row A: 5 standard seats, place 3 blocked; row B: 5 premium seats.
    fn hall() -> ShowForSale {
        let row = |label: &str, category: &str, blocked: Vec<i64>| RowInput {
            label: Some(label.into()),
            count: Some(5),
            category: Some(category.into()),
            blocked,
            ..Default::default()
        };
        let layout =
            Layout::parse(&[row("A", "standard", vec![3]), row("B", "premium", vec![])]).unwrap();
        let prices = [("standard", 1250), ("premium", 1800)]
            .into_iter()
            .map(|(c, p)| (Category::parse(c).unwrap(), Price::parse(p).unwrap()))
            .collect();
        ShowForSale {
            snapshot: show(10, Duration::hours(1)),
            layout,
            prices,
            currency: Currency::parse("EUR").unwrap(),
        }
    }

    fn booking(user: i64, status: BookingStatus) -> Booking {
        Booking {
            id: BookingId(9),
            user_id: UserId(user),
            username: "john".into(),
            show_id: ShowId(1),
            seat_number: 5,
            status,
            booking_time: now(),
            cancelled_at: None,
            seat_label: "5".into(),
            price: Price::FREE,
            currency: Currency::parse("EUR").unwrap(),
        }
    }

    #[test]
    fn seats_within_the_show_of_an_upcoming_show_may_be_booked() {
        let seats = SeatSelection::new(&[1, 100]).unwrap();
        assert_eq!(
            check_booking(&flat(100, Duration::hours(1)), &seats, now()),
            Ok(())
        );
    }

    #[test]
    fn blocked_seats_are_refused_and_named() {
        let seats = SeatSelection::new(&[2, 3, 4]).unwrap();
        assert_eq!(
            check_booking(&hall(), &seats, now()),
            Err(BookError::SeatBlocked { seats: vec![3] })
        );
        let fine = SeatSelection::new(&[2, 4, 6]).unwrap();
        assert_eq!(check_booking(&hall(), &fine, now()), Ok(()));
    }

    #[test]
    fn tickets_carry_the_label_and_price_of_each_seat() {
        let seats = SeatSelection::new(&[7, 2]).unwrap();
        let tickets = Ticket::for_seats(&hall(), &seats).unwrap();
        let got: Vec<(i32, &str, i32)> = tickets
            .iter()
            .map(|t| (t.seat_number, t.label.as_str(), t.price.get()))
            .collect();
        assert_eq!(got, vec![(2, "A2", 1250), (7, "B2", 1800)]);
        let flat_ticket = Ticket::for_seats(&flat(10, Duration::hours(1)), &seats).unwrap();
        assert_eq!(flat_ticket[1].label, "7");
        assert_eq!(flat_ticket[1].price, Price::FREE);
    }

    #[test]
    fn seat_beyond_total_seats_is_out_of_range_and_blames_the_field_used() {
        let seats = SeatSelection::new(&[100, 101, 102]).unwrap();
        assert_eq!(
            check_booking(&flat(100, Duration::hours(1)), &seats, now()),
            Err(BookError::SeatOutOfRange {
                field: "seat_numbers",
                seats: vec![101, 102],
                total_seats: 100
            })
        );
        let one = SeatSelection::single(101).unwrap();
        assert!(matches!(
            check_booking(&flat(100, Duration::hours(1)), &one, now()),
            Err(BookError::SeatOutOfRange {
                field: "seat_number",
                ..
            })
        ));
    }

    #[test]
    fn show_that_started_cannot_be_booked() {
        let seats = SeatSelection::new(&[1]).unwrap();
        assert_eq!(
            check_booking(&flat(10, Duration::zero()), &seats, now()),
            Err(BookError::ShowStarted)
        );
        assert_eq!(
            check_booking(&flat(10, -Duration::minutes(5)), &seats, now()),
            Err(BookError::ShowStarted)
        );
    }

    #[test]
    fn owner_may_cancel_confirmed_booking_before_the_show() {
        let b = booking(1, BookingStatus::Confirmed);
        assert_eq!(
            check_cancel(&b, UserId(1), &show(10, Duration::hours(1)), now()),
            Ok(())
        );
    }

    #[test]
    fn someone_elses_booking_looks_missing() {
        let b = booking(1, BookingStatus::Confirmed);
        assert_eq!(
            check_cancel(&b, UserId(2), &show(10, Duration::hours(1)), now()),
            Err(CancelError::NotFound)
        );
    }

    #[test]
    fn cancelling_twice_is_a_conflict() {
        let b = booking(1, BookingStatus::Cancelled);
        assert_eq!(
            check_cancel(&b, UserId(1), &show(10, Duration::hours(1)), now()),
            Err(CancelError::AlreadyCancelled)
        );
    }

    #[test]
    fn started_show_cannot_be_cancelled() {
        let b = booking(1, BookingStatus::Confirmed);
        assert_eq!(
            check_cancel(&b, UserId(1), &show(10, -Duration::minutes(1)), now()),
            Err(CancelError::ShowStarted)
        );
        assert_eq!(
            check_cancel(&b, UserId(1), &show(10, Duration::zero()), now()),
            Err(CancelError::ShowStarted)
        );
    }
}
