//! The catalogue's rules. Staff edits are checked by the storage adapter inside its
//! transaction, on what it read under its locks, so no booking slips in between the
//! check and the change; the rules themselves are plain functions, tested here.

use super::layout::{Layout, SeatType};
use super::model::{Prices, SeatMap, ShowPatch, TotalSeats};
use super::ports::{DeleteError, SaveShowError, ScreenEditError};
use crate::shared::StoreError;

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

/// A show may move to another layout (another screen, or another seat count) only if
/// every seat with a confirmed booking still exists there and is not blocked.
pub fn check_layout_fits(layout: &Layout, booked: &[i32]) -> Result<(), SaveShowError> {
    check_total_seats(layout.total_seats(), booked.iter().copied().max())?;
    let blocked: Vec<i32> = booked
        .iter()
        .copied()
        .filter(|&n| {
            layout
                .seat(n)
                .is_some_and(|s| s.seat_type == SeatType::Blocked)
        })
        .collect();
    if blocked.is_empty() {
        Ok(())
    } else {
        Err(SaveShowError::BookedSeatsBlocked { seats: blocked })
    }
}

/// Every category of the layout needs a price, and every price names a category of the
/// layout.
pub fn check_prices(layout: &Layout, prices: &Prices) -> Result<(), SaveShowError> {
    let categories = layout.categories();
    let missing: Vec<String> = categories
        .iter()
        .filter(|c| prices.get(c).is_none())
        .map(|c| c.to_string())
        .collect();
    let unknown: Vec<String> = prices
        .iter()
        .filter(|(c, _)| !categories.contains(c))
        .map(|(c, _)| c.to_string())
        .collect();
    if missing.is_empty() && unknown.is_empty() {
        Ok(())
    } else {
        Err(SaveShowError::Prices { missing, unknown })
    }
}

/// A show on a screen takes its seats and its screen name from the screen: they change
/// only by moving it to another screen.
pub fn check_flat_edit(on_screen: bool, patch: &ShowPatch) -> Result<(), SaveShowError> {
    if !on_screen || patch.screen.is_some() {
        return Ok(());
    }
    let fields: Vec<&'static str> = [
        ("screen_name", patch.screen_name.is_some()),
        ("total_seats", patch.total_seats.is_some()),
    ]
    .into_iter()
    .filter_map(|(field, given)| given.then_some(field))
    .collect();
    if fields.is_empty() {
        Ok(())
    } else {
        Err(SaveShowError::SeatingFromScreen { fields })
    }
}

/// The layout of a screen that any show uses cannot change, and such a screen cannot be
/// deleted: the shows' seat numbers, labels and bookings rest on it.
pub fn check_screen_unused(shows_using: i64) -> Result<(), ScreenEditError> {
    if shows_using > 0 {
        Err(ScreenEditError::InUse)
    } else {
        Ok(())
    }
}

/// The seat map of a show of this layout and these prices, with `booked` (ascending)
/// the seats that have a confirmed booking and `held` (ascending) those in an active
/// hold. A category without a price is a stored state no rule allows.
pub fn seat_map(
    layout: Layout,
    prices: &Prices,
    booked: Vec<i32>,
    held: Vec<i32>,
) -> Result<SeatMap, StoreError> {
    let row_prices = layout
        .rows()
        .iter()
        .map(|row| {
            prices.get(row.category()).ok_or_else(|| {
                StoreError::Unexpected(format!("no stored price for category {}", row.category()))
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(SeatMap {
        layout,
        row_prices,
        booked,
        held,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Category, Price, RowInput, SeatState, SeatStatus};

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

    fn row(label: &str, count: i64, category: &str) -> RowInput {
        RowInput {
            label: Some(label.into()),
            count: Some(count),
            category: Some(category.into()),
            ..Default::default()
        }
    }

    /// Row A: 4 seats, place 2 blocked; row B: 3 premium seats.
    fn hall() -> Layout {
        Layout::parse(&[
            RowInput {
                blocked: vec![2],
                ..row("A", 4, "standard")
            },
            row("B", 3, "premium"),
        ])
        .unwrap()
    }

    fn prices(pairs: &[(&str, i32)]) -> Prices {
        pairs
            .iter()
            .map(|&(c, p)| (Category::parse(c).unwrap(), Price::parse(p.into()).unwrap()))
            .collect()
    }

    fn statuses(map: &[SeatState]) -> Vec<&'static str> {
        map.iter().map(|s| s.status.as_str()).collect()
    }

    #[test]
    fn seat_map_marks_booked_and_held_seats() {
        let map = seat_map(Layout::flat(5), &Prices::flat(), vec![2, 5], vec![3]).unwrap();
        let map: Vec<SeatState> = map.seats().collect();
        assert_eq!(
            statuses(&map),
            vec!["available", "booked", "held", "available", "booked"]
        );
        assert_eq!(map.last().map(|s| s.seat_number), Some(5));
        assert_eq!((map[1].row, map[1].label().to_string()), ("", "2".into()));
        assert_eq!(map[1].price, Price::FREE);
    }

    #[test]
    fn seat_map_ignores_booked_seats_beyond_the_show() {
        let map = seat_map(Layout::flat(2), &Prices::flat(), vec![2, 3], vec![]).unwrap();
        assert_eq!(map.len(), 2);
        let map: Vec<SeatState> = map.seats().collect();
        assert_eq!(map.len(), 2);
        assert_eq!(map[1].status, SeatStatus::Booked);
    }

    #[test]
    fn seat_map_labels_prices_and_blocks_the_layout_seats() {
        let prices = prices(&[("standard", 900), ("premium", 1500)]);
        let map = seat_map(hall(), &prices, vec![1, 6], vec![]).unwrap();
        let map: Vec<SeatState> = map.seats().collect();
        assert_eq!(
            statuses(&map),
            vec![
                "booked",
                "blocked",
                "available",
                "available",
                "available",
                "booked",
                "available"
            ]
        );
        let labels: Vec<String> = map.iter().map(|s| s.label().to_string()).collect();
        assert_eq!(labels, vec!["A1", "A2", "A3", "A4", "B1", "B2", "B3"]);
        assert_eq!(map[1].seat_type, SeatType::Blocked);
        assert_eq!((map[0].price.get(), map[5].price.get()), (900, 1500));
        assert_eq!(map[5].category.as_str(), "premium");
    }

    #[test]
    fn seat_map_without_a_price_for_a_category_is_a_storage_error() {
        let only_standard = prices(&[("standard", 900)]);
        assert!(matches!(
            seat_map(hall(), &only_standard, vec![], vec![]),
            Err(StoreError::Unexpected(_))
        ));
    }

    #[test]
    fn every_category_needs_a_price_and_every_price_a_category() {
        assert_eq!(
            check_prices(&hall(), &prices(&[("standard", 900), ("premium", 0)])),
            Ok(())
        );
        assert_eq!(
            check_prices(&hall(), &prices(&[("standard", 900), ("vip", 10)])),
            Err(SaveShowError::Prices {
                missing: vec!["premium".into()],
                unknown: vec!["vip".into()],
            })
        );
        assert_eq!(check_prices(&Layout::flat(10), &Prices::flat()), Ok(()));
    }

    #[test]
    fn a_new_layout_must_keep_every_booked_seat_and_not_block_it() {
        assert_eq!(check_layout_fits(&hall(), &[1, 7]), Ok(()));
        assert_eq!(
            check_layout_fits(&hall(), &[1, 8]),
            Err(SaveShowError::SeatBooked { highest_booked: 8 })
        );
        assert_eq!(
            check_layout_fits(&hall(), &[2, 3]),
            Err(SaveShowError::BookedSeatsBlocked { seats: vec![2] })
        );
        assert_eq!(check_layout_fits(&Layout::flat(3), &[]), Ok(()));
    }

    #[test]
    fn a_show_on_a_screen_takes_its_seats_from_the_screen() {
        let flat_edit = ShowPatch {
            total_seats: Some(seats(10)),
            ..Default::default()
        };
        assert_eq!(check_flat_edit(false, &flat_edit), Ok(()));
        assert_eq!(
            check_flat_edit(true, &flat_edit),
            Err(SaveShowError::SeatingFromScreen {
                fields: vec!["total_seats"]
            })
        );
        let moving = ShowPatch {
            screen: Some(crate::shared::ScreenId(2)),
            ..Default::default()
        };
        assert_eq!(check_flat_edit(true, &moving), Ok(()));
        assert_eq!(check_flat_edit(true, &ShowPatch::default()), Ok(()));
    }

    #[test]
    fn only_a_screen_no_show_uses_may_change_its_layout_or_go() {
        assert_eq!(check_screen_unused(0), Ok(()));
        assert_eq!(check_screen_unused(2), Err(ScreenEditError::InUse));
    }
}
