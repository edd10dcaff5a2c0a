//! Locations over HTTP: batches from phones ([`batch`]), tracks ([`tracks`]) and tracking
//! policies ([`policy`]); the domain is [`crate::locations`].

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::locations::MAX_BATCH_BODY_BYTES;

pub mod batch;
pub mod policy;
pub mod tracks;

/// The location routes (batches with their own body limit).
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
        .routes(routes!(
            policy::employee_policy,
            policy::put_employee_policy,
            policy::delete_employee_policy
        ))
        .routes(routes!(
            policy::department_policy,
            policy::put_department_policy,
            policy::delete_department_policy
        ))
}
