//! What every route shares over HTTP: the error type, the extractors, metrics and
//! rate limits.

pub mod errors;
pub mod extract;
pub mod metrics;
pub mod ratelimit;

pub use errors::*;
