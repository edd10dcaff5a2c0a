//! Background work the server runs beside the API.

pub mod location_retention;
