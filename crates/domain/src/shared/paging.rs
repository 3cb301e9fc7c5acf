//! Paging of lists: which page a request wants, and one page with the total.

use super::ValidationErrors;

/// `limit`/`offset` of a list: limit 1 to 500 (default 50), offset from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

impl Page {
    pub const DEFAULT_LIMIT: i64 = 50;
    pub const MAX_LIMIT: i64 = 500;

    pub fn new(limit: Option<i64>, offset: Option<i64>) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let page = Self::collect(&mut errors, limit, offset);
        errors.into_result().map(|()| page)
    }

    /// Records the paging problems into `errors`, beside the caller's other fields, and
    /// gives the page (meaningful only when nothing was recorded).
    pub fn collect(errors: &mut ValidationErrors, limit: Option<i64>, offset: Option<i64>) -> Self {
        let limit = limit.unwrap_or(Self::DEFAULT_LIMIT);
        if !(1..=Self::MAX_LIMIT).contains(&limit) {
            errors.add(
                "limit",
                format!("must be between 1 and {}", Self::MAX_LIMIT),
            );
        }
        let offset = offset.unwrap_or(0);
        if offset < 0 {
            errors.add("offset", "must not be negative");
        }
        Self { limit, offset }
    }
}

impl Default for Page {
    fn default() -> Self {
        Self {
            limit: Self::DEFAULT_LIMIT,
            offset: 0,
        }
    }
}

/// One page of a list and the total number of items across all pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub total: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_defaults_and_bounds() {
        assert_eq!(
            Page::new(None, None).unwrap(),
            Page {
                limit: 50,
                offset: 0
            }
        );
        assert!(Page::new(Some(0), None).is_err());
        assert!(Page::new(Some(501), None).is_err());
        assert!(Page::new(Some(500), Some(10)).is_ok());
        assert!(Page::new(None, Some(-1)).is_err());
    }

    #[test]
    fn paging_problems_join_the_callers_other_fields() {
        let mut errors = ValidationErrors::single("status", "bad");
        Page::collect(&mut errors, Some(0), Some(-1));
        assert_eq!(
            errors.0.keys().collect::<Vec<_>>(),
            vec!["limit", "offset", "status"]
        );
    }
}
