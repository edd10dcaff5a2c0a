//! Password hashing: argon2id for new hashes; legacy bcrypt hashes still verify.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use faceid_protocol::auth::MAX_PASSWORD_LEN;
use faceid_protocol::org::MIN_PASSWORD_LEN;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("hashing task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    No,
    Yes,
    /// Correct, but the stored hash is legacy (bcrypt) or uses weaker parameters: re-hash.
    YesRehash,
}

fn hasher() -> Argon2<'static> {
    // OWASP's argon2id recommendation: m = 19 MiB, t = 2, p = 1.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_now(password: &str) -> Result<String, PasswordError> {
    hasher()
        .hash_password(password.as_bytes())
        .map(|h: PasswordHash| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

fn verify_now(password: &str, stored: &str) -> Verified {
    if stored.starts_with("$2a$") || stored.starts_with("$2b$") || stored.starts_with("$2y$") {
        // bcrypt only looks at the first 72 bytes; refuse longer inputs rather than truncate.
        if password.len() > 72 {
            return Verified::No;
        }
        return match bcrypt::verify(password, stored) {
            Ok(true) => Verified::YesRehash,
            _ => Verified::No,
        };
    }
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verified::No;
    };
    match hasher().verify_password(password.as_bytes(), &parsed) {
        Ok(()) => {
            let current = hasher();
            let weak = parsed.algorithm.as_str() != "argon2id"
                || Params::try_from(&parsed)
                    .map(|p| {
                        p.m_cost() < current.params().m_cost()
                            || p.t_cost() < current.params().t_cost()
                    })
                    .unwrap_or(true);
            if weak {
                Verified::YesRehash
            } else {
                Verified::Yes
            }
        }
        Err(_) => Verified::No,
    }
}

/// Hashes a password with argon2id off the async runtime.
pub async fn hash(password: String) -> Result<String, PasswordError> {
    tokio::task::spawn_blocking(move || hash_now(&password)).await?
}

/// Verifies a password off the async runtime.
pub async fn verify(password: String, stored: String) -> Result<Verified, PasswordError> {
    Ok(tokio::task::spawn_blocking(move || verify_now(&password, &stored)).await?)
}

/// A fixed argon2id hash with the current parameters, verified when the login does not exist
/// so that "no such user" costs as much time as "wrong password".
pub fn dummy_hash() -> Result<String, PasswordError> {
    hash_now("faceid-dummy-password-for-timing")
}

/// Why a new password is refused, if it is.
pub fn check_new_password(password: &str) -> Option<&'static str> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        Some("must be at least 8 characters")
    } else if password.len() > MAX_PASSWORD_LEN {
        Some("must be at most 256 bytes")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_roundtrip() {
        let h = hash_now("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert_eq!(verify_now("correct horse", &h), Verified::Yes);
        assert_eq!(verify_now("wrong horse", &h), Verified::No);
    }

    #[test]
    fn legacy_bcrypt_verifies_and_asks_for_rehash() {
        for prefix in ["$2a$", "$2b$", "$2y$"] {
            let h = bcrypt::hash("legacy-pass", 4).unwrap();
            let h = format!("{prefix}{}", &h[4..]);
            assert_eq!(
                verify_now("legacy-pass", &h),
                Verified::YesRehash,
                "{prefix}"
            );
            assert_eq!(verify_now("legacy-pasS", &h), Verified::No, "{prefix}");
        }
    }

    #[test]
    fn weaker_argon2_parameters_ask_for_rehash() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).unwrap(),
        );
        let h = weak.hash_password(b"pw-123456").unwrap().to_string();
        assert_eq!(verify_now("pw-123456", &h), Verified::YesRehash);
    }

    #[test]
    fn garbage_hash_never_verifies() {
        assert_eq!(verify_now("x", "not a hash"), Verified::No);
        assert_eq!(verify_now("x", ""), Verified::No);
    }
}
