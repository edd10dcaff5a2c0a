//! The authorisation table: every endpoint × every kind of caller, with the expected status.
//! The table is compared with the OpenAPI document the router is built from, so an endpoint
//! added without a row here fails this test.

mod common;

use sqlx::AssertSqlSafe;
use std::collections::BTreeSet;

use std::net::SocketAddr;

use axum::body::Body as AxumBody;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use common::{PASSWORD, Resp, TestApp};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sqlx::PgPool;
use tower::ServiceExt;
use uuid::Uuid;

/// Who calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    NoToken,
    Admin,
    Operator,
    User,
    Kiosk,
    /// An administrator's access token past its expiry.
    Expired,
    /// The token of an administrator who was dismissed afterwards.
    Dismissed,
    /// The token of an administrator whose device was blocked afterwards.
    BlockedDevice,
}

const EVERYONE: [Who; 8] = [
    Who::NoToken,
    Who::Admin,
    Who::Operator,
    Who::User,
    Who::Kiosk,
    Who::Expired,
    Who::Dismissed,
    Who::BlockedDevice,
];

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy)]
enum Access {
    Public,
    AnyEmployee,
    Staff,
    AdminOnly,
    KioskOnly,
}

impl Access {
    /// Expected (status, problem code) for a caller, given the status of a success.
    fn expect(self, who: Who, ok: u16) -> (u16, Option<&'static str>) {
        if matches!(self, Access::Public) {
            return (ok, None);
        }
        match who {
            Who::NoToken => (401, Some("unauthenticated")),
            Who::Expired => (401, Some("token_expired")),
            Who::Dismissed => (401, Some("account_disabled")),
            Who::BlockedDevice => (403, Some("device_blocked")),
            Who::Kiosk => match self {
                Access::KioskOnly => (ok, None),
                _ => (403, Some("kiosk_not_allowed")),
            },
            Who::Admin => match self {
                Access::KioskOnly => (403, Some("forbidden")),
                _ => (ok, None),
            },
            Who::Operator => match self {
                Access::AnyEmployee | Access::Staff => (ok, None),
                _ => (403, Some("forbidden")),
            },
            Who::User => match self {
                Access::AnyEmployee => (ok, None),
                _ => (403, Some("forbidden")),
            },
        }
    }
}

/// What `{id}` in the path stands for; a fresh one is made for every call.
#[derive(Debug, Clone, Copy)]
enum Target {
    None,
    /// A `user` employee in the operator's department.
    Employee,
    DismissedEmployee,
    Department,
    Position,
    Site,
    Device,
    Kiosk,
    ShiftTemplate,
    Schedule,
    /// A schedule assignment of an employee in the operator's department.
    Assignment,
    /// An absence of an employee in the operator's department.
    Absence,
    /// A dead job.
    DeadJob,
    /// A Hikvision terminal (never contacted: no worker runs here).
    Terminal,
    /// A flagged punch, with an evidence photo, of an employee in the operator's department
    /// (the `user` caller's own punch when the target role is `user`).
    Event,
    /// An id nothing has (an export of the caller's that does not exist).
    Unknown,
    /// A pending erasure request of an employee in the operator's department.
    ErasureRequest,
    /// A pending correction request of an employee in the operator's department.
    CorrectionRequest,
}

/// What the body is.
#[derive(Debug, Clone, Copy)]
enum Body {
    None,
    Login,
    FreshRefreshToken,
    ChangePassword,
    NewEmployee,
    EmployeePatch,
    NewPassword,
    NewName,
    NewSite,
    SitePatch,
    NewKiosk,
    KioskPin,
    DevicePatch,
    LocationBatch,
    TrackingPolicy,
    ConsentText,
    ConsentGrant,
    NewShiftTemplate,
    NewSchedule,
    NewAssignment,
    HolidayYear,
    HolidayEntry,
    NewAbsence,
    AttendancePolicy,
    TimesheetSettings,
    MapSettings,
    Review,
    Correction,
    ErasureRequest,
    Refusal,
    CorrectionAsk,
    CorrectionDecision,
    NewTerminal,
    TerminalPatch,
    IikoConnection,
    IikoDismissals,
    /// A summary XLSX of the current month, in the background.
    ReportDownload,
    /// `{}`: every field left to its default.
    EmptyObject,
    /// A `multipart/form-data` body without parts.
    EmptyForm,
}

struct Row {
    method: Method,
    path: &'static str,
    access: Access,
    ok: u16,
    target: Target,
    body: Body,
}

fn row(
    method: Method,
    path: &'static str,
    access: Access,
    ok: u16,
    target: Target,
    body: Body,
) -> Row {
    Row {
        method,
        path,
        access,
        ok,
        target,
        body,
    }
}

fn table() -> Vec<Row> {
    use Access::*;
    use Method as M;
    vec![
        row(M::GET, "/healthz", Public, 200, Target::None, Body::None),
        row(M::GET, "/readyz", Public, 200, Target::None, Body::None),
        row(
            M::GET,
            "/api/v1/openapi.json",
            Public,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/auth/login",
            Public,
            200,
            Target::None,
            Body::Login,
        ),
        row(
            M::POST,
            "/api/v1/auth/nonce",
            Public,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/auth/refresh",
            Public,
            200,
            Target::None,
            Body::FreshRefreshToken,
        ),
        row(
            M::POST,
            "/api/v1/auth/logout",
            Public,
            204,
            Target::None,
            Body::FreshRefreshToken,
        ),
        row(
            M::POST,
            "/api/v1/auth/web/login",
            Public,
            200,
            Target::None,
            Body::Login,
        ),
        // The table sends no X-FaceID-CSRF header: the cookie endpoints refuse everyone
        // (tests/web_panel.rs covers them with the header and the cookie).
        row(
            M::POST,
            "/api/v1/auth/web/refresh",
            Public,
            403,
            Target::None,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/auth/web/logout",
            Public,
            403,
            Target::None,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/me",
            AnyEmployee,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/me/password",
            AnyEmployee,
            204,
            Target::None,
            Body::ChangePassword,
        ),
        row(
            M::GET,
            "/api/v1/me/sites",
            AnyEmployee,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/employees",
            Staff,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/employees",
            Staff,
            201,
            Target::None,
            Body::NewEmployee,
        ),
        row(
            M::GET,
            "/api/v1/employees/{id}",
            Staff,
            200,
            Target::Employee,
            Body::None,
        ),
        row(
            M::PATCH,
            "/api/v1/employees/{id}",
            Staff,
            200,
            Target::Employee,
            Body::EmployeePatch,
        ),
        row(
            M::POST,
            "/api/v1/employees/{id}/dismiss",
            Staff,
            200,
            Target::Employee,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/employees/{id}/rehire",
            Staff,
            200,
            Target::DismissedEmployee,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/employees/{id}/password",
            Staff,
            204,
            Target::Employee,
            Body::NewPassword,
        ),
        row(
            M::GET,
            "/api/v1/departments",
            Staff,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/departments",
            AdminOnly,
            201,
            Target::None,
            Body::NewName,
        ),
        row(
            M::GET,
            "/api/v1/departments/{id}",
            Staff,
            200,
            Target::Department,
            Body::None,
        ),
        row(
            M::PATCH,
            "/api/v1/departments/{id}",
            AdminOnly,
            200,
            Target::Department,
            Body::NewName,
        ),
        row(
            M::DELETE,
            "/api/v1/departments/{id}",
            AdminOnly,
            204,
            Target::Department,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/positions",
            Staff,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/positions",
            AdminOnly,
            201,
            Target::None,
            Body::NewName,
        ),
        row(
            M::GET,
            "/api/v1/positions/{id}",
            Staff,
            200,
            Target::Position,
            Body::None,
        ),
        row(
            M::PATCH,
            "/api/v1/positions/{id}",
            AdminOnly,
            200,
            Target::Position,
            Body::NewName,
        ),
        row(
            M::DELETE,
            "/api/v1/positions/{id}",
            AdminOnly,
            204,
            Target::Position,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/sites",
            Staff,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/sites",
            AdminOnly,
            201,
            Target::None,
            Body::NewSite,
        ),
        row(
            M::GET,
            "/api/v1/sites/{id}",
            Staff,
            200,
            Target::Site,
            Body::None,
        ),
        row(
            M::PATCH,
            "/api/v1/sites/{id}",
            AdminOnly,
            200,
            Target::Site,
            Body::SitePatch,
        ),
        row(
            M::DELETE,
            "/api/v1/sites/{id}",
            AdminOnly,
            204,
            Target::Site,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/devices",
            AdminOnly,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/devices",
            AdminOnly,
            201,
            Target::None,
            Body::NewKiosk,
        ),
        row(
            M::GET,
            "/api/v1/devices/{id}",
            AdminOnly,
            200,
            Target::Device,
            Body::None,
        ),
        row(
            M::PATCH,
            "/api/v1/devices/{id}",
            AdminOnly,
            200,
            Target::Device,
            Body::DevicePatch,
        ),
        row(
            M::POST,
            "/api/v1/devices/{id}/block",
            AdminOnly,
            200,
            Target::Device,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/devices/{id}/unblock",
            AdminOnly,
            200,
            Target::Device,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/devices/{id}/credential",
            AdminOnly,
            200,
            Target::Kiosk,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/kiosk/me",
            KioskOnly,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::PUT,
            "/api/v1/devices/{id}/kiosk-pin",
            AdminOnly,
            204,
            Target::Kiosk,
            Body::KioskPin,
        ),
        row(
            M::POST,
            "/api/v1/kiosk/session",
            KioskOnly,
            204,
            Target::None,
            Body::None,
        ),
        // The kiosk of these rows has no PIN: leaving kiosk mode is refused, not allowed.
        row(
            M::POST,
            "/api/v1/kiosk/exit",
            KioskOnly,
            409,
            Target::None,
            Body::KioskPin,
        ),
        row(
            M::GET,
            "/api/v1/audit",
            AdminOnly,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/jobs",
            AdminOnly,
            200,
            Target::None,
            Body::None,
        ),
        // Telegram rows: this table's server has no bot, so a permitted caller gets 404
        // `telegram_not_configured` (tests/telegram.rs covers them with a bot).
        row(
            M::POST,
            "/api/v1/me/telegram/link",
            AnyEmployee,
            404,
            Target::None,
            Body::EmptyObject,
        ),
        row(
            M::GET,
            "/api/v1/me/telegram",
            AnyEmployee,
            404,
            Target::None,
            Body::None,
        ),
        row(
            M::PATCH,
            "/api/v1/me/telegram",
            AnyEmployee,
            404,
            Target::None,
            Body::EmptyObject,
        ),
        row(
            M::DELETE,
            "/api/v1/me/telegram",
            AnyEmployee,
            404,
            Target::None,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/integrations/telegram",
            AdminOnly,
            404,
            Target::None,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/integrations/telegram/log",
            AdminOnly,
            404,
            Target::None,
            Body::None,
        ),
        // Telegram calls it with the webhook secret, not a token: open to everyone, 404
        // `telegram_not_configured` here (tests/telegram_notices.rs checks the secret).
        row(
            M::POST,
            "/api/v1/integrations/telegram/webhook",
            Public,
            // No secret header: refused before anything about the set-up is told.
            401,
            Target::None,
            Body::EmptyObject,
        ),
        // iiko: not configured until the PUT row, so the reads before it answer 404.
        row(
            M::GET,
            "/api/v1/integrations/iiko",
            AdminOnly,
            404,
            Target::None,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/integrations/iiko/test",
            AdminOnly,
            404,
            Target::None,
            Body::None,
        ),
        row(
            M::PUT,
            "/api/v1/integrations/iiko",
            AdminOnly,
            200,
            Target::None,
            Body::IikoConnection,
        ),
        row(
            M::GET,
            "/api/v1/integrations/iiko/log",
            AdminOnly,
            200,
            Target::None,
            Body::None,
        ),
        // Its server (127.0.0.1:9) never answers: 503 `iiko_unavailable`.
        row(
            M::POST,
            "/api/v1/integrations/iiko/sync",
            AdminOnly,
            503,
            Target::None,
            Body::None,
        ),
        // Without its period: 400 `invalid_query` (the query is read after the caller).
        row(
            M::POST,
            "/api/v1/integrations/iiko/export",
            AdminOnly,
            400,
            Target::None,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/integrations/iiko/schedules",
            AdminOnly,
            400,
            Target::None,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/integrations/iiko/dismissals",
            AdminOnly,
            200,
            Target::None,
            Body::None,
        ),
        // Nobody is waiting for a dismissal: 409 `not_awaiting_dismissal`.
        row(
            M::POST,
            "/api/v1/integrations/iiko/dismissals",
            AdminOnly,
            409,
            Target::None,
            Body::IikoDismissals,
        ),
        row(
            M::GET,
            "/api/v1/terminals",
            AdminOnly,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/terminals",
            AdminOnly,
            201,
            Target::None,
            Body::NewTerminal,
        ),
        row(
            M::GET,
            "/api/v1/terminals/{id}",
            AdminOnly,
            200,
            Target::Terminal,
            Body::None,
        ),
        row(
            M::PATCH,
            "/api/v1/terminals/{id}",
            AdminOnly,
            200,
            Target::Terminal,
            Body::TerminalPatch,
        ),
        row(
            M::DELETE,
            "/api/v1/terminals/{id}",
            AdminOnly,
            204,
            Target::Terminal,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/terminals/{id}/poll",
            AdminOnly,
            202,
            Target::Terminal,
            Body::None,
        ),
        // The terminal target's password is not sealed (it is never contacted here), so the
        // administrator's call is made on an unknown terminal; tests/hikvision.rs covers the
        // outcomes against the fake terminal.
        row(
            M::POST,
            "/api/v1/terminals/{id}/test",
            AdminOnly,
            404,
            Target::Unknown,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/terminals/{id}/log",
            AdminOnly,
            200,
            Target::Terminal,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/face/reenrolments",
            AdminOnly,
            202,
            Target::None,
            Body::EmptyObject,
        ),
        row(
            M::GET,
            "/api/v1/face/reenrolments/{id}",
            AdminOnly,
            404,
            Target::Unknown,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/jobs/{id}/retry",
            AdminOnly,
            200,
            Target::DeadJob,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/jobs/{id}/discard",
            AdminOnly,
            200,
            Target::DeadJob,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/locations/batch",
            AnyEmployee,
            200,
            Target::None,
            Body::LocationBatch,
        ),
        row(
            M::GET,
            "/api/v1/me/locations",
            AnyEmployee,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/employees/{id}/locations",
            Staff,
            200,
            Target::Employee,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/me/tracking-policy",
            AnyEmployee,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/employees/{id}/tracking-policy",
            Staff,
            200,
            Target::Employee,
            Body::None,
        ),
        row(
            M::PUT,
            "/api/v1/employees/{id}/tracking-policy",
            AdminOnly,
            200,
            Target::Employee,
            Body::TrackingPolicy,
        ),
        row(
            M::DELETE,
            "/api/v1/employees/{id}/tracking-policy",
            AdminOnly,
            204,
            Target::Employee,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/departments/{id}/tracking-policy",
            Staff,
            200,
            Target::Department,
            Body::None,
        ),
        row(
            M::PUT,
            "/api/v1/departments/{id}/tracking-policy",
            AdminOnly,
            200,
            Target::Department,
            Body::TrackingPolicy,
        ),
        row(
            M::DELETE,
            "/api/v1/departments/{id}/tracking-policy",
            AdminOnly,
            204,
            Target::Department,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/consent-texts",
            AnyEmployee,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/consent-texts",
            AdminOnly,
            201,
            Target::None,
            Body::ConsentText,
        ),
        row(
            M::GET,
            "/api/v1/me/consents",
            AnyEmployee,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/me/consents",
            AnyEmployee,
            201,
            Target::None,
            Body::ConsentGrant,
        ),
        row(
            M::GET,
            "/api/v1/employees/{id}/consents",
            Staff,
            200,
            Target::Employee,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/employees/{id}/consents",
            Staff,
            201,
            Target::Employee,
            Body::ConsentGrant,
        ),
        row(
            M::POST,
            "/api/v1/liveness/challenges",
            AnyEmployee,
            201,
            Target::None,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/shift-templates",
            Staff,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/shift-templates",
            AdminOnly,
            201,
            Target::None,
            Body::NewShiftTemplate,
        ),
        row(
            M::DELETE,
            "/api/v1/shift-templates/{id}",
            AdminOnly,
            204,
            Target::ShiftTemplate,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/schedules",
            Staff,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/schedules",
            AdminOnly,
            201,
            Target::None,
            Body::NewSchedule,
        ),
        row(
            M::GET,
            "/api/v1/schedules/{id}",
            Staff,
            200,
            Target::Schedule,
            Body::None,
        ),
        row(
            M::DELETE,
            "/api/v1/schedules/{id}",
            AdminOnly,
            204,
            Target::Schedule,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/schedule-assignments",
            Staff,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/schedule-assignments",
            Staff,
            201,
            Target::None,
            Body::NewAssignment,
        ),
        row(
            M::DELETE,
            "/api/v1/schedule-assignments/{id}",
            Staff,
            204,
            Target::Assignment,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/holidays",
            AnyEmployee,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::PUT,
            "/api/v1/holidays",
            AdminOnly,
            200,
            Target::None,
            Body::HolidayYear,
        ),
        row(
            M::POST,
            "/api/v1/holidays",
            AdminOnly,
            201,
            Target::None,
            Body::HolidayEntry,
        ),
        row(
            M::GET,
            "/api/v1/absences",
            Staff,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/absences",
            Staff,
            201,
            Target::None,
            Body::NewAbsence,
        ),
        row(
            M::DELETE,
            "/api/v1/absences/{id}",
            Staff,
            204,
            Target::Absence,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/reports/today",
            Staff,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/reports/today/stream",
            Staff,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/reports/summary",
            Staff,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/reports/departments",
            Staff,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/reports/summary/export",
            Staff,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/reports/daily/export",
            Staff,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/reports/t13",
            Staff,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/reports/daily",
            Staff,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/reports/downloads",
            Staff,
            202,
            Target::None,
            Body::ReportDownload,
        ),
        row(
            M::GET,
            "/api/v1/reports/downloads",
            Staff,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/reports/downloads/{id}",
            Staff,
            404,
            Target::Unknown,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/reports/downloads/{id}/file",
            Staff,
            404,
            Target::Unknown,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/settings/timesheet",
            AdminOnly,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::PUT,
            "/api/v1/settings/timesheet",
            AdminOnly,
            200,
            Target::None,
            Body::TimesheetSettings,
        ),
        row(
            M::GET,
            "/api/v1/me/timesheet",
            AnyEmployee,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/me/face-templates",
            AnyEmployee,
            415,
            Target::None,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/me/face-templates",
            AnyEmployee,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/employees/{id}/face-templates",
            Staff,
            400,
            Target::Employee,
            Body::EmptyForm,
        ),
        row(
            M::GET,
            "/api/v1/employees/{id}/face-templates",
            Staff,
            200,
            Target::Employee,
            Body::None,
        ),
        row(
            M::DELETE,
            "/api/v1/me/face-templates/{id}",
            AnyEmployee,
            404,
            Target::Employee,
            Body::None,
        ),
        row(
            M::DELETE,
            "/api/v1/employees/{id}/face-templates/{template_id}",
            Staff,
            404,
            Target::Employee,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/me/photo",
            AnyEmployee,
            404,
            Target::None,
            Body::None,
        ),
        row(
            M::PUT,
            "/api/v1/me/photo",
            AnyEmployee,
            415,
            Target::None,
            Body::None,
        ),
        row(
            M::DELETE,
            "/api/v1/me/photo",
            AnyEmployee,
            204,
            Target::None,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/employees/{id}/photo",
            Staff,
            404,
            Target::Employee,
            Body::None,
        ),
        row(
            M::PUT,
            "/api/v1/employees/{id}/photo",
            Staff,
            400,
            Target::Employee,
            Body::EmptyForm,
        ),
        row(
            M::DELETE,
            "/api/v1/employees/{id}/photo",
            Staff,
            204,
            Target::Employee,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/me/face-templates/descriptors",
            AnyEmployee,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/attendance/events",
            AnyEmployee,
            415,
            Target::None,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/kiosk/identify",
            KioskOnly,
            415,
            Target::None,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/kiosk/challenges",
            KioskOnly,
            201,
            Target::None,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/settings/map",
            AnyEmployee,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::PUT,
            "/api/v1/settings/map",
            AdminOnly,
            200,
            Target::None,
            Body::MapSettings,
        ),
        row(
            M::GET,
            "/api/v1/settings/tracking-policy",
            Staff,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::PUT,
            "/api/v1/settings/tracking-policy",
            AdminOnly,
            200,
            Target::None,
            Body::TrackingPolicy,
        ),
        row(
            M::GET,
            "/api/v1/settings/attendance-policy",
            Staff,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::PUT,
            "/api/v1/settings/attendance-policy",
            AdminOnly,
            200,
            Target::None,
            Body::AttendancePolicy,
        ),
        row(
            M::GET,
            "/api/v1/sites/{id}/attendance-policy",
            Staff,
            200,
            Target::Site,
            Body::None,
        ),
        row(
            M::PUT,
            "/api/v1/sites/{id}/attendance-policy",
            AdminOnly,
            200,
            Target::Site,
            Body::AttendancePolicy,
        ),
        row(
            M::GET,
            "/api/v1/attendance/chain/verify",
            AdminOnly,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/attendance/events/{id}/review",
            Staff,
            201,
            Target::Event,
            Body::Review,
        ),
        row(
            M::POST,
            "/api/v1/attendance/corrections",
            Staff,
            201,
            Target::None,
            Body::Correction,
        ),
        row(
            M::GET,
            "/api/v1/me/attendance",
            AnyEmployee,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/attendance",
            Staff,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/attendance/events/{id}/photo",
            AnyEmployee,
            200,
            Target::Event,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/me/export",
            AnyEmployee,
            202,
            Target::None,
            Body::EmptyObject,
        ),
        row(
            M::GET,
            "/api/v1/me/export/{id}",
            AnyEmployee,
            404,
            Target::Unknown,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/employees/{id}/export",
            Staff,
            202,
            Target::Employee,
            Body::EmptyObject,
        ),
        // The export id in the path does not exist: 404 once the scope check passes.
        row(
            M::GET,
            "/api/v1/employees/{id}/export/{export_id}",
            Staff,
            404,
            Target::Employee,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/me/erasure-requests",
            AnyEmployee,
            201,
            Target::None,
            Body::ErasureRequest,
        ),
        row(
            M::GET,
            "/api/v1/me/erasure-requests",
            AnyEmployee,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/erasure-requests",
            AdminOnly,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/erasure-requests/{id}/approve",
            AdminOnly,
            200,
            Target::ErasureRequest,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/erasure-requests/{id}/refuse",
            AdminOnly,
            200,
            Target::ErasureRequest,
            Body::Refusal,
        ),
        row(
            M::POST,
            "/api/v1/me/correction-requests",
            AnyEmployee,
            201,
            Target::None,
            Body::CorrectionAsk,
        ),
        row(
            M::GET,
            "/api/v1/me/correction-requests",
            AnyEmployee,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::GET,
            "/api/v1/correction-requests",
            Staff,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::POST,
            "/api/v1/correction-requests/{id}/decide",
            Staff,
            200,
            Target::CorrectionRequest,
            Body::CorrectionDecision,
        ),
        row(
            M::GET,
            "/api/v1/me/restrictions",
            AnyEmployee,
            200,
            Target::None,
            Body::None,
        ),
        row(
            M::PUT,
            "/api/v1/me/restrictions",
            AnyEmployee,
            200,
            Target::None,
            Body::EmptyObject,
        ),
        row(
            M::GET,
            "/api/v1/employees/{id}/restrictions",
            AdminOnly,
            200,
            Target::Employee,
            Body::None,
        ),
        row(
            M::PUT,
            "/api/v1/employees/{id}/restrictions",
            AdminOnly,
            200,
            Target::Employee,
            Body::EmptyObject,
        ),
    ]
}

struct World {
    app: TestApp,
    admin: String,
    operator: String,
    user: String,
    kiosk: String,
    expired: String,
    dismissed: String,
    blocked: String,
    dept_a: Uuid,
    user_login: String,
    /// The `user` caller's and the operator's employee ids.
    user_id: Uuid,
    operator_id: Uuid,
}

/// The role of the employee an operator's or administrator's call is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TargetRole {
    User,
    Operator,
    Admin,
    /// The calling operator themself.
    Myself,
}

/// What a call sends.
enum Payload {
    None,
    Json(Value),
    Form(Vec<u8>),
}

impl World {
    async fn new(pool: PgPool) -> World {
        // Evidence photos of the punches made below stay in memory.
        let app = TestApp::with_settings(
            pool,
            faceid_server::Settings {
                photo_store_url: Some("memory:".into()),
                ..common::settings()
            },
        );
        app.bootstrap_admin("root").await;
        let admin = app.login("root").await.access_token;
        let dept_a = app.create_department(&admin, "Kitchen").await;
        // The operator works in the department they manage, so "themself" is in scope by
        // department and only their role keeps them out.
        let operator_id = app
            .create_employee(
                &admin,
                json!({"login": "op", "password": PASSWORD, "first_name": "Olga",
                       "last_name": "Selfoperator", "role": "operator", "department_id": dept_a,
                       "scope": {"department_ids": [dept_a], "site_ids": []}}),
            )
            .await;
        let operator = app.login("op").await.access_token;
        let user_id = app
            .create_employee(&admin, common::user_body("worker", Some(dept_a)))
            .await;
        let user = app.login("worker").await.access_token;
        let r = app
            .post("/api/v1/devices", &admin, json!({"name": "Door tablet"}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let kiosk = r.body["credential"].as_str().unwrap().to_owned();

        // An administrator's token that has expired.
        let pair = app.login("root").await;
        let me = pair.user.id;
        let (session, device): (Uuid, Uuid) = sqlx::query_as(
            "SELECT id, device_id FROM sessions WHERE employee_id = $1 ORDER BY created_at DESC LIMIT 1",
        )
        .bind(me)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        let (expired, _) = app
            .state
            .jwt
            .issue(
                me,
                session,
                device,
                chrono::Utc::now() - chrono::Duration::hours(1),
                60,
            )
            .unwrap();

        // An administrator logged in, then dismissed.
        let admin2 = app
            .create_employee(
                &admin,
                json!({"login": "gone", "password": PASSWORD, "first_name": "G", "last_name": "One", "role": "admin"}),
            )
            .await;
        let dismissed = app.login("gone").await.access_token;
        let r = app
            .call(
                Method::POST,
                &format!("/api/v1/employees/{admin2}/dismiss"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);

        // An administrator logged in, then their device blocked.
        app.create_employee(
            &admin,
            json!({"login": "blockme", "password": PASSWORD, "first_name": "B", "last_name": "Lock", "role": "admin"}),
        )
        .await;
        let pair = app.login("blockme").await;
        let dev = pair.user.device_id.unwrap();
        let r = app
            .call(
                Method::POST,
                &format!("/api/v1/devices/{dev}/block"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);

        // Location consent for the callers that upload points.
        let r = app
            .post(
                "/api/v1/consent-texts",
                &admin,
                json!({"kind": "location", "body": "We record where you are."}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        for t in [&admin, &operator, &user] {
            let r = app
                .post(
                    "/api/v1/me/consents",
                    t,
                    json!({"kind": "location", "action": "grant"}),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        }

        World {
            app,
            admin,
            operator,
            user,
            kiosk,
            expired,
            dismissed,
            blocked: pair.access_token,
            dept_a,
            user_login: "worker".into(),
            user_id,
            operator_id,
        }
    }

    fn token(&self, who: Who) -> Option<&str> {
        match who {
            Who::NoToken => None,
            Who::Admin => Some(&self.admin),
            Who::Operator => Some(&self.operator),
            Who::User => Some(&self.user),
            Who::Kiosk => Some(&self.kiosk),
            Who::Expired => Some(&self.expired),
            Who::Dismissed => Some(&self.dismissed),
            Who::BlockedDevice => Some(&self.blocked),
        }
    }

    /// A new employee of the operator's department with this role and status, or the calling
    /// operator themself.
    async fn subject(&self, status: &str, role: TargetRole) -> Uuid {
        let role = match role {
            TargetRole::Myself => return self.operator_id,
            TargetRole::User => "user",
            TargetRole::Operator => "operator",
            TargetRole::Admin => "admin",
        };
        let scope = (role == "operator").then(Vec::<Uuid>::new);
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO employees (id, login, password_hash, first_name, last_name, role, department_id, status,
                scope_department_ids, scope_site_ids)
             VALUES ($1, $2, $3, 'T', 'Target', $4, $5, $6, $7, $7)",
        )
        .bind(id)
        .bind(format!("t-{id}"))
        .bind(&*self.app.state.dummy_hash)
        .bind(role)
        .bind(self.dept_a)
        .bind(status)
        .bind(scope)
        .execute(&self.app.pool)
        .await
        .unwrap();
        id
    }

    /// A pending request of `employee` to correct their first name, inserted directly.
    async fn correction_request(&self, id: Uuid, employee: Uuid) {
        sqlx::query(
            "INSERT INTO correction_requests (id, employee_id, kind, field, value, comment)
             VALUES ($1, $2, 'field', 'first_name', 'Tee', 'typo')",
        )
        .bind(id)
        .bind(employee)
        .execute(&self.app.pool)
        .await
        .unwrap();
    }

    /// A flagged `in` punch with an evidence photo, inserted directly. A second ago, so it lies
    /// on today's date at any time of day (an hour ago was yesterday in the first hour after
    /// midnight, and the today report then left these people out).
    async fn flagged_punch(&self, employee: Uuid) -> Uuid {
        let id = Uuid::now_v7();
        let photo = self
            .app
            .state
            .photos
            .put("evidence", b"\xff\xd8 not really a photo".to_vec())
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO attendance_events (public_id, employee_id, kind, occurred_at, verdict, reasons,
                photo_key, prev_hash, hash)
             VALUES ($1, $2, 'in', now() - interval '1 second', 'flagged', '{low_similarity}', $3, $4, $5)",
        )
        .bind(id)
        .bind(employee)
        .bind(photo)
        .bind(Uuid::new_v4().as_bytes().to_vec())
        .bind(Uuid::new_v4().as_bytes().to_vec())
        .execute(&self.app.pool)
        .await
        .unwrap();
        id
    }

    async fn target(&self, t: Target, role: TargetRole) -> Option<Uuid> {
        let pool = &self.app.pool;
        let id = Uuid::now_v7();
        match t {
            Target::None => return None,
            Target::Employee => return Some(self.subject("active", role).await),
            Target::DismissedEmployee => {
                // The operator themself is not dismissed: they stand for themself here too.
                return Some(self.subject("dismissed", role).await);
            }
            Target::Event => {
                let owner = match role {
                    TargetRole::User => self.user_id,
                    _ => self.subject("active", role).await,
                };
                return Some(self.flagged_punch(owner).await);
            }
            Target::Unknown => {}
            Target::CorrectionRequest => {
                let employee = self.subject("active", role).await;
                self.correction_request(id, employee).await;
            }
            Target::ErasureRequest => {
                let employee = self.subject("active", role).await;
                sqlx::query(
                    "INSERT INTO erasure_requests (id, employee_id, scope) VALUES ($1, $2, 'locations')",
                )
                .bind(id)
                .bind(employee)
                .execute(pool)
                .await
                .unwrap();
            }
            Target::Department | Target::Position => {
                let table = if matches!(t, Target::Department) {
                    "departments"
                } else {
                    "positions"
                };
                sqlx::query(AssertSqlSafe(format!(
                    "INSERT INTO {table} (id, name) VALUES ($1, $2)"
                )))
                .bind(id)
                .bind(format!("n-{id}"))
                .execute(pool)
                .await
                .unwrap();
            }
            Target::Site => {
                sqlx::query(
                    "INSERT INTO sites (id, name, time_zone, geofence) VALUES ($1, $2, 'UTC',
                     '{\"type\":\"circle\",\"latitude\":1.0,\"longitude\":2.0,\"radius_m\":100.0}')",
                )
                .bind(id)
                .bind(format!("s-{id}"))
                .execute(pool)
                .await
                .unwrap();
            }
            Target::DeadJob => {
                sqlx::query(
                    "INSERT INTO jobs (id, kind, state, attempts, last_error) VALUES ($1, 'test.dead', 'dead', 3, 'gone')",
                )
                .bind(id)
                .execute(pool)
                .await
                .unwrap();
            }
            Target::Terminal => {
                let site = Uuid::now_v7();
                sqlx::query(
                    "INSERT INTO sites (id, name, time_zone, geofence) VALUES ($1, $2, 'UTC',
                     '{\"type\":\"circle\",\"latitude\":1.0,\"longitude\":2.0,\"radius_m\":100.0}')",
                )
                .bind(site)
                .bind(format!("s-{site}"))
                .execute(pool)
                .await
                .unwrap();
                let device = Uuid::now_v7();
                sqlx::query(
                    "INSERT INTO devices (id, kind, name, platform, site_id) VALUES ($1, 'terminal', 'Gate', 'hikvision', $2)",
                )
                .bind(device)
                .bind(site)
                .execute(pool)
                .await
                .unwrap();
                sqlx::query(
                    "INSERT INTO terminals (id, device_id, name, base_url, username, password_ct,
                         password_nonce, site_id, direction, poll_interval_s, import_since)
                     VALUES ($1, $2, $3, 'http://127.0.0.1:9', 'admin', '\\x00', '\\x00', $4, 'in', 30, now())",
                )
                .bind(id)
                .bind(device)
                .bind(format!("t-{id}"))
                .bind(site)
                .execute(pool)
                .await
                .unwrap();
            }
            Target::Device => {
                sqlx::query(
                    "INSERT INTO devices (id, kind, name, platform) VALUES ($1, 'personal', 'Phone', 'ios')",
                )
                .bind(id)
                .execute(pool)
                .await
                .unwrap();
            }
            Target::Kiosk => {
                sqlx::query(
                    "INSERT INTO devices (id, kind, name, platform, credential_hash)
                     VALUES ($1, 'kiosk', 'Kiosk', 'kiosk', $2)",
                )
                .bind(id)
                .bind(id.as_bytes().to_vec())
                .execute(pool)
                .await
                .unwrap();
            }
            Target::ShiftTemplate => {
                sqlx::query(
                    "INSERT INTO shift_templates (id, name, start_time, end_time) VALUES ($1, $2, '09:00', '18:00')",
                )
                .bind(id)
                .bind(format!("t-{id}"))
                .execute(pool)
                .await
                .unwrap();
            }
            Target::Schedule => return Some(self.schedule().await),
            Target::Assignment => {
                let schedule = self.schedule().await;
                let employee = self.subject("active", role).await;
                sqlx::query(
                    "INSERT INTO schedule_assignments (id, schedule_id, employee_id, valid_from)
                     VALUES ($1, $2, $3, '2026-01-01')",
                )
                .bind(id)
                .bind(schedule)
                .bind(employee)
                .execute(pool)
                .await
                .unwrap();
            }
            Target::Absence => {
                let employee = self.subject("active", role).await;
                sqlx::query(
                    "INSERT INTO absences (id, employee_id, kind, date_from, date_to)
                     VALUES ($1, $2, 'sick_leave', '2026-02-02', '2026-02-04')",
                )
                .bind(id)
                .bind(employee)
                .execute(pool)
                .await
                .unwrap();
            }
        }
        Some(id)
    }

    async fn send(&self, method: Method, path: &str, token: Option<&str>, p: Payload) -> Resp {
        match p {
            Payload::None => self.app.call(method, path, token, None).await,
            Payload::Json(v) => self.app.call(method, path, token, Some(v)).await,
            Payload::Form(bytes) => {
                let (status, headers, bytes) = self.request(method, path, token, Some(bytes)).await;
                let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                Resp {
                    status,
                    headers,
                    body,
                }
            }
        }
    }

    /// A call answered as raw bytes (exports are CSV or XLSX); `form` is a multipart body.
    async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        form: Option<Vec<u8>>,
    ) -> (StatusCode, HeaderMap, Vec<u8>) {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let body = match form {
            Some(bytes) => {
                b = b.header(header::CONTENT_TYPE, common::multipart::content_type());
                AxumBody::from(bytes)
            }
            None => AxumBody::empty(),
        };
        let mut req = b.body(body).unwrap();
        let sock: SocketAddr = "10.0.0.1:40000".parse().unwrap();
        req.extensions_mut().insert(ConnectInfo(sock));
        let resp = self.app.router.clone().oneshot(req).await.unwrap();
        let (status, headers) = (resp.status(), resp.headers().clone());
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, headers, bytes.to_vec())
    }

    /// A flexible schedule, inserted directly.
    async fn schedule(&self) -> Uuid {
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO schedules (id, name, kind, definition) VALUES ($1, $2, 'flexible',
             '{\"kind\":\"flexible\",\"minutes_per_day\":480,\"minutes_per_week\":null,\"work_days\":[true,true,true,true,true,false,false]}')",
        )
        .bind(id)
        .bind(format!("s-{id}"))
        .execute(&self.app.pool)
        .await
        .unwrap();
        id
    }

    async fn body(&self, b: Body, role: TargetRole) -> Payload {
        let n = Uuid::new_v4().simple().to_string();
        Payload::Json(match b {
            Body::None => return Payload::None,
            Body::EmptyObject => json!({}),
            Body::ReportDownload => json!({"report": "summary", "format": "xlsx"}),
            Body::EmptyForm => return Payload::Form(common::multipart::multipart::<&[u8]>(&[])),
            Body::Login => json!({"login": self.user_login, "password": PASSWORD,
                "device": {"id": Uuid::new_v4(), "name": "Phone", "platform": "ios", "app_version": "1.0"}}),
            Body::FreshRefreshToken => {
                let pair = self.app.login(&self.user_login).await;
                json!({"refresh_token": pair.refresh_token})
            }
            Body::ChangePassword => json!({"current_password": PASSWORD, "new_password": PASSWORD}),
            Body::NewEmployee => {
                let mut body = common::user_body(&format!("u{n}"), Some(self.dept_a));
                // Creating "themself" is creating another operator.
                match role {
                    TargetRole::User => {}
                    TargetRole::Admin => body["role"] = json!("admin"),
                    TargetRole::Operator | TargetRole::Myself => {
                        body["role"] = json!("operator");
                        body["scope"] = json!({"department_ids": [self.dept_a], "site_ids": []});
                    }
                }
                body
            }
            Body::EmployeePatch => json!({"first_name": "Renamed"}),
            Body::NewPassword => json!({"new_password": "another-password-1"}),
            Body::NewName => json!({"name": format!("name {n}")}),
            Body::NewSite => json!({"name": format!("site {n}"), "time_zone": "Asia/Yekaterinburg",
                "geofence": {"type": "circle", "latitude": 56.8, "longitude": 60.6, "radius_m": 200.0}}),
            Body::SitePatch => json!({"active": false}),
            Body::NewTerminal => {
                let site = Uuid::now_v7();
                sqlx::query(
                    "INSERT INTO sites (id, name, time_zone, geofence) VALUES ($1, $2, 'UTC',
                     '{\"type\":\"circle\",\"latitude\":1.0,\"longitude\":2.0,\"radius_m\":100.0}')",
                )
                .bind(site)
                .bind(format!("s-{site}"))
                .execute(&self.app.pool)
                .await
                .unwrap();
                json!({"name": format!("gate {n}"), "base_url": "http://127.0.0.1:9",
                       "username": "admin", "password": "secret", "site_id": site, "direction": "both"})
            }
            Body::IikoConnection => json!({"server_url": "http://127.0.0.1:9", "login": "api",
                   "password": "secret", "department_codes": [],
                   "sync": {"employees": true, "schedules": false, "attendance": false}}),
            Body::IikoDismissals => json!({"employee_ids": [Uuid::nil()]}),
            Body::TerminalPatch => {
                json!({"name": format!("gate renamed {n}"), "poll_interval_s": 60})
            }
            Body::NewKiosk => json!({"name": format!("kiosk {n}")}),
            Body::KioskPin => json!({"pin": "2468"}),
            Body::DevicePatch => json!({"name": "Renamed phone"}),
            Body::LocationBatch => json!({"points": [{"recorded_at": chrono::Utc::now(),
                "lat": 55.75, "lon": 37.61, "accuracy": 10.0}]}),
            Body::TrackingPolicy => {
                json!({"enabled": true, "interval_s": 120, "max_accuracy_m": 50.0})
            }
            Body::ConsentText => json!({"kind": "telegram", "body": format!("text {n}")}),
            Body::ConsentGrant => json!({"kind": "location", "action": "grant"}),
            Body::AttendancePolicy => json!({"liveness_mode": "passive+challenge",
                "max_gps_accuracy_m": 50.0, "geofence_required": true, "max_offline_delay_s": 3600}),
            Body::TimesheetSettings => json!({"missing_checkout": "close_at_shift_end"}),
            Body::MapSettings => json!({"style_url": "https://tiles.example.org/style.json"}),
            Body::Review => json!({"decision": "accept"}),
            Body::ErasureRequest => json!({"scope": "locations"}),
            Body::Refusal => json!({"reason": "kept for an open dispute"}),
            Body::CorrectionAsk => json!({"kind": "field", "field": "first_name", "value": "Tee",
                "comment": "typo in my name"}),
            Body::CorrectionDecision => json!({"decision": "reject", "comment": "no document"}),
            Body::Correction => json!({"employee_id": self.subject("active", role).await,
                "kind": "in", "at": chrono::Utc::now(), "comment": "forgot to punch"}),
            Body::NewShiftTemplate => {
                json!({"name": format!("shift {n}"), "start": "09:00", "end": "18:00",
                "unpaid_break_minutes": 60})
            }
            Body::NewSchedule => {
                json!({"name": format!("schedule {n}"), "pattern": {"kind": "flexible",
                "minutes_per_day": 480, "work_days": [true, true, true, true, true, false, false]}})
            }
            Body::NewAssignment => {
                let employee = self.subject("active", role).await;
                json!({"schedule_id": self.schedule().await, "employee_id": employee,
                       "valid_from": "2026-01-01"})
            }
            Body::HolidayYear => json!({"year": 2031, "entries": [
                {"date": "2031-01-01", "kind": "holiday", "name": "New Year"}]}),
            Body::HolidayEntry => {
                let day = 1 + u64::from_str_radix(&n[..8], 16).unwrap() % 360;
                let date = chrono::NaiveDate::from_ymd_opt(2040, 1, 1).unwrap()
                    + chrono::Duration::days(day as i64);
                json!({"date": date, "kind": "holiday", "name": "Day"})
            }
            Body::NewAbsence => {
                let employee = self.subject("active", role).await;
                json!({"employee_id": employee, "kind": "annual_leave",
                       "from": "2026-02-02", "to": "2026-02-06"})
            }
        })
    }
}

fn openapi_operations() -> BTreeSet<(String, String)> {
    let doc = serde_json::to_value(faceid_server::openapi()).unwrap();
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, _) in item.as_object().unwrap() {
            if [
                "get", "post", "put", "patch", "delete", "head", "options", "trace",
            ]
            .contains(&method.as_str())
            {
                ops.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

#[test]
fn every_endpoint_has_a_row_and_every_row_an_endpoint() {
    let documented = openapi_operations();
    let tabled: BTreeSet<(String, String)> = table()
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_owned()))
        .collect();
    assert_eq!(tabled.len(), table().len(), "duplicate rows in the table");
    let missing: Vec<_> = documented.difference(&tabled).collect();
    let extra: Vec<_> = tabled.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "endpoints without a row in the authorisation table: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "rows for endpoints the router does not have: {extra:?}"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn authorisation_table(pool: PgPool) {
    let w = World::new(pool).await;
    let mut failures = Vec::new();
    let mut checked = 0;
    for r in table() {
        for who in EVERYONE {
            let id = w.target(r.target, TargetRole::User).await;
            let path = match id {
                Some(id) => r.path.replace("{id}", &id.to_string()),
                None => r.path.to_owned(),
            }
            // A second path id: one that does not exist.
            .replace("{template_id}", &Uuid::nil().to_string())
            .replace("{export_id}", &Uuid::nil().to_string());
            let body = w.body(r.body, TargetRole::User).await;
            let resp = w.send(r.method.clone(), &path, w.token(who), body).await;
            let (status, code) = r.access.expect(who, r.ok);
            checked += 1;
            if resp.status.as_u16() != status || code.is_some_and(|c| resp.code() != c) {
                failures.push(format!(
                    "{} {} as {who:?}: expected {status} {code:?}, got {} {}",
                    r.method, r.path, resp.status, resp.body
                ));
            }
            if !resp.status.is_success() && resp.content_type() != "application/problem+json" {
                failures.push(format!(
                    "{} {} as {who:?}: error without problem+json",
                    r.method, r.path
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(checked, table().len() * EVERYONE.len());
}

#[sqlx::test(migrations = "./migrations")]
async fn served_openapi_document_is_the_generated_one(pool: PgPool) {
    let app = TestApp::new(pool);
    let r = app
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body,
        serde_json::to_value(faceid_server::openapi()).unwrap()
    );
    assert!(r.body["openapi"].as_str().unwrap().starts_with("3."));
    let r = app.call(Method::GET, "/api/v1/nowhere", None, None).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
}

/// What an endpoint an operator may call is about, for the target-role rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum About {
    /// One employee, named by the row's target or body: called by an operator and an
    /// administrator on a `user`, an operator, an administrator and the operator themself.
    OneEmployee,
    /// Many employees (lists, reports): an operator's answer holds only `user` employees.
    Employees,
    /// The caller's own data (`/me…`), or not about employees at all.
    NoOtherEmployee,
}

/// Every endpoint an operator may call says what it is about; a new one without an arm here
/// fails `every_operator_endpoint_has_target_role_rows`.
fn about(method: &Method, path: &str) -> Option<About> {
    use About::*;
    if path.starts_with("/api/v1/me/") || path == "/api/v1/me" {
        return Some(NoOtherEmployee);
    }
    Some(match (method.as_str(), path) {
        ("POST", "/api/v1/employees")
        | ("GET" | "PATCH", "/api/v1/employees/{id}")
        | ("POST", "/api/v1/employees/{id}/dismiss")
        | ("POST", "/api/v1/employees/{id}/rehire")
        | ("POST", "/api/v1/employees/{id}/password")
        | ("GET", "/api/v1/employees/{id}/locations")
        | ("GET", "/api/v1/employees/{id}/tracking-policy")
        | ("GET" | "POST", "/api/v1/employees/{id}/consents")
        | ("GET" | "POST", "/api/v1/employees/{id}/face-templates")
        | ("DELETE", "/api/v1/employees/{id}/face-templates/{template_id}")
        | ("GET" | "PUT" | "DELETE", "/api/v1/employees/{id}/photo")
        | ("POST", "/api/v1/schedule-assignments")
        | ("DELETE", "/api/v1/schedule-assignments/{id}")
        | ("POST", "/api/v1/absences")
        | ("DELETE", "/api/v1/absences/{id}")
        | ("POST", "/api/v1/attendance/events/{id}/review")
        | ("POST", "/api/v1/attendance/corrections")
        | ("GET", "/api/v1/attendance/events/{id}/photo")
        | ("POST", "/api/v1/employees/{id}/export")
        | ("GET", "/api/v1/employees/{id}/export/{export_id}")
        | ("POST", "/api/v1/correction-requests/{id}/decide") => OneEmployee,
        ("GET", "/api/v1/employees")
        | ("GET", "/api/v1/schedule-assignments")
        | ("GET", "/api/v1/absences")
        | ("GET", "/api/v1/attendance")
        | ("GET", "/api/v1/reports/today")
        | ("GET", "/api/v1/reports/summary")
        | ("GET", "/api/v1/reports/departments")
        | ("GET", "/api/v1/reports/summary/export")
        | ("GET", "/api/v1/reports/daily/export")
        | ("GET", "/api/v1/reports/daily")
        | ("GET", "/api/v1/reports/t13")
        | ("GET", "/api/v1/correction-requests") => Employees,
        ("GET", "/api/v1/departments")
        | ("GET", "/api/v1/departments/{id}")
        | ("GET", "/api/v1/departments/{id}/tracking-policy")
        | ("GET", "/api/v1/positions")
        | ("GET", "/api/v1/positions/{id}")
        | ("GET", "/api/v1/sites")
        | ("GET", "/api/v1/sites/{id}")
        | ("GET", "/api/v1/sites/{id}/attendance-policy")
        | ("GET", "/api/v1/settings/attendance-policy")
        | ("GET", "/api/v1/settings/map")
        | ("GET", "/api/v1/reports/today/stream")
        // A download's answer is its state; its file is checked in tests/timesheet_api.rs.
        | ("POST", "/api/v1/reports/downloads")
        | ("GET", "/api/v1/reports/downloads")
        | ("GET", "/api/v1/reports/downloads/{id}")
        | ("GET", "/api/v1/reports/downloads/{id}/file")
        | ("GET", "/api/v1/settings/tracking-policy")
        | ("GET", "/api/v1/shift-templates")
        | ("GET", "/api/v1/schedules")
        | ("GET", "/api/v1/schedules/{id}")
        | ("GET", "/api/v1/consent-texts")
        | ("GET", "/api/v1/holidays")
        | ("POST", "/api/v1/liveness/challenges")
        | ("POST", "/api/v1/locations/batch")
        | ("POST", "/api/v1/attendance/events") => NoOtherEmployee,
        _ => return None,
    })
}

/// Whether a row's target or body is an employee the target role applies to.
fn names_an_employee(r: &Row) -> bool {
    matches!(
        r.target,
        Target::Employee
            | Target::DismissedEmployee
            | Target::Event
            | Target::Assignment
            | Target::Absence
            | Target::CorrectionRequest
    ) || matches!(
        r.body,
        Body::NewEmployee | Body::Correction | Body::NewAssignment | Body::NewAbsence
    )
}

#[test]
fn every_operator_endpoint_has_target_role_rows() {
    let mut missing = Vec::new();
    for r in table() {
        if !matches!(r.access, Access::Staff | Access::AnyEmployee) {
            continue;
        }
        match about(&r.method, r.path) {
            None => missing.push(format!("{} {}: no target-role rows", r.method, r.path)),
            Some(About::OneEmployee) if !names_an_employee(&r) => missing.push(format!(
                "{} {}: about one employee, but its target and body name none",
                r.method, r.path
            )),
            _ => {}
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

/// Operators manage only `user` employees: never an administrator, another operator or
/// themselves, even inside their department. Administrators manage everyone.
#[sqlx::test(migrations = "./migrations")]
async fn target_roles(pool: PgPool) {
    let w = World::new(pool).await;
    let cases = [
        (Who::Operator, TargetRole::User),
        (Who::Operator, TargetRole::Operator),
        (Who::Operator, TargetRole::Admin),
        (Who::Operator, TargetRole::Myself),
        (Who::Admin, TargetRole::User),
        (Who::Admin, TargetRole::Operator),
        (Who::Admin, TargetRole::Admin),
    ];
    let mut failures = Vec::new();
    let mut checked = 0;
    for r in table() {
        if about(&r.method, r.path) != Some(About::OneEmployee) {
            continue;
        }
        for (who, role) in cases {
            let (status, code) = match (who, role) {
                (Who::Admin, _) | (_, TargetRole::User) => (r.ok, None),
                // The evidence photo is also the employee's own.
                (_, TargetRole::Myself) if matches!(r.access, Access::AnyEmployee) => (r.ok, None),
                _ => (403, Some("role_not_allowed")),
            };
            let path = match w.target(r.target, role).await {
                Some(id) => r.path.replace("{id}", &id.to_string()),
                None => r.path.to_owned(),
            }
            .replace("{template_id}", &Uuid::nil().to_string())
            .replace("{export_id}", &Uuid::nil().to_string());
            let body = w.body(r.body, role).await;
            let resp = w.send(r.method.clone(), &path, w.token(who), body).await;
            checked += 1;
            if resp.status.as_u16() != status || code.is_some_and(|c| resp.code() != c) {
                failures.push(format!(
                    "{} {} as {who:?} on {role:?}: expected {status} {code:?}, got {} {}",
                    r.method, r.path, resp.status, resp.body
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(checked, 26 * cases.len());
}

/// The text of an answer: an XLSX's sheets and shared strings unzipped, anything else as is.
fn answer_text(bytes: &[u8]) -> String {
    if !bytes.starts_with(b"PK") {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut text = String::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        std::io::Read::read_to_string(&mut f, &mut text).unwrap();
    }
    text
}

/// Lists and reports: an operator sees the `user` employees of their department, and neither
/// the administrator, nor another operator, nor themselves, although all four are in it.
#[sqlx::test(migrations = "./migrations")]
async fn operator_lists_hold_only_user_employees(pool: PgPool) {
    let w = World::new(pool).await;
    let mut people = Vec::new();
    for (role, name) in [
        (TargetRole::User, "Listuser"),
        (TargetRole::Operator, "Listoperator"),
        (TargetRole::Admin, "Listadmin"),
        (TargetRole::Myself, "Selfoperator"),
    ] {
        let id = w.subject("active", role).await;
        sqlx::query("UPDATE employees SET last_name = $2 WHERE id = $1")
            .bind(id)
            .bind(name)
            .execute(&w.app.pool)
            .await
            .unwrap();
        w.flagged_punch(id).await;
        let schedule = w.schedule().await;
        sqlx::query(
            "INSERT INTO schedule_assignments (id, schedule_id, employee_id, valid_from)
             VALUES ($1, $2, $3, '2026-01-01')",
        )
        .bind(Uuid::now_v7())
        .bind(schedule)
        .bind(id)
        .execute(&w.app.pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO absences (id, employee_id, kind, date_from, date_to)
             VALUES ($1, $2, 'sick_leave', '2026-02-02', '2026-02-04')",
        )
        .bind(Uuid::now_v7())
        .bind(id)
        .execute(&w.app.pool)
        .await
        .unwrap();
        w.correction_request(Uuid::now_v7(), id).await;
        people.push((role, id, name));
    }
    let mentions =
        |text: &str, id: Uuid, name: &str| text.contains(&id.to_string()) || text.contains(name);
    let mut failures = Vec::new();
    let mut checked = 0;
    for r in table() {
        if about(&r.method, r.path) != Some(About::Employees) {
            continue;
        }
        checked += 1;
        // The daily detail pages by employee-days: one page of every employee's month.
        let path = match r.path {
            "/api/v1/reports/daily" => "/api/v1/reports/daily?limit=500",
            p => p,
        };
        let (s_admin, _, admin) = w
            .request(r.method.clone(), path, Some(&w.admin), None)
            .await;
        let (s_op, _, op) = w
            .request(r.method.clone(), path, Some(&w.operator), None)
            .await;
        assert_eq!(
            (s_admin, s_op),
            (StatusCode::OK, StatusCode::OK),
            "{}",
            r.path
        );
        if r.path == "/api/v1/reports/departments" {
            // Sums per department: the operator's count leaves out the three non-users.
            let count = |bytes: &[u8]| {
                let v: Value = serde_json::from_slice(bytes).unwrap();
                v.as_array()
                    .unwrap()
                    .iter()
                    .find(|d| d["department_id"] == json!(w.dept_a))
                    .map_or(0, |d| d["employees"].as_i64().unwrap())
            };
            let (a, o) = (count(&admin), count(&op));
            if o != a - 3 {
                failures.push(format!("{}: operator counts {o}, admin {a}", r.path));
            }
            continue;
        }
        let (admin, op) = (answer_text(&admin), answer_text(&op));
        for (role, id, name) in &people {
            if !mentions(&admin, *id, name) {
                failures.push(format!("{}: the administrator does not see {name}", r.path));
            }
            let seen = mentions(&op, *id, name);
            if seen != (*role == TargetRole::User) {
                failures.push(format!(
                    "{}: the operator {} {name} ({role:?})",
                    r.path,
                    if seen { "sees" } else { "does not see" }
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(checked, 12);
}
