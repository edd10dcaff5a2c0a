//! Active liveness challenges: a random sequence of head movements bound to a nonce, an
//! employee and a device (or, for a kiosk, to the kiosk device alone); short-lived and single
//! use. The handler issuing one is `routes::liveness`.

use chrono::{DateTime, Utc};
use faceid_face::liveness::active::{self, HeadMovement};
use faceid_face::{Engine, EngineError, Measurement};
use faceid_protocol::error_code::ErrorCode;
use faceid_protocol::liveness::{
    CHALLENGE_TTL_S, HeadAction, LivenessChallenge, MAX_CHALLENGE_ACTIONS, MIN_CHALLENGE_ACTIONS,
};
use faceid_protocol::reason_code::ReasonCode;
use faceid_protocol::wire_text::WireText;
use rand::Rng;
use sqlx::PgPool;
use uuid::Uuid;

const ALL_ACTIONS: [HeadAction; 4] = [
    HeadAction::TurnLeft,
    HeadAction::TurnRight,
    HeadAction::LookUp,
    HeadAction::LookDown,
];

/// 2–3 random head movements, never the same one twice in a row.
pub fn random_actions(rng: &mut impl Rng) -> Vec<HeadAction> {
    let n = rng.random_range(MIN_CHALLENGE_ACTIONS..=MAX_CHALLENGE_ACTIONS);
    let mut out: Vec<HeadAction> = Vec::with_capacity(n);
    while out.len() < n {
        let a = ALL_ACTIONS[rng.random_range(0..ALL_ACTIONS.len())];
        if out.last() != Some(&a) {
            out.push(a);
        }
    }
    out
}

/// A challenge as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Challenge {
    pub nonce: String,
    /// `None`: a kiosk challenge, bound to the kiosk device only.
    pub employee_id: Option<Uuid>,
    pub device_id: Uuid,
    pub actions: Vec<HeadAction>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Why a nonce cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ChallengeError {
    #[error("unknown challenge nonce")]
    Unknown,
    #[error("the challenge has expired")]
    Expired,
    #[error("the challenge was already used")]
    AlreadyUsed,
    #[error("the challenge was issued to another employee or device")]
    WrongSubject,
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

impl ChallengeError {
    /// Stable code for problem+json answers and verdict reasons.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unknown => ErrorCode::ChallengeUnknown,
            Self::Expired => ErrorCode::ChallengeExpired,
            Self::AlreadyUsed => ErrorCode::ChallengeUsed,
            Self::WrongSubject => ErrorCode::ChallengeWrongSubject,
            Self::Db(_) => ErrorCode::Internal,
        }
    }
}

/// Issues and stores a challenge for `employee` on `device`.
pub async fn issue(
    pool: &PgPool,
    employee: Uuid,
    device: Uuid,
) -> Result<LivenessChallenge, sqlx::Error> {
    issue_for(pool, Some(employee), device).await
}

/// Issues and stores a challenge for whoever stands in front of the kiosk `device`.
pub async fn issue_kiosk(pool: &PgPool, device: Uuid) -> Result<LivenessChallenge, sqlx::Error> {
    issue_for(pool, None, device).await
}

async fn issue_for(
    pool: &PgPool,
    employee: Option<Uuid>,
    device: Uuid,
) -> Result<LivenessChallenge, sqlx::Error> {
    let (nonce, actions) = {
        let mut rng = rand::rng();
        let mut bytes = [0u8; 32];
        rng.fill(&mut bytes);
        (hex::encode(bytes), random_actions(&mut rng))
    };
    let expires_at: DateTime<Utc> = sqlx::query_scalar(
        "INSERT INTO liveness_challenges (nonce, employee_id, device_id, actions, expires_at)
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))
         RETURNING expires_at",
    )
    .bind(&nonce)
    .bind(employee)
    .bind(device)
    .bind(&actions)
    .bind(CHALLENGE_TTL_S as f64)
    .fetch_one(pool)
    .await?;
    Ok(LivenessChallenge {
        nonce,
        actions,
        expires_at,
    })
}

/// A `liveness_challenges` row: nonce, employee, device, actions, created, expires.
pub(crate) type ChallengeRow = (
    String,
    Option<Uuid>,
    Uuid,
    Vec<String>,
    DateTime<Utc>,
    DateTime<Utc>,
);

pub(crate) fn into_challenge(r: ChallengeRow) -> Challenge {
    Challenge {
        nonce: r.0,
        employee_id: r.1,
        device_id: r.2,
        actions: r
            .3
            .iter()
            .filter_map(|s| HeadAction::from_wire_text(s))
            .collect(),
        created_at: r.4,
        expires_at: r.5,
    }
}

/// Marks the challenge used and returns it, if it is live, unused and issued to this employee
/// on this device. Atomic: of two concurrent calls with one nonce, one wins.
pub async fn consume_challenge(
    pool: &PgPool,
    nonce: &str,
    employee: Uuid,
    device: Uuid,
) -> Result<Challenge, ChallengeError> {
    consume_for(pool, nonce, Some(employee), device).await
}

/// Marks a kiosk challenge used and returns it, if it is live, unused and was issued to the
/// kiosk `device` (an employee's challenge is not a kiosk's, and the other way round).
pub async fn consume_kiosk_challenge(
    pool: &PgPool,
    nonce: &str,
    device: Uuid,
) -> Result<Challenge, ChallengeError> {
    consume_for(pool, nonce, None, device).await
}

async fn consume_for(
    pool: &PgPool,
    nonce: &str,
    employee: Option<Uuid>,
    device: Uuid,
) -> Result<Challenge, ChallengeError> {
    let won: Option<ChallengeRow> = sqlx::query_as(
        "UPDATE liveness_challenges SET used_at = now()
         WHERE nonce = $1 AND employee_id IS NOT DISTINCT FROM $2 AND device_id = $3
           AND used_at IS NULL AND expires_at > now()
         RETURNING nonce, employee_id, device_id, actions, created_at, expires_at",
    )
    .bind(nonce)
    .bind(employee)
    .bind(device)
    .fetch_optional(pool)
    .await?;
    if let Some(r) = won {
        return Ok(into_challenge(r));
    }
    Err(why_unusable(pool, nonce, employee, device).await)
}

/// Why a challenge could not be consumed (the consuming `UPDATE` matched no row).
pub(crate) async fn why_unusable<'e>(
    conn: impl sqlx::PgExecutor<'e>,
    nonce: &str,
    employee: Option<Uuid>,
    device: Uuid,
) -> ChallengeError {
    // (employee, device, used at, expired)
    type Why = (Option<Uuid>, Uuid, Option<DateTime<Utc>>, bool);
    let row: Option<Why> = match sqlx::query_as(
        "SELECT employee_id, device_id, used_at, expires_at <= now() FROM liveness_challenges WHERE nonce = $1",
    )
    .bind(nonce)
    .fetch_optional(conn)
    .await
    {
        Ok(row) => row,
        Err(e) => return ChallengeError::Db(e),
    };
    match row {
        None => ChallengeError::Unknown,
        Some((e, d, _, _)) if e != employee || d != device => ChallengeError::WrongSubject,
        Some((_, _, Some(_), _)) => ChallengeError::AlreadyUsed,
        Some((_, _, None, true)) => ChallengeError::Expired,
        // Raced with a concurrent consumer that has not committed: treat as used.
        Some(_) => ChallengeError::AlreadyUsed,
    }
}

/// Scores a consumed challenge against the measured frames (the same scoring for a phone
/// punch and a kiosk): `None` when it passed, else the reason — `challenge_failed` (the
/// movements were not seen in time) or `challenge_face_mismatch` (the challenge face is not
/// the best frame's face).
pub fn score(
    engine: &Engine,
    measured: &mut Measurement,
    c: &Challenge,
) -> Result<Option<ReasonCode>, EngineError> {
    let millis = |t: DateTime<Utc>| u64::try_from(t.timestamp_millis()).unwrap_or(0);
    let challenge = active::Challenge {
        nonce: c.nonce.clone(),
        actions: c.actions.iter().map(|&a| HeadMovement::from(a)).collect(),
        issued_at_ms: millis(c.created_at),
        expires_at_ms: millis(c.expires_at),
    };
    let score = measured.score_challenge(engine, &challenge, millis(Utc::now()))?;
    Ok(if !score.verdict.passed {
        Some(ReasonCode::ChallengeFailed)
    } else if score.same_face_as_best == Some(false) {
        Some(ReasonCode::ChallengeFaceMismatch)
    } else {
        None
    })
}

/// Deletes challenges that expired more than a day ago.
pub async fn purge_expired(pool: &PgPool) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM liveness_challenges WHERE expires_at < now() - interval '1 day'")
            .execute(pool)
            .await?
            .rows_affected(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_two_or_three_without_immediate_repeats() {
        let mut rng = rand::rng();
        let mut lens = std::collections::BTreeSet::new();
        for _ in 0..2_000 {
            let a = random_actions(&mut rng);
            assert!((MIN_CHALLENGE_ACTIONS..=MAX_CHALLENGE_ACTIONS).contains(&a.len()));
            assert!(a.windows(2).all(|w| w[0] != w[1]), "{a:?}");
            lens.insert(a.len());
        }
        assert_eq!(lens.len(), 2, "both lengths occur");
        for a in ALL_ACTIONS {
            assert_eq!(HeadAction::from_wire_text(a.wire_text()), Some(a));
        }
    }
}
