//! The rules a storage adapter applies inside its transaction, on what it read under
//! its locks. Pure functions, so every rule is tested here without a database.

use chrono::{DateTime, Utc};

use crate::model::{Booking, BookingStatus, SeatSelection, ShowSnapshot, UserId};
use crate::ports::{BookError, CancelError};

/// May these seats of this show be booked now? (Whether they are free is the adapter's
/// to know: only it sees the other transactions.)
pub fn check_booking(
    show: &ShowSnapshot,
    seats: &SeatSelection,
    now: DateTime<Utc>,
) -> Result<(), BookError> {
    let out_of_range: Vec<i32> = seats
        .numbers()
        .into_iter()
        .filter(|&n| n > show.total_seats)
        .collect();
    if !out_of_range.is_empty() {
        return Err(BookError::SeatOutOfRange {
            seats: out_of_range,
            total_seats: show.total_seats,
        });
    }
    if show.has_started(now) {
        return Err(BookError::ShowStarted);
    }
    Ok(())
}

/// May this user cancel this booking of a show starting at `show_start`, now?
pub fn check_cancel(
    booking: &Booking,
    user: UserId,
    show_start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), CancelError> {
    // Someone else's booking is indistinguishable from a missing one: no id probing.
    if booking.user_id != user {
        return Err(CancelError::NotFound);
    }
    if booking.status == BookingStatus::Cancelled {
        return Err(CancelError::AlreadyCancelled);
    }
    if show_start <= now {
        return Err(CancelError::ShowStarted);
    }
    Ok(())
}

/// The seats of a request that are among the booked ones, ascending.
pub fn taken_seats(requested: &SeatSelection, booked: &[i32]) -> Vec<i32> {
    requested
        .numbers()
        .into_iter()
        .filter(|n| booked.contains(n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BookingId, ShowId};
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 15, 10, 0, 0).unwrap()
    }

    fn show(total: i32, starts_in: Duration) -> ShowSnapshot {
        ShowSnapshot {
            id: ShowId(1),
            start_time: now() + starts_in,
            total_seats: total,
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
    fn seat_beyond_total_seats_is_out_of_range() {
        let seats = SeatSelection::new(&[100, 101, 102]).unwrap();
        assert_eq!(
            check_booking(&show(100, Duration::hours(1)), &seats, now()),
            Err(BookError::SeatOutOfRange {
                seats: vec![101, 102],
                total_seats: 100
            })
        );
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
            check_cancel(&b, UserId(1), now() + Duration::hours(1), now()),
            Ok(())
        );
    }

    #[test]
    fn someone_elses_booking_looks_missing() {
        let b = booking(1, BookingStatus::Confirmed);
        assert_eq!(
            check_cancel(&b, UserId(2), now() + Duration::hours(1), now()),
            Err(CancelError::NotFound)
        );
    }

    #[test]
    fn cancelling_twice_is_a_conflict() {
        let b = booking(1, BookingStatus::Cancelled);
        assert_eq!(
            check_cancel(&b, UserId(1), now() + Duration::hours(1), now()),
            Err(CancelError::AlreadyCancelled)
        );
    }

    #[test]
    fn started_show_cannot_be_cancelled() {
        let b = booking(1, BookingStatus::Confirmed);
        assert_eq!(
            check_cancel(&b, UserId(1), now() - Duration::minutes(1), now()),
            Err(CancelError::ShowStarted)
        );
    }

    #[test]
    fn taken_seats_lists_the_overlap() {
        let seats = SeatSelection::new(&[3, 1, 2]).unwrap();
        assert_eq!(taken_seats(&seats, &[2, 3, 9]), vec![2, 3]);
        assert!(taken_seats(&seats, &[]).is_empty());
    }
}
