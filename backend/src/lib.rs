//! The FaceID backend: router, state and the pieces `main.rs` wires together.

pub mod local_pg;
pub mod timesheet;
