//! A kiosk: a shared device at a site's entrance that identifies people 1:N through the server
//! (`POST /api/v1/kiosk/identify`) with its own credential (created by an administrator, sent as
//! `Authorization: Bearer fidk_…`). No employee session and no outbox: the person stands in
//! front of the kiosk and waits for the answer, so an unreachable server is an error to show,
//! not work to queue.

use faceid_protocol::attendance::{BEST_FRAME_PART, CheckInResponse, EVIDENCE_PART, PunchKind};
use faceid_protocol::devices::KIOSK_CREDENTIAL_PREFIX;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::http::{HttpConfig, build_client, normalise_base, read_answer};
use crate::session::SessionError;

pub use faceid_protocol::kiosk::KIOSK_IDENTIFY_PATH;

/// The JSON part of an identification.
#[derive(Debug, Clone, Serialize)]
struct KioskEvidence {
    idempotency_key: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<PunchKind>,
}

/// The server's answer (`KioskAnswer` in backend/src/attendance.rs).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct KioskAnswer {
    /// `match` or `unknown`.
    pub decision: String,
    /// Why unknown: `empty_gallery`, `above_threshold`, `ambiguous`.
    pub reason: Option<String>,
    pub employee_id: Option<Uuid>,
    pub employee_name: Option<String>,
    /// The punch recorded for the person identified.
    pub event: Option<CheckInResponse>,
}

impl KioskAnswer {
    pub fn is_match(&self) -> bool {
        self.decision == "match"
    }
}

/// One kiosk's connection to the server.
#[derive(Debug, Clone)]
pub struct Kiosk {
    http: reqwest::Client,
    base: String,
    credential: String,
}

impl Kiosk {
    /// A credential that is not a kiosk's (`fidk_…`) is refused here, before any request.
    pub fn new(server: &str, credential: &str) -> Result<Self, SessionError> {
        let credential = credential.trim();
        if !credential.starts_with(KIOSK_CREDENTIAL_PREFIX)
            || credential.len() <= KIOSK_CREDENTIAL_PREFIX.len()
        {
            return Err(SessionError::Invalid(
                "a kiosk credential starts with fidk_",
            ));
        }
        Ok(Self {
            http: build_client(HttpConfig::default())?,
            base: normalise_base(server)?,
            credential: credential.to_owned(),
        })
    }

    /// Identify the person on `best_frame_jpeg` among the site's employees and record their
    /// punch (`kind`; `None`: the server toggles from their last punch). Each call is a new
    /// attempt with its own idempotency key.
    pub async fn identify(
        &self,
        best_frame_jpeg: Vec<u8>,
        kind: Option<PunchKind>,
    ) -> Result<KioskAnswer, SessionError> {
        use reqwest::multipart::{Form, Part};
        let evidence = KioskEvidence {
            idempotency_key: Uuid::now_v7(),
            kind,
        };
        let json =
            serde_json::to_string(&evidence).map_err(|e| SessionError::Decode(e.to_string()))?;
        let typed = |p: Part, mime: &str| {
            p.mime_str(mime)
                .map_err(|_| SessionError::Invalid("bad content type"))
        };
        let form = Form::new()
            .part(EVIDENCE_PART, typed(Part::text(json), "application/json")?)
            .part(
                BEST_FRAME_PART,
                typed(
                    Part::bytes(best_frame_jpeg).file_name("best.jpg"),
                    "image/jpeg",
                )?,
            );
        let network = |e: reqwest::Error| SessionError::Network(e.to_string());
        let resp = self
            .http
            .post(format!("{}{KIOSK_IDENTIFY_PATH}", self.base))
            .bearer_auth(&self.credential)
            .multipart(form)
            .send()
            .await
            .map_err(network)?;
        let answer = read_answer(resp).await.map_err(network)?;
        match answer.status {
            200..=299 => {
                serde_json::from_str(&answer.body).map_err(|e| SessionError::Decode(e.to_string()))
            }
            408 | 429 | 500..=599 => Err(SessionError::Unavailable {
                status: answer.status,
                retry_after: answer.retry_after,
            }),
            status => Err(SessionError::Rejected {
                status,
                problem: answer.problem().map(Box::new),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_kiosk_credential_is_accepted() {
        assert_eq!(
            KIOSK_CREDENTIAL_PREFIX, "fidk_",
            "the refusal's message names it"
        );
        assert!(matches!(
            Kiosk::new("http://127.0.0.1:9", "not-a-credential"),
            Err(SessionError::Invalid(_))
        ));
        assert!(matches!(
            Kiosk::new("http://127.0.0.1:9", KIOSK_CREDENTIAL_PREFIX),
            Err(SessionError::Invalid(_))
        ));
        assert!(Kiosk::new("http://127.0.0.1:9/", " fidk_abc ").is_ok());
    }

    #[test]
    fn reads_match_and_unknown_answers() {
        let unknown: KioskAnswer = serde_json::from_str(
            r#"{"decision":"unknown","reason":"above_threshold","employee_id":null,"employee_name":null,"event":null}"#,
        )
        .expect("unknown");
        assert!(!unknown.is_match());
        assert_eq!(unknown.reason.as_deref(), Some("above_threshold"));
    }
}
