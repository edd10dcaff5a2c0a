//! Issue 20's end-to-end case across the layers: an employee links Telegram through the API
//! (the deep-link code, `/start <code>` arriving at the server's real long-polling receiver
//! from the fake Bot API), checks in with the device simulator (`faceid client check-in`, a
//! real client over `core/client`), and the fake Bot API receives one receipt in the
//! employee's language, sent by the server's job worker. The backend is the server's own
//! router and `run` with the worker and the poller as `faceid-server serve` runs them; the
//! fake is `backend/tests/common/fake_telegram.rs`. Skipped, with a message, without
//! DATABASE_URL, the face models (models/fetch.sh) or the photos (../shared/faces).
#![allow(clippy::print_stderr)]

mod common;
#[path = "../../../backend/tests/common/fake_telegram.rs"]
mod fake_telegram;

use std::time::Duration;

use common::{Backend, Device, PASSWORD, call, employee};
use fake_telegram::FakeTelegram;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

const CHAT: i64 = 5151;

/// Logs `login` in over HTTP (a second device of theirs, like the web panel); the token.
async fn login(b: &Backend, login: &str) -> String {
    let r = call(
        Method::POST,
        format!("{}/api/v1/auth/login", b.url()),
        None,
        json!({"login": login, "password": PASSWORD,
               "device": {"id": Uuid::new_v4(), "name": "panel", "platform": "web", "app_version": "1"}}),
    )
    .await;
    r["access_token"].as_str().expect("token").to_owned()
}

/// Asks until `f` answers `Some` (the server's background tasks run on their own).
async fn eventually<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..600 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} never happened");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulator_check_in_reaches_telegram_as_a_localised_receipt() {
    let fake = FakeTelegram::start().await;
    let Some(b) = Backend::start_with(
        "a_simulator_check_in_reaches_telegram_as_a_localised_receipt",
        |s| {
            s.telegram_bot_token = Some(fake_telegram::TOKEN.into());
            s.telegram_api_url = fake.url.clone();
            s.telegram_poll_timeout_secs = 1;
        },
    )
    .await
    else {
        return;
    };
    employee(&b, "walker").await;
    let admin = login(&b, "admin").await;
    call(
        Method::POST,
        format!("{}/api/v1/consent-texts", b.url()),
        Some(&admin),
        json!({"kind": "telegram", "body": "We send your punches to your Telegram chat."}),
    )
    .await;
    let dev = Device::new(&b.url());
    dev.onboard("walker").await;

    // Linking through the API, in Russian: the code goes to the bot as `/start <code>`.
    let token = login(&b, "walker").await;
    call(
        Method::POST,
        format!("{}/api/v1/me/consents", b.url()),
        Some(&token),
        json!({"kind": "telegram", "action": "grant"}),
    )
    .await;
    let link = call(
        Method::POST,
        format!("{}/api/v1/me/telegram/link", b.url()),
        Some(&token),
        json!({"language": "ru"}),
    )
    .await;
    assert_eq!(
        link["url"],
        format!(
            "https://t.me/{}?start={}",
            fake_telegram::BOT_USERNAME,
            link["code"].as_str().unwrap()
        ),
        "{link}"
    );
    fake.inject(
        CHAT,
        &format!("/start {}", link["code"].as_str().unwrap()),
        None,
    );
    eventually("the link", async || {
        let me = call(
            Method::GET,
            format!("{}/api/v1/me/telegram", b.url()),
            Some(&token),
            Value::Null,
        )
        .await;
        (me["linked"] == true).then_some(())
    })
    .await;
    let linked = eventually("the link's confirmation", async || {
        fake.sent_to(CHAT).first().cloned()
    })
    .await;
    assert!(linked.starts_with("Готово"), "{linked}");

    // The check-in with the simulator, delivered at once.
    let v = dev.check_in(&[]).await;
    let verdict = v["server"]["verdict"]
        .as_str()
        .unwrap_or_else(|| panic!("not delivered: {v}"))
        .to_owned();
    let receipt = eventually("the receipt", async || fake.sent_to(CHAT).get(1).cloned()).await;
    let word = match verdict.as_str() {
        "verified" => "подтверждён",
        "flagged" => "отправлен на проверку",
        _ => "отклонён",
    };
    assert!(receipt.starts_with("Приход "), "{receipt}");
    assert!(receipt.contains(word), "{verdict}: {receipt}");
    // Exactly one receipt, however long the worker keeps running.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(fake.sent_to(CHAT).len(), 2, "{:?}", fake.sent_to(CHAT));
    b.finish().await;
}
