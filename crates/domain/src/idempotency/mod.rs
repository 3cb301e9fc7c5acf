//! Idempotent retries: a client's `Idempotency-Key`, the scope it holds (user, method,
//! path), the answer kept for it, and the rule that decides whether a request runs, is
//! answered from what was kept, or is refused.

mod model;
mod ports;
pub mod rules;
mod service;
#[cfg(test)]
mod service_tests;

pub use model::*;
pub use ports::*;
pub use service::*;
