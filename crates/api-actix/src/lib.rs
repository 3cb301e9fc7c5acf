//! HTTP adapter: the contract's routes on actix-web over the domain's use cases, with
//! JWT authentication, argon2id passwords, OpenAPI through paperclip, and the
//! `movie-booking` command line.
//!
//! - `startup`: the composition root, the one module that names the storage adapter.
//! - `app`: the route table and the middleware.
//! - `routes/<area>`: handlers, their DTOs and their errors' HTTP mapping, side by side.
//! - `http`: `ApiError`, extractors, metrics and rate limits shared by every route.
//! - `security`: the token, password and clock adapters.

// No unwrap in code a request or the database can reach; tests may.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod app;
pub mod cli;
pub mod http;
pub mod routes;
pub mod security;
pub mod settings;
pub mod startup;
pub mod state;
