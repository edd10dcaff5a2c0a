//! Platform secret storage (Android Keystore, iOS Keychain), implemented by the shells, and the
//! bridge that lets the core's session keep its tokens there.

use std::sync::Arc;

use faceid_client::store::{SecureStore as CoreStore, StoreError};

use crate::FaceIdError;

/// Keeps small secrets (tokens, device id) in the platform's protected storage.
/// Implementations must be safe to call from any thread.
#[uniffi::export(with_foreign)]
pub trait SecureStore: Send + Sync {
    fn get(&self, key: String) -> Result<Option<Vec<u8>>, FaceIdError>;
    fn set(&self, key: String, value: Vec<u8>) -> Result<(), FaceIdError>;
    fn delete(&self, key: String) -> Result<(), FaceIdError>;
}

/// The platform's store seen through the core's [`CoreStore`] trait: every token the core
/// saves goes to the Kotlin / Swift implementation.
pub(crate) struct PlatformStore(pub(crate) Arc<dyn SecureStore>);

impl std::fmt::Debug for PlatformStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlatformStore")
    }
}

fn unavailable(e: FaceIdError) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl CoreStore for PlatformStore {
    fn load(&self, key: &str) -> Result<Option<String>, StoreError> {
        match self.0.get(key.to_owned()).map_err(unavailable)? {
            None => Ok(None),
            Some(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| StoreError::Unavailable(format!("value of {key:?} is not UTF-8"))),
        }
    }

    fn save(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.0
            .set(key.to_owned(), value.as_bytes().to_vec())
            .map_err(unavailable)
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.0.delete(key.to_owned()).map_err(unavailable)
    }
}
