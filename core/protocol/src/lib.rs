//! Wire types shared by the FaceID client core and the backend: request and response bodies
//! of `/api/v1`, and the limits both sides enforce.
//!
//! Every body type rejects unknown fields, so a client and a server that disagree about the
//! contract fail loudly instead of silently dropping data.

/// A list's query: the fields given, then `limit` and `offset` (one paging part for every paged
/// list), with unknown parameters refused. `Paging::resolve` in the backend checks the bounds.
macro_rules! paged_query {
    (
        $(#[$meta:meta])*
        pub struct $name:ident { $($(#[$fmeta:meta])* pub $field:ident: $ty:ty,)* }
    ) => {
        $(#[$meta])*
        #[derive(Debug, ::serde::Serialize, ::serde::Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
        #[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
            /// Items per page (1..=500, default 50).
            pub limit: Option<u32>,
            pub offset: Option<u32>,
        }
    };
}
pub(crate) use paged_query;

pub mod attendance;
pub mod audit;
pub mod auth;
pub mod consent;
pub mod devices;
pub mod error_code;
pub mod face;
pub mod field_code;
pub mod iiko;
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
pub mod settings;
pub mod sites;
pub mod sync;
pub mod telegram;
pub mod terminals;
pub mod wire_text;

/// Prefix of every REST endpoint.
pub const API_PREFIX: &str = "/api/v1";
/// `GET`: the OpenAPI document.
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

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
