//! The HTTP adapter's integration tests, in one test binary: one link step for all of
//! them, and helpers compiled once.
//!
//! Every module's tests share this process. Each test runs its own application on its
//! own port and its own database, with its own metrics, rate limits and hashing pool;
//! nothing of the service is process-wide. Tests that need a process of the service
//! start `movie-booking` as a child (`helpers::ServerProcess`), and signals only ever
//! go to that child.

mod helpers;

mod accounts;
mod app_page;
mod auth_tokens;
mod bad_input;
mod booking;
mod catalogue;
mod edge;
mod faults;
mod flow;
mod holds;
mod idempotency;
mod live;
mod login_timing;
mod openapi;
mod operations;
mod race;
mod rate_limits;
mod routing;
mod screens;
mod sessions;
mod storage;
