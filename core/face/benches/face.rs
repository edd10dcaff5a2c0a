//! Single-thread benchmarks of the face engine on a 1280×720 JPEG of the shared set, and the
//! same ONNX models in onnxruntime in the same run, with the tract / onnxruntime ratio.
//!
//! `cargo bench -p faceid-face --bench face` (models installed with `models/fetch.sh` and
//! `../shared/faces` required; skips with a message otherwise). `FACEID_BENCH_ORT=0` skips the
//! onnxruntime part (`bash models/bench.sh --json`, a Python venv with onnxruntime);
//! `FACEID_BENCH_PAIRED_ONLY=1` runs only the check-in pipeline against the reference in
//! alternating rounds; `FACEID_BENCH_FUSED=1` the same with dlib's alignment and embedding added
//! on both sides (the fused check-in's identity step).
//!
//! tract runs on its default executor, which is single-threaded (no rayon pool); the bench
//! sets it explicitly so a change of default cannot skew the figures. Every criterion case runs
//! as `name` (wall clock) and `cpu/name` (the thread's on-CPU time, not inflated by other
//! processes on the shared machine). The summary tables printed at the end (memory, per-model
//! ratio, pipeline) use medians of on-CPU and wall time measured here.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::HashMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use faceid_face::decode::decode;
use faceid_face::detect::DetectorConfig;
use faceid_face::model::Plan;
use faceid_face::model::{Task, VerifiedGraph};
use faceid_face::{
    Descriptor, Engine, EngineConfig, Gallery, MeasureRules, Measurement, Metric, ModelId,
};
use tract_onnx::prelude::{Tensor, tvec};
use tract_onnx::tract_hir::tract_core::tract_linalg::multithread::{
    Executor, set_default_executor,
};

mod common;
use common::{both, median, medians_ms, thread_cpu_ns};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn image_path() -> Option<PathBuf> {
    let shared = std::env::var_os("FACEID_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("../shared"));
    let p = shared.join("faces/face_recognition/barack_obama/obama-720p.jpg");
    p.is_file().then_some(p)
}

/// (VmRSS, VmHWM) of this process in MiB.
fn rss_mib() -> (f64, f64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(f64::NAN, |kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// YuNet's padded input (height, width) for a 1280×720 frame at `size`, as the detector makes
/// it (longest side resized to `size`, both sides padded up to multiples of 32).
fn yunet_input(size: usize) -> (usize, usize) {
    let s = size as f64 / 1280.0;
    let h = (720.0 * s).round() as usize;
    (h.div_ceil(32) * 32, size.div_ceil(32) * 32)
}

/// One model input the summary compares with onnxruntime: label as `bench_onnxruntime.py`
/// names it, model id, input height and width.
fn raw_inputs(engine: &Engine) -> Vec<(String, String, usize, usize)> {
    let mut out = Vec::new();
    for m in engine.manifest().models() {
        if m.task == Task::Detect {
            for size in [320, 640] {
                let (h, w) = yunet_input(size);
                out.push((format!("{}@{w}x{h}", m.id), m.id.clone(), h, w));
            }
        } else {
            let [_, _, h, w] = m.input.shape;
            out.push((m.id.clone(), m.id.clone(), h, w));
        }
    }
    out
}

/// onnxruntime's single-thread figures from `models/bench.sh --json`: label → (wall, cpu)
/// median ms, plus the reference pipeline (wall, cpu).
type OrtFigures = (HashMap<String, (f64, f64)>, Option<(f64, f64)>);

/// `FACEID_BENCH_ORT=0`: no onnxruntime figures and no reference pipeline.
fn onnxruntime_skipped() -> bool {
    std::env::var("FACEID_BENCH_ORT").is_ok_and(|v| v == "0")
}

/// `with_pipeline`: also time the reference pipeline (only needed when the alternating
/// comparison could not run).
fn onnxruntime(model_dir: &Path, with_pipeline: bool) -> Option<OrtFigures> {
    if onnxruntime_skipped() {
        eprintln!("onnxruntime part skipped (FACEID_BENCH_ORT=0)");
        return None;
    }
    let mut command = Command::new("bash");
    command
        .arg(workspace().join("models/bench.sh"))
        .args(["--json", "--runs", "30", "--models"])
        .arg(model_dir);
    if !with_pipeline {
        command.arg("--no-pipeline");
    }
    let out = command
        .current_dir(workspace())
        .output()
        .map_err(|e| eprintln!("onnxruntime part skipped: cannot run models/bench.sh: {e}"))
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "onnxruntime part skipped: models/bench.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| eprintln!("onnxruntime part skipped: bad JSON from models/bench.sh: {e}"))
        .ok()?;
    let f = |x: &serde_json::Value, k: &str| x[k].as_f64().unwrap_or(f64::NAN);
    let rows = v["models"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let label = r["label"].as_str()?.to_owned();
            Some((label, (f(r, "median_ms"), f(r, "cpu_median_ms"))))
        })
        .collect();
    let p = &v["pipeline"]["median"];
    let pipeline = p["total_ms"]
        .as_f64()
        .map(|_| (f(p, "total_ms"), f(p, "total_cpu_ms")));
    println!(
        "onnxruntime {} (Python {}), {} thread, load average {} -> {}",
        v["onnxruntime"], v["python"], v["threads"], v["load_average"][0], v["load_average"][1]
    );
    Some((rows, pipeline))
}

fn bench(c: &mut Criterion) {
    let (Some(dir), Some(path)) = (faceid_face::model::default_model_dir(), image_path()) else {
        eprintln!("SKIPPED face benchmarks: models or ../shared/faces missing");
        return;
    };
    set_default_executor(Executor::SingleThread);
    let (rss_before, _) = rss_mib();
    let mut config = EngineConfig::new(&dir);
    // `FACEID_BENCH_EMBEDDER=<model or fusion id>`: the embedder of the check-in (default: the
    // engine's default).
    if let Ok(id) = std::env::var("FACEID_BENCH_EMBEDDER") {
        config.default_embedder = id;
    }
    let engine = Engine::load(&config).expect("engine");
    let bytes = std::fs::read(&path).expect("read");
    let img = decode(&bytes).expect("decode");
    assert_eq!(img.dimensions(), (1280, 720));
    // Build the detector plans for both sizes and run everything once, so memory includes the
    // plans and the first-run scratch buffers.
    engine.detect(&img, &DetectorConfig::ENROL).expect("detect");
    let check = check_in(&engine, &bytes).expect("check-in");
    for emb in engine.embedders() {
        emb.embed(&img, &check.face.landmarks).expect("embed");
    }
    let (rss_after, hwm) = rss_mib();
    let memory = format!(
        "engine memory: RSS {rss_before:.1} MiB before loading, {rss_after:.1} MiB with the \
         detector (2 plans), {} embedders and 2 liveness models loaded and run once \
         (+{:.1} MiB); peak {hwm:.1} MiB",
        engine.embedders().len(),
        rss_after - rss_before
    );
    println!("{memory}");

    if std::env::var("FACEID_BENCH_FIVE_FRAMES").is_ok_and(|v| v == "1") {
        five_frames(&engine);
        return;
    }
    if std::env::var("FACEID_BENCH_FUSED").is_ok_and(|v| v == "1") {
        paired_only(&engine, &dir, &bytes, Fused::WithDlib(&img));
        return;
    }
    if std::env::var("FACEID_BENCH_PAIRED_ONLY").is_ok_and(|v| v == "1") {
        paired_only(&engine, &dir, &bytes, Fused::No);
        return;
    }

    let mut g = c.benchmark_group("face");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_secs(1));
    both(&mut g, "decode_jpeg_1280x720", || {
        decode(black_box(&bytes)).expect("decode")
    });
    for cfg in [DetectorConfig::CHECK_IN, DetectorConfig::ENROL] {
        both(&mut g, &format!("detect_{}", cfg.input_size), || {
            engine.detect(black_box(&img), &cfg).expect("detect")
        });
    }
    let face = check.face;
    for emb in engine.embedders() {
        let id = emb.model_id().0;
        both(&mut g, &format!("align_{id}"), || {
            emb.align(black_box(&img), &face.landmarks).expect("align")
        });
        let chip = emb.align(&img, &face.landmarks).expect("align").chip;
        both(&mut g, &format!("embed_{id}"), || {
            emb.embed_chip(black_box(&chip)).expect("embed")
        });
    }
    let live = engine.liveness().expect("liveness");
    for (i, id) in live.model_ids().iter().enumerate() {
        both(&mut g, &format!("liveness_{id}"), || {
            live.score_model(i, black_box(&img), &face).expect("live")
        });
    }
    // The production entry point: decode + detect at 320 + align + default embedder + both
    // liveness models.
    both(&mut g, "check_in_pipeline", || {
        check_in(&engine, black_box(&bytes)).expect("check-in")
    });
    g.finish();

    let mut g = c.benchmark_group("identify");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    for n in [10_000usize, 100_000] {
        for (model, metric) in [
            ("dlib_resnet_v1", Metric::Euclidean),
            ("mobilefacenet_foamliu", Metric::Cosine),
        ] {
            let (gallery, probe) = random_gallery(model, metric, n);
            both(&mut g, &format!("1toN_{n}_{model}"), || {
                gallery.identify(black_box(&probe), 0.6, 0.05).expect("id")
            });
        }
    }
    g.finish();

    summary(&engine, &dir, &bytes, &memory);
}

/// Where a plan spends its time: on-CPU share per op type over `runs` runs, largest first
/// (tract's own per-node evaluation, timed around each node).
fn op_profile(plan: &Plan, input: &Tensor, runs: usize) -> String {
    let mut per_op: HashMap<String, u64> = HashMap::new();
    for _ in 0..runs {
        let mut state = plan.spawn().expect("state");
        state
            .run_plan_with_eval(tvec!(input.clone().into()), |ctx, st, node, inputs| {
                let t0 = thread_cpu_ns().unwrap_or(0);
                let r = tract_onnx::tract_hir::tract_core::plan::eval(ctx, st, node, inputs);
                let dt = thread_cpu_ns().unwrap_or(0).saturating_sub(t0);
                *per_op.entry(node.op.name().to_string()).or_default() += dt;
                r
            })
            .expect("profiled run");
    }
    let total: u64 = per_op.values().sum::<u64>().max(1);
    let mut v: Vec<_> = per_op.into_iter().collect();
    v.sort_by_key(|e| std::cmp::Reverse(e.1));
    v.iter()
        .take(4)
        .map(|(op, ns)| format!("{op} {:.0}%", 100.0 * *ns as f64 / total as f64))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The plan tract builds with its stock ONNX front end (its own PRelu expansion, its generic
/// depthwise convolution and max-pooling) instead of the engine's (`faceid_face::onnx_ops`),
/// for the comparison row.
fn stock_plan(dir: &Path, file: &str, h: usize, w: usize) -> Option<Plan> {
    use tract_onnx::prelude::*;
    let bytes = std::fs::read(dir.join(file)).ok()?;
    tract_onnx::onnx()
        .model_for_read(&mut bytes.as_slice())
        .and_then(|g| g.with_input_fact(0, f32::fact([1, 3, h, w]).into()))
        .and_then(|g| g.into_optimized())
        .and_then(|g| g.into_runnable())
        .ok()
}

/// `n` random 128-value templates (5 per person) and a random probe.
fn random_gallery(model: &str, metric: Metric, n: usize) -> (Gallery, Descriptor) {
    let mut gallery = Gallery::with_capacity(ModelId(model.into()), metric, 128, n);
    let mut seed = 99u32;
    let mut rnd = move || {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
    };
    let mut row = vec![0f32; 128];
    for i in 0..n {
        row.iter_mut().for_each(|v| *v = rnd());
        gallery
            .add_values(&format!("p{}", i / 5), &row)
            .expect("add");
    }
    let probe = Descriptor {
        model: ModelId(model.into()),
        values: (0..128).map(|_| rnd()).collect(),
    };
    (gallery, probe)
}

/// Raw inference of every model in tract (plan built as the engine builds it: fixed input
/// shape, `into_optimized`) next to onnxruntime on the same file and input shape.
fn summary(engine: &Engine, dir: &Path, bytes: &[u8], memory: &str) {
    const RUNS: usize = 30;
    let mut tract = Vec::new();
    for (label, id, h, w) in raw_inputs(engine) {
        let spec = engine.manifest().get(&id).expect("spec");
        let graph = VerifiedGraph::load(spec, dir).expect("graph");
        let (plan, _) = graph.plan(h, w, &|_| Ok(())).expect("plan");
        let data: Vec<f32> = (0..3 * h * w).map(|i| (i * 37 % 256) as f32).collect();
        let input = Tensor::from_shape(&[1, 3, h, w], &data).expect("tensor");
        let (wall, cpu) = medians_ms(RUNS, 3, || {
            faceid_face::model::run(&plan, input.clone()).expect("run")
        });
        let ops = op_profile(&plan, &input, 5);
        tract.push((label.clone(), wall, cpu, ops));
        if let Some(stock) = stock_plan(dir, &spec.file, h, w) {
            let (wall, cpu) = medians_ms(RUNS, 3, || {
                faceid_face::model::run(&stock, input.clone()).expect("run")
            });
            let ops = op_profile(&stock, &input, 5);
            tract.push((format!("{label}, tract's stock ops"), wall, cpu, ops));
        }
    }
    let paired = paired_pipeline(engine, dir, bytes, Fused::No);
    let ort = onnxruntime(dir, paired.is_none());

    println!("\n{memory}");
    println!(
        "single thread, median of {RUNS} runs, ms (on-CPU time of the thread; wall in brackets)"
    );
    println!(
        "| model (input) | tract | onnxruntime | tract / onnxruntime | tract time by op |\n|---|---|---|---|---|"
    );
    for (label, wall, cpu, ops) in &tract {
        let (ort_cell, ratio) = match ort.as_ref().and_then(|(rows, _)| rows.get(label)) {
            Some(&(ow, oc)) => (format!("{oc:.2} ({ow:.2})"), format!("{:.2}", cpu / oc)),
            None => ("-".to_owned(), "-".to_owned()),
        };
        println!("| `{label}` | {cpu:.2} ({wall:.2}) | {ort_cell} | {ratio} | {ops} |");
    }
    let embedder = engine.embedder(None).expect("default").model_id();
    let label = format!(
        "check-in pipeline (decode + detect 320 + align + {embedder} + 2 liveness; reference: \
         OpenCV + onnxruntime with MobileFaceNet)"
    );
    match paired {
        Some(p) => {
            println!(
                "| {label}, {} alternating rounds of {} runs | {:.2} ({:.2}) | {:.2} ({:.2}) | \
                 **{:.2}** (rounds {:.2}–{:.2}) | |",
                p.rounds.len(),
                PAIRED_RUNS,
                p.ours_cpu,
                p.ours_wall,
                p.ref_cpu,
                p.ref_wall,
                p.ratio,
                p.rounds.iter().copied().fold(f64::INFINITY, f64::min),
                p.rounds.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            );
        }
        None => {
            let (wall, cpu) = medians_ms(RUNS, 3, || {
                check_in(engine, black_box(bytes)).expect("check-in")
            });
            let (ref_cell, ratio) = match ort.as_ref().and_then(|(_, p)| *p) {
                Some((ow, oc)) => (format!("{oc:.2} ({ow:.2})"), format!("{:.2}", cpu / oc)),
                None => ("-".to_owned(), "-".to_owned()),
            };
            println!("| {label} | {cpu:.2} ({wall:.2}) | {ref_cell} | {ratio} | |");
        }
    }
}

/// `FACEID_BENCH_PAIRED_ONLY=1` / `FACEID_BENCH_FUSED=1`: only the check-in pipeline (with
/// dlib's identity step when fused) against the reference in alternating rounds (about 20 s),
/// with every round printed.
fn paired_only(engine: &Engine, dir: &Path, bytes: &[u8], fused: Fused<'_>) {
    let embedder = engine.embedder(None).expect("default").model_id();
    let what = match fused {
        Fused::No => format!("check-in pipeline ({embedder})"),
        Fused::WithDlib(_) => format!(
            "fused check-in identity step (pipeline with {embedder} + {DLIB} alignment and \
             embedding; reference: its pipeline + {DLIB} in onnxruntime)"
        ),
    };
    match paired_pipeline(engine, dir, bytes, fused) {
        Some(p) => {
            let rounds: Vec<String> = p.rounds.iter().map(|r| format!("{r:.3}")).collect();
            println!(
                "{what} against the reference, {} alternating rounds of {PAIRED_RUNS} runs: ours \
                 {:.2} ms on-CPU ({:.2} wall), reference {:.2} ms ({:.2}), median ratio \
                 **{:.3}**; rounds {}",
                p.rounds.len(),
                p.ours_cpu,
                p.ours_wall,
                p.ref_cpu,
                p.ref_wall,
                p.ratio,
                rounds.join(" ")
            );
        }
        None => eprintln!("paired pipeline could not run (see above)"),
    }
}

/// The second embedder of the score fusion.
const DLIB: &str = "dlib_resnet_v1";

/// What the paired comparison times on each side.
#[derive(Clone, Copy)]
enum Fused<'a> {
    /// The check-in pipeline.
    No,
    /// The pipeline, then the detected face aligned to dlib's template and embedded by dlib,
    /// from the frame (decoded once, as a fused check-in reuses the pipeline's frame); the
    /// reference adds the same with onnxruntime (`models/bench.sh --serve --fused`).
    WithDlib(&'a image::RgbImage),
}

/// Rounds (`FACEID_BENCH_ROUNDS` overrides it) and runs per round of the paired pipeline
/// comparison.
const PAIRED_ROUNDS: usize = 15;
const PAIRED_RUNS: usize = 6;

/// The check-in pipeline against the reference, compared round by round.
struct PairedPipeline {
    /// Per round: median on-CPU ms of ours / median on-CPU ms of the reference.
    rounds: Vec<f64>,
    /// Median of the round ratios.
    ratio: f64,
    /// Medians over all runs, ms.
    ours_cpu: f64,
    ours_wall: f64,
    ref_cpu: f64,
    ref_wall: f64,
}

/// Time our check-in pipeline and the reference (`models/bench.sh --serve`, a Python process
/// kept running) in alternating rounds: the shared machine's speed drifts by tens of percent
/// over minutes, and a ratio of figures taken minutes apart measures that drift as much as the
/// code. None (with a message) when the reference cannot run.
fn paired_pipeline(
    engine: &Engine,
    dir: &Path,
    bytes: &[u8],
    fused: Fused<'_>,
) -> Option<PairedPipeline> {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;

    if onnxruntime_skipped() {
        return None;
    }
    let dlib = match fused {
        Fused::No => None,
        Fused::WithDlib(img) => Some((
            img,
            engine
                .embedder(Some(DLIB))
                .map_err(|e| eprintln!("fused comparison skipped: {e}"))
                .ok()?,
        )),
    };
    // One check-in as timed: the pipeline, and dlib's identity step when fused.
    let run = || {
        let m = check_in(engine, black_box(bytes)).expect("check-in");
        if let Some((img, dlib)) = dlib {
            let chip = dlib.align(img, &m.face.landmarks).expect("align").chip;
            black_box(dlib.embed_chip(&chip).expect("embed"));
        }
        m
    };
    let mut command = Command::new("bash");
    command
        .arg(workspace().join("models/bench.sh"))
        .args(["--serve", "--models"])
        .arg(dir);
    if dlib.is_some() {
        command.arg("--fused");
    }
    let mut child = command
        .current_dir(workspace())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| eprintln!("paired pipeline skipped: cannot run models/bench.sh: {e}"))
        .ok()?;
    let mut to_ref = child.stdin.take()?;
    let mut from_ref = BufReader::new(child.stdout.take()?);
    let mut line = String::new();
    let mut read_json = |line: &mut String| -> Option<serde_json::Value> {
        line.clear();
        from_ref.read_line(line).ok()?;
        serde_json::from_str(line)
            .map_err(|e| eprintln!("paired pipeline skipped: reference said {line:?}: {e}"))
            .ok()
    };
    let ready = read_json(&mut line)?;
    println!(
        "reference pipeline server: onnxruntime {}, OpenCV {}",
        ready["onnxruntime"], ready["opencv"]
    );
    let (mut ours_cpu, mut ours_wall, mut ref_cpu, mut ref_wall) = (vec![], vec![], vec![], vec![]);
    let mut rounds = Vec::new();
    for _ in 0..3 {
        run();
    }
    let rounds_wanted = std::env::var("FACEID_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(PAIRED_ROUNDS);
    for _ in 0..rounds_wanted {
        let mut cpu = Vec::new();
        for _ in 0..PAIRED_RUNS {
            let (t, c) = (std::time::Instant::now(), thread_cpu_ns()?);
            black_box(run());
            ours_wall.push(t.elapsed().as_secs_f64() * 1e3);
            cpu.push((thread_cpu_ns()? - c) as f64 / 1e6);
        }
        writeln!(to_ref, "{PAIRED_RUNS}").ok()?;
        let answer = read_json(&mut line)?;
        let floats = |k: &str| -> Vec<f64> {
            answer[k]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_f64())
                .collect()
        };
        let (mut rc, rw) = (floats("cpu_ms"), floats("wall_ms"));
        if rc.len() != PAIRED_RUNS {
            eprintln!("paired pipeline skipped: reference answered {answer}");
            return None;
        }
        rounds.push(median(&mut cpu.clone()) / median(&mut rc));
        ours_cpu.extend(cpu);
        ref_cpu.extend(rc);
        ref_wall.extend(rw);
    }
    drop(to_ref);
    let _ = child.wait();
    Some(PairedPipeline {
        ratio: median(&mut rounds.clone()),
        rounds,
        ours_cpu: median(&mut ours_cpu),
        ours_wall: median(&mut ours_wall),
        ref_cpu: median(&mut ref_cpu),
        ref_wall: median(&mut ref_wall),
    })
}

/// The morning rush's frames (`backend/benches/support/check_in.rs`): the phone's best frame
/// and four challenge frames (neutral, left, neutral, right), each a 640 px JPEG at quality 85.
const FIVE_FRAMES: [&str; 4] = ["obama.jpg", "obama1.jpg", "obama-720p.jpg", "obama2.jpg"];

/// `FACEID_BENCH_FIVE_FRAMES=1`: the engine's on-CPU time for one check-in as the phone uploads
/// it, the best frame sent again as the challenge's reference (measured once), against the same
/// check-in with that reference as other bytes (measured twice, as before the reuse), in
/// alternating rounds. Capacity per core is 1000 / ms check-ins per second.
fn five_frames(engine: &Engine) {
    use faceid_face::measure::TimedFrame;
    let Some(photo) = image_path() else {
        eprintln!("five-frame check-in skipped: no photo set");
        return;
    };
    let dir = photo.parent().expect("photo folder");
    let jpeg = |name: &str| {
        let bytes = std::fs::read(dir.join(name)).expect("photo");
        faceid_face::decode::encode_jpeg(&decode(&bytes).expect("decode"), 640, 85).expect("jpeg")
    };
    let challenge: Vec<Vec<u8>> = FIVE_FRAMES.iter().map(|n| jpeg(n)).collect();
    let best = challenge[0].clone();
    // The same JPEG with one byte after its end marker: the same pixels, other bytes.
    let mut reference_again = best.clone();
    reference_again.push(0);
    let rules = MeasureRules::check_in();
    let run = |first: &[u8]| {
        let mut frames: Vec<TimedFrame<'_>> = challenge
            .iter()
            .map(|b| TimedFrame {
                bytes: b,
                captured_at_ms: None,
            })
            .collect();
        frames[0].bytes = first;
        let c = thread_cpu_ns().expect("thread clock");
        let m = faceid_face::measure(engine, &best, &frames, None, &rules).expect("check-in");
        black_box(m);
        (thread_cpu_ns().expect("thread clock") - c) as f64 / 1e6
    };
    let (once, twice) = (
        faceid_face::measure(
            engine,
            &best,
            &[TimedFrame {
                bytes: &best,
                captured_at_ms: None,
            }],
            None,
            &rules,
        ),
        faceid_face::measure(
            engine,
            &best,
            &[TimedFrame {
                bytes: &reference_again,
                captured_at_ms: None,
            }],
            None,
            &rules,
        ),
    );
    assert_eq!(
        once.expect("measure").challenge_frames,
        twice.expect("measure").challenge_frames,
        "the reused reference is what measuring it again gives"
    );
    let rounds_wanted = std::env::var("FACEID_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(PAIRED_ROUNDS);
    let (mut a, mut b, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds_wanted {
        let mut ra: Vec<f64> = (0..PAIRED_RUNS).map(|_| run(&best)).collect();
        let mut rb: Vec<f64> = (0..PAIRED_RUNS).map(|_| run(&reference_again)).collect();
        ratios.push(median(&mut ra) / median(&mut rb));
        a.extend(ra);
        b.extend(rb);
    }
    let (a, b) = (median(&mut a), median(&mut b));
    println!(
        "five-frame check-in (best + 4 challenge frames, 640 px), {} alternating rounds of \
         {PAIRED_RUNS}: reference frame measured once {a:.2} ms on-CPU ({:.1} check-ins/s per \
         core), measured twice {b:.2} ms ({:.1}/s); median ratio of the rounds **{:.3}**",
        ratios.len(),
        1000.0 / a,
        1000.0 / b,
        median(&mut ratios)
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);

/// The check-in measurement exactly as the server and the phone run it (one best frame, the
/// check-in rules).
fn check_in(engine: &Engine, bytes: &[u8]) -> Result<Measurement, faceid_face::MeasureError> {
    faceid_face::measure(engine, bytes, &[], None, &MeasureRules::check_in())
}
