//! The rules a storage adapter applies inside its transaction, on what it read under
//! its locks. Pure functions, so every rule is tested here without a database.

use chrono::{DateTime, Utc};

use super::model::{Booking, BookingStatus, SeatSelection};
use super::ports::{BookError, CancelError};
use crate::catalog::ShowSnapshot;
use crate::shared::UserId;

/// May these seats of this show be booked now? (Whether they are free is the adapter's
/// to know: only it sees the other transactions.)
pub fn check_booking(
    show: &ShowSnapshot,
    seats: &SeatSelection,
    now: DateTime<Utc>,
) -> Result<(), BookError> {
    let total_seats = show.total_seats.get();
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
    if show.has_started(now) {
        return Err(BookError::ShowStarted);
    }
    Ok(())
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
    use crate::catalog::{StartTime, TotalSeats};
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
        }
    }

    #[test]
    fn seats_within_the_show_of_an_upcoming_show_may_be_booked() {
        let seats = SeatSelection::new(&[1, 100]).unwrap();
        assert_eq!(
            check_booking(&show(100, Duration::hours(1)), &seats, now()),
            Ok(())
        );
    }

    #[test]
    fn seat_beyond_total_seats_is_out_of_range_and_blames_the_field_used() {
        let seats = SeatSelection::new(&[100, 101, 102]).unwrap();
        assert_eq!(
            check_booking(&show(100, Duration::hours(1)), &seats, now()),
            Err(BookError::SeatOutOfRange {
                field: "seat_numbers",
                seats: vec![101, 102],
                total_seats: 100
            })
        );
        let one = SeatSelection::single(101).unwrap();
        assert!(matches!(
            check_booking(&show(100, Duration::hours(1)), &one, now()),
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
            check_booking(&show(10, Duration::zero()), &seats, now()),
            Err(BookError::ShowStarted)
        );
        assert_eq!(
            check_booking(&show(10, -Duration::minutes(5)), &seats, now()),
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
