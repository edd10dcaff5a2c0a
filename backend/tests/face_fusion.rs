//! A server configured with the fusion embedder (`face_embedder = "fusion_dlib_mfn_v1"`): the
//! re-enrolment job moves MobileFaceNet templates to the fusion, then enrolment, a phone
//! check-in (with and without the head-movement challenge) and the kiosk's 1:N all run on the
//! fused descriptor; real engine, real photos from `../shared/faces`, real PostgreSQL.

mod common;

use axum::http::{Method, StatusCode};
use common::face::{enrol, evidence, photo, punch};
use common::{PASSWORD, Resp, TestApp};
use faceid_server::face::FaceEngine;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

const FUSION: &str = "fusion_dlib_mfn_v1";
const SITE_LAT: f64 = 55.75;
const SITE_LON: f64 = 37.61;
const A_ENROL: [&str; 2] = [
    "face_recognition/barack_obama/obama.jpg",
    "face_recognition/barack_obama/obama_small.jpg",
];
const A_PROBE: &str = "face_recognition/barack_obama/obama-720p.jpg";
const B_ENROL: &str = "face_recognition/rose_leslie/img1.jpg";
const B_PROBE: &str = "face_recognition/rose_leslie/img2.jpg";
const NEVER_ENROLLED: &str = "openface/eric_clapton/clapton-1.jpg";
// Obama turning left, back, right (as in tests/attendance.rs), and another person turned left.
const POSES: [&str; 4] = [
    "face_recognition/barack_obama/obama.jpg",
    "face_recognition/barack_obama/obama1.jpg",
    A_PROBE,
    "face_recognition/barack_obama/obama2.jpg",
];
const OTHER_TURNED_LEFT: &str = "face_recognition/kit_harington/johnsnow_test1.jpg";

/// The app with the engine whose default embedder is the fusion, as `face_embedder` loads it.
fn with_fusion(app: &mut TestApp) {
    let dir = faceid_face::model::default_model_dir().expect("model dir");
    let engine = FaceEngine::try_load_with(&dir, Some(FUSION)).expect("fusion engine");
    let e = engine.get().expect("loaded");
    assert_eq!(e.embedder(None).expect("default").model_id().0, FUSION);
    app.state = app.state.clone().with_face_engine(engine);
    app.router = faceid_server::router(app.state.clone());
}

/// Issues a challenge and sets its movements to `actions` (the photos show one fixed sequence);
/// the nonce and capture times for `frames` frames.
async fn challenge_with(
    app: &TestApp,
    token: &str,
    actions: &[&str],
    frames: usize,
) -> (String, Vec<u64>) {
    let c = app
        .call(
            Method::POST,
            "/api/v1/liveness/challenges",
            Some(token),
            None,
        )
        .await;
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
    (
        nonce,
        (0..frames as u64).map(|i| t0 + 300 + 400 * i).collect(),
    )
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
    let mut parts = vec![
        (
            "evidence",
            serde_json::to_vec(&ev).unwrap(),
            "application/json",
        ),
        ("best_frame", photo(A_PROBE), "image/jpeg"),
    ];
    parts.extend(
        frames
            .iter()
            .map(|f| ("challenge_frame", photo(f), "image/jpeg")),
    );
    app.post_multipart("/api/v1/attendance/events", token, &parts)
        .await
}

async fn kiosk_identify(app: &TestApp, kiosk: &str, frame: &str) -> Resp {
    let ev = json!({"idempotency_key": Uuid::now_v7(), "kind": "in"});
    app.post_multipart(
        "/api/v1/kiosk/identify",
        kiosk,
        &[
            (
                "evidence",
                serde_json::to_vec(&ev).unwrap(),
                "application/json",
            ),
            ("best_frame", photo(frame), "image/jpeg"),
        ],
    )
    .await
}

/// Sets the attendance policy: `liveness_mode`, and a `face_threshold` override when given.
async fn set_policy(app: &TestApp, admin: &str, liveness_mode: &str, face_threshold: Option<f32>) {
    let r = app
        .call(
            Method::PUT,
            "/api/v1/settings/attendance-policy",
            Some(admin),
            Some(
                json!({"liveness_mode": liveness_mode, "max_gps_accuracy_m": 100.0,
                        "geofence_required": true, "max_offline_delay_s": 86400,
                        "face_threshold": face_threshold}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

async fn last_face_distance(app: &TestApp) -> f32 {
    sqlx::query_scalar(
        "SELECT face_distance FROM attendance_events ORDER BY received_at DESC, id DESC LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn fusion_embedder_reenrols_checks_in_and_identifies(pool: PgPool) {
    let Some(mut app) =
        common::face::app(pool, "fusion_embedder_reenrols_checks_in_and_identifies")
    else {
        return;
    };
    app.bootstrap_admin("root").await;
    let admin = app.login("root").await.access_token;
    let site = app.create_site(&admin, "Main street").await;
    let mut people = Vec::new();
    for (login, first) in [("ann", "Ann"), ("bob", "Bob")] {
        let body = json!({"login": login, "password": PASSWORD, "first_name": first,
                          "last_name": "Fusion", "role": "user", "site_ids": [site]});
        let id = app.create_employee(&admin, body).await;
        people.push((id, app.login(login).await.access_token));
    }
    let [(ann, user), (_, other)] = <[(Uuid, String); 2]>::try_from(people).expect("two");
    common::face::prepare_face_check_in(&app, &admin).await;
    for t in [&user, &other] {
        common::face::grant_biometric_consent(&app, t).await;
    }

    // Enrolled while MobileFaceNet was the embedder.
    let r = enrol(&app, &user, &A_ENROL).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body[0]["model_id"], "mobilefacenet_foamliu", "{}", r.body);

    // The server now runs the fusion: her MobileFaceNet templates match nothing.
    with_fusion(&mut app);
    let r = punch(&app, &user, &evidence(SITE_LAT, SITE_LON), A_PROBE).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "not_enrolled"),
        "{}",
        r.body
    );

    // The re-enrolment job moves them to the fusion from the stored photos.
    let r = app
        .post("/api/v1/face/reenrolments", &admin, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    app.drain_jobs().await;
    let r = app
        .get(&format!("/api/v1/face/reenrolments/{id}"), &admin)
        .await;
    assert_eq!(r.body["state"], "done", "{}", r.body);
    assert_eq!(r.body["model_id"], FUSION, "{}", r.body);
    assert_eq!(r.body["templates_reenrolled"], 2, "{}", r.body);
    let models: Vec<String> =
        sqlx::query_scalar("SELECT model_id FROM face_templates WHERE employee_id = $1")
            .bind(ann)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(models, [FUSION, FUSION]);

    // Her phone downloads 256-value descriptors under the fusion's id.
    let r = app
        .get("/api/v1/me/face-templates/descriptors", &user)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let ds = r.body.as_array().expect("descriptors");
    assert_eq!(ds.len(), 2, "{}", r.body);
    for d in ds {
        assert_eq!(d["model"], FUSION);
        assert_eq!(d["values"].as_array().map(Vec::len), Some(256));
    }

    // Bob enrols directly under the fusion.
    let r = enrol(&app, &other, &[B_ENROL]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body[0]["model_id"], FUSION, "{}", r.body);

    // Ann's check-in is re-verified on the fused distance (negative: below the impostors'
    // mean), within the fused threshold.
    let engine = app.state.face.get().expect("engine");
    let (metric, threshold, _) = engine
        .match_params(&faceid_face::ModelId(FUSION.into()))
        .expect("params");
    assert!(matches!(metric, faceid_face::Metric::Fused(_)));
    let r = punch(&app, &user, &evidence(SITE_LAT, SITE_LON), A_PROBE).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["verdict"], "verified", "{}", r.body);
    let d = last_face_distance(&app).await;
    assert!(
        d <= threshold && d < 0.0,
        "fused distance {d}, threshold {threshold}"
    );
    // Another person's face for Ann is not verified; the fused distance is above the threshold.
    let r = punch(&app, &user, &evidence(SITE_LAT, SITE_LON), B_PROBE).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_ne!(r.body["verdict"], "verified", "{}", r.body);
    let d = last_face_distance(&app).await;
    assert!(d > threshold, "fused distance {d}, threshold {threshold}");

    // A policy override is a single embedder's distance: it never loosens the fusion (0.9
    // would accept every impostor on the fused scale).
    set_policy(&app, &admin, "passive", Some(0.9)).await;
    let r = punch(&app, &user, &evidence(SITE_LAT, SITE_LON), B_PROBE).await;
    assert_ne!(r.body["verdict"], "verified", "{}", r.body);

    // With the head-movement challenge: challenge frames carry MobileFaceNet descriptors (the
    // fusion's challenge component), the best frame the fused one.
    set_policy(&app, &admin, "passive+challenge", None).await;
    let (nonce, times) = challenge_with(&app, &user, &["turn_left", "turn_right"], 4).await;
    let r = punch_with_challenge(&app, &user, &nonce, &times, &POSES).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["verdict"], "verified", "{}", r.body);
    let swapped = [POSES[0], OTHER_TURNED_LEFT, POSES[2], POSES[3]];
    let (nonce, times) = challenge_with(&app, &user, &["turn_left", "turn_right"], 4).await;
    let r = punch_with_challenge(&app, &user, &nonce, &times, &swapped).await;
    assert_eq!(r.body["verdict"], "rejected", "{}", r.body);
    let reasons: Vec<&str> = r.body["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(reasons, ["challenge_failed"], "{}", r.body);

    // The kiosk's 1:N on fused distances: Ann by name, a stranger unknown.
    let r = app
        .post(
            "/api/v1/devices",
            &admin,
            json!({"name": "Door tablet", "site_id": site}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let kiosk = r.body["credential"].as_str().unwrap().to_owned();
    // The kiosk's punches need no challenge here.
    set_policy(&app, &admin, "passive", None).await;
    let r = kiosk_identify(&app, &kiosk, A_PROBE).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["decision"], "match", "{}", r.body);
    assert_eq!(r.body["employee_id"], ann.to_string());
    let r = kiosk_identify(&app, &kiosk, B_PROBE).await;
    assert_eq!(r.body["decision"], "match", "{}", r.body);
    assert_ne!(r.body["employee_id"], ann.to_string());
    let r = kiosk_identify(&app, &kiosk, NEVER_ENROLLED).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["decision"], "unknown", "{}", r.body);
}
