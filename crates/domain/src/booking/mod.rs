//! Booking seats of a show, listing one's bookings, cancelling them.

mod best_seats;
mod model;
mod ports;
pub mod rules;
mod service;
#[cfg(test)]
mod service_tests;

pub use best_seats::*;
pub use model::*;
pub use ports::*;
pub use service::*;
