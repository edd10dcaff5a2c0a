//! Descriptors (and a few other secrets, such as a terminal's password) encrypted at rest with
//! AES-256-GCM under the installation's `descriptor_key`; each ciphertext is bound to its row.

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use faceid_face::{Descriptor, ModelId};
use uuid::Uuid;

use crate::error::AppError;

type GcmNonce = aes_gcm::aead::Nonce<Aes256Gcm>;

/// AES-256-GCM encryption of descriptors, bound to their template row.
#[derive(Clone)]
pub struct DescriptorCipher(Aes256Gcm);

impl DescriptorCipher {
    pub fn new(key: &[u8; 32]) -> Self {
        Self(Aes256Gcm::new(key.into()))
    }

    fn aad(template: Uuid, employee: Uuid, model: &str) -> Vec<u8> {
        let mut aad = Vec::with_capacity(32 + model.len());
        aad.extend_from_slice(template.as_bytes());
        aad.extend_from_slice(employee.as_bytes());
        aad.extend_from_slice(model.as_bytes());
        aad
    }

    /// (ciphertext, nonce). The template id, employee id and model id are authenticated data,
    /// so a ciphertext moved to another row does not decrypt.
    pub fn seal(
        &self,
        template: Uuid,
        employee: Uuid,
        d: &Descriptor,
    ) -> Result<(Vec<u8>, Vec<u8>), AppError> {
        let mut nonce = [0u8; 12];
        rand::fill(&mut nonce);
        let plain: Vec<u8> = d.values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let ct = self
            .0
            .encrypt(
                &GcmNonce::from(nonce),
                Payload {
                    msg: &plain,
                    aad: &Self::aad(template, employee, &d.model.0),
                },
            )
            .map_err(|_| AppError::internal("descriptor encryption failed"))?;
        Ok((ct, nonce.to_vec()))
    }

    /// Encrypts another secret at rest with the same key (a terminal's password): (ciphertext,
    /// nonce), `aad` binding it to its row.
    pub fn seal_secret(&self, aad: &[u8], plain: &[u8]) -> Result<(Vec<u8>, Vec<u8>), AppError> {
        let mut nonce = [0u8; 12];
        rand::fill(&mut nonce);
        let ct = self
            .0
            .encrypt(&GcmNonce::from(nonce), Payload { msg: plain, aad })
            .map_err(|_| AppError::internal("secret encryption failed"))?;
        Ok((ct, nonce.to_vec()))
    }

    /// Decrypts what [`DescriptorCipher::seal_secret`] sealed with the same `aad`.
    pub fn open_secret(&self, aad: &[u8], ct: &[u8], nonce: &[u8]) -> Result<Vec<u8>, AppError> {
        let nonce: [u8; 12] = nonce
            .try_into()
            .map_err(|_| AppError::internal("secret nonce of the wrong length"))?;
        self.0
            .decrypt(&GcmNonce::from(nonce), Payload { msg: ct, aad })
            .map_err(|_| {
                AppError::internal(
                    "a stored secret does not decrypt with the configured descriptor_key",
                )
            })
    }

    pub fn open(
        &self,
        template: Uuid,
        employee: Uuid,
        model: &str,
        ct: &[u8],
        nonce: &[u8],
    ) -> Result<Descriptor, AppError> {
        let nonce: [u8; 12] = nonce
            .try_into()
            .map_err(|_| AppError::internal("descriptor nonce of the wrong length"))?;
        let plain = self
            .0
            .decrypt(
                &GcmNonce::from(nonce),
                Payload {
                    msg: ct,
                    aad: &Self::aad(template, employee, model),
                },
            )
            .map_err(|_| {
                AppError::internal(format!(
                    "face template {template} does not decrypt with the configured descriptor_key"
                ))
            })?;
        let values = plain
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok(Descriptor {
            model: ModelId(model.to_owned()),
            values,
        })
    }
}
