//! The hold use cases: hold seats (named, or the best `count`), list and read one's
//! holds, extend, confirm and release one.

use std::sync::Arc;

use super::best_seats::SeatQuery;
use super::hold::{Hold, HoldPolicy, HoldStatus};
use super::model::{Booking, SeatSelection};
use super::ports::*;
use crate::accounts::AuthUser;
use crate::idempotency::IdempotentAnswer;
use crate::shared::{Clock, HoldId, Listing, Page, ShowId, ValidationErrors};

/// A hold request as submitted: `seat_numbers`, or `count` with an optional category and
/// wheelchair wish; never both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HoldInput {
    pub seat_numbers: Option<Vec<i64>>,
    pub count: Option<i64>,
    pub category: Option<String>,
    pub wheelchair: Option<bool>,
}

impl HoldInput {
    pub fn parse(&self) -> Result<HoldRequest, ValidationErrors> {
        match (&self.seat_numbers, self.count) {
            (Some(_), Some(_)) => Err(ValidationErrors::single(
                "seat_numbers",
                "give either seat_numbers or count, not both",
            )),
            (None, None) => Err(ValidationErrors::single(
                "seat_numbers",
                "this field is required (or count)",
            )),
            (Some(seats), None) => {
                let mut errors = ValidationErrors::default();
                if self.category.is_some() {
                    errors.add("category", "only with count");
                }
                if self.wheelchair.is_some() {
                    errors.add("wheelchair", "only with count");
                }
                let seats = SeatSelection::new(seats);
                if let Err(problem) = &seats {
                    errors.add("seat_numbers", problem.clone());
                }
                errors.into_result()?;
                seats
                    .map(HoldRequest::Seats)
                    .map_err(|problem| ValidationErrors::single("seat_numbers", problem))
            }
            (None, Some(count)) => {
                SeatQuery::parse(Some(count), self.category.as_deref(), self.wheelchair)
                    .map(HoldRequest::Best)
            }
        }
    }
}

#[derive(Clone)]
pub struct HoldService {
    holds: Arc<dyn HoldRepository>,
    clock: Arc<dyn Clock>,
    policy: HoldPolicy,
}

impl HoldService {
    pub fn new(holds: Arc<dyn HoldRepository>, clock: Arc<dyn Clock>, policy: HoldPolicy) -> Self {
        Self {
            holds,
            clock,
            policy,
        }
    }

    /// The clock's time: a hold's status is judged against it.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Holds the seats, all or none. Malformed requests are refused before any storage
    /// access; the rest of the rules are applied by the adapter under its locks.
    pub async fn hold(
        &self,
        caller: &AuthUser,
        show: i64,
        input: &HoldInput,
    ) -> Result<Hold, HoldSeatsError> {
        let request = input.parse().map_err(HoldSeatsError::Invalid)?;
        self.holds
            .hold_seats(
                ShowId(show),
                caller.id,
                &request,
                &self.policy,
                self.clock.now(),
            )
            .await
    }

    pub async fn list(
        &self,
        caller: &AuthUser,
        status: Option<&str>,
        limit: Option<i64>,
        offset: Option<i64>,
    ) -> Result<Listing<Hold>, HoldsError> {
        let mut errors = ValidationErrors::default();
        let page = Page::collect(&mut errors, limit, offset);
        let status = errors.optional("status", status.map(HoldStatus::parse));
        errors.into_result().map_err(HoldsError::Invalid)?;
        Ok(self
            .holds
            .list_holds(caller.id, status, page, self.clock.now())
            .await?)
    }

    /// One of the caller's holds; someone else's is reported as not found.
    pub async fn get(&self, caller: &AuthUser, id: i64) -> Result<Hold, HoldError> {
        match self.holds.get_hold(HoldId(id)).await? {
            Some(hold) if hold.user_id == caller.id => Ok(hold),
            _ => Err(HoldError::NotFound),
        }
    }

    pub async fn extend(&self, caller: &AuthUser, id: i64) -> Result<Hold, HoldError> {
        self.holds
            .extend_hold(HoldId(id), caller.id, &self.policy, self.clock.now())
            .await
    }

    pub async fn release(&self, caller: &AuthUser, id: i64) -> Result<Hold, HoldError> {
        self.holds
            .release_hold(HoldId(id), caller.id, self.clock.now())
            .await
    }

    /// With `answer`, the answer to a retry commits with the bookings.
    pub async fn confirm(
        &self,
        caller: &AuthUser,
        id: i64,
        answer: Option<&IdempotentAnswer<[Booking]>>,
    ) -> Result<Vec<Booking>, ConfirmError> {
        self.holds
            .confirm_hold(HoldId(id), caller, self.clock.now(), answer)
            .await
    }

    /// Housekeeping: marks holds past their expiry, at most `limit` of them.
    pub async fn expire(&self, limit: i64) -> Result<usize, crate::shared::StoreError> {
        self.holds.expire_holds(self.clock.now(), limit).await
    }
}
