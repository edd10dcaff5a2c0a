//! Shift templates, schedules, their assignments, the holiday calendar and absences.
//!
//! Administrators edit templates, schedules and the calendar; operators assign schedules and
//! enter absences within their departments and sites. Every change drops the computed days
//! it affects (`timesheet::store::invalidate`), so reports recompute them.
//!
//! [`templates`] (shift templates and schedules), [`assignments`], [`calendar`] (holidays),
//! [`absences`] and [`settings`] (the rules of the computation).

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub mod absences;
pub mod assignments;
pub mod calendar;
pub mod settings;
pub mod templates;

pub use templates::MAX_ROSTER_DAYS;

/// The routes of schedules, the holiday calendar, absences and the computation's rules.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            templates::list_templates,
            templates::create_template
        ))
        .routes(routes!(templates::delete_template))
        .routes(routes!(
            templates::list_schedules,
            templates::create_schedule
        ))
        .routes(routes!(templates::get_schedule, templates::delete_schedule))
        .routes(routes!(
            assignments::list_assignments,
            assignments::create_assignment
        ))
        .routes(routes!(assignments::delete_assignment))
        .routes(routes!(
            calendar::get_holidays,
            calendar::put_holidays,
            calendar::add_holiday
        ))
        .routes(routes!(absences::list_absences, absences::create_absence))
        .routes(routes!(absences::delete_absence))
        .routes(routes!(settings::get_settings, settings::put_settings))
}
