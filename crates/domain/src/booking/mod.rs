//! Booking seats of a show, listing one's bookings, cancelling them; the best-available
//! choice; and the rules of seat holds.

mod best_seats;
mod hold;
mod hold_service;
#[cfg(test)]
mod hold_service_tests;
mod model;
mod ports;
pub mod rules;
mod service;
#[cfg(test)]
mod service_tests;

pub use best_seats::*;
pub use hold::*;
pub use hold_service::*;
pub use model::*;
pub use ports::*;
pub use service::*;
