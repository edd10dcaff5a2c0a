//! What an administrator or operator does from the app: today's attendance of their scope,
//! flagged punches with accept / reject, the employee list and search, and blocking a device.
//! Online calls through [`Session::call_json`] (refresh on 401 included); the server applies
//! the caller's scope and role, so an operator sees only their departments and sites.

use chrono::{DateTime, SecondsFormat, Utc};
use faceid_protocol::MAX_PAGE_LIMIT;
use faceid_protocol::attendance::{AttendanceRecord, ReviewDecision};
use faceid_protocol::auth::Role;
use faceid_protocol::devices::{CreateKiosk, Device, DeviceKind, DevicePage, KioskCredential};
use faceid_protocol::org::{EmployeePage, EmployeeStatus, MAX_NAME_LEN};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::records::Period;
use crate::session::{Session, SessionError};

pub use faceid_protocol::attendance::ATTENDANCE_PATH;
pub use faceid_protocol::devices::DEVICES_PATH;
pub use faceid_protocol::org::EMPLOYEES_PATH;
/// `GET` — who is in, late, missing and not checked out now.
pub use faceid_protocol::reports::TODAY_PATH;
/// Longest review comment the server takes, characters.
pub const MAX_COMMENT_LEN: usize = 2000;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Refused before asking the server.
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error(transparent)]
    Session(#[from] SessionError),
}

fn invalid(reason: impl Into<String>) -> AdminError {
    AdminError::Invalid(reason.into())
}

/// One page of a list: `limit` 1..=[`MAX_PAGE_LIMIT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: u32,
    pub offset: u32,
}

impl Page {
    pub fn new(limit: u32, offset: u32) -> Result<Self, AdminError> {
        if limit == 0 || limit > MAX_PAGE_LIMIT {
            return Err(invalid(format!(
                "page size must be within 1..={MAX_PAGE_LIMIT}"
            )));
        }
        Ok(Self { limit, offset })
    }
}

/// A path with its query string, values percent-encoded; `None` values are left out.
fn with_query(path: &str, pairs: &[(&str, Option<String>)]) -> String {
    // `Url` only for its form encoder; the base is never sent.
    let mut url = reqwest::Url::parse("http://query.invalid/").expect("a valid constant URL");
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            if let Some(v) = v {
                q.append_pair(k, v);
            }
        }
    }
    match url.query() {
        Some(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path.to_owned(),
    }
}

fn time(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

fn id(v: Option<Uuid>) -> Option<String> {
    v.map(|v| v.to_string())
}

fn page_pairs(page: Page) -> [(&'static str, Option<String>); 2] {
    [
        ("limit", Some(page.limit.to_string())),
        ("offset", Some(page.offset.to_string())),
    ]
}

/// The lower-case wire name of a serde enum value (`role=user`, `status=active`).
fn wire_name<T: Serialize>(v: &T) -> Option<String> {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
}

// ---------------------------------------------------------------------------------------------
// Today

// The report types live in `faceid-protocol` (the server writes the same types); re-exported
// here so `faceid_client::admin::TodayReport` and friends keep working.
pub use faceid_protocol::reports::{LateRef, LeaveRef, PersonRef, TodayGroup, TodayReport};

/// Narrow the today view to one department or site (within the caller's scope).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TodayFilter {
    pub department_id: Option<Uuid>,
    pub site_id: Option<Uuid>,
}

/// Today's attendance of the caller's scope, as of now.
pub async fn today(session: &Session, filter: TodayFilter) -> Result<TodayReport, AdminError> {
    let path = with_query(
        TODAY_PATH,
        &[
            ("department_id", id(filter.department_id)),
            ("site_id", id(filter.site_id)),
        ],
    );
    Ok(session
        .call_json(reqwest::Method::GET, &path, None::<&()>)
        .await?)
}

// ---------------------------------------------------------------------------------------------
// Flagged punches

/// `GET /api/v1/attendance`: a page of events, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventPage {
    pub items: Vec<AttendanceRecord>,
    /// Events matching the filters over all pages.
    pub total: i64,
    pub limit: u32,
    pub offset: u32,
}

/// Flagged punches of the caller's scope in `period`, oldest first, reviewed ones included
/// (their `status` says `flagged_accepted` / `flagged_rejected`; waiting ones
/// `flagged_pending`).
pub async fn flagged_punches(
    session: &Session,
    period: Period,
    employee: Option<Uuid>,
    page: Page,
) -> Result<EventPage, AdminError> {
    if let (Some(f), Some(t)) = (period.from, period.to)
        && t <= f
    {
        return Err(invalid("`to` must be after `from`"));
    }
    let [limit, offset] = page_pairs(page);
    let path = with_query(
        ATTENDANCE_PATH,
        &[
            ("verdict", Some("flagged".to_owned())),
            ("from", time(period.from)),
            ("to", time(period.to)),
            ("employee", id(employee)),
            limit,
            offset,
        ],
    );
    Ok(session
        .call_json(reqwest::Method::GET, &path, None::<&()>)
        .await?)
}

#[derive(Debug, Serialize)]
struct ReviewBody<'a> {
    decision: ReviewDecision,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<&'a str>,
}

/// Accept or reject a flagged punch; returns the review event. The server answers 409
/// `not_flagged` for anything but a flagged punch.
pub async fn review_punch(
    session: &Session,
    event: Uuid,
    decision: ReviewDecision,
    comment: Option<&str>,
) -> Result<AttendanceRecord, AdminError> {
    let comment = comment.map(str::trim).filter(|c| !c.is_empty());
    if let Some(c) = comment
        && (c.chars().count() > MAX_COMMENT_LEN || c.chars().any(char::is_control))
    {
        return Err(invalid(format!(
            "a comment is at most {MAX_COMMENT_LEN} characters without control characters"
        )));
    }
    let path = format!("{ATTENDANCE_PATH}/events/{event}/review");
    Ok(session
        .call_json(
            reqwest::Method::POST,
            &path,
            Some(&ReviewBody { decision, comment }),
        )
        .await?)
}

/// The evidence photo (the best frame as uploaded) of a punch: JPEG, PNG or WebP bytes.
/// No photo: `Rejected` 404; erased by an erasure request or retention: 410 `photo_erased`.
pub async fn evidence_photo(session: &Session, event: Uuid) -> Result<Vec<u8>, AdminError> {
    let path = format!("{ATTENDANCE_PATH}/events/{event}/photo");
    Ok(session.get_bytes(&path).await?)
}

// ---------------------------------------------------------------------------------------------
// Employees

/// Filters of the employee list; `text` is searched in names, login and card number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmployeeFilter {
    pub text: Option<String>,
    pub department_id: Option<Uuid>,
    pub site_id: Option<Uuid>,
    pub status: Option<EmployeeStatus>,
    pub role: Option<Role>,
}

/// Employees of the caller's scope, one page.
pub async fn employees(
    session: &Session,
    filter: &EmployeeFilter,
    page: Page,
) -> Result<EmployeePage, AdminError> {
    let text = filter
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    if text.is_some_and(|t| t.chars().count() > MAX_NAME_LEN) {
        return Err(invalid(format!(
            "a search is at most {MAX_NAME_LEN} characters"
        )));
    }
    let [limit, offset] = page_pairs(page);
    let path = with_query(
        EMPLOYEES_PATH,
        &[
            ("q", text.map(str::to_owned)),
            ("department_id", id(filter.department_id)),
            ("site_id", id(filter.site_id)),
            ("status", filter.status.as_ref().and_then(wire_name)),
            ("role", filter.role.as_ref().and_then(wire_name)),
            limit,
            offset,
        ],
    );
    Ok(session
        .call_json(reqwest::Method::GET, &path, None::<&()>)
        .await?)
}

// ---------------------------------------------------------------------------------------------
// Devices

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeviceFilter {
    pub kind: Option<DeviceKind>,
    pub blocked: Option<bool>,
    /// Devices this employee has logged in from.
    pub employee_id: Option<Uuid>,
}

/// Devices, one page (administrators only: others get 403).
pub async fn devices(
    session: &Session,
    filter: DeviceFilter,
    page: Page,
) -> Result<DevicePage, AdminError> {
    let [limit, offset] = page_pairs(page);
    let path = with_query(
        DEVICES_PATH,
        &[
            ("kind", filter.kind.as_ref().and_then(wire_name)),
            ("blocked", filter.blocked.map(|b| b.to_string())),
            ("employee_id", id(filter.employee_id)),
            limit,
            offset,
        ],
    );
    Ok(session
        .call_json(reqwest::Method::GET, &path, None::<&()>)
        .await?)
}

/// Block a device (every request and login from it is then refused) or unblock it;
/// administrators only. Returns the device as it is now.
pub async fn set_device_blocked(
    session: &Session,
    device: Uuid,
    blocked: bool,
) -> Result<Device, AdminError> {
    let action = if blocked { "block" } else { "unblock" };
    let path = format!("{DEVICES_PATH}/{device}/{action}");
    Ok(session
        .call_json(reqwest::Method::POST, &path, None::<&()>)
        .await?)
}

/// Creates a kiosk (administrators only), optionally at a site. The answer holds its
/// credential, shown only this once: the app shows it as a QR code for the kiosk to scan.
pub async fn create_kiosk(
    session: &Session,
    name: &str,
    site_id: Option<Uuid>,
) -> Result<KioskCredential, AdminError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
        return Err(invalid(format!(
            "a kiosk's name is 1 to {MAX_NAME_LEN} characters"
        )));
    }
    let body = CreateKiosk {
        name: name.to_owned(),
        site_id,
    };
    Ok(session
        .call_json(reqwest::Method::POST, DEVICES_PATH, Some(&body))
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_encoded_and_skip_absent_values() {
        assert_eq!(with_query("/a", &[("x", None)]), "/a");
        assert_eq!(
            with_query(
                "/a",
                &[
                    ("q", Some("Ann Lee&co".into())),
                    ("n", None),
                    ("k", Some("ü".into()))
                ]
            ),
            "/a?q=Ann+Lee%26co&k=%C3%BC"
        );
        assert_eq!(wire_name(&Role::User).as_deref(), Some("user"));
        assert_eq!(
            wire_name(&EmployeeStatus::Dismissed).as_deref(),
            Some("dismissed")
        );
        assert_eq!(wire_name(&DeviceKind::Kiosk).as_deref(), Some("kiosk"));
        let t = DateTime::parse_from_rfc3339("2026-11-23T08:00:00+03:00")
            .map(|t| t.with_timezone(&Utc))
            .ok();
        assert_eq!(time(t).as_deref(), Some("2026-11-23T05:00:00Z"));
    }

    #[test]
    fn pages_are_bounded() {
        assert!(Page::new(0, 0).is_err());
        assert!(Page::new(MAX_PAGE_LIMIT + 1, 0).is_err());
        assert_eq!(
            Page::new(50, 100).ok(),
            Some(Page {
                limit: 50,
                offset: 100
            })
        );
    }

    #[test]
    fn the_servers_today_report_reads() {
        // As the backend's `reports::today` writes it.
        let json = r#"{"at":"2026-11-23T09:00:00Z",
            "totals":{"id":null,"name":null,"employees":2,
              "in_now":[{"employee_id":"0196b1f0-0000-7000-8000-000000000001","name":"Ann Lee"}],
              "late":[{"employee_id":"0196b1f0-0000-7000-8000-000000000001","name":"Ann Lee","minutes":7}],
              "missing":[],"not_checked_out":[],
              "on_leave":[{"employee_id":"0196b1f0-0000-7000-8000-000000000002","name":"Bob Ray","kind":"vacation"}],
              "pending_review":[]},
            "by_department":[],"by_site":[]}"#;
        let r: TodayReport = serde_json::from_str(json).expect("parse");
        assert_eq!(r.totals.employees, 2);
        assert_eq!(r.totals.late[0].minutes, 7);
        assert_eq!(r.totals.on_leave[0].kind, "vacation");
    }
}
