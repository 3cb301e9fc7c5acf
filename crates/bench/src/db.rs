//! The throw-away database of one backend, and the checks run against it after each
//! booking or checkout workload: the service's answers must match what it wrote.

use std::fmt;
use std::path::PathBuf;

use anyhow::Context;
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use tokio_postgres::NoTls;

/// The two backends the service runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Postgres => "PostgreSQL",
            Self::Sqlite => "SQLite",
        })
    }
}

/// A fresh, empty database; [`Store::remove`] drops it (the SQLite folder also goes
/// when the value is dropped).
pub enum Store {
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
    Sqlite {
        dir: tempfile::TempDir,
        path: PathBuf,
    },
}

impl Store {
    /// Creates the database: `CREATE DATABASE <name>` through `admin_url` on
    /// PostgreSQL, a file in a new temporary folder on SQLite.
    pub async fn create(backend: Backend, admin_url: &str, name: &str) -> anyhow::Result<Self> {
        match backend {
            Backend::Postgres => {
                let admin = connect(admin_url).await?;
                admin
                    .batch_execute(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .with_context(|| format!("cannot create the database {name}"))?;
                Ok(Self::Postgres {
                    admin_url: admin_url.to_owned(),
                    name: name.to_owned(),
                    url: with_database(admin_url, name),
                })
            }
            Backend::Sqlite => {
                let dir = tempfile::Builder::new()
                    .prefix(&format!("{name}_"))
                    .tempdir()
                    .context("cannot create a temporary folder for SQLite")?;
                let path = dir.path().join("bench.sqlite3");
                Ok(Self::Sqlite { dir, path })
            }
        }
    }

    /// The service's `DATABASE_URL`.
    pub fn url(&self) -> String {
        match self {
            Self::Postgres { url, .. } => url.clone(),
            Self::Sqlite { path, .. } => format!("sqlite://{}", path.display()),
        }
    }

    pub async fn checker(&self) -> anyhow::Result<Checker> {
        Ok(match self {
            Self::Postgres { url, .. } => Checker::Postgres(connect(url).await?),
            Self::Sqlite { path, .. } => Checker::Sqlite(path.clone()),
        })
    }

    /// Drops the database (PostgreSQL) or deletes the folder (SQLite).
    pub async fn remove(self) -> anyhow::Result<()> {
        match self {
            Self::Postgres {
                admin_url, name, ..
            } => drop_database(&admin_url, &name).await,
            Self::Sqlite { dir, .. } => dir
                .close()
                .context("cannot delete the temporary SQLite folder"),
        }
    }
}

/// `DROP DATABASE ... WITH (FORCE)`: also used when the run is interrupted.
pub async fn drop_database(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let admin = connect(admin_url).await?;
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await
        .with_context(|| format!("cannot drop the database {name}"))
}

async fn connect(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .with_context(|| format!("cannot connect to {}", redact(url)))?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            eprintln!("bench: database connection closed: {error}");
        }
    });
    Ok(client)
}

/// The same server, another database: replaces the path of a `postgres://` URL.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    format!("{base}/{name}{query}")
}

/// A URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => match url[scheme + 3..at].split_once(':') {
            Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
            None => url.to_owned(),
        },
        _ => url.to_owned(),
    }
}

/// Read access to the service's database for the after-run checks.
pub enum Checker {
    Postgres(tokio_postgres::Client),
    Sqlite(PathBuf),
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

impl Checker {
    /// Runs `SELECT count(*) AS n ...` and returns n. The SQL is shared by both backends.
    pub async fn count(&self, sql: &str) -> anyhow::Result<i64> {
        match self {
            Self::Postgres(client) => {
                let row = client
                    .query_one(sql, &[])
                    .await
                    .with_context(|| format!("check query failed: {sql}"))?;
                Ok(row.try_get(0)?)
            }
            Self::Sqlite(path) => {
                let (path, sql) = (path.display().to_string(), sql.to_owned());
                tokio::task::spawn_blocking(move || -> anyhow::Result<i64> {
                    let mut conn = SqliteConnection::establish(&path)
                        .with_context(|| format!("cannot open {path}"))?;
                    let count: Count = diesel::sql_query(&sql)
                        .get_result(&mut conn)
                        .with_context(|| format!("check query failed: {sql}"))?;
                    Ok(count.n)
                })
                .await
                .context("the SQLite check panicked")?
            }
        }
    }

    /// Confirmed bookings of these shows.
    pub async fn confirmed(&self, shows: &[i64]) -> anyhow::Result<i64> {
        self.count(&format!(
            "SELECT count(*) AS n FROM bookings WHERE status = 'CONFIRMED' AND show_id IN ({})",
            id_list(shows)
        ))
        .await
    }

    /// Seats of these shows held by more than one confirmed booking.
    pub async fn double_booked(&self, shows: &[i64]) -> anyhow::Result<i64> {
        self.count(&format!(
            "SELECT count(*) AS n FROM (SELECT show_id, seat_number FROM bookings \
             WHERE status = 'CONFIRMED' AND show_id IN ({}) \
             GROUP BY show_id, seat_number HAVING count(*) > 1) AS twice",
            id_list(shows)
        ))
        .await
    }

    /// Seats of these shows whose claim says booked (no expiry) without a confirmed
    /// booking: seats nobody can have any more.
    pub async fn claims_without_booking(&self, shows: &[i64]) -> anyhow::Result<i64> {
        self.count(&format!(
            "SELECT count(*) AS n FROM seat_claims WHERE expires_at IS NULL AND show_id IN ({}) \
             AND NOT EXISTS (SELECT 1 FROM bookings WHERE bookings.show_id = seat_claims.show_id \
             AND bookings.seat_number = seat_claims.seat_number AND bookings.status = 'CONFIRMED')",
            id_list(shows)
        ))
        .await
    }

    /// Confirmed bookings of these shows whose seat has no booked claim: seats that a
    /// hold or a booking could take again.
    pub async fn bookings_without_claim(&self, shows: &[i64]) -> anyhow::Result<i64> {
        self.count(&format!(
            "SELECT count(*) AS n FROM bookings WHERE status = 'CONFIRMED' AND show_id IN ({}) \
             AND NOT EXISTS (SELECT 1 FROM seat_claims WHERE seat_claims.show_id = bookings.show_id \
             AND seat_claims.seat_number = bookings.seat_number AND seat_claims.expires_at IS NULL)",
            id_list(shows)
        ))
        .await
    }

    /// Holds of these shows in this status (as stored: an expired hold may still say
    /// ACTIVE until housekeeping marks it).
    pub async fn holds(&self, shows: &[i64], status: &str) -> anyhow::Result<i64> {
        anyhow::ensure!(
            status.chars().all(|c| c.is_ascii_uppercase()),
            "not a hold status: {status}"
        );
        self.count(&format!(
            "SELECT count(*) AS n FROM holds WHERE status = '{status}' AND show_id IN ({})",
            id_list(shows)
        ))
        .await
    }

    /// Confirmed bookings of these shows outside 1..=total_seats.
    pub async fn out_of_range(&self, shows: &[i64]) -> anyhow::Result<i64> {
        self.count(&format!(
            "SELECT count(*) AS n FROM bookings JOIN shows ON shows.id = bookings.show_id \
             WHERE bookings.status = 'CONFIRMED' AND bookings.show_id IN ({}) \
             AND (bookings.seat_number < 1 OR bookings.seat_number > shows.total_seats)",
            id_list(shows)
        ))
        .await
    }
}

/// Ids come from the service's own JSON as integers, so formatting them is safe.
fn id_list(ids: &[i64]) -> String {
    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
    if list.is_empty() {
        "NULL".into()
    } else {
        list.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_is_swapped_in_the_url() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
    }

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
