//! Idempotency keys: claiming a scope (insert a row in flight, or take over an expired or
//! abandoned one), keeping the answer, releasing a claim, and deleting expired rows.
//!
//! A row is keyed by the SHA-256 of its scope, so the primary key stays short whatever
//! the path; the scope's parts are stored beside it for people reading the table. The
//! claim token in the row says which request holds it: completing or releasing is
//! conditional on it, so a request whose claim was taken over changes nothing.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use domain::idempotency::rules::{self, Verdict};
use domain::*;
use sha2::{Digest, Sha256};

use super::DieselStore;
use crate::db::found;
use crate::rows::{to_naive, ClaimRow, IdempotencyRow};
use crate::schema::idempotency_keys;
use crate::sql::BackendOps;
use crate::tx::{write_tx, TxError};

/// Rows deleted per housekeeping transaction.
const PURGE_BATCH: i64 = 1000;

/// The primary key of a scope: its parts, each prefixed by its length, so that no two
/// scopes hash the same input.
pub(crate) fn scope_hash(scope: &IdempotencyScope) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(scope.user.0.to_be_bytes());
    for part in [&scope.method, &scope.path, scope.key.as_str()] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.finalize().to_vec()
}

/// What a use case answers when the key it was to store its answer under is no longer
/// its own (taken over after the in-flight timeout): its change rolls back, and the
/// client's retry finds out what the request that holds the key now did.
pub(crate) fn claim_lost() -> StoreError {
    StoreError::Unavailable("the Idempotency-Key is no longer held by this request".into())
}

#[async_trait]
impl IdempotencyStore for DieselStore {
    async fn begin(
        &self,
        claim: &IdempotencyClaim,
        fingerprint: &RequestFingerprint,
        now: DateTime<Utc>,
        policy: &IdempotencyPolicy,
    ) -> Result<Verdict, StoreError> {
        let hash = scope_hash(&claim.scope);
        let row = ClaimRow {
            scope_hash: &hash,
            user_id: claim.scope.user.0,
            method: &claim.scope.method,
            path: &claim.scope.path,
            idem_key: claim.scope.key.as_str(),
            fingerprint: &fingerprint.0,
            claim_token: &claim.token.0,
            created_at: to_naive(now),
            status: None,
            content_type: None,
            body: None,
        };
        let result: Result<Verdict, TxError<StoreError>> = write_tx!(&self.db, |conn| {
            // A unique conflict means another request holds or held the scope; on
            // PostgreSQL the insert first waits for that request's claim to commit.
            let inserted = diesel::insert_into(idempotency_keys::table)
                .values(&row)
                .on_conflict_do_nothing()
                .execute(conn)
                .await?;
            if inserted == 1 {
                return Ok(Verdict::Claim);
            }
            let held: Option<IdempotencyRow> = found(
                idempotency_keys::table
                    .find(&hash)
                    .select(IdempotencyRow::as_select())
                    .first(conn)
                    .await,
            )?;
            // Released or purged since the insert: the holder gave up, so a retry in a
            // moment will claim it.
            let Some(held) = held else {
                return Ok(Verdict::InFlight);
            };
            let held_by = held.claim_token.clone();
            let verdict = rules::decide(Some(held.try_into()?), fingerprint, now, policy);
            if verdict == Verdict::Claim {
                // Expired or abandoned: taken over only if still held by the same
                // claim, so of two retries taking it over at once only one runs.
                let taken = diesel::update(
                    idempotency_keys::table
                        .find(&hash)
                        .filter(idempotency_keys::claim_token.eq(&held_by)),
                )
                .set(&row)
                .execute(conn)
                .await?;
                if taken != 1 {
                    return Ok(Verdict::InFlight);
                }
            }
            Ok(verdict)
        });
        result.map_err(TxError::into_error)
    }

    async fn complete(
        &self,
        claim: &IdempotencyClaim,
        answer: &StoredAnswer,
    ) -> Result<bool, StoreError> {
        let result: Result<usize, TxError<StoreError>> = write_tx!(&self.db, |conn| {
            Ok(conn.store_answer(claim, answer).await?)
        });
        result
            .map(|written| written == 1)
            .map_err(TxError::into_error)
    }

    async fn release(&self, claim: &IdempotencyClaim) -> Result<(), StoreError> {
        let hash = scope_hash(&claim.scope);
        let result: Result<usize, TxError<StoreError>> = write_tx!(&self.db, |conn| {
            Ok(diesel::delete(
                idempotency_keys::table
                    .find(&hash)
                    .filter(idempotency_keys::claim_token.eq(&claim.token.0))
                    .filter(idempotency_keys::status.is_null()),
            )
            .execute(conn)
            .await?)
        });
        result.map(drop).map_err(TxError::into_error)
    }

    async fn purge_created_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let before = to_naive(before);
        let mut purged = 0;
        loop {
            let result: Result<usize, TxError<StoreError>> = write_tx!(&self.db, |conn| {
                Ok(conn
                    .delete_idempotency_keys_before(before, PURGE_BATCH)
                    .await?)
            });
            let deleted = result.map_err(TxError::into_error)?;
            purged += deleted as u64;
            if (deleted as i64) < PURGE_BATCH {
                return Ok(purged);
            }
        }
    }
}
