//! Consent ledger and liveness challenges against the real router and PostgreSQL.

mod common;

use axum::http::StatusCode;
use common::TestApp;
use faceid_protocol::consent::ConsentKind;
use faceid_server::consent::has_consent;
use faceid_server::liveness::{ChallengeError, consume_challenge, issue};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

async fn templates(app: &TestApp, employee: Uuid) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM face_templates WHERE employee_id = $1")
        .bind(employee)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn add_template(app: &TestApp, employee: Uuid) {
    sqlx::query(
        "INSERT INTO face_templates (id, employee_id, model_id, descriptor, nonce, photo_key, quality)
         VALUES ($1, $2, 'dlib-r100', '\\x0102', '\\x0304', $3, 0.9)",
    )
    .bind(Uuid::now_v7())
    .bind(employee)
    .bind(format!("photos/{}", Uuid::new_v4()))
    .execute(&app.pool)
    .await
    .unwrap();
}

#[sqlx::test(migrations = "./migrations")]
async fn consent_ledger_story(pool: PgPool) {
    let app = TestApp::new(pool);
    app.bootstrap_admin("root").await;
    let admin = app.login("root").await.access_token;
    let dept = app.create_department(&admin, "Shop").await;
    let user_id = app
        .create_employee(&admin, common::user_body("anna", Some(dept)))
        .await;
    let pair = app.login("anna").await;
    let user = pair.access_token;
    let device = pair.user.device_id.unwrap();

    // No text published yet: nothing to consent to.
    let r = app
        .post(
            "/api/v1/me/consents",
            &user,
            json!({"kind": "biometric", "action": "grant"}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "consent_text_missing"),
        "{}",
        r.body
    );
    // Users cannot publish texts; admins can, versions count up.
    let r = app
        .post(
            "/api/v1/consent-texts",
            &user,
            json!({"kind": "biometric", "body": "x"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    for v in 1..=2 {
        let r = app
            .post(
                "/api/v1/consent-texts",
                &admin,
                json!({"kind": "biometric", "body": format!("Face data, v{v}")}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert_eq!(r.body["version"], v);
    }
    let r = app
        .post(
            "/api/v1/consent-texts",
            &admin,
            json!({"kind": "biometric", "body": "   "}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.get("/api/v1/consent-texts", &user).await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    assert_eq!(r.body[0]["version"], 2);

    // Granting an outdated version is refused.
    let r = app
        .post(
            "/api/v1/me/consents",
            &user,
            json!({"kind": "biometric", "action": "grant", "text_version": 1}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "consent_text_outdated")
    );
    let r = app
        .post(
            "/api/v1/me/consents",
            &user,
            json!({"kind": "biometric", "action": "grant", "via": "sms"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        !has_consent(&app.pool, user_id, ConsentKind::Biometric)
            .await
            .unwrap()
    );

    let r = app
        .post(
            "/api/v1/me/consents",
            &user,
            json!({"kind": "biometric", "action": "grant", "text_version": 2}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["method"], "app");
    assert_eq!(r.body["text_version"], 2);
    assert_eq!(r.body["device_id"], json!(device));
    assert!(
        has_consent(&app.pool, user_id, ConsentKind::Biometric)
            .await
            .unwrap()
    );
    assert!(
        !has_consent(&app.pool, user_id, ConsentKind::Location)
            .await
            .unwrap()
    );

    add_template(&app, user_id).await;
    add_template(&app, user_id).await;
    let other = app
        .create_employee(&admin, common::user_body("boris", Some(dept)))
        .await;
    add_template(&app, other).await;

    // Withdrawal deletes this employee's templates, and only theirs.
    let r = app
        .post(
            "/api/v1/me/consents",
            &user,
            json!({"kind": "biometric", "action": "withdraw"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(templates(&app, user_id).await, 0);
    assert_eq!(templates(&app, other).await, 1);
    assert!(
        !has_consent(&app.pool, user_id, ConsentKind::Biometric)
            .await
            .unwrap()
    );

    // Paper consent recorded by an operator of the department, with the actor.
    app.create_employee(
        &admin,
        json!({"login": "op", "password": common::PASSWORD, "first_name": "O", "last_name": "P",
               "role": "operator", "scope": {"department_ids": [dept], "site_ids": []}}),
    )
    .await;
    let op_pair = app.login("op").await;
    let r = app
        .post(
            &format!("/api/v1/employees/{user_id}/consents"),
            &op_pair.access_token,
            json!({"kind": "biometric", "action": "grant"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["method"], "paper");
    assert_eq!(r.body["actor_id"], json!(op_pair.user.id));
    assert_eq!(r.body["device_id"], json!(null));
    assert!(
        has_consent(&app.pool, user_id, ConsentKind::Biometric)
            .await
            .unwrap()
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'consent.paper'")
            .await,
        1
    );
    // Outside the operator's scope.
    let outsider_dept = app.create_department(&admin, "Elsewhere").await;
    let outsider = app
        .create_employee(&admin, common::user_body("carl", Some(outsider_dept)))
        .await;
    let r = app
        .post(
            &format!("/api/v1/employees/{outsider}/consents"),
            &op_pair.access_token,
            json!({"kind": "biometric", "action": "grant"}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "out_of_scope")
    );

    // The whole history is kept; the state shows the latest per kind.
    let r = app.get("/api/v1/me/consents", &user).await;
    assert_eq!(r.status, StatusCode::OK);
    let history = r.body["history"].as_array().unwrap();
    assert_eq!(history.len(), 3);
    assert_eq!(
        history
            .iter()
            .map(|h| h["action"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["grant", "withdraw", "grant"]
    );
    assert_eq!(r.body["consents"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["consents"][0]["method"], "paper");
    let state: faceid_protocol::consent::ConsentState =
        serde_json::from_value(r.body.clone()).unwrap();
    assert!(state.is_granted(ConsentKind::Biometric));
    let r = app
        .get(&format!("/api/v1/employees/{user_id}/consents"), &admin)
        .await;
    assert_eq!(r.body["history"].as_array().unwrap().len(), 3);
    assert_eq!(app.count("SELECT count(*) FROM consent_records").await, 3);
}

#[sqlx::test(migrations = "./migrations")]
async fn liveness_challenges_are_single_use_and_bound(pool: PgPool) {
    let app = TestApp::new(pool);
    app.bootstrap_admin("root").await;
    let pair = app.login("root").await;
    let admin = pair.access_token.clone();
    let me = pair.user.id;
    let device = pair.user.device_id.unwrap();

    let r = app
        .post("/api/v1/liveness/challenges", &admin, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let c: faceid_protocol::liveness::LivenessChallenge = serde_json::from_value(r.body).unwrap();
    assert!((2..=3).contains(&c.actions.len()));
    assert!(c.actions.windows(2).all(|w| w[0] != w[1]));
    let ttl = c.expires_at - chrono::Utc::now();
    assert!(
        ttl > chrono::Duration::seconds(110) && ttl <= chrono::Duration::seconds(121),
        "{ttl}"
    );

    // Wrong employee or device.
    let other = Uuid::now_v7();
    assert!(matches!(
        consume_challenge(&app.pool, &c.nonce, other, device).await,
        Err(ChallengeError::WrongSubject)
    ));
    assert!(matches!(
        consume_challenge(&app.pool, &c.nonce, me, other).await,
        Err(ChallengeError::WrongSubject)
    ));
    assert!(matches!(
        consume_challenge(&app.pool, "nope", me, device).await,
        Err(ChallengeError::Unknown)
    ));
    // Once, then never again.
    let used = consume_challenge(&app.pool, &c.nonce, me, device)
        .await
        .unwrap();
    assert_eq!(used.actions, c.actions);
    assert_eq!(used.employee_id, Some(me));
    let e = consume_challenge(&app.pool, &c.nonce, me, device)
        .await
        .unwrap_err();
    assert!(matches!(e, ChallengeError::AlreadyUsed));
    assert_eq!(e.code().as_str(), "challenge_used");

    // Expired.
    let c2 = issue(&app.pool, me, device).await.unwrap();
    sqlx::query(
        "UPDATE liveness_challenges SET expires_at = now() - interval '1 second' WHERE nonce = $1",
    )
    .bind(&c2.nonce)
    .execute(&app.pool)
    .await
    .unwrap();
    assert!(matches!(
        consume_challenge(&app.pool, &c2.nonce, me, device).await,
        Err(ChallengeError::Expired)
    ));

    // Concurrent consumers: exactly one wins.
    let c3 = issue(&app.pool, me, device).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let pool = app.pool.clone();
        let nonce = c3.nonce.clone();
        tasks.push(tokio::spawn(async move {
            consume_challenge(&pool, &nonce, me, device).await.is_ok()
        }));
    }
    let mut wins = 0;
    for t in tasks {
        if t.await.unwrap() {
            wins += 1;
        }
    }
    assert_eq!(wins, 1);
}
