//! A screen's seat layout: rows of seats with labels, types, price categories and aisles,
//! built only by parsing the compact form the contract defines. Seat numbers (the
//! integers every booking route uses) run from 1 in row order, left to right; everything
//! else about a seat (row, label, type, category) is derived from the layout.

use std::collections::BTreeSet;
use std::fmt;

use crate::shared::ValidationErrors;

/// A price category: 1 to 30 characters of `[a-z0-9_-]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Category(String);

impl Category {
    pub const MAX_LEN: usize = 30;
    /// The category of every seat of a show without a layout.
    pub const STANDARD: &'static str = "standard";

    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() || raw.len() > Self::MAX_LEN {
            return Err(format!("must be 1 to {} characters", Self::MAX_LEN));
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        {
            return Err("may contain only a-z, 0-9, _ and -".into());
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn standard() -> Self {
        Self(Self::STANDARD.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a seat is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeatType {
    Standard,
    /// A place for a wheelchair: the best-available choice offers it only to who asks
    /// for one (and never offers anything else to them).
    Wheelchair,
    /// Never bookable: a broken seat, a camera position.
    Blocked,
}

impl SeatType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::Wheelchair => "wheelchair",
            Self::Blocked => "blocked",
        }
    }
}

/// One row as the contract's compact form writes it, unvalidated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowInput {
    pub label: Option<String>,
    pub count: Option<i64>,
    pub category: Option<String>,
    pub aisles_after: Vec<i64>,
    pub wheelchair: Vec<i64>,
    pub blocked: Vec<i64>,
}

/// One row of a valid layout. Places count from 1 within the row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    label: String,
    /// The seat number of place 1.
    first_seat: i32,
    count: i32,
    category: Category,
    aisles_after: BTreeSet<i32>,
    wheelchair: BTreeSet<i32>,
    blocked: BTreeSet<i32>,
}

impl Row {
    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn count(&self) -> i32 {
        self.count
    }

    pub fn first_seat(&self) -> i32 {
        self.first_seat
    }

    pub fn category(&self) -> &Category {
        &self.category
    }

    /// Places after which an aisle runs, ascending.
    pub fn aisles_after(&self) -> impl Iterator<Item = i32> + '_ {
        self.aisles_after.iter().copied()
    }

    pub fn seat_type(&self, place: i32) -> SeatType {
        if self.blocked.contains(&place) {
            SeatType::Blocked
        } else if self.wheelchair.contains(&place) {
            SeatType::Wheelchair
        } else {
            SeatType::Standard
        }
    }

    /// Is there an aisle between `place` and `place + 1`?
    pub fn aisle_after(&self, place: i32) -> bool {
        self.aisles_after.contains(&place)
    }

    /// The row in the compact form.
    pub fn to_input(&self) -> RowInput {
        let places = |set: &BTreeSet<i32>| set.iter().map(|&p| i64::from(p)).collect();
        RowInput {
            label: Some(self.label.clone()),
            count: Some(i64::from(self.count)),
            category: Some(self.category.as_str().to_owned()),
            aisles_after: places(&self.aisles_after),
            wheelchair: places(&self.wheelchair),
            blocked: places(&self.blocked),
        }
    }
}

/// Everything a seat is, derived from the layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatInfo<'a> {
    pub seat_number: i32,
    pub row: &'a str,
    pub place: i32,
    pub seat_type: SeatType,
    pub category: &'a Category,
}

impl SeatInfo<'_> {
    /// `"B7"`: the row label and the place in the row.
    pub fn label(&self) -> String {
        SeatLabel::new(self.row, self.place).to_string()
    }
}

/// The one spelling of a seat's label: its row's label, then its place in the row
/// (`"B7"`; `"7"` in a flat show's row `""`). Written out without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatLabel<'a> {
    row: &'a str,
    place: i32,
}

impl<'a> SeatLabel<'a> {
    pub fn new(row: &'a str, place: i32) -> Self {
        Self { row, place }
    }
}

impl fmt::Display for SeatLabel<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.row, self.place)
    }
}

/// A valid seat layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    rows: Vec<Row>,
    capacity: i32,
}

impl Layout {
    pub const MAX_ROWS: usize = 100;
    pub const MAX_ROW_SEATS: i64 = 100;
    pub const MAX_CAPACITY: i32 = 10_000;
    pub const MAX_ROW_LABEL: usize = 3;

    /// Parses the compact form, collecting every problem under `rows[i].<field>`.
    pub fn parse(rows: &[RowInput]) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        if rows.is_empty() || rows.len() > Self::MAX_ROWS {
            errors.add("rows", format!("must have 1 to {} rows", Self::MAX_ROWS));
            return Err(errors);
        }
        let mut labels = BTreeSet::new();
        let mut parsed = Vec::with_capacity(rows.len());
        let mut next_seat: i64 = 1;
        for (i, input) in rows.iter().enumerate() {
            let field = |name: &str| format!("rows[{i}].{name}");
            let label = match input.label.as_deref() {
                None => {
                    errors.add(&field("label"), "this field is required");
                    None
                }
                Some(label) => match parse_row_label(label) {
                    Err(problem) => {
                        errors.add(&field("label"), problem);
                        None
                    }
                    Ok(label) if !labels.insert(label.to_ascii_uppercase()) => {
                        errors.add(&field("label"), "row labels must be unique");
                        None
                    }
                    Ok(label) => Some(label),
                },
            };
            let count = errors.required(
                &field("count"),
                input.count.map(|n| {
                    if (1..=Self::MAX_ROW_SEATS).contains(&n) {
                        Ok(n as i32)
                    } else {
                        Err(format!("must be between 1 and {}", Self::MAX_ROW_SEATS))
                    }
                }),
            );
            let category = match input.category.as_deref() {
                None => Some(Category::standard()),
                Some(raw) => errors.take(&field("category"), Category::parse(raw)),
            };
            let Some(count) = count else { continue };
            // An aisle after the last place would lead nowhere.
            let aisles = places(
                &mut errors,
                &field("aisles_after"),
                &input.aisles_after,
                count - 1,
            );
            let wheelchair = places(&mut errors, &field("wheelchair"), &input.wheelchair, count);
            let blocked = places(&mut errors, &field("blocked"), &input.blocked, count);
            if let (Some(wheelchair), Some(blocked)) = (&wheelchair, &blocked) {
                if !wheelchair.is_disjoint(blocked) {
                    errors.add(
                        &field("blocked"),
                        "a place cannot be both a wheelchair place and blocked",
                    );
                }
            }
            let first_seat = next_seat;
            next_seat += i64::from(count);
            if let (Some(label), Some(category), Some(aisles), Some(wheelchair), Some(blocked)) =
                (label, category, aisles, wheelchair, blocked)
            {
                parsed.push(Row {
                    label,
                    first_seat: first_seat.min(i64::from(i32::MAX)) as i32,
                    count,
                    category,
                    aisles_after: aisles,
                    wheelchair,
                    blocked,
                });
            }
        }
        let capacity = next_seat - 1;
        if capacity > i64::from(Self::MAX_CAPACITY) {
            errors.add(
                "rows",
                format!(
                    "at most {} seats in all (got {capacity})",
                    Self::MAX_CAPACITY
                ),
            );
        }
        errors.into_result()?;
        Ok(Self {
            rows: parsed,
            capacity: capacity as i32,
        })
    }

    /// The layout of a show without one: a single row `""` of `total` standard seats
    /// labelled `"1"`..`"N"`.
    pub fn flat(total: i32) -> Self {
        let total = total.clamp(1, Self::MAX_CAPACITY);
        Self {
            rows: vec![Row {
                label: String::new(),
                first_seat: 1,
                count: total,
                category: Category::standard(),
                aisles_after: BTreeSet::new(),
                wheelchair: BTreeSet::new(),
                blocked: BTreeSet::new(),
            }],
            capacity: total,
        }
    }

    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// Every seat, blocked ones included.
    pub fn capacity(&self) -> i32 {
        self.capacity
    }

    /// The distinct categories of the layout, in name order.
    pub fn categories(&self) -> BTreeSet<&Category> {
        self.rows.iter().map(|r| &r.category).collect()
    }

    /// The row a seat number falls in, and its place in that row.
    fn locate(&self, seat_number: i32) -> Option<(&Row, i32)> {
        if seat_number < 1 || seat_number > self.capacity {
            return None;
        }
        // Rows are in seat order: the last row starting at or before the seat holds it.
        let index = self
            .rows
            .partition_point(|r| r.first_seat <= seat_number)
            .checked_sub(1)?;
        let row = &self.rows[index];
        Some((row, seat_number - row.first_seat + 1))
    }

    pub fn seat(&self, seat_number: i32) -> Option<SeatInfo<'_>> {
        let (row, place) = self.locate(seat_number)?;
        Some(SeatInfo {
            seat_number,
            row: &row.label,
            place,
            seat_type: row.seat_type(place),
            category: &row.category,
        })
    }

    /// Every seat in seat-number order.
    pub fn seats(&self) -> impl Iterator<Item = SeatInfo<'_>> + '_ {
        self.rows.iter().flat_map(|row| {
            (1..=row.count).map(move |place| SeatInfo {
                seat_number: row.first_seat + place - 1,
                row: &row.label,
                place,
                seat_type: row.seat_type(place),
                category: &row.category,
            })
        })
    }

    /// The blocked seat numbers, ascending.
    pub fn blocked_seats(&self) -> Vec<i32> {
        self.rows
            .iter()
            .flat_map(|row| row.blocked.iter().map(move |p| row.first_seat + p - 1))
            .collect()
    }

    /// The layout in the compact form.
    pub fn to_input(&self) -> Vec<RowInput> {
        self.rows.iter().map(Row::to_input).collect()
    }
}

fn parse_row_label(raw: &str) -> Result<String, String> {
    let ok = !raw.is_empty()
        && raw.len() <= Layout::MAX_ROW_LABEL
        && raw.bytes().all(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(format!(
            "must be 1 to {} letters or digits",
            Layout::MAX_ROW_LABEL
        ))
    }
}

/// Places within a row (1 to `max`), distinct; records the problem under `field`.
fn places(
    errors: &mut ValidationErrors,
    field: &str,
    raw: &[i64],
    max: i32,
) -> Option<BTreeSet<i32>> {
    let mut set = BTreeSet::new();
    for &place in raw {
        if place < 1 || place > i64::from(max) {
            errors.add(
                field,
                if max < 1 {
                    format!("place {place} does not exist (this row has no place for it)")
                } else {
                    format!("place {place} is outside 1 to {max}")
                },
            );
            return None;
        }
        if !set.insert(place as i32) {
            errors.add(field, format!("place {place} appears twice"));
            return None;
        }
    }
    Some(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(label: &str, count: i64) -> RowInput {
        RowInput {
            label: Some(label.into()),
            count: Some(count),
            category: Some("standard".into()),
            ..Default::default()
        }
    }

    fn fields(result: Result<Layout, ValidationErrors>) -> Vec<String> {
        result.unwrap_err().0.into_keys().collect()
    }

    #[test]
    fn the_contract_example_numbers_seats_in_row_order() {
        let layout = Layout::parse(&[
            RowInput {
                aisles_after: vec![5],
                wheelchair: vec![1, 2],
                ..row("A", 10)
            },
            RowInput {
                aisles_after: vec![6],
                blocked: vec![12],
                ..row("B", 12)
            },
            RowInput {
                category: Some("premium".into()),
                ..row("J", 8)
            },
        ])
        .unwrap();
        assert_eq!(layout.capacity(), 30);
        let b1 = layout.seat(11).unwrap();
        assert_eq!(
            (b1.label(), b1.seat_type),
            ("B1".into(), SeatType::Standard)
        );
        assert_eq!(layout.seat(1).unwrap().seat_type, SeatType::Wheelchair);
        assert_eq!(layout.seat(22).unwrap().seat_type, SeatType::Blocked);
        assert_eq!(layout.seat(23).unwrap().label(), "J1");
        assert_eq!(layout.seat(23).unwrap().category.as_str(), "premium");
        assert_eq!(layout.seat(31), None);
        assert_eq!(layout.seat(0), None);
        assert_eq!(layout.blocked_seats(), vec![22]);
        assert_eq!(
            layout
                .categories()
                .into_iter()
                .map(Category::as_str)
                .collect::<Vec<_>>(),
            vec!["premium", "standard"]
        );
        assert!(layout.rows()[0].aisle_after(5));
        assert_eq!(layout.seats().count(), 30);
        assert_eq!(Layout::parse(&layout.to_input()).unwrap(), layout);
    }

    #[test]
    fn a_flat_layout_is_one_row_of_numbered_standard_seats() {
        let flat = Layout::flat(50);
        assert_eq!(flat.capacity(), 50);
        let seat = flat.seat(7).unwrap();
        assert_eq!(seat.label(), "7");
        assert_eq!(seat.row, "");
        assert_eq!(seat.category.as_str(), "standard");
        assert_eq!(seat.seat_type, SeatType::Standard);
    }

    #[test]
    fn rows_are_limited_in_number_and_size() {
        assert_eq!(fields(Layout::parse(&[])), vec!["rows"]);
        let many: Vec<RowInput> = (0..101).map(|i| row(&format!("R{i}"), 1)).collect();
        assert_eq!(fields(Layout::parse(&many)), vec!["rows"]);
        assert_eq!(fields(Layout::parse(&[row("A", 0)])), vec!["rows[0].count"]);
        assert_eq!(
            fields(Layout::parse(&[row("A", 101)])),
            vec!["rows[0].count"]
        );
        assert!(Layout::parse(&[row("A", 100)]).is_ok());
        let missing = RowInput {
            count: None,
            ..row("A", 1)
        };
        assert_eq!(fields(Layout::parse(&[missing])), vec!["rows[0].count"]);
    }

    #[test]
    fn capacity_is_at_most_ten_thousand() {
        let full: Vec<RowInput> = (0..100).map(|i| row(&format!("R{i}"), 100)).collect();
        assert_eq!(Layout::parse(&full).unwrap().capacity(), 10_000);
        let mut over = full;
        over[0] = row("X", 100);
        over.push(row("Y", 1));
        assert_eq!(fields(Layout::parse(&over)), vec!["rows"]);
    }

    #[test]
    fn row_labels_are_short_alphanumeric_and_unique() {
        for bad in ["", "ABCD", "A-1", "Ä"] {
            assert_eq!(
                fields(Layout::parse(&[row(bad, 5)])),
                vec!["rows[0].label"],
                "{bad:?}"
            );
        }
        assert_eq!(
            fields(Layout::parse(&[row("A", 5), row("a", 5)])),
            vec!["rows[1].label"]
        );
        assert!(Layout::parse(&[row("AA1", 5), row("7", 5)]).is_ok());
    }

    #[test]
    fn categories_are_lowercase_names() {
        for bad in ["", "Premium", "vip lounge", &"x".repeat(31)] {
            let input = RowInput {
                category: Some(bad.into()),
                ..row("A", 5)
            };
            assert_eq!(
                fields(Layout::parse(&[input])),
                vec!["rows[0].category"],
                "{bad:?}"
            );
        }
        let absent = RowInput {
            category: None,
            ..row("A", 5)
        };
        assert_eq!(
            Layout::parse(&[absent]).unwrap().rows()[0]
                .category()
                .as_str(),
            "standard"
        );
    }

    #[test]
    fn places_must_exist_in_their_row_and_not_repeat() {
        let cases = [
            (
                RowInput {
                    aisles_after: vec![5],
                    ..row("A", 5)
                },
                "rows[0].aisles_after",
            ),
            (
                RowInput {
                    aisles_after: vec![0],
                    ..row("A", 5)
                },
                "rows[0].aisles_after",
            ),
            (
                RowInput {
                    wheelchair: vec![6],
                    ..row("A", 5)
                },
                "rows[0].wheelchair",
            ),
            (
                RowInput {
                    blocked: vec![2, 2],
                    ..row("A", 5)
                },
                "rows[0].blocked",
            ),
            (
                RowInput {
                    wheelchair: vec![1],
                    blocked: vec![1],
                    ..row("A", 5)
                },
                "rows[0].blocked",
            ),
        ];
        for (input, field) in cases {
            assert_eq!(
                fields(Layout::parse(std::slice::from_ref(&input))),
                vec![field],
                "{input:?}"
            );
        }
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let bad = RowInput {
            label: Some("????".into()),
            count: Some(0),
            category: Some("X".into()),
            ..Default::default()
        };
        assert_eq!(
            fields(Layout::parse(&[row("A", 5), bad])),
            vec!["rows[1].category", "rows[1].count", "rows[1].label"]
        );
    }
}
