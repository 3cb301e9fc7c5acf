//! HTTP adapter: the contract's routes on actix-web over the domain's use cases, with
//! JWT authentication, argon2id passwords, OpenAPI through paperclip, and the
//! `movie-booking` command line.

// No unwrap in code a request or the database can reach; tests may.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod app;
pub mod auth;
pub mod cli;
pub mod dto;
pub mod errors;
pub mod extract;
pub mod metrics;
pub mod ratelimit;
pub mod routes;
pub mod settings;
pub mod startup;
pub mod state;
