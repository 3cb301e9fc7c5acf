//! Accounts: who may sign up, how they prove who they are, and the tokens they get.

mod model;
mod ports;
mod service;

pub use model::*;
pub use ports::*;
pub use service::*;
