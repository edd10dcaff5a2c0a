//! The Telegram bot end to end against the fake Bot API (tests/common/fake_telegram.rs) and
//! the real PostgreSQL: linking, punch notifications exactly once (also when the server dies
//! between commit and send), 429s, blocked and lost chats, operator scope, and updates
//! neither lost nor repeated across a restart.

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use chrono::Utc;
use common::fake_telegram;
use common::telegram_bot::{Bot, bot, bot_with};
use common::{TestApp, user_body};
use faceid_server::jobs::{Worker, WorkerConfig};
use serde_json::json;
use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

#[sqlx::test(migrations = "./migrations")]
async fn without_a_token_telegram_is_not_configured(pool: PgPool) {
    let app = TestApp::new(pool);
    app.bootstrap_admin("root").await;
    let admin = app.login("root").await.access_token;
    for (m, path) in [
        (Method::GET, "/api/v1/me/telegram"),
        (Method::DELETE, "/api/v1/me/telegram"),
        (Method::GET, "/api/v1/integrations/telegram"),
        (Method::GET, "/api/v1/integrations/telegram/log"),
    ] {
        let r = app.call(m.clone(), path, Some(&admin), None).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::NOT_FOUND, "telegram_not_configured"),
            "{m} {path}"
        );
    }
    let r = app
        .post("/api/v1/me/telegram/link", &admin, json!({}))
        .await;
    assert_eq!(r.code(), "telegram_not_configured");
}

#[sqlx::test(migrations = "./migrations")]
async fn linking_end_to_end_with_refusals_and_stop(pool: PgPool) {
    let b = bot(pool).await;
    let id = b
        .app
        .create_employee(&b.admin, user_body("ivan", None))
        .await;
    let token = b.app.login("ivan").await.access_token;

    // No consent yet: no link.
    let r = b
        .app
        .post("/api/v1/me/telegram/link", &token, json!({}))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "telegram_consent_required")
    );
    b.consent(&token).await;
    let r = b
        .app
        .post(
            "/api/v1/me/telegram/link",
            &token,
            json!({"language": "en"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let code = r.body["code"].as_str().unwrap().to_owned();
    assert_eq!(
        r.body["url"],
        format!("https://t.me/{}?start={code}", fake_telegram::BOT_USERNAME)
    );
    assert!(code.len() <= 64 && code.bytes().all(|c| c.is_ascii_alphanumeric()));
    let r = b.app.get("/api/v1/me/telegram", &token).await;
    assert_eq!(r.body["linked"], false);
    assert_eq!(r.body["bot_username"], fake_telegram::BOT_USERNAME);

    // The real poller picks up /start <code>.
    let (stop, stopped) = watch::channel(false);
    let poller = tokio::spawn(faceid_server::telegram::updates::run(b.tg.clone(), stopped));
    b.fake.inject(555, &format!("/start {code}"), Some("ru"));
    for _ in 0..200 {
        if b.app.get("/api/v1/me/telegram", &token).await.body["linked"] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    stop.send(true).unwrap();
    poller.await.unwrap();
    b.drain().await;
    let r = b.app.get("/api/v1/me/telegram", &token).await;
    assert_eq!(r.body["linked"], true, "{}", r.body);
    assert_eq!(r.body["language"], "en");
    assert_eq!(r.body["telegram_username"], "user555");
    // Answered in the employee's language (chosen when the link was made), not Telegram's.
    assert_eq!(
        b.fake.sent_to(555),
        vec![
            "Done: this chat is now linked to Ivan ivan. Punch notifications will arrive here. To stop: /stop"
        ]
    );
    let chat: i64 = sqlx::query_scalar("SELECT chat_id FROM telegram_links WHERE employee_id = $1")
        .bind(id)
        .fetch_one(&b.app.pool)
        .await
        .unwrap();
    assert_eq!(chat, 555);

    // The same code again, from another chat: a polite refusal, nothing linked.
    b.fake.inject(556, &format!("/start {code}"), None);
    // An unknown code, and an expired one.
    b.fake.inject(557, "/start nosuchcode", Some("en"));
    let old_code = b.link_code(&token, "tg").await;
    sqlx::query("UPDATE telegram_link_codes SET expires_at = now() - interval '1 minute' WHERE used_at IS NULL")
        .execute(&b.app.pool)
        .await
        .unwrap();
    b.fake.inject(558, &format!("/start {old_code}"), None);
    b.poll_once().await;
    b.drain().await;
    assert_eq!(
        b.fake.sent_to(556),
        vec!["This link has already been used. Please get a new one in the FaceID app."]
    );
    assert!(b.fake.sent_to(557)[0].starts_with("This link was not recognised"));
    assert!(b.fake.sent_to(558)[0].starts_with("Мӯҳлати пайванд гузаштааст"));
    let links: i64 = sqlx::query_scalar("SELECT count(*) FROM telegram_links")
        .fetch_one(&b.app.pool)
        .await
        .unwrap();
    assert_eq!(links, 1);

    // /stop in the chat unlinks.
    b.fake.inject(555, "/stop", None);
    b.poll_once().await;
    b.drain().await;
    assert_eq!(
        b.fake.sent_to(555).last().unwrap(),
        "This chat is unlinked; no more notifications."
    );
    let r = b.app.get("/api/v1/me/telegram", &token).await;
    assert_eq!(r.body["linked"], false);

    // Linking again, then withdrawing the consent unlinks too.
    b.link(&token, 555, "ru").await;
    let r = b
        .app
        .post(
            "/api/v1/me/consents",
            &token,
            json!({"kind": "telegram", "action": "withdraw"}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let r = b.app.get("/api/v1/me/telegram", &token).await;
    assert_eq!(r.body["linked"], false);
    // And DELETE unlinks as well.
    b.consent(&token).await;
    b.link(&token, 555, "ru").await;
    let r = b
        .app
        .call(Method::DELETE, "/api/v1/me/telegram", Some(&token), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        b.app.get("/api/v1/me/telegram", &token).await.body["linked"],
        false
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_punch_yields_exactly_one_message_even_if_the_server_dies(pool: PgPool) {
    let b = bot(pool).await;
    let (id, token) = b.employee("ivan", None).await;
    b.link(&token, 700, "en").await;
    let before = b.fake.sent_to(700).len();

    // 1. Killed after the punch committed, before anything was sent: the job is there.
    b.punch(id, "in", "verified", &[]).await;
    let queued: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM jobs WHERE kind = 'telegram.punch' AND state = 'queued'",
    )
    .fetch_one(&b.app.pool)
    .await
    .unwrap();
    assert_eq!(queued, 1);
    // 2. A worker claims it and dies (no release): its lease runs out (here: is moved back).
    let dying = Worker::new(
        b.app.pool.clone(),
        faceid_server::job_registry(&b.app.state, 90),
        WorkerConfig::default(),
    );
    assert_eq!(dying.claim(10).await.unwrap().len(), 1);
    sqlx::query(
        "UPDATE jobs SET locked_until = now() - interval '1 second' WHERE state = 'running'",
    )
    .execute(&b.app.pool)
    .await
    .unwrap();
    // 3. Another worker takes over.
    b.drain().await;
    let receipts: Vec<String> = b.fake.sent_to(700)[before..].to_vec();
    assert_eq!(receipts.len(), 1, "{receipts:?}");
    assert!(receipts[0].starts_with("Check-in "), "{}", receipts[0]);
    assert!(receipts[0].ends_with(": verified"), "{}", receipts[0]);

    // 4. The send went out but the server died before the job was marked done: the job
    //    runs again and the delivery record stops a second message.
    sqlx::query("UPDATE jobs SET state = 'queued', run_at = now(), finished_at = NULL WHERE kind = 'telegram.send'")
        .execute(&b.app.pool)
        .await
        .unwrap();
    b.drain().await;
    assert_eq!(b.fake.sent_to(700).len(), before + 1);
    let delivered: Vec<(String, String)> =
        sqlx::query_as("SELECT key, state FROM telegram_deliveries WHERE key LIKE 'punch:%'")
            .fetch_all(&b.app.pool)
            .await
            .unwrap();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].1, "sent");

    // A flagged punch tells the reason; switching receipts off silences verified ones only.
    let r = b
        .app
        .patch("/api/v1/me/telegram", &token, json!({"punches": false}))
        .await;
    assert_eq!(r.body["notifications"]["punches"], false, "{}", r.body);
    b.punch(id, "out", "verified", &[]).await;
    b.punch(id, "out", "rejected", &["outside_geofence"]).await;
    b.drain().await;
    let last: Vec<String> = b.fake.sent_to(700)[before + 1..].to_vec();
    assert_eq!(last.len(), 1, "only the rejected punch is told: {last:?}");
    assert!(
        last[0].contains("rejected\nReason: outside the site's area"),
        "{}",
        last[0]
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn flagged_punches_reach_staff_in_scope_only(pool: PgPool) {
    let b = bot(pool).await;
    let dept_a = b.app.create_department(&b.admin, "Kitchen").await;
    let dept_b = b.app.create_department(&b.admin, "Bar").await;
    for (login, dept) in [("op_a", dept_a), ("op_b", dept_b)] {
        b.app
            .create_employee(
                &b.admin,
                json!({"login": login, "password": common::PASSWORD, "first_name": "Olga",
                       "last_name": login, "role": "operator",
                       "scope": {"department_ids": [dept], "site_ids": []}}),
            )
            .await;
    }
    let op_a = b.app.login("op_a").await.access_token;
    let op_b = b.app.login("op_b").await.access_token;
    for (t, chat, lang) in [(&op_a, 801, "ru"), (&op_b, 802, "en")] {
        b.consent(t).await;
        b.link(t, chat, lang).await;
    }
    let admin = b.admin.clone();
    b.consent(&admin).await;
    b.link(&admin, 800, "en").await;
    let (worker, _) = b.employee("cook", Some(dept_a)).await;
    let counts = |b: &Bot| [800, 801, 802].map(|c| b.fake.sent_to(c).len());
    let before = counts(&b);

    b.punch(worker, "in", "flagged", &["accuracy_too_low"])
        .await;
    b.punch(worker, "in", "verified", &[]).await;
    b.drain().await;
    let after = counts(&b);
    assert_eq!(
        [
            after[0] - before[0],
            after[1] - before[1],
            after[2] - before[2]
        ],
        [1, 1, 0],
        "admin and the operator of the kitchen, not the bar's operator"
    );
    let alert = b.fake.sent_to(801).last().unwrap().clone();
    assert!(
        alert.starts_with("Отметка ждёт проверки: Ivan cook"),
        "{alert}"
    );
    assert!(alert.contains("низкая точность GPS"), "{alert}");
    assert!(
        b.fake
            .sent_to(800)
            .last()
            .unwrap()
            .starts_with("A punch waits for review: Ivan cook")
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn rate_limits_429_and_server_errors_are_respected(pool: PgPool) {
    let b = bot(pool).await;
    let (id, token) = b.employee("ivan", None).await;
    b.link(&token, 900, "en").await;

    // Three 429s with retry_after = 1, then a 502: the message still arrives once, and no
    // call was made before the retry_after of the 429 before it had passed.
    b.fake.force_429(3, 1);
    b.punch(id, "in", "verified", &[]).await;
    b.drain().await;
    b.fake.force_5xx(1);
    b.punch(id, "out", "verified", &[]).await;
    b.drain().await;
    let calls: Vec<_> = b
        .fake
        .calls()
        .into_iter()
        .filter(|c| c.chat_id == 900)
        .collect();
    let statuses: Vec<u16> = calls.iter().map(|c| c.status).collect();
    assert_eq!(&statuses[statuses.len() - 5..], &[429, 429, 429, 200, 200]);
    for w in calls.windows(2) {
        if w[0].status == 429 {
            assert!(
                w[1].at.duration_since(w[0].at) >= Duration::from_secs(1),
                "a call came before retry_after had passed"
            );
        }
    }
    let texts = b.fake.sent_to(900);
    assert_eq!(texts.len(), 3, "the link reply and two receipts: {texts:?}");
    // Every call is in the administrators' log, the 429s with their retry_after.
    let r = b
        .app
        .get(
            "/api/v1/integrations/telegram/log?errors_only=true",
            &b.admin,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(
        items
            .iter()
            .filter(|i| i["error_code"] == 429 && i["retry_after"] == 1)
            .count(),
        3
    );
    assert!(
        items
            .iter()
            .any(|i| i["description"].as_str().unwrap_or("").contains("502"))
    );
    assert!(
        !r.body.to_string().contains(fake_telegram::TOKEN),
        "the token never appears in the log"
    );
    // The limiter spaced the messages itself: the fake's own per-chat and global limits
    // never had to refuse one.
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 3);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_blocked_bot_unlinks_and_a_lost_chat_breaks_the_link(pool: PgPool) {
    let b = bot(pool).await;
    let (id, token) = b.employee("ivan", None).await;
    let (id2, token2) = b.employee("petr", None).await;
    b.link(&token, 1001, "en").await;
    b.link(&token2, 1002, "en").await;
    b.fake.block(1001);
    b.fake.lose(1002);
    b.punch(id, "in", "verified", &[]).await;
    b.punch(id2, "in", "verified", &[]).await;
    b.drain().await;
    let r = b.app.get("/api/v1/me/telegram", &token).await;
    assert_eq!(
        (r.body["linked"].clone(), r.body["status"].clone()),
        (json!(false), json!("blocked"))
    );
    assert_eq!(
        r.body["status_reason"],
        "Forbidden: bot was blocked by the user"
    );
    let r = b.app.get("/api/v1/me/telegram", &token2).await;
    assert_eq!(r.body["status"], "broken");
    // No job died over it, nothing more is sent there, and the admin sees it.
    let dead: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 'dead'")
        .fetch_one(&b.app.pool)
        .await
        .unwrap();
    assert_eq!(dead, 0);
    let calls_before = b.fake.calls().len();
    b.punch(id, "out", "verified", &[]).await;
    b.drain().await;
    assert_eq!(
        b.fake.calls().len(),
        calls_before,
        "no call to a blocked chat"
    );
    let r = b.app.get("/api/v1/integrations/telegram", &b.admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (
            r.body["blocked_links"].as_i64(),
            r.body["broken_links"].as_i64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(r.body["bot_username"], fake_telegram::BOT_USERNAME);
    // Relinking makes it active again.
    b.link(&token, 1003, "en").await;

    // A chat that moved (`migrate_to_chat_id`): the message follows it, and so does the link.
    let (id3, token3) = b.employee("olga", None).await;
    b.link(&token3, 1004, "en").await;
    b.fake.migrate(1004, -1_001_004);
    b.punch(id3, "in", "verified", &[]).await;
    b.drain().await;
    assert_eq!(b.fake.sent_to(-1_001_004).len(), 1);
    let chat: i64 = sqlx::query_scalar("SELECT chat_id FROM telegram_links WHERE employee_id = $1")
        .bind(id3)
        .fetch_one(&b.app.pool)
        .await
        .unwrap();
    assert_eq!(chat, -1_001_004);
    b.punch(id3, "out", "verified", &[]).await;
    b.drain().await;
    assert_eq!(
        b.fake.sent_to(-1_001_004).len(),
        2,
        "straight to the new chat"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn updates_are_neither_lost_nor_repeated_across_a_restart(pool: PgPool) {
    let b = bot(pool).await;
    let (_, token) = b.employee("ivan", None).await;
    let code = b.link_code(&token, "en").await;

    // First server: handles the /start, then stops.
    let run = |b: &Bot| {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(faceid_server::telegram::updates::run(b.tg.clone(), stopped));
        (stop, task)
    };
    let (stop, task) = run(&b);
    b.fake.inject(42, &format!("/start {code}"), None);
    for _ in 0..200 {
        if b.app.get("/api/v1/me/telegram", &token).await.body["linked"] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    stop.send(true).unwrap();
    task.await.unwrap();
    // While it is down, two more messages arrive.
    let hello = b.fake.inject(42, "hello", None);
    b.fake.inject(42, "/stop", None);
    // Second server: handles exactly those two.
    let (stop, task) = run(&b);
    for _ in 0..200 {
        let offset: i64 = sqlx::query_scalar("SELECT update_offset FROM telegram_state")
            .fetch_one(&b.app.pool)
            .await
            .unwrap();
        if offset == hello + 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    stop.send(true).unwrap();
    task.await.unwrap();
    b.drain().await;
    // The replies are sent concurrently (one job each), so in any order.
    let mut texts = b.fake.sent_to(42);
    texts.sort();
    assert_eq!(texts.len(), 3, "{texts:?}");
    assert!(
        texts[0].starts_with("Done: this chat is now linked"),
        "{texts:?}"
    );
    assert!(texts[1].starts_with("This chat is unlinked"), "{texts:?}");
    assert!(
        texts[2].starts_with("This is the FaceID time-tracking bot"),
        "{texts:?}"
    );

    // An update delivered again (the server died after committing, before its next poll
    // confirmed it to Telegram) is skipped by the stored offset.
    let again = faceid_server::telegram::bot_api::Update {
        update_id: hello,
        message: None,
    };
    faceid_server::telegram::updates::handle_update(&b.tg, &again)
        .await
        .unwrap();
    let offset: i64 = sqlx::query_scalar("SELECT update_offset FROM telegram_state")
        .fetch_one(&b.app.pool)
        .await
        .unwrap();
    assert_eq!(offset, hello + 2);
    b.drain().await;
    assert_eq!(b.fake.sent_to(42).len(), 3);
}

/// The "done when": an employee links Telegram through the API, checks in through the
/// check-in endpoint with a real photo (re-verified by the face engine), and the fake receives
/// the receipt in the employee's language.
#[sqlx::test(migrations = "./migrations")]
async fn a_real_check_in_sends_the_localised_receipt(pool: PgPool) {
    let (Some(engine), Some(_)) = (common::face::engine(), common::face::faces_dir()) else {
        eprintln!(
            "SKIPPED a_real_check_in_sends_the_localised_receipt: face models or ../shared/faces missing (models/fetch.sh)"
        );
        return;
    };
    let b = bot_with(pool, Some(engine), None).await;
    let site = b.app.create_site(&b.admin, "Main street").await;
    b.app
        .create_employee(
            &b.admin,
            json!({"login": "ann", "password": common::PASSWORD, "first_name": "Ann",
                   "last_name": "Lee", "role": "user", "site_ids": [site]}),
        )
        .await;
    let token = b.app.login("ann").await.access_token;
    let r = b
        .app
        .post(
            "/api/v1/consent-texts",
            &b.admin,
            json!({"kind": "biometric", "body": "We keep your face template."}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = b
        .app
        .post(
            "/api/v1/me/consents",
            &token,
            json!({"kind": "biometric", "action": "grant"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = b
        .app
        .call(
            Method::PUT,
            "/api/v1/settings/attendance-policy",
            Some(&b.admin),
            Some(
                json!({"liveness_mode": "passive", "max_gps_accuracy_m": 100.0,
                        "geofence_required": true, "max_offline_delay_s": 86400}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let photos: Vec<_> = [
        "face_recognition/barack_obama/obama.jpg",
        "face_recognition/barack_obama/obama_small.jpg",
    ]
    .iter()
    .map(|p| ("photo", common::face::photo(p), "image/jpeg"))
    .collect();
    let r = b
        .app
        .post_multipart("/api/v1/me/face-templates", &token, &photos)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    b.consent(&token).await;
    b.link(&token, 4242, "tg").await;

    let now = Utc::now();
    let evidence = json!({
        "idempotency_key": Uuid::now_v7(), "kind": "in", "clock": {"device_time": now},
        "gps": {"lat": 55.75, "lon": 37.61, "accuracy_m": 12.0, "fix_time": now, "mock": false,
                "provider": "fused"},
        "liveness": {"passive": 0.9},
    });
    let r = b
        .app
        .post_multipart(
            "/api/v1/attendance/events",
            &token,
            &[
                (
                    "evidence",
                    serde_json::to_vec(&evidence).unwrap(),
                    "application/json",
                ),
                (
                    "best_frame",
                    common::face::photo("face_recognition/barack_obama/obama-720p.jpg"),
                    "image/jpeg",
                ),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let verdict = r.body["verdict"].as_str().unwrap().to_owned();
    b.drain().await;
    let receipt = b.fake.sent_to(4242).last().unwrap().clone();
    // Tajik, the site's local time (Europe/Moscow), the site's name, the verdict.
    assert!(receipt.starts_with("Омад "), "{receipt}");
    assert!(receipt.contains(" — Main street: "), "{receipt}");
    let word = match verdict.as_str() {
        "verified" => "тасдиқ шуд",
        "flagged" => "барои санҷиш фиристода шуд",
        _ => "рад шуд",
    };
    assert!(receipt.contains(word), "{verdict}: {receipt}");
    let local = now
        .with_timezone(&chrono_tz::Europe::Moscow)
        .format("%d.%m %H:%M")
        .to_string();
    let minute_later = (now + chrono::Duration::minutes(1))
        .with_timezone(&chrono_tz::Europe::Moscow)
        .format("%d.%m %H:%M")
        .to_string();
    assert!(
        receipt.contains(&local) || receipt.contains(&minute_later),
        "{receipt} at {local}"
    );
    // Exactly one receipt for the punch.
    assert_eq!(
        b.fake.sent_to(4242).len(),
        2,
        "the link reply and one receipt"
    );
}
