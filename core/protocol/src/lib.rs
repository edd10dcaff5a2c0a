//! Wire types shared by the FaceID client core and the backend: request and response bodies
//! of `/api/v1`, and the limits both sides enforce.
//!
//! Every body type rejects unknown fields, so a client and a server that disagree about the
//! contract fail loudly instead of silently dropping data.

pub mod attendance;
pub mod audit;
pub mod auth;
pub mod consent;
pub mod devices;
pub mod error_code;
pub mod face;
pub mod field_code;
pub mod jobs;
pub mod kiosk;
pub mod liveness;
pub mod location;
pub mod org;
pub mod privacy;
pub mod problem;
pub mod profile;
pub mod reason_code;
pub mod reports;
pub mod schedules;
pub mod sites;
pub mod sync;
pub mod telegram;
pub mod terminals;
pub mod wire_text;

/// Prefix of every REST endpoint.
pub const API_PREFIX: &str = "/api/v1";

/// Largest page a list endpoint returns.
pub const MAX_PAGE_LIMIT: u32 = 500;
/// Page size when the request names none.
pub const DEFAULT_PAGE_LIMIT: u32 = 50;

/// Serde helper for PATCH bodies: tells "field absent" (`None`) from "field set to null"
/// (`Some(None)`). Use with `#[serde(default, deserialize_with = "double_option")]`.
pub fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    serde::Deserialize::deserialize(de).map(Some)
}
