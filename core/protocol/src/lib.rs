//! Wire types shared by the FaceID client core and the backend: request and response bodies
//! of `/api/v1`, and the limits both sides enforce.
//!
//! Every body type rejects unknown fields, so a client and a server that disagree about the
//! contract fail loudly instead of silently dropping data.

pub mod attendance;
pub mod auth;
pub mod consent;
pub mod liveness;
pub mod location;
pub mod problem;
pub mod sync;

/// Prefix of every REST endpoint.
pub const API_PREFIX: &str = "/api/v1";
