//! Schedules and reports through the HTTP API, on a real database: the "done when" story
//! of issue 7 (a weekly department schedule, punches, and every report agreeing with
//! hand-computed figures), recompute consistency, bad input and role scope.

mod common;

use std::io::Cursor;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use calamine::{Data, Reader, Xlsx};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use common::{PASSWORD, TestApp};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sqlx::PgPool;
use tower::ServiceExt;
use uuid::Uuid;

use faceid_server::auth::Scope;
use faceid_server::timesheet::Period;
use faceid_server::timesheet::export::{
    T13_ABSENCE_COL, T13_FIRST_DAY_COL, T13_FIRST_ROW, T13_HALF_COL, T13_MONTH_DAYS_COL,
    T13_MONTH_HOURS_COL,
};
use faceid_server::timesheet::store::{self, EmpFilter};

/// Inserts a punch the way the attendance module stores it (hash chain fields filled with
/// unique bytes; the chain itself is not this module's concern). Returns the event id.
async fn punch(
    pool: &PgPool,
    employee: Uuid,
    site: Option<Uuid>,
    kind: &str,
    at: DateTime<Utc>,
    verdict: &str,
) -> i64 {
    insert_event(pool, employee, site, kind, at, verdict, None, None).await
}

#[allow(clippy::too_many_arguments)]
async fn insert_event(
    pool: &PgPool,
    employee: Uuid,
    site: Option<Uuid>,
    kind: &str,
    at: DateTime<Utc>,
    verdict: &str,
    refers_to: Option<i64>,
    decision: Option<&str>,
) -> i64 {
    let mut hash = Uuid::new_v4().as_bytes().to_vec();
    hash.extend_from_slice(Uuid::new_v4().as_bytes());
    sqlx::query_scalar(
        "INSERT INTO attendance_events (public_id, employee_id, site_id, kind, occurred_at,
                verdict, refers_to, decision, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(Uuid::new_v4())
    .bind(employee)
    .bind(site)
    .bind(kind)
    .bind(at)
    .bind(verdict)
    .bind(refers_to)
    .bind(decision)
    .bind(vec![0u8; 32])
    .bind(hash)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Local time in Asia/Dushanbe (UTC+5, no daylight saving).
fn dushanbe(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Dushanbe
        .with_ymd_and_hms(2026, 3, d, h, m, 0)
        .unwrap()
        .with_timezone(&Utc)
}

async fn bytes(app: &TestApp, path: &str, token: &str) -> (StatusCode, String, Vec<u8>) {
    let (status, headers, body) = fetch(app, path, token).await;
    (status, header_text(&headers, header::CONTENT_TYPE), body)
}

/// A `GET` answered whole: status, headers, body.
async fn fetch(app: &TestApp, path: &str, token: &str) -> (StatusCode, header::HeaderMap, Vec<u8>) {
    let req = Request::builder()
        .method(Method::GET)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.unwrap().to_bytes().to_vec();
    (parts.status, parts.headers, body)
}

fn header_text(h: &header::HeaderMap, name: header::HeaderName) -> String {
    h.get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn sheet(bytes: Vec<u8>) -> calamine::Range<Data> {
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).expect("xlsx opens");
    let name = wb.sheet_names()[0].clone();
    wb.worksheet_range(&name).expect("sheet")
}

fn text(r: &calamine::Range<Data>, row: u32, col: u32) -> String {
    match r.get_value((row, col)) {
        Some(Data::String(s)) => s.clone(),
        Some(Data::Float(f)) => format!("{f}"),
        Some(Data::Int(i)) => format!("{i}"),
        _ => String::new(),
    }
}

fn num(r: &calamine::Range<Data>, row: u32, col: u32) -> f64 {
    match r.get_value((row, col)) {
        Some(Data::Float(f)) => *f,
        Some(Data::Int(i)) => *i as f64,
        other => panic!("no number at ({row},{col}): {other:?}"),
    }
}

struct Story {
    app: TestApp,
    admin: String,
    dept: Uuid,
    site: Uuid,
    /// Aliev, Boboev, Davlatova, Ergashev (the reports' order).
    emp: [Uuid; 4],
}

/// March 2026 in Dushanbe. A weekly Mon–Fri 09:00–18:00 schedule (60 min unpaid break,
/// 10 min late grace) assigned to the Kitchen department from 1 March; 9 March is a
/// holiday. Working days: 22 weekdays − 1 holiday = 21.
///
/// - Aliev: Mon 2nd 09:00–18:00 (480 min), Tue 3rd 09:25–18:00 (late 25, 455 min),
///   Wed 4th 09:00–20:00 (600 min, overtime 120); absent the other 18 working days.
/// - Boboev: Mon 2nd 09:05–18:00 (inside the grace, 475 min), Tue 3rd in 09:00 and no
///   check-out (missing check-out), Wed 4th punches rejected by face verification (absent);
///   absent the other 18 working days too (19 in all).
/// - Davlatova: sick leave 2nd–6th (5 days), punches on the 3rd anyway (not counted);
///   absent the other 16 working days.
/// - Ergashev: never punches: 21 absences.
async fn story(pool: PgPool) -> Story {
    story_with(pool, common::settings()).await
}

/// [`story`] on a server with these settings.
async fn story_with(pool: PgPool, settings: faceid_server::Settings) -> Story {
    let app = TestApp::with_settings(pool, settings);
    app.bootstrap_admin("root").await;
    let admin = app.login("root").await.access_token;
    let dept = app.create_department(&admin, "Kitchen").await;
    let r = app
        .post(
            "/api/v1/sites",
            &admin,
            json!({"name": "Dushanbe", "time_zone": "Asia/Dushanbe",
                   "geofence": {"type": "circle", "latitude": 38.56, "longitude": 68.78, "radius_m": 150.0}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let site: Uuid = r.body["id"].as_str().unwrap().parse().unwrap();
    let mut emp = [Uuid::nil(); 4];
    for (i, (login, last)) in [
        ("aziz", "Aliev"),
        ("bahrom", "Boboev"),
        ("dilnoza", "Davlatova"),
        ("erkin", "Ergashev"),
    ]
    .into_iter()
    .enumerate()
    {
        emp[i] = app
            .create_employee(
                &admin,
                json!({"login": login, "password": PASSWORD, "first_name": "X", "last_name": last,
                       "role": "user", "department_id": dept, "site_ids": [site]}),
            )
            .await;
    }

    // The schedule, through the API.
    let r = app
        .post(
            "/api/v1/shift-templates",
            &admin,
            json!({"name": "Day", "start": "09:00", "end": "18:00", "unpaid_break_minutes": 60,
                   "late_grace_minutes": 10, "site_id": site}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["nominal_minutes"], 540);
    let day = r.body["id"].as_str().unwrap().to_owned();
    let r = app
        .post(
            "/api/v1/schedules",
            &admin,
            json!({"name": "Five days", "pattern": {"kind": "weekly",
                   "days": [day, day, day, day, day, null, null]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let schedule = r.body["id"].as_str().unwrap().to_owned();
    let r = app
        .post(
            "/api/v1/schedule-assignments",
            &admin,
            json!({"schedule_id": schedule, "department_id": dept, "valid_from": "2026-03-01"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = app
        .call(
            Method::PUT,
            "/api/v1/holidays",
            Some(&admin),
            Some(json!({"year": 2026, "entries": [
                {"date": "2026-03-09", "kind": "holiday", "name": "Test holiday"}]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .post(
            "/api/v1/absences",
            &admin,
            json!({"employee_id": emp[2], "kind": "sick_leave", "from": "2026-03-02", "to": "2026-03-06"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    // Counted punches go through the real API: the staff correction path, which appends
    // chain-hashed `attendance_events` rows like a check-in does (a face check-in needs an
    // enrolled face and the face models; tests/attendance.rs covers that path). Punches the
    // face verification rejected can only come from the face engine: inserted as it stores them.
    let api = |e: usize, kind: &'static str, at: DateTime<Utc>| {
        let app = &app;
        let admin = &admin;
        let emp = emp[e];
        async move {
            let r = app
                .post(
                    "/api/v1/attendance/corrections",
                    admin,
                    json!({"employee_id": emp, "kind": kind, "at": at, "site_id": site,
                           "comment": "punch entered at the office"}),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        }
    };
    api(0, "in", dushanbe(2, 9, 0)).await;
    api(0, "out", dushanbe(2, 18, 0)).await;
    api(0, "in", dushanbe(3, 9, 25)).await;
    api(0, "out", dushanbe(3, 18, 0)).await;
    api(0, "in", dushanbe(4, 9, 0)).await;
    api(0, "out", dushanbe(4, 20, 0)).await;
    api(1, "in", dushanbe(2, 9, 5)).await;
    api(1, "out", dushanbe(2, 18, 0)).await;
    api(1, "in", dushanbe(3, 9, 0)).await;
    let p = &app.pool;
    let s = Some(site);
    punch(p, emp[1], s, "in", dushanbe(4, 9, 0), "rejected").await;
    punch(p, emp[1], s, "out", dushanbe(4, 18, 0), "rejected").await;
    api(2, "in", dushanbe(3, 9, 0)).await;
    api(2, "out", dushanbe(3, 18, 0)).await;
    Story {
        app,
        admin,
        dept,
        site,
        emp,
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn weekly_department_schedule_reports_agree(pool: PgPool) {
    let s = story(pool).await;
    let app = &s.app;
    // The administrator is an employee too (without a department): filter the Kitchen.
    let dep = format!("department_id={}", s.dept);

    // Today, on Tuesday 3 March at 10:30 in Dushanbe.
    let r = app
        .get(
            &format!("/api/v1/reports/today?at=2026-03-03T05:30:00Z&{dep}"),
            &s.admin,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let t = &r.body["totals"];
    let ids = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|p| p["employee_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let e = |i: usize| s.emp[i].to_string();
    assert_eq!(ids(&t["in_now"]), vec![e(0), e(1)]);
    assert_eq!(ids(&t["late"]), vec![e(0)]);
    assert_eq!(t["late"][0]["minutes"], 25);
    assert_eq!(ids(&t["missing"]), vec![e(3)]);
    assert_eq!(ids(&t["on_leave"]), vec![e(2)]);
    assert_eq!(t["on_leave"][0]["kind"], "sick_leave");
    assert!(t["not_checked_out"].as_array().unwrap().is_empty());
    assert_eq!(t["employees"], 4);
    let by_dep = r.body["by_department"].as_array().unwrap();
    assert_eq!(by_dep.len(), 1);
    assert_eq!(by_dep[0]["id"], json!(s.dept));
    assert_eq!(by_dep[0]["late"], t["late"]);
    let by_site = r.body["by_site"].as_array().unwrap();
    assert_eq!(by_site.len(), 1);
    assert_eq!(by_site[0]["id"], json!(s.site));
    assert_eq!(by_site[0]["missing"], t["missing"]);
    // The same evening at 19:00: Boboev has not checked out; Aliev has.
    let r = app
        .get(
            &format!("/api/v1/reports/today?at=2026-03-03T14:00:00Z&{dep}"),
            &s.admin,
        )
        .await;
    assert_eq!(ids(&r.body["totals"]["not_checked_out"]), vec![e(1)]);
    assert!(ids(&r.body["totals"]["in_now"]).is_empty());

    // Period summary of March.
    let r = app
        .get(
            &format!("/api/v1/reports/summary?month=2026-03&{dep}"),
            &s.admin,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["total"], 4);
    let items = r.body["items"].as_array().unwrap();
    let names: Vec<&str> = items.iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Aliev X", "Boboev X", "Davlatova X", "Ergashev X"]);
    let a = &items[0];
    assert_eq!(a["days_worked"], 3);
    assert_eq!(a["worked_minutes"], 480 + 455 + 600);
    assert_eq!(a["worked_hours"], 25.58);
    assert_eq!(a["late_count"], 1);
    assert_eq!(a["late_minutes"], 25);
    assert_eq!(a["overtime_minutes"], 120);
    assert_eq!(a["absences"], 18);
    assert_eq!(a["holidays"], 1);
    assert_eq!(a["days_off"], 9);
    let b = &items[1];
    assert_eq!(b["days_worked"], 1);
    assert_eq!(b["worked_minutes"], 475);
    assert_eq!(b["late_count"], 0);
    assert_eq!(b["missing_checkouts"], 1);
    assert_eq!(b["absences"], 19);
    let c = &items[2];
    assert_eq!(c["worked_minutes"], 0);
    assert_eq!(c["leave_days"]["sick_leave"], 5);
    assert_eq!(c["absences"], 16);
    let d = &items[3];
    assert_eq!(d["absences"], 21);
    assert_eq!(d["days_worked"], 0);

    // Department summary = sum of the employees.
    let r = app
        .get(
            &format!("/api/v1/reports/departments?month=2026-03&{dep}"),
            &s.admin,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let totals = &r.body[0];
    assert_eq!(totals["department"], "Kitchen");
    assert_eq!(totals["employees"], 4);
    assert_eq!(totals["worked_minutes"], 1535 + 475);
    assert_eq!(totals["absences"], 18 + 19 + 16 + 21);
    assert_eq!(totals["leave_days"], 5);
    assert_eq!(totals["late_count"], 1);

    // CSV of the summary: same figures.
    let (st, ct, body) = bytes(
        app,
        &format!("/api/v1/reports/summary/export?month=2026-03&format=csv&{dep}"),
        &s.admin,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert!(ct.starts_with("text/csv"), "{ct}");
    let csv = String::from_utf8(body).unwrap();
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.len(), 5);
    assert!(lines[0].starts_with("employee_id,personnel_number,full_name"));
    let a_csv: Vec<&str> = lines[1].split(',').collect();
    // employee_id, personnel_number, full_name, position, days_worked, worked_hours,
    // late_count, late_minutes, early_leave_count, early_leave_minutes, absences,
    // overtime_hours, night_hours, annual, sick, trip, unpaid, missing_checkouts, pending
    assert_eq!(
        a_csv,
        [
            "1", "aziz", "Aliev X", "", "3", "25.58", "1", "25", "0", "0", "18", "2", "0", "0",
            "0", "0", "0", "0", "0"
        ]
    );
    let c_csv: Vec<&str> = lines[3].split(',').collect();
    assert_eq!(c_csv[2], "Davlatova X");
    assert_eq!(c_csv[10], "16");
    assert_eq!(c_csv[14], "5");

    // XLSX of the summary: same cells.
    let (st, ct, body) = bytes(
        app,
        &format!("/api/v1/reports/summary/export?month=2026-03&format=xlsx&{dep}"),
        &s.admin,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert!(ct.contains("spreadsheetml"), "{ct}");
    let x = sheet(body);
    assert_eq!(text(&x, 0, 0), "employee_id");
    assert_eq!(text(&x, 1, 2), "Aliev X");
    assert_eq!(num(&x, 1, 4), 3.0);
    assert_eq!(num(&x, 1, 5), 25.58);
    assert_eq!(num(&x, 1, 7), 25.0);
    assert_eq!(num(&x, 1, 10), 18.0);
    assert_eq!(num(&x, 1, 11), 2.0);
    assert_eq!(text(&x, 2, 2), "Boboev X");
    assert_eq!(num(&x, 2, 5), 7.92);
    assert_eq!(num(&x, 2, 17), 1.0);
    assert_eq!(num(&x, 3, 14), 5.0);
    assert_eq!(num(&x, 4, 10), 21.0);

    // Daily detail, CSV and XLSX.
    let (st, _, body) = bytes(
        app,
        &format!("/api/v1/reports/daily/export?from=2026-03-02&to=2026-03-04&format=csv&{dep}"),
        &s.admin,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let csv = String::from_utf8(body).unwrap();
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.len(), 1 + 4 * 3);
    let a3: Vec<&str> = lines[2].split(',').collect();
    assert_eq!(
        &a3[3..11],
        [
            "2026-03-03",
            "late",
            "Я",
            "2026-03-03 09:25",
            "2026-03-03 18:00",
            "455",
            "7.58",
            "25"
        ]
    );
    let (st, _, body) = bytes(
        app,
        &format!("/api/v1/reports/daily/export?from=2026-03-02&to=2026-03-04&format=xlsx&{dep}"),
        &s.admin,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let x = sheet(body);
    assert_eq!(text(&x, 3, 3), "2026-03-04");
    assert_eq!(text(&x, 3, 5), "Я/С");
    assert_eq!(num(&x, 3, 8), 600.0);
    assert_eq!(num(&x, 3, 12), 120.0);
    assert_eq!(text(&x, 5, 4), "missing_check_out");
    assert_eq!(text(&x, 6, 5), "НН");
    assert_eq!(text(&x, 8, 4), "on_leave");
    assert_eq!(text(&x, 8, 5), "Б");

    // T-13 of March for the department.
    let (st, ct, body) = bytes(
        app,
        &format!(
            "/api/v1/reports/t13?month=2026-03&department_id={}&organisation=Choyxona",
            s.dept
        ),
        &s.admin,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert!(ct.contains("spreadsheetml"), "{ct}");
    let x = sheet(body);
    let row = |i: u32| T13_FIRST_ROW + 4 * i;
    let day_col = |d: u32| u32::from(T13_FIRST_DAY_COL) + if d <= 15 { d - 1 } else { d - 16 };
    let day_row = |i: u32, d: u32| row(i) + if d <= 15 { 0 } else { 2 };
    let code = |i: u32, d: u32| text(&x, day_row(i, d), day_col(d));
    let hours = |i: u32, d: u32| text(&x, day_row(i, d) + 1, day_col(d));
    // Aliev.
    assert!(text(&x, row(0), 1).starts_with("Aliev X"));
    assert_eq!((code(0, 1), hours(0, 1)), ("В".into(), String::new()));
    assert_eq!((code(0, 2), hours(0, 2)), ("Я".into(), "8".into()));
    assert_eq!((code(0, 3), hours(0, 3)), ("Я".into(), "7.58".into()));
    assert_eq!((code(0, 4), hours(0, 4)), ("Я/С".into(), "8/2".into()));
    assert_eq!(code(0, 5), "НН");
    assert_eq!(code(0, 9), "В");
    assert_eq!(code(0, 31), "НН");
    assert_eq!(num(&x, row(0), u32::from(T13_HALF_COL)), 3.0);
    assert_eq!(num(&x, row(0) + 1, u32::from(T13_HALF_COL)), 25.58);
    assert_eq!(num(&x, row(0) + 2, u32::from(T13_HALF_COL)), 0.0);
    assert_eq!(num(&x, row(0), u32::from(T13_MONTH_DAYS_COL)), 3.0);
    assert_eq!(num(&x, row(0), u32::from(T13_MONTH_HOURS_COL)), 25.58);
    assert_eq!(text(&x, row(0), u32::from(T13_ABSENCE_COL)), "НН");
    assert_eq!(num(&x, row(0), u32::from(T13_ABSENCE_COL) + 1), 18.0);
    // Boboev: the missing check-out day is work without hours; the rejected day absent.
    assert_eq!(code(1, 3), "Я");
    assert_eq!(code(1, 4), "НН");
    assert_eq!(num(&x, row(1), u32::from(T13_ABSENCE_COL) + 1), 19.0);
    // Davlatova: sick 2nd–6th, then absent.
    assert_eq!(code(2, 3), "Б");
    assert_eq!(hours(2, 3), "");
    assert_eq!(text(&x, row(2), u32::from(T13_ABSENCE_COL)), "Б");
    assert_eq!(num(&x, row(2), u32::from(T13_ABSENCE_COL) + 1), 5.0);
    assert_eq!(text(&x, row(2), u32::from(T13_ABSENCE_COL) + 2), "НН");
    assert_eq!(num(&x, row(2), u32::from(T13_ABSENCE_COL) + 3), 16.0);
    // Ergashev.
    assert_eq!(num(&x, row(3), u32::from(T13_ABSENCE_COL) + 1), 21.0);
    assert_eq!(code(3, 16), "НН");

    // The database's totals (the summary) equal the totals of each employee's stored day
    // records (`/me/timesheet`), and each day's T-13 cell equals the day's code.
    let summary = app
        .get(
            &format!("/api/v1/reports/summary?month=2026-03&{dep}"),
            &s.admin,
        )
        .await;
    for (i, login) in ["aziz", "bahrom", "dilnoza", "erkin"].iter().enumerate() {
        let token = app.login(login).await.access_token;
        let me = app.get("/api/v1/me/timesheet?month=2026-03", &token).await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.body);
        assert_eq!(me.body["summary"], summary.body["items"][i], "{login}");
        for (d, day) in me.body["days"].as_array().unwrap().iter().enumerate() {
            let d = d as u32 + 1;
            assert_eq!(
                day["t13_code"].as_str().unwrap(),
                code(i as u32, d),
                "{login}, day {d}"
            );
        }
    }

    // The employee's own month agrees.
    let token = app.login("aziz").await.access_token;
    let r = app.get("/api/v1/me/timesheet?month=2026-03", &token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let days = r.body["days"].as_array().unwrap();
    assert_eq!(days.len(), 31);
    assert_eq!(days[2]["status"], "late");
    assert_eq!(days[2]["late_minutes"], 25);
    assert_eq!(days[3]["t13_code"], "Я/С");
    assert_eq!(days[8]["status"], "holiday");
    assert_eq!(r.body["summary"]["worked_minutes"], 1535);
    assert_eq!(r.body["summary"]["absences"], 18);
}

/// Snapshot of the computed rows of a period (without the computation time).
async fn rows(pool: &PgPool) -> Vec<(Uuid, NaiveDate, String, i32, i32, bool, String)> {
    sqlx::query_as(
        "SELECT employee_id, day, status, worked_minutes, late_minutes, is_final, record::text
           FROM timesheet_days WHERE day BETWEEN '2026-03-01' AND '2026-03-31'
          ORDER BY employee_id, day",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn recompute_is_identical_and_punches_mark_days_dirty(pool: PgPool) {
    let s = story(pool).await;
    let app = &s.app;
    let path = &format!(
        "/api/v1/reports/summary?month=2026-03&department_id={}",
        s.dept
    );
    assert_eq!(app.get(path, &s.admin).await.status, StatusCode::OK);
    let first = rows(&app.pool).await;
    assert_eq!(first.len(), 4 * 31);
    assert!(first.iter().all(|r| r.5), "March 2026 is over: all final");
    let dirty = app
        .count(
            "SELECT count(*) FROM timesheet_dirty WHERE day BETWEEN '2026-03-01' AND '2026-03-31'",
        )
        .await;
    assert_eq!(dirty, 0, "serving cleared the marks it recomputed");

    // Mark every day dirty and serve again: identical rows.
    sqlx::query(
        "INSERT INTO timesheet_dirty (employee_id, day)
         SELECT employee_id, day FROM timesheet_days ON CONFLICT DO NOTHING",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(app.get(path, &s.admin).await.status, StatusCode::OK);
    assert_eq!(rows(&app.pool).await, first);
    // Drop them all and serve again: identical rows.
    sqlx::query("DELETE FROM timesheet_days")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(app.get(path, &s.admin).await.status, StatusCode::OK);
    assert_eq!(rows(&app.pool).await, first);

    // A new punch marks its days through the trigger and the report follows.
    let id = punch(
        &app.pool,
        s.emp[3],
        Some(s.site),
        "in",
        dushanbe(10, 8, 55),
        "flagged",
    )
    .await;
    punch(
        &app.pool,
        s.emp[3],
        Some(s.site),
        "out",
        dushanbe(10, 18, 0),
        "verified",
    )
    .await;
    let marks: Vec<NaiveDate> =
        sqlx::query_scalar("SELECT day FROM timesheet_dirty WHERE employee_id = $1 ORDER BY day")
            .bind(s.emp[3])
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let d = |n| NaiveDate::from_ymd_opt(2026, 3, n).unwrap();
    assert_eq!(marks, vec![d(8), d(9), d(10), d(11), d(12)]);
    let r = app.get(path, &s.admin).await;
    let e = &r.body["items"][3];
    assert_eq!(e["pending_events"], 1, "a flagged punch waits for review");
    assert_eq!(e["worked_minutes"], 0);
    // The admin accepts it: the review row marks the punch's days again.
    insert_event(
        &app.pool,
        s.emp[3],
        None,
        "review",
        dushanbe(11, 10, 0),
        "verified",
        Some(id),
        Some("accept"),
    )
    .await;
    let r = app.get(path, &s.admin).await;
    let e = &r.body["items"][3];
    assert_eq!(e["pending_events"], 0);
    assert_eq!(e["worked_minutes"], 480 + 5);
    assert_eq!(e["days_worked"], 1);
    assert_eq!(e["absences"], 20);

    // A correction supersedes the check-out: the superseded punch no longer counts.
    let out_id: i64 = sqlx::query_scalar(
        "SELECT id FROM attendance_events WHERE employee_id = $1 AND kind = 'out'",
    )
    .bind(s.emp[3])
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let mut hash = Uuid::new_v4().as_bytes().to_vec();
    hash.extend_from_slice(Uuid::new_v4().as_bytes());
    sqlx::query(
        "INSERT INTO attendance_events (public_id, employee_id, kind, punch_kind, occurred_at,
                verdict, refers_to, prev_hash, hash)
         VALUES ($1, $2, 'correction', 'out', $3, 'verified', $4, $5, $6)",
    )
    .bind(Uuid::new_v4())
    .bind(s.emp[3])
    .bind(dushanbe(10, 17, 0))
    .bind(out_id)
    .bind(vec![0u8; 32])
    .bind(hash)
    .execute(&app.pool)
    .await
    .unwrap();
    let r = app.get(path, &s.admin).await;
    let e = &r.body["items"][3];
    assert_eq!(e["worked_minutes"], 425, "08:55–17:00 less the break");
    assert_eq!(e["early_leave_minutes"], 60);

    // A schedule change (an absence) drops the affected rows, which are recomputed.
    let r = app
        .post(
            "/api/v1/absences",
            &s.admin,
            json!({"employee_id": s.emp[3], "kind": "business_trip", "from": "2026-03-23", "to": "2026-03-27"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = app.get(path, &s.admin).await;
    let e = &r.body["items"][3];
    assert_eq!(e["leave_days"]["business_trip"], 5);
    assert_eq!(e["absences"], 15);
}

#[sqlx::test(migrations = "./migrations")]
async fn bad_input_is_refused_with_clear_errors(pool: PgPool) {
    let s = story(pool).await;
    let app = &s.app;
    let a = &s.admin;
    let expect = |r: common::Resp, status: u16, code: &str| {
        assert_eq!(r.status.as_u16(), status, "{}", r.body);
        let got = if r.body["code"] == "validation_failed" {
            r.body["errors"][0]["code"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        } else {
            r.code().to_owned()
        };
        assert_eq!(got, code, "{}", r.body);
        assert_eq!(r.content_type(), "application/problem+json");
    };
    // A shift of zero length.
    let r = app
        .post(
            "/api/v1/shift-templates",
            a,
            json!({"name": "Zero", "start": "09:00", "end": "09:00"}),
        )
        .await;
    expect(r, 422, "zero_length_shift");
    let r = app
        .post(
            "/api/v1/shift-templates",
            a,
            json!({"name": "Bad", "start": "25:00", "end": "09:00"}),
        )
        .await;
    expect(r, 422, "invalid_time");
    // Overlapping shifts: 20:00–10:00 followed the next day by 08:00–17:00.
    let night = app
        .post(
            "/api/v1/shift-templates",
            a,
            json!({"name": "Night", "start": "20:00", "end": "10:00"}),
        )
        .await;
    assert_eq!(night.status, StatusCode::CREATED, "{}", night.body);
    let early = app
        .post(
            "/api/v1/shift-templates",
            a,
            json!({"name": "Early", "start": "08:00", "end": "17:00"}),
        )
        .await;
    let (n, e) = (night.body["id"].clone(), early.body["id"].clone());
    let r = app
        .post(
            "/api/v1/schedules",
            a,
            json!({"name": "Clash", "pattern": {"kind": "weekly", "days": [n, e, null, null, null, null, null]}}),
        )
        .await;
    expect(r, 422, "overlapping_shifts");
    let r = app
        .post(
            "/api/v1/schedules",
            a,
            json!({"name": "Six", "pattern": {"kind": "weekly", "days": [e, e, e, e, e, e]}}),
        )
        .await;
    expect(r, 422, "invalid_pattern");
    let r = app
        .post(
            "/api/v1/schedules",
            a,
            json!({"name": "Ghost", "pattern": {"kind": "rotating", "anchor": "2026-01-01",
                   "cycle": [Uuid::new_v4(), null]}}),
        )
        .await;
    expect(r, 422, "invalid_pattern");
    // A template in use cannot be deleted; a rotating 2/2 schedule is fine.
    let r = app
        .post(
            "/api/v1/schedules",
            a,
            json!({"name": "Two on two off", "pattern": {"kind": "rotating", "anchor": "2026-01-01",
                   "cycle": [e, e, null, null]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let rotating = r.body["id"].as_str().unwrap().to_owned();
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/v1/shift-templates/{}", e.as_str().unwrap()),
            Some(a),
            None,
        )
        .await;
    expect(r, 409, "in_use");
    // The same department twice over overlapping dates.
    let r = app
        .post(
            "/api/v1/schedule-assignments",
            a,
            json!({"schedule_id": rotating, "department_id": s.dept, "valid_from": "2026-06-01", "valid_to": "2026-06-30"}),
        )
        .await;
    expect(r, 409, "overlapping_assignment");
    let r = app
        .post(
            "/api/v1/schedule-assignments",
            a,
            json!({"schedule_id": rotating, "employee_id": s.emp[0], "department_id": s.dept, "valid_from": "2026-06-01"}),
        )
        .await;
    expect(r, 422, "target_required");
    let r = app
        .post(
            "/api/v1/schedule-assignments",
            a,
            json!({"schedule_id": rotating, "employee_id": s.emp[0], "valid_from": "2026-06-30", "valid_to": "2026-06-01"}),
        )
        .await;
    expect(r, 422, "empty_range");
    // A holiday entry twice: within one year's list, and added again.
    let r = app
        .call(
            Method::PUT,
            "/api/v1/holidays",
            Some(a),
            Some(json!({"year": 2027, "entries": [
                {"date": "2027-01-01", "kind": "holiday", "name": "New Year"},
                {"date": "2027-01-01", "kind": "holiday", "name": "Again"}]})),
        )
        .await;
    expect(r, 422, "duplicate_entry");
    let r = app
        .post(
            "/api/v1/holidays",
            a,
            json!({"date": "2026-03-09", "kind": "holiday", "name": "Twice"}),
        )
        .await;
    expect(r, 409, "holiday_exists");
    let r = app
        .call(
            Method::PUT,
            "/api/v1/holidays",
            Some(a),
            Some(json!({"year": 2027, "entries": [{"date": "2028-01-01", "kind": "holiday"}]})),
        )
        .await;
    expect(r, 422, "wrong_year");
    // Absences: overlapping, too long, unknown kind.
    let r = app
        .post(
            "/api/v1/absences",
            a,
            json!({"employee_id": s.emp[2], "kind": "annual_leave", "from": "2026-03-06", "to": "2026-03-10"}),
        )
        .await;
    expect(r, 409, "overlapping_absence");
    let r = app
        .post(
            "/api/v1/absences",
            a,
            json!({"employee_id": s.emp[2], "kind": "annual_leave", "from": "2027-01-01", "to": "2028-12-31"}),
        )
        .await;
    expect(r, 422, "range_too_long");
    let r = app
        .post(
            "/api/v1/absences",
            a,
            json!({"employee_id": s.emp[2], "kind": "holiday", "from": "2027-01-01", "to": "2027-01-02"}),
        )
        .await;
    expect(r, 422, "invalid_kind");
    // Report ranges: a month that does not exist, ten years, reversed, half a range.
    let r = app.get("/api/v1/reports/summary?month=2026-13", a).await;
    expect(r, 422, "invalid_month");
    let r = app.get("/api/v1/me/timesheet?month=2026-1", a).await;
    expect(r, 422, "invalid_month");
    let r = app
        .get("/api/v1/reports/summary?from=2016-01-01&to=2026-01-01", a)
        .await;
    expect(r, 422, "period_too_long");
    let r = app
        .get(
            "/api/v1/reports/summary/export?from=2016-01-01&to=2026-01-01",
            a,
        )
        .await;
    expect(r, 422, "period_too_long");
    let r = app
        .get("/api/v1/reports/summary?from=2026-03-10&to=2026-03-01", a)
        .await;
    expect(r, 422, "empty_period");
    let r = app.get("/api/v1/reports/summary?from=2026-03-10", a).await;
    expect(r, 422, "invalid_period");
    let r = app
        .get("/api/v1/reports/summary?from=2026-02-30&to=2026-03-01", a)
        .await;
    expect(r, 400, "invalid_query");
    let r = app
        .get("/api/v1/reports/summary/export?month=2026-03&format=pdf", a)
        .await;
    expect(r, 400, "invalid_query");
    let r = app.get("/api/v1/reports/t13?month=0000-00", a).await;
    expect(r, 422, "invalid_month");
    let r = app.get("/api/v1/reports/summary?limit=100000", a).await;
    expect(r, 400, "invalid_query");
}

#[sqlx::test(migrations = "./migrations")]
async fn operators_see_their_departments_and_users_only_themselves(pool: PgPool) {
    let s = story(pool).await;
    let app = &s.app;
    let other = app.create_department(&s.admin, "Bar").await;
    let stranger = app
        .create_employee(&s.admin, common::user_body("stranger", Some(other)))
        .await;
    app.create_employee(
        &s.admin,
        json!({"login": "op", "password": PASSWORD, "first_name": "O", "last_name": "Op",
               "role": "operator", "scope": {"department_ids": [other], "site_ids": []}}),
    )
    .await;
    let op = app.login("op").await.access_token;
    // Only the Bar department (the stranger, and the operator, who belongs to none).
    let r = app.get("/api/v1/reports/summary?month=2026-03", &op).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let ids: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["employee_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [stranger.to_string()]);
    let r = app
        .get("/api/v1/reports/today?at=2026-03-03T05:30:00Z", &op)
        .await;
    assert!(r.body["totals"]["missing"].as_array().unwrap().is_empty());
    // An absence for a Kitchen employee is outside the operator's scope.
    let r = app
        .post(
            "/api/v1/absences",
            &op,
            json!({"employee_id": s.emp[0], "kind": "annual_leave", "from": "2026-05-04", "to": "2026-05-08"}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "out_of_scope")
    );
    let r = app
        .post(
            "/api/v1/schedule-assignments",
            &op,
            json!({"schedule_id": Uuid::new_v4(), "department_id": s.dept, "valid_from": "2026-06-01"}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "out_of_scope")
    );
    let r = app.get("/api/v1/absences", &op).await;
    assert!(r.body.as_array().unwrap().is_empty(), "{}", r.body);
    // A T-13 of the Kitchen requested by the Bar operator has nobody on it.
    let (st, _, body) = bytes(
        app,
        &format!("/api/v1/reports/t13?month=2026-03&department_id={}", s.dept),
        &op,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let x = sheet(body);
    assert_eq!(text(&x, T13_FIRST_ROW, 1), "");

    // A user: their own month only; reports refused.
    let user = app.login("bahrom").await.access_token;
    let r = app.get("/api/v1/me/timesheet?month=2026-03", &user).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["summary"]["employee_id"], json!(s.emp[1]));
    assert_eq!(r.body["days"][2]["status"], "missing_check_out");
    let r = app.get("/api/v1/reports/summary", &user).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));

    // The employee's own assignment wins over the department's: Ergashev on 2 on / 2 off
    // from 1 March (1–2 on, 3–4 off, …): 16 working days in March, none a holiday rule.
    let e = app
        .post(
            "/api/v1/shift-templates",
            &s.admin,
            json!({"name": "Long", "start": "08:00", "end": "20:00"}),
        )
        .await;
    let r = app
        .post(
            "/api/v1/schedules",
            &s.admin,
            json!({"name": "2/2", "pattern": {"kind": "rotating", "anchor": "2026-03-01",
                   "cycle": [e.body["id"], e.body["id"], null, null]}}),
        )
        .await;
    let r = app
        .post(
            "/api/v1/schedule-assignments",
            &s.admin,
            json!({"schedule_id": r.body["id"], "employee_id": s.emp[3], "valid_from": "2026-03-01", "valid_to": "2026-03-31"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = app
        .get(
            &format!(
                "/api/v1/reports/summary?month=2026-03&department_id={}",
                s.dept
            ),
            &s.admin,
        )
        .await;
    let e = &r.body["items"][3];
    assert_eq!(e["absences"], 16);
    assert_eq!(e["days_off"], 15);
    assert_eq!(e["holidays"], 0);
}

/// A punch committed while a recompute runs is never lost: the recompute clears only the
/// dirty marks it read (by version) before it read the punches, and the punch's commit gives
/// its marks a new version.
#[sqlx::test(migrations = "./migrations")]
async fn a_punch_during_a_recompute_is_not_lost(pool: PgPool) {
    let s = story(pool).await;
    let app = &s.app;
    let path = format!(
        "/api/v1/reports/summary?month=2026-03&department_id={}",
        s.dept
    );
    assert_eq!(app.get(&path, &s.admin).await.status, StatusCode::OK);
    // Ergashev checks in on the 10th: the days around it are marked dirty (committed).
    punch(
        &app.pool,
        s.emp[3],
        Some(s.site),
        "in",
        dushanbe(10, 9, 0),
        "verified",
    )
    .await;
    // His check-out is written in a transaction that commits only once a recompute has read
    // its inputs (without the check-out) and waits to clear the marks.
    let mut tx = app.pool.begin().await.unwrap();
    let mut hash = Uuid::new_v4().as_bytes().to_vec();
    hash.extend_from_slice(Uuid::new_v4().as_bytes());
    sqlx::query(
        "INSERT INTO attendance_events (public_id, employee_id, site_id, kind, occurred_at,
                verdict, prev_hash, hash)
         VALUES ($1, $2, $3, 'out', $4, 'verified', $5, $6)",
    )
    .bind(Uuid::new_v4())
    .bind(s.emp[3])
    .bind(s.site)
    .bind(dushanbe(10, 18, 0))
    .bind(vec![0u8; 32])
    .bind(hash)
    .execute(&mut *tx)
    .await
    .unwrap();

    let month = Period::month(2026, 3).unwrap();
    let f = EmpFilter {
        employee_id: Some(s.emp[3]),
        ..EmpFilter::default()
    };
    let (emps, _) = store::employees(&app.pool, &Scope::All, &f, month.from(), None)
        .await
        .unwrap();
    let db = app.pool.clone();
    let recompute =
        tokio::spawn(async move { store::ensure_computed(&db, &emps, month, Utc::now()).await });
    let mut waited = 0;
    loop {
        let blocked: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity
              WHERE datname = current_database() AND wait_event_type = 'Lock'
                AND query LIKE '%DELETE FROM timesheet_dirty%'",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
        if blocked > 0 {
            break;
        }
        assert!(
            !recompute.is_finished(),
            "the recompute did not wait for the punch"
        );
        waited += 1;
        assert!(waited < 600, "the recompute never reached the marks");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tx.commit().await.unwrap();
    assert_eq!(recompute.await.unwrap().unwrap(), 1);

    // The check-out's days are still dirty, so the next report counts it.
    let r = app.get(&path, &s.admin).await;
    let e = &r.body["items"][3];
    assert_eq!(e["worked_minutes"], 480, "{}", r.body);
    assert_eq!(e["missing_checkouts"], 0);
    assert_eq!(e["days_worked"], 1);
}

#[sqlx::test(migrations = "./migrations")]
async fn missing_checkout_rule_is_an_admin_setting(pool: PgPool) {
    let s = story(pool).await;
    let app = &s.app;
    let path = "/api/v1/settings/timesheet";
    let summary = format!(
        "/api/v1/reports/summary?month=2026-03&department_id={}",
        s.dept
    );
    let r = app.get(path, &s.admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, json!({"missing_checkout": "flag"}));
    // Boboev's Tuesday (in at 09:00, no check-out) is flagged and not counted.
    let b = app.get(&summary, &s.admin).await.body["items"][1].clone();
    assert_eq!(b["missing_checkouts"], 1);
    assert_eq!(b["worked_minutes"], 475);

    // Operators and employees may neither read nor change it.
    app.create_employee(
        &s.admin,
        json!({"login": "op", "password": PASSWORD, "first_name": "O", "last_name": "Op",
               "role": "operator", "scope": {"department_ids": [s.dept], "site_ids": []}}),
    )
    .await;
    let op = app.login("op").await.access_token;
    let user = app.login("aziz").await.access_token;
    for token in [&op, &user] {
        assert_eq!(app.get(path, token).await.status, StatusCode::FORBIDDEN);
        let r = app
            .call(
                Method::PUT,
                path,
                Some(token),
                Some(json!({"missing_checkout": "close_at_shift_end"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    }
    // Bad values: typed 422, nothing stored.
    for (body, code) in [
        (json!({"missing_checkout": "close"}), "invalid_value"),
        (json!({"missing_checkout": 1}), "invalid_body"),
        (json!({}), "invalid_body"),
        (
            json!({"missing_checkout": "flag", "grace": 5}),
            "unknown_field",
        ),
    ] {
        let r = app
            .call(Method::PUT, path, Some(&s.admin), Some(body))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(r.body["errors"][0]["code"], code, "{}", r.body);
    }
    assert_eq!(
        app.get(path, &s.admin).await.body["missing_checkout"],
        "flag"
    );

    // Close at shift end: Tuesday counts 09:00–18:00 less the 60-minute break.
    let r = app
        .call(
            Method::PUT,
            path,
            Some(&s.admin),
            Some(json!({"missing_checkout": "close_at_shift_end"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, json!({"missing_checkout": "close_at_shift_end"}));
    assert_eq!(
        app.get(path, &s.admin).await.body["missing_checkout"],
        "close_at_shift_end"
    );
    let b = app.get(&summary, &s.admin).await.body["items"][1].clone();
    assert_eq!(b["missing_checkouts"], 0);
    assert_eq!(b["worked_minutes"], 475 + 480);
    assert_eq!(b["days_worked"], 2);
    // Audited with the old and the new value; refused attempts are not.
    let audit: Vec<(Value, Value)> = sqlx::query_as(
        "SELECT before, after FROM audit_log WHERE action = 'timesheet_settings.put' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        audit,
        vec![(
            json!({"missing_checkout": "flag"}),
            json!({"missing_checkout": "close_at_shift_end"})
        )]
    );
    // And back to flagging.
    let r = app
        .call(
            Method::PUT,
            path,
            Some(&s.admin),
            Some(json!({"missing_checkout": "flag"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let b = app.get(&summary, &s.admin).await.body["items"][1].clone();
    assert_eq!(b["missing_checkouts"], 1);
    assert_eq!(b["worked_minutes"], 475);
}

/// Signs in `op`, an operator of a new department "Bar" (none of the story's employees).
async fn bar_operator(s: &Story) -> String {
    let other = s.app.create_department(&s.admin, "Bar").await;
    s.app
        .create_employee(
            &s.admin,
            json!({"login": "op", "password": PASSWORD, "first_name": "O", "last_name": "Op",
                   "role": "operator", "scope": {"department_ids": [other], "site_ids": []}}),
        )
        .await;
    s.app.login("op").await.access_token
}

/// Runs every job due now (the report downloads queued by the test).
async fn run_jobs(app: &TestApp) {
    let registry = faceid_server::job_registry(&app.state, 90);
    let worker = faceid_server::jobs::Worker::new(
        app.pool.clone(),
        registry,
        faceid_server::jobs::WorkerConfig::default(),
    );
    worker.drain().await.unwrap();
}

/// Queues a report download, runs the job, checks its finished state and answers the file
/// with its content type and disposition.
async fn background(app: &TestApp, token: &str, body: Value) -> (Value, String, String, Vec<u8>) {
    let r = app.post("/api/v1/reports/downloads", token, body).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(r.body["state"], "queued");
    let id = r.body["id"].as_str().unwrap().to_owned();
    // Nothing to download yet: 202 with the state.
    let r = app
        .get(&format!("/api/v1/reports/downloads/{id}/file"), token)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(r.body["state"], "queued");
    run_jobs(app).await;
    let r = app
        .get(&format!("/api/v1/reports/downloads/{id}"), token)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let d = r.body;
    assert_eq!(d["state"], "done", "{d}");
    assert_eq!(d["employees_done"], d["employees_total"], "{d}");
    assert!(d["expires_at"].is_string(), "{d}");
    let (status, headers, body) =
        fetch(app, &format!("/api/v1/reports/downloads/{id}/file"), token).await;
    assert_eq!(status, StatusCode::OK);
    let ct = header_text(&headers, header::CONTENT_TYPE);
    let cd = header_text(&headers, header::CONTENT_DISPOSITION);
    assert_eq!(d["size_bytes"], json!(body.len()), "{d}");
    assert_eq!(
        cd,
        format!(
            "attachment; filename=\"{}\"",
            d["file_name"].as_str().unwrap()
        )
    );
    (d, ct, cd, body)
}

fn rows_of(x: &calamine::Range<Data>) -> Vec<Vec<Data>> {
    x.rows().map(<[Data]>::to_vec).collect()
}

/// Report downloads in the background: the job completes with its progress at the total, the
/// file is the synchronous endpoint's (the same CSV bytes, the same T-13 cells), nobody else
/// sees it, an operator's covers only their scope, a bad body is a typed 422, and the file
/// is deleted when it expires.
#[sqlx::test(migrations = "./migrations")]
async fn report_downloads_run_in_the_background(pool: PgPool) {
    let dir = tempfile::tempdir().unwrap();
    let settings = faceid_server::Settings {
        data_dir: dir.path().join("data"),
        ..common::settings()
    };
    let s = story_with(pool, settings).await;
    let app = &s.app;
    let dep = format!("department_id={}", s.dept);

    // The T-13 of March: an XLSX with the same cells as the synchronous one.
    let (d, ct, cd, body) = background(
        app,
        &s.admin,
        json!({"report": "t13", "month": "2026-03", "department_id": s.dept,
               "organisation": "Cafe LLC"}),
    )
    .await;
    assert_eq!(d["employees_total"], 4, "{d}");
    assert_eq!(
        (d["report"].as_str(), d["format"].as_str()),
        (Some("t13"), Some("xlsx"))
    );
    assert!(ct.contains("spreadsheetml"), "{ct}");
    assert!(cd.contains("t13_2026-03.xlsx"), "{cd}");
    assert_eq!(&body[..4], b"PK\x03\x04");
    let (st, _, sync) = bytes(
        app,
        &format!("/api/v1/reports/t13?month=2026-03&{dep}&organisation=Cafe%20LLC"),
        &s.admin,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let (job, sync) = (sheet(body), sheet(sync));
    assert_eq!(text(&job, T13_FIRST_ROW, 1), text(&sync, T13_FIRST_ROW, 1));
    assert!(!text(&job, T13_FIRST_ROW, 1).is_empty());
    assert_eq!(rows_of(&job), rows_of(&sync));

    // The summary as CSV and the daily detail as XLSX: the synchronous endpoint's bytes / rows.
    let (d, ct, _, body) = background(
        app,
        &s.admin,
        json!({"report": "summary", "format": "csv", "month": "2026-03", "department_id": s.dept}),
    )
    .await;
    assert_eq!(d["file_name"], "summary_2026-03-01_2026-03-31.csv");
    assert!(ct.starts_with("text/csv"), "{ct}");
    let (_, _, sync) = bytes(
        app,
        &format!("/api/v1/reports/summary/export?month=2026-03&{dep}&format=csv"),
        &s.admin,
    )
    .await;
    assert_eq!(
        String::from_utf8(body).unwrap(),
        String::from_utf8(sync).unwrap()
    );
    let (_, _, _, body) = background(
        app,
        &s.admin,
        json!({"report": "daily", "format": "xlsx", "from": "2026-03-01", "to": "2026-03-10",
               "department_id": s.dept, "site_id": s.site}),
    )
    .await;
    let (_, _, sync) = bytes(
        app,
        &format!(
            "/api/v1/reports/daily/export?from=2026-03-01&to=2026-03-10&{dep}&site_id={}&format=xlsx",
            s.site
        ),
        &s.admin,
    )
    .await;
    let (job, sync) = (sheet(body), sheet(sync));
    assert!(job.rows().count() > 40, "4 employees × 10 days");
    assert_eq!(rows_of(&job), rows_of(&sync));

    // An operator of another department: the Kitchen's summary holds nobody of the Kitchen,
    // and the administrator's download is not theirs (404), nor a user's (403).
    let op = bar_operator(&s).await;
    let admins = d["id"].as_str().unwrap().to_owned();
    for path in [
        format!("/api/v1/reports/downloads/{admins}"),
        format!("/api/v1/reports/downloads/{admins}/file"),
    ] {
        let r = app.get(&path, &op).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::NOT_FOUND, "not_found"),
            "{path}"
        );
    }
    let (d, _, _, body) = background(
        app,
        &op,
        json!({"report": "summary", "month": "2026-03", "department_id": s.dept}),
    )
    .await;
    assert_eq!(d["employees_total"], 0, "{d}");
    let csv = String::from_utf8(body).unwrap();
    assert_eq!(csv.lines().count(), 1, "only the header: {csv}");
    assert!(!csv.contains("Aliev"));
    let user = app.login("bahrom").await.access_token;
    let r = app
        .post(
            "/api/v1/reports/downloads",
            &user,
            json!({"report": "summary"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
    let r = app
        .get(&format!("/api/v1/reports/downloads/{admins}"), &user)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Bad bodies: typed errors, nothing queued.
    let queued = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM report_downloads")
            .fetch_one(&app.pool)
            .await
            .unwrap()
    };
    let before = queued().await;
    // (body, status, the field error's field and code, or the problem's code).
    for (body, status, field, code) in [
        (json!({}), 422, Some(""), "invalid_body"),
        (json!({"report": "weekly"}), 422, None, "invalid_body"),
        (
            json!({"report": "summary", "colour": "red"}),
            422,
            None,
            "unknown_field",
        ),
        (
            json!({"report": "summary", "month": "2026-13"}),
            422,
            Some("month"),
            "invalid_month",
        ),
        (
            json!({"report": "summary", "from": "2026-03-01"}),
            422,
            Some("month"),
            "invalid_period",
        ),
        (
            json!({"report": "daily", "from": "2026-03-10", "to": "2026-03-01"}),
            422,
            Some("to"),
            "empty_period",
        ),
        (
            json!({"report": "t13", "format": "csv"}),
            422,
            Some("format"),
            "invalid",
        ),
        (
            json!({"report": "t13", "okpo": "1".repeat(201)}),
            422,
            Some("okpo"),
            "too_long",
        ),
        (
            json!({"report": "t13", "department_id": Uuid::new_v4()}),
            404,
            None,
            "not_found",
        ),
    ] {
        let r = app
            .post("/api/v1/reports/downloads", &s.admin, body.clone())
            .await;
        assert_eq!(r.status.as_u16(), status, "{body}: {}", r.body);
        if status == 422 {
            assert_eq!(r.code(), "validation_failed", "{body}: {}", r.body);
            assert_eq!(r.body["errors"][0]["code"], code, "{body}: {}", r.body);
            if let Some(f) = field {
                assert_eq!(r.body["errors"][0]["field"], f, "{body}: {}", r.body);
            }
        } else {
            assert_eq!(r.code(), code, "{body}: {}", r.body);
        }
    }
    let r = app
        .router
        .clone()
        .oneshot(
            Request::post("/api/v1/reports/downloads")
                .header(header::AUTHORIZATION, format!("Bearer {}", s.admin))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{not json"))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(queued().await, before);

    // Expiry: the file goes, the row says so, the download answers 410.
    sqlx::query(
        "UPDATE report_downloads SET expires_at = now() - interval '1 minute' WHERE id = $1",
    )
    .bind(Uuid::parse_str(&admins).unwrap())
    .execute(&app.pool)
    .await
    .unwrap();
    let path =
        faceid_server::report_downloads::file_path(&app.state.settings, admins.parse().unwrap());
    assert!(path.exists());
    let n = faceid_server::report_downloads::expire(&app.state, Utc::now())
        .await
        .unwrap();
    assert!(n >= 1);
    assert!(!path.exists());
    let r = app
        .get(
            &format!("/api/v1/reports/downloads/{admins}/file"),
            &s.admin,
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::GONE, "export_expired"));
    let r = app
        .get(&format!("/api/v1/reports/downloads/{admins}"), &s.admin)
        .await;
    assert_eq!(r.body["state"], "expired");
}

/// The daily detail on screen (`GET /api/v1/reports/daily`): the same numbers as the daily
/// XLSX, row for row; paged, sorted by an allow-listed column and searched by name on the
/// server; scoped like the other reports. The period summary sorts and searches too.
#[sqlx::test(migrations = "./migrations")]
async fn daily_detail_on_screen_matches_the_file_and_sorts_and_searches(pool: PgPool) {
    let s = story(pool).await;
    let app = &s.app;
    let q = format!(
        "from=2026-03-01&to=2026-03-10&department_id={}&site_id={}",
        s.dept, s.site
    );
    let r = app
        .get(&format!("/api/v1/reports/daily?{q}&limit=500"), &s.admin)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["total"], 40, "4 employees × 10 days");
    assert_eq!(r.body["from"], "2026-03-01");
    let items = r.body["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 40);
    let (st, _, file) = bytes(
        app,
        &format!("/api/v1/reports/daily/export?{q}&format=xlsx"),
        &s.admin,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let x = sheet(file);
    assert_eq!(x.rows().count(), 41, "a header and 40 rows");
    let local = |v: &Value| -> String {
        v.as_str()
            .map(|t| {
                t.parse::<DateTime<Utc>>()
                    .unwrap()
                    .with_timezone(&chrono_tz::Asia::Dushanbe)
                    .format("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_default()
    };
    for (i, it) in items.iter().enumerate() {
        let row = i as u32 + 1;
        assert_eq!(text(&x, row, 1), it["personnel_number"].as_str().unwrap());
        assert_eq!(text(&x, row, 2), it["name"].as_str().unwrap(), "row {row}");
        assert_eq!(text(&x, row, 3), it["date"].as_str().unwrap(), "row {row}");
        assert_eq!(
            text(&x, row, 4),
            it["status"].as_str().unwrap(),
            "row {row}"
        );
        assert_eq!(
            text(&x, row, 5),
            it["t13_code"].as_str().unwrap(),
            "row {row}"
        );
        assert_eq!(text(&x, row, 6), local(&it["first_in"]), "row {row}");
        assert_eq!(text(&x, row, 7), local(&it["last_out"]), "row {row}");
        for (col, field) in [
            (8, "worked_minutes"),
            (10, "late_minutes"),
            (11, "early_leave_minutes"),
            (12, "overtime_minutes"),
            (13, "night_minutes"),
            (15, "pending_events"),
        ] {
            assert_eq!(
                num(&x, row, col),
                it[field].as_f64().unwrap(),
                "row {row} {field}"
            );
        }
        assert_eq!(
            text(&x, row, 14),
            it["absence"].as_str().unwrap_or_default(),
            "row {row}"
        );
    }
    // The hand-computed figures of the story are there: Aliev late 25 min on the 3rd, 600
    // minutes on the 4th with 120 of overtime; Davlatova on sick leave on the 2nd.
    let find = |name: &str, date: &str| {
        items
            .iter()
            .find(|i| i["name"] == name && i["date"] == date)
            .unwrap_or_else(|| panic!("{name} {date}"))
            .clone()
    };
    assert_eq!(find("Aliev X", "2026-03-03")["late_minutes"], 25);
    assert_eq!(find("Aliev X", "2026-03-04")["worked_minutes"], 600);
    assert_eq!(find("Aliev X", "2026-03-04")["overtime_minutes"], 120);
    assert_eq!(find("Davlatova X", "2026-03-02")["absence"], "sick_leave");
    assert!(find("Aliev X", "2026-03-02")["planned_start"].is_string());

    // Server paging over the rows.
    let r = app
        .get(
            &format!("/api/v1/reports/daily?{q}&limit=7&offset=7"),
            &s.admin,
        )
        .await;
    assert_eq!(r.body["total"], 40);
    assert_eq!(r.body["items"].as_array().unwrap()[..], items[7..14]);

    // Sorting: by worked minutes descending (Aliev's 600 first), by date (each date's rows in
    // the name order), by name descending; an unknown column is refused.
    let admin = &s.admin;
    let sorted = |sort: &'static str| {
        let q = q.clone();
        async move {
            let r = app
                .get(
                    &format!("/api/v1/reports/daily?{q}&limit=500&sort={sort}"),
                    admin,
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{sort}: {}", r.body);
            r.body["items"].as_array().unwrap().clone()
        }
    };
    let by_worked = sorted("-worked").await;
    assert_eq!(by_worked[0]["worked_minutes"], 600);
    assert_eq!(by_worked[0]["name"], "Aliev X");
    let worked: Vec<i64> = by_worked
        .iter()
        .map(|i| i["worked_minutes"].as_i64().unwrap())
        .collect();
    assert!(worked.windows(2).all(|w| w[0] >= w[1]), "{worked:?}");
    let by_date = sorted("date").await;
    let keys: Vec<(String, String)> = by_date
        .iter()
        .map(|i| (i["date"].to_string(), i["name"].to_string()))
        .collect();
    let mut expected = keys.clone();
    expected.sort();
    assert_eq!(keys, expected);
    assert_eq!(by_date[0]["date"], "2026-03-01");
    assert_eq!(by_date[3]["name"], "Ergashev X");
    let by_name_desc = sorted("-name").await;
    assert_eq!(by_name_desc[0]["name"], "Ergashev X");
    assert_eq!(by_name_desc[39]["name"], "Aliev X");
    let by_late = sorted("-late").await;
    assert_eq!(
        (by_late[0]["name"].as_str(), by_late[0]["date"].as_str()),
        (Some("Aliev X"), Some("2026-03-03"))
    );
    let r = app
        .get(&format!("/api/v1/reports/daily?{q}&sort=salary"), &s.admin)
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "invalid_query")
    );

    // Search by name, in either order of the names and any case; `%` and `_` are literal.
    for (text_q, total) in [
        ("bob", 10),
        ("x boboev", 10),
        ("BOBOEV X", 10),
        ("%", 0),
        ("_", 0),
    ] {
        let r = app
            .get(
                &format!(
                    "/api/v1/reports/daily?{q}&q={}",
                    text_q.replace('%', "%25").replace(' ', "%20")
                ),
                &s.admin,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["total"], total, "{text_q}");
        assert!(
            r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i["name"] == "Boboev X"),
            "{text_q}"
        );
    }
    let long = "a".repeat(101);
    let r = app
        .get(&format!("/api/v1/reports/daily?{q}&q={long}"), &s.admin)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["errors"][0]["field"], "q");
    assert_eq!(r.body["errors"][0]["code"], "too_long");

    // The period summary: searched and sorted on the server (absences: Davlatova 16, Aliev 18,
    // Boboev 19, Ergashev 21), paged after sorting.
    let dep = format!("month=2026-03&department_id={}", s.dept);
    let names = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let summary = |extra: &'static str| {
        let dep = dep.clone();
        async move {
            let r = app
                .get(&format!("/api/v1/reports/summary?{dep}&{extra}"), admin)
                .await;
            assert_eq!(r.status, StatusCode::OK, "{extra}: {}", r.body);
            r.body
        }
    };
    let b = summary("q=dav").await;
    assert_eq!(
        (b["total"].clone(), names(&b)),
        (json!(1), vec!["Davlatova X".to_owned()])
    );
    let b = summary("sort=absences").await;
    assert_eq!(
        names(&b),
        ["Davlatova X", "Aliev X", "Boboev X", "Ergashev X"]
    );
    let b = summary("sort=-absences&limit=2&offset=1").await;
    assert_eq!(b["total"], 4);
    assert_eq!(names(&b), ["Boboev X", "Aliev X"]);
    assert_eq!(names(&summary("sort=-worked").await)[0], "Aliev X");
    assert_eq!(
        names(&summary("sort=-name").await),
        ["Ergashev X", "Davlatova X", "Boboev X", "Aliev X"]
    );

    // Scope: a user is refused, an operator of another department sees nobody of the Kitchen.
    let user = app.login("bahrom").await.access_token;
    let r = app.get(&format!("/api/v1/reports/daily?{q}"), &user).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let op = bar_operator(&s).await;
    let r = app.get(&format!("/api/v1/reports/daily?{q}"), &op).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["total"], 0);
}

/// `GET /api/v1/reports/downloads` lists the caller's own downloads, newest first, expired
/// ones marked; asking for a download and fetching its file are both in the audit log, with
/// the report, the period and the filters.
#[sqlx::test(migrations = "./migrations")]
async fn recent_downloads_are_the_requesters_own_and_audited(pool: PgPool) {
    let dir = tempfile::tempdir().unwrap();
    let settings = faceid_server::Settings {
        data_dir: dir.path().join("data"),
        ..common::settings()
    };
    let s = story_with(pool, settings).await;
    let app = &s.app;
    let op = bar_operator(&s).await;

    let (first, _, _, _) = background(
        app,
        &s.admin,
        json!({"report": "summary", "format": "csv", "month": "2026-03", "department_id": s.dept}),
    )
    .await;
    let r = app
        .post(
            "/api/v1/reports/downloads",
            &s.admin,
            json!({"report": "daily", "format": "xlsx", "from": "2026-03-01", "to": "2026-03-05",
                   "site_id": s.site}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let second = r.body["id"].as_str().unwrap().to_owned();
    let r = app
        .post(
            "/api/v1/reports/downloads",
            &op,
            json!({"report": "summary", "month": "2026-03"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let ops = r.body["id"].as_str().unwrap().to_owned();

    // The administrator's two, newest first, with their filters; the operator's one only.
    let r = app.get("/api/v1/reports/downloads", &s.admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["total"], 2);
    let ids: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [second.as_str(), first["id"].as_str().unwrap()]);
    assert_eq!(r.body["items"][0]["state"], "queued");
    assert_eq!(r.body["items"][0]["site_id"], json!(s.site));
    assert_eq!(r.body["items"][1]["state"], "done");
    assert_eq!(r.body["items"][1]["department_id"], json!(s.dept));
    let r = app
        .get("/api/v1/reports/downloads?limit=1&offset=1", &s.admin)
        .await;
    assert_eq!(r.body["total"], 2);
    assert_eq!(r.body["items"][0]["id"], first["id"]);
    let r = app.get("/api/v1/reports/downloads", &op).await;
    assert_eq!(r.body["total"], 1);
    assert_eq!(r.body["items"][0]["id"], ops.as_str());
    let user = app.login("bahrom").await.access_token;
    let r = app.get("/api/v1/reports/downloads", &user).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    // Expired downloads stay listed, marked so.
    run_jobs(app).await;
    let n = faceid_server::report_downloads::expire(
        &app.state,
        Utc::now() + chrono::Duration::days(30),
    )
    .await
    .unwrap();
    assert_eq!(n, 3);
    let r = app.get("/api/v1/reports/downloads", &s.admin).await;
    assert_eq!(r.body["total"], 2);
    assert!(
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["state"] == "expired"),
        "{}",
        r.body
    );

    // The audit log: each request with who, which report, the period and the filters; the
    // fetched file (once, by `background`); shown by the audit endpoint under its type.
    let rows: Vec<(String, String, Option<Uuid>, Value)> = sqlx::query_as(
        "SELECT action, actor_login, entity_id, after FROM audit_log
          WHERE entity_type = 'report_download' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let first_id: Uuid = first["id"].as_str().unwrap().parse().unwrap();
    let summary: Vec<_> = rows.iter().filter(|r| r.2 == Some(first_id)).collect();
    assert_eq!(summary.len(), 2, "{rows:?}");
    assert_eq!(
        (summary[0].0.as_str(), summary[0].1.as_str()),
        ("reports.download", "root")
    );
    let after = &summary[0].3;
    assert_eq!(after["report"], "summary");
    assert_eq!(after["format"], "csv");
    assert_eq!(after["period_from"], "2026-03-01");
    assert_eq!(after["period_to"], "2026-03-31");
    assert_eq!(after["department_id"], json!(s.dept));
    assert_eq!(summary[1].0, "reports.download_file");
    assert_eq!(
        summary[1].3["file_name"],
        "summary_2026-03-01_2026-03-31.csv"
    );
    let second_id: Uuid = second.parse().unwrap();
    let daily: Vec<_> = rows.iter().filter(|r| r.2 == Some(second_id)).collect();
    assert_eq!(daily.len(), 1, "requested, never fetched");
    assert_eq!(daily[0].3["site_id"], json!(s.site));
    assert_eq!(daily[0].3["report"], "daily");
    let ops_id: Uuid = ops.parse().unwrap();
    assert!(rows.iter().any(|r| r.2 == Some(ops_id) && r.1 == "op"));
    let r = app
        .get("/api/v1/audit?entity_type=report_download", &s.admin)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let actions: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"reports.download"), "{actions:?}");
    assert!(actions.contains(&"reports.download_file"), "{actions:?}");
}
