//! What every route shares over HTTP: the error type, the extractors, metrics, rate
//! limits, idempotent retries, the OpenAPI documents as served, and the edge's own
//! middleware (panics, encodings, HEAD).

pub mod answers;
pub mod edge;
pub mod errors;
pub mod extract;
pub mod idempotency;
pub mod metrics;
pub mod openapi;
pub mod ratelimit;

pub use errors::*;
