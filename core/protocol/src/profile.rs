//! The employee's own profile photo (`/api/v1/me/photo`): `GET` the JPEG, `PUT` a multipart
//! upload (one part named `photo`), `DELETE` it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `GET` — an employee's profile photo (administrators; operators within their scope);
/// `PUT` — sets an employee's profile photo (administrators; operators within their scope);
/// `DELETE` — removes an employee's profile photo (administrators; operators within their
/// scope).
pub const EMPLOYEE_PHOTO_PATH: &str = "/api/v1/employees/{id}/photo";

pub const MY_PHOTO_PATH: &str = "/api/v1/me/photo";

/// The answer to an upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProfilePhotoSet {
    pub photo_updated_at: DateTime<Utc>,
}
