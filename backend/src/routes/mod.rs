//! HTTP handlers, one module per resource, collected into one OpenAPI-documented router.

use std::sync::Arc;

use axum::{Extension, Json};
use faceid_protocol::problem::{FieldError, Problem};
use faceid_protocol::{DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT};
use serde::Deserialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::AppError;

pub mod audit;
pub mod auth;
pub mod devices;
mod document;
pub mod employees;
pub mod face_reenrolments;
pub mod health;
pub mod hikvision;
pub mod iiko;
pub mod jobs;
pub mod live;
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
        .routes(routes!(employees::dismiss))
        .routes(routes!(employees::rehire))
        .routes(routes!(employees::reset_password))
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
        .routes(routes!(crate::kiosk_mode::set_pin))
        .routes(routes!(crate::kiosk_mode::start_session))
        .routes(routes!(crate::kiosk_mode::exit))
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
        .routes(routes!(hikvision::log))
        .routes(routes!(iiko::get, iiko::put))
        .routes(routes!(iiko::test))
        .routes(routes!(iiko::log))
        .routes(routes!(iiko::sync))
        .routes(routes!(iiko::export))
        .routes(routes!(iiko::schedules))
        .routes(routes!(iiko::dismissals, iiko::confirm_dismissals))
        .merge(attendance_routes())
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

/// Consent ledger, liveness challenges, locations and tracking policies.
fn attendance_routes() -> OpenApiRouter<AppState> {
    use crate::{consent, liveness, locations};
    OpenApiRouter::new()
        .merge(
            OpenApiRouter::new()
                .routes(routes!(locations::batch))
                .layer(axum::extract::DefaultBodyLimit::max(
                    locations::MAX_BATCH_BODY_BYTES,
                )),
        )
        .routes(routes!(locations::my_locations))
        .routes(routes!(locations::employee_locations))
        .routes(routes!(locations::my_policy))
        .routes(routes!(
            locations::employee_policy,
            locations::put_employee_policy,
            locations::delete_employee_policy
        ))
        .routes(routes!(
            locations::department_policy,
            locations::put_department_policy,
            locations::delete_department_policy
        ))
        .routes(routes!(consent::list_texts, consent::publish_text))
        .routes(routes!(consent::my_consents, consent::give_my_consent))
        .routes(routes!(
            consent::employee_consents,
            consent::record_paper_consent
        ))
        .routes(routes!(liveness::create))
        .routes(routes!(crate::kiosk::create_challenge))
        .merge(face_routes())
}

/// Face enrolment, check-in / check-out, kiosk identification and the attendance log.
fn face_routes() -> OpenApiRouter<AppState> {
    use crate::attendance as att;
    use crate::face_templates as ft;
    OpenApiRouter::new()
        .merge(
            OpenApiRouter::new()
                .routes(routes!(ft::enrol_me, ft::list_me))
                .routes(routes!(ft::enrol_employee, ft::list_employee))
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::face::MAX_PHOTO_BODY_BYTES,
                )),
        )
        .merge(
            OpenApiRouter::new()
                .routes(routes!(att::check_in))
                .routes(routes!(att::kiosk_identify))
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::face::MAX_PHOTO_BODY_BYTES,
                )),
        )
        .routes(routes!(ft::delete_me))
        .routes(routes!(ft::delete_employee))
        .routes(routes!(ft::my_descriptors))
        .routes(routes!(face_reenrolments::start))
        .routes(routes!(face_reenrolments::get))
        .routes(routes!(att::get_global_policy, att::put_global_policy))
        .routes(routes!(
            crate::routes::settings::get_map,
            crate::routes::settings::put_map
        ))
        .routes(routes!(
            crate::routes::settings::get_tracking_default,
            crate::routes::settings::put_tracking_default
        ))
        .routes(routes!(att::get_site_policy, att::put_site_policy))
        .routes(routes!(att::chain_verify))
        .routes(routes!(att::review))
        .routes(routes!(att::correct))
        .routes(routes!(att::my_attendance))
        .routes(routes!(att::list))
        .routes(routes!(att::photo))
}

/// Schedules, holiday calendar, absences and timesheet reports.
fn timesheet_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            schedules::list_templates,
            schedules::create_template
        ))
        .routes(routes!(schedules::delete_template))
        .routes(routes!(
            schedules::list_schedules,
            schedules::create_schedule
        ))
        .routes(routes!(schedules::get_schedule, schedules::delete_schedule))
        .routes(routes!(
            schedules::list_assignments,
            schedules::create_assignment
        ))
        .routes(routes!(schedules::delete_assignment))
        .routes(routes!(
            schedules::get_holidays,
            schedules::put_holidays,
            schedules::add_holiday
        ))
        .routes(routes!(schedules::list_absences, schedules::create_absence))
        .routes(routes!(schedules::delete_absence))
        .routes(routes!(schedules::get_settings, schedules::put_settings))
        .routes(routes!(reports::today))
        .routes(routes!(live::today_stream))
        .routes(routes!(reports::summary))
        .routes(routes!(reports::departments))
        .routes(routes!(reports::summary_export))
        .routes(routes!(reports::daily_export))
        .routes(routes!(reports::t13))
        .routes(routes!(reports::my_timesheet))
}

/// The OpenAPI 3 document of this API.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
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

/// The largest `offset` of a list: the document declares 32-bit integers.
pub const MAX_PAGE_OFFSET: u32 = i32::MAX as u32;

/// `?limit=&offset=` of list endpoints.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Items per page (1..=500, default 50).
    pub limit: Option<u32>,
    /// Items to skip.
    pub offset: Option<u32>,
}

impl Paging {
    pub fn resolve(limit: Option<u32>, offset: Option<u32>) -> Result<(u32, u32), AppError> {
        let limit = limit.unwrap_or(DEFAULT_PAGE_LIMIT);
        if limit == 0 || limit > MAX_PAGE_LIMIT {
            return Err(AppError::bad_request(
                "invalid_query",
                format!("limit must be within 1..={MAX_PAGE_LIMIT}"),
            ));
        }
        let offset = offset.unwrap_or(0);
        if offset > MAX_PAGE_OFFSET {
            return Err(AppError::bad_request(
                "invalid_query",
                format!("offset must be within 0..={MAX_PAGE_OFFSET}"),
            ));
        }
        Ok((limit, offset))
    }
}

/// Collects field errors and turns them into one 422.
#[derive(Default)]
pub struct Check(Vec<FieldError>);

impl Check {
    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }
    pub fn add(&mut self, field: &str, code: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_owned(),
            code: code.to_owned(),
            message: message.into(),
        });
    }
    /// A trimmed, non-empty text of at most `max` characters.
    pub fn text(&mut self, field: &str, value: &str, max: usize) -> String {
        let t = value.trim();
        if t.is_empty() {
            self.add(field, "required", "must not be empty");
        } else if t.chars().count() > max {
            self.add(
                field,
                "too_long",
                format!("must be at most {max} characters"),
            );
        } else if t.chars().any(char::is_control) {
            self.add(
                field,
                "invalid_characters",
                "must not contain control characters",
            );
        }
        t.to_owned()
    }
    /// The base URL of a device or server we call: `http://` or `https://` and a host (and
    /// port), without credentials, a query or a fragment; trailing slashes dropped.
    pub fn base_url(&mut self, field: &str, url: &str) -> String {
        let u = url.trim().trim_end_matches('/').to_owned();
        let rest = u
            .strip_prefix("http://")
            .or_else(|| u.strip_prefix("https://"));
        match rest {
            Some(host)
                if !host.is_empty() && !host.contains(['?', '#', ' ', '@']) && u.len() <= 200 => {}
            _ => self.add(
                field,
                "invalid_url",
                "http:// or https:// and a host (and port), without credentials",
            ),
        }
        u
    }
    /// Like [`Check::text`], but empty means `None`.
    pub fn opt_text(&mut self, field: &str, value: Option<&str>, max: usize) -> Option<String> {
        match value.map(str::trim) {
            None | Some("") => None,
            Some(v) => Some(self.text(field, v, max)),
        }
    }
    pub fn finish(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.0))
        }
    }
}
