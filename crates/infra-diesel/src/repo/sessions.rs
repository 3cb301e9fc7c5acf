//! Refresh-token records: a login's family starts with one row, each refresh retires the
//! presented row and adds the next under a row lock, and a logout or a detected reuse
//! revokes every row of the family.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use domain::accounts::rules;
use domain::*;

use super::DieselStore;
use crate::rows::{to_naive, RefreshTokenRow};
use crate::schema::refresh_tokens;
use crate::sql::BackendOps;
use crate::tx::{write_tx, TxError};

/// Revokes the rows of one user's family not revoked yet, so the first revocation's
/// time is kept. A macro, because its body is expanded once per backend's connection.
macro_rules! revoke_family_rows {
    ($conn:expr, $family:expr, $user:expr, $at:expr) => {
        diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::family.eq($family))
                .filter(refresh_tokens::user_id.eq($user))
                .filter(refresh_tokens::revoked_at.is_null()),
        )
        .set(refresh_tokens::revoked_at.eq(Some($at)))
        .execute($conn)
        .await
    };
}

#[async_trait]
impl SessionRepository for DieselStore {
    async fn start_family(
        &self,
        first: &RefreshRecord,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let row = RefreshTokenRow::from(first);
        let result: Result<(), TxError<StoreError>> = write_tx!(&self.db, |conn| {
            // Logins are frequent enough to keep the table to the tokens still alive.
            conn.delete_expired_refresh_tokens(to_naive(now)).await?;
            diesel::insert_into(refresh_tokens::table)
                .values(&row)
                .execute(conn)
                .await?;
            Ok(())
        });
        result.map_err(TxError::into_error)
    }

    async fn rotate(
        &self,
        presented: &RefreshClaims,
        next: &RefreshRecord,
        now: DateTime<Utc>,
    ) -> Result<(), RotateError> {
        let next = RefreshTokenRow::from(next);
        let at = to_naive(now);
        // The verdict is the body's `Ok` value, not a `TxError`: a reuse must commit the
        // family's revocation although the exchange itself is refused.
        let verdict: Result<Result<(), RefreshRefusal>, TxError<RotateError>> =
            write_tx!(&self.db, |conn| {
                let stored = conn
                    .refresh_token_for_update(&presented.jti.0)
                    .await?
                    .map(StoredRefresh::from);
                let verdict = rules::check_refresh(stored.as_ref(), presented, now);
                match verdict {
                    Ok(()) => {
                        // Under the row lock, so the condition holds; it still keeps a
                        // retired token from being retired twice should the lock go.
                        let retired = diesel::update(
                            refresh_tokens::table
                                .find(&presented.jti.0)
                                .filter(refresh_tokens::retired_at.is_null()),
                        )
                        .set(refresh_tokens::retired_at.eq(Some(at)))
                        .execute(conn)
                        .await?;
                        if retired != 1 {
                            revoke_family_rows!(
                                conn,
                                &presented.family.0,
                                presented.user.id.0,
                                at
                            )?;
                            return Ok(Err(RefreshRefusal::Reused));
                        }
                        diesel::insert_into(refresh_tokens::table)
                            .values(&next)
                            .execute(conn)
                            .await?;
                    }
                    Err(refusal) if refusal.revokes_family() => {
                        revoke_family_rows!(conn, &presented.family.0, presented.user.id.0, at)?;
                    }
                    Err(_) => {}
                }
                Ok(verdict)
            });
        verdict
            .map_err(TxError::into_error)?
            .map_err(RotateError::Refused)
    }

    async fn revoke_family(
        &self,
        family: &FamilyId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let at = to_naive(now);
        let result: Result<usize, TxError<StoreError>> = write_tx!(&self.db, |conn| {
            Ok(revoke_family_rows!(conn, &family.0, user.0, at)?)
        });
        result.map(drop).map_err(TxError::into_error)
    }
}
