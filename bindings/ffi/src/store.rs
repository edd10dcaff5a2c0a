//! Platform secret storage (Android Keystore, iOS Keychain) and the device's key pair (Android
//! Keystore, iOS Secure Enclave), implemented by the shells, and the bridges that let the core's
//! session keep its tokens there and sign with that key.

use std::sync::Arc;

use faceid_client::device_key::{DeviceKey as CoreKey, DeviceKeyError as CoreKeyError};
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

/// What a [`DeviceKey`] can report; each says what the app does about it.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum DeviceKeyError {
    /// The key store cannot be used now (device locked, key store busy): retry later.
    #[error("device key unavailable: {reason}")]
    Unavailable { reason: String },
    /// The key is gone or was invalidated (app data wiped, key store reset): this installation
    /// needs a new device id and key, and an administrator allows it like a new phone.
    #[error("device key lost: {reason}")]
    Lost { reason: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for DeviceKeyError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        DeviceKeyError::Unavailable { reason: e.reason }
    }
}

/// This device's P-256 key pair, its private half kept in the platform's key store (Android
/// Keystore, iOS Secure Enclave) and never exported. Every login and token refresh signs a
/// server nonce with it (docs/device-keys.md). Implementations must be safe to call from any
/// thread.
#[uniffi::export(with_foreign)]
pub trait DeviceKey: Send + Sync {
    /// The public key: X.509 SubjectPublicKeyInfo DER (Android's `PublicKey.encoded`) or the
    /// 65-byte SEC1 point (iOS's `SecKeyCopyExternalRepresentation`).
    fn public_key(&self) -> Result<Vec<u8>, DeviceKeyError>;
    /// An ECDSA P-256 / SHA-256 signature of `message`, ASN.1 DER (`SHA256withECDSA`,
    /// `.ecdsaSignatureMessageX962SHA256`).
    fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>, DeviceKeyError>;
}

/// The platform's key seen through the core's [`CoreKey`] trait.
pub(crate) struct PlatformKey(pub(crate) Arc<dyn DeviceKey>);

impl std::fmt::Debug for PlatformKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlatformKey")
    }
}

fn core_key_error(e: DeviceKeyError) -> CoreKeyError {
    match e {
        DeviceKeyError::Unavailable { reason } => CoreKeyError::Unavailable(reason),
        DeviceKeyError::Lost { reason } => CoreKeyError::Lost(reason),
    }
}

impl CoreKey for PlatformKey {
    fn public_key(&self) -> Result<Vec<u8>, CoreKeyError> {
        self.0.public_key().map_err(core_key_error)
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CoreKeyError> {
        self.0.sign(message.to_vec()).map_err(core_key_error)
    }
}
