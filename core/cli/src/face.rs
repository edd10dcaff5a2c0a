//! `faceid face …`: the face engine from the command line. `--json` prints one JSON document
//! on stdout; otherwise a short human summary.
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use faceid_face::detect::{self, DetectorConfig};
use faceid_face::eval;
use faceid_face::quality::{self, CaptureMode, QualityConfig, QualityVerdict};
use faceid_face::{Descriptor, Detection, Engine, EngineConfig, Gallery};
use image::RgbImage;
use serde_json::json;

#[derive(Args)]
pub struct FaceArgs {
    /// Model directory (default: FACEID_MODEL_DIR, else models/cache, else ../shared/models).
    #[arg(long, global = true, env = "FACEID_MODEL_DIR")]
    models: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: FaceCommand,
}

#[derive(Subcommand)]
enum FaceCommand {
    /// Detect faces: boxes, 5 landmarks, scores, and a quality verdict (typed reasons) per face
    /// and for the capture as a whole.
    Detect {
        image: PathBuf,
        /// Detector input size (longest side): 320 check-in, 640 enrolment.
        #[arg(long, default_value_t = 640)]
        size: u32,
        /// Capture rules for the overall verdict: check-in refuses several faces, kiosk takes
        /// the largest.
        #[arg(long, value_enum, default_value_t = Mode::CheckIn)]
        mode: Mode,
    },
    /// Descriptor of the largest face, with its model id.
    Embed {
        image: PathBuf,
        /// Embedder id (default: the engine's default).
        #[arg(long)]
        model: Option<String>,
    },
    /// Are two photos the same person? Prints distance, threshold, same, model.
    Verify {
        image_a: PathBuf,
        image_b: PathBuf,
        #[arg(long)]
        model: Option<String>,
    },
    /// Passive liveness score of the largest face (the whole, uncropped photo).
    Liveness {
        image: PathBuf,
        /// Decision threshold on the mean "real" probability.
        #[arg(long)]
        threshold: Option<f32>,
    },
    /// 1:N: who is this? DIR holds one folder of photos per person.
    Identify {
        #[arg(long)]
        gallery: PathBuf,
        image: PathBuf,
        #[arg(long)]
        model: Option<String>,
    },
    /// Verification accuracy on DIR laid out as <source>/<identity>/<photos>, with the
    /// operating point at the shipped threshold; or, with --identify, open-set 1:N as the kiosk
    /// does; or, with --liveness, passive liveness false rejects on the bona fide photos.
    Eval {
        dir: PathBuf,
        #[arg(long)]
        model: Option<String>,
        /// Detector input size (longest side).
        #[arg(long, default_value_t = 640)]
        size: u32,
        /// all-pairs: every pair of the set; leave-one-source-out: for each source folder, the
        /// threshold (and a template fitted on it) chosen on the other sources, measured on it.
        #[arg(long, value_enum, default_value_t = Protocol::AllPairs)]
        protocol: Protocol,
        /// Target FAR at which leave-one-source-out chooses each fold's threshold.
        #[arg(long, default_value_t = 1e-3)]
        target_far: f64,
        /// With leave-one-source-out: also score the fusion of --model with this embedder
        /// (normalisation, weight and threshold fitted on the other sources in every fold).
        #[arg(long, requires = "model")]
        fuse_with: Option<String>,
        /// Report the operating point at this threshold instead of the manifest's (to measure
        /// a candidate threshold before it ships).
        #[arg(long)]
        at_threshold: Option<f32>,
        /// Open-set 1:N: galleries of one photo per identity, probes from the other photos and
        /// from identities not in the gallery, the kiosk's threshold and margin.
        #[arg(long, conflicts_with_all = ["liveness", "protocol"])]
        identify: bool,
        /// Gallery sizes for --identify (sizes the set cannot fill are skipped).
        #[arg(long, value_delimiter = ',', default_value = "1,2,5,10,15,20")]
        gallery_sizes: Vec<usize>,
        /// Random galleries per size for --identify.
        #[arg(long, default_value_t = 200)]
        repeats: usize,
        /// Gallery sizes --identify extrapolates to from the real distances.
        #[arg(long, value_delimiter = ',', default_value = "100,1000,10000")]
        extrapolate: Vec<usize>,
        /// Passive liveness on every identity photo (bona fide) and the liveness/ samples.
        #[arg(long, conflicts_with_all = ["identify", "protocol"])]
        liveness: bool,
    },
    /// On-CPU cost of a check-in measured as the server measures it (best frame + challenge
    /// frames, each re-encoded as a 640 px JPEG like the phone's upload, check-in rules,
    /// passive liveness), for every --model in alternating rounds in this one process.
    CheckInCost {
        /// Frames, in capture order: the first is the best frame and also the first challenge
        /// frame (uploaded as the same bytes, as the phone does).
        #[arg(required = true)]
        frames: Vec<PathBuf>,
        /// Embedder (model or fusion id); give two or more to compare them.
        #[arg(long = "model", required = true)]
        embedders: Vec<String>,
        #[arg(long, default_value_t = 15)]
        rounds: usize,
        /// Check-ins per model in each round (the round's figure is their median).
        #[arg(long, default_value_t = 6)]
        runs: usize,
    },
    /// Measure an embedder template for YuNet's landmarks from dlib 68-point annotations
    /// (dlib's face chip of each annotated face, YuNet's landmarks mapped into it, averaged).
    FitDlibTemplate {
        /// imglab XML with 68 parts per box (e.g. dlib/_annotations/*_with_face_landmarks.xml).
        #[arg(required = true)]
        annotations: Vec<PathBuf>,
        #[arg(long, default_value_t = 640)]
        size: u32,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Protocol {
    AllPairs,
    LeaveOneSourceOut,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Mode {
    CheckIn,
    Kiosk,
}

impl From<Mode> for CaptureMode {
    fn from(m: Mode) -> Self {
        match m {
            Mode::CheckIn => CaptureMode::CheckIn,
            Mode::Kiosk => CaptureMode::Kiosk,
        }
    }
}

/// A verdict with the user-facing hint of each reason, for printing.
fn verdict_json(v: &QualityVerdict) -> serde_json::Value {
    json!({
        "ok": v.ok,
        "reasons": v.reasons,
        "codes": v.reasons.iter().map(|r| r.code()).collect::<Vec<_>>(),
        "hints": v.reasons.iter().map(|r| r.hint()).collect::<Vec<_>>(),
        "metrics": v.metrics,
    })
}

fn verdict_line(v: &QualityVerdict) -> String {
    if v.ok {
        return "ok".to_owned();
    }
    let r: Vec<String> = v
        .reasons
        .iter()
        .map(|r| format!("{} ({})", r.code(), r.hint()))
        .collect();
    r.join("; ")
}

fn load_image(path: &Path) -> Result<RgbImage> {
    faceid_face::decode::open(path).with_context(|| format!("{}", path.display()))
}

fn engine(args: &FaceArgs, embedders: Vec<String>, liveness: bool) -> Result<Engine> {
    let mut cfg = match &args.models {
        Some(d) => EngineConfig::new(d),
        None => EngineConfig::from_env()?,
    };
    if let Some(first) = embedders.first() {
        cfg.default_embedder = first.clone();
    }
    cfg.embedders = embedders;
    cfg.liveness = liveness;
    Ok(Engine::load(&cfg)?)
}

/// Nanoseconds this thread has spent on a CPU (the machine is shared: wall time is not the
/// engine's cost).
fn thread_cpu_ns() -> Result<u64> {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID)?;
    Ok(u64::try_from(t.tv_sec())? * 1_000_000_000 + u64::try_from(t.tv_nsec())?)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// `faceid face check-in-cost`: each model's engine measures the same check-in in turn, round
/// after round; per model the median on-CPU ms over all runs, and per round each model's
/// median relative to the first model's.
fn check_in_cost(
    args: &FaceArgs,
    frames: &[PathBuf],
    models: &[String],
    rounds: usize,
    runs: usize,
) -> Result<()> {
    use faceid_face::measure::TimedFrame;
    let engines: Vec<Engine> = models
        .iter()
        .map(|m| engine(args, vec![m.clone()], true))
        .collect::<Result<_>>()?;
    let jpegs: Vec<Vec<u8>> = frames
        .iter()
        .map(|f| Ok(faceid_face::decode::encode_jpeg(&load_image(f)?, 640, 85)?))
        .collect::<Result<_>>()?;
    let best = &jpegs[0];
    let timed: Vec<TimedFrame<'_>> = jpegs
        .iter()
        .map(|b| TimedFrame {
            bytes: b,
            captured_at_ms: None,
        })
        .collect();
    let rules = faceid_face::MeasureRules::check_in();
    let once = |e: &Engine| -> Result<f64> {
        let t = thread_cpu_ns()?;
        let m = faceid_face::measure(e, best, &timed, None, &rules)?;
        std::hint::black_box(m);
        Ok((thread_cpu_ns()? - t) as f64 / 1e6)
    };
    for e in &engines {
        let m = faceid_face::measure(e, best, &timed, None, &rules)?;
        let challenge_models: Vec<String> = m
            .challenge_frames
            .iter()
            .filter_map(|f| f.descriptor.as_ref().map(|d| d.model.0.clone()))
            .collect();
        println!(
            "{}: best frame {} ({} values), challenge frames {:?}",
            e.embedder(None)?.model_id(),
            m.descriptor.model,
            m.descriptor.values.len(),
            challenge_models
        );
    }
    let mut all: Vec<Vec<f64>> = vec![Vec::new(); engines.len()];
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); engines.len()];
    for _ in 0..rounds {
        let mut round = Vec::with_capacity(engines.len());
        for (k, e) in engines.iter().enumerate() {
            let mut ms = (0..runs).map(|_| once(e)).collect::<Result<Vec<f64>>>()?;
            round.push(median(&mut ms));
            all[k].extend(ms);
        }
        for (k, r) in round.iter().enumerate() {
            ratios[k].push(r / round[0]);
        }
    }
    println!(
        "check-in: best frame + {} challenge frames (the first is the best frame's bytes), \
         640 px; {rounds} alternating rounds of {runs}, on-CPU ms (one thread):",
        frames.len()
    );
    for (k, m) in models.iter().enumerate() {
        let med = median(&mut all[k]);
        println!(
            "  {m:24} median {med:.2} ms ({:.1} check-ins/s per core); median round ratio to {} \
             {:.3} (rounds {:.3}–{:.3})",
            1000.0 / med,
            models[0],
            median(&mut ratios[k]),
            ratios[k].iter().copied().fold(f64::INFINITY, f64::min),
            ratios[k].iter().copied().fold(f64::NEG_INFINITY, f64::max),
        );
    }
    Ok(())
}

fn detector_cfg(size: u32) -> DetectorConfig {
    DetectorConfig {
        input_size: size,
        ..DetectorConfig::ENROL
    }
}

/// Largest face (with the border retry for tight crops), or an error naming the file.
fn face_of(engine: &Engine, img: &RgbImage, path: &Path) -> Result<Detection> {
    let (dets, _) = engine.detect_with_border_retry(img, &DetectorConfig::ENROL)?;
    detect::largest(&dets)
        .copied()
        .with_context(|| format!("{}: no face found", path.display()))
}

fn embed_file(
    engine: &Engine,
    path: &Path,
    model: Option<&str>,
) -> Result<(Descriptor, Detection)> {
    let img = load_image(path)?;
    let face = face_of(engine, &img, path)?;
    Ok((engine.embed(&img, &face, model)?, face))
}

fn print_json(v: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn model_list(model: &Option<String>) -> Vec<String> {
    model.iter().cloned().collect()
}

pub fn run(args: FaceArgs) -> Result<ExitCode> {
    match &args.command {
        FaceCommand::Detect { image, size, mode } => {
            let e = engine(&args, Vec::new(), false)?;
            let img = load_image(image)?;
            let t = std::time::Instant::now();
            let dets = e.detect(&img, &detector_cfg(*size))?;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            let qcfg = QualityConfig::default();
            let per_face = quality::assess_each(&img, &dets, &qcfg);
            let capture = quality::assess_with(&img, &dets, (*mode).into(), &qcfg);
            if args.json {
                let faces: Vec<_> = dets
                    .iter()
                    .zip(&per_face)
                    .map(|(d, q)| json!({"detection": d, "quality": verdict_json(q)}))
                    .collect();
                print_json(&json!({
                    "image": image, "width": img.width(), "height": img.height(),
                    "detector": e.detector().model_id(), "input_size": size,
                    "faces": faces, "capture": verdict_json(&capture), "ms": ms,
                }))?;
            } else {
                println!(
                    "{}: {}x{}, {} face(s) ({ms:.1} ms at {size}); capture: {}",
                    image.display(),
                    img.width(),
                    img.height(),
                    dets.len(),
                    verdict_line(&capture)
                );
                for (i, (d, q)) in dets.iter().zip(&per_face).enumerate() {
                    let b = d.bbox;
                    println!(
                        "  #{i} score {:.3} box x={:.0} y={:.0} w={:.0} h={:.0} eyes ({:.0},{:.0}) ({:.0},{:.0})",
                        d.score,
                        b.x,
                        b.y,
                        b.width,
                        b.height,
                        d.landmarks.right_eye().x,
                        d.landmarks.right_eye().y,
                        d.landmarks.left_eye().x,
                        d.landmarks.left_eye().y
                    );
                    println!("     quality: {}", verdict_line(q));
                }
            }
        }
        FaceCommand::Embed { image, model } => {
            let e = engine(&args, model_list(model), false)?;
            let (d, face) = embed_file(&e, image, model.as_deref())?;
            if args.json {
                print_json(&json!({"model": d.model, "descriptor": d.values, "face": face}))?;
            } else {
                println!("model {} ({} values)", d.model, d.values.len());
                let s: Vec<String> = d.values.iter().map(|v| format!("{v:.5}")).collect();
                println!("{}", s.join(" "));
            }
        }
        FaceCommand::Verify {
            image_a,
            image_b,
            model,
        } => {
            let e = engine(&args, model_list(model), false)?;
            let (a, _) = embed_file(&e, image_a, model.as_deref())?;
            let (b, _) = embed_file(&e, image_b, model.as_deref())?;
            let v = e.verify(&a, &b)?;
            if args.json {
                print_json(&v)?;
            } else {
                println!(
                    "{}: distance {:.4}, threshold {:.4} ({})",
                    if v.same { "same" } else { "not same" },
                    v.distance,
                    v.threshold,
                    v.model
                );
            }
        }
        FaceCommand::Liveness { image, threshold } => {
            let mut e = engine(&args, Vec::new(), true)?;
            let img = load_image(image)?;
            let dets = e.detect(&img, &DetectorConfig::ENROL)?;
            let Some(face) = detect::largest(&dets).copied() else {
                bail!("{}: no face found", image.display());
            };
            if let Some(t) = threshold {
                e = with_liveness_threshold(e, *t);
            }
            let s = e.passive_liveness(&img, &face)?;
            if args.json {
                print_json(&s)?;
            } else {
                println!(
                    "{}: score {:.4} (threshold {:.2}) -> {}",
                    image.display(),
                    s.score,
                    s.threshold,
                    if s.live { "live" } else { "SPOOF" }
                );
                for (m, p) in &s.models {
                    println!("  {m}: real {p:.4}");
                }
            }
        }
        FaceCommand::Identify {
            gallery,
            image,
            model,
        } => {
            let e = engine(&args, model_list(model), false)?;
            let emb = e.embedder(model.as_deref())?;
            let mut g = Gallery::new(emb.model_id(), emb.metric(), emb.dims());
            let mut people: Vec<_> = std::fs::read_dir(gallery)
                .with_context(|| format!("{}", gallery.display()))?
                .filter_map(|x| x.ok())
                .map(|x| x.path())
                .filter(|p| p.is_dir())
                .collect();
            people.sort();
            let mut skipped = Vec::new();
            for p in people {
                let person = p
                    .file_name()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let mut files: Vec<_> = std::fs::read_dir(&p)?
                    .filter_map(|x| x.ok())
                    .map(|x| x.path())
                    .filter(|f| f.is_file())
                    .collect();
                files.sort();
                for f in files {
                    match embed_file(&e, &f, model.as_deref()) {
                        Ok((d, _)) => g.add(&person, &d)?,
                        Err(err) => skipped.push(format!("{err:#}")),
                    }
                }
            }
            let (probe, _) = embed_file(&e, image, model.as_deref())?;
            let (_, threshold, margin) = e.match_params(&probe.model)?;
            let r = g.identify(&probe, threshold, margin)?;
            if args.json {
                print_json(&json!({"result": r, "templates": g.len(), "skipped": skipped}))?;
            } else {
                match &r.decision {
                    faceid_face::Decision::Match { person } => println!("match: {person}"),
                    faceid_face::Decision::Unknown { reason } => println!("unknown ({reason:?})"),
                }
                if let Some(b) = &r.best {
                    println!("  best   {} at {:.4}", b.person, b.distance);
                }
                if let Some(s) = &r.second {
                    println!("  second {} at {:.4}", s.person, s.distance);
                }
                println!(
                    "  threshold {:.4}, margin {:.4}, {} templates, model {}",
                    r.threshold,
                    r.margin,
                    g.len(),
                    r.model
                );
                for s in skipped {
                    println!("  skipped: {s}");
                }
            }
        }
        FaceCommand::Eval {
            dir,
            model,
            size,
            protocol,
            target_far,
            fuse_with,
            at_threshold,
            identify,
            gallery_sizes,
            repeats,
            extrapolate,
            liveness,
        } => {
            if *liveness {
                let e = engine(&args, model_list(model), true)?;
                let r = eval::liveness::evaluate_liveness(&e, dir, &detector_cfg(*size))?;
                if args.json {
                    print_json(&r)?;
                } else {
                    print_liveness(&r);
                }
                return Ok(ExitCode::SUCCESS);
            }
            if let Some(other) = fuse_with {
                anyhow::ensure!(
                    *protocol == Protocol::LeaveOneSourceOut,
                    "--fuse-with needs --protocol leave-one-source-out"
                );
                let mut models = model_list(model);
                models.push(other.clone());
                let e = engine(&args, models, false)?;
                let a = eval::embed_set(&e, dir, model.as_deref(), &detector_cfg(*size))?;
                let b = eval::embed_set(&e, dir, Some(other), &detector_cfg(*size))?;
                let r = eval::leave_one_source_out_fused(&a, &b, *target_far);
                if args.json {
                    print_json(&r)?;
                } else {
                    print_fused(&r);
                }
                return Ok(ExitCode::SUCCESS);
            }
            let e = engine(&args, model_list(model), false)?;
            let mut set = eval::embed_set(&e, dir, model.as_deref(), &detector_cfg(*size))?;
            if let Some(t) = at_threshold {
                set.threshold = Some(*t);
            }
            if *identify {
                let r = eval::identification(&set, gallery_sizes, *repeats, extrapolate, 24)
                    .with_context(|| {
                        format!(
                            "model {} has no calibrated threshold to identify with",
                            set.model
                        )
                    })?;
                if args.json {
                    print_json(&r)?;
                } else {
                    print_identify(&r);
                }
            } else if *protocol == Protocol::LeaveOneSourceOut {
                let r = eval::leave_one_source_out(&set, *target_far);
                if args.json {
                    print_json(&r)?;
                } else {
                    print_loso(&r);
                }
            } else {
                let r = eval::report(&set).ok_or_else(|| eval::EvalError::NoPairs(dir.clone()))?;
                if args.json {
                    print_json(&r)?;
                } else {
                    print_eval(&r);
                }
            }
        }
        FaceCommand::CheckInCost {
            frames,
            embedders,
            rounds,
            runs,
        } => check_in_cost(&args, frames, embedders, *rounds, *runs)?,
        FaceCommand::FitDlibTemplate { annotations, size } => {
            let e = engine(&args, Vec::new(), false)?;
            let fit = eval::fit_template_from_dlib_annotations(
                e.detector(),
                annotations,
                &detector_cfg(*size),
            )?;
            if args.json {
                print_json(&fit)?;
            } else {
                println!(
                    "{} annotated faces, {} matched by YuNet",
                    fit.annotated, fit.matched
                );
                let names = [
                    "right eye",
                    "left eye",
                    "nose tip",
                    "right mouth",
                    "left mouth",
                ];
                for (i, n) in names.iter().enumerate() {
                    println!(
                        "  {n:12} mean ({:.2}, {:.2})  median ({:.2}, {:.2})  sd ({:.2}, {:.2})",
                        fit.mean[i][0],
                        fit.mean[i][1],
                        fit.median[i][0],
                        fit.median[i][1],
                        fit.sd[i][0],
                        fit.sd[i][1]
                    );
                }
                let t: Vec<String> = fit
                    .median
                    .iter()
                    .map(|p| format!("[{:.2}, {:.2}]", p[0], p[1]))
                    .collect();
                println!("template = [{}]", t.join(", "));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn with_liveness_threshold(e: Engine, t: f32) -> Engine {
    e.with_liveness_threshold(t)
}

fn print_eval(r: &eval::EvalReport) {
    println!("set {}  model {} ({:?})", r.set, r.model, r.metric);
    println!(
        "images {} (derived copies left out: {}), decode errors {}, no face {}, needed a border {}",
        r.images, r.derived_excluded, r.decode_errors, r.no_face, r.needed_border
    );
    for f in &r.no_face_files {
        println!("  no face: {f}");
    }
    println!(
        "pairs: {} genuine, {} impostor",
        r.genuine_pairs, r.impostor_pairs
    );
    println!(
        "EER {:.2}% (threshold {:.4})",
        r.eer * 100.0,
        r.eer_threshold
    );
    println!(
        "TAR {:.1}% at FAR 1e-2 (threshold {:.4})",
        r.tar_at_far_1e_2 * 100.0,
        r.threshold_at_far_1e_2
    );
    println!(
        "TAR {:.1}% at FAR 1e-3 (threshold {:.4}; {} impostor pairs accepted)",
        r.tar_at_far_1e_3 * 100.0,
        r.threshold_at_far_1e_3,
        r.impostors_accepted_at_1e_3
    );
    if let (Some(t), Some(ga), Some(ia)) = (
        r.threshold,
        r.genuine_accepted_at_threshold,
        r.impostors_accepted_at_threshold,
    ) {
        println!(
            "at the shipped threshold {t:.4}: TAR {} ({ga} of {} genuine), FAR {} ({ia} of {} impostor pairs accepted)",
            pct(r.tar_at_threshold),
            r.genuine_pairs,
            pct(r.far_at_threshold),
            r.impostor_pairs
        );
    } else {
        println!("no shipped threshold for this model");
    }
    for (name, d) in [("genuine", &r.genuine), ("impostor", &r.impostor)] {
        if let Some(d) = d {
            println!(
                "{name:9} n={} min {:.4} p5 {:.4} median {:.4} p95 {:.4} max {:.4}",
                d.count, d.min, d.p05, d.median, d.p95, d.max
            );
        }
    }
    println!("farthest genuine pairs:");
    for p in &r.hardest_genuine {
        println!("  {:.4} {} ~ {}", p.distance, p.a, p.b);
    }
    println!("closest impostor pairs:");
    for p in &r.hardest_impostor {
        println!("  {:.4} {} ~ {}", p.distance, p.a, p.b);
    }
    println!("embedding {:.1} ms per face", r.embed_ms);
}

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".to_owned(), |v| format!("{:.2}%", v * 100.0))
}

fn op_line(p: &eval::protocol::OperatingPoint) -> String {
    format!(
        "TAR {} ({}/{}), FAR {} ({}/{})",
        pct(p.tar),
        p.genuine_accepted,
        p.genuine_pairs,
        pct(p.far),
        p.impostors_accepted,
        p.impostor_pairs
    )
}

fn print_loso(r: &eval::LosoReport) {
    println!(
        "set {}  model {} ({:?})  protocol leave-one-source-out, threshold chosen at FAR {}",
        r.set, r.model, r.metric, r.loso.target_far
    );
    println!(
        "images {}, no face {}; all pairs: {} genuine, {} impostor",
        r.images, r.no_face, r.genuine_pairs, r.impostor_pairs
    );
    if let (Some(t), Some(ia)) = (r.threshold, r.impostors_accepted_at_threshold) {
        println!(
            "at the shipped threshold {t:.4} (all pairs): TAR {}, FAR {} ({ia} impostor pairs accepted)",
            pct(r.tar_at_threshold),
            pct(r.far_at_threshold),
        );
    }
    if let Some(s) = &r.template_fitted_on {
        println!("template fitted on `{s}`: its fold uses the unfitted template");
    }
    for f in &r.loso.folds {
        let chosen = f
            .chosen_threshold
            .map_or_else(|| "n/a".to_owned(), |t| format!("{t:.4}"));
        println!(
            "held out {:18} fit on {}g/{}i, chosen {chosen}: {}; shipped: {}; EER {}",
            f.source,
            f.fit_genuine_pairs,
            f.fit_impostor_pairs,
            f.at_chosen
                .as_ref()
                .map_or_else(|| "n/a".to_owned(), op_line),
            f.at_shipped
                .as_ref()
                .map_or_else(|| "n/a".to_owned(), op_line),
            pct(f.eer)
        );
    }
    for (name, p) in [
        ("chosen", &r.loso.pooled_at_chosen),
        ("shipped", &r.loso.pooled_at_shipped),
    ] {
        print_pooled(name, p);
    }
}

fn print_pooled(name: &str, p: &eval::protocol::Pooled) {
    println!(
        "pooled at {name:7}: TAR mean {} worst {} ({}), FAR mean {} worst {} ({}); counts {}",
        pct(p.mean_tar),
        pct(p.worst_tar),
        p.worst_tar_source.as_deref().unwrap_or("-"),
        pct(p.mean_far),
        pct(p.worst_far),
        p.worst_far_source.as_deref().unwrap_or("-"),
        p.counts.as_ref().map_or_else(|| "n/a".to_owned(), op_line)
    );
}

fn print_fused(r: &eval::FusedLosoReport) {
    println!(
        "set {}  fusion of {} + {}  protocol leave-one-source-out, fitted at FAR {}",
        r.set, r.models[0], r.models[1], r.fused.loso.target_far
    );
    println!(
        "images {}; pairs embedded by both: {} genuine, {} impostor",
        r.images, r.genuine_pairs, r.impostor_pairs
    );
    for f in &r.fused.loso.folds {
        let fusion = r
            .fused
            .fusions
            .iter()
            .find(|(s, _)| *s == f.source)
            .map_or_else(
                || "n/a".to_owned(),
                |(_, x)| format!("weight {:.2}", x.weight),
            );
        println!(
            "held out {:18} fit on {}g/{}i, {fusion}, chosen {}: {}; EER {}",
            f.source,
            f.fit_genuine_pairs,
            f.fit_impostor_pairs,
            f.chosen_threshold
                .map_or_else(|| "n/a".to_owned(), |t| format!("{t:.4}")),
            f.at_chosen
                .as_ref()
                .map_or_else(|| "n/a".to_owned(), op_line),
            pct(f.eer)
        );
    }
    print_pooled("chosen", &r.fused.loso.pooled_at_chosen);
    for (source, f) in &r.fused.fusions {
        println!(
            "fold {source:18} fusion: weight {:.2}, impostor mean {:?}, std {:?}",
            f.weight, f.mean, f.std
        );
    }
    match &r.all_pairs {
        Some(f) => println!(
            "fitted on all pairs: weight {:.2}, impostor mean [{:.5}, {:.5}], std [{:.5}, {:.5}]",
            f.weight, f.mean[0], f.mean[1], f.std[0], f.std[1]
        ),
        None => println!("fitted on all pairs: n/a"),
    }
}

fn print_identify(r: &eval::IdentifyReport) {
    println!(
        "set {}  model {} ({:?})  open-set 1:N, threshold {:.4}, margin {:.4}",
        r.set, r.model, r.metric, r.threshold, r.margin
    );
    println!(
        "{} embedded photos, {} identities ({} with two or more photos); {} random galleries per size (seed {})",
        r.images, r.identities, r.enrollable_identities, r.repeats, r.seed
    );
    for s in &r.sizes {
        let c = &s.counts;
        println!(
            "gallery {:3}: identified {} ({}/{}), rank-1 {}, wrong person {} ({}), FPIR {} ({}/{})",
            s.gallery_size,
            pct(s.identification_rate),
            c.mated_identified,
            c.mated_probes,
            pct(s.rank1_rate),
            pct(s.misidentification_rate),
            c.mated_misidentified,
            pct(s.fpir),
            c.non_mated_named,
            c.non_mated_probes
        );
    }
    for x in &r.extrapolated {
        println!(
            "extrapolated {:6}: identified {}, FPIR {} ({} of {} impostor comparisons within the threshold; had there been none, FPIR up to {} could not be ruled out)",
            x.gallery_size,
            pct(x.identification_rate),
            pct(x.fpir),
            x.impostors_within_threshold,
            x.impostor_comparisons,
            pct(x.fpir_resolution_limit)
        );
    }
}

fn print_liveness(r: &eval::liveness::LivenessReport) {
    println!(
        "set {}  passive liveness {} at threshold {:.2}, detector {} px",
        r.set,
        r.models.join(" + "),
        r.threshold,
        r.detector_input
    );
    println!(
        "bona fide photos scored {} (no face {}, decode errors {}): {} false rejects, FRR {}",
        r.bona_fide_scored,
        r.bona_fide_no_face,
        r.bona_fide_decode_errors,
        r.false_rejects,
        pct(r.frr)
    );
    print_reject_counts(&r.by_source);
    if let Some(d) = &r.bona_fide_scores {
        println!(
            "bona fide scores: min {:.4} p5 {:.4} median {:.4} p95 {:.4} max {:.4}",
            d.min, d.p05, d.median, d.p95, d.max
        );
    }
    println!("rejected bona fide photos:");
    for s in &r.rejected {
        println!("  {:.4} {}", s.score.unwrap_or(f32::NAN), s.name);
    }
    println!(
        "liveness samples ({} of {} attacks accepted):",
        r.attacks_accepted, r.attacks
    );
    print_samples("  ", &r.reference);
    for c in &r.camera_path {
        println!(
            "camera path {} ({} px, measure): {} frames, {} refused before liveness, {} \
             measured ({} with a quality reason): {} false rejects, FRR {}; uncropped frames \
             (face at most half the frame): {} of {} rejected, FRR {}",
            c.path,
            c.detector_input,
            c.frames,
            c.refused.len(),
            c.measured,
            c.quality_flagged,
            c.false_rejects,
            pct(c.frr),
            c.uncropped.rejected,
            c.uncropped.scored,
            pct(c.uncropped.frr)
        );
        print_reject_counts(&c.by_source);
        for (name, reason) in &c.refused {
            println!("  refused: {name}: {reason}");
        }
        for s in &c.rejected {
            println!("  rejected {:.4} {}", s.score.unwrap_or(f32::NAN), s.name);
        }
        println!(
            "  liveness samples ({} of {} attacks accepted):",
            c.attacks_accepted, c.attacks
        );
        print_samples("    ", &c.reference);
    }
}

fn print_reject_counts(counts: &[eval::liveness::RejectCount]) {
    for s in counts {
        println!(
            "  {:16} {:3} scored, {:3} rejected, FRR {}",
            s.source,
            s.scored,
            s.rejected,
            pct(s.frr)
        );
    }
}

fn print_samples(indent: &str, samples: &[eval::liveness::LivenessSample]) {
    for s in samples {
        println!(
            "{indent}{:6} {:.4} {}",
            s.kind,
            s.score.unwrap_or(f32::NAN),
            s.name
        );
    }
}
