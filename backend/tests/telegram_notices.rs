//! The bot's attendance notices and webhook mode, against the fake Bot API
//! (tests/common/fake_telegram.rs) and the real PostgreSQL: late arrivals and absences to the
//! staff in scope only and exactly once (reruns, two workers), the missing check-out reminder
//! and its switch, the daily department summary's figures, and webhook updates with the
//! secret checked. The periodic jobs evaluate at their period's start, so each step schedules
//! them at a chosen instant of a fixed day (Tuesday 3 March 2026 in Dushanbe, UTC+5).

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use chrono::{DateTime, TimeZone, Utc};
use common::PASSWORD;
use common::telegram_bot::{Bot, WEBHOOK_SECRET, bot, bot_with, worker_cfg};
use faceid_server::jobs::Worker;
use serde_json::json;
use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

/// Local time in Dushanbe (UTC+5, no DST) on 3 March 2026.
fn dushanbe(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 3, h, m, 0).unwrap() - chrono::Duration::hours(5)
}

/// The Kitchen's day: a 09:00–18:00 shift (10 minutes' grace) on weekdays, in Dushanbe.
/// `absent` never checks in, `late` checks in at 09:25 and out at 17:00, `stays` checks in at
/// 08:55 and never out, `quiet` checks in at 09:00 and never out (and turns its check-out
/// reminder off), `flagged` has only a check-in at 09:02 waiting for review. Operators: `op_a`
/// of the Kitchen, `op_b` of the Bar; the administrator. Nobody is linked yet.
struct Kitchen {
    rig: Bot,
    dept: Uuid,
    emp: [Uuid; 5],
    op_a: String,
    op_b: String,
}

async fn kitchen(pool: PgPool) -> Kitchen {
    let rig = bot(pool).await;
    let app = &rig.app;
    let admin = &rig.admin;
    let dept = app.create_department(admin, "Kitchen").await;
    let bar = app.create_department(admin, "Bar").await;
    let r = app
        .post(
            "/api/v1/sites",
            admin,
            json!({"name": "Dushanbe", "time_zone": "Asia/Dushanbe",
                   "geofence": {"type": "circle", "latitude": 38.56, "longitude": 68.78, "radius_m": 150.0}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let site: Uuid = r.body["id"].as_str().unwrap().parse().unwrap();
    let mut emp = [Uuid::nil(); 5];
    for (i, login) in ["absent", "late", "stays", "quiet", "flagged"]
        .into_iter()
        .enumerate()
    {
        emp[i] = app
            .create_employee(
                admin,
                json!({"login": login, "password": PASSWORD, "first_name": "Cook",
                       "last_name": login, "role": "user", "department_id": dept,
                       "site_ids": [site]}),
            )
            .await;
    }
    for (login, d) in [("op_a", dept), ("op_b", bar)] {
        app.create_employee(
            admin,
            json!({"login": login, "password": PASSWORD, "first_name": "Olga",
                   "last_name": login, "role": "operator",
                   "scope": {"department_ids": [d], "site_ids": []}}),
        )
        .await;
    }
    // The schedule, through the API: each POST answers 201 with the new id.
    let create = |path: &'static str, body: serde_json::Value| async move {
        let r = app.post(path, admin, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{path}: {}", r.body);
        r.body["id"].as_str().unwrap().to_owned()
    };
    let day = create(
        "/api/v1/shift-templates",
        json!({"name": "Day", "start": "09:00", "end": "18:00", "unpaid_break_minutes": 60,
               "late_grace_minutes": 10, "site_id": site}),
    )
    .await;
    let schedule = create(
        "/api/v1/schedules",
        json!({"name": "Five days", "pattern": {"kind": "weekly",
               "days": [day, day, day, day, day, null, null]}}),
    )
    .await;
    create(
        "/api/v1/schedule-assignments",
        json!({"schedule_id": schedule, "department_id": dept, "valid_from": "2026-03-01"}),
    )
    .await;

    for (e, kind, verdict, at) in [
        (1, "in", "verified", dushanbe(9, 25)),
        (1, "out", "verified", dushanbe(17, 0)),
        (2, "in", "verified", dushanbe(8, 55)),
        (3, "in", "verified", dushanbe(9, 0)),
        (4, "in", "flagged", dushanbe(9, 2)),
    ] {
        rig.punch_at(emp[e], kind, verdict, &[], at).await;
    }
    rig.drain().await;
    let op_a = app.login("op_a").await.access_token;
    let op_b = app.login("op_b").await.access_token;
    Kitchen {
        rig,
        dept,
        emp,
        op_a,
        op_b,
    }
}

/// The notice claims: (kind, recipients), by kind and subject.
async fn claims(pool: &PgPool) -> Vec<(String, i32)> {
    sqlx::query_as("SELECT kind, recipients FROM telegram_notices ORDER BY kind, subject_id")
        .fetch_all(pool)
        .await
        .unwrap()
}

const ADMIN_CHAT: i64 = 800;
const OP_A_CHAT: i64 = 801;
const OP_B_CHAT: i64 = 802;

impl Kitchen {
    async fn link_staff(&self) {
        let r = &self.rig;
        for (t, chat, lang) in [
            (&r.admin, ADMIN_CHAT, "en"),
            (&self.op_a, OP_A_CHAT, "ru"),
            (&self.op_b, OP_B_CHAT, "en"),
        ] {
            r.consent(t).await;
            r.link(t, chat, lang).await;
        }
    }

    fn staff_counts(&self) -> [usize; 3] {
        [ADMIN_CHAT, OP_A_CHAT, OP_B_CHAT].map(|c| self.rig.fake.sent_to(c).len())
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn late_and_absent_reach_staff_in_scope_exactly_once(pool: PgPool) {
    let k = kitchen(pool).await;
    k.link_staff().await;
    let r = &k.rig;
    let before = k.staff_counts();
    let new = |k: &Kitchen| {
        let now = k.staff_counts();
        [0, 1, 2].map(|i| now[i] - before[i])
    };

    // Before the shift and inside the grace period: nothing.
    r.tick(dushanbe(8, 30)).await;
    r.tick(dushanbe(9, 5)).await;
    assert_eq!(new(&k), [0, 0, 0]);

    // 09:30: `absent` and `flagged` have no counted check-in, `late` came at 09:25. Two
    // workers (two replicas) run the job of that minute and of the next one at the same time.
    let other = Worker::new(
        r.app.pool.clone(),
        faceid_server::job_registry(&r.app.state, 90),
        worker_cfg(),
    );
    r.registry
        .schedule_periodic(&r.app.pool, dushanbe(9, 30))
        .await
        .unwrap();
    r.registry
        .schedule_periodic(&r.app.pool, dushanbe(9, 31))
        .await
        .unwrap();
    tokio::join!(r.drain(), r.drain_with(&other));
    // And the job body itself, twice at once.
    let (a, b) = tokio::join!(
        faceid_server::telegram::notices::attendance(&r.app.pool, &r.tg, dushanbe(9, 32)),
        faceid_server::telegram::notices::attendance(&r.app.pool, &r.tg, dushanbe(9, 33)),
    );
    assert_eq!(a.unwrap() + b.unwrap(), 0, "everything was told already");
    r.tick(dushanbe(10, 0)).await;
    assert_eq!(
        new(&k),
        [3, 3, 0],
        "admin and the Kitchen's operator, once each; the Bar's operator nothing"
    );
    let admin_msgs = r.fake.sent_to(ADMIN_CHAT);
    let told = &admin_msgs[admin_msgs.len() - 3..];
    assert!(
        told.contains(
            &"No check-in: Cook absent\nShift on 03.03.2026 from 09:00; the grace period is over"
                .to_owned()
        ),
        "{told:?}"
    );
    assert!(
        told.contains(
            &"Late arrival: Cook late\nShift from 09:00, checked in at 09:25 (25 min late)"
                .to_owned()
        ),
        "{told:?}"
    );
    assert!(
        told.iter()
            .any(|m| m.starts_with("No check-in: Cook flagged")),
        "{told:?}"
    );
    let op_msgs = r.fake.sent_to(OP_A_CHAT);
    assert!(
        op_msgs
            .iter()
            .any(|m| m.starts_with("Опоздание: Cook late\nСмена с 09:00, приход в 09:25")),
        "{op_msgs:?}"
    );
    assert_eq!(
        claims(&r.app.pool).await,
        vec![
            ("absent".into(), 2),
            ("absent".into(), 2),
            ("late".into(), 2)
        ]
    );

    // A switch off: the Kitchen's operator hears about no more absences.
    let resp = r
        .app
        .patch("/api/v1/me/telegram", &k.op_a, json!({"absent": false}))
        .await;
    assert_eq!(resp.body["notifications"]["absent"], false, "{}", resp.body);
    assert_eq!(resp.body["notifications"]["late"], true, "{}", resp.body);
    // Wednesday: nobody of the Kitchen comes; `flagged` was dismissed and is not missed.
    let resp = r
        .app
        .post(
            &format!("/api/v1/employees/{}/dismiss", k.emp[4]),
            &r.admin,
            json!({}),
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.body);
    let wednesday = dushanbe(9, 30) + chrono::Duration::days(1);
    r.tick(wednesday).await;
    assert_eq!(new(&k), [3 + 4, 3, 0]);
}

#[sqlx::test(migrations = "./migrations")]
async fn the_minute_pass_looks_only_at_people_someone_would_hear_of(pool: PgPool) {
    let k = kitchen(pool).await;
    let r = &k.rig;
    // Only the Bar's operator is linked: nobody of the Kitchen is anyone's news, so their
    // days are not looked at and nothing is claimed.
    r.consent(&k.op_b).await;
    r.link(&k.op_b, OP_B_CHAT, "en").await;
    let before = k.staff_counts();
    r.tick(dushanbe(9, 30)).await;
    assert_eq!(claims(&r.app.pool).await, vec![]);
    // The Kitchen's operator links mid-shift: the morning's two absences and the late arrival
    // reach her (they were not claimed while nobody could hear of them); the Bar's still
    // hears nothing.
    r.consent(&k.op_a).await;
    r.link(&k.op_a, OP_A_CHAT, "ru").await;
    let linked = k.staff_counts();
    r.tick(dushanbe(9, 40)).await;
    let now = k.staff_counts();
    assert_eq!(
        [now[1] - linked[1], now[2] - before[2]],
        [3, 0],
        "{:?}",
        r.fake.sent_to(OP_A_CHAT)
    );
    assert_eq!(
        claims(&r.app.pool).await,
        vec![
            ("absent".into(), 1),
            ("absent".into(), 1),
            ("late".into(), 1)
        ]
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_missing_check_out_reminds_the_employee_once_unless_switched_off(pool: PgPool) {
    let k = kitchen(pool).await;
    let r = &k.rig;
    let stays = r.app.login("stays").await.access_token;
    let quiet = r.app.login("quiet").await.access_token;
    for (t, chat, lang) in [(&stays, 900, "en"), (&quiet, 901, "tg")] {
        r.consent(t).await;
        r.link(t, chat, lang).await;
    }
    let resp = r
        .app
        .patch("/api/v1/me/telegram", &quiet, json!({"checkout": false}))
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.body);
    assert_eq!(resp.body["notifications"]["checkout"], false);
    let base = [900, 901].map(|c| r.fake.sent_to(c).len());

    // At the shift's end and inside the 30 minutes after it: nothing yet.
    r.tick(dushanbe(17, 30)).await;
    r.tick(dushanbe(18, 20)).await;
    assert_eq!([900, 901].map(|c| r.fake.sent_to(c).len()), base);
    // 18:31: the reminder, once.
    r.tick(dushanbe(18, 31)).await;
    r.tick(dushanbe(18, 45)).await;
    r.tick(dushanbe(19, 30)).await;
    let to_stays = r.fake.sent_to(900)[base[0]..].to_vec();
    assert_eq!(
        to_stays,
        vec![
            "Your shift ended at 18:00 and there is no check-out. Please check out in the FaceID app."
        ]
    );
    assert_eq!(
        r.fake.sent_to(901).len(),
        base[1],
        "the switch is off: nothing"
    );
    // `late` checked out: no reminder was ever decided for them.
    let checkouts: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM telegram_notices WHERE kind = 'checkout' AND subject_id = $1",
    )
    .bind(k.emp[1])
    .fetch_one(&r.app.pool)
    .await
    .unwrap();
    assert_eq!(checkouts, 0);
}

#[sqlx::test(migrations = "./migrations")]
async fn the_daily_summary_counts_the_days_punches(pool: PgPool) {
    let k = kitchen(pool).await;
    k.link_staff().await;
    let r = &k.rig;
    let before = k.staff_counts();
    // Staff switch late and absent alerts off to hear only the summary.
    for t in [&r.admin, &k.op_a, &k.op_b] {
        let resp = r
            .app
            .patch(
                "/api/v1/me/telegram",
                t,
                json!({"late": false, "absent": false}),
            )
            .await;
        assert_eq!(resp.status, StatusCode::OK, "{}", resp.body);
    }
    r.tick(dushanbe(17, 59)).await;
    assert_eq!(k.staff_counts(), before, "not before 18:00");
    r.tick(dushanbe(18, 0)).await;
    r.tick(dushanbe(18, 1)).await;
    r.tick(dushanbe(23, 0)).await;
    let now = k.staff_counts();
    assert_eq!(
        [now[0] - before[0], now[1] - before[1], now[2] - before[2]],
        [1, 1, 0],
        "the admin and the Kitchen's operator, once"
    );
    // present: late, stays, quiet; late: late; absent: absent and flagged (a check-in
    // waiting for review does not count); flagged: flagged's check-in.
    assert_eq!(
        r.fake.sent_to(ADMIN_CHAT).last().unwrap(),
        "Day summary 03.03.2026 — Kitchen\nPresent: 3\nLate: 1\nAbsent: 2\nFlagged for review: 1"
    );
    assert_eq!(
        r.fake.sent_to(OP_A_CHAT).last().unwrap(),
        "Итоги дня 03.03.2026 — Kitchen\nПришли: 3\nОпоздали: 1\nОтсутствуют: 2\nНа проверке: 1"
    );
    // The same figures as the "today" report at that moment.
    let resp = r
        .app
        .get(
            &format!(
                "/api/v1/reports/today?at={}&department_id={}",
                dushanbe(18, 0).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                k.dept
            ),
            &r.admin,
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.body);
    let t = &resp.body["totals"];
    assert_eq!(t["late"].as_array().unwrap().len(), 1);
    assert_eq!(t["missing"].as_array().unwrap().len(), 2);
    assert_eq!(t["pending_review"].as_array().unwrap().len(), 1);
}

#[sqlx::test(migrations = "./migrations")]
async fn webhook_mode_links_with_the_secret_and_never_polls(pool: PgPool) {
    // The server listens on a real port so the fake can post to it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/api/v1/integrations/telegram/webhook",
        listener.local_addr().unwrap()
    );
    let r = bot_with(pool, None, Some(url.clone())).await;
    let (stop, stopped) = watch::channel(false);
    let serve_state = r.app.state.clone();
    let mut serve_stop = stopped.clone();
    tokio::spawn(async move {
        let _ = faceid_server::run(listener, serve_state, async move {
            let _ = serve_stop.changed().await;
        })
        .await;
    });
    // At start the bot sets the webhook with the secret, and does not poll.
    let receiver = tokio::spawn(faceid_server::telegram::updates::run(
        r.tg.clone(),
        stopped.clone(),
    ));
    for _ in 0..200 {
        if r.fake.webhook().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        r.fake.webhook(),
        Some((url, Some(WEBHOOK_SECRET.to_owned())))
    );

    let (_, token) = r.employee("ivan", None).await;
    let code = r.link_code(&token, "en").await;
    // A wrong secret, and none at all: 401, nothing happens.
    assert_eq!(
        r.fake
            .deliver(700, &format!("/start {code}"), Some("wrong"))
            .await,
        401
    );
    assert_eq!(
        r.fake
            .deliver(700, &format!("/start {code}"), Some(""))
            .await,
        401
    );
    r.drain().await;
    let me = r.app.get("/api/v1/me/telegram", &token).await;
    assert_eq!(me.body["linked"], false, "{}", me.body);
    assert!(r.fake.sent_to(700).is_empty());
    // The right secret links, through the same code as long polling.
    assert_eq!(
        r.fake.deliver(700, &format!("/start {code}"), None).await,
        200
    );
    r.drain().await;
    let me = r.app.get("/api/v1/me/telegram", &token).await;
    assert_eq!(me.body["linked"], true, "{}", me.body);
    assert_eq!(
        r.fake.sent_to(700),
        vec![
            "Done: this chat is now linked to Ivan ivan. Punch notifications will arrive here. To stop: /stop"
        ]
    );
    // Telegram delivering the same update again changes nothing.
    let last_id: i64 = sqlx::query_scalar("SELECT update_offset - 1 FROM telegram_state")
        .fetch_one(&r.app.pool)
        .await
        .unwrap();
    let again = json!({"update_id": last_id, "message": {"message_id": 1, "text": "/stop",
                       "chat": {"id": 700, "type": "private"}}});
    let resp = r
        .app
        .raw(
            axum::http::Request::post("/api/v1/integrations/telegram/webhook")
                .header("content-type", "application/json")
                .header("x-telegram-bot-api-secret-token", WEBHOOK_SECRET)
                .body(axum::body::Body::from(again.to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(resp.status, StatusCode::OK);
    let me = r.app.get("/api/v1/me/telegram", &token).await;
    assert_eq!(me.body["linked"], true, "a re-delivered update is skipped");

    assert_eq!(
        r.fake.get_updates_calls(),
        0,
        "no getUpdates in webhook mode"
    );
    let status = r.app.get("/api/v1/integrations/telegram", &r.admin).await;
    assert_eq!(status.body["updates"], "webhook", "{}", status.body);
    // As the real API: getUpdates is refused while the webhook is set.
    let polled = r.tg.api.get_updates(0, 0).await.unwrap_err();
    assert_eq!(polled.code(), Some(409));
    let _ = stop.send(true);
    receiver.await.unwrap();

    // Back to long polling (restarted without the webhook URL): the webhook Telegram still
    // has is deleted, and an update sent meanwhile arrives by getUpdates.
    r.fake.inject(700, "/stop", None);
    let settings = faceid_server::Settings {
        telegram_bot_token: Some(common::fake_telegram::TOKEN.into()),
        telegram_api_url: r.fake.url.clone(),
        telegram_poll_timeout_secs: 1,
        ..common::settings()
    };
    let polling = faceid_server::telegram::Telegram::from_settings(&settings, r.app.pool.clone())
        .await
        .unwrap()
        .unwrap();
    let (stop, stopped) = watch::channel(false);
    let receiver = tokio::spawn(faceid_server::telegram::updates::run(polling, stopped));
    for _ in 0..300 {
        let me = r.app.get("/api/v1/me/telegram", &token).await;
        if me.body["linked"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(r.fake.webhook(), None, "deleteWebhook was called");
    let me = r.app.get("/api/v1/me/telegram", &token).await;
    assert_eq!(me.body["linked"], false, "/stop arrived by long polling");
    assert_eq!(r.fake.delete_webhook_calls(), 1);
    let _ = stop.send(true);
    receiver.await.unwrap();
}

#[sqlx::test(migrations = "./migrations")]
async fn the_webhook_is_off_in_polling_mode(pool: PgPool) {
    let r = bot(pool).await;
    let resp = r
        .app
        .raw(
            axum::http::Request::post("/api/v1/integrations/telegram/webhook")
                .header("content-type", "application/json")
                .header("x-telegram-bot-api-secret-token", WEBHOOK_SECRET)
                .body(axum::body::Body::from("{}"))
                .unwrap(),
        )
        .await;
    assert_eq!(resp.status, StatusCode::NOT_FOUND);
    assert_eq!(resp.code(), "telegram_webhook_off");
    // Without the secret header the answer says nothing about the set-up.
    let resp = r
        .app
        .raw(
            axum::http::Request::post("/api/v1/integrations/telegram/webhook")
                .header("content-type", "application/json")
                .body(axum::body::Body::from("{}"))
                .unwrap(),
        )
        .await;
    assert_eq!(
        (resp.status, resp.code()),
        (StatusCode::UNAUTHORIZED, "telegram_webhook_secret")
    );
    let status = r.app.get("/api/v1/integrations/telegram", &r.admin).await;
    assert_eq!(status.body["updates"], "long_polling", "{}", status.body);
}
