//! Face enrolment and the employee's own descriptors for on-device 1:1 matching.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::attendance::MAX_MODEL_ID_LEN;
use crate::sync::{ValidationError, check_descriptor_len, check_range, check_string};

/// `GET` — an employee's enrolled templates (metadata only); `POST` — enrols an employee's
/// face on their behalf (administrators; operators within their scope).
pub const EMPLOYEE_FACE_TEMPLATES_PATH: &str = "/api/v1/employees/{id}/face-templates";
/// `DELETE` — deletes one of an employee's templates and its photo (administrators;
/// operators within their scope).
pub const EMPLOYEE_FACE_TEMPLATE_PATH: &str = "/api/v1/employees/{id}/face-templates/{template_id}";
/// `POST` — starts a re-enrolment run: every employee with templates of another model than
/// the current one is re-enrolled from the stored enrolment photos, with consent
/// (administrators; audited).
pub const REENROLMENTS_PATH: &str = "/api/v1/face/reenrolments";
/// `GET` — a re-enrolment run's progress and the employees it could not re-enrol
/// (administrators).
pub const REENROLMENT_PATH: &str = "/api/v1/face/reenrolments/{id}";
/// `DELETE` — deletes one of the caller's templates and its photo.
pub const MY_FACE_TEMPLATE_PATH: &str = "/api/v1/me/face-templates/{id}";

/// `POST` — the employee's own face enrolment (multipart, 1–5 parts named [`PHOTO_PART`]);
/// `GET` — their templates' metadata.
pub const MY_FACE_TEMPLATES_PATH: &str = "/api/v1/me/face-templates";
/// `GET` — the employee's own descriptors (personal, allowed devices only).
pub const MY_FACE_DESCRIPTORS_PATH: &str = "/api/v1/me/face-templates/descriptors";
/// Name of the photo parts of an enrolment.
pub const PHOTO_PART: &str = "photo";
/// Most photos in one enrolment.
pub const MAX_ENROL_PHOTOS: usize = 5;

/// A descriptor for on-device 1:1 matching.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateDescriptor {
    pub id: Uuid,
    pub model: String,
    pub values: Vec<f32>,
}

impl TemplateDescriptor {
    /// Shape rules: a model id and [`crate::attendance::DESCRIPTOR_LEN`] (one embedder) or
    /// [`crate::attendance::FUSED_DESCRIPTOR_LEN`] (a fusion) finite values in [-1, 1].
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_string("model", &self.model, MAX_MODEL_ID_LEN)?;
        check_descriptor_len("values", self.values.len())?;
        for v in &self.values {
            check_range("values", f64::from(*v), -1.0, 1.0)?;
        }
        Ok(())
    }
}

/// Metadata of an enrolled template (never the descriptor).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FaceTemplate {
    pub id: Uuid,
    pub employee_id: Uuid,
    pub model_id: String,
    /// Detector confidence of the enrolled face, 0..=1.
    pub quality: f32,
    pub has_photo: bool,
    pub created_at: DateTime<Utc>,
}

/// Why an employee's templates were not re-enrolled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// No standing biometric consent.
    NoConsent,
    /// Biometric processing is restricted for the employee.
    Restricted,
    /// The template has no stored enrolment photo (or the photo is gone from the store).
    NoStoredPhoto,
    /// The current engine refuses the stored photo (quality or liveness).
    PhotoRefused,
}

/// An employee the run could not (fully) re-enrol.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Skipped {
    pub employee_id: Uuid,
    pub reason: SkipReason,
    /// Templates of the other model left as they were.
    pub templates: i32,
    /// The engine's refusal code, for `photo_refused`.
    pub detail: Option<String>,
}

/// A re-enrolment run and its progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reenrolment {
    pub id: Uuid,
    /// The model templates are re-computed with (set when the job starts).
    pub model_id: Option<String>,
    /// `queued`, `running`, `done` or `failed`.
    pub state: String,
    pub requested_by: Option<Uuid>,
    /// Employees with templates of another model when this attempt started.
    pub employees_total: i32,
    /// Of those, employees handled so far (re-enrolled or listed in `skipped`).
    pub employees_done: i32,
    pub templates_reenrolled: i32,
    #[cfg_attr(feature = "sqlx", sqlx(json))]
    pub skipped: Vec<Skipped>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}
