//! The clock port on the system clock.

use chrono::{DateTime, Utc};
use domain::Clock;

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
