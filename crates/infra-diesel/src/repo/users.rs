//! Users: stored under their username's case-insensitive key.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use domain::*;

use super::DieselStore;
use crate::db::{found, unique_violation};
use crate::rows::{NewUserRow, UserRow};
use crate::schema::users;
use crate::tx::{with_conn, write_tx, TxError};

#[async_trait]
impl UserRepository for DieselStore {
    async fn create_user(&self, user: NewUser) -> Result<User, CreateUserError> {
        let row = NewUserRow::from(user);
        // A write transaction, as every write: in SQLite's writer queue, and seen by
        // readiness if the disk refuses it.
        let created: Result<UserRow, TxError<CreateUserError>> = write_tx!(&self.db, |conn| {
            Ok(diesel::insert_into(users::table)
                .values(&row)
                .returning(UserRow::as_returning())
                .get_result(conn)
                .await?)
        });
        let created = created.map_err(|e| match e {
            TxError::Db(e) if unique_violation(&e) => CreateUserError::UsernameTaken,
            other => other.into_error(),
        })?;
        Ok(User::try_from(created)?)
    }

    async fn find_by_username(&self, username: &Username) -> Result<Option<User>, StoreError> {
        let key = username.key();
        let row: Option<UserRow> = with_conn!(&self.db, |conn| {
            found(
                users::table
                    .filter(users::username_key.eq(&key))
                    .select(UserRow::as_select())
                    .first(conn)
                    .await,
            )
        })?;
        row.map(User::try_from).transpose()
    }

    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> = with_conn!(&self.db, |conn| {
            found(
                users::table
                    .find(id.0)
                    .select(UserRow::as_select())
                    .first(conn)
                    .await,
            )
        })?;
        row.map(User::try_from).transpose()
    }
}
