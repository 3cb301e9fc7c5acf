//! The use cases of idempotent retries: begin a request with a key, finish it, and
//! forget expired keys.

use std::sync::Arc;

use super::model::*;
use super::ports::*;
use super::rules::{self, Verdict};
use crate::shared::{Clock, StoreError};

/// What a request with a key does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// It runs, holding this claim until [`IdempotencyService::finish`] or
    /// [`IdempotencyService::abandon`].
    Run(IdempotencyClaim),
    Replay(StoredAnswer),
    Reused,
    InFlight,
}

#[derive(Clone)]
pub struct IdempotencyService {
    store: Arc<dyn IdempotencyStore>,
    clock: Arc<dyn Clock>,
    policy: IdempotencyPolicy,
}

impl IdempotencyService {
    pub fn new(
        store: Arc<dyn IdempotencyStore>,
        clock: Arc<dyn Clock>,
        policy: IdempotencyPolicy,
    ) -> Self {
        Self {
            store,
            clock,
            policy,
        }
    }

    pub fn policy(&self) -> &IdempotencyPolicy {
        &self.policy
    }

    /// Claims `scope` for a new request (told apart from others by `token`), or says why
    /// it must not run.
    pub async fn begin(
        &self,
        scope: IdempotencyScope,
        fingerprint: &RequestFingerprint,
        token: ClaimToken,
    ) -> Result<Begin, StoreError> {
        let claim = IdempotencyClaim { scope, token };
        let verdict = self
            .store
            .begin(&claim, fingerprint, self.clock.now(), &self.policy)
            .await?;
        Ok(match verdict {
            Verdict::Claim => Begin::Run(claim),
            Verdict::Replay(answer) => Begin::Replay(answer),
            Verdict::Reused => Begin::Reused,
            Verdict::InFlight => Begin::InFlight,
        })
    }

    /// The claimed request answered: the answer is kept for retries, unless
    /// [`rules::is_kept`] says a retry should run again. An answer the use case already
    /// stored with its change is left as it is.
    pub async fn finish(
        &self,
        claim: &IdempotencyClaim,
        answer: &StoredAnswer,
    ) -> Result<(), StoreError> {
        if rules::is_kept(answer.status) {
            self.store.complete(claim, answer).await.map(drop)
        } else {
            self.store.release(claim).await
        }
    }

    /// The claimed request gave no answer (it failed before answering, or its client
    /// went): a retry runs again.
    pub async fn abandon(&self, claim: &IdempotencyClaim) -> Result<(), StoreError> {
        self.store.release(claim).await
    }

    /// Housekeeping: deletes the keys past retention. The rules never rely on it having
    /// run, since an expired key counts as absent.
    pub async fn purge_expired(&self) -> Result<u64, StoreError> {
        let before = rules::expired_before(self.clock.now(), &self.policy);
        self.store.purge_created_before(before).await
    }
}
