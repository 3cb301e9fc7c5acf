//! What idempotent retries need from storage.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::model::*;
use super::rules::Verdict;
use crate::shared::StoreError;

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// In one transaction: reads what holds the claim's scope, applies
    /// [`super::rules::decide`] and, on [`Verdict::Claim`], records the claim in flight
    /// (inserting a row, or replacing the expired or abandoned one). Of any number of
    /// concurrent requests for one scope, one claims it and the others see its row.
    async fn begin(
        &self,
        claim: &IdempotencyClaim,
        fingerprint: &RequestFingerprint,
        now: DateTime<Utc>,
        policy: &IdempotencyPolicy,
    ) -> Result<Verdict, StoreError>;
    /// Keeps `answer` for the claim's scope, if the claim still holds it in flight;
    /// `false` when it does not (a use case already stored the answer with its change,
    /// or the claim was taken over).
    async fn complete(
        &self,
        claim: &IdempotencyClaim,
        answer: &StoredAnswer,
    ) -> Result<bool, StoreError>;
    /// Forgets the claim's row if it is still in flight: its request has no answer to
    /// keep, so a retry runs again.
    async fn release(&self, claim: &IdempotencyClaim) -> Result<(), StoreError>;
    /// Deletes the records created before `before`; returns how many went. Safe to run
    /// late, twice, or in several processes at once.
    async fn purge_created_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}
