//! What every route shares over HTTP: the error type, the extractors, metrics, rate
//! limits and the OpenAPI documents as served.

pub mod errors;
pub mod extract;
pub mod metrics;
pub mod openapi;
pub mod ratelimit;

pub use errors::*;
