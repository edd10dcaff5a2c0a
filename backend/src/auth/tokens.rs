//! Access tokens (JWT) and opaque tokens (refresh tokens, kiosk credentials).

use chrono::{DateTime, Utc};
use faceid_protocol::error_code::ErrorCode;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::AppError;
/// Claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// Employee id.
    pub sub: Uuid,
    /// Session (refresh-token family) id.
    pub sid: Uuid,
    /// Device id.
    pub dev: Uuid,
    pub iat: i64,
    pub exp: i64,
    pub jti: Uuid,
}

/// Signing keys for access tokens.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl JwtKeys {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    pub fn issue(
        &self,
        employee: Uuid,
        session: Uuid,
        device: Uuid,
        now: DateTime<Utc>,
        ttl_secs: u64,
    ) -> Result<(String, DateTime<Utc>), AppError> {
        let exp = now + chrono::Duration::seconds(i64::try_from(ttl_secs).unwrap_or(900));
        let claims = Claims {
            sub: employee,
            sid: session,
            dev: device,
            iat: now.timestamp(),
            exp: exp.timestamp(),
            jti: Uuid::new_v4(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(AppError::internal)?;
        Ok((token, exp))
    }

    pub fn verify(&self, token: &str) -> Result<Claims, AppError> {
        let mut v = Validation::new(Algorithm::HS256);
        v.leeway = 5;
        v.set_required_spec_claims(&["exp", "sub"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &v)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => AppError::Unauthenticated {
                    code: ErrorCode::TokenExpired,
                },
                _ => AppError::Unauthenticated {
                    code: ErrorCode::InvalidToken,
                },
            })
    }
}

/// SHA-256 of an opaque token (refresh tokens, kiosk credentials). These carry 256 bits of
/// randomness, so a fast hash is enough.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A new random opaque token: 32 random bytes, hex.
pub fn new_opaque_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    hex::encode(bytes)
}
