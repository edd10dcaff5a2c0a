//! Face enrolment and the employee's own descriptors for on-device 1:1 matching.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::attendance::{DESCRIPTOR_LEN, MAX_MODEL_ID_LEN};
use crate::sync::{ValidationError, check_count, check_range, check_string};

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
    /// Shape rules: a model id and [`DESCRIPTOR_LEN`] finite values in [-1, 1].
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_string("model", &self.model, MAX_MODEL_ID_LEN)?;
        check_count("values", self.values.len(), DESCRIPTOR_LEN, DESCRIPTOR_LEN)?;
        for v in &self.values {
            check_range("values", f64::from(*v), -1.0, 1.0)?;
        }
        Ok(())
    }
}
