//! The domain's repositories on Diesel. Most queries are written once and expanded for
//! each backend by [`with_conn!`]; what must differ (row locks, the booking insert)
//! lives in [`BackendOps`], implemented once per backend.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::rules;
use domain::*;

use crate::models::*;
use crate::pool::{db_error, is_retryable, pool_error, Database, SqliteConn};
use crate::schema::{bookings, movies, shows, users};

/// Runs `$body` with a pooled connection of whichever backend is configured. The body
/// is expanded once per backend, so each expansion is type-checked against its own
/// connection type; `DB` names that backend inside the body.
macro_rules! with_conn {
    ($db:expr, |$conn:ident| $body:expr) => {
        match $db {
            Database::Postgres(pool) => {
                #[allow(dead_code)]
                type DB = diesel::pg::Pg;
                let mut pooled = pool.get().await.map_err(pool_error)?;
                let $conn: &mut AsyncPgConnection = &mut pooled;
                $body
            }
            Database::Sqlite { pool, .. } => {
                #[allow(dead_code)]
                type DB = diesel::sqlite::Sqlite;
                let mut pooled = pool.get().await.map_err(pool_error)?;
                let $conn: &mut SqliteConn = &mut pooled;
                $body
            }
        }
    };
}

/// Runs `$body` in a write transaction: a plain `BEGIN` on PostgreSQL, where the body
/// takes row locks, and `BEGIN IMMEDIATE` on SQLite, which takes the database's single
/// write lock up front (so a read-then-write transaction can never fail to upgrade).
macro_rules! write_tx {
    ($db:expr, |$conn:ident| $body:expr) => {
        match $db {
            Database::Postgres(pool) => {
                let mut pooled = pool.get().await.map_err(pool_error)?;
                pooled.transaction(async |$conn| $body).await
            }
            Database::Sqlite { pool, writer } => {
                let _turn = writer.lock().await;
                let mut pooled = pool.get().await.map_err(pool_error)?;
                pooled.immediate_transaction(async |$conn| $body).await
            }
        }
    };
}

/// What a [`ShowRow`] is read from: a show joined with its movie.
const SHOW_COLUMNS: (
    shows::id,
    shows::movie_id,
    movies::title,
    shows::screen_name,
    shows::start_time,
    shows::total_seats,
) = (
    shows::id,
    shows::movie_id,
    movies::title,
    shows::screen_name,
    shows::start_time,
    shows::total_seats,
);

/// The confirmed bookings of the show of the current row, as a correlated subquery.
fn confirmed_bookings_of_show() -> diesel::expression::SqlLiteral<BigInt> {
    diesel::dsl::sql::<BigInt>(
        "(SELECT count(*) FROM bookings WHERE bookings.show_id = shows.id AND bookings.status = 'CONFIRMED')",
    )
}

/// The error of a transaction body: a database failure, or a rule of the cinema that
/// refused the change (which rolls the transaction back).
enum TxError<E> {
    Db(DieselError),
    Rule(E),
}

impl<E> From<DieselError> for TxError<E> {
    fn from(error: DieselError) -> Self {
        Self::Db(error)
    }
}

impl<E: From<StoreError>> From<StoreError> for TxError<E> {
    fn from(error: StoreError) -> Self {
        Self::Rule(error.into())
    }
}

impl<E: From<StoreError>> TxError<E> {
    fn into_error(self) -> E {
        match self {
            Self::Db(error) => db_error(error).into(),
            Self::Rule(error) => error,
        }
    }
}

fn refuse<T, E>(error: E) -> Result<T, TxError<E>> {
    Err(TxError::Rule(error))
}

/// What a booking or a staff edit reads of a show before the row lock (if any) is added.
fn show_lock_row(
    id: i64,
) -> diesel::dsl::Select<
    diesel::dsl::Find<shows::table, i64>,
    (shows::id, shows::start_time, shows::total_seats),
> {
    shows::table
        .find(id)
        .select((shows::id, shows::start_time, shows::total_seats))
}

/// What differs between backends inside a write transaction.
#[async_trait]
trait BackendOps {
    /// The show, with a shared lock on PostgreSQL: bookings of one show don't wait
    /// for each other, but staff edits of the show wait for them.
    async fn show_for_share(&mut self, id: i64) -> QueryResult<Option<ShowLockRow>>;
    /// The show, locked against bookings and other edits.
    async fn show_for_update(&mut self, id: i64) -> QueryResult<Option<ShowLockRow>>;
    /// The ids of a movie's shows, locked in id order.
    async fn movie_shows_for_update(&mut self, movie: i64) -> QueryResult<Vec<i64>>;
    async fn booking_for_update(&mut self, id: i64) -> QueryResult<Option<BookingRow>>;
    /// Inserts the bookings whose seats are free and returns them; seats already held
    /// by a confirmed booking are skipped, never an error.
    async fn insert_free_seats(&mut self, rows: &[NewBookingRow]) -> QueryResult<Vec<BookingRow>>;
}

#[async_trait]
impl BackendOps for AsyncPgConnection {
    async fn show_for_share(&mut self, id: i64) -> QueryResult<Option<ShowLockRow>> {
        show_lock_row(id).for_share().first(self).await.optional()
    }

    async fn show_for_update(&mut self, id: i64) -> QueryResult<Option<ShowLockRow>> {
        show_lock_row(id).for_update().first(self).await.optional()
    }

    async fn movie_shows_for_update(&mut self, movie: i64) -> QueryResult<Vec<i64>> {
        shows::table
            .filter(shows::movie_id.eq(movie))
            .order(shows::id)
            .select(shows::id)
            .for_update()
            .load(self)
            .await
    }

    async fn booking_for_update(&mut self, id: i64) -> QueryResult<Option<BookingRow>> {
        bookings::table
            .find(id)
            .select(BookingRow::as_select())
            .for_update()
            .first(self)
            .await
            .optional()
    }

    async fn insert_free_seats(&mut self, rows: &[NewBookingRow]) -> QueryResult<Vec<BookingRow>> {
        let Some(first) = rows.first() else {
            return Ok(Vec::new());
        };
        InsertFreeSeats {
            user_id: first.user_id,
            show_id: first.show_id,
            seats: rows.iter().map(|r| r.seat_number).collect(),
            booking_time: first.booking_time,
        }
        .get_results(self)
        .await
    }
}

/// The booking insert on PostgreSQL, one statement for any number of seats:
///
/// ```sql
/// INSERT INTO bookings (user_id, show_id, seat_number, status, booking_time)
/// SELECT $1, $2, seat, 'CONFIRMED', $3 FROM unnest($4) WITH ORDINALITY AS t(seat, n) ORDER BY n
/// ON CONFLICT (show_id, seat_number) WHERE status = 'CONFIRMED' DO NOTHING RETURNING ...
/// ```
///
/// - The seats arrive in ascending order and are inserted in that order, so the partial
///   unique index's entries (the per-seat locks) are always taken in one order: two
///   multi-seat requests cannot deadlock. A seat being booked by a transaction still in
///   flight makes the insert wait for its outcome; if that commits, the seat is skipped
///   here and reported as taken.
/// - Its text never changes, so Diesel prepares it once per connection (the builder's
///   upsert is parsed and planned on every booking).
/// - `'CONFIRMED'` is a literal, not a parameter: once PostgreSQL switches a prepared
///   statement to a generic plan, `status = $n` no longer proves the partial index's
///   predicate and the conflict target stops matching the index.
struct InsertFreeSeats {
    user_id: i64,
    show_id: i64,
    seats: Vec<i32>,
    booking_time: chrono::NaiveDateTime,
}

impl diesel::query_builder::QueryId for InsertFreeSeats {
    type QueryId = Self;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for InsertFreeSeats {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        use diesel::sql_types::{Array, BigInt, Integer, Timestamp};
        out.push_sql(
            "INSERT INTO bookings (user_id, show_id, seat_number, status, booking_time) SELECT ",
        );
        out.push_bind_param::<BigInt, _>(&self.user_id)?;
        out.push_sql(", ");
        out.push_bind_param::<BigInt, _>(&self.show_id)?;
        out.push_sql(", seat, 'CONFIRMED', ");
        out.push_bind_param::<Timestamp, _>(&self.booking_time)?;
        out.push_sql(" FROM unnest(");
        out.push_bind_param::<Array<Integer>, _>(&self.seats)?;
        out.push_sql(
            ") WITH ORDINALITY AS t(seat, n) ORDER BY n \
             ON CONFLICT (show_id, seat_number) WHERE status = 'CONFIRMED' DO NOTHING \
             RETURNING id, user_id, show_id, seat_number, status, booking_time, cancelled_at",
        );
        Ok(())
    }
}

impl diesel::query_builder::Query for InsertFreeSeats {
    type SqlType = (
        diesel::sql_types::BigInt,
        diesel::sql_types::BigInt,
        diesel::sql_types::BigInt,
        diesel::sql_types::Integer,
        diesel::sql_types::Text,
        diesel::sql_types::Timestamp,
        diesel::sql_types::Nullable<diesel::sql_types::Timestamp>,
    );
}

/// On SQLite every write transaction is `BEGIN IMMEDIATE`: it holds the database's one
/// write lock, so plain reads are as good as locking ones.
#[async_trait]
impl BackendOps for SqliteConn {
    async fn show_for_share(&mut self, id: i64) -> QueryResult<Option<ShowLockRow>> {
        self.show_for_update(id).await
    }

    async fn show_for_update(&mut self, id: i64) -> QueryResult<Option<ShowLockRow>> {
        show_lock_row(id).first(self).await.optional()
    }

    async fn movie_shows_for_update(&mut self, movie: i64) -> QueryResult<Vec<i64>> {
        shows::table
            .filter(shows::movie_id.eq(movie))
            .order(shows::id)
            .select(shows::id)
            .load(self)
            .await
    }

    async fn booking_for_update(&mut self, id: i64) -> QueryResult<Option<BookingRow>> {
        bookings::table
            .find(id)
            .select(BookingRow::as_select())
            .first(self)
            .await
            .optional()
    }

    async fn insert_free_seats(&mut self, rows: &[NewBookingRow]) -> QueryResult<Vec<BookingRow>> {
        let Some(first) = rows.first() else {
            return Ok(Vec::new());
        };
        let wanted: Vec<i32> = rows.iter().map(|r| r.seat_number).collect();
        let taken: Vec<i32> = bookings::table
            .filter(bookings::show_id.eq(first.show_id))
            .filter(bookings::seat_number.eq_any(&wanted))
            .filter(bookings::status.eq(CONFIRMED))
            .select(bookings::seat_number)
            .load(self)
            .await?;
        let free: Vec<&NewBookingRow> = rows
            .iter()
            .filter(|r| !taken.contains(&r.seat_number))
            .collect();
        let mut inserted = Vec::with_capacity(free.len());
        for row in free {
            inserted.push(
                diesel::insert_into(bookings::table)
                    .values(row)
                    .returning(BookingRow::as_returning())
                    .get_result(self)
                    .await?,
            );
        }
        Ok(inserted)
    }
}

/// The storage adapter: every repository port over one [`Database`].
#[derive(Clone)]
pub struct DieselStore {
    db: Database,
}

/// How many times a booking is retried after a serialization failure or deadlock.
const BOOKING_ATTEMPTS: usize = 3;

impl DieselStore {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Shows with their movie titles and available seats, in start-time order.
    async fn shows_where(
        &self,
        filter: &ShowFilter,
        page: Option<Page>,
    ) -> Result<Listing<Show>, StoreError> {
        with_conn!(&self.db, |conn| {
            macro_rules! filtered {
                () => {{
                    let mut query = shows::table.inner_join(movies::table).into_boxed::<DB>();
                    if let Some(movie) = filter.movie {
                        query = query.filter(shows::movie_id.eq(movie.0));
                    }
                    if let Some(date) = filter.date {
                        let day = date.and_hms_opt(0, 0, 0).unwrap_or_default();
                        query = query.filter(shows::start_time.ge(day));
                        // Checked: the last day chrono knows has no next day.
                        if let Some(next) = day.checked_add_signed(chrono::Duration::days(1)) {
                            query = query.filter(shows::start_time.lt(next));
                        }
                    }
                    if let Some(after) = filter.starts_after {
                        query = query.filter(shows::start_time.gt(to_naive(after)));
                    }
                    query
                }};
            }
            // One query for the page, its shows' confirmed bookings and the total: a
            // correlated count per listed show, and the total as a window over the
            // filtered rows (computed before LIMIT/OFFSET).
            let mut query = filtered!()
                .order((shows::start_time.asc(), shows::id.asc()))
                .select((
                    SHOW_COLUMNS,
                    confirmed_bookings_of_show(),
                    diesel::dsl::sql::<BigInt>("count(*) OVER ()"),
                ));
            if let Some(page) = page {
                query = query.limit(page.limit).offset(page.offset);
            }
            let rows: Vec<(ShowRow, i64, i64)> = query.load(conn).await.map_err(db_error)?;
            let total = match (<[_]>::first(&rows), page) {
                (Some((_, _, total)), _) => *total,
                (None, Some(page)) if page.offset > 0 => {
                    // Past the last page the window has no row to ride on.
                    filtered!()
                        .count()
                        .get_result::<i64>(conn)
                        .await
                        .map_err(db_error)?
                }
                (None, _) => 0,
            };
            let items = rows
                .into_iter()
                .map(|(row, booked, _)| row.into_show(booked))
                .collect();
            Ok(Listing { items, total })
        })
    }

    async fn show_by_id(&self, id: ShowId) -> Result<Option<Show>, StoreError> {
        with_conn!(&self.db, |conn| {
            let row: Option<(ShowRow, i64)> = shows::table
                .inner_join(movies::table)
                .filter(shows::id.eq(id.0))
                .select((SHOW_COLUMNS, confirmed_bookings_of_show()))
                .first(conn)
                .await
                .optional()
                .map_err(db_error)?;
            Ok(row.map(|(row, booked)| row.into_show(booked)))
        })
    }

    async fn book_once(
        &self,
        show: ShowId,
        user: &AuthUser,
        seats: &SeatSelection,
        now: DateTime<Utc>,
    ) -> Result<Vec<BookingRow>, TxError<BookError>> {
        let rows: Vec<NewBookingRow> = seats
            .numbers()
            .into_iter()
            .map(|seat_number| NewBookingRow {
                user_id: user.id.0,
                show_id: show.0,
                seat_number,
                status: CONFIRMED,
                booking_time: to_naive(now),
            })
            .collect();
        let rows = &rows;
        let result: Result<Vec<BookingRow>, TxError<BookError>> = write_tx!(&self.db, |conn| {
            let Some(locked) = conn.show_for_share(show.0).await? else {
                return refuse(BookError::ShowNotFound);
            };
            rules::check_booking(&snapshot(locked), seats, now).map_err(TxError::Rule)?;
            let inserted = conn.insert_free_seats(rows).await?;
            if inserted.len() < rows.len() {
                let got: Vec<i32> = inserted.iter().map(|b| b.seat_number).collect();
                let taken = seats
                    .numbers()
                    .into_iter()
                    .filter(|n| !got.contains(n))
                    .collect();
                // Returning an error rolls back the seats that were free: all or none.
                return refuse(BookError::SeatTaken { seats: taken });
            }
            Ok(inserted)
        });
        result
    }
}

fn unique_violation(error: &DieselError) -> bool {
    matches!(
        error,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}

fn foreign_key_violation(error: &DieselError) -> bool {
    matches!(
        error,
        DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)
    )
}

#[async_trait]
impl UserRepository for DieselStore {
    async fn create_user(&self, user: NewUser) -> Result<User, CreateUserError> {
        let row = NewUserRow {
            username_key: user.username.key(),
            username: user.username.as_str().to_owned(),
            email: user.email.map(|e| e.as_str().to_owned()),
            password_hash: user.password_hash.0,
            is_staff: user.is_staff,
            created_at: to_naive(Utc::now()),
        };
        with_conn!(&self.db, |conn| {
            diesel::insert_into(users::table)
                .values(&row)
                .returning(UserRow::as_returning())
                .get_result(conn)
                .await
                .map(User::from)
                .map_err(|e| {
                    if unique_violation(&e) {
                        CreateUserError::UsernameTaken
                    } else {
                        db_error(e).into()
                    }
                })
        })
    }

    async fn find_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        let key = username.to_lowercase();
        with_conn!(&self.db, |conn| {
            users::table
                .filter(users::username_key.eq(&key))
                .select(UserRow::as_select())
                .first(conn)
                .await
                .optional()
                .map(|row| row.map(User::from))
                .map_err(db_error)
        })
    }

    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        with_conn!(&self.db, |conn| {
            users::table
                .find(id.0)
                .select(UserRow::as_select())
                .first(conn)
                .await
                .optional()
                .map(|row| row.map(User::from))
                .map_err(db_error)
        })
    }
}

#[async_trait]
impl CatalogRepository for DieselStore {
    async fn list_movies(&self, page: Page) -> Result<Listing<Movie>, StoreError> {
        with_conn!(&self.db, |conn| {
            let total: i64 = movies::table
                .count()
                .get_result(conn)
                .await
                .map_err(db_error)?;
            let rows: Vec<MovieRow> = movies::table
                .order((movies::title.asc(), movies::id.asc()))
                .limit(page.limit)
                .offset(page.offset)
                .select(MovieRow::as_select())
                .load(conn)
                .await
                .map_err(db_error)?;
            Ok(Listing {
                items: rows.into_iter().map(Movie::from).collect(),
                total,
            })
        })
    }

    async fn get_movie(&self, id: MovieId) -> Result<Option<Movie>, StoreError> {
        with_conn!(&self.db, |conn| {
            movies::table
                .find(id.0)
                .select(MovieRow::as_select())
                .first(conn)
                .await
                .optional()
                .map(|row| row.map(Movie::from))
                .map_err(db_error)
        })
    }

    async fn create_movie(&self, movie: NewMovie) -> Result<Movie, StoreError> {
        let row = NewMovieRow {
            title: movie.title,
            description: movie.description,
            duration_minutes: movie.duration_minutes,
        };
        with_conn!(&self.db, |conn| {
            diesel::insert_into(movies::table)
                .values(&row)
                .returning(MovieRow::as_returning())
                .get_result(conn)
                .await
                .map(Movie::from)
                .map_err(db_error)
        })
    }

    async fn update_movie(
        &self,
        id: MovieId,
        patch: MoviePatch,
    ) -> Result<Option<Movie>, StoreError> {
        let changes = MovieChanges {
            title: patch.title,
            description: patch.description,
            duration_minutes: patch.duration_minutes,
        };
        if changes.is_empty() {
            return self.get_movie(id).await;
        }
        with_conn!(&self.db, |conn| {
            diesel::update(movies::table.find(id.0))
                .set(&changes)
                .returning(MovieRow::as_returning())
                .get_result(conn)
                .await
                .optional()
                .map(|row| row.map(Movie::from))
                .map_err(db_error)
        })
    }

    async fn delete_movie(&self, id: MovieId) -> Result<(), DeleteError> {
        let result: Result<(), TxError<DeleteError>> = write_tx!(&self.db, |conn| {
            // Lock the movie's shows first: in-flight bookings of them finish, and new
            // ones wait, so the check below cannot miss a booking.
            let show_ids = conn.movie_shows_for_update(id.0).await?;
            let confirmed: i64 = bookings::table
                .filter(bookings::show_id.eq_any(&show_ids))
                .filter(bookings::status.eq(CONFIRMED))
                .count()
                .get_result(conn)
                .await?;
            if confirmed > 0 {
                return refuse(DeleteError::HasConfirmedBookings);
            }
            let deleted = diesel::delete(movies::table.find(id.0))
                .execute(conn)
                .await?;
            if deleted == 0 {
                return refuse(DeleteError::NotFound);
            }
            Ok(())
        });
        result.map_err(TxError::into_error)
    }

    async fn list_shows(
        &self,
        filter: ShowFilter,
        page: Page,
    ) -> Result<Listing<Show>, StoreError> {
        self.shows_where(&filter, Some(page)).await
    }

    async fn get_show(&self, id: ShowId) -> Result<Option<Show>, StoreError> {
        self.show_by_id(id).await
    }

    async fn create_show(&self, show: NewShow) -> Result<Show, SaveShowError> {
        let row = NewShowRow {
            movie_id: show.movie_id.0,
            screen_name: show.screen_name,
            start_time: to_naive(show.start_time),
            total_seats: show.total_seats,
        };
        let id: i64 = with_conn!(&self.db, |conn| {
            diesel::insert_into(shows::table)
                .values(&row)
                .returning(shows::id)
                .get_result(conn)
                .await
                .map_err(|e| {
                    if foreign_key_violation(&e) {
                        SaveShowError::MovieNotFound
                    } else {
                        db_error(e).into()
                    }
                })
        })?;
        self.show_by_id(ShowId(id))
            .await?
            .ok_or(SaveShowError::ShowNotFound)
    }

    async fn update_show(&self, id: ShowId, patch: ShowPatch) -> Result<Show, SaveShowError> {
        let changes = ShowChanges {
            movie_id: patch.movie_id.map(|m| m.0),
            screen_name: patch.screen_name,
            start_time: patch.start_time.map(to_naive),
            total_seats: patch.total_seats,
        };
        let changes = &changes;
        let result: Result<(), TxError<SaveShowError>> = write_tx!(&self.db, |conn| {
            // Exclusive lock: waits for in-flight bookings (they hold it shared), so the
            // highest booked seat read below is final until we commit.
            if conn.show_for_update(id.0).await?.is_none() {
                return refuse(SaveShowError::ShowNotFound);
            }
            if let Some(total) = changes.total_seats {
                let highest: Option<i32> = bookings::table
                    .filter(bookings::show_id.eq(id.0))
                    .filter(bookings::status.eq(CONFIRMED))
                    .select(diesel::dsl::max(bookings::seat_number))
                    .first(conn)
                    .await?;
                if let Some(highest_booked) = highest.filter(|&h| h > total) {
                    return refuse(SaveShowError::SeatBooked { highest_booked });
                }
            }
            if !changes.is_empty() {
                let updated = diesel::update(shows::table.find(id.0))
                    .set(changes)
                    .execute(conn)
                    .await;
                match updated {
                    Err(e) if foreign_key_violation(&e) => {
                        return refuse(SaveShowError::MovieNotFound)
                    }
                    other => other?,
                };
            }
            Ok(())
        });
        result.map_err(TxError::into_error)?;
        self.show_by_id(id)
            .await?
            .ok_or(SaveShowError::ShowNotFound)
    }

    async fn delete_show(&self, id: ShowId) -> Result<(), DeleteError> {
        let result: Result<(), TxError<DeleteError>> = write_tx!(&self.db, |conn| {
            if conn.show_for_update(id.0).await?.is_none() {
                return refuse(DeleteError::NotFound);
            }
            let confirmed: i64 = bookings::table
                .filter(bookings::show_id.eq(id.0))
                .filter(bookings::status.eq(CONFIRMED))
                .count()
                .get_result(conn)
                .await?;
            if confirmed > 0 {
                return refuse(DeleteError::HasConfirmedBookings);
            }
            diesel::delete(shows::table.find(id.0))
                .execute(conn)
                .await?;
            Ok(())
        });
        result.map_err(TxError::into_error)
    }

    async fn booked_seats(&self, id: ShowId) -> Result<Option<(Show, Vec<i32>)>, StoreError> {
        with_conn!(&self.db, |conn| {
            let row: Option<ShowRow> = shows::table
                .inner_join(movies::table)
                .filter(shows::id.eq(id.0))
                .select(SHOW_COLUMNS)
                .first(conn)
                .await
                .optional()
                .map_err(db_error)?;
            let Some(row) = row else { return Ok(None) };
            let seats: Vec<i32> = bookings::table
                .filter(bookings::show_id.eq(id.0))
                .filter(bookings::status.eq(CONFIRMED))
                .order(bookings::seat_number.asc())
                .select(bookings::seat_number)
                .load(conn)
                .await
                .map_err(db_error)?;
            // Counted from the same list, so the map and the count always agree.
            let show = row.into_show(seats.len() as i64);
            Ok(Some((show, seats)))
        })
    }
}

#[async_trait]
impl BookingRepository for DieselStore {
    async fn book_seats(
        &self,
        show: ShowId,
        user: &AuthUser,
        seats: &SeatSelection,
        now: DateTime<Utc>,
    ) -> Result<Vec<Booking>, BookError> {
        let mut attempt = 1;
        loop {
            match self.book_once(show, user, seats, now).await {
                Ok(rows) => {
                    return Ok(rows
                        .into_iter()
                        .map(|row| row.into_booking(user.username.clone()))
                        .collect())
                }
                Err(TxError::Db(e)) if is_retryable(&e) && attempt < BOOKING_ATTEMPTS => {
                    tracing::debug!(attempt, error = %e, "retrying booking transaction");
                    attempt += 1;
                }
                // The partial unique index is the last line of defence: if it fires,
                // someone else holds a seat.
                Err(TxError::Db(e)) if unique_violation(&e) => {
                    return Err(BookError::SeatTaken {
                        seats: seats.numbers(),
                    })
                }
                // The show is locked, so only the user can be missing: a valid token
                // of a deleted account.
                Err(TxError::Db(e)) if foreign_key_violation(&e) => {
                    return Err(BookError::UserNotFound)
                }
                Err(e) => return Err(e.into_error()),
            }
        }
    }

    async fn list_bookings(
        &self,
        user: &AuthUser,
        status: Option<BookingStatus>,
        page: Page,
    ) -> Result<Listing<Booking>, StoreError> {
        let status = status.map(BookingStatus::as_str);
        with_conn!(&self.db, |conn| {
            let mut count = bookings::table
                .filter(bookings::user_id.eq(user.id.0))
                .into_boxed::<DB>();
            let mut query = bookings::table
                .filter(bookings::user_id.eq(user.id.0))
                .into_boxed::<DB>();
            if let Some(status) = status {
                count = count.filter(bookings::status.eq(status));
                query = query.filter(bookings::status.eq(status));
            }
            let total: i64 = count.count().get_result(conn).await.map_err(db_error)?;
            let rows: Vec<BookingRow> = query
                .order((bookings::booking_time.desc(), bookings::id.desc()))
                .limit(page.limit)
                .offset(page.offset)
                .select(BookingRow::as_select())
                .load(conn)
                .await
                .map_err(db_error)?;
            Ok(Listing {
                items: rows
                    .into_iter()
                    .map(|row| row.into_booking(user.username.clone()))
                    .collect(),
                total,
            })
        })
    }

    async fn get_booking(&self, id: BookingId) -> Result<Option<Booking>, StoreError> {
        with_conn!(&self.db, |conn| {
            let row: Option<(BookingRow, String)> = bookings::table
                .inner_join(users::table)
                .filter(bookings::id.eq(id.0))
                .select((BookingRow::as_select(), users::username))
                .first(conn)
                .await
                .optional()
                .map_err(db_error)?;
            Ok(row.map(|(row, username)| row.into_booking(username)))
        })
    }

    async fn cancel_booking(
        &self,
        id: BookingId,
        user: &AuthUser,
        now: DateTime<Utc>,
    ) -> Result<Booking, CancelError> {
        let result: Result<BookingRow, TxError<CancelError>> = write_tx!(&self.db, |conn| {
            // Locked, so of two concurrent cancels the second sees the first's result.
            let Some(row) = conn.booking_for_update(id.0).await? else {
                return refuse(CancelError::NotFound);
            };
            let start = shows::table
                .find(row.show_id)
                .select(shows::start_time)
                .first(conn)
                .await?;
            let booking = row.into_booking(user.username.clone());
            rules::check_cancel(&booking, user.id, to_utc(start), now).map_err(TxError::Rule)?;
            let updated = diesel::update(bookings::table.find(id.0))
                .set((
                    bookings::status.eq(CANCELLED),
                    bookings::cancelled_at.eq(Some(to_naive(now))),
                ))
                .returning(BookingRow::as_returning())
                .get_result(conn)
                .await?;
            Ok(updated)
        });
        result
            .map(|row| row.into_booking(user.username.clone()))
            .map_err(TxError::into_error)
    }
}
