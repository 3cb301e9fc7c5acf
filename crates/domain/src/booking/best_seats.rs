//! The best-available choice: given a layout, which seats are taken and what is asked
//! for, the best block of adjacent free seats, exactly as the contract words it. Pure and
//! deterministic: the same state always gives the same choice.
//!
//! A block is `count` adjacent free seats in one row, not across an aisle, all of the
//! asked category, all wheelchair places when a wheelchair is asked for and none
//! otherwise. Blocks are ranked by, in order:
//! 1. whether taking it strands a single free seat: a free seat beside the block whose
//!    other side is a taken or blocked seat, the row's end or an aisle (a free wheelchair
//!    place counts as free here); such a block is chosen only when no other exists;
//! 2. the distance of its row from two-thirds of the way back (the first row is nearest
//!    the screen);
//! 3. the distance of its centre from the middle of its row;
//! 4. the lower seat numbers.

use super::model::SeatSelection;
use crate::catalog::{Category, Layout, Row, SeatType};
use crate::shared::ValidationErrors;

/// What a client asks the best-available choice for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatQuery {
    pub count: usize,
    pub category: Option<Category>,
    pub wheelchair: bool,
}

impl SeatQuery {
    /// `count` 1 to 10 (as many as one booking may take), an optional category, and
    /// whether wheelchair places are wanted.
    pub fn parse(
        count: Option<i64>,
        category: Option<&str>,
        wheelchair: Option<bool>,
    ) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let max = SeatSelection::MAX_SEATS as i64;
        let count = errors.required(
            "count",
            count.map(|n| {
                if (1..=max).contains(&n) {
                    Ok(n as usize)
                } else {
                    Err(format!("must be between 1 and {max}"))
                }
            }),
        );
        let category = errors.optional("category", category.map(Category::parse));
        let Some(count) = count else {
            return Err(errors);
        };
        errors.into_result()?;
        Ok(Self {
            count,
            category,
            wheelchair: wheelchair.unwrap_or(false),
        })
    }

    /// A category must be one the show's layout has: asking for another is a mistake of
    /// the request, not a full house.
    pub fn check_against(&self, layout: &Layout) -> Result<(), ValidationErrors> {
        match &self.category {
            Some(category) if !layout.categories().contains(category) => Err(
                ValidationErrors::single("category", "no seat of this show has this category"),
            ),
            _ => Ok(()),
        }
    }
}

/// The best block for `query`, or `None` when no row has one. `taken` says whether a
/// seat number is booked or held; blocked seats come from the layout.
pub fn best_seats(
    layout: &Layout,
    taken: impl Fn(i32) -> bool,
    query: &SeatQuery,
) -> Option<Vec<i32>> {
    let rows = layout.rows();
    let last_row = rows.len().saturating_sub(1) as i64;
    let count = query.count as i32;
    let mut best: Option<(Rank, i32)> = None;
    for (index, row) in rows.iter().enumerate() {
        if query
            .category
            .as_ref()
            .is_some_and(|wanted| wanted != row.category())
        {
            continue;
        }
        // Three times the distance from two-thirds back, so it stays an integer.
        let row_distance = (3 * index as i64 - 2 * last_row).abs();
        let free = |place: i32| {
            row.seat_type(place) != SeatType::Blocked && !taken(row.first_seat() + place - 1)
        };
        let wanted = |place: i32| {
            let kind = row.seat_type(place);
            free(place)
                && if query.wheelchair {
                    kind == SeatType::Wheelchair
                } else {
                    kind == SeatType::Standard
                }
        };
        for (low, high) in segments(row) {
            let mut start = low;
            while start + count - 1 <= high {
                let end = start + count - 1;
                if let Some(bad) = (start..=end).rev().find(|&p| !wanted(p)) {
                    // No block that contains `bad` can be taken: skip past it.
                    start = bad + 1;
                    continue;
                }
                let strands_left =
                    start > low && free(start - 1) && !(start - 1 > low && free(start - 2));
                let strands_right =
                    end < high && free(end + 1) && !(end + 1 < high && free(end + 2));
                let rank = Rank {
                    strands: strands_left || strands_right,
                    row_distance,
                    // Twice the distance of the block's centre from the row's middle.
                    centre_distance: i64::from((start + end) - (row.count() + 1)).abs(),
                    first_seat: row.first_seat() + start - 1,
                };
                if best.as_ref().is_none_or(|(b, _)| rank < *b) {
                    best = Some((rank, row.first_seat() + start - 1));
                }
                start += 1;
            }
        }
    }
    best.map(|(_, first)| (first..first + count).collect())
}

/// How good a block is: smaller is better, compared field by field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Rank {
    strands: bool,
    row_distance: i64,
    centre_distance: i64,
    first_seat: i32,
}

/// The runs of places between aisles (and the row's ends), as inclusive ranges.
fn segments(row: &Row) -> Vec<(i32, i32)> {
    let mut segments = Vec::new();
    let mut low = 1;
    for aisle in row.aisles_after() {
        segments.push((low, aisle));
        low = aisle + 1;
    }
    segments.push((low, row.count()));
    segments
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::catalog::RowInput;

    fn row(label: &str, count: i64) -> RowInput {
        RowInput {
            label: Some(label.into()),
            count: Some(count),
            category: Some("standard".into()),
            ..Default::default()
        }
    }

    fn labels(n: usize) -> Vec<String> {
        ('A'..='Z').take(n).map(String::from).collect()
    }

    fn query(count: usize) -> SeatQuery {
        SeatQuery {
            count,
            category: None,
            wheelchair: false,
        }
    }

    fn pick(layout: &Layout, taken: &BTreeSet<i32>, query: &SeatQuery) -> Option<Vec<i32>> {
        best_seats(layout, |seat| taken.contains(&seat), query)
    }

    /// Rows A to E of 8 seats, no aisles: row D (index 3) is nearest two-thirds back.
    fn small_hall() -> Layout {
        Layout::parse(&labels(5).iter().map(|l| row(l, 8)).collect::<Vec<_>>()).unwrap()
    }

    /// Rows A to O of 20 seats, aisles after places 5 and 15, wheelchair places at both
    /// ends of row A, rows L and M premium: row J (index 9) is nearest two-thirds back.
    fn hall_300() -> Layout {
        let rows: Vec<RowInput> = labels(15)
            .iter()
            .map(|l| RowInput {
                aisles_after: vec![5, 15],
                wheelchair: if l == "A" { vec![1, 2, 19, 20] } else { vec![] },
                category: Some(
                    if l == "L" || l == "M" {
                        "premium"
                    } else {
                        "standard"
                    }
                    .into(),
                ),
                ..row(l, 20)
            })
            .collect();
        let layout = Layout::parse(&rows).unwrap();
        assert_eq!(layout.capacity(), 300);
        layout
    }

    /// 25 rows of 40 seats, aisles after places 10 and 30: row Q (index 16) is exactly
    /// two-thirds back.
    fn hall_1000() -> Layout {
        let rows: Vec<RowInput> = labels(25)
            .iter()
            .map(|l| RowInput {
                aisles_after: vec![10, 30],
                ..row(l, 40)
            })
            .collect();
        let layout = Layout::parse(&rows).unwrap();
        assert_eq!(layout.capacity(), 1000);
        layout
    }

    /// Seat numbers of places `from..=to` of row `index` in a hall of `width` seats a row.
    fn places(index: i32, width: i32, from: i32, to: i32) -> Vec<i32> {
        (from..=to).map(|p| index * width + p).collect()
    }

    #[test]
    fn small_hall_empty_picks_the_middle_of_row_d() {
        let hall = small_hall();
        let none = BTreeSet::new();
        assert_eq!(pick(&hall, &none, &query(2)), Some(vec![28, 29]));
        // Centres 4 and 5 tie for three seats: the lower seat numbers win.
        assert_eq!(pick(&hall, &none, &query(3)), Some(vec![27, 28, 29]));
        assert_eq!(pick(&hall, &none, &query(8)), Some((25..=32).collect()));
        assert_eq!(pick(&hall, &none, &query(1)), Some(vec![28]));
    }

    #[test]
    fn small_hall_a_block_that_strands_a_seat_loses_to_a_farther_row() {
        let hall = small_hall();
        // Row D keeps only places 4, 5 and 6 free: any pair there strands the third.
        let taken: BTreeSet<i32> = places(3, 8, 1, 3)
            .into_iter()
            .chain(places(3, 8, 7, 8))
            .collect();
        assert_eq!(pick(&hall, &taken, &query(2)), Some(vec![20, 21]));
        // Three seats fill the gap exactly and strand nothing: row D again.
        assert_eq!(pick(&hall, &taken, &query(3)), Some(vec![28, 29, 30]));
    }

    #[test]
    fn small_hall_stranding_is_accepted_when_nothing_else_exists() {
        let hall = small_hall();
        // Every row but D is full, and D has places 4, 5 and 6 free.
        let mut taken: BTreeSet<i32> = (1..=40).collect();
        for seat in places(3, 8, 4, 6) {
            taken.remove(&seat);
        }
        assert_eq!(pick(&hall, &taken, &query(2)), Some(vec![28, 29]));
        assert_eq!(pick(&hall, &taken, &query(4)), None);
    }

    #[test]
    fn small_hall_filling_a_gap_exactly_beats_the_middle() {
        let hall = small_hall();
        // Row D, place 3 taken: the pair 4-5 leaves 6, 7, 8 free and strands nothing.
        let taken: BTreeSet<i32> = [27].into();
        assert_eq!(pick(&hall, &taken, &query(2)), Some(vec![28, 29]));
        // Places 3 and 7 taken: 4-5 strands 6 and 5-6 strands 4, but 1-2 fills the gap
        // before place 3 exactly. Row D still beats row C: the row comes before the middle.
        let taken: BTreeSet<i32> = [27, 31].into();
        assert_eq!(pick(&hall, &taken, &query(2)), Some(vec![25, 26]));
        // Place 1 taken as well: every pair of row D strands a seat, so row C wins.
        let taken: BTreeSet<i32> = [25, 27, 31].into();
        assert_eq!(pick(&hall, &taken, &query(2)), Some(vec![20, 21]));
    }

    #[test]
    fn hall_300_empty_picks_row_j_around_the_middle_aisle_block() {
        let hall = hall_300();
        let none = BTreeSet::new();
        assert_eq!(pick(&hall, &none, &query(2)), Some(vec![190, 191]));
        assert_eq!(pick(&hall, &none, &query(6)), Some(places(9, 20, 8, 13)));
        assert_eq!(pick(&hall, &none, &query(10)), Some(places(9, 20, 6, 15)));
    }

    #[test]
    fn hall_300_an_aisle_breaks_adjacency() {
        let hall = hall_300();
        // Row J's middle block keeps only its end places 6 and 15 free. Without the
        // aisles, places 5-6 would be the best pair of row J; with them, 4-5 and 16-17
        // tie and the lower seat numbers win.
        let taken: BTreeSet<i32> = places(9, 20, 7, 14).into_iter().collect();
        assert_eq!(pick(&hall, &taken, &query(2)), Some(places(9, 20, 4, 5)));
        // No block of six fits beside the aisles in row J: row K's middle block is next.
        assert_eq!(pick(&hall, &taken, &query(6)), Some(places(10, 20, 8, 13)));
    }

    #[test]
    fn hall_300_a_seat_stranded_against_an_aisle_counts() {
        let hall = hall_300();
        // Row J's middle block keeps places 6 and 7 free, 8-15 taken: the pair 6-7 fills
        // it exactly and is nearer the row's middle (10.5) than any outer pair.
        let taken: BTreeSet<i32> = places(9, 20, 8, 15).into_iter().collect();
        assert_eq!(pick(&hall, &taken, &query(2)), Some(places(9, 20, 6, 7)));
        // Place 8 freed: 6-7 would strand 8 against the taken 9, and 7-8 would strand 6
        // against the aisle. Row J's best pair that strands nothing is then 4-5.
        let taken: BTreeSet<i32> = places(9, 20, 9, 15).into_iter().collect();
        assert_eq!(pick(&hall, &taken, &query(2)), Some(places(9, 20, 4, 5)));
    }

    #[test]
    fn hall_300_wheelchair_places_only_for_who_asks() {
        let hall = hall_300();
        let none = BTreeSet::new();
        let wheelchair = SeatQuery {
            wheelchair: true,
            ..query(2)
        };
        assert_eq!(pick(&hall, &none, &wheelchair), Some(vec![1, 2]));
        let taken: BTreeSet<i32> = [1].into();
        assert_eq!(pick(&hall, &taken, &wheelchair), Some(vec![19, 20]));
        let three = SeatQuery {
            wheelchair: true,
            ..query(3)
        };
        assert_eq!(pick(&hall, &none, &three), None);
        // Nobody else gets a wheelchair place: row A's pick skips places 1-2 and 19-20.
        let full_but_a: BTreeSet<i32> = (21..=300).collect();
        let picked = pick(&hall, &full_but_a, &query(3)).unwrap();
        assert_eq!(picked, places(0, 20, 9, 11));
        let four_at_the_ends = pick(&hall, &full_but_a, &query(3));
        assert!(four_at_the_ends
            .unwrap()
            .iter()
            .all(|s| ![1, 2, 19, 20].contains(s)));
    }

    #[test]
    fn hall_300_category_limits_the_rows() {
        let hall = hall_300();
        let premium = SeatQuery {
            category: Some(Category::parse("premium").unwrap()),
            ..query(2)
        };
        assert_eq!(
            pick(&hall, &BTreeSet::new(), &premium),
            Some(places(11, 20, 10, 11))
        );
        let vip = SeatQuery {
            category: Some(Category::parse("vip").unwrap()),
            ..query(2)
        };
        assert_eq!(pick(&hall, &BTreeSet::new(), &vip), None);
    }

    #[test]
    fn hall_1000_picks_row_q_and_then_the_nearer_rows_by_seat_number() {
        let hall = hall_1000();
        let none = BTreeSet::new();
        assert_eq!(pick(&hall, &none, &query(4)), Some(places(16, 40, 19, 22)));
        // Row Q full: rows P and R are equally near; P has the lower seat numbers.
        let q_full: BTreeSet<i32> = places(16, 40, 1, 40).into_iter().collect();
        assert_eq!(
            pick(&hall, &q_full, &query(4)),
            Some(places(15, 40, 19, 22))
        );
        // Blocked seats are never free.
        let blocked_middle = Layout::parse(
            &labels(1)
                .iter()
                .map(|l| RowInput {
                    blocked: vec![4, 5],
                    ..row(l, 8)
                })
                .collect::<Vec<_>>(),
        )
        .unwrap();
        // Free: 1-3 and 6-8. Every pair strands a seat against the blocked ones or an
        // end; 2-3 and 6-7 tie on the middle; the lower seat numbers win.
        assert_eq!(pick(&blocked_middle, &none, &query(2)), Some(vec![2, 3]));
        assert_eq!(pick(&blocked_middle, &none, &query(3)), Some(vec![1, 2, 3]));
        assert_eq!(pick(&blocked_middle, &none, &query(4)), None);
    }

    #[test]
    fn the_same_state_gives_the_same_choice() {
        let hall = hall_1000();
        let taken: BTreeSet<i32> = (1..=1000).filter(|n| n % 7 == 0).collect();
        let first = pick(&hall, &taken, &query(3));
        for _ in 0..10 {
            assert_eq!(pick(&hall, &taken, &query(3)), first);
        }
    }

    #[test]
    fn seat_query_is_validated() {
        assert!(SeatQuery::parse(None, None, None).is_err());
        assert!(SeatQuery::parse(Some(0), None, None).is_err());
        assert!(SeatQuery::parse(Some(11), None, None).is_err());
        let err = SeatQuery::parse(Some(2), Some("Bad Name"), None).unwrap_err();
        assert!(err.0.contains_key("category"));
        let ok = SeatQuery::parse(Some(2), Some("premium"), Some(true)).unwrap();
        assert_eq!((ok.count, ok.wheelchair), (2, true));
    }

    #[test]
    fn a_category_the_layout_lacks_is_a_bad_query() {
        let premium = SeatQuery::parse(Some(2), Some("premium"), None).unwrap();
        assert_eq!(premium.check_against(&hall_300()), Ok(()));
        let err = premium.check_against(&small_hall()).unwrap_err();
        assert!(err.0.contains_key("category"));
        assert_eq!(query(2).check_against(&small_hall()), Ok(()));
    }
}
