//! The administrator's and operator's screens of the app: `FaceIdClient.admin()` →
//! [`AdminConsole`]. The server applies the caller's role and scope: an ordinary employee gets
//! `Unauthorized`, an operator sees their departments and sites only.

use std::sync::Arc;
use std::time::SystemTime;

use faceid_client::admin::{
    self, DeviceFilter, EmployeeFilter, Page, TodayFilter, TodayGroup, TodayReport,
};
use faceid_protocol::auth::{Platform, Role};
use faceid_protocol::devices::{Device, DeviceKind};
use faceid_protocol::org::{Employee, EmployeeStatus};

use crate::FaceIdError;
use crate::client::Shared;
use crate::records::{AttendanceEvent, ReviewChoice, opt_uuid, period};
use crate::types::{UserRole, to_system, uuid};

/// A person in the today view.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PersonEntry {
    pub employee_id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct LateEntry {
    pub employee_id: String,
    pub name: String,
    pub minutes: i64,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct LeaveEntry {
    pub employee_id: String,
    pub name: String,
    /// The absence as the server names it (`vacation`, `sick_leave`, ...).
    pub kind: String,
}

/// Who is in, late, missing or not checked out: the totals, a department or a site.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TodayGroupInfo {
    /// Department or site id; `None` for the totals and for employees without one.
    pub id: Option<String>,
    pub name: Option<String>,
    pub employees: u64,
    pub in_now: Vec<PersonEntry>,
    pub late: Vec<LateEntry>,
    pub missing: Vec<PersonEntry>,
    pub not_checked_out: Vec<PersonEntry>,
    pub on_leave: Vec<LeaveEntry>,
    pub pending_review: Vec<PersonEntry>,
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TodayOverview {
    pub at: SystemTime,
    pub totals: TodayGroupInfo,
    pub by_department: Vec<TodayGroupInfo>,
    pub by_site: Vec<TodayGroupInfo>,
}

fn person(employee_id: uuid::Uuid, name: String) -> PersonEntry {
    PersonEntry {
        employee_id: employee_id.to_string(),
        name,
    }
}

impl From<TodayGroup> for TodayGroupInfo {
    fn from(g: TodayGroup) -> Self {
        let people = |v: Vec<admin::PersonRef>| {
            v.into_iter()
                .map(|p| person(p.employee_id, p.name))
                .collect()
        };
        TodayGroupInfo {
            id: g.id.map(|i| i.to_string()),
            name: g.name,
            employees: g.employees,
            in_now: people(g.in_now),
            late: g
                .late
                .into_iter()
                .map(|l| LateEntry {
                    employee_id: l.employee_id.to_string(),
                    name: l.name,
                    minutes: l.minutes,
                })
                .collect(),
            missing: people(g.missing),
            not_checked_out: people(g.not_checked_out),
            on_leave: g
                .on_leave
                .into_iter()
                .map(|l| LeaveEntry {
                    employee_id: l.employee_id.to_string(),
                    name: l.name,
                    kind: l.kind,
                })
                .collect(),
            pending_review: people(g.pending_review),
        }
    }
}

impl From<TodayReport> for TodayOverview {
    fn from(r: TodayReport) -> Self {
        TodayOverview {
            at: to_system(r.at),
            totals: r.totals.into(),
            by_department: r.by_department.into_iter().map(Into::into).collect(),
            by_site: r.by_site.into_iter().map(Into::into).collect(),
        }
    }
}

/// A page of attendance events.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct EventList {
    pub items: Vec<AttendanceEvent>,
    /// Matching events over all pages.
    pub total: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum EmploymentStatus {
    Active,
    Dismissed,
}

/// An employee as the admin screens list them.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct EmployeeEntry {
    pub id: String,
    pub login: String,
    pub first_name: String,
    pub last_name: String,
    pub card_number: Option<String>,
    pub role: UserRole,
    pub department_id: Option<String>,
    pub position_id: Option<String>,
    pub site_ids: Vec<String>,
    pub status: EmploymentStatus,
}

impl From<Employee> for EmployeeEntry {
    fn from(e: Employee) -> Self {
        EmployeeEntry {
            id: e.id.to_string(),
            login: e.login,
            first_name: e.first_name,
            last_name: e.last_name,
            card_number: e.card_number,
            role: e.role.into(),
            department_id: e.department_id.map(|d| d.to_string()),
            position_id: e.position_id.map(|d| d.to_string()),
            site_ids: e.site_ids.iter().map(ToString::to_string).collect(),
            status: match e.status {
                EmployeeStatus::Active => EmploymentStatus::Active,
                EmployeeStatus::Dismissed => EmploymentStatus::Dismissed,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct EmployeeList {
    pub items: Vec<EmployeeEntry>,
    pub total: u64,
}

/// Filters of the employee search; every field may be left empty.
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record)]
pub struct EmployeeSearch {
    /// Searched in first and last name, login and card number.
    #[uniffi(default = None)]
    pub text: Option<String>,
    #[uniffi(default = None)]
    pub department_id: Option<String>,
    #[uniffi(default = None)]
    pub site_id: Option<String>,
    #[uniffi(default = None)]
    pub status: Option<EmploymentStatus>,
    #[uniffi(default = None)]
    pub role: Option<UserRole>,
}

/// What a listed device runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PlatformKind {
    Android,
    Ios,
    Web,
    Kiosk,
    Desktop,
}

impl From<Platform> for PlatformKind {
    fn from(p: Platform) -> Self {
        match p {
            Platform::Android => PlatformKind::Android,
            Platform::Ios => PlatformKind::Ios,
            Platform::Web => PlatformKind::Web,
            Platform::Kiosk => PlatformKind::Kiosk,
            Platform::Desktop => PlatformKind::Desktop,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum DeviceType {
    /// A phone that registered at an employee's login.
    Personal,
    /// A shared kiosk.
    Kiosk,
}

/// A device as the admin screens list them.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DeviceEntry {
    pub id: String,
    pub kind: DeviceType,
    pub name: String,
    pub platform: PlatformKind,
    pub app_version: Option<String>,
    pub blocked: bool,
    pub site_id: Option<String>,
    /// Employee of the most recent login from it.
    pub last_employee_id: Option<String>,
    pub last_seen_at: Option<SystemTime>,
    pub created_at: SystemTime,
}

impl From<Device> for DeviceEntry {
    fn from(d: Device) -> Self {
        DeviceEntry {
            id: d.id.to_string(),
            kind: match d.kind {
                DeviceKind::Personal => DeviceType::Personal,
                DeviceKind::Kiosk => DeviceType::Kiosk,
            },
            name: d.name,
            platform: d.platform.into(),
            app_version: d.app_version,
            blocked: d.blocked,
            site_id: d.site_id.map(|s| s.to_string()),
            last_employee_id: d.last_employee_id.map(|s| s.to_string()),
            last_seen_at: d.last_seen_at.map(to_system),
            created_at: to_system(d.created_at),
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DeviceList {
    pub items: Vec<DeviceEntry>,
    pub total: u64,
}

/// A kiosk just created and its credential (shown only this once).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct KioskSetup {
    pub device: DeviceEntry,
    pub credential: String,
}

fn total(t: i64) -> u64 {
    u64::try_from(t).unwrap_or(0)
}

/// The admin functions, over the logged-in session (`FaceIdClient.admin()`). Every call is
/// online; `Network` when the server cannot be reached.
#[derive(uniffi::Object)]
pub struct AdminConsole {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for AdminConsole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminConsole")
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl AdminConsole {
    /// Today's attendance of the caller's scope, optionally one department or site.
    pub async fn today(
        &self,
        department_id: Option<String>,
        site_id: Option<String>,
    ) -> Result<TodayOverview, FaceIdError> {
        let filter = TodayFilter {
            department_id: opt_uuid("department id", department_id)?,
            site_id: opt_uuid("site id", site_id)?,
        };
        let r = admin::today(&self.shared.session, filter).await;
        Ok(self.shared.result(r).await?.into())
    }

    /// Flagged punches in `[from, to)`, oldest first; reviewed ones too (see `status`:
    /// `FLAGGED_PENDING` waits for a decision).
    pub async fn flagged_punches(
        &self,
        from: Option<SystemTime>,
        to: Option<SystemTime>,
        employee_id: Option<String>,
        limit: u32,
        offset: u32,
    ) -> Result<EventList, FaceIdError> {
        let employee = opt_uuid("employee id", employee_id)?;
        let page = Page::new(limit, offset)?;
        let r =
            admin::flagged_punches(&self.shared.session, period(from, to), employee, page).await;
        let p = self.shared.result(r).await?;
        Ok(EventList {
            total: total(p.total),
            items: p.items.into_iter().map(Into::into).collect(),
        })
    }

    /// Accept or reject a flagged punch; returns the review event. Not a flagged punch:
    /// `InvalidInput` (`not_flagged`).
    pub async fn review_punch(
        &self,
        event_id: String,
        decision: ReviewChoice,
        comment: Option<String>,
    ) -> Result<AttendanceEvent, FaceIdError> {
        let event = uuid("event id", &event_id)?;
        let r = admin::review_punch(
            &self.shared.session,
            event,
            decision.into(),
            comment.as_deref(),
        )
        .await;
        Ok(self.shared.result(r).await?.into())
    }

    /// The evidence photo of a punch (JPEG, PNG or WebP bytes). None: `InvalidInput` (404);
    /// erased by an erasure or retention: `InvalidInput` (`photo_erased`).
    pub async fn evidence_photo(&self, event_id: String) -> Result<Vec<u8>, FaceIdError> {
        let event = uuid("event id", &event_id)?;
        let r = admin::evidence_photo(&self.shared.session, event).await;
        self.shared.result(r).await
    }

    /// Creates a kiosk (administrators only), optionally at a site. Its credential is in
    /// this answer only: show it (as a QR code) for the kiosk to take.
    pub async fn create_kiosk(
        &self,
        name: String,
        site_id: Option<String>,
    ) -> Result<KioskSetup, FaceIdError> {
        let site = opt_uuid("site id", site_id)?;
        let r = admin::create_kiosk(&self.shared.session, &name, site).await;
        let k = self.shared.result(r).await?;
        Ok(KioskSetup {
            device: k.device.into(),
            credential: k.credential,
        })
    }

    /// Employees of the caller's scope matching `search`, one page.
    pub async fn employees(
        &self,
        search: EmployeeSearch,
        limit: u32,
        offset: u32,
    ) -> Result<EmployeeList, FaceIdError> {
        let filter = EmployeeFilter {
            text: search.text,
            department_id: opt_uuid("department id", search.department_id)?,
            site_id: opt_uuid("site id", search.site_id)?,
            status: search.status.map(|s| match s {
                EmploymentStatus::Active => EmployeeStatus::Active,
                EmploymentStatus::Dismissed => EmployeeStatus::Dismissed,
            }),
            role: search.role.map(Role::from),
        };
        let page = Page::new(limit, offset)?;
        let r = admin::employees(&self.shared.session, &filter, page).await;
        let p = self.shared.result(r).await?;
        Ok(EmployeeList {
            total: total(p.total),
            items: p.items.into_iter().map(Into::into).collect(),
        })
    }

    /// Devices (administrators only), optionally only blocked / unblocked ones or those an
    /// employee logged in from.
    pub async fn devices(
        &self,
        blocked: Option<bool>,
        employee_id: Option<String>,
        limit: u32,
        offset: u32,
    ) -> Result<DeviceList, FaceIdError> {
        let filter = DeviceFilter {
            kind: None,
            blocked,
            employee_id: opt_uuid("employee id", employee_id)?,
        };
        let page = Page::new(limit, offset)?;
        let r = admin::devices(&self.shared.session, filter, page).await;
        let p = self.shared.result(r).await?;
        Ok(DeviceList {
            total: total(p.total),
            items: p.items.into_iter().map(Into::into).collect(),
        })
    }

    /// Block a device: every request and login from it is refused from now on.
    pub async fn block_device(&self, device_id: String) -> Result<DeviceEntry, FaceIdError> {
        self.set_blocked(&device_id, true).await
    }

    pub async fn unblock_device(&self, device_id: String) -> Result<DeviceEntry, FaceIdError> {
        self.set_blocked(&device_id, false).await
    }
}

impl AdminConsole {
    async fn set_blocked(
        &self,
        device_id: &str,
        blocked: bool,
    ) -> Result<DeviceEntry, FaceIdError> {
        let device = uuid("device id", device_id)?;
        let r = admin::set_device_blocked(&self.shared.session, device, blocked).await;
        Ok(self.shared.result(r).await?.into())
    }
}
