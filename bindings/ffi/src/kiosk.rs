//! `KioskTerminal`: a shared kiosk identifying people 1:N through the server with its own
//! credential (no employee session, no outbox: the person waits for the answer).

use std::sync::Arc;

use faceid_client::kiosk::{Kiosk, KioskAnswer};
use faceid_protocol::attendance::{PunchKind, Verdict};

use crate::FaceIdError;
use crate::face::FaceCapture;
use crate::records::PunchVerdict;
use crate::types::PunchDirection;

/// What the kiosk shows after an identification.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct KioskIdentification {
    /// Someone of the site was recognised and their punch recorded.
    pub recognised: bool,
    /// Why not: `empty_gallery`, `above_threshold`, `ambiguous`.
    pub reason: Option<String>,
    pub employee_id: Option<String>,
    pub employee_name: Option<String>,
    pub event_id: Option<String>,
    /// The recorded punch's verdict (`Flagged` e.g. for a weak liveness score).
    pub verdict: Option<PunchVerdict>,
    pub reasons: Vec<String>,
}

impl From<KioskAnswer> for KioskIdentification {
    fn from(a: KioskAnswer) -> Self {
        let recognised = a.is_match();
        let event = a.event;
        KioskIdentification {
            recognised,
            reason: a.reason,
            employee_id: a.employee_id.map(|id| id.to_string()),
            employee_name: a.employee_name,
            event_id: event.as_ref().map(|e| e.event_id.to_string()),
            verdict: event.as_ref().map(|e| match e.verdict {
                Verdict::Verified => PunchVerdict::Verified,
                Verdict::Flagged => PunchVerdict::Flagged,
                Verdict::Rejected => PunchVerdict::Rejected,
            }),
            reasons: event.map(|e| e.reasons).unwrap_or_default(),
        }
    }
}

#[derive(Debug, uniffi::Object)]
pub struct KioskTerminal {
    kiosk: Kiosk,
}

#[uniffi::export(async_runtime = "tokio")]
impl KioskTerminal {
    /// `credential`: the kiosk's `fidk_…` credential an administrator created for it
    /// (anything else is `InvalidInput`, before any request).
    #[uniffi::constructor]
    pub fn new(server_url: String, credential: String) -> Result<Arc<Self>, FaceIdError> {
        let server = crate::normalize_server_url(server_url)?;
        Ok(Arc::new(Self {
            kiosk: Kiosk::new(&server, &credential)?,
        }))
    }

    /// Send the best frame of a finished passive capture (`FaceCapture.passive` → frames →
    /// `finish()`) and record the recognised person's punch (`direction`; `None`: the server
    /// toggles from their last punch). The capture is used up.
    pub async fn identify(
        &self,
        capture: Arc<FaceCapture>,
        direction: Option<PunchDirection>,
    ) -> Result<KioskIdentification, FaceIdError> {
        let captured = capture.take_finished()?;
        let kind = direction.map(|d| match d {
            PunchDirection::In => PunchKind::In,
            PunchDirection::Out => PunchKind::Out,
        });
        let answer = self.kiosk.identify(captured.best_frame_jpeg, kind).await?;
        Ok(answer.into())
    }
}
