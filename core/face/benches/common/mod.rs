//! Shared by the benches: on-CPU timing, because the build machine is shared and wall-clock
//! figures are inflated by other processes competing for the cores.
#![allow(dead_code)]

use std::hint::black_box;
use std::time::Duration;

use criterion::BenchmarkGroup;
use criterion::measurement::WallTime;

/// Nanoseconds this thread has spent on a CPU (`CLOCK_THREAD_CPUTIME_ID`; the running
/// thread's `/proc/thread-self/schedstat` is only brought up to date at scheduler ticks, 4 ms
/// steps here, too coarse for single runs).
pub fn thread_cpu_ns() -> Option<u64> {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID).ok()?;
    u64::try_from(t.tv_sec())
        .ok()?
        .checked_mul(1_000_000_000)?
        .checked_add(u64::try_from(t.tv_nsec()).ok()?)
}

/// Benchmark `f` twice: wall clock (`name`) and the thread's on-CPU time (`cpu/name`).
pub fn both<O>(g: &mut BenchmarkGroup<'_, WallTime>, name: &str, mut f: impl FnMut() -> O) {
    g.bench_function(name, |b| b.iter(&mut f));
    if thread_cpu_ns().is_none() {
        return;
    }
    g.bench_function(format!("cpu/{name}"), |b| {
        b.iter_custom(|iters| {
            let start = thread_cpu_ns().unwrap_or(0);
            for _ in 0..iters {
                black_box(f());
            }
            Duration::from_nanos(thread_cpu_ns().unwrap_or(0).saturating_sub(start))
        })
    });
}

/// Median wall and on-CPU milliseconds of `runs` calls of `f` after `warmup` calls (for the
/// summary tables, where criterion's estimates are not at hand).
pub fn medians_ms<O>(runs: usize, warmup: usize, mut f: impl FnMut() -> O) -> (f64, f64) {
    for _ in 0..warmup {
        black_box(f());
    }
    let mut wall = Vec::with_capacity(runs);
    let mut cpu = Vec::with_capacity(runs);
    for _ in 0..runs {
        let (t, c) = (std::time::Instant::now(), thread_cpu_ns());
        black_box(f());
        wall.push(t.elapsed().as_secs_f64() * 1e3);
        if let (Some(a), Some(b)) = (c, thread_cpu_ns()) {
            cpu.push(b.saturating_sub(a) as f64 / 1e6);
        }
    }
    (median(&mut wall), median(&mut cpu))
}

pub fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
