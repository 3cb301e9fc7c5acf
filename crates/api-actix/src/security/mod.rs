//! The domain's security and time ports: JWT tokens, argon2id passwords, the clock.

mod clock;
mod passwords;
mod tokens;

pub use clock::SystemClock;
pub use passwords::Argon2Hasher;
pub use tokens::JwtTokens;
