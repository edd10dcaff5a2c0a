//! Location endpoints: batch upload, tracks, tracking policies. The domain is
//! [`crate::locations`].

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

mod batch;
mod policy;
mod tracks;

pub use batch::MAX_BATCH_BODY_BYTES;
pub use tracks::{Range, Track, TrackPoint};

/// Batch upload (with its own body limit), tracks and tracking policies.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(
            OpenApiRouter::new()
                .routes(routes!(batch::batch))
                .layer(axum::extract::DefaultBodyLimit::max(MAX_BATCH_BODY_BYTES)),
        )
        .routes(routes!(tracks::my_locations))
        .routes(routes!(tracks::employee_locations))
        .routes(routes!(policy::my_policy))
        .routes(routes!(policy::employee_policy, policy::put_employee_policy))
        .routes(routes!(
            policy::department_policy,
            policy::put_department_policy
        ))
}
