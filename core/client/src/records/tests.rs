//! Records against a small axum server that answers the way the backend does (the JSON shapes
//! of `backend/src/attendance.rs`, `locations.rs` and `face_templates.rs`); the CLI tests read
//! the same endpoints from the real backend.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use faceid_protocol::attendance::{EventKind, PunchKind, PunchStatus};
use faceid_protocol::auth::{CurrentUser, DeviceInfo, Platform, Role, TokenPair};
use faceid_protocol::problem::Problem;
use serde_json::{Value, json};

use super::*;
use crate::clock::{ServerClock, SystemClock};
use crate::session::{LOGIN_PATH, SessionConfig};
use crate::store::MemoryStore;

struct Fake {
    user: Uuid,
    /// What the descriptors endpoint answers.
    descriptors: Mutex<(StatusCode, Value)>,
    /// Query strings seen, by path.
    queries: Mutex<Vec<(String, HashMap<String, String>)>>,
    /// Points the track endpoint serves; pages of `page` points.
    points: Vec<Value>,
    page: usize,
}

fn authorised(h: &HeaderMap) -> bool {
    h.get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "Bearer access-1")
}

async fn login(State(f): State<Arc<Fake>>) -> Json<TokenPair> {
    let now = Utc::now();
    Json(TokenPair {
        access_token: "access-1".into(),
        access_expires_at: now + chrono::Duration::minutes(15),
        refresh_token: "refresh-1".into(),
        refresh_expires_at: now + chrono::Duration::days(30),
        user: CurrentUser {
            id: f.user,
            login: "alice".into(),
            first_name: "Alice".into(),
            last_name: "L".into(),
            role: Role::User,
            department_id: None,
            position_id: None,
            site_ids: vec![],
            device_id: None,
            must_change_password: false,
            photo_updated_at: None,
        },
        server_time: now,
    })
}

async fn attendance(
    State(f): State<Arc<Fake>>,
    h: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !authorised(&h) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    f.queries
        .lock()
        .expect("lock")
        .push((MY_ATTENDANCE_PATH.into(), q));
    // Field for field what `my_attendance` serialises (the backend answers with `faceid_protocol::AttendanceRecord`).
    Json(json!([{
        "id": Uuid::now_v7(), "employee_id": f.user, "device_id": Uuid::new_v4(),
        "site_id": Uuid::new_v4(), "kind": "in", "punch_kind": null,
        "occurred_at": "2026-11-20T06:01:02.123456Z", "received_at": "2026-11-20T06:01:03Z",
        "verdict": "verified", "reasons": [], "decision": null, "comment": null,
        "refers_to": null, "actor_id": null, "lat": 55.7501, "lon": 37.6102,
        "accuracy_m": 9.5, "distance_m": 12.25, "face_distance": 0.2875,
        "liveness_score": 0.97, "has_photo": true, "status": "verified"
    }, {
        "id": Uuid::now_v7(), "employee_id": f.user, "device_id": null, "site_id": null,
        "kind": "review", "punch_kind": null, "occurred_at": "2026-11-20T07:00:00Z",
        "received_at": "2026-11-20T07:00:00Z", "verdict": "verified", "reasons": [],
        "decision": "accept", "comment": "ok", "refers_to": Uuid::now_v7(),
        "actor_id": Uuid::new_v4(), "lat": null, "lon": null, "accuracy_m": null,
        "distance_m": null, "face_distance": null, "liveness_score": null,
        "has_photo": false, "status": null
    }]))
    .into_response()
}

async fn locations(
    State(f): State<Arc<Fake>>,
    h: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !authorised(&h) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let from: DateTime<Utc> = q
        .get("from")
        .and_then(|v| v.parse().ok())
        .unwrap_or(DateTime::UNIX_EPOCH);
    f.queries
        .lock()
        .expect("lock")
        .push((MY_LOCATIONS_PATH.into(), q));
    // Like the backend: `recorded_at >= from`, oldest first, `page` at most.
    let matching: Vec<&Value> = f
        .points
        .iter()
        .filter(|p| {
            p["recorded_at"]
                .as_str()
                .and_then(|s| s.parse::<DateTime<Utc>>().ok())
                .is_some_and(|t| t >= from)
        })
        .collect();
    let truncated = matching.len() > f.page;
    let points: Vec<&Value> = matching.into_iter().take(f.page).collect();
    Json(json!({"points": points, "truncated": truncated})).into_response()
}

async fn descriptors(State(f): State<Arc<Fake>>, h: HeaderMap) -> Response {
    if !authorised(&h) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let (status, body) = f.descriptors.lock().expect("lock").clone();
    if status.is_success() {
        (status, Json(body)).into_response()
    } else {
        let p = Problem::new(
            status.as_u16(),
            faceid_protocol::error_code::ErrorCode::DeviceNotAllowed,
            "device not allowed",
        );
        (status, Json(p)).into_response()
    }
}

fn point(t: &str, device: Uuid) -> Value {
    json!({"device_id": device, "recorded_at": t, "lat": 55.75, "lon": 37.61,
           "accuracy": 8.0, "speed": 1.4, "mock": false, "jump": false, "battery": 77})
}

async fn start(points: Vec<Value>, page: usize) -> (Arc<Fake>, Session) {
    let fake = Arc::new(Fake {
        user: Uuid::new_v4(),
        descriptors: Mutex::new((StatusCode::OK, json!([]))),
        queries: Mutex::new(Vec::new()),
        points,
        page,
    });
    let app = axum::Router::new()
        .route(LOGIN_PATH, post(login))
        .route(MY_ATTENDANCE_PATH, get(attendance))
        .route(MY_LOCATIONS_PATH, get(locations))
        .route(MY_FACE_DESCRIPTORS_PATH, get(descriptors))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let device = DeviceInfo {
        id: Uuid::new_v4(),
        name: "test".into(),
        platform: Platform::Android,
        app_version: "0".into(),
    };
    let session = Session::new(
        SessionConfig::new(&format!("http://{addr}"), device),
        Arc::new(MemoryStore::new()),
        Arc::new(ServerClock::new(Arc::new(SystemClock::default()))),
    )
    .expect("session");
    session.login("alice", "pw").await.expect("login");
    (fake, session)
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("time")
}

#[test]
fn period_query_and_checks() {
    assert_eq!(Period::default().query(), "");
    let p = Period::new(
        Some(at("2026-11-01T00:00:00Z")),
        Some(at("2026-11-02T00:00:00.5Z")),
    );
    assert_eq!(
        p.query(),
        "?from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00.500Z"
    );
    assert!(matches!(
        Period::new(p.to, p.from).check(),
        Err(RecordsError::InvalidRange(_))
    ));
    let long = Period::new(
        Some(at("2026-10-01T00:00:00Z")),
        Some(at("2026-11-02T00:00:00Z")),
    );
    assert!(long.check().is_ok());
    assert!(matches!(
        check_track_period(&long),
        Err(RecordsError::InvalidRange(_))
    ));
}

#[tokio::test]
async fn attendance_history_is_typed_and_sends_the_range() {
    let (fake, session) = start(vec![], 10).await;
    let period = Period::new(
        Some(at("2026-11-20T00:00:00Z")),
        Some(at("2026-11-21T00:00:00Z")),
    );
    let records = my_attendance(&session, period).await.expect("history");
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].kind, EventKind::In);
    assert_eq!(records[0].direction(), Some(PunchKind::In));
    assert_eq!(records[0].status, Some(PunchStatus::Verified));
    assert_eq!(records[0].employee_id, fake.user);
    assert_eq!(records[1].kind, EventKind::Review);
    assert_eq!(records[1].direction(), None);
    let q = fake.queries.lock().expect("lock").clone();
    assert_eq!(
        q[0].1.get("from").map(String::as_str),
        Some("2026-11-20T00:00:00Z")
    );
    assert_eq!(
        q[0].1.get("to").map(String::as_str),
        Some("2026-11-21T00:00:00Z")
    );
    // A reversed range never reaches the server.
    assert!(matches!(
        my_attendance(&session, Period::new(period.to, period.from)).await,
        Err(RecordsError::InvalidRange(_))
    ));
    assert_eq!(fake.queries.lock().expect("lock").len(), 1);
}

#[tokio::test]
async fn track_follows_truncated_pages_without_duplicates() {
    let (d1, d2) = (Uuid::new_v4(), Uuid::new_v4());
    // Two devices share an instant that falls on a page boundary.
    let points = vec![
        point("2026-11-20T08:00:00Z", d1),
        point("2026-11-20T08:00:05Z", d1),
        point("2026-11-20T08:00:10Z", d1),
        point("2026-11-20T08:00:10Z", d2),
        point("2026-11-20T08:00:15Z", d1),
        point("2026-11-20T08:00:20Z", d1),
    ];
    let (fake, session) = start(points, 3).await;
    let period = Period::new(
        Some(at("2026-11-20T00:00:00Z")),
        Some(at("2026-11-21T00:00:00Z")),
    );
    let first = my_locations(&session, period).await.expect("page");
    assert!(first.truncated);
    assert_eq!(first.points.len(), 3);
    assert_eq!(first.points[0].point.battery, Some(77));
    let all = my_track(&session, period).await.expect("track");
    let got: Vec<(String, Uuid)> = all
        .iter()
        .map(|p| (p.point.recorded_at.to_rfc3339(), p.device_id))
        .collect();
    assert_eq!(all.len(), 6, "{got:?}");
    assert!(
        all.windows(2)
            .all(|w| w[0].point.recorded_at <= w[1].point.recorded_at)
    );
    assert!(fake.queries.lock().expect("lock").len() >= 3);
}

#[tokio::test]
async fn descriptors_are_cached_validated_and_cleared() {
    let (fake, session) = start(vec![], 10).await;
    let store: Arc<dyn SecureStore> = Arc::new(MemoryStore::new());
    let cache = DescriptorCache::new(store.clone());
    let values: Vec<f32> = (0..128).map(|i| (i as f32 / 128.0) - 0.5).collect();
    *fake.descriptors.lock().expect("lock") = (
        StatusCode::OK,
        json!([{"id": Uuid::now_v7(), "model": "sface-2021dec", "values": values}]),
    );
    assert!(cache.descriptors(fake.user).is_empty());
    let got = cache.refresh(&session).await.expect("refresh");
    assert_eq!(got.templates.len(), 1);
    let d = cache.descriptors(fake.user);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].model.0, "sface-2021dec");
    assert_eq!(d[0].values, values);
    // Another employee's key sees nothing.
    assert!(cache.cached(Uuid::new_v4()).expect("cached").is_none());

    // A malformed descriptor is refused and the good cache stays.
    *fake.descriptors.lock().expect("lock") = (
        StatusCode::OK,
        json!([{"id": Uuid::now_v7(), "model": "sface-2021dec", "values": [0.1, 0.2]}]),
    );
    assert!(matches!(
        cache.refresh(&session).await,
        Err(RecordsError::BadDescriptor(_))
    ));
    assert_eq!(cache.descriptors(fake.user).len(), 1);

    // The device is no longer allowed: the cache goes.
    *fake.descriptors.lock().expect("lock") = (StatusCode::FORBIDDEN, Value::Null);
    let err = cache.refresh(&session).await.expect_err("403");
    assert!(matches!(
        err,
        RecordsError::Session(SessionError::Rejected { status: 403, .. })
    ));
    assert!(cache.cached(fake.user).expect("cached").is_none());

    // A corrupt cache is a typed error, and `descriptors` degrades to none.
    store
        .save(&format!("descriptors-{}", fake.user), "{not json")
        .expect("save");
    assert!(matches!(
        cache.cached(fake.user),
        Err(RecordsError::CorruptCache(_))
    ));
    assert!(cache.descriptors(fake.user).is_empty());
}

#[test]
fn timesheet_reads_the_servers_month_and_refuses_a_bad_month_locally() {
    // The shape of `GET /api/v1/me/timesheet` (backend/src/routes/reports.rs `MyTimesheet`),
    // with fields the app does not read.
    let json = json!({
        "month": "2026-05",
        "days": [{
            "date": "2026-05-04", "status": "late", "t13_code": "Я",
            "planned_start": "2026-05-04T06:00:00Z", "planned_end": "2026-05-04T15:00:00Z",
            "first_in": "2026-05-04T06:12:00Z", "last_out": null,
            "worked_minutes": 468, "late_minutes": 12, "early_leave_minutes": 0,
            "overtime_minutes": 0, "night_minutes": 0, "absence": null,
            "missing_checkout": true, "holiday": false, "pending_events": 0
        }],
        "summary": {
            "employee_id": "0196b1f0-0000-7000-8000-000000000001", "name": "A B",
            "department_id": null, "department": null, "days_worked": 1, "worked_minutes": 468,
            "worked_hours": 7.8, "late_count": 1, "late_minutes": 12, "early_leave_count": 0,
            "early_leave_minutes": 0, "absences": 0, "overtime_minutes": 0, "night_minutes": 0,
            "night_hours": 0.0, "days_off": 0, "holidays": 0, "leave_days": {},
            "missing_checkouts": 1, "pending_events": 0
        }
    });
    let sheet: Timesheet = serde_json::from_value(json).expect("timesheet");
    assert_eq!(sheet.days[0].status, "late");
    assert_eq!(sheet.days[0].late_minutes, 12);
    assert!(sheet.days[0].last_out.is_none());
    assert_eq!(sheet.summary.late_count, 1);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let session = Session::new(
        SessionConfig::new(
            "http://127.0.0.1:9",
            DeviceInfo {
                id: Uuid::now_v7(),
                name: "t".into(),
                platform: Platform::Android,
                app_version: "t".into(),
            },
        ),
        Arc::new(MemoryStore::new()),
        Arc::new(ServerClock::new(Arc::new(SystemClock::default()))),
    )
    .expect("session");
    for bad in ["2026-13", "2026-5", "may", "2026-05-01"] {
        let r = rt.block_on(my_timesheet(&session, Some(bad)));
        assert!(
            matches!(r, Err(RecordsError::InvalidRange(_))),
            "{bad}: {r:?}"
        );
    }
}
