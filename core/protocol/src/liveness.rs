//! Active liveness challenge: a random sequence of head movements bound to a nonce.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `POST` — issue a challenge for the current employee and device (empty body).
pub const LIVENESS_CHALLENGES_PATH: &str = "/api/v1/liveness/challenges";
/// Fewest and most actions in one challenge.
pub const MIN_CHALLENGE_ACTIONS: usize = 2;
pub const MAX_CHALLENGE_ACTIONS: usize = 3;
/// How long a challenge is valid.
pub const CHALLENGE_TTL_S: i64 = 120;
/// Longest accepted nonce, in bytes.
pub const MAX_NONCE_LEN: usize = 128;

/// One head movement (never a facial expression, for accessibility).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "sqlx",
    derive(sqlx::Type),
    sqlx(type_name = "text", rename_all = "snake_case")
)]
pub enum HeadAction {
    TurnLeft,
    TurnRight,
    LookUp,
    LookDown,
}

impl crate::wire_text::WireText for HeadAction {}

/// Answer to `POST /api/v1/liveness/challenges`. Single use, bound to employee and device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LivenessChallenge {
    pub nonce: String,
    pub actions: Vec<HeadAction>,
    pub expires_at: DateTime<Utc>,
}

impl LivenessChallenge {
    /// Whether the challenge can still be used at `now` (server time).
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        now < self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_wire_form() {
        let c: LivenessChallenge = serde_json::from_str(
            r#"{"nonce":"abc","actions":["turn_left","look_up"],"expires_at":"2026-03-02T09:02:00Z"}"#,
        )
        .expect("challenge");
        assert_eq!(c.actions, vec![HeadAction::TurnLeft, HeadAction::LookUp]);
        let before = "2026-03-02T09:01:59Z".parse().expect("time");
        let after = "2026-03-02T09:02:00Z".parse().expect("time");
        assert!(c.is_live(before));
        assert!(!c.is_live(after));
    }
}
