//! Attendance endpoints: phone check-in, kiosk identification, reviews and corrections,
//! listings and the attendance policy. The domain (chain, verdict, policy) is
//! [`crate::attendance`].

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

mod check_in;
mod kiosk;
mod listing;
mod policy;
mod review;
mod upload;

pub use kiosk::{KioskAnswer, KioskEvidence};
pub use listing::EventPage;
pub use review::{CorrectionRequest, ReviewRequest};

/// Check-in / check-out, kiosk identification, the attendance log and the policy.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(
            OpenApiRouter::new()
                .routes(routes!(check_in::check_in))
                .routes(routes!(kiosk::kiosk_identify))
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::face::MAX_PHOTO_BODY_BYTES,
                )),
        )
        .routes(routes!(policy::get_global_policy, policy::put_global_policy))
        .routes(routes!(policy::get_site_policy, policy::put_site_policy))
        .routes(routes!(review::chain_verify))
        .routes(routes!(review::review))
        .routes(routes!(review::correct))
        .routes(routes!(listing::my_attendance))
        .routes(routes!(listing::list))
        .routes(routes!(listing::photo))
}
