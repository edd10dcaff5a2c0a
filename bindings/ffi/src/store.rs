//! Platform secret storage (Android Keystore, iOS Keychain), implemented by the shells.

use crate::FaceIdError;

/// Keeps small secrets (tokens, device id) in the platform's protected storage.
/// Implementations must be safe to call from any thread.
#[uniffi::export(with_foreign)]
pub trait SecureStore: Send + Sync {
    fn get(&self, key: String) -> Result<Option<Vec<u8>>, FaceIdError>;
    fn set(&self, key: String, value: Vec<u8>) -> Result<(), FaceIdError>;
    fn delete(&self, key: String) -> Result<(), FaceIdError>;
}
