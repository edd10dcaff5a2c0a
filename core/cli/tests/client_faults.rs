//! Fault tests of the device simulator (`faceid client …`, a real client over `core/client`)
//! against the real backend (the server's own router and `run`, bound to 127.0.0.1) on a fresh
//! database of `DATABASE_URL`'s cluster:
//! - the server is down while 500 fixes and 5 punches are recorded; it comes back; one `sync`
//!   delivers everything exactly once;
//! - `sync` processes SIGKILLed 50 times inside a running sync (a proxy holds a request until
//!   the kill; half of them after the server acted on it), then a final sync: every entry
//!   exactly once, outbox empty;
//! - a fault proxy (dropped connections, 500, 503 with Retry-After, answers later than the
//!   client's timeout, requests delivered with the answer lost): still exactly once;
//! - a permanent 422 is dead-lettered with the server's reason and does not block the rest;
//! - two `sync` processes at once never send the same entry twice.
//!
//! Exactly once is checked in the server's database. Skipped, with a message, without
//! DATABASE_URL, the face models (models/fetch.sh) or the photos (../shared/faces).
#![allow(clippy::print_stderr)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::{Backend, CLIENT_TIMEOUT_S, Device, admin_token, call, employee};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use uuid::Uuid;

fn pending(status: &Value) -> u64 {
    let o = &status["outbox"];
    [
        "consent",
        "enrolment",
        "punch",
        "location_batch",
        "staged_points",
    ]
    .iter()
    .map(|k| o[k].as_u64().unwrap_or(0))
    .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_down_then_one_sync_delivers_everything_once() {
    let Some(mut b) = Backend::start("server_down_then_one_sync_delivers_everything_once").await
    else {
        return;
    };
    let id = employee(&b, "walker").await;
    let dev = Device::new(&b.url());
    dev.onboard("walker").await;

    b.down().await;
    for _ in 0..5 {
        let v = dev.check_in(&[]).await;
        assert!(v["server"].is_null(), "delivered while down: {v}");
    }
    dev.track(500, 0).await;
    let before = dev.status().await;
    assert_eq!(before["outbox"]["punch"], 5, "{before}");
    assert_eq!(b.delivered(id).await, [0, 0, 0, 0, 0]);

    b.up().await;
    let s = dev.ok(&["sync", "--wait", "30"]).await;
    assert_eq!(s["left"], 0, "{s}");
    assert_eq!(s["sent"], 6, "5 punches and one batch of 500: {s}");
    assert_eq!(s["points_accepted"], 500, "{s}");
    assert_eq!(s["duplicates"], 0, "{s}");
    assert_eq!(b.delivered(id).await, [5, 5, 500, 500, 1]);
    assert_eq!(pending(&dev.status().await), 0);
    // A further sync sends nothing.
    let again = dev.ok(&["sync"]).await;
    assert_eq!(again["sent"], 0, "{again}");
    b.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_killed_fifty_times_then_everything_once() {
    let Some(b) = Backend::start("sync_killed_fifty_times_then_everything_once").await else {
        return;
    };
    let id = employee(&b, "killed").await;
    let dev = Device::new(&b.url());
    dev.onboard("killed").await;
    // Every round queues new work (100 fixes; a punch every 10th round) and starts a sync
    // through a proxy that holds the sync's first request until the process is SIGKILLed (no
    // destructor, no cleanup): every kill lands inside a running sync, in odd rounds after
    // the server acted on the request (its answer never arrives), in even rounds before.
    let proxy = HoldProxy::start(b.addr).await;
    let mut held = proxy.held.lock().await;
    let mut killed_running = 0;
    for round in 0..50_i64 {
        if round % 10 == 0 {
            dev.check_in(&["--no-sync"]).await;
        }
        dev.track(100, (49 - round) * 1_000).await;
        proxy.arm(round % 2 == 1);
        let mut child = dev
            .command(&["sync"], Some(&proxy.url()))
            .spawn()
            .expect("spawn sync");
        tokio::select! {
            _ = held.recv() => killed_running += 1,
            status = child.wait() => panic!("round {round}: sync ended without a request: {status:?}"),
        }
        child.start_kill().expect("kill");
        let _ = child.wait().await;
    }
    drop(held);
    let s = dev.ok(&["sync", "--wait", "60"]).await;
    assert_eq!(s["left"], 0, "{s}");
    let [punches, punch_keys, points, point_times, batches] = b.delivered(id).await;
    assert_eq!(
        [punches, punch_keys, points, point_times],
        [5, 5, 5_000, 5_000]
    );
    // However the kills fell, the fixes went in 10 (500 each) to 60 batches (a seal per sync run).
    assert!((10..=60).contains(&batches), "{batches} batches");
    let st = dev.status().await;
    assert_eq!(pending(&st), 0, "{st}");
    assert_eq!(st["outbox"]["dead_letters"], 0, "{st}");
    assert_eq!(killed_running, 50, "every kill hit a running sync");
    proxy.task.abort();
    b.finish().await;
}

/// A proxy that, once armed, holds the next request (forwarding it first or not), reports
/// it on `held` and keeps the connection open until the client goes away; other requests
/// pass through.
struct HoldProxy {
    addr: SocketAddr,
    /// 0 disarmed, 1 hold before forwarding, 2 forward then hold the answer.
    armed: Arc<AtomicUsize>,
    /// The request line of each held request.
    held: tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<String>>,
    task: tokio::task::JoinHandle<()>,
}

impl HoldProxy {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("addr");
        let armed = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let mode = armed.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                let mode = mode.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    let Some(request) = read_message(&mut client).await else {
                        return;
                    };
                    match mode.swap(0, Ordering::SeqCst) {
                        0 => {
                            let answer = forward(upstream, &request).await;
                            let _ = client.write_all(&answer).await;
                            let _ = client.shutdown().await;
                        }
                        hold => {
                            if hold == 2 {
                                let _ = forward(upstream, &request).await;
                            }
                            let line = String::from_utf8_lossy(&request)
                                .lines()
                                .next()
                                .unwrap_or_default()
                                .to_owned();
                            let _ = tx.send(line);
                            // Until the killed client's socket closes.
                            let mut sink = [0u8; 1024];
                            while matches!(client.read(&mut sink).await, Ok(n) if n > 0) {}
                        }
                    }
                });
            }
        });
        Self {
            addr,
            armed,
            held: tokio::sync::Mutex::new(rx),
            task,
        }
    }

    fn arm(&self, forward_first: bool) {
        self.armed
            .store(if forward_first { 2 } else { 1 }, Ordering::SeqCst);
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// What the proxy does with one request.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    Pass,
    /// Close the connection without forwarding or answering.
    Drop,
    Error500,
    /// 503 with `Retry-After: 1`.
    Unavailable503,
    /// Forward, then answer after the client's timeout.
    Late,
    /// Forward (the server acts on it), then close without answering.
    LoseResponse,
}

const PLAN: [Fault; 10] = [
    Fault::Drop,
    Fault::Pass,
    Fault::Error500,
    Fault::LoseResponse,
    Fault::Pass,
    Fault::Unavailable503,
    Fault::Late,
    Fault::Pass,
    Fault::LoseResponse,
    Fault::Pass,
];

/// An HTTP/1.1 proxy that applies [`PLAN`] to successive requests, one request per
/// connection (it asks the server to close after answering).
struct FaultProxy {
    addr: SocketAddr,
    applied: Arc<std::sync::Mutex<Vec<Fault>>>,
    task: tokio::task::JoinHandle<()>,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn content_length(head: &[u8]) -> usize {
    String::from_utf8_lossy(head)
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0)
}

/// One whole HTTP message (head and a `Content-Length` body) from `s`; `None` on EOF first.
async fn read_message(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let head = &buf[..end];
            assert!(
                !String::from_utf8_lossy(head)
                    .to_ascii_lowercase()
                    .contains("transfer-encoding: chunked"),
                "the proxy does not handle chunked bodies"
            );
            let total = end + 4 + content_length(head);
            if buf.len() >= total {
                buf.truncate(total);
                return Some(buf);
            }
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The request with `Connection: close`, so the server answers and closes.
fn closing(request: &[u8]) -> Vec<u8> {
    let end = find(request, b"\r\n\r\n").unwrap_or(request.len());
    let head = String::from_utf8_lossy(&request[..end]);
    let mut out: Vec<u8> = head
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect::<Vec<_>>()
        .join("\r\n")
        .into_bytes();
    out.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
    out.extend_from_slice(&request[(end + 4).min(request.len())..]);
    out
}

async fn forward(upstream: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut up = TcpStream::connect(upstream).await.expect("upstream");
    up.write_all(&closing(request)).await.expect("forward");
    let mut resp = Vec::new();
    let _ = up.read_to_end(&mut resp).await;
    resp
}

impl FaultProxy {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("addr");
        let applied = Arc::new(std::sync::Mutex::new(Vec::new()));
        let counter = Arc::new(AtomicUsize::new(0));
        let log = applied.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                let counter = counter.clone();
                let log = log.clone();
                tokio::spawn(async move {
                    let Some(request) = read_message(&mut client).await else {
                        return;
                    };
                    let fault = PLAN[counter.fetch_add(1, Ordering::SeqCst) % PLAN.len()];
                    if let Ok(mut l) = log.lock() {
                        l.push(fault);
                    }
                    let canned = |status: &str, extra: &str| {
                        format!(
                            "HTTP/1.1 {status}\r\n{extra}Content-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nfault"
                        )
                        .into_bytes()
                    };
                    let answer = match fault {
                        Fault::Drop => return,
                        Fault::Error500 => canned("500 Internal Server Error", ""),
                        Fault::Unavailable503 => {
                            canned("503 Service Unavailable", "Retry-After: 1\r\n")
                        }
                        Fault::Pass => forward(upstream, &request).await,
                        Fault::Late => {
                            let resp = forward(upstream, &request).await;
                            tokio::time::sleep(Duration::from_secs_f64(CLIENT_TIMEOUT_S + 1.0))
                                .await;
                            resp
                        }
                        Fault::LoseResponse => {
                            let _ = forward(upstream, &request).await;
                            return;
                        }
                    };
                    let _ = client.write_all(&answer).await;
                    let _ = client.shutdown().await;
                });
            }
        });
        Self {
            addr,
            applied,
            task,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulty_network_still_delivers_exactly_once() {
    let Some(b) = Backend::start("faulty_network_still_delivers_exactly_once").await else {
        return;
    };
    let id = employee(&b, "flaky").await;
    let dev = Device::new(&b.url());
    dev.onboard("flaky").await;
    for _ in 0..3 {
        dev.check_in(&["--no-sync"]).await;
    }
    dev.track(1_500, 0).await;
    let proxy = FaultProxy::start(b.addr).await;
    let s = dev
        .ok_via(&["sync", "--wait", "180"], Some(&proxy.url()))
        .await;
    assert_eq!(s["left"], 0, "{s}");
    assert_eq!(s["dead_lettered"], 0, "{s}");
    assert_eq!(b.delivered(id).await, [3, 3, 1_500, 1_500, 3]);
    assert_eq!(pending(&dev.status().await), 0);
    let applied = proxy.applied.lock().map(|l| l.clone()).unwrap_or_default();
    for f in [
        Fault::Drop,
        Fault::Error500,
        Fault::Unavailable503,
        Fault::Late,
        Fault::LoseResponse,
    ] {
        assert!(applied.contains(&f), "{f:?} never applied: {applied:?}");
    }
    proxy.task.abort();
    b.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_422_is_dead_lettered_and_does_not_block() {
    let Some(b) = Backend::start("permanent_422_is_dead_lettered_and_does_not_block").await else {
        return;
    };
    let id = employee(&b, "blocked").await;
    let dev = Device::new(&b.url());
    dev.onboard("blocked").await;
    // A photo without a face: the server refuses the enrolment for good (422).
    let blank = dev.state.path().join("wall.png");
    image::RgbImage::from_pixel(640, 480, image::Rgb([180, 180, 170]))
        .save(&blank)
        .expect("png");
    let v = dev
        .ok(&["enrol", blank.to_str().expect("utf-8"), "--no-sync"])
        .await;
    assert!(v["sync"].is_null());
    dev.check_in(&["--no-sync"]).await;
    dev.track(600, 0).await;
    let s = dev.ok(&["sync"]).await;
    assert_eq!(s["dead_lettered"], 1, "{s}");
    assert_eq!(s["left"], 0, "{s}");
    assert_eq!(
        s["sent"], 3,
        "punch and two batches behind the refused enrolment: {s}"
    );
    let st = dev.status().await;
    let dead = st["dead_letters"].as_array().expect("dead letters");
    assert_eq!(dead.len(), 1, "{st}");
    assert_eq!(dead[0]["kind"], "enrolment");
    assert_eq!(dead[0]["status"], 422);
    assert_eq!(dead[0]["code"], "enrolment_refused");
    assert!(
        dead[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("cannot be enrolled")),
        "the server's reason: {}",
        dead[0]
    );
    assert_eq!(b.delivered(id).await, [1, 1, 600, 600, 2]);
    b.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_syncs_at_once_never_send_an_entry_twice() {
    let Some(b) = Backend::start("two_syncs_at_once_never_send_an_entry_twice").await else {
        return;
    };
    let id = employee(&b, "twice").await;
    let dev = Device::new(&b.url());
    dev.onboard("twice").await;
    for _ in 0..3 {
        dev.check_in(&["--no-sync"]).await;
    }
    dev.track(5_000, 0).await;
    let (x, y) = tokio::join!(dev.run_via(&["sync"], None), dev.run_via(&["sync"], None));
    let mut sent = 0;
    for out in [&x, &y] {
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("json");
        // A second send of an entry would come back as a replay (a duplicate).
        assert_eq!(v["duplicates"], 0, "{v}");
        assert_eq!(v["dead_lettered"], 0, "{v}");
        sent += v["sent"].as_u64().unwrap_or(0);
    }
    assert_eq!(sent, 3 + 10, "every entry sent by exactly one of the two");
    assert_eq!(b.delivered(id).await, [3, 3, 5_000, 5_000, 10]);
    assert_eq!(pending(&dev.status().await), 0);
    b.finish().await;
}

/// Bad input to the simulator: typed errors (exit 2, never a panic) and nothing lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tracks_are_refused_and_lose_nothing() {
    let Some(b) = Backend::start("bad_tracks_are_refused_and_lose_nothing").await else {
        return;
    };
    employee(&b, "gpx").await;
    let dev = Device::new(&b.url());
    dev.ok(&["login", "gpx"]).await;
    dev.ok(&["consent", "grant", "location"]).await;
    dev.track(20, 0).await;
    let before = dev.status().await["outbox"].clone();
    let dir = dev.state.path();
    let now = Utc::now() - chrono::Duration::minutes(1);
    let gpx = |lat: &str| {
        format!(
            r#"<?xml version="1.0"?><gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg><trkpt lat="{lat}" lon="37.6"><time>{}</time></trkpt></trkseg></trk></gpx>"#,
            now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )
    };
    let cases: [(&str, String, &str); 4] = [
        ("garbage.gpx", "<gpx><trk>not xml at all".to_owned(), "GPX"),
        ("range.gpx", gpx("91.5"), "GPX"),
        (
            "range.csv",
            format!(
                "recorded_at,lat,lon,accuracy\n{},55.7,181.0,5\n",
                now.to_rfc3339()
            ),
            "lon",
        ),
        (
            "words.csv",
            "recorded_at,lat,lon,accuracy\nyesterday,north,east,good\n".to_owned(),
            "line 2",
        ),
    ];
    for (name, body, expect) in cases {
        let path = dir.join(name);
        std::fs::write(&path, body).expect("write");
        let flag = if name.ends_with(".gpx") {
            "--gpx"
        } else {
            "--csv"
        };
        let out = dev
            .run_via(&["track", flag, path.to_str().expect("utf-8")], None)
            .await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(expect), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
    // A good GPX still records after the refusals, and nothing queued before was lost.
    assert_eq!(dev.status().await["outbox"], before);
    let good = dir.join("good.gpx");
    std::fs::write(&good, gpx("55.8")).expect("write");
    let v = dev
        .ok(&["track", "--gpx", good.to_str().expect("utf-8")])
        .await;
    assert_eq!(v["recorded"], 1, "{v}");
    let s = dev.ok(&["sync"]).await;
    assert_eq!(s["points_accepted"], 21, "{s}");
    b.finish().await;
}

/// Issue 17 case 10: an explicit `sync` right after a killed one sends the dead process's
/// claimed entry at once (the server never deferred it), instead of "waiting until" the
/// claim's lease ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_sync_after_a_killed_sync_sends_at_once() {
    let Some(b) = Backend::start("explicit_sync_after_a_killed_sync_sends_at_once").await else {
        return;
    };
    let id = employee(&b, "impatient").await;
    let dev = Device::new(&b.url());
    dev.ok(&["login", "impatient"]).await;
    dev.ok(&["consent", "grant", "location"]).await;
    dev.track(100, 0).await;
    let proxy = HoldProxy::start(b.addr).await;
    let mut held = proxy.held.lock().await;
    proxy.arm(false);
    let mut child = dev
        .command(&["sync"], Some(&proxy.url()))
        .spawn()
        .expect("spawn sync");
    let line = tokio::select! {
        line = held.recv() => line.unwrap_or_default(),
        status = child.wait() => panic!("sync ended without a request: {status:?}"),
    };
    // Killed while sending the batch: the outbox entry is claimed by the dead process.
    assert!(line.starts_with("POST /api/v1/locations/batch"), "{line}");
    child.start_kill().expect("kill");
    let _ = child.wait().await;
    drop(held);
    // The batch is claimed by the dead process for the lease (the client's timeout + 10 s).
    let s = dev.ok(&["sync"]).await;
    assert_eq!(s["outcome"], "empty", "{s}");
    assert_eq!(s["left"], 0, "{s}");
    assert_eq!(s["points_accepted"], 100, "{s}");
    assert_eq!(b.delivered(id).await[2], 100);
    proxy.task.abort();
    b.finish().await;
}

/// Issue 17 case 10: `faceid client locations` reads a day holding the server's maximum of
/// points in one answer (it failed at 256 KiB: "EOF while parsing a string").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locations_reads_a_day_at_the_servers_maximum() {
    let Some(b) = Backend::start("locations_reads_a_day_at_the_servers_maximum").await else {
        return;
    };
    let id = employee(&b, "busy").await;
    let dev = Device::new(&b.url());
    dev.ok(&["login", "busy"]).await;
    let max = faceid_protocol::location::MAX_TRACK_POINTS;
    // One fix every 4 s with every optional field, from 00:00 of a day.
    let day: DateTime<Utc> = "2026-11-20T00:00:00Z".parse().expect("day");
    let n = i64::try_from(max).expect("fits");
    let inserted = sqlx::query(
        "INSERT INTO location_points (employee_id, device_id, recorded_at, lat, lon, accuracy,
             speed, bearing, altitude, mock, jump, battery)
         SELECT $1, $2, $3 + make_interval(secs => i * 4), 55.75 + i * 1e-7, 37.61 + i * 1e-7,
                12.345678, 1.234567, 123.456789, 187.654321, i % 97 = 0, i % 89 = 0, 80
           FROM generate_series(0, $4 - 1) AS i",
    )
    .bind(id)
    .bind(Uuid::new_v4())
    .bind(day)
    .bind(n)
    .execute(&b.pool)
    .await
    .expect("insert points")
    .rows_affected();
    assert_eq!(inserted, max as u64);
    let v = dev
        .ok(&["locations", "--from", "2026-11-20", "--to", "2026-11-21"])
        .await;
    let points = v.as_array().expect("a list of points");
    assert_eq!(points.len(), max);
    assert_eq!(points[0]["recorded_at"], "2026-11-20T00:00:00Z");
    assert_eq!(points[max - 1]["battery"], 80);
    b.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copied_state_without_the_key_is_refused() {
    let Some(b) = Backend::start("copied_state_without_the_key_is_refused").await else {
        return;
    };
    let id = employee(&b, "keyholder").await;
    let phone = Device::new(&b.url());
    phone.ok(&["login", "keyholder"]).await;
    let key = phone.state.path().join("device-key.pem");
    assert!(key.exists(), "the simulator made its file key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).expect("key").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The administrator allows only this device (and with it, its key).
    let state: Value = serde_json::from_slice(
        &std::fs::read(phone.state.path().join("device.json")).expect("device.json"),
    )
    .expect("json");
    let admin = admin_token(&b).await;
    call(
        reqwest::Method::PATCH,
        format!("{}/api/v1/employees/{id}", b.url()),
        Some(&admin),
        json!({"allowed_device_ids": [state["device_id"]]}),
    )
    .await;

    // Someone copies device.json (the device id) but not the key file: refused.
    let copy = Device::new(&b.url());
    std::fs::copy(
        phone.state.path().join("device.json"),
        copy.state.path().join("device.json"),
    )
    .expect("copy");
    let out = copy.run_via(&["login", "keyholder"], None).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "the copy logged in: {stderr}");
    assert!(stderr.contains("device_key_mismatch"), "{stderr}");
    // The phone itself still signs in, and its refreshes carry the key.
    phone.ok(&["login", "keyholder"]).await;
    phone.ok(&["whoami"]).await;
    b.finish().await;
}
