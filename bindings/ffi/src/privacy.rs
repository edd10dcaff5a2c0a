//! The employee's own data from the app (`FaceIdClient.my_data()` → [`MyData`]): the export
//! (started, polled, downloaded to a file), erasure and correction requests with their state,
//! the restriction of biometrics or tracking, and the Telegram link. Every call is online.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use faceid_client::privacy::{
    self, Correction, EmployeeCorrectionRequest, ErasureRequest, ErasureScope, ExportPoll,
    ExportStatus, Restrictions,
};
use faceid_client::profile;
use faceid_client::telegram::{self, TelegramLink, TelegramNotifications};

use crate::FaceIdError;
use crate::client::Shared;
use crate::types::{from_system, to_system, uuid};

/// An export of everything the server holds about the employee.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ExportInfo {
    pub id: String,
    /// `queued`, `ready`, `failed` or `expired`.
    pub state: String,
    pub created_at: SystemTime,
    pub expires_at: Option<SystemTime>,
}

impl From<ExportStatus> for ExportInfo {
    fn from(s: ExportStatus) -> Self {
        ExportInfo {
            id: s.id.to_string(),
            state: s.state,
            created_at: to_system(s.created_at),
            expires_at: s.expires_at.map(to_system),
        }
    }
}

/// What polling an export found.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum ExportProgress {
    /// Still being written: poll again in a few seconds.
    Pending { export: ExportInfo },
    /// The ZIP is in the file asked for.
    Downloaded { path: String, bytes: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ErasureKind {
    Biometrics,
    Locations,
    Photos,
    Everything,
}

impl From<ErasureKind> for ErasureScope {
    fn from(k: ErasureKind) -> Self {
        match k {
            ErasureKind::Biometrics => ErasureScope::Biometrics,
            ErasureKind::Locations => ErasureScope::Locations,
            ErasureKind::Photos => ErasureScope::Photos,
            ErasureKind::Everything => ErasureScope::Everything,
        }
    }
}

impl From<ErasureScope> for ErasureKind {
    fn from(k: ErasureScope) -> Self {
        match k {
            ErasureScope::Biometrics => ErasureKind::Biometrics,
            ErasureScope::Locations => ErasureKind::Locations,
            ErasureScope::Photos => ErasureKind::Photos,
            ErasureScope::Everything => ErasureKind::Everything,
        }
    }
}

/// Something an erasure kept, and why.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct KeptInfo {
    pub what: String,
    pub count: i64,
    pub why: String,
}

/// An erasure request and its state (`pending`, `approved`, `done`, `refused`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ErasureInfo {
    pub id: String,
    pub scope: ErasureKind,
    pub state: String,
    pub requested_at: SystemTime,
    pub decided_at: Option<SystemTime>,
    pub refusal_reason: Option<String>,
    /// When done: what was kept and why.
    pub kept: Vec<KeptInfo>,
}

impl From<ErasureRequest> for ErasureInfo {
    fn from(r: ErasureRequest) -> Self {
        // The client core refuses requests of an unknown scope.
        let scope = r.scope_kind().map_or(ErasureKind::Everything, Into::into);
        let outcome = r.erasure_outcome();
        ErasureInfo {
            id: r.id.to_string(),
            scope,
            state: r.state,
            requested_at: to_system(r.requested_at),
            decided_at: r.decided_at.map(to_system),
            refusal_reason: r.refusal_reason,
            kept: outcome
                .map(|o| o.kept)
                .unwrap_or_default()
                .into_iter()
                .map(|k| KeptInfo {
                    what: k.what,
                    count: k.count,
                    why: k.why,
                })
                .collect(),
        }
    }
}

/// A correction request and its state (`pending`, `accepted`, `rejected`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CorrectionInfo {
    pub id: String,
    /// `punch` or `field`.
    pub kind: String,
    pub event_id: Option<String>,
    pub punch_kind: Option<String>,
    pub at: Option<SystemTime>,
    pub field: Option<String>,
    pub value: Option<String>,
    pub comment: String,
    pub state: String,
    pub decision_comment: Option<String>,
    pub created_at: SystemTime,
}

impl From<EmployeeCorrectionRequest> for CorrectionInfo {
    fn from(r: EmployeeCorrectionRequest) -> Self {
        CorrectionInfo {
            id: r.id.to_string(),
            kind: r.kind,
            event_id: r.event_id.map(|e| e.to_string()),
            punch_kind: r.punch_kind,
            at: r.at.map(to_system),
            field: r.field,
            value: r.value,
            comment: r.comment,
            state: r.state,
            decision_comment: r.decision_comment,
            created_at: to_system(r.created_at),
        }
    }
}

/// What processing of the employee is restricted, and since when (`None`: not restricted).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RestrictionInfo {
    pub biometrics: bool,
    pub tracking: bool,
    pub biometrics_since: Option<SystemTime>,
    pub tracking_since: Option<SystemTime>,
    /// Set by an administrator (not the employee themself).
    pub biometrics_by_admin: bool,
    pub tracking_by_admin: bool,
}

impl RestrictionInfo {
    fn of(r: Restrictions, me: Option<uuid::Uuid>) -> Self {
        let item = |kind: &str| r.items.iter().find(|i| i.kind == kind);
        let by_admin = |kind: &str| {
            item(kind).is_some_and(|i| i.restricted_by.is_some() && i.restricted_by != me)
        };
        RestrictionInfo {
            biometrics: r.biometrics,
            tracking: r.tracking,
            biometrics_since: item("biometrics").map(|i| to_system(i.restricted_at)),
            tracking_since: item("tracking").map(|i| to_system(i.restricted_at)),
            biometrics_by_admin: by_admin("biometrics"),
            tracking_by_admin: by_admin("tracking"),
        }
    }
}

/// The Telegram notification switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct TelegramSwitches {
    pub punches: bool,
    pub flagged: bool,
    pub reviews: bool,
    pub late: bool,
    pub absent: bool,
    pub checkout: bool,
    pub summary: bool,
}

impl From<TelegramNotifications> for TelegramSwitches {
    fn from(n: TelegramNotifications) -> Self {
        TelegramSwitches {
            punches: n.punches,
            flagged: n.flagged,
            reviews: n.reviews,
            late: n.late,
            absent: n.absent,
            checkout: n.checkout,
            summary: n.summary,
        }
    }
}

impl From<TelegramSwitches> for TelegramNotifications {
    fn from(n: TelegramSwitches) -> Self {
        TelegramNotifications {
            punches: n.punches,
            flagged: n.flagged,
            reviews: n.reviews,
            late: n.late,
            absent: n.absent,
            checkout: n.checkout,
            summary: n.summary,
        }
    }
}

/// The employee's Telegram link.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TelegramInfo {
    pub bot_username: Option<String>,
    pub linked: bool,
    /// `active`, `blocked` or `broken` when linked.
    pub status: Option<String>,
    pub status_reason: Option<String>,
    pub telegram_username: Option<String>,
    pub switches: Option<TelegramSwitches>,
}

impl From<TelegramLink> for TelegramInfo {
    fn from(l: TelegramLink) -> Self {
        TelegramInfo {
            bot_username: l.bot_username,
            linked: l.linked,
            status: l.status,
            status_reason: l.status_reason,
            telegram_username: l.telegram_username,
            switches: l.notifications.map(Into::into),
        }
    }
}

/// The employee's own data (`FaceIdClient.my_data()`).
#[derive(uniffi::Object)]
pub struct MyData {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for MyData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MyData")
    }
}

fn language(l: Option<String>) -> Option<String> {
    l.map(|l| l.trim().to_lowercase()).filter(|l| !l.is_empty())
}

#[uniffi::export(async_runtime = "tokio")]
impl MyData {
    /// Starts an export; its README in `language` (`ru`, `tg`, `en`).
    pub async fn start_export(&self, language: Option<String>) -> Result<ExportInfo, FaceIdError> {
        let lang = self::language(language);
        let r = privacy::start_export(&self.shared.session, lang.as_deref()).await;
        Ok(self.shared.result(r).await?.into())
    }

    /// Polls export `id`; once ready its ZIP is written to `dest_path` (a file the app owns).
    /// Failed or expired: `InvalidInput` (`export_failed`, `export_expired`).
    pub async fn poll_export(
        &self,
        id: String,
        dest_path: String,
    ) -> Result<ExportProgress, FaceIdError> {
        let id = uuid("export id", &id)?;
        let dest = PathBuf::from(&dest_path);
        let r = privacy::poll_export(&self.shared.session, id, &dest).await;
        Ok(match self.shared.result(r).await? {
            ExportPoll::Pending(s) => ExportProgress::Pending { export: s.into() },
            ExportPoll::Downloaded { bytes } => ExportProgress::Downloaded {
                path: dest_path,
                bytes,
            },
        })
    }

    /// Asks for erasure of `scope`, with an optional note for the administrator.
    pub async fn request_erasure(
        &self,
        scope: ErasureKind,
        comment: Option<String>,
    ) -> Result<ErasureInfo, FaceIdError> {
        let r =
            privacy::request_erasure(&self.shared.session, scope.into(), comment.as_deref()).await;
        Ok(self.shared.result(r).await?.into())
    }

    /// The employee's erasure requests, newest first.
    pub async fn erasure_requests(&self) -> Result<Vec<ErasureInfo>, FaceIdError> {
        let r = privacy::erasure_requests(&self.shared.session).await;
        Ok(self
            .shared
            .result(r)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Asks for a punch to be corrected: `event_id` the wrong punch (none: a missing one),
    /// `direction` `in` or `out`, `at` when it really happened; `comment` says what is wrong.
    pub async fn request_punch_correction(
        &self,
        event_id: Option<String>,
        direction: String,
        at: SystemTime,
        comment: String,
    ) -> Result<CorrectionInfo, FaceIdError> {
        let what = Correction::Punch {
            event_id: event_id.map(|e| uuid("event id", &e)).transpose()?,
            punch_kind: direction,
            at: from_system(at),
        };
        let r = privacy::request_correction(&self.shared.session, &what, &comment).await;
        Ok(self.shared.result(r).await?.into())
    }

    /// Asks for a personal field (`first_name`, `last_name`) to be corrected to `value`.
    pub async fn request_field_correction(
        &self,
        field: String,
        value: String,
        comment: String,
    ) -> Result<CorrectionInfo, FaceIdError> {
        let what = Correction::Field { field, value };
        let r = privacy::request_correction(&self.shared.session, &what, &comment).await;
        Ok(self.shared.result(r).await?.into())
    }

    /// The employee's correction requests, newest first.
    pub async fn correction_requests(&self) -> Result<Vec<CorrectionInfo>, FaceIdError> {
        let r = privacy::correction_requests(&self.shared.session).await;
        Ok(self
            .shared
            .result(r)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// What processing is restricted now.
    pub async fn restrictions(&self) -> Result<RestrictionInfo, FaceIdError> {
        let r = privacy::restrictions(&self.shared.session).await;
        let me = self.shared.session.current_user().await.map(|u| u.id);
        Ok(RestrictionInfo::of(self.shared.result(r).await?, me))
    }

    /// Restricts (`true`) or lifts (`false`) biometric processing and / or tracking; `None`
    /// leaves that one as it is. Nothing is deleted.
    pub async fn set_restrictions(
        &self,
        biometrics: Option<bool>,
        tracking: Option<bool>,
    ) -> Result<RestrictionInfo, FaceIdError> {
        let r = privacy::set_restrictions(&self.shared.session, biometrics, tracking).await;
        let me = self.shared.session.current_user().await.map(|u| u.id);
        Ok(RestrictionInfo::of(self.shared.result(r).await?, me))
    }

    /// The profile photo (JPEG, at most 512 px); `None` when there is none.
    pub async fn photo(&self) -> Result<Option<Vec<u8>>, FaceIdError> {
        let r = profile::my_photo(&self.shared.session).await;
        self.shared.result(r).await
    }

    /// Sets the profile photo from JPEG or PNG bytes (the server re-encodes it); answers when
    /// it was set. Not an image: `InvalidInput`.
    pub async fn set_photo(&self, image: Vec<u8>) -> Result<SystemTime, FaceIdError> {
        let r = profile::set_my_photo(&self.shared.session, &image).await;
        Ok(to_system(self.shared.result(r).await?))
    }

    pub async fn delete_photo(&self) -> Result<(), FaceIdError> {
        let r = profile::delete_my_photo(&self.shared.session).await;
        self.shared.result(r).await
    }

    /// The Telegram link; `None` when the server has no bot (hide the section).
    pub async fn telegram(&self) -> Result<Option<TelegramInfo>, FaceIdError> {
        let r = telegram::link(&self.shared.session).await;
        Ok(self.shared.result(r).await?.map(Into::into))
    }

    /// A one-time deep link (`https://t.me/<bot>?start=<code>`) to open in Telegram. Without
    /// the telegram consent: `Unauthorized` (`telegram_consent_required`).
    pub async fn start_telegram_link(
        &self,
        language: Option<String>,
    ) -> Result<String, FaceIdError> {
        let lang = self::language(language);
        let r = telegram::start_linking(&self.shared.session, lang.as_deref()).await;
        Ok(self.shared.result(r).await?.url)
    }

    /// Sets the notification switches; answers the link as it is now.
    pub async fn set_telegram_switches(
        &self,
        switches: TelegramSwitches,
    ) -> Result<TelegramInfo, FaceIdError> {
        let r = telegram::set_notifications(&self.shared.session, switches.into()).await;
        Ok(self.shared.result(r).await?.into())
    }

    pub async fn unlink_telegram(&self) -> Result<(), FaceIdError> {
        let r = telegram::unlink(&self.shared.session).await;
        self.shared.result(r).await
    }
}
