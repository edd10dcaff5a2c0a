//! HTTP handlers, one module per resource, collected into one OpenAPI-documented router.

use faceid_protocol::OPENAPI_PATH;
use std::sync::Arc;

use axum::{Extension, Json};
use faceid_protocol::problem::{FieldError, Problem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::AppError;
pub use crate::extract::{Check, MAX_PAGE_OFFSET, Paging};

pub mod attendance;
pub mod audit;
pub mod auth;
pub mod consent;
pub mod devices;
mod document;
pub mod employees;
pub mod face_reenrol;
pub mod face_templates;
pub mod health;
pub mod hikvision;
pub mod iiko;
pub mod jobs;
pub mod kiosk_mode;
pub mod live;
pub mod liveness;
pub mod locations;
pub mod org;
pub mod privacy;
pub mod profile_photo;
pub mod reports;
pub mod schedules;
pub mod settings;
pub mod sites;
pub mod telegram;
pub mod web_session;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "FaceID API",
        description = "Employee time tracking and access control with face biometrics. Errors are `application/problem+json` with a stable `code`."
    ),
    modifiers(&BearerAuth),
    components(schemas(Problem, FieldError))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT, or a kiosk credential")
                    .build(),
            ),
        );
    }
}

/// The router and its OpenAPI document, finished by `document::finish` (unique operation ids,
/// every error documented).
pub fn api_parts() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = api_router().split_for_parts();
    document::finish(&mut doc);
    (router, doc)
}

/// Every route of the server. Only routes registered here exist, and each is in the OpenAPI
/// document (the authorisation test table is checked against that document).
fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(openapi_json))
        .routes(routes!(auth::login))
        .routes(routes!(auth::nonce))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(web_session::login))
        .routes(routes!(web_session::refresh))
        .routes(routes!(web_session::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::change_password))
        .routes(routes!(auth::my_sites))
        .routes(routes!(employees::list, employees::create))
        .routes(routes!(employees::get, employees::update))
        .routes(routes!(employees::lifecycle::dismiss))
        .routes(routes!(employees::lifecycle::rehire))
        .routes(routes!(employees::lifecycle::reset_password))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(
                    profile_photo::get_me,
                    profile_photo::put_me,
                    profile_photo::delete_me
                ))
                .routes(routes!(
                    profile_photo::get_employee,
                    profile_photo::put_employee,
                    profile_photo::delete_employee
                ))
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::face::MAX_PHOTO_BODY_BYTES,
                )),
        )
        .routes(routes!(org::list_departments, org::create_department))
        .routes(routes!(
            org::get_department,
            org::update_department,
            org::delete_department
        ))
        .routes(routes!(org::list_positions, org::create_position))
        .routes(routes!(
            org::get_position,
            org::update_position,
            org::delete_position
        ))
        .routes(routes!(sites::list, sites::create))
        .routes(routes!(sites::get, sites::update, sites::delete))
        .routes(routes!(devices::list, devices::create_kiosk))
        .routes(routes!(devices::get, devices::update))
        .routes(routes!(devices::block))
        .routes(routes!(devices::unblock))
        .routes(routes!(devices::rotate_credential))
        .routes(routes!(devices::kiosk_me))
        .routes(routes!(kiosk_mode::set_pin))
        .routes(routes!(kiosk_mode::start_session))
        .routes(routes!(kiosk_mode::exit))
        .routes(routes!(audit::list))
        .routes(routes!(jobs::list))
        .routes(routes!(jobs::retry))
        .routes(routes!(jobs::discard))
        .routes(routes!(telegram::create_link))
        .routes(routes!(
            telegram::get_mine,
            telegram::patch_mine,
            telegram::unlink_mine
        ))
        .routes(routes!(telegram::status))
        .routes(routes!(telegram::log))
        .routes(routes!(telegram::webhook))
        .routes(routes!(hikvision::list, hikvision::create))
        .routes(routes!(
            hikvision::get,
            hikvision::update,
            hikvision::delete
        ))
        .routes(routes!(hikvision::poll_now))
        .routes(routes!(hikvision::test_connection))
        .routes(routes!(hikvision::log))
        .routes(routes!(iiko::get, iiko::put))
        .routes(routes!(iiko::test))
        .routes(routes!(iiko::log))
        .routes(routes!(iiko::sync))
        .routes(routes!(iiko::export))
        .routes(routes!(iiko::schedules))
        .routes(routes!(iiko::dismissals, iiko::confirm_dismissals))
        .routes(routes!(face_reenrol::start))
        .routes(routes!(face_reenrol::get))
        .routes(routes!(settings::get_map, settings::put_map))
        .routes(routes!(
            settings::get_tracking_default,
            settings::put_tracking_default
        ))
        .merge(consent::routes())
        .merge(liveness::routes())
        .merge(face_templates::routes())
        .merge(locations::routes())
        .merge(attendance::routes())
        .merge(timesheet_routes())
        .merge(privacy_routes())
}

/// Data-subject rights: exports, correction and erasure requests, restrictions.
fn privacy_routes() -> OpenApiRouter<AppState> {
    use privacy::{correction, erasure, export, restriction};
    OpenApiRouter::new()
        .routes(routes!(correction::create_mine, correction::list_mine))
        .routes(routes!(correction::list))
        .routes(routes!(correction::decide))
        .routes(routes!(export::start_mine))
        .routes(routes!(export::get_mine))
        .routes(routes!(export::start_employee))
        .routes(routes!(export::get_employee))
        .routes(routes!(erasure::create_mine, erasure::list_mine))
        .routes(routes!(erasure::list))
        .routes(routes!(erasure::approve))
        .routes(routes!(erasure::refuse))
        .routes(routes!(restriction::get_mine, restriction::put_mine))
        .routes(routes!(
            restriction::get_employee,
            restriction::put_employee
        ))
}

/// Schedules, holiday calendar, absences and timesheet reports.
fn timesheet_routes() -> OpenApiRouter<AppState> {
    schedules::routes()
        .routes(routes!(reports::today))
        .routes(routes!(live::today_stream))
        .routes(routes!(reports::summary))
        .routes(routes!(reports::departments))
        .routes(routes!(reports::summary_export))
        .routes(routes!(reports::daily_export))
        .routes(routes!(reports::t13))
        .routes(routes!(reports::daily))
        .routes(routes!(reports::start_download, reports::list_downloads))
        .routes(routes!(reports::get_download))
        .routes(routes!(reports::download_file))
        .routes(routes!(reports::my_timesheet))
}

/// The OpenAPI 3 document of this API.
#[utoipa::path(get, path = OPENAPI_PATH, tag = "meta",
    responses((status = 200, description = "OpenAPI 3 document", content_type = "application/json")))]
pub async fn openapi_json(
    Extension(doc): Extension<Arc<utoipa::openapi::OpenApi>>,
) -> Json<utoipa::openapi::OpenApi> {
    Json((*doc).clone())
}

pub async fn not_found() -> AppError {
    AppError::not_found("route")
}

pub async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}
