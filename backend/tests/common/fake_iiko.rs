//! A fake iikoServer `/resto/api` (integrations.md §2.7), served by axum on a loopback port so
//! the production client talks to it over HTTP as to a real server:
//!
//! * `POST|GET /resto/api/auth`: `login`/`pass` from the query **or** the form body (with a
//!   `strict_form` switch answering 500 `@FormParam` to query-only logins); `pass` must be the
//!   lower-case hex SHA-1 of the password; a `text/plain` token. **N licence slots**: while N
//!   tokens are alive another login gets 403 "License enhancement is required: no connections
//!   available for module …". `GET|POST /resto/api/logout?key=` frees the slot and answers
//!   the token. Logins, logouts, refusals and the peak of live tokens are counted.
//! * Every other route wants `?key=` or `Cookie: key=`; a token idle longer than `ttl` is
//!   gone (401 `text/plain`); [`FakeIiko::restart`] wipes every token.
//! * `GET /employees[?includeDeleted=true]`, `/employees/byId/{id}`, `/byCode/{code}`,
//!   `/byDepartment/{code}`, `/employees/roles`, `/attendance/types`, `/schedule/types` from
//!   fixtures; the staff always include a system account (`employee=false`) and a deleted
//!   employee.
//! * `GET /employees/attendance` and `/employees/schedule/` with `from`/`to` as `YYYY-MM-DD`
//!   (else 400 "Wrong date format"), overlap filtering with an inclusive `to`, `dateTo`
//!   omitted for open records.
//! * `POST /employees/attendance/create|update` (XML): rounded to the minute, 409
//!   `text/plain` on an overlap with the same employee's record, a **new id on update**;
//!   `DELETE /employees/attendance/byId/{id}`. The same for `/employees/schedule/*`.
//! * Faults: the next N API calls answer 500 with Java-ish text (auth and logout are spared),
//!   the next N answers of any kind a `text/html` proxy page; latency.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use chrono::{DateTime, Duration as Span, FixedOffset, NaiveDate, SubsecRound, Timelike};
use quick_xml::escape::escape;
use sha1::{Digest, Sha1};
use uuid::Uuid;

pub const LOGIN: &str = "api";
pub const PASSWORD: &str = "resto#test";
/// The restaurant's offset (UTC+3).
pub const TZ_OFFSET_S: i32 = 3 * 3600;

#[derive(Debug, Clone)]
pub struct Employee {
    pub id: String,
    pub code: String,
    pub first_name: String,
    pub last_name: String,
    pub login: Option<String>,
    pub main_role_code: Option<String>,
    pub role_codes: Vec<String>,
    pub department_codes: Vec<String>,
    pub deleted: bool,
    /// `false` for system accounts.
    pub employee: bool,
}

#[derive(Debug, Clone)]
pub struct Role {
    pub id: String,
    pub code: String,
    pub name: String,
    pub deleted: bool,
}

/// An attendance or a shift.
#[derive(Debug, Clone)]
pub struct Record {
    pub id: String,
    pub employee_id: String,
    pub role_id: Option<String>,
    pub from: DateTime<FixedOffset>,
    pub to: Option<DateTime<FixedOffset>>,
    pub type_code: String,
    pub department_id: Option<String>,
    pub comment: Option<String>,
}

pub struct Inner {
    pub login: String,
    pub password: String,
    pub slots: usize,
    /// Live tokens and when each was last used.
    pub tokens: HashMap<String, Instant>,
    pub ttl: Duration,
    pub strict_form: bool,
    pub employees: Vec<Employee>,
    pub roles: Vec<Role>,
    pub attendance_types: Vec<(String, String, String)>,
    pub schedule_types: Vec<(String, String, String)>,
    pub attendances: Vec<Record>,
    /// Attendance ids left out of the reads (as if entered in iiko after our read): only
    /// the write's 409 tells of them.
    pub unlisted: HashSet<String>,
    pub schedules: Vec<Record>,
    pub fail_next: u32,
    pub html_next: u32,
    pub latency: Duration,
    pub logins: u32,
    pub logouts: u32,
    pub refused_no_licence: u32,
    pub peak_tokens: usize,
    /// Every request: (method, path, status).
    pub calls: Vec<(String, String, u16)>,
}

#[derive(Clone)]
pub struct FakeIiko {
    pub inner: Arc<Mutex<Inner>>,
    pub url: String,
}

pub fn sha1_hex(s: &str) -> String {
    hex::encode(Sha1::digest(s.as_bytes()))
}

pub fn tz() -> FixedOffset {
    FixedOffset::east_opt(TZ_OFFSET_S).unwrap()
}

impl FakeIiko {
    /// A server with one licence slot, the roles `WAIT`, `COOK`, `BAR`, a system account, a
    /// deleted employee and `staff` employees.
    pub async fn start(staff: usize) -> Self {
        let roles = ["WAIT:Waiter", "COOK:Cook", "BAR:Barista"]
            .iter()
            .map(|r| {
                let (code, name) = r.split_once(':').unwrap();
                Role {
                    id: Uuid::new_v4().to_string(),
                    code: code.into(),
                    name: name.into(),
                    deleted: false,
                }
            })
            .collect();
        let mut employees = vec![
            Employee {
                id: Uuid::new_v4().to_string(),
                code: "0".into(),
                first_name: String::new(),
                last_name: "System".into(),
                login: Some("admin".into()),
                main_role_code: None,
                role_codes: vec![],
                department_codes: vec![],
                deleted: false,
                employee: false,
            },
            Employee {
                deleted: true,
                ..staff_member(9999)
            },
        ];
        employees.extend((1..=staff).map(staff_member));
        let inner = Arc::new(Mutex::new(Inner {
            login: LOGIN.into(),
            password: PASSWORD.into(),
            slots: 1,
            tokens: HashMap::new(),
            ttl: Duration::from_secs(3600),
            strict_form: false,
            employees,
            roles,
            attendance_types: vec![(Uuid::new_v4().to_string(), "W".into(), "Worked".into())],
            schedule_types: vec![(Uuid::new_v4().to_string(), "D".into(), "Day".into())],
            attendances: vec![],
            unlisted: HashSet::new(),
            schedules: vec![],
            fail_next: 0,
            html_next: 0,
            latency: Duration::ZERO,
            logins: 0,
            logouts: 0,
            refused_no_licence: 0,
            peak_tokens: 0,
            calls: vec![],
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let fake = FakeIiko { inner, url };
        let app = Router::new().fallback(any(handle)).with_state(fake.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        fake
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.inner.lock().unwrap())
    }

    /// Live tokens (taken licence slots).
    pub fn live_tokens(&self) -> usize {
        self.with(|s| s.tokens.len())
    }

    /// A server restart: every token is gone.
    pub fn restart(&self) {
        self.with(|s| s.tokens.clear());
    }

    /// Takes a licence slot as another client would (answers its token).
    pub fn occupy_slot(&self) -> String {
        let t = Uuid::new_v4().to_string();
        self.with(|s| s.tokens.insert(t.clone(), Instant::now()));
        t
    }

    pub fn employee_mut<R>(&self, code: &str, f: impl FnOnce(&mut Employee) -> R) -> R {
        self.with(|s| f(s.employees.iter_mut().find(|e| e.code == code).unwrap()))
    }
}

/// Staff member `n`: code `n`, a waiter (or a cook for every third), in department `D1`.
pub fn staff_member(n: usize) -> Employee {
    Employee {
        id: Uuid::new_v4().to_string(),
        code: format!("{n}"),
        first_name: format!("First{n}"),
        last_name: format!("Last{n}"),
        login: Some(format!("staff{n}")),
        main_role_code: Some(if n.is_multiple_of(3) { "COOK" } else { "WAIT" }.into()),
        role_codes: vec![if n.is_multiple_of(3) { "COOK" } else { "WAIT" }.into()],
        department_codes: vec!["D1".into()],
        deleted: false,
        employee: true,
    }
}

async fn handle(
    State(fake): State<FakeIiko>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Like a servlet container, the server finishes a request whose client went away (a
    // login the client gave up on still takes a slot).
    tokio::spawn(async move {
        let path = uri.path().to_owned();
        let latency = fake.with(|s| s.latency);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let resp = route(
            &fake,
            &method,
            uri.query().unwrap_or(""),
            &path,
            &headers,
            &body,
        );
        let status = resp.status().as_u16();
        fake.with(|s| s.calls.push((method.to_string(), path, status)));
        resp
    })
    .await
    .unwrap()
}

fn text(status: StatusCode, body: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain;charset=UTF-8")],
        body.into(),
    )
        .into_response()
}

fn xml(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/xml;charset=UTF-8")],
        body,
    )
        .into_response()
}

fn pairs(s: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(s).into_owned().collect()
}

fn route(
    fake: &FakeIiko,
    method: &Method,
    query: &str,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let mut guard = fake.inner.lock().unwrap();
    let s = &mut *guard;
    if s.html_next > 0 {
        s.html_next -= 1;
        return (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body><h1>502 Bad Gateway</h1>nginx</body></html>",
        )
            .into_response();
    }
    let q = pairs(query.as_bytes());
    let Some(rest) = path.strip_prefix("/resto/api") else {
        return text(StatusCode::NOT_FOUND, "Not found");
    };
    // Expired tokens hold no slot.
    let ttl = s.ttl;
    s.tokens.retain(|_, used| used.elapsed() <= ttl);
    match rest {
        "/auth" if method == Method::POST || method == Method::GET => {
            let form = pairs(body);
            if s.strict_form && !(form.contains_key("login") && form.contains_key("pass")) {
                return text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "java.lang.IllegalStateException: The @FormParam is utilized when the content type of the request entity is not application/x-www-form-urlencoded",
                );
            }
            let login = form
                .get("login")
                .or(q.get("login"))
                .cloned()
                .unwrap_or_default();
            let pass = form
                .get("pass")
                .or(q.get("pass"))
                .cloned()
                .unwrap_or_default();
            if login != s.login || pass != sha1_hex(&s.password) {
                return text(StatusCode::UNAUTHORIZED, "Неверный логин или пароль");
            }
            if s.tokens.len() >= s.slots {
                s.refused_no_licence += 1;
                return text(
                    StatusCode::FORBIDDEN,
                    "License enhancement is required: no connections available for module 28008806",
                );
            }
            let token = Uuid::new_v4().to_string();
            s.tokens.insert(token.clone(), Instant::now());
            s.logins += 1;
            s.peak_tokens = s.peak_tokens.max(s.tokens.len());
            return text(StatusCode::OK, token);
        }
        "/logout" => {
            let key = q.get("key").cloned().unwrap_or_default();
            if s.tokens.remove(&key).is_some() {
                s.logouts += 1;
            }
            return text(StatusCode::OK, key);
        }
        _ => {}
    }
    let key = q.get("key").cloned().or_else(|| cookie_key(headers));
    match key.as_ref().and_then(|k| s.tokens.get_mut(k)) {
        Some(used) => *used = Instant::now(),
        None => {
            return text(StatusCode::UNAUTHORIZED, "Token is expired or invalid");
        }
    }
    // Injected failures hit API calls only (after the token check), never auth or logout.
    if s.fail_next > 0 {
        s.fail_next -= 1;
        return text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "java.lang.NullPointerException\n\tat resto.api.EmployeesService.list(EmployeesService.java:42)",
        );
    }
    let get = method == Method::GET;
    let post = method == Method::POST;
    match rest {
        "/licence/info" if get => xml(
            StatusCode::OK,
            format!(
                "<licenseInfo><moduleId>28008806</moduleId><connections>{}</connections><used>{}</used></licenseInfo>",
                s.slots,
                s.tokens.len()
            ),
        ),
        "/employees" | "/employees/" if get => {
            let deleted = q.get("includeDeleted").is_some_and(|v| v == "true");
            let list: Vec<&Employee> = s
                .employees
                .iter()
                .filter(|e| deleted || !e.deleted)
                .collect();
            xml(StatusCode::OK, employees_xml(&list))
        }
        "/employees/roles" if get => {
            let body: String = s
                .roles
                .iter()
                .map(|r| {
                    format!(
                        "<role><id>{}</id><code>{}</code><name>{}</name><paymentPerHour>2.5</paymentPerHour><steadySalary>0</steadySalary><scheduleType>HOURS</scheduleType><deleted>{}</deleted></role>",
                        r.id,
                        escape(&r.code),
                        escape(&r.name),
                        r.deleted
                    )
                })
                .collect();
            xml(
                StatusCode::OK,
                format!("<employeeRoles>{body}</employeeRoles>"),
            )
        }
        "/employees/attendance/types" if get => xml(
            StatusCode::OK,
            types_xml("attendanceType", "attendanceTypes", &s.attendance_types),
        ),
        "/employees/schedule/types" if get => xml(
            StatusCode::OK,
            types_xml("scheduleType", "scheduleTypes", &s.schedule_types),
        ),
        "/employees/attendance" | "/employees/attendance/" if get => {
            let listed: Vec<Record> = s
                .attendances
                .iter()
                .filter(|r| !s.unlisted.contains(&r.id))
                .cloned()
                .collect();
            list_records(&listed, &q, "attendance", "attendances")
        }
        "/employees/schedule" | "/employees/schedule/" if get => {
            list_records(&s.schedules, &q, "schedule", "schedules")
        }
        "/employees/attendance/create" if post => {
            write(&mut s.attendances, body, false, "attendance")
        }
        "/employees/attendance/update" if post => {
            write(&mut s.attendances, body, true, "attendance")
        }
        "/employees/schedule/create" if post => write(&mut s.schedules, body, false, "schedule"),
        "/employees/schedule/update" if post => write(&mut s.schedules, body, true, "schedule"),
        _ => {
            if let Some(id) = rest.strip_prefix("/employees/byId/").filter(|_| get) {
                return one_employee(s, |e| e.id == id);
            }
            if let Some(code) = rest.strip_prefix("/employees/byCode/").filter(|_| get) {
                return one_employee(s, |e| e.code == code);
            }
            if let Some(dep) = rest
                .strip_prefix("/employees/byDepartment/")
                .filter(|_| get)
            {
                let list: Vec<&Employee> = s
                    .employees
                    .iter()
                    .filter(|e| !e.deleted && e.department_codes.iter().any(|d| d == dep))
                    .collect();
                return xml(StatusCode::OK, employees_xml(&list));
            }
            for (prefix, records) in [
                ("/employees/attendance/byId/", &mut s.attendances),
                ("/employees/schedule/byId/", &mut s.schedules),
            ] {
                if let Some(id) = rest
                    .strip_prefix(prefix)
                    .filter(|_| method == Method::DELETE)
                {
                    let before = records.len();
                    records.retain(|r| r.id != id);
                    return if records.len() < before {
                        text(StatusCode::OK, "")
                    } else {
                        text(
                            StatusCode::NOT_FOUND,
                            format!("Entity with id {id} not found"),
                        )
                    };
                }
            }
            text(StatusCode::NOT_FOUND, format!("No resource {rest}"))
        }
    }
}

fn cookie_key(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix("key=").map(str::to_owned))
}

fn one_employee(s: &Inner, pred: impl Fn(&Employee) -> bool) -> Response {
    match s.employees.iter().find(|e| pred(e)) {
        Some(e) => xml(StatusCode::OK, employee_xml(e)),
        None => text(StatusCode::NOT_FOUND, "Employee not found"),
    }
}

fn employee_xml(e: &Employee) -> String {
    let many = |tag: &str, v: &[String]| -> String {
        v.iter()
            .map(|x| format!("<{tag}>{}</{tag}>", escape(x.as_str())))
            .collect()
    };
    format!(
        "<employee><id>{}</id><code>{}</code><name>{}</name>{}{}<firstName>{}</firstName><lastName>{}</lastName>{}{}<deleted>{}</deleted><supplier>false</supplier><employee>{}</employee><client>false</client></employee>",
        e.id,
        escape(e.code.as_str()),
        escape(format!("{} {}", e.last_name, e.first_name).trim()),
        e.login
            .as_ref()
            .map(|l| format!("<login>{}</login>", escape(l.as_str())))
            .unwrap_or_default(),
        e.main_role_code
            .as_ref()
            .map(|r| format!("<mainRoleCode>{}</mainRoleCode>", escape(r.as_str())))
            .unwrap_or_default(),
        escape(e.first_name.as_str()),
        escape(e.last_name.as_str()),
        many("roleCodes", &e.role_codes),
        many("departmentCodes", &e.department_codes),
        e.deleted,
        e.employee,
    )
}

fn employees_xml(list: &[&Employee]) -> String {
    let body: String = list.iter().map(|e| employee_xml(e)).collect();
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><employees>{body}</employees>")
}

fn types_xml(tag: &str, outer: &str, types: &[(String, String, String)]) -> String {
    let body: String = types
        .iter()
        .map(|(id, code, name)| {
            format!(
                "<{tag}><id>{id}</id><code>{}</code><name>{}</name><deleted>false</deleted></{tag}>",
                escape(code.as_str()),
                escape(name.as_str())
            )
        })
        .collect();
    format!("<{outer}>{body}</{outer}>")
}

fn fmt_time(t: &DateTime<FixedOffset>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()
}

fn record_xml(r: &Record, tag: &str) -> String {
    let type_tag = if tag == "attendance" {
        "attendanceType"
    } else {
        "scheduleTypeCode"
    };
    format!(
        "<{tag}><id>{}</id><employeeId>{}</employeeId>{}<dateFrom>{}</dateFrom>{}<{type_tag}>{}</{type_tag}>{}{}</{tag}>",
        r.id,
        r.employee_id,
        r.role_id
            .as_ref()
            .map(|x| format!("<roleId>{x}</roleId>"))
            .unwrap_or_default(),
        fmt_time(&r.from),
        r.to.as_ref()
            .map(|t| format!("<dateTo>{}</dateTo>", fmt_time(t)))
            .unwrap_or_default(),
        escape(r.type_code.as_str()),
        r.department_id
            .as_ref()
            .map(|x| format!("<departmentId>{x}</departmentId>"))
            .unwrap_or_default(),
        r.comment
            .as_ref()
            .map(|x| format!("<comment>{}</comment>", escape(x.as_str())))
            .unwrap_or_default(),
    )
}

fn day(q: &HashMap<String, String>, name: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(q.get(name)?, "%Y-%m-%d").ok()
}

/// Records overlapping `[from 00:00, to + 1 day 00:00)` in the restaurant's zone: `to` is
/// inclusive, and a record that crosses into the next day is listed.
fn list_records(
    records: &[Record],
    q: &HashMap<String, String>,
    tag: &str,
    outer: &str,
) -> Response {
    let (Some(from), Some(to)) = (day(q, "from"), day(q, "to")) else {
        return text(StatusCode::BAD_REQUEST, "Wrong date format");
    };
    let start = from
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_local_timezone(tz())
        .unwrap();
    let end = (to + Span::days(1))
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_local_timezone(tz())
        .unwrap();
    let body: String = records
        .iter()
        .filter(|r| r.from < end && r.to.is_none_or(|t| t > start))
        .map(|r| record_xml(r, tag))
        .collect();
    xml(StatusCode::OK, format!("<{outer}>{body}</{outer}>"))
}

fn field(body: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&format!("</{tag}>"))? + start;
    let v = body[start..end].trim();
    (!v.is_empty()).then(|| {
        quick_xml::escape::unescape(v)
            .map(|c| c.into_owned())
            .unwrap_or_else(|_| v.to_owned())
    })
}

fn minute(t: DateTime<FixedOffset>) -> DateTime<FixedOffset> {
    t.trunc_subsecs(0).with_second(0).unwrap()
}

/// `create` or `update` of an attendance or a shift.
fn write(records: &mut Vec<Record>, body: &[u8], update: bool, tag: &str) -> Response {
    let body = String::from_utf8_lossy(body);
    let parse = |name: &str| {
        field(&body, name).and_then(|v| DateTime::parse_from_rfc3339(&v).ok().map(minute))
    };
    let (Some(employee_id), Some(from)) = (field(&body, "employeeId"), parse("dateFrom")) else {
        return text(
            StatusCode::BAD_REQUEST,
            "employeeId and dateFrom are required",
        );
    };
    let to = parse("dateTo");
    if to.is_some_and(|t| t <= from) {
        return text(StatusCode::BAD_REQUEST, "dateTo must be after dateFrom");
    }
    let type_tag = if tag == "attendance" {
        "attendanceType"
    } else {
        "scheduleTypeCode"
    };
    let old_id = field(&body, "id");
    if update {
        let Some(id) = &old_id else {
            return text(StatusCode::BAD_REQUEST, "id is required on update");
        };
        if !records.iter().any(|r| &r.id == id) {
            return text(
                StatusCode::NOT_FOUND,
                format!("Entity with id {id} not found"),
            );
        }
    }
    let overlaps = records.iter().any(|r| {
        r.employee_id == employee_id
            && Some(&r.id) != old_id.as_ref().filter(|_| update)
            && r.to.is_none_or(|t| t > from)
            && to.is_none_or(|t| r.from < t)
    });
    if overlaps {
        return text(
            StatusCode::CONFLICT,
            "Явка сотрудника пересекается с другой явкой (attendance overlaps another one)",
        );
    }
    if update {
        records.retain(|r| Some(&r.id) != old_id.as_ref());
    }
    let rec = Record {
        id: Uuid::new_v4().to_string(),
        employee_id,
        role_id: field(&body, "roleId"),
        from,
        to,
        type_code: field(&body, type_tag).unwrap_or_else(|| "W".into()),
        department_id: field(&body, "departmentId"),
        comment: field(&body, "comment"),
    };
    let answer = record_xml(&rec, tag);
    records.push(rec);
    xml(
        if update {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        },
        answer,
    )
}
