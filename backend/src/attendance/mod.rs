//! Attendance, the domain: the hash-chained log ([`chain`]), the policy ([`policy`]), the
//! server's measurement of a punch ([`measure`], [`place`]), what a punch reads before it is
//! measured ([`context`]), the verdict ([`verdict`], a pure
//! function) and where a punch's idempotency key is looked up ([`replay`]). The handlers
//! (check-in, kiosk identification, review, listings) are in `routes::attendance`.

pub mod chain;
pub mod context;
pub mod measure;
pub mod place;
pub mod policy;
pub mod replay;
pub mod verdict;

pub use chain::{ChainAppender, ChainFields, append, micros, verify_chain};
pub use measure::measure;
pub use policy::effective_policy;
