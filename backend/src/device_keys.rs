//! Device keys: a personal device proves at login and refresh that it holds the private key of
//! the public key registered for its id (`docs/device-keys.md`). The device id alone is a
//! client-chosen UUID; the key is what an administrator's allow-list trusts.
//!
//! - [`issue_nonce`]: a single-use, short-lived nonce kept in PostgreSQL (any replica checks it);
//! - [`verify`]: a [`DeviceProof`] checked on its own (nonce taken, signature over
//!   [`device_proof_message`]), giving the key in its canonical form;
//! - [`bind`]: the decision for one login or refresh: trust on first use, a different key under
//!   a known id refused (`device_key_mismatch`), a keyless request refused where a key is
//!   registered or the employee has an allow-list (`device_key_required`), an allow-listed
//!   device only with the key the administrator approved (`device_key_not_approved`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use faceid_protocol::auth::{
    DEVICE_NONCE_LEN, DeviceNonce, DeviceProof, MAX_DEVICE_PUBLIC_KEY_LEN,
    MAX_DEVICE_SIGNATURE_LEN, device_proof_message,
};
use faceid_protocol::error_code::ErrorCode;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::auth::{new_opaque_token, token_hash};
use crate::error::{AppError, AppResult};

/// How long a nonce may be used.
pub const NONCE_TTL_SECS: i64 = 120;

/// A public key whose holder signed a fresh nonce: the SEC1 uncompressed point (65 bytes), the
/// form it is stored and compared in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenKey(pub Vec<u8>);

impl ProvenKey {
    /// Short hex fingerprint for logs and the audit log: the first 8 bytes of SHA-256.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.0)
    }
}

pub fn fingerprint(sec1: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(sec1)[..8])
}

fn invalid(detail: &str) -> AppError {
    AppError::forbidden(
        ErrorCode::DeviceProofInvalid,
        format!("{detail}; fetch a new nonce (POST /api/v1/auth/nonce) and sign it again"),
    )
}

/// Creates a nonce and forgets expired ones.
pub async fn issue_nonce(db: &PgPool) -> AppResult<DeviceNonce> {
    let nonce = new_opaque_token();
    let expires_at = Utc::now() + Duration::seconds(NONCE_TTL_SECS);
    sqlx::query("DELETE FROM auth_nonces WHERE expires_at < now()")
        .execute(db)
        .await?;
    sqlx::query("INSERT INTO auth_nonces (nonce_hash, expires_at) VALUES ($1, $2)")
        .bind(token_hash(&nonce))
        .bind(expires_at)
        .execute(db)
        .await?;
    Ok(DeviceNonce { nonce, expires_at })
}

/// Takes a nonce: true once, for an unexpired nonce this server issued.
async fn take_nonce(db: &PgPool, nonce: &str) -> AppResult<bool> {
    let taken: Option<DateTime<Utc>> =
        sqlx::query_scalar("DELETE FROM auth_nonces WHERE nonce_hash = $1 RETURNING expires_at")
            .bind(token_hash(nonce))
            .fetch_optional(db)
            .await?;
    Ok(taken.is_some_and(|at| at > Utc::now()))
}

/// Parses a base64 P-256 public key (SubjectPublicKeyInfo DER or a SEC1 point).
pub fn parse_public_key(b64: &str) -> Option<VerifyingKey> {
    if b64.len() > MAX_DEVICE_PUBLIC_KEY_LEN {
        return None;
    }
    let bytes = STANDARD.decode(b64.trim()).ok()?;
    VerifyingKey::from_public_key_der(&bytes)
        .or_else(|_| VerifyingKey::from_sec1_bytes(&bytes))
        .ok()
}

/// Checks a proof for `device_id`: the nonce is taken (even when the signature then fails, so a
/// nonce is never tried twice), the signature must verify. 403 `device_proof_invalid` otherwise.
pub async fn verify(db: &PgPool, device_id: Uuid, proof: &DeviceProof) -> AppResult<ProvenKey> {
    if proof.nonce.len() != DEVICE_NONCE_LEN || !take_nonce(db, &proof.nonce).await? {
        return Err(invalid("the nonce is unknown, used or expired"));
    }
    let key = parse_public_key(&proof.public_key)
        .ok_or_else(|| invalid("`public_key` is not a base64 P-256 public key"))?;
    let signature = (proof.signature.len() <= MAX_DEVICE_SIGNATURE_LEN)
        .then(|| STANDARD.decode(proof.signature.trim()).ok())
        .flatten()
        .and_then(|der| Signature::from_der(&der).ok())
        .ok_or_else(|| invalid("`signature` is not a base64 DER ECDSA signature"))?;
    key.verify(&device_proof_message(&proof.nonce, device_id), &signature)
        .map_err(|_| invalid("the signature does not verify with `public_key`"))?;
    Ok(ProvenKey(key.to_encoded_point(false).as_bytes().to_vec()))
}

/// What [`bind`] decided, for the caller to commit (a refusal keeps the registration and the
/// audit rows).
pub enum Binding {
    Allowed,
    Refused(AppError),
}

/// The device-key decision for `employee_id` logging in or refreshing on `device_id` (a
/// personal device, not blocked: the caller checked). Registers the key on first use and
/// audits registrations and mismatches in `conn`.
pub async fn bind(
    conn: &mut PgConnection,
    employee_id: Uuid,
    device_id: Uuid,
    proven: Option<&ProvenKey>,
) -> AppResult<Binding> {
    let registered: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT public_key FROM devices WHERE id = $1 FOR UPDATE")
            .bind(device_id)
            .fetch_one(&mut *conn)
            .await?;
    match (&registered, proven) {
        (None, Some(key)) => {
            sqlx::query(
                "UPDATE devices SET public_key = $2, public_key_registered_at = now() WHERE id = $1",
            )
            .bind(device_id)
            .bind(&key.0)
            .execute(&mut *conn)
            .await?;
            audit(conn, employee_id, "device.key_registered", device_id, key).await?;
            tracing::info!(device = %device_id, key = %key.fingerprint(), "device key registered");
        }
        (Some(stored), Some(key)) if *stored != key.0 => {
            audit(conn, employee_id, "device.key_mismatch", device_id, key).await?;
            tracing::warn!(device = %device_id, key = %key.fingerprint(),
                registered = %fingerprint(stored), "device key mismatch");
            return Ok(Binding::Refused(AppError::forbidden(
                ErrorCode::DeviceKeyMismatch,
                "this device id is bound to another key: the request does not come from the device that registered it",
            )));
        }
        (Some(_), None) => {
            return Ok(Binding::Refused(key_required(
                "this device registered a key: sign a nonce with it",
            )));
        }
        _ => {}
    }
    let (has_list, listed, approved): (bool, bool, Option<Vec<u8>>) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM employee_allowed_devices WHERE employee_id = $1),
                EXISTS (SELECT 1 FROM employee_allowed_devices WHERE employee_id = $1 AND device_id = $2),
                (SELECT public_key FROM employee_allowed_devices WHERE employee_id = $1 AND device_id = $2)",
    )
    .bind(employee_id)
    .bind(device_id)
    .fetch_one(&mut *conn)
    .await?;
    if !has_list {
        return Ok(Binding::Allowed);
    }
    if !listed {
        return Ok(Binding::Refused(AppError::forbidden(
            ErrorCode::DeviceNotAllowed,
            "this account may not sign in from this device; ask an administrator to allow it",
        )));
    }
    let Some(key) = proven else {
        return Ok(Binding::Refused(key_required(
            "this account signs in only from approved devices, which prove their key: update the app",
        )));
    };
    if approved.as_deref() != Some(key.0.as_slice()) {
        return Ok(Binding::Refused(AppError::forbidden(
            ErrorCode::DeviceKeyNotApproved,
            "this device's key was registered after an administrator allowed the device: ask them to approve it again",
        )));
    }
    Ok(Binding::Allowed)
}

fn key_required(detail: &str) -> AppError {
    AppError::forbidden(ErrorCode::DeviceKeyRequired, detail)
}

async fn audit(
    conn: &mut PgConnection,
    employee_id: Uuid,
    action: &str,
    device_id: Uuid,
    key: &ProvenKey,
) -> AppResult<()> {
    let after = serde_json::json!({ "public_key_fingerprint": key.fingerprint() });
    crate::audit::record_employee(conn, employee_id, action, "device", Some(device_id), &after)
        .await
}
