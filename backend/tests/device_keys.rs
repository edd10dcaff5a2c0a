//! Device keys (docs/device-keys.md): a device id is bound to the P-256 key that first signed a
//! server nonce with it; an allow-list trusts the approved key, not the id.

mod common;

use axum::http::{Method, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{PASSWORD, TestApp};
use faceid_protocol::auth::{TokenPair, device_proof_message};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::EncodePublicKey;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

fn new_key() -> SigningKey {
    loop {
        let bytes: [u8; 32] = rand::random();
        if let Ok(k) = SigningKey::from_bytes(&bytes.into()) {
            return k;
        }
    }
}

async fn nonce(app: &TestApp) -> String {
    let r = app
        .call(Method::POST, "/api/v1/auth/nonce", None, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["nonce"].as_str().unwrap().to_owned()
}

/// A proof over `nonce` for `device` signed by `key`.
fn proof_with(key: &SigningKey, device: Uuid, nonce: &str) -> Value {
    let public = key.verifying_key().to_public_key_der().unwrap();
    let sig: Signature = key.sign(&device_proof_message(nonce, device));
    json!({
        "public_key": STANDARD.encode(public.as_bytes()),
        "nonce": nonce,
        "signature": STANDARD.encode(sig.to_der().as_bytes()),
    })
}

async fn proof(app: &TestApp, key: &SigningKey, device: Uuid) -> Value {
    let n = nonce(app).await;
    proof_with(key, device, &n)
}

async fn login(app: &TestApp, login: &str, device: Uuid, proof: Option<Value>) -> common::Resp {
    let mut body = json!({
        "login": login,
        "password": PASSWORD,
        "device": {"id": device, "name": "Pixel 8", "platform": "android", "app_version": "2.0.0"}
    });
    if let Some(p) = proof {
        body["device_proof"] = p;
    }
    app.call(Method::POST, "/api/v1/auth/login", None, Some(body))
        .await
}

/// A login of `worker` on `device` with a proof by `key`.
async fn keyed(app: &TestApp, device: Uuid, key: &SigningKey) -> common::Resp {
    login(app, "worker", device, Some(proof(app, key, device).await)).await
}

async fn refresh(app: &TestApp, token: &str, proof: Option<Value>) -> common::Resp {
    let mut body = json!({"refresh_token": token});
    if let Some(p) = proof {
        body["device_proof"] = p;
    }
    app.call(Method::POST, "/api/v1/auth/refresh", None, Some(body))
        .await
}

fn outcome(r: &common::Resp) -> (StatusCode, &str) {
    (r.status, r.code())
}

async fn setup(app: &TestApp) -> (String, Uuid) {
    app.bootstrap_admin("root").await;
    let admin = app.login("root").await.access_token;
    let user = app
        .create_employee(&admin, common::user_body("worker", None))
        .await;
    (admin, user)
}

async fn allow(app: &TestApp, admin: &str, user: Uuid, devices: &[Uuid]) {
    let r = app
        .patch(
            &format!("/api/v1/employees/{user}"),
            admin,
            json!({"allowed_device_ids": devices}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_key_bound_device_refuses_a_replayed_id(pool: PgPool) {
    let app = TestApp::new(pool);
    let (admin, user) = setup(&app).await;
    let phone = Uuid::new_v4();
    let phone_key = new_key();

    // First login with a key: registered (trust on first use); the administrator allows it.
    let r = keyed(&app, phone, &phone_key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    allow(&app, &admin, user, &[phone]).await;
    let r = keyed(&app, phone, &phone_key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // Someone with the password and the phone's id: without a key, or with their own key.
    let r = login(&app, "worker", phone, None).await;
    assert_eq!(outcome(&r), (StatusCode::FORBIDDEN, "device_key_required"));
    let thief = new_key();
    let r = keyed(&app, phone, &thief).await;
    assert_eq!(outcome(&r), (StatusCode::FORBIDDEN, "device_key_mismatch"));
    // Nor can they present the phone's public key with their own signature.
    let mut forged = proof(&app, &thief, phone).await;
    forged["public_key"] = proof_with(&phone_key, phone, "x")["public_key"].clone();
    let r = login(&app, "worker", phone, Some(forged)).await;
    assert_eq!(outcome(&r), (StatusCode::FORBIDDEN, "device_proof_invalid"));

    // The mismatch is audited, and the registered key stayed the phone's.
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'device.key_mismatch' AND entity_id = $1",
    )
    .bind(phone)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(audited, 1);
    let r = app.get(&format!("/api/v1/devices/{phone}"), &admin).await;
    assert!(r.body["key_fingerprint"].is_string(), "{}", r.body);
    let r = keyed(&app, phone, &phone_key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_registered_key_is_needed_without_an_allow_list_too(pool: PgPool) {
    let app = TestApp::new(pool);
    setup(&app).await;
    let phone = Uuid::new_v4();
    let key = new_key();
    // Old clients without a key still sign in where there is no allow-list...
    let r = login(&app, "worker", Uuid::new_v4(), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // ...but not under the id of a device that registered a key.
    let r = keyed(&app, phone, &key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = login(&app, "worker", phone, None).await;
    assert_eq!(outcome(&r), (StatusCode::FORBIDDEN, "device_key_required"));
    let r = login(
        &app,
        "worker",
        phone,
        Some(proof(&app, &new_key(), phone).await),
    )
    .await;
    assert_eq!(outcome(&r), (StatusCode::FORBIDDEN, "device_key_mismatch"));
}

#[sqlx::test(migrations = "./migrations")]
async fn keyless_logins_are_refused_only_with_an_allow_list(pool: PgPool) {
    let app = TestApp::new(pool);
    let (admin, user) = setup(&app).await;
    let old_phone = Uuid::new_v4();
    let r = login(&app, "worker", old_phone, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let session: TokenPair = serde_json::from_value(r.body).unwrap();

    // Allowed while it had no key: keyless logins and refreshes are refused from now on.
    allow(&app, &admin, user, &[old_phone]).await;
    let r = login(&app, "worker", old_phone, None).await;
    assert_eq!(outcome(&r), (StatusCode::FORBIDDEN, "device_key_required"));
    let r = refresh(&app, &session.refresh_token, None).await;
    assert_eq!(outcome(&r), (StatusCode::FORBIDDEN, "device_key_required"));

    // The updated app registers a key, which the earlier approval did not cover...
    let key = new_key();
    let r = keyed(&app, old_phone, &key).await;
    assert_eq!(
        outcome(&r),
        (StatusCode::FORBIDDEN, "device_key_not_approved")
    );
    // ...until the administrator approves the device again: that approves its key.
    allow(&app, &admin, user, &[old_phone]).await;
    let r = keyed(&app, old_phone, &key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let registered: i64 = app
        .count("SELECT count(*) FROM audit_log WHERE action = 'device.key_registered'")
        .await;
    assert_eq!(registered, 1);

    // Another employee without an allow-list is not affected.
    app.create_employee(&admin, common::user_body("free", None))
        .await;
    let r = login(&app, "free", Uuid::new_v4(), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_nonce_works_once_and_not_after_it_expires(pool: PgPool) {
    let app = TestApp::new(pool);
    setup(&app).await;
    let phone = Uuid::new_v4();
    let key = new_key();
    let n = nonce(&app).await;
    let r = login(&app, "worker", phone, Some(proof_with(&key, phone, &n))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = login(&app, "worker", phone, Some(proof_with(&key, phone, &n))).await;
    assert_eq!(outcome(&r), (StatusCode::FORBIDDEN, "device_proof_invalid"));

    // Expired.
    let n = nonce(&app).await;
    sqlx::query("UPDATE auth_nonces SET expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    let r = login(&app, "worker", phone, Some(proof_with(&key, phone, &n))).await;
    assert_eq!(outcome(&r), (StatusCode::FORBIDDEN, "device_proof_invalid"));

    // Made up, or signed for another device id.
    let r = login(
        &app,
        "worker",
        phone,
        Some(proof_with(&key, phone, &"0".repeat(64))),
    )
    .await;
    assert_eq!(outcome(&r), (StatusCode::FORBIDDEN, "device_proof_invalid"));
    let n = nonce(&app).await;
    let r = login(
        &app,
        "worker",
        phone,
        Some(proof_with(&key, Uuid::new_v4(), &n)),
    )
    .await;
    assert_eq!(outcome(&r), (StatusCode::FORBIDDEN, "device_proof_invalid"));
    // Garbage in every field is the same typed refusal, never a 500.
    let r = login(
        &app,
        "worker",
        phone,
        Some(json!({"public_key": "%%%", "nonce": "n", "signature": "!"})),
    )
    .await;
    assert_eq!(outcome(&r), (StatusCode::FORBIDDEN, "device_proof_invalid"));
}

#[sqlx::test(migrations = "./migrations")]
async fn refresh_needs_the_key_of_the_device(pool: PgPool) {
    let app = TestApp::new(pool);
    setup(&app).await;
    let phone = Uuid::new_v4();
    let key = new_key();
    let r = keyed(&app, phone, &key).await;
    let pair: TokenPair = serde_json::from_value(r.body).unwrap();

    // A refresh token copied off the phone is useless without the phone's key...
    let r = refresh(&app, &pair.refresh_token, None).await;
    assert_eq!(outcome(&r), (StatusCode::FORBIDDEN, "device_key_required"));
    let r = refresh(
        &app,
        &pair.refresh_token,
        Some(proof(&app, &new_key(), phone).await),
    )
    .await;
    assert_eq!(outcome(&r), (StatusCode::FORBIDDEN, "device_key_mismatch"));
    // ...and those attempts did not use the token up: the phone refreshes with its key.
    let r = refresh(
        &app,
        &pair.refresh_token,
        Some(proof(&app, &key, phone).await),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[sqlx::test(migrations = "./migrations")]
async fn an_approval_binds_the_key_the_device_had(pool: PgPool) {
    let app = TestApp::new(pool);
    let (admin, user) = setup(&app).await;
    let phone = Uuid::new_v4();
    let key = new_key();
    // A new phone of an employee with an allow-list: refused, but its key is registered so
    // that the administrator can allow it.
    let tablet = Uuid::new_v4();
    let tablet_key = new_key();
    let r = keyed(&app, tablet, &tablet_key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    allow(&app, &admin, user, &[tablet]).await;
    let r = keyed(&app, phone, &key).await;
    assert_eq!(outcome(&r), (StatusCode::FORBIDDEN, "device_not_allowed"));
    allow(&app, &admin, user, &[tablet, phone]).await;
    let approved: Option<Vec<u8>> = sqlx::query_scalar(
        "SELECT public_key FROM employee_allowed_devices WHERE employee_id = $1 AND device_id = $2",
    )
    .bind(user)
    .bind(phone)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        approved.as_deref(),
        Some(key.verifying_key().to_encoded_point(false).as_bytes())
    );
    let r = keyed(&app, phone, &key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}
