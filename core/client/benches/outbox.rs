//! Outbox and recorder figures.
//!
//! `cargo bench -p faceid-client --bench outbox`
//!
//! - `enqueue/record_points_500`: durable (WAL, synchronous=FULL) commit of one 500-fix batch
//!   entry; criterion reports fixes/s through `Throughput::Elements`.
//! - `recorder/100k`: 100,000 fixes through the full recorder (filters, jump check, batching,
//!   one commit per 500), once, with the wall-clock rate and the peak of live heap bytes above
//!   the baseline measured by a counting global allocator, at 10k and at 100k fixes: flat
//!   memory means both peaks are about the same.

// A global allocator needs `unsafe impl GlobalAlloc`; it only forwards to the system
// allocator and counts.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use chrono::{DateTime, TimeZone, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use faceid_client::location::Recorder;
use faceid_client::outbox::Outbox;
use faceid_protocol::location::{LocationPoint, TrackingPolicy};
use uuid::Uuid;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwards the caller's contract to the system allocator.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwards the caller's contract to the system allocator.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let live = LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed)
                    + (new_size - layout.size());
                PEAK.fetch_max(live, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 6, 0, 0)
        .single()
        .unwrap_or_else(Utc::now)
}

fn fix(i: i64) -> LocationPoint {
    LocationPoint {
        recorded_at: t0() + chrono::Duration::seconds(5 * i),
        lat: 55.75 + (i % 1000) as f64 * 1e-5,
        lon: 37.61 + (i / 1000) as f64 * 1e-5,
        accuracy: 8.0,
        speed: Some(1.3),
        bearing: Some(90.0),
        altitude: Some(150.0),
        mock: false,
        jump: false,
        battery: Some(77),
    }
}

fn enqueue(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let ob = Outbox::open_in(dir.path(), Uuid::new_v4()).unwrap_or_else(|e| panic!("{e}"));
    let batch: Vec<LocationPoint> = (0..500).map(fix).collect();
    let now = t0() + chrono::Duration::days(2);
    let mut g = c.benchmark_group("enqueue");
    g.throughput(Throughput::Elements(batch.len() as u64));
    g.sample_size(30);
    g.bench_function("record_points_500", |b| {
        b.iter(|| {
            let n = ob
                .record_points(black_box(&batch), None, now)
                .unwrap_or_else(|e| panic!("{e}"));
            black_box(n)
        })
    });
    g.finish();
}

fn recorder_run(n: i64) -> (f64, usize) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let ob =
        Arc::new(Outbox::open_in(dir.path(), Uuid::new_v4()).unwrap_or_else(|e| panic!("{e}")));
    let mut rec = Recorder::new(ob).unwrap_or_else(|e| panic!("{e}"));
    rec.set_policy(TrackingPolicy {
        enabled: true,
        interval_s: 5,
        working_hours: None,
        max_accuracy_m: 50.0,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    rec.set_consent(true);
    let now = t0() + chrono::Duration::days(30);
    let baseline = LIVE.load(Ordering::Relaxed);
    PEAK.store(baseline, Ordering::Relaxed);
    let start = Instant::now();
    let mut chunk = Vec::with_capacity(500);
    for i in 0..n {
        // The shell hands fixes over as they come; a feeding loop reuses one buffer.
        chunk.push(fix(i));
        if chunk.len() == 500 {
            rec.record_many(&chunk, now)
                .unwrap_or_else(|e| panic!("{e}"));
            chunk.clear();
        }
    }
    if !chunk.is_empty() {
        rec.record_many(&chunk, now)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let secs = start.elapsed().as_secs_f64();
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(baseline);
    let stats = rec.stats();
    assert_eq!(stats.recorded, n as u64, "every fix recorded");
    (n as f64 / secs, peak)
}

fn recorder(_c: &mut Criterion) {
    let (rate_10k, peak_10k) = recorder_run(10_000);
    let (rate_100k, peak_100k) = recorder_run(100_000);
    eprintln!(
        "recorder/10k:  {rate_10k:.0} fixes/s, peak live heap above baseline {:.1} KiB",
        peak_10k as f64 / 1024.0
    );
    eprintln!(
        "recorder/100k: {rate_100k:.0} fixes/s, peak live heap above baseline {:.1} KiB",
        peak_100k as f64 / 1024.0
    );
}

criterion_group!(benches, enqueue, recorder);
criterion_main!(benches);
