//! Face enrolment, check-in with re-verification, the hash chain, review, listing and kiosk
//! identification, with real photos from `../shared/faces` and the real face engine.

mod common;

use axum::http::{Method, StatusCode};
use common::face::{enrol, evidence, photo, punch, punch_bytes};
use common::{PASSWORD, Resp, TestApp};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

const SITE_LAT: f64 = 55.75;
const SITE_LON: f64 = 37.61;

// Photos of the enrolled employee, another photo of them, and other people.
const A_ENROL: [&str; 2] = [
    "face_recognition/barack_obama/obama.jpg",
    "face_recognition/barack_obama/obama_small.jpg",
];
const A_PROBE: &str = "face_recognition/barack_obama/obama-720p.jpg";
const B_ENROL: &str = "face_recognition/rose_leslie/img1.jpg";
const B_PROBE: &str = "face_recognition/rose_leslie/img2.jpg";
const NEVER_ENROLLED: &str = "openface/eric_clapton/clapton-1.jpg";
const GROUP: &str = "face_recognition/_group/obama_and_biden.jpg";

struct World {
    app: TestApp,
    admin: String,
    user: String,
    user_id: Uuid,
    other: String,
    site: Uuid,
}

async fn world(pool: PgPool, test: &str) -> Option<World> {
    let app = common::face::app(pool, test)?;
    app.bootstrap_admin("root").await;
    let admin = app.login("root").await.access_token;
    let site = app.create_site(&admin, "Main street").await;
    let user_id = app
        .create_employee(
            &admin,
            json!({"login": "ann", "password": PASSWORD, "first_name": "Ann", "last_name": "Lee",
                   "role": "user", "site_ids": [site]}),
        )
        .await;
    app.create_employee(
        &admin,
        json!({"login": "bob", "password": PASSWORD, "first_name": "Bob", "last_name": "Ray",
               "role": "user", "site_ids": [site]}),
    )
    .await;
    let user = app.login("ann").await.access_token;
    let other = app.login("bob").await.access_token;
    common::face::prepare_face_check_in(&app, &admin).await;
    for t in [&user, &other] {
        common::face::grant_biometric_consent(&app, t).await;
    }
    Some(World {
        app,
        admin,
        user,
        user_id,
        other,
        site,
    })
}

/// A kiosk at the world's site; its credential.
async fn kiosk_credential(w: &World) -> String {
    let r = w
        .app
        .post(
            "/api/v1/devices",
            &w.admin,
            json!({"name": "Door tablet", "site_id": w.site}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["credential"].as_str().unwrap().to_owned()
}

#[sqlx::test(migrations = "./migrations")]
async fn enrol_check_in_review_chain_story(pool: PgPool) {
    let Some(w) = world(pool, "enrol_check_in_review_chain_story").await else {
        return;
    };
    let app = &w.app;

    // Enrolment.
    let r = enrol(app, &w.user, &A_ENROL).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body.as_array().unwrap().len(), 2);
    let r = app.get("/api/v1/me/face-templates", &w.user).await;
    assert_eq!(r.body.as_array().unwrap().len(), 2);
    assert!(r.body[0].get("descriptor").is_none());
    let r = app
        .get("/api/v1/me/face-templates/descriptors", &w.user)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body[0]["values"].as_array().unwrap().len(), 128);
    // Stored encrypted: the plaintext floats are not in the row.
    let (ct,): (Vec<u8>,) = sqlx::query_as("SELECT descriptor FROM face_templates LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let plain: Vec<u8> = r.body[0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|v| (v.as_f64().unwrap() as f32).to_le_bytes())
        .collect();
    assert_eq!(ct.len(), plain.len() + 16);
    assert_ne!(&ct[..plain.len()], &plain[..]);

    // Bob enrolling Ann's face is a possible duplicate, refused and audited.
    let r = enrol(app, &w.other, &[A_PROBE]).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "possible_duplicate"),
        "{}",
        r.body
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM audit_log WHERE action = 'face_template.duplicate_refused'"
        )
        .await,
        1
    );
    let r = enrol(app, &w.other, &[B_ENROL]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    // Check-in with her own (other) photo at the site: verified.
    let ev = evidence(SITE_LAT, SITE_LON);
    let r = punch(app, &w.user, &ev, A_PROBE).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["verdict"], "verified", "{}", r.body);
    assert_eq!(r.body["site"]["id"], w.site.to_string());
    assert!(r.body["face_distance"].as_f64().unwrap() < 0.6);
    let first = r.body.clone();
    // The same request again: the same answer, nothing new.
    let r = punch(app, &w.user, &ev, A_PROBE).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, first);
    assert_eq!(app.count("SELECT count(*) FROM attendance_events").await, 1);
    // The same key with another payload: 409.
    let r = punch(app, &w.user, &ev, A_ENROL[0]).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "idempotency_key_reused")
    );

    // Someone else's face: rejected.
    let r = punch(app, &w.user, &evidence(SITE_LAT, SITE_LON), B_PROBE).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["verdict"], "rejected");
    assert!(
        r.body["reasons"]
            .as_array()
            .unwrap()
            .contains(&json!("face_mismatch"))
    );

    // 5 km away: rejected while the geofence is required, flagged once it is not.
    let far_lat = SITE_LAT + 5000.0 / 111_000.0;
    let r = punch(app, &w.user, &evidence(far_lat, SITE_LON), A_PROBE).await;
    assert_eq!(r.body["verdict"], "rejected", "{}", r.body);
    assert_eq!(r.body["reasons"], json!(["outside_geofence"]));
    assert!(r.body["distance_m"].as_f64().unwrap() > 4900.0);
    let r = app
        .call(
            Method::PUT,
            &format!("/api/v1/sites/{}/attendance-policy", w.site),
            Some(&w.admin),
            Some(
                json!({"liveness_mode": "passive", "max_gps_accuracy_m": 100.0,
                        "geofence_required": false, "max_offline_delay_s": 86400}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut ev = evidence(far_lat, SITE_LON);
    ev["gps"]["mock"] = json!(true);
    let r = punch(app, &w.user, &ev, A_PROBE).await;
    assert_eq!(r.body["verdict"], "flagged", "{}", r.body);
    assert_eq!(
        r.body["reasons"],
        json!(["outside_geofence", "mock_location"])
    );
    let flagged = r.body["event_id"].as_str().unwrap().to_owned();

    // Review: accepted by the administrator, as a new event.
    let r = app
        .post(
            &format!("/api/v1/attendance/events/{flagged}/review"),
            &w.admin,
            json!({"decision": "accept", "comment": "was at the warehouse"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["refers_to"], flagged);
    let r = app
        .post(
            &format!(
                "/api/v1/attendance/events/{}/review",
                first["event_id"].as_str().unwrap()
            ),
            &w.admin,
            json!({"decision": "reject"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "not_flagged"));
    let status: String = sqlx::query_scalar(
        "SELECT p.status FROM attendance_punches p JOIN attendance_events e ON e.id = p.id WHERE e.public_id = $1",
    )
    .bind(Uuid::parse_str(&flagged).unwrap())
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(status, "flagged_accepted");

    // A correction replaces the rejected punch.
    let rejected: Uuid = sqlx::query_scalar(
        "SELECT public_id FROM attendance_events WHERE verdict = 'rejected' AND kind = 'in' ORDER BY id LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let r = app
        .post(
            "/api/v1/attendance/corrections",
            &w.admin,
            json!({"employee_id": w.user_id, "kind": "in", "at": chrono::Utc::now(),
                   "replaces": rejected, "comment": "badge reader photo"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["status"], "verified");

    // Listings.
    let r = app.get("/api/v1/me/attendance", &w.user).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body.as_array().unwrap().len(), 6, "{}", r.body);
    let r = app.get("/api/v1/me/attendance", &w.other).await;
    assert_eq!(r.body.as_array().unwrap().len(), 0);
    // The wire shape (the protocol's `AttendanceRecord`) is the stored row's: these keys, and
    // the stored codes of kind, punch direction, verdict, decision and status as strings.
    let listed = app.get("/api/v1/me/attendance", &w.user).await.body;
    type Stored = (
        Uuid,
        String,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
        bool,
    );
    let stored: Vec<Stored> = sqlx::query_as(
        "SELECT e.public_id, e.kind, e.punch_kind, e.verdict, e.decision, p.status,
                e.photo_key IS NOT NULL
           FROM attendance_events e LEFT JOIN attendance_punches p ON p.id = e.id
          WHERE e.employee_id = $1 ORDER BY e.occurred_at, e.id",
    )
    .bind(w.user_id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), stored.len());
    let keys = [
        "id",
        "employee_id",
        "device_id",
        "site_id",
        "kind",
        "punch_kind",
        "occurred_at",
        "received_at",
        "verdict",
        "reasons",
        "decision",
        "comment",
        "refers_to",
        "actor_id",
        "lat",
        "lon",
        "accuracy_m",
        "distance_m",
        "face_distance",
        "liveness_score",
        "has_photo",
        "status",
    ];
    for (item, (id, kind, punch_kind, verdict, decision, status, has_photo)) in
        listed.iter().zip(&stored)
    {
        let mut got: Vec<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        got.sort_unstable();
        let mut want = keys.to_vec();
        want.sort_unstable();
        assert_eq!(got, want, "{item}");
        assert_eq!(item["id"], id.to_string());
        assert_eq!(item["kind"], json!(kind));
        assert_eq!(item["punch_kind"], json!(punch_kind));
        assert_eq!(item["verdict"], json!(verdict));
        assert_eq!(item["decision"], json!(decision));
        assert_eq!(item["status"], json!(status));
        assert_eq!(item["has_photo"], json!(has_photo));
    }
    // Every code this story stores is in the listing: punches, a review, a correction.
    for kind in ["in", "review", "correction"] {
        assert!(listed.iter().any(|i| i["kind"] == kind), "{kind}");
    }
    assert!(listed.iter().any(|i| i["decision"] == "accept"));
    assert!(listed.iter().any(|i| i["punch_kind"] == "in"));
    assert!(listed.iter().any(|i| i["status"] == "flagged_accepted"));
    let r = app
        .get(
            &format!(
                "/api/v1/attendance?employee={}&verdict=rejected&limit=1",
                w.user_id
            ),
            &w.admin,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["total"], 2);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    let r = app.get("/api/v1/attendance", &w.user).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // The evidence photo: to the employee and staff, not to another employee.
    let ev_id = first["event_id"].as_str().unwrap();
    let path = format!("/api/v1/attendance/events/{ev_id}/photo");
    let r = app.get(&path, &w.user).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.content_type(), "image/jpeg");
    assert_eq!(app.get(&path, &w.admin).await.status, StatusCode::OK);
    assert_eq!(app.get(&path, &w.other).await.status, StatusCode::NOT_FOUND);

    // The chain verifies; an edit made directly in SQL is found.
    let r = app.get("/api/v1/attendance/chain/verify", &w.admin).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["ok"], true, "{}", r.body);
    assert_eq!(r.body["length"], 6);
    sqlx::query(
        "UPDATE attendance_events SET verdict = 'verified', reasons = '{}' WHERE public_id = $1",
    )
    .bind(rejected)
    .execute(&app.pool)
    .await
    .unwrap();
    let r = app.get("/api/v1/attendance/chain/verify", &w.admin).await;
    assert_eq!(r.body["ok"], false);
    assert_eq!(r.body["first_broken_event"], rejected.to_string());

    // Staff remove one template on the employee's behalf; the other stays.
    let list = format!("/api/v1/employees/{}/face-templates", w.user_id);
    let r = app.get(&list, &w.admin).await;
    assert_eq!(r.body.as_array().unwrap().len(), 2, "{}", r.body);
    let one = format!("{list}/{}", r.body[0]["id"].as_str().unwrap());
    let r = app.call(Method::DELETE, &one, Some(&w.user), None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.call(Method::DELETE, &one, Some(&w.admin), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = app.call(Method::DELETE, &one, Some(&w.admin), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get(&list, &w.admin)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Withdrawing biometric consent removes the templates and blocks face check-in.
    let r = app
        .post(
            "/api/v1/me/consents",
            &w.user,
            json!({"kind": "biometric", "action": "withdraw"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM face_templates WHERE employee_id = $1")
        .bind(w.user_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
    let r = punch(app, &w.user, &evidence(SITE_LAT, SITE_LON), A_PROBE).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "biometric_consent_required")
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn kiosk_identifies_enrolled_and_answers_unknown(pool: PgPool) {
    let Some(w) = world(pool, "kiosk_identifies_enrolled_and_answers_unknown").await else {
        return;
    };
    let app = &w.app;
    assert_eq!(
        enrol(app, &w.user, &A_ENROL).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        enrol(app, &w.other, &[B_ENROL]).await.status,
        StatusCode::CREATED
    );
    let kiosk = kiosk_credential(&w).await;
    let identify = |frame: &str, kind: Option<&str>| {
        let ev = json!({"idempotency_key": Uuid::now_v7(), "kind": kind});
        let frame = photo(frame);
        let kiosk = kiosk.clone();
        async move {
            app.post_multipart(
                "/api/v1/kiosk/identify",
                &kiosk,
                &[
                    (
                        "evidence",
                        serde_json::to_vec(&ev).unwrap(),
                        "application/json",
                    ),
                    ("best_frame", frame, "image/jpeg"),
                ],
            )
            .await
        }
    };
    let r = identify(A_PROBE, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["decision"], "match", "{}", r.body);
    assert_eq!(r.body["employee_id"], w.user_id.to_string());
    assert_eq!(r.body["event"]["verdict"], "verified", "{}", r.body);
    // Toggled: the next one is an `out`.
    let r = identify(A_PROBE, None).await;
    let kind: String =
        sqlx::query_scalar("SELECT kind FROM attendance_events WHERE public_id = $1")
            .bind(Uuid::parse_str(r.body["event"]["event_id"].as_str().unwrap()).unwrap())
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(kind, "out");
    let r = identify(NEVER_ENROLLED, Some("in")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["decision"], "unknown", "{}", r.body);
    assert!(r.body["employee_id"].is_null());
    assert_eq!(app.count("SELECT count(*) FROM attendance_events").await, 2);
    // Challenge frames without the nonce they answer are refused, not silently ignored, and
    // nothing is recorded.
    let ev = json!({"idempotency_key": Uuid::now_v7(), "kind": "in"});
    let r = app
        .post_multipart(
            "/api/v1/kiosk/identify",
            &kiosk,
            &[
                (
                    "evidence",
                    serde_json::to_vec(&ev).unwrap(),
                    "application/json",
                ),
                ("best_frame", photo(A_PROBE), "image/jpeg"),
                ("challenge_frame", photo(A_PROBE), "image/jpeg"),
            ],
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "challenge_nonce_missing"),
        "{}",
        r.body
    );
    assert_eq!(r.body["errors"][0]["field"], "challenge_frame");
    assert_eq!(app.count("SELECT count(*) FROM attendance_events").await, 2);
    // An employee's token cannot call it.
    let r = app
        .post_multipart("/api/v1/kiosk/identify", &w.user, &[])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[sqlx::test(migrations = "./migrations")]
async fn bad_photos_and_evidence_are_refused_and_nothing_is_stored(pool: PgPool) {
    let Some(w) = world(
        pool,
        "bad_photos_and_evidence_are_refused_and_nothing_is_stored",
    )
    .await
    else {
        return;
    };
    let app = &w.app;
    let good = photo(A_ENROL[0]);
    let enrol_parts = |bytes: Vec<u8>| vec![("photo", bytes, "image/jpeg")];
    let per_photo = |r: &Resp| {
        r.body["errors"][0]["code"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };

    // Not an image.
    let r = app
        .post_multipart(
            "/api/v1/me/face-templates",
            &w.user,
            &enrol_parts(b"hello, I am text".to_vec()),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "enrolment_refused")
    );
    assert_eq!(per_photo(&r), "not_an_image");
    // Truncated JPEG.
    let r = app
        .post_multipart(
            "/api/v1/me/face-templates",
            &w.user,
            &enrol_parts(good[..good.len() / 3].to_vec()),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.code(), "enrolment_refused", "{}", r.body);
    assert_eq!(per_photo(&r), "image_truncated", "{}", r.body);
    // 20,000 px wide: refused from the header.
    let mut png = Vec::new();
    image::RgbImage::new(20_000, 1)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let r = app
        .post_multipart("/api/v1/me/face-templates", &w.user, &enrol_parts(png))
        .await;
    assert_eq!(per_photo(&r), "image_dimensions_too_large", "{}", r.body);
    // No face; several faces. One bad photo among good ones refuses the whole enrolment.
    let mut grey = Vec::new();
    image::RgbImage::from_pixel(640, 480, image::Rgb([120, 120, 120]))
        .write_to(
            &mut std::io::Cursor::new(&mut grey),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    let r = app
        .post_multipart(
            "/api/v1/me/face-templates",
            &w.user,
            &[
                ("photo", good.clone(), "image/jpeg"),
                ("photo", grey.clone(), "image/jpeg"),
                ("photo", photo(GROUP), "image/jpeg"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let errs = r.body["errors"].as_array().unwrap();
    assert_eq!(errs.len(), 2, "{}", r.body);
    assert_eq!(errs[0]["field"], "photo[1]");
    assert_eq!(errs[0]["code"], "no_face");
    assert_eq!(errs[1]["field"], "photo[2]");
    assert_eq!(errs[1]["code"], "several_faces");
    // Six photos; none.
    let six: Vec<_> = (0..6)
        .map(|_| ("photo", good.clone(), "image/jpeg"))
        .collect();
    let r = app
        .post_multipart("/api/v1/me/face-templates", &w.user, &six)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = app
        .post_multipart("/api/v1/me/face-templates", &w.user, &[])
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "photo_count")
    );
    // 40 MB: 413 before anything is read.
    let r = app
        .post_multipart(
            "/api/v1/me/face-templates",
            &w.user,
            &enrol_parts(vec![0xFF; 40 * 1024 * 1024]),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    // JSON instead of multipart.
    let r = app
        .post("/api/v1/me/face-templates", &w.user, json!({"photo": "x"}))
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(app.count("SELECT count(*) FROM face_templates").await, 0);

    // Check-in evidence.
    assert_eq!(
        enrol(app, &w.user, &A_ENROL).await.status,
        StatusCode::CREATED
    );
    let mut bad = evidence(91.0, SITE_LON);
    let r = punch(app, &w.user, &bad, A_PROBE).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["errors"][0]["field"], "gps.lat");
    bad = evidence(SITE_LAT, SITE_LON);
    bad["gps"]["fix_time"] = json!(chrono::Utc::now() + chrono::Duration::hours(2));
    let r = punch(app, &w.user, &bad, A_PROBE).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["errors"][0]["field"], "gps.fix_time");
    bad = evidence(SITE_LAT, SITE_LON);
    bad["descriptor"] = json!({"model": "dlib_resnet_v1", "values": vec![0.01; 127]});
    let r = punch(app, &w.user, &bad, A_PROBE).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["errors"][0]["field"], "descriptor.values");
    // NaN is not JSON: a malformed body.
    let raw = serde_json::to_string(&evidence(SITE_LAT, SITE_LON))
        .unwrap()
        .replace("55.75", "NaN");
    let r = app
        .post_multipart(
            "/api/v1/attendance/events",
            &w.user,
            &[
                ("evidence", raw.into_bytes(), "application/json"),
                ("best_frame", photo(A_PROBE), "image/jpeg"),
            ],
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "malformed_json")
    );
    // Frames that are not usable.
    let r = punch_bytes(
        app,
        &w.user,
        &evidence(SITE_LAT, SITE_LON),
        b"GIF89a....".to_vec(),
    )
    .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "not_an_image")
    );
    let r = punch_bytes(app, &w.user, &evidence(SITE_LAT, SITE_LON), grey).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "no_face")
    );
    let r = punch(app, &w.user, &evidence(SITE_LAT, SITE_LON), GROUP).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "several_faces")
    );
    // Challenge nonces: unknown, expired, reused.
    let mut ev = evidence(SITE_LAT, SITE_LON);
    ev["challenge_nonce"] = json!("no-such-nonce");
    let with_frames = |ev: &Value| {
        vec![
            (
                "evidence",
                serde_json::to_vec(ev).unwrap(),
                "application/json",
            ),
            ("best_frame", photo(A_PROBE), "image/jpeg"),
            ("challenge_frame", photo(A_PROBE), "image/jpeg"),
            ("challenge_frame", photo(A_PROBE), "image/jpeg"),
        ]
    };
    let r = app
        .post_multipart("/api/v1/attendance/events", &w.user, &with_frames(&ev))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "challenge_unknown"),
        "{}",
        r.body
    );
    let c = app
        .call(
            Method::POST,
            "/api/v1/liveness/challenges",
            Some(&w.user),
            None,
        )
        .await;
    let nonce = c.body["nonce"].as_str().unwrap().to_owned();
    sqlx::query(
        "UPDATE liveness_challenges SET expires_at = now() - interval '1 second' WHERE nonce = $1",
    )
    .bind(&nonce)
    .execute(&app.pool)
    .await
    .unwrap();
    ev["challenge_nonce"] = json!(nonce);
    let r = app
        .post_multipart("/api/v1/attendance/events", &w.user, &with_frames(&ev))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "challenge_expired")
    );
    assert_eq!(app.count("SELECT count(*) FROM attendance_events").await, 0);

    // A live nonce with frames that do not show the movements: rejected; then reused: 400.
    let c = app
        .call(
            Method::POST,
            "/api/v1/liveness/challenges",
            Some(&w.user),
            None,
        )
        .await;
    let mut ev = evidence(SITE_LAT, SITE_LON);
    ev["challenge_nonce"] = c.body["nonce"].clone();
    let r = app
        .post_multipart("/api/v1/attendance/events", &w.user, &with_frames(&ev))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["verdict"], "rejected");
    assert!(
        r.body["reasons"]
            .as_array()
            .unwrap()
            .contains(&json!("challenge_failed"))
    );
    ev["idempotency_key"] = json!(Uuid::now_v7());
    let r = app
        .post_multipart("/api/v1/attendance/events", &w.user, &with_frames(&ev))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "challenge_used")
    );
    assert_eq!(app.count("SELECT count(*) FROM attendance_events").await, 1);
}

// Real photos of one person with measured head poses (yaw from `core/face`'s landmark pose
// estimate, `faceid face detect --json`): frontal 0.7°, turned to his left +39.7°, frontal
// -0.9°, turned to his right -34.6°. All within the same-face rule of each other (dlib
// distances 0.41–0.42 to the first, threshold 0.59).
const POSE_NEUTRAL: &str = "face_recognition/barack_obama/obama.jpg";
const POSE_LEFT: &str = "face_recognition/barack_obama/obama1.jpg";
const POSE_NEUTRAL_AGAIN: &str = A_PROBE;
const POSE_RIGHT: &str = "face_recognition/barack_obama/obama2.jpg";
// Another person, turned the same way as POSE_LEFT (+32.9°).
const OTHER_TURNED_LEFT: &str = "face_recognition/kit_harington/johnsnow_test1.jpg";

/// Issues a challenge through the API, then sets its movements to `actions` in SQL (the
/// photos show one fixed sequence; the API draws movements at random). Returns the nonce and
/// capture times for `frames` frames, 400 ms apart from just after the issue time.
async fn challenge_with(
    app: &TestApp,
    token: &str,
    actions: &[&str],
    frames: usize,
) -> (String, Vec<u64>) {
    challenge_at(app, "/api/v1/liveness/challenges", token, actions, frames).await
}

/// [`challenge_with`] for the challenge endpoint at `path` (an employee's or a kiosk's).
async fn challenge_at(
    app: &TestApp,
    path: &str,
    token: &str,
    actions: &[&str],
    frames: usize,
) -> (String, Vec<u64>) {
    let c = app.call(Method::POST, path, Some(token), None).await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
    let nonce = c.body["nonce"].as_str().unwrap().to_owned();
    let issued: chrono::DateTime<chrono::Utc> = sqlx::query_scalar(
        "UPDATE liveness_challenges SET actions = $2 WHERE nonce = $1 RETURNING created_at",
    )
    .bind(&nonce)
    .bind(actions)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let t0 = u64::try_from(issued.timestamp_millis()).unwrap();
    let times = (0..frames as u64).map(|i| t0 + 300 + 400 * i).collect();
    (nonce, times)
}

async fn punch_with_challenge(
    app: &TestApp,
    token: &str,
    nonce: &str,
    times: &[u64],
    frames: &[&str],
) -> Resp {
    let mut ev = evidence(SITE_LAT, SITE_LON);
    ev["challenge_nonce"] = json!(nonce);
    ev["challenge_frame_times_ms"] = json!(times);
    app.post_multipart(
        "/api/v1/attendance/events",
        token,
        &challenge_parts(&ev, A_PROBE, frames),
    )
    .await
}

/// The multipart parts of a punch with challenge frames.
fn challenge_parts(
    ev: &Value,
    best: &str,
    frames: &[&str],
) -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let mut parts = vec![
        (
            "evidence",
            serde_json::to_vec(ev).unwrap(),
            "application/json",
        ),
        ("best_frame", photo(best), "image/jpeg"),
    ];
    parts.extend(
        frames
            .iter()
            .map(|f| ("challenge_frame", photo(f), "image/jpeg")),
    );
    parts
}

fn reasons(r: &Resp) -> Vec<String> {
    r.body["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// The `passive+challenge` policy, and Ann enrolled.
async fn challenge_policy_and_enrolment(w: &World) {
    let app = &w.app;
    let r = app
        .call(
            Method::PUT,
            "/api/v1/settings/attendance-policy",
            Some(&w.admin),
            Some(
                json!({"liveness_mode": "passive+challenge", "max_gps_accuracy_m": 100.0,
                        "geofence_required": true, "max_offline_delay_s": 86400}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        enrol(app, &w.user, &A_ENROL).await.status,
        StatusCode::CREATED
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn head_movement_challenge_with_real_frames(pool: PgPool) {
    let Some(w) = world(pool, "head_movement_challenge_with_real_frames").await else {
        return;
    };
    let app = &w.app;
    challenge_policy_and_enrolment(&w).await;
    let sequence = [POSE_NEUTRAL, POSE_LEFT, POSE_NEUTRAL_AGAIN, POSE_RIGHT];

    // Turn left, back to the centre, turn right: the frames show exactly that.
    let (nonce, times) = challenge_with(app, &w.user, &["turn_left", "turn_right"], 4).await;
    let r = punch_with_challenge(app, &w.user, &nonce, &times, &sequence).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["verdict"], "verified", "{}", r.body);
    assert!(reasons(&r).is_empty(), "{}", r.body);

    // The same frames against the opposite order: the wrong movement first.
    let (nonce, times) = challenge_with(app, &w.user, &["turn_right", "turn_left"], 4).await;
    let r = punch_with_challenge(app, &w.user, &nonce, &times, &sequence).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["verdict"], "rejected", "{}", r.body);
    assert_eq!(reasons(&r), ["challenge_failed"], "{}", r.body);

    // Another person's face for the left turn: the movements are right, the face is not.
    let (nonce, times) = challenge_with(app, &w.user, &["turn_left", "turn_right"], 4).await;
    let swapped = [
        POSE_NEUTRAL,
        OTHER_TURNED_LEFT,
        POSE_NEUTRAL_AGAIN,
        POSE_RIGHT,
    ];
    let r = punch_with_challenge(app, &w.user, &nonce, &times, &swapped).await;
    assert_eq!(r.body["verdict"], "rejected", "{}", r.body);
    assert_eq!(reasons(&r), ["challenge_failed"], "{}", r.body);

    // Under this policy a punch without a challenge is flagged, not verified.
    let r = punch(app, &w.user, &evidence(SITE_LAT, SITE_LON), A_PROBE).await;
    assert_eq!(r.body["verdict"], "flagged", "{}", r.body);
    assert_eq!(reasons(&r), ["challenge_missing"], "{}", r.body);

    // Capture times that do not match the frames are refused, nothing stored.
    let (nonce, times) = challenge_with(app, &w.user, &["turn_left", "turn_right"], 3).await;
    let r = punch_with_challenge(app, &w.user, &nonce, &times, &sequence).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        r.body["errors"][0]["field"], "challenge_frame_times_ms",
        "{}",
        r.body
    );
    assert_eq!(app.count("SELECT count(*) FROM attendance_events").await, 4);
}

/// A kiosk identification with the kiosk's challenge: `frames` as challenge frames, `best` as
/// the best frame.
async fn kiosk_identify_with(
    app: &TestApp,
    kiosk: &str,
    nonce: &str,
    times: &[u64],
    best: &str,
    frames: &[&str],
) -> Resp {
    let ev = json!({"idempotency_key": Uuid::now_v7(), "challenge_nonce": nonce,
                    "challenge_frame_times_ms": times});
    app.post_multipart(
        "/api/v1/kiosk/identify",
        kiosk,
        &challenge_parts(&ev, best, frames),
    )
    .await
}

/// A kiosk challenge with these movements (see [`challenge_at`]).
async fn kiosk_challenge_with(
    app: &TestApp,
    kiosk: &str,
    actions: &[&str],
    frames: usize,
) -> (String, Vec<u64>) {
    challenge_at(app, "/api/v1/kiosk/challenges", kiosk, actions, frames).await
}

/// The kiosk's challenge: issued to the kiosk (no employee), used once, refused when expired,
/// another kiosk's or an employee's; a passed one with a matching face is `verified`, a failed
/// one (a still camera) or a missing one is flagged for review with its reason, never rejected.
#[sqlx::test(migrations = "./migrations")]
async fn kiosk_challenge_is_single_use_bound_and_flags_when_failed(pool: PgPool) {
    let Some(w) = world(
        pool,
        "kiosk_challenge_is_single_use_bound_and_flags_when_failed",
    )
    .await
    else {
        return;
    };
    let app = &w.app;
    challenge_policy_and_enrolment(&w).await;
    let kiosk = kiosk_credential(&w).await;
    let other_kiosk = kiosk_credential(&w).await;

    // Issued to the kiosk: 2–3 movements, no employee, about two minutes.
    let c = app
        .call(Method::POST, "/api/v1/kiosk/challenges", Some(&kiosk), None)
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
    assert!((2..=3).contains(&c.body["actions"].as_array().unwrap().len()));
    let (employee, ttl): (Option<Uuid>, f64) = sqlx::query_as(
        "SELECT employee_id, extract(epoch FROM expires_at - now())::float8
           FROM liveness_challenges WHERE nonce = $1",
    )
    .bind(c.body["nonce"].as_str().unwrap())
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(employee, None);
    assert!((100.0..=121.0).contains(&ttl), "{ttl}");
    // Only kiosks get one.
    let r = app
        .call(
            Method::POST,
            "/api/v1/kiosk/challenges",
            Some(&w.user),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    // A still camera: the same neutral picture for every prompt. The challenge fails, and the
    // recognised punch is flagged for review, not rejected.
    let still = [A_PROBE, A_PROBE, A_PROBE];
    let (nonce, times) = kiosk_challenge_with(app, &kiosk, &["turn_left", "turn_right"], 3).await;
    let r = kiosk_identify_with(app, &kiosk, &nonce, &times, A_PROBE, &still).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["decision"], "match", "{}", r.body);
    assert_eq!(r.body["employee_id"], w.user_id.to_string());
    assert_eq!(r.body["event"]["verdict"], "flagged", "{}", r.body);
    assert_eq!(r.body["event"]["reasons"], json!(["challenge_failed"]));
    let public_id = Uuid::parse_str(r.body["event"]["event_id"].as_str().unwrap()).unwrap();
    let (verdict, reasons): (String, Vec<String>) =
        sqlx::query_as("SELECT verdict, reasons FROM attendance_events WHERE public_id = $1")
            .bind(public_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        (verdict.as_str(), reasons),
        ("flagged", vec!["challenge_failed".to_owned()])
    );
    // In the flagged review.
    let r = app
        .get("/api/v1/attendance?verdict=flagged", &w.admin)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.to_string().contains(&public_id.to_string()),
        "{}",
        r.body
    );

    // Used once.
    let r = kiosk_identify_with(app, &kiosk, &nonce, &times, A_PROBE, &still).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "challenge_used"),
        "{}",
        r.body
    );
    // Another kiosk's challenge.
    let (theirs, times) =
        kiosk_challenge_with(app, &other_kiosk, &["turn_left", "look_up"], 3).await;
    let r = kiosk_identify_with(app, &kiosk, &theirs, &times, A_PROBE, &still).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "challenge_wrong_subject"),
        "{}",
        r.body
    );
    // An employee's challenge is not a kiosk's, nor a kiosk's an employee's.
    let (employees, times) = challenge_with(app, &w.user, &["turn_left", "turn_right"], 3).await;
    let r = kiosk_identify_with(app, &kiosk, &employees, &times, A_PROBE, &still).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "challenge_wrong_subject"),
        "{}",
        r.body
    );
    let r = punch_with_challenge(app, &w.user, &theirs, &times, &still).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "challenge_wrong_subject"),
        "{}",
        r.body
    );
    // Expired.
    let (old, times) = kiosk_challenge_with(app, &kiosk, &["turn_left", "turn_right"], 3).await;
    sqlx::query(
        "UPDATE liveness_challenges SET expires_at = now() - interval '1 second' WHERE nonce = $1",
    )
    .bind(&old)
    .execute(&app.pool)
    .await
    .unwrap();
    let r = kiosk_identify_with(app, &kiosk, &old, &times, A_PROBE, &still).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "challenge_expired"),
        "{}",
        r.body
    );
    assert_eq!(app.count("SELECT count(*) FROM attendance_events").await, 1);

    // The movements done: turn left, back to the centre, turn right. Verified.
    let sequence = [POSE_NEUTRAL, POSE_LEFT, POSE_NEUTRAL_AGAIN, POSE_RIGHT];
    let (nonce, times) = kiosk_challenge_with(app, &kiosk, &["turn_left", "turn_right"], 4).await;
    let r = kiosk_identify_with(app, &kiosk, &nonce, &times, A_PROBE, &sequence).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["decision"], "match", "{}", r.body);
    assert_eq!(r.body["event"]["verdict"], "verified", "{}", r.body);
    assert_eq!(r.body["event"]["reasons"], json!([]), "{}", r.body);

    // No challenge under the `passive+challenge` policy: flagged `challenge_missing`.
    let ev = json!({"idempotency_key": Uuid::now_v7()});
    let r = app
        .post_multipart(
            "/api/v1/kiosk/identify",
            &kiosk,
            &[
                (
                    "evidence",
                    serde_json::to_vec(&ev).unwrap(),
                    "application/json",
                ),
                ("best_frame", photo(A_PROBE), "image/jpeg"),
            ],
        )
        .await;
    assert_eq!(r.body["event"]["verdict"], "flagged", "{}", r.body);
    assert_eq!(r.body["event"]["reasons"], json!(["challenge_missing"]));
}

/// Issue 17, case 3: the first 30 % or 60 % of a real JPEG was accepted by enrolment (201),
/// check-in (201 `verified`) and the kiosk (200), the decoder padding the missing rows. Each
/// is a 422 `image_truncated` now, and nothing is stored; the profile photo upload too.
#[sqlx::test(migrations = "./migrations")]
async fn truncated_jpegs_are_refused_at_every_endpoint(pool: PgPool) {
    let Some(w) = world(pool, "truncated_jpegs_are_refused_at_every_endpoint").await else {
        return;
    };
    let app = &w.app;
    let cut = |rel: &str, percent: usize| {
        let bytes = photo(rel);
        bytes[..bytes.len() * percent / 100].to_vec()
    };
    for percent in [30, 60] {
        let r = app
            .post_multipart(
                "/api/v1/me/face-templates",
                &w.user,
                &[("photo", cut(A_ENROL[0], percent), "image/jpeg")],
            )
            .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "enrolment_refused"),
            "{}",
            r.body
        );
        assert_eq!(r.body["errors"][0]["code"], "image_truncated", "{}", r.body);
    }
    assert_eq!(app.count("SELECT count(*) FROM face_templates").await, 0);
    assert_eq!(
        enrol(app, &w.user, &A_ENROL).await.status,
        StatusCode::CREATED
    );
    let kiosk = kiosk_credential(&w).await;
    for percent in [30, 60] {
        let r = punch_bytes(
            app,
            &w.user,
            &evidence(SITE_LAT, SITE_LON),
            cut(A_PROBE, percent),
        )
        .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "image_truncated"),
            "check-in {percent} %: {}",
            r.body
        );
        let ev = json!({"idempotency_key": Uuid::now_v7(), "kind": "in"});
        let r = app
            .post_multipart(
                "/api/v1/kiosk/identify",
                &kiosk,
                &[
                    (
                        "evidence",
                        serde_json::to_vec(&ev).unwrap(),
                        "application/json",
                    ),
                    ("best_frame", cut(A_PROBE, percent), "image/jpeg"),
                ],
            )
            .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "image_truncated"),
            "kiosk {percent} %: {}",
            r.body
        );
    }
    assert_eq!(app.count("SELECT count(*) FROM attendance_events").await, 0);
    for percent in [30, 60] {
        let parts = [("photo", cut(A_PROBE, percent), "image/jpeg")];
        let r = app
            .send_multipart("PUT", "/api/v1/me/photo", &w.user, &parts)
            .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "photo_refused"),
            "profile photo {percent} %: {}",
            r.body
        );
        assert_eq!(r.body["errors"][0]["code"], "image_truncated", "{}", r.body);
    }
    assert_eq!(
        app.count("SELECT count(*) FROM employees WHERE photo_key IS NOT NULL")
            .await,
        0
    );
}

/// Re-enrolment after a model change: templates of a retired model are re-computed from their
/// stored enrolment photos for employees who consent; everyone else is listed with the reason.
#[sqlx::test(migrations = "./migrations")]
async fn reenrolment_job_recomputes_templates_from_stored_photos(pool: PgPool) {
    let Some(w) = world(
        pool,
        "reenrolment_job_recomputes_templates_from_stored_photos",
    )
    .await
    else {
        return;
    };
    let app = &w.app;
    let r = enrol(app, &w.user, &A_ENROL).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let current = r.body[0]["model_id"].as_str().unwrap().to_owned();
    // Ann's templates were computed by a model that has since been replaced.
    let keys_before: Vec<Option<String>> =
        sqlx::query_scalar("SELECT photo_key FROM face_templates ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    sqlx::query("UPDATE face_templates SET model_id = 'retired_model'")
        .execute(&app.pool)
        .await
        .unwrap();
    // Bob consents but his old template has no stored photo; Cid never consented.
    let bob: Uuid = sqlx::query_scalar("SELECT id FROM employees WHERE login = 'bob'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let cid = app
        .create_employee(
            &w.admin,
            json!({"login": "cid", "password": PASSWORD, "first_name": "Cid", "last_name": "Moe",
                   "role": "user", "site_ids": [w.site]}),
        )
        .await;
    for e in [bob, cid] {
        sqlx::query(
            "INSERT INTO face_templates (id, employee_id, model_id, descriptor, nonce, quality)
             VALUES ($1, $2, 'retired_model', '\\x00', '\\x00', 0.9)",
        )
        .bind(Uuid::now_v7())
        .bind(e)
        .execute(&app.pool)
        .await
        .unwrap();
    }

    // Administrators only; one run at a time.
    let r = app
        .post("/api/v1/face/reenrolments", &w.user, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = app
        .post("/api/v1/face/reenrolments", &w.admin, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(r.body["state"], "queued");
    let id = r.body["id"].as_str().unwrap().to_owned();
    let r = app
        .post("/api/v1/face/reenrolments", &w.admin, json!({}))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "reenrolment_running"),
        "{}",
        r.body
    );

    app.drain_jobs().await;

    let r = app
        .get(&format!("/api/v1/face/reenrolments/{id}"), &w.admin)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["state"], "done", "{}", r.body);
    assert_eq!(r.body["model_id"], current.as_str());
    assert_eq!(r.body["employees_total"], 3);
    assert_eq!(r.body["employees_done"], 3);
    assert_eq!(r.body["templates_reenrolled"], 2);
    let mut skipped: Vec<(String, String, i64)> = r.body["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["employee_id"].as_str().unwrap().to_owned(),
                s["reason"].as_str().unwrap().to_owned(),
                s["templates"].as_i64().unwrap(),
            )
        })
        .collect();
    skipped.sort();
    let mut expected = vec![
        (bob.to_string(), "no_stored_photo".to_owned(), 1),
        (cid.to_string(), "no_consent".to_owned(), 1),
    ];
    expected.sort();
    assert_eq!(skipped, expected);

    // Ann's rows: same photos, the current model, descriptors that decrypt; she checks in.
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT model_id, photo_key FROM face_templates WHERE employee_id = $1 ORDER BY id",
    )
    .bind(w.user_id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|(m, _)| *m == current));
    assert_eq!(
        rows.iter().map(|r| r.1.clone()).collect::<Vec<_>>(),
        keys_before
    );
    let r = punch(app, &w.user, &evidence(SITE_LAT, SITE_LON), A_PROBE).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["verdict"], "verified", "{}", r.body);
    // Bob's and Cid's old templates are untouched.
    assert_eq!(
        app.count("SELECT count(*) FROM face_templates WHERE model_id = 'retired_model'")
            .await,
        2
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'face_template.reenrol'")
            .await,
        2
    );
    // Finished: a new run may start.
    let r = app
        .post("/api/v1/face/reenrolments", &w.admin, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
}

/// What a check-in reads before measuring (one statement, `attendance::context`): an employee
/// without templates is 409 `not_enrolled`; a device outside the employee's allow-list is 403
/// `device_not_allowed`; neither records anything or consumes the challenge.
#[sqlx::test(migrations = "./migrations")]
async fn check_in_refuses_the_unenrolled_and_an_unlisted_device(pool: PgPool) {
    let Some(w) = world(
        pool,
        "check_in_refuses_the_unenrolled_and_an_unlisted_device",
    )
    .await
    else {
        return;
    };
    let app = &w.app;
    let r = punch(app, &w.user, &evidence(SITE_LAT, SITE_LON), A_PROBE).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "not_enrolled"),
        "{}",
        r.body
    );
    let r = enrol(app, &w.user, &A_ENROL).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // Only Bob's phone is allowed for Ann now (her session stays, as it would for a list
    // changed between her login and the punch).
    sqlx::query(
        "INSERT INTO employee_allowed_devices (employee_id, device_id)
         SELECT $1, s.device_id FROM sessions s JOIN employees e ON e.id = s.employee_id
          WHERE e.login = 'bob' LIMIT 1",
    )
    .bind(w.user_id)
    .execute(&app.pool)
    .await
    .unwrap();
    let (nonce, times) = challenge_with(app, &w.user, &["turn_left"], 2).await;
    let r = punch_with_challenge(app, &w.user, &nonce, &times, &[A_PROBE, A_PROBE]).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "device_not_allowed"),
        "{}",
        r.body
    );
    assert_eq!(app.count("SELECT count(*) FROM attendance_events").await, 0);
    assert_eq!(
        app.count("SELECT count(*) FROM liveness_challenges WHERE used_at IS NOT NULL")
            .await,
        0
    );
}
