//! Login, refresh-token rotation and family revocation, legacy bcrypt, rate limiting, devices.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{PASSWORD, TestApp};
use faceid_protocol::auth::TokenPair;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

async fn refresh(app: &TestApp, token: &str) -> common::Resp {
    app.call(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": token})),
    )
    .await
}

#[sqlx::test(migrations = "./migrations")]
async fn login_answers_tokens_user_and_server_time(pool: PgPool) {
    let app = TestApp::new(pool);
    let id = app.bootstrap_admin("Root").await;
    let device = Uuid::new_v4();
    // Logins are case-insensitive.
    let r = app.login_on("root", PASSWORD, device).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let pair: TokenPair = serde_json::from_value(r.body).unwrap();
    assert_eq!(pair.user.id, id);
    assert_eq!(pair.user.login, "Root");
    assert_eq!(pair.user.device_id, Some(device));
    let ttl = pair.access_expires_at - pair.server_time;
    assert!((890..=900).contains(&ttl.num_seconds()), "{ttl}");
    let rttl = pair.refresh_expires_at - pair.server_time;
    assert_eq!(rttl.num_days(), 30);
    let me = app.get("/api/v1/me", &pair.access_token).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["role"], "admin");
    // The refresh token is stored only as a hash.
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM refresh_tokens WHERE token_hash = $1")
            .bind(pair.refresh_token.as_bytes())
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stored, 0);
    // The device registered itself.
    let dev = app
        .get(&format!("/api/v1/devices/{device}"), &pair.access_token)
        .await;
    assert_eq!(dev.status, StatusCode::OK);
    assert_eq!(dev.body["name"], "Pixel 8");
    assert_eq!(dev.body["last_employee_id"], id.to_string());
}

#[sqlx::test(migrations = "./migrations")]
async fn refresh_rotates_and_reuse_revokes_the_family(pool: PgPool) {
    let app = TestApp::new(pool);
    app.bootstrap_admin("root").await;
    let first = app.login("root").await;
    let other_session = app.login("root").await;

    let r = refresh(&app, &first.refresh_token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let second: TokenPair = serde_json::from_value(r.body).unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    let r = refresh(&app, &second.refresh_token).await;
    assert_eq!(r.status, StatusCode::OK);
    let third: TokenPair = serde_json::from_value(r.body).unwrap();
    assert_eq!(
        app.get("/api/v1/me", &third.access_token).await.status,
        StatusCode::OK
    );

    // Someone replays the first (already rotated) token: the whole family dies.
    let r = refresh(&app, &first.refresh_token).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "refresh_token_reused")
    );
    let r = refresh(&app, &third.refresh_token).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "session_revoked")
    );
    let r = app.get("/api/v1/me", &third.access_token).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "session_revoked")
    );
    let r = app.get("/api/v1/me", &second.access_token).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Another login of the same account is a different family and lives on.
    assert_eq!(
        app.get("/api/v1/me", &other_session.access_token)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        refresh(&app, &other_session.refresh_token).await.status,
        StatusCode::OK
    );

    // Garbage tokens.
    let r = refresh(&app, "not-a-token").await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "invalid_refresh_token")
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn logout_ends_the_session(pool: PgPool) {
    let app = TestApp::new(pool);
    app.bootstrap_admin("root").await;
    let pair = app.login("root").await;
    let r = app
        .call(
            Method::POST,
            "/api/v1/auth/logout",
            None,
            Some(json!({"refresh_token": pair.refresh_token})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/v1/me", &pair.access_token).await.status,
        StatusCode::UNAUTHORIZED
    );
    let r = refresh(&app, &pair.refresh_token).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[sqlx::test(migrations = "./migrations")]
async fn expired_refresh_token_is_refused(pool: PgPool) {
    let app = TestApp::new(pool);
    app.bootstrap_admin("root").await;
    let pair = app.login("root").await;
    sqlx::query("UPDATE refresh_tokens SET expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    let r = refresh(&app, &pair.refresh_token).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "invalid_refresh_token")
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn legacy_bcrypt_hash_logs_in_and_is_rehashed(pool: PgPool) {
    let app = TestApp::new(pool);
    let id = app.bootstrap_admin("legacy").await;
    for prefix in ["$2y$", "$2a$", "$2b$"] {
        let h = bcrypt::hash("old-system-pass", 4).unwrap();
        let h = format!("{prefix}{}", &h[4..]);
        sqlx::query("UPDATE employees SET password_hash = $2 WHERE id = $1")
            .bind(id)
            .bind(&h)
            .execute(&app.pool)
            .await
            .unwrap();
        let r = app.login_on("legacy", "wrong", Uuid::new_v4()).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{prefix}");
        let r = app
            .login_on("legacy", "old-system-pass", Uuid::new_v4())
            .await;
        assert_eq!(r.status, StatusCode::OK, "{prefix}: {}", r.body);
        let stored: String =
            sqlx::query_scalar("SELECT password_hash FROM employees WHERE id = $1")
                .bind(id)
                .fetch_one(&app.pool)
                .await
                .unwrap();
        assert!(stored.starts_with("$argon2id$"), "{prefix}: {stored}");
        // The new hash works.
        let r = app
            .login_on("legacy", "old-system-pass", Uuid::new_v4())
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn login_rate_limit_per_login_and_per_address(pool: PgPool) {
    let mut settings = common::settings();
    settings.login_max_failures = 3;
    settings.login_max_accounts_per_address = 3;
    let app = TestApp::with_settings(pool, settings);
    app.bootstrap_admin("root").await;
    let body = |login: &str, pw: &str| {
        json!({"login": login, "password": pw,
               "device": {"id": Uuid::new_v4(), "name": "P", "platform": "web", "app_version": "1"}})
    };
    // Unknown user and wrong password answer the same.
    let unknown = app
        .call_from(
            "10.0.0.1",
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(body("ghost", "x")),
        )
        .await;
    let wrong = app
        .call_from(
            "10.0.0.2",
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(body("root", "x")),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.body, wrong.body);
    // Per login: failures from different addresses add up.
    for addr in ["10.0.0.3", "10.0.0.4"] {
        let r = app
            .call_from(
                addr,
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(body("root", "x")),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = app
        .call_from(
            "10.0.0.5",
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(body("root", PASSWORD)),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    // The window passes: the login works again and the counter resets.
    sqlx::query("UPDATE login_failures SET at = at - interval '16 minutes'")
        .execute(&app.pool)
        .await
        .unwrap();
    let r = app
        .call_from(
            "10.0.0.5",
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(body("root", PASSWORD)),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // Per address: one address guessing many logins gets 429 for its wrong passwords, but a
    // correct password of a login that is not itself limited still logs in.
    for login in ["a1", "a2", "a3"] {
        let r = app
            .call_from(
                "10.9.9.9",
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(body(login, "x")),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = app
        .call_from(
            "10.9.9.9",
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(body("a4", "x")),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    assert!(r.headers.contains_key("retry-after"));
    let r = app
        .call_from(
            "10.9.9.9",
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(body("root", PASSWORD)),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// Issue 17 case 8: one office, one address. One person's typos lock only that person; the
/// address limit counts distinct logins, and never stops a correct password of a login that
/// is not itself limited.
#[sqlx::test(migrations = "./migrations")]
async fn one_office_behind_one_address(pool: PgPool) {
    let mut settings = common::settings();
    settings.login_max_failures = 3;
    settings.login_max_accounts_per_address = 5;
    let app = TestApp::with_settings(pool, settings);
    app.bootstrap_admin("root").await;
    let admin = app.login("root").await.access_token;
    for login in ["anna", "boris", "vera"] {
        app.create_employee(&admin, common::user_body(login, None))
            .await;
    }
    let office = "203.0.113.7";
    let try_login = |addr: &'static str, login: &'static str, pw: &'static str| {
        let app = &app;
        async move {
            let r = app
                .call_from(
                    addr,
                    Method::POST,
                    "/api/v1/auth/login",
                    None,
                    Some(json!({"login": login, "password": pw,
                        "device": {"id": Uuid::new_v4(), "name": "P", "platform": "web", "app_version": "1"}})),
                )
                .await;
            (r.status.as_u16(), r.code().to_owned())
        }
    };
    let limited = (429, "rate_limited".to_owned());
    let ok = (200, String::new());
    let wrong = (401, "invalid_credentials".to_owned());
    // Anna mistypes her password ten times: three are typos, then she is limited.
    for i in 0..10 {
        let r = try_login(office, "anna", "typo").await;
        assert_eq!(
            r,
            if i < 3 {
                wrong.clone()
            } else {
                limited.clone()
            },
            "try {i}"
        );
    }
    // Anna herself stays limited, with the right password and from anywhere.
    assert_eq!(try_login(office, "anna", PASSWORD).await, limited);
    assert_eq!(try_login("198.51.100.1", "anna", PASSWORD).await, limited);
    // Everyone else behind the office's address logs in; a typo is a typo.
    assert_eq!(try_login(office, "boris", PASSWORD).await, ok);
    assert_eq!(try_login(office, "vera", PASSWORD).await, ok);
    assert_eq!(try_login(office, "boris", "typo").await, wrong);
    // A password spray from the same address: anna, boris and three guessed logins make five
    // distinct failing logins; from then on its wrong passwords are answered 429...
    for login in ["ghost1", "ghost2", "ghost3"] {
        assert_eq!(
            try_login(office, login, "Summer2026").await,
            wrong,
            "{login}"
        );
    }
    assert_eq!(try_login(office, "ghost4", "Summer2026").await, limited);
    assert_eq!(try_login(office, "vera", "typo").await, limited);
    // ...while a correct password of a login that is not limited still works there, and the
    // address limit does not follow the logins elsewhere.
    assert_eq!(try_login(office, "vera", PASSWORD).await, ok);
    assert_eq!(try_login("198.51.100.1", "boris", "typo").await, wrong);
}

#[sqlx::test(migrations = "./migrations")]
async fn allowed_devices_and_blocking(pool: PgPool) {
    let app = TestApp::new(pool);
    app.bootstrap_admin("root").await;
    let admin = app.login("root").await.access_token;
    let user = app
        .create_employee(&admin, common::user_body("worker", None))
        .await;
    let phone = Uuid::new_v4();
    let other = Uuid::new_v4();
    let r = app.login_on("worker", PASSWORD, phone).await;
    assert_eq!(r.status, StatusCode::OK);
    let on_phone: TokenPair = serde_json::from_value(r.body).unwrap();
    let r = app.login_on("worker", PASSWORD, other).await;
    let on_other: TokenPair = serde_json::from_value(r.body).unwrap();

    // Restrict to the phone: the other device's session ends and it cannot log in.
    let r = app
        .patch(
            &format!("/api/v1/employees/{user}"),
            &admin,
            json!({"allowed_device_ids": [phone]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["allowed_device_ids"], json!([phone]));
    assert_eq!(
        app.get("/api/v1/me", &on_other.access_token).await.status,
        StatusCode::UNAUTHORIZED
    );
    let r = app.login_on("worker", PASSWORD, other).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "device_not_allowed")
    );
    let r = app.login_on("worker", PASSWORD, Uuid::new_v4()).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "device_not_allowed")
    );
    assert_eq!(
        app.get("/api/v1/me", &on_phone.access_token).await.status,
        StatusCode::OK
    );

    // Block the phone: requests, refreshes and logins from it are refused; unblock restores.
    let r = app
        .call(
            Method::POST,
            &format!("/api/v1/devices/{phone}/block"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.body["blocked"], true);
    let r = app.get("/api/v1/me", &on_phone.access_token).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "device_blocked")
    );
    let r = refresh(&app, &on_phone.refresh_token).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "device_blocked")
    );
    let r = app.login_on("worker", PASSWORD, phone).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "device_blocked")
    );
    app.call(
        Method::POST,
        &format!("/api/v1/devices/{phone}/unblock"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(
        app.get("/api/v1/me", &on_phone.access_token).await.status,
        StatusCode::OK
    );

    // Filter devices by employee.
    let r = app
        .get(&format!("/api/v1/devices?employee_id={user}"), &admin)
        .await;
    assert_eq!(r.body["total"], 2, "{}", r.body);
}

#[sqlx::test(migrations = "./migrations")]
async fn kiosk_credential_works_until_rotated_or_blocked(pool: PgPool) {
    let app = TestApp::new(pool);
    app.bootstrap_admin("root").await;
    let admin = app.login("root").await.access_token;
    let site = app.create_site(&admin, "Entrance").await;
    let r = app
        .post(
            "/api/v1/devices",
            &admin,
            json!({"name": "Lobby", "site_id": site}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let cred = r.body["credential"].as_str().unwrap().to_owned();
    let id = r.body["device"]["id"].as_str().unwrap().to_owned();
    assert!(cred.starts_with("fidk_"));
    let me = app.get("/api/v1/kiosk/me", &cred).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["kind"], "kiosk");
    assert_eq!(me.body["site_id"], site.to_string());
    // A kiosk cannot be used as a phone login device.
    let r = app.login_on("root", PASSWORD, id.parse().unwrap()).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "device_not_allowed")
    );
    let r = app
        .call(
            Method::POST,
            &format!("/api/v1/devices/{id}/credential"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let new_cred = r.body["credential"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get("/api/v1/kiosk/me", &cred).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/api/v1/kiosk/me", &new_cred).await.status,
        StatusCode::OK
    );
    app.call(
        Method::POST,
        &format!("/api/v1/devices/{id}/block"),
        Some(&admin),
        None,
    )
    .await;
    let r = app.get("/api/v1/kiosk/me", &new_cred).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "device_blocked")
    );
}

/// A kiosk-mode request carried by the `faceid_kiosk` cookie (no `Authorization`).
async fn by_kiosk_cookie(
    app: &TestApp,
    method: Method,
    path: &str,
    cookie: &str,
    csrf: bool,
    body: Option<serde_json::Value>,
) -> common::Resp {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header(header::COOKIE, format!("theme=dark; faceid_kiosk={cookie}"));
    if csrf {
        b = b.header("x-faceid-csrf", "1");
    }
    let body = match body {
        Some(v) => {
            b = b.header(header::CONTENT_TYPE, "application/json");
            Body::from(serde_json::to_vec(&v).unwrap())
        }
        None => Body::empty(),
    };
    app.raw(b.body(body).unwrap()).await
}

#[sqlx::test(migrations = "./migrations")]
async fn leaving_kiosk_mode_needs_the_pin_and_wrong_pins_lock_the_check(pool: PgPool) {
    let app = TestApp::new(pool);
    app.bootstrap_admin("root").await;
    let admin = app.login("root").await.access_token;
    let r = app
        .post("/api/v1/devices", &admin, json!({"name": "Lobby"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let cred = r.body["credential"].as_str().unwrap().to_owned();
    let id = r.body["device"]["id"].as_str().unwrap().to_owned();
    let exit = |pin: &'static str| {
        let cred = cred.clone();
        let app = &app;
        async move {
            app.call(
                Method::POST,
                "/api/v1/kiosk/exit",
                Some(&cred),
                Some(json!({"pin": pin})),
            )
            .await
        }
    };

    // Kiosk mode in a browser: the credential goes into an HttpOnly cookie for the kiosk
    // paths, which then works without `Authorization`, but only with the CSRF header.
    let r = app
        .call(Method::POST, "/api/v1/kiosk/session", Some(&cred), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let cookie = r.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap();
    assert!(
        cookie.starts_with(&format!("faceid_kiosk={cred};")),
        "{cookie}"
    );
    for attr in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/api/v1/kiosk;",
    ] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    let me = by_kiosk_cookie(&app, Method::GET, "/api/v1/kiosk/me", &cred, true, None).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.body["id"], id.as_str());
    let r = by_kiosk_cookie(&app, Method::GET, "/api/v1/kiosk/me", &cred, false, None).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "csrf_check_failed")
    );
    // The cookie carries a kiosk credential only: an employee's token in it is not one.
    let r = by_kiosk_cookie(&app, Method::GET, "/api/v1/me", &admin, true, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);

    // Without a PIN, kiosk mode cannot be left from the tablet.
    let r = exit("1234").await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "kiosk_pin_not_set")
    );

    // An administrator sets the PIN (digits only), audited without it.
    let pin_path = format!("/api/v1/devices/{id}/kiosk-pin");
    for bad in ["12", "12ab", "1234567890123"] {
        let r = app
            .call(
                Method::PUT,
                &pin_path,
                Some(&admin),
                Some(json!({"pin": bad})),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            r.body
        );
        assert_eq!(r.body["errors"][0]["field"], "pin");
    }
    let r = app
        .call(
            Method::PUT,
            &pin_path,
            Some(&admin),
            Some(json!({"pin": "2468"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let audit: serde_json::Value =
        sqlx::query_scalar("SELECT after FROM audit_log WHERE action = 'device.set_kiosk_pin'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(audit, json!({"pin_set": true}));

    // A wrong PIN: refused, attempts counted down; the right one (by the cookie, as the
    // kiosk page sends it) leaves and clears the cookie, and the count starts again.
    let r = exit("1111").await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "wrong_pin"));
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("4 attempts left"),
        "{}",
        r.body
    );
    let r = by_kiosk_cookie(
        &app,
        Method::POST,
        "/api/v1/kiosk/exit",
        &cred,
        true,
        Some(json!({"pin": "2468"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let cleared = r.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap();
    assert!(
        cleared.starts_with("faceid_kiosk=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    let r = exit("1111").await;
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("4 attempts left"),
        "{}",
        r.body
    );

    // Five wrong PINs in a row lock the check: 429 with Retry-After, even for the right PIN.
    for _ in 0..3 {
        assert_eq!(exit("1111").await.code(), "wrong_pin");
    }
    let r = exit("1111").await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    let r = exit("2468").await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    let retry: u64 = r.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&retry), "{retry}");
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'kiosk.pin_locked'")
            .await,
        1
    );
    // When the lock has run out (moved into the past here), the right PIN works again.
    sqlx::query("UPDATE devices SET kiosk_pin_locked_until = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(exit("2468").await.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'kiosk.exit'")
            .await,
        2
    );
    // Only kiosks have a PIN.
    let r = app
        .call(
            Method::PUT,
            &format!("/api/v1/devices/{}/kiosk-pin", Uuid::now_v7()),
            Some(&admin),
            Some(json!({"pin": "2468"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrations = "./migrations")]
async fn an_admin_cannot_block_the_device_of_their_own_session(pool: PgPool) {
    let app = TestApp::new(pool);
    app.bootstrap_admin("root").await;
    let laptop = Uuid::new_v4();
    let r = app.login_on("root", PASSWORD, laptop).await;
    let admin = r.body["access_token"].as_str().unwrap().to_owned();
    let r = app
        .call(
            Method::POST,
            &format!("/api/v1/devices/{laptop}/block"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "own_device"));
    // Still signed in, and the device is not blocked.
    assert_eq!(app.get("/api/v1/me", &admin).await.status, StatusCode::OK);
    let r = app.get(&format!("/api/v1/devices/{laptop}"), &admin).await;
    assert_eq!(r.body["blocked"], false, "{}", r.body);
    // The same administrator's other device can be blocked (a lost phone).
    let phone = Uuid::new_v4();
    assert_eq!(
        app.login_on("root", PASSWORD, phone).await.status,
        StatusCode::OK
    );
    let r = app
        .call(
            Method::POST,
            &format!("/api/v1/devices/{phone}/block"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.body["blocked"], true, "{}", r.body);
}

#[sqlx::test(migrations = "./migrations")]
async fn dismissal_blocks_login_and_revokes_tokens_rehire_restores(pool: PgPool) {
    let app = TestApp::new(pool);
    app.bootstrap_admin("root").await;
    let admin = app.login("root").await.access_token;
    let id = app
        .create_employee(&admin, common::user_body("leaver", None))
        .await;
    let pair = app.login("leaver").await;
    let r = app
        .call(
            Method::POST,
            &format!("/api/v1/employees/{id}/dismiss"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.body["status"], "dismissed");
    assert!(r.body["dismissed_at"].is_string());
    let r = app.get("/api/v1/me", &pair.access_token).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "account_disabled")
    );
    assert_eq!(
        refresh(&app, &pair.refresh_token).await.status,
        StatusCode::UNAUTHORIZED
    );
    let r = app.login_on("leaver", PASSWORD, Uuid::new_v4()).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "account_disabled")
    );
    // Wrong password of a dismissed account looks like any wrong password.
    let r = app.login_on("leaver", "nope-nope", Uuid::new_v4()).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "invalid_credentials")
    );
    // Data is kept.
    assert_eq!(
        app.get(&format!("/api/v1/employees/{id}"), &admin)
            .await
            .status,
        StatusCode::OK
    );
    let r = app
        .call(
            Method::POST,
            &format!("/api/v1/employees/{id}/rehire"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.body["status"], "active");
    assert_eq!(
        app.login_on("leaver", PASSWORD, Uuid::new_v4())
            .await
            .status,
        StatusCode::OK
    );
    // The old session stays dead.
    assert_eq!(
        app.get("/api/v1/me", &pair.access_token).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn password_change_and_reset(pool: PgPool) {
    let app = TestApp::new(pool);
    app.bootstrap_admin("root").await;
    let admin = app.login("root").await.access_token;
    let id = app
        .create_employee(&admin, common::user_body("worker", None))
        .await;
    let a = app.login("worker").await;
    let b = app.login("worker").await;
    let r = app
        .post(
            "/api/v1/me/password",
            &a.access_token,
            json!({"current_password": "wrong", "new_password": "new-password-1"}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "wrong_password")
    );
    let r = app
        .post(
            "/api/v1/me/password",
            &a.access_token,
            json!({"current_password": PASSWORD, "new_password": "short"}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let r = app
        .post(
            "/api/v1/me/password",
            &a.access_token,
            json!({"current_password": PASSWORD, "new_password": "new-password-1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // The current session lives, the other ends.
    assert_eq!(
        app.get("/api/v1/me", &a.access_token).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/v1/me", &b.access_token).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login_on("worker", PASSWORD, Uuid::new_v4())
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login_on("worker", "new-password-1", Uuid::new_v4())
            .await
            .status,
        StatusCode::OK
    );
    // Admin reset ends every session.
    let r = app
        .post(
            &format!("/api/v1/employees/{id}/password"),
            &admin,
            json!({"new_password": "reset-password-2"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/v1/me", &a.access_token).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login_on("worker", "reset-password-2", Uuid::new_v4())
            .await
            .status,
        StatusCode::OK
    );
}

/// A password an administrator chose (a new account, a reset) must be changed by its holder:
/// login, refresh and `/me` say so, and every other endpoint answers 403
/// `password_change_required`, until the holder's own change clears it.
#[sqlx::test(migrations = "./migrations")]
async fn must_change_password_after_creation_and_reset(pool: PgPool) {
    let app = TestApp::new(pool);
    app.bootstrap_admin("root").await;
    let root = app.login("root").await;
    // The administrator of `admin create` chose their own password.
    assert!(!root.user.must_change_password);
    let admin = root.access_token;
    let id = app
        .create_employee(
            &admin,
            json!({"login": "worker", "password": PASSWORD, "first_name": "Ivan",
                   "last_name": "Worker", "role": "user", "must_change_password": true}),
        )
        .await;
    let first = app.login("worker").await;
    assert!(first.user.must_change_password);
    // Until the change, everything else is refused with a typed 403.
    for (method, path) in [
        (Method::GET, "/api/v1/me/attendance"),
        (Method::GET, "/api/v1/me/consents"),
        (Method::POST, "/api/v1/liveness/challenges"),
        (Method::GET, "/api/v1/me/tracking-policy"),
    ] {
        let r = app
            .call(method.clone(), path, Some(&first.access_token), None)
            .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::FORBIDDEN, "password_change_required"),
            "{method} {path}: {}",
            r.body
        );
    }
    assert_eq!(
        app.count("SELECT count(*) FROM liveness_challenges").await,
        0,
        "nothing was done for the refused calls"
    );
    let me = app.get("/api/v1/me", &first.access_token).await;
    assert_eq!(me.body["must_change_password"], true);
    let r = refresh(&app, &first.refresh_token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["user"]["must_change_password"], true);
    let access = r.body["access_token"].as_str().unwrap().to_owned();
    let r = app
        .post(
            "/api/v1/me/password",
            &access,
            json!({"current_password": PASSWORD, "new_password": "my-own-password-1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/v1/me", &access).await.body["must_change_password"],
        false
    );
    // After the change, the same calls work.
    assert_eq!(
        app.get("/api/v1/me/attendance", &access).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.call(
            Method::POST,
            "/api/v1/liveness/challenges",
            Some(&access),
            None
        )
        .await
        .status,
        StatusCode::CREATED
    );
    let again: TokenPair = serde_json::from_value(
        app.login_on("worker", "my-own-password-1", Uuid::new_v4())
            .await
            .body,
    )
    .unwrap();
    assert!(!again.user.must_change_password);
    // A reset by an administrator sets it again.
    let r = app
        .post(
            &format!("/api/v1/employees/{id}/password"),
            &admin,
            json!({"new_password": "reset-password-2"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let reset: TokenPair = serde_json::from_value(
        app.login_on("worker", "reset-password-2", Uuid::new_v4())
            .await
            .body,
    )
    .unwrap();
    assert!(reset.user.must_change_password);
    // Refused again until the holder changes it; the administrator is not held up.
    let r = app.get("/api/v1/me/attendance", &reset.access_token).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "password_change_required")
    );
    assert_eq!(
        app.get("/api/v1/employees", &admin).await.status,
        StatusCode::OK
    );
    // An account created without the flag (the holder chose the password) is not held up.
    app.create_employee(
        &admin,
        json!({"login": "chose", "password": PASSWORD, "first_name": "Ivan",
               "last_name": "Chose", "role": "user", "must_change_password": false}),
    )
    .await;
    let chose = app.login("chose").await;
    assert!(!chose.user.must_change_password);
    assert_eq!(
        app.get("/api/v1/me/attendance", &chose.access_token)
            .await
            .status,
        StatusCode::OK
    );
}
