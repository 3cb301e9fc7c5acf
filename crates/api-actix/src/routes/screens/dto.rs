//! The JSON shapes of the screens routes, documented for OpenAPI: a layout in the
//! contract's compact form, both ways.

use domain::{RowInput, Screen, ScreenInput};
use paperclip::actix::Apiv2Schema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize, Apiv2Schema)]
#[openapi(
    example = r#"{"name": "Screen 1", "rows": [{"label": "A", "count": 10, "category": "standard", "aisles_after": [5], "wheelchair": [1, 2]}, {"label": "B", "count": 12, "category": "standard", "aisles_after": [6], "blocked": [12]}, {"label": "J", "count": 8, "category": "premium"}]}"#
)]
pub struct ScreenRequest {
    /// 1 to 100 characters.
    pub name: Option<String>,
    /// 1 to 100 rows, the first nearest the screen; at most 10,000 seats in all.
    pub rows: Option<Vec<RowRequest>>,
}

/// One row of a layout. Places count from 1 within the row.
#[derive(Debug, Default, Deserialize, Apiv2Schema)]
pub struct RowRequest {
    /// 1 to 3 letters or digits, unique within the screen.
    pub label: Option<String>,
    /// 1 to 100 seats.
    pub count: Option<i64>,
    /// 1 to 30 characters of `a-z`, `0-9`, `_`, `-`; default `standard`.
    pub category: Option<String>,
    /// Places followed by an aisle: the seats on either side are not adjacent.
    pub aisles_after: Option<Vec<i64>>,
    /// Wheelchair places.
    pub wheelchair: Option<Vec<i64>>,
    /// Places that are never bookable.
    pub blocked: Option<Vec<i64>>,
}

#[derive(Debug, Serialize, Apiv2Schema)]
pub struct RowResponse {
    pub label: String,
    pub count: i64,
    pub category: String,
    pub aisles_after: Vec<i64>,
    pub wheelchair: Vec<i64>,
    pub blocked: Vec<i64>,
}

/// A screen with its layout.
#[derive(Debug, Serialize, Apiv2Schema)]
pub struct ScreenResponse {
    pub id: i64,
    pub name: String,
    /// Every seat, blocked ones included.
    pub capacity: i32,
    pub rows: Vec<RowResponse>,
}

/// A screen in a list: its layout is in the one-screen form.
#[derive(Debug, Serialize, Apiv2Schema)]
pub struct ScreenSummaryResponse {
    pub id: i64,
    pub name: String,
    /// Every seat, blocked ones included.
    pub capacity: i32,
}

impl From<ScreenRequest> for ScreenInput {
    fn from(request: ScreenRequest) -> Self {
        Self {
            name: request.name,
            rows: request.rows.map(|rows| {
                rows.into_iter()
                    .map(|row| RowInput {
                        label: row.label,
                        count: row.count,
                        category: row.category,
                        aisles_after: row.aisles_after.unwrap_or_default(),
                        wheelchair: row.wheelchair.unwrap_or_default(),
                        blocked: row.blocked.unwrap_or_default(),
                    })
                    .collect()
            }),
        }
    }
}

impl From<Screen> for ScreenResponse {
    fn from(screen: Screen) -> Self {
        Self {
            id: screen.id.0,
            capacity: screen.layout.capacity(),
            rows: screen
                .layout
                .to_input()
                .into_iter()
                .map(|row| RowResponse {
                    label: row.label.unwrap_or_default(),
                    count: row.count.unwrap_or_default(),
                    category: row.category.unwrap_or_default(),
                    aisles_after: row.aisles_after,
                    wheelchair: row.wheelchair,
                    blocked: row.blocked,
                })
                .collect(),
            name: screen.name.into_string(),
        }
    }
}

impl From<Screen> for ScreenSummaryResponse {
    fn from(screen: Screen) -> Self {
        Self {
            id: screen.id.0,
            capacity: screen.layout.capacity(),
            name: screen.name.into_string(),
        }
    }
}
