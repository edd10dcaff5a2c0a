//! Attendance, without HTTP: the policy and its resolution, the hash-chained log, measuring a
//! punch, the verdict, where idempotency keys are kept, and the log read back as records.
//! The handlers are in `routes::attendance`.

pub mod chain;
pub mod measure;
pub mod policy;
pub mod records;
pub mod replay;
pub mod sites;
pub mod verdict;

pub use chain::{ChainFields, ChainVerification, append, micros, verify_chain};
pub use policy::{AttendancePolicy, LivenessMode, effective_policy};
pub use sites::nearest_site;
