//! `faceid-ffi`: the one library the Android and iOS apps load. Everything here is a thin,
//! FFI-safe layer over `core/`; logic lives in the core crates.

uniffi::setup_scaffolding!();

mod error;
mod server;
mod store;

pub use error::FaceIdError;
pub use server::normalize_server_url;
pub use store::SecureStore;

/// Version of the native core, shown in the app's "About" screen and sent in bug reports.
#[uniffi::export]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
