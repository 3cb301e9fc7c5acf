//! The catalogue: movies, shows and their seat maps. Anyone signed in browses it; staff
//! edit it.

mod layout;
mod model;
mod ports;
pub mod rules;
mod service;
#[cfg(test)]
mod service_tests;

pub use layout::*;
pub use model::*;
pub use ports::*;
pub use service::*;
