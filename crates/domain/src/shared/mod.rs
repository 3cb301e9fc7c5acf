//! What every area of the cinema shares: typed ids, validation errors, paging, the
//! storage error and the clock.

mod clock;
mod ids;
mod paging;
mod store;
mod validation;

pub use clock::*;
pub use ids::*;
pub use paging::*;
pub use store::*;
pub use validation::*;
