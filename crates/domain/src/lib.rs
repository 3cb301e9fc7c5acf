//! The cinema's rules, free of I/O, filed by area: [`shared`] (ids, validation, paging,
//! the storage error, the clock), [`accounts`], [`catalog`], [`booking`] and
//! [`idempotency`] (retries with an `Idempotency-Key`). Each area
//! has its values and entities (`model`), the ports it needs (`ports`), its use cases
//! (`service`) and, where it has them, the rules a storage adapter applies under its
//! locks (`rules`). Everything is re-exported at the root, so `domain::Show` is enough.

// No unwrap in code a request or the database can reach; tests may.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod accounts;
pub mod booking;
pub mod catalog;
pub mod idempotency;
pub mod shared;

// `accounts`, `booking`, `catalog` and `idempotency` each have a `rules` module; they are named by area
// (`domain::booking::rules`), never from the root.
#[allow(ambiguous_glob_reexports)]
pub use {accounts::*, booking::*, catalog::*, idempotency::*, shared::*};
