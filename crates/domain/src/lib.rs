//! The cinema's rules, free of I/O: entities and value objects ([`model`]), the ports
//! that storage and the outside world implement ([`ports`]), the rules checked inside
//! a booking transaction ([`rules`]) and the use cases ([`accounts`], [`catalog`],
//! [`booking`]).

// No unwrap in code a request or the database can reach; tests may.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod accounts;
pub mod booking;
pub mod catalog;
pub mod model;
pub mod ports;
pub mod rules;

pub use accounts::*;
pub use booking::*;
pub use catalog::*;
pub use model::*;
pub use ports::*;
