//! The device's own key: a P-256 key pair whose private half never leaves the platform's key
//! store (Android Keystore, iOS Secure Enclave), supplied as a [`DeviceKey`] beside the
//! [`crate::store::SecureStore`]. The session signs a server nonce with it at every login and
//! refresh, so the server can tell this device from anyone who learned its id
//! (`docs/device-keys.md`). The core ships a file key for the CLI and desktop (PKCS#8 PEM, mode
//! 0600) and an in-memory key for tests.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use faceid_protocol::auth::{DeviceProof, device_proof_message};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum DeviceKeyError {
    /// The key store cannot be used now (locked, busy): a later retry may work.
    #[error("device key unavailable: {0}")]
    Unavailable(String),
    /// The key is gone or unusable: this installation needs a new device id and key.
    #[error("device key lost: {0}")]
    Lost(String),
    #[error("device key I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A P-256 key pair of this device. Implementations must be safe to call from any thread.
pub trait DeviceKey: Send + Sync + std::fmt::Debug {
    /// The public key: X.509 SubjectPublicKeyInfo DER, or a SEC1 point.
    fn public_key(&self) -> Result<Vec<u8>, DeviceKeyError>;
    /// An ECDSA P-256 / SHA-256 signature of `message`, ASN.1 DER (`SHA256withECDSA`).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, DeviceKeyError>;
}

/// The proof for a login or refresh of `device_id`: `nonce` signed by `key`.
pub fn proof(
    key: &dyn DeviceKey,
    device_id: Uuid,
    nonce: &str,
) -> Result<DeviceProof, DeviceKeyError> {
    let public = key.public_key()?;
    let signature = key.sign(&device_proof_message(nonce, device_id))?;
    Ok(DeviceProof {
        public_key: STANDARD.encode(public),
        nonce: nonce.to_owned(),
        signature: STANDARD.encode(signature),
    })
}

fn random_signing_key() -> SigningKey {
    loop {
        // A random 32-byte string is a valid scalar except with negligible probability.
        let bytes: [u8; 32] = rand::random();
        if let Ok(k) = SigningKey::from_bytes(&bytes.into()) {
            return k;
        }
    }
}

fn public_der(key: &SigningKey) -> Result<Vec<u8>, DeviceKeyError> {
    key.verifying_key()
        .to_public_key_der()
        .map(|d| d.as_bytes().to_vec())
        .map_err(|e| DeviceKeyError::Lost(e.to_string()))
}

fn sign_der(key: &SigningKey, message: &[u8]) -> Vec<u8> {
    let sig: Signature = key.sign(message);
    sig.to_der().as_bytes().to_vec()
}

/// A key in memory; for tests.
#[derive(Debug, Clone)]
pub struct MemoryDeviceKey(SigningKey);

impl MemoryDeviceKey {
    pub fn generate() -> Self {
        Self(random_signing_key())
    }
}

impl DeviceKey for MemoryDeviceKey {
    fn public_key(&self) -> Result<Vec<u8>, DeviceKeyError> {
        public_der(&self.0)
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, DeviceKeyError> {
        Ok(sign_der(&self.0, message))
    }
}

/// A key in a PKCS#8 PEM file (mode 0600), for the CLI and desktop where no platform key store
/// is at hand. Created once, never replaced: a device whose key file is lost cannot sign in
/// under its old id again.
#[derive(Debug)]
pub struct FileDeviceKey {
    key: SigningKey,
}

impl FileDeviceKey {
    /// The key at `path`, created first when there is none. Two processes creating it at once
    /// end with one key: the second one's link fails and it reads the first one's.
    pub fn open_or_create(path: &Path) -> Result<Self, DeviceKeyError> {
        let io = |source| DeviceKeyError::Io {
            path: path.to_owned(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(pem) => return Self::from_pem(&pem),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        let key = random_signing_key();
        let pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| DeviceKeyError::Lost(e.to_string()))?;
        let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(io)?;
        f.write_all(pem.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
        drop(f);
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(Self { key }),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let pem = std::fs::read_to_string(path).map_err(io)?;
                Self::from_pem(&pem)
            }
            Err(e) => Err(io(e)),
        }
    }

    fn from_pem(pem: &str) -> Result<Self, DeviceKeyError> {
        SigningKey::from_pkcs8_pem(pem)
            .map(|key| Self { key })
            .map_err(|e| DeviceKeyError::Lost(format!("unreadable key file: {e}")))
    }
}

impl DeviceKey for FileDeviceKey {
    fn public_key(&self) -> Result<Vec<u8>, DeviceKeyError> {
        public_der(&self.key)
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, DeviceKeyError> {
        Ok(sign_der(&self.key, message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::VerifyingKey;
    use p256::ecdsa::signature::Verifier;
    use p256::pkcs8::DecodePublicKey;

    fn verifies(key: &dyn DeviceKey, message: &[u8]) -> bool {
        let public = VerifyingKey::from_public_key_der(&key.public_key().unwrap()).unwrap();
        let sig = Signature::from_der(&key.sign(message).unwrap()).unwrap();
        public.verify(message, &sig).is_ok()
    }

    #[test]
    fn memory_key_signs_what_its_public_key_verifies() {
        let key = MemoryDeviceKey::generate();
        assert!(verifies(&key, b"nonce"));
        let other = MemoryDeviceKey::generate();
        assert_ne!(key.public_key().unwrap(), other.public_key().unwrap());
    }

    #[test]
    fn file_key_is_created_once_private_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device-key.pem");
        let first = FileDeviceKey::open_or_create(&path).unwrap();
        assert!(verifies(&first, b"nonce"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = FileDeviceKey::open_or_create(&path).unwrap();
        assert_eq!(first.public_key().unwrap(), again.public_key().unwrap());
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
        std::fs::write(&path, "not a key").unwrap();
        assert!(matches!(
            FileDeviceKey::open_or_create(&path),
            Err(DeviceKeyError::Lost(_))
        ));
    }
}
