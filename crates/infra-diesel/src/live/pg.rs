//! The seat feed across processes on PostgreSQL: a publisher sends this process's
//! signals with `NOTIFY` after their commits, and a listener hears every other
//! process's. Both use their own connection, outside the pool.
//!
//! `NOTIFY` is not sent inside the booking transactions: PostgreSQL serialises the commits
//! of notifying transactions, which would cap bookings at one commit's flush at a time.
//! The publisher batches what it has, on a connection with `synchronous_commit = off`.

use std::time::Duration;

use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::{lock, SeatFeed, Signal, Work};
use crate::db::Database;

/// The channel every process listens on.
const CHANNEL: &str = "movie_booking_seats";
/// Signals waiting for the publisher; beyond this they are dropped (see
/// [`SeatFeed::signal`]).
const OUTBOX: usize = 10_000;
/// A `NOTIFY` payload must stay under 8,000 bytes.
const PAYLOAD: usize = 7_000;
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(2);

pub(super) fn start(feed: SeatFeed) -> Vec<tokio::task::JoinHandle<()>> {
    let Database::Postgres { url, .. } = &feed.inner.db else {
        return Vec::new();
    };
    let url = url.to_string();
    let (outbox, signals) = mpsc::channel(OUTBOX);
    *lock(&feed.inner.outbox) = Some(outbox);
    vec![
        tokio::spawn(publish(feed.inner.origin, url.clone(), signals)),
        tokio::spawn(listen(feed, url)),
    ]
}

/// Lets reads trust the cache if the listener's connection `generation` is still the
/// one listening (always on SQLite, whose feed is in-process).
pub(super) fn follow_if_current(feed: &SeatFeed, generation: u64) -> bool {
    let link = lock(&feed.inner.link);
    let current = match feed.inner.db {
        Database::Postgres { .. } => *link == generation,
        Database::Sqlite { .. } => true,
    };
    if current {
        feed.set_following(true);
    }
    current
}

fn encode(signal: Signal) -> String {
    match signal {
        Signal::Seats(show) => format!("s{show}"),
        Signal::Show(show) => format!("S{show}"),
        Signal::Catalogue => "c".into(),
    }
}

/// `"<origin> s12,S3,c"`: the sending process and its signals.
fn decode(payload: &str) -> Option<(u64, Vec<Signal>)> {
    let (origin, signals) = payload.split_once(' ')?;
    let origin = u64::from_str_radix(origin, 16).ok()?;
    let signals = signals
        .split(',')
        .filter_map(|s| match s.split_at_checked(1)? {
            ("s", show) => show.parse().ok().map(Signal::Seats),
            ("S", show) => show.parse().ok().map(Signal::Show),
            ("c", "") => Some(Signal::Catalogue),
            _ => None,
        })
        .collect();
    Some((origin, signals))
}

async fn publish(origin: u64, url: String, mut signals: mpsc::Receiver<Signal>) {
    let mut conn: Option<AsyncPgConnection> = None;
    let mut wait = RETRY_FIRST;
    let mut batch = Vec::new();
    loop {
        if batch.is_empty() {
            let Some(signal) = signals.recv().await else {
                return;
            };
            batch.push(signal);
        }
        while let Ok(signal) = signals.try_recv() {
            batch.push(signal);
        }
        batch.sort_unstable_by_key(|s| encode(*s));
        batch.dedup();
        if conn.is_none() {
            conn = connect(&url, "SET synchronous_commit = off").await;
        }
        let sent = match conn.as_mut() {
            Some(conn) => send(conn, origin, &batch).await,
            None => false,
        };
        if sent {
            batch.clear();
            wait = RETRY_FIRST;
        } else {
            // Kept and sent once a connection is back; others resynchronise anyway.
            conn = None;
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(RETRY_MAX);
        }
    }
}

async fn send(conn: &mut AsyncPgConnection, origin: u64, batch: &[Signal]) -> bool {
    let mut payloads = Vec::new();
    let mut payload = String::new();
    for signal in batch {
        let item = encode(*signal);
        if !payload.is_empty() && payload.len() + item.len() + 1 > PAYLOAD {
            payloads.push(std::mem::take(&mut payload));
        }
        if payload.is_empty() {
            payload = format!("{origin:x} ");
        } else {
            payload.push(',');
        }
        payload.push_str(&item);
    }
    payloads.push(payload);
    for payload in payloads {
        let result = diesel::sql_query("SELECT pg_notify($1, $2)")
            .bind::<Text, _>(CHANNEL)
            .bind::<Text, _>(&payload)
            .execute(conn)
            .await;
        if let Err(error) = result {
            tracing::warn!(%error, "seat feed cannot notify");
            return false;
        }
    }
    true
}

async fn connect(url: &str, setup: &str) -> Option<AsyncPgConnection> {
    match AsyncPgConnection::establish(url).await {
        Ok(mut conn) => match diesel::sql_query(setup).execute(&mut conn).await {
            Ok(_) => Some(conn),
            Err(error) => {
                tracing::warn!(%error, "seat feed connection refused its setup");
                None
            }
        },
        Err(error) => {
            tracing::warn!(%error, "seat feed cannot connect");
            None
        }
    }
}

async fn listen(feed: SeatFeed, url: String) {
    let listen = format!("LISTEN {CHANNEL}");
    let mut wait = RETRY_FIRST;
    loop {
        if let Some(mut conn) = connect(&url, &listen).await {
            wait = RETRY_FIRST;
            let generation = {
                let mut link = lock(&feed.inner.link);
                *link += 1;
                *link
            };
            // Listening before reading everything again: a change after the read is
            // heard, one before it is read.
            let _ = feed.inner.work.send(Work::Resync(generation));
            let mut notifications = std::pin::pin!(conn.notifications_stream());
            while let Some(Ok(notification)) = notifications.next().await {
                let Some((origin, signals)) = decode(&notification.payload) else {
                    continue;
                };
                if origin == feed.inner.origin {
                    continue;
                }
                for signal in signals {
                    let _ = feed.inner.work.send(Work::Heard(signal));
                }
            }
            // Reads go to the database until the next connection has resynchronised.
            {
                let mut link = lock(&feed.inner.link);
                *link += 1;
                feed.set_following(false);
            }
            tracing::warn!("seat feed lost its listener connection; reconnecting");
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(RETRY_MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip() {
        let (origin, signals) = decode("ff s12,S3,c").unwrap();
        assert_eq!(origin, 255);
        assert_eq!(
            signals,
            vec![Signal::Seats(12), Signal::Show(3), Signal::Catalogue]
        );
        assert!(decode("nonsense").is_none());
        assert_eq!(decode("1 x,s").unwrap().1, vec![]);
    }
}
