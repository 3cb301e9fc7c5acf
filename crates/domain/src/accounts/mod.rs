//! Accounts: who may sign up, how they prove who they are, and the tokens they get.

mod model;
mod ports;
pub mod rules;
mod service;
#[cfg(test)]
mod service_tests;

pub use model::*;
pub use ports::*;
pub use service::*;
