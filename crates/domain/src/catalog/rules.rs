//! The catalogue's rules. Staff edits are checked by the storage adapter inside its
//! transaction, on what it read under its locks, so no booking slips in between the
//! check and the change; the rules themselves are plain functions, tested here.

use super::model::{SeatState, TotalSeats};
use super::ports::{DeleteError, SaveShowError};

/// A show may not shrink below a seat that has a confirmed booking.
pub fn check_total_seats(
    new_total: TotalSeats,
    highest_booked: Option<i32>,
) -> Result<(), SaveShowError> {
    match highest_booked {
        Some(highest_booked) if highest_booked > new_total.get() => {
            Err(SaveShowError::SeatBooked { highest_booked })
        }
        _ => Ok(()),
    }
}

/// A movie or show with a confirmed booking may not be deleted: cancel the bookings
/// first. (Cancelled bookings go with it.)
pub fn check_deletable(confirmed_bookings: i64) -> Result<(), DeleteError> {
    if confirmed_bookings > 0 {
        Err(DeleteError::HasConfirmedBookings)
    } else {
        Ok(())
    }
}

/// Every seat of a show of `total` seats, in order, with whether it is among `booked`
/// (ascending).
pub fn seat_map(total: TotalSeats, booked: &[i32]) -> Vec<SeatState> {
    let mut booked = booked.iter().copied().peekable();
    (1..=total.get())
        .map(|seat_number| {
            // `booked` is ascending, so one merge pass marks every seat.
            let is_booked = booked
                .next_if(|&b| b <= seat_number)
                .is_some_and(|b| b == seat_number);
            while booked.next_if(|&b| b <= seat_number).is_some() {}
            SeatState {
                seat_number,
                booked: is_booked,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seats(n: i64) -> TotalSeats {
        TotalSeats::parse(n).unwrap()
    }

    #[test]
    fn show_may_shrink_down_to_its_highest_booked_seat() {
        assert_eq!(check_total_seats(seats(40), Some(40)), Ok(()));
        assert_eq!(check_total_seats(seats(1), None), Ok(()));
        assert_eq!(check_total_seats(seats(50), Some(40)), Ok(()));
    }

    #[test]
    fn show_may_not_shrink_below_a_booked_seat() {
        assert_eq!(
            check_total_seats(seats(39), Some(40)),
            Err(SaveShowError::SeatBooked { highest_booked: 40 })
        );
    }

    #[test]
    fn only_what_has_no_confirmed_booking_may_be_deleted() {
        assert_eq!(check_deletable(0), Ok(()));
        assert_eq!(check_deletable(1), Err(DeleteError::HasConfirmedBookings));
    }

    #[test]
    fn seat_map_marks_booked_seats() {
        let map = seat_map(seats(5), &[2, 5]);
        let booked: Vec<bool> = map.iter().map(|s| s.booked).collect();
        assert_eq!(booked, vec![false, true, false, false, true]);
        assert_eq!(map.last().map(|s| s.seat_number), Some(5));
    }

    #[test]
    fn seat_map_ignores_booked_seats_beyond_the_show() {
        let map = seat_map(seats(2), &[2, 3]);
        assert_eq!(map.len(), 2);
        assert!(map[1].booked);
    }
}
