//! Data-subject rights and retention: the one owner of what an employee may ask about their
//! own data and of how long the server keeps it ([docs/privacy.md](../../../docs/privacy.md)).
//!
//! * [`export`]: an employee (or staff on their behalf) asks for everything the server holds
//!   about them; the `privacy.export` job writes a ZIP (JSON and CSV per table, the photos, a
//!   README in the employee's language) to `data_dir/exports`, downloadable until it expires.
//! * [`correction`]: an employee asks for a punch or a personal field to be corrected; the
//!   request waits in the operators' queue, and accepting it appends a correction event to
//!   the chain or updates the field.
//! * [`erasure`]: the employee files an erasure request (biometrics, locations, photos,
//!   everything); an administrator approves or refuses it; approval enqueues the
//!   `privacy.erasure` cascade. Attendance events stay for the legal period; an erased
//!   evidence photo leaves its hashed `photo_key` in the chain and is marked
//!   `photo_erased_at`, so the chain still verifies.
//! * [`restriction`]: biometric processing or tracking restricted until lifted: check-in,
//!   enrolment, kiosk identification and location batches refuse with
//!   `processing_restricted`.
//! * [`retention`]: the hourly `privacy.retention` job: evidence photos, expired refresh
//!   tokens, expired exports, dismissed employees after the legal period.

pub mod correction;
pub mod erasure;
pub mod export;
pub mod restriction;
pub mod retention;

use std::time::Duration;

use crate::AppState;
use crate::jobs::{Outcome, Registry, worker::KindConfig};

/// The job kind that writes an export.
pub const EXPORT_JOB: &str = "privacy.export";
/// The job kind of an approved erasure request's cascade.
pub const ERASURE_JOB: &str = "privacy.erasure";
/// The periodic retention run.
pub const RETENTION_JOB: &str = "privacy.retention";

/// How long things are kept (from [`crate::Settings`]).
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub evidence_photo_days: u32,
    pub export_keep_hours: u32,
    pub dismissed_years: u32,
}

impl Retention {
    pub fn from_settings(s: &crate::Settings) -> Self {
        Self {
            evidence_photo_days: s.evidence_photo_retention_days,
            export_keep_hours: s.export_keep_hours,
            dismissed_years: s.dismissed_retention_years,
        }
    }
}

/// Registers the export and erasure jobs and the hourly retention run.
pub fn register_jobs(registry: &mut Registry, state: AppState) {
    let s = state.clone();
    registry.handle(
        EXPORT_JOB,
        KindConfig {
            max_attempts: export::MAX_ATTEMPTS,
            lease: Duration::from_secs(10 * 60),
            backoff_base: Duration::from_secs(10),
            backoff_max: Duration::from_secs(10 * 60),
        },
        move |job| {
            let state = s.clone();
            async move { export::run_job(&state, &job).await }
        },
    );
    let s = state.clone();
    registry.handle(
        ERASURE_JOB,
        KindConfig {
            max_attempts: 10,
            lease: Duration::from_secs(10 * 60),
            backoff_base: Duration::from_secs(10),
            backoff_max: Duration::from_secs(30 * 60),
        },
        move |job| {
            let state = s.clone();
            async move { erasure::run_job(&state, &job).await }
        },
    );
    registry
        .handle(
            RETENTION_JOB,
            KindConfig {
                max_attempts: 5,
                lease: Duration::from_secs(30 * 60),
                backoff_base: Duration::from_secs(60),
                backoff_max: Duration::from_secs(30 * 60),
            },
            move |_job| {
                let state = state.clone();
                async move {
                    let r = Retention::from_settings(&state.settings);
                    match retention::run(&state, chrono::Utc::now(), &r).await {
                        Ok(_) => Outcome::Done,
                        Err(e) => Outcome::Retry(e.to_string()),
                    }
                }
            },
        )
        .every(RETENTION_JOB, Duration::from_secs(3600));
}
