//! Verification accuracy on a labelled photo set laid out as `<source>/<identity>/<file>`
//! (like `../shared/faces`).
//!
//! Honesty rules: every image found is counted (decode failures and images without a face are
//! reported, never dropped silently); `_group`, `_annotations` and `liveness` folders are not
//! identities; rows of kind `identity_derived` in `MANIFEST.tsv` (resized copies of another
//! photo) are left out of the pairs; thresholds are the same for every identity. All pairs of
//! the embedded images are scored: same identity label = genuine, else impostor.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::detect::{self, DetectorConfig};
use crate::engine::{Engine, EngineError};
use crate::matching::distance;

pub mod identify;
pub mod liveness;
pub mod protocol;

use protocol::{LabeledPair, LeaveOneSourceOut};

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(
        "no genuine or no impostor pairs in {0} (need at least two identities with two photos)"
    )]
    NoPairs(PathBuf),
}

/// One image of the set.
#[derive(Debug, Clone, Serialize)]
pub struct EvalImage {
    pub path: PathBuf,
    pub source: String,
    pub identity: String,
}

/// Folders that are not identities.
const SKIP_DIRS: [&str; 3] = ["_group", "_annotations", "liveness"];

/// List the identity images of `dir`, and the derived copies left out.
pub fn collect_images(dir: &Path) -> Result<(Vec<EvalImage>, Vec<PathBuf>), EvalError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| EvalError::Io { path, source }
    };
    let derived = read_derived(dir);
    let mut images = Vec::new();
    let mut excluded = Vec::new();
    let mut sources: Vec<_> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    sources.sort();
    for src in sources {
        let sname = file_name(&src);
        if SKIP_DIRS.contains(&sname.as_str()) || sname.starts_with('_') || sname.starts_with('.') {
            continue;
        }
        let mut ids: Vec<_> = std::fs::read_dir(&src)
            .map_err(io(&src))?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        ids.sort();
        for id in ids {
            let iname = file_name(&id);
            if SKIP_DIRS.contains(&iname.as_str())
                || iname.starts_with('_')
                || iname.starts_with('.')
            {
                continue;
            }
            let mut files: Vec<_> = std::fs::read_dir(&id)
                .map_err(io(&id))?
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.is_file() && !file_name(p).starts_with('.'))
                .collect();
            files.sort();
            for f in files {
                let rel = format!("{sname}/{iname}/{}", file_name(&f));
                if derived.contains(&rel) {
                    excluded.push(f);
                } else {
                    images.push(EvalImage {
                        path: f,
                        source: sname.clone(),
                        identity: iname.clone(),
                    });
                }
            }
        }
    }
    Ok((images, excluded))
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `local_path` of every `identity_derived` row of `DIR/MANIFEST.tsv` (empty when absent).
fn read_derived(dir: &Path) -> std::collections::HashSet<String> {
    let mut out = std::collections::HashSet::new();
    let Ok(text) = std::fs::read_to_string(dir.join("MANIFEST.tsv")) else {
        return out;
    };
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        return out;
    };
    let cols: Vec<&str> = header.split('\t').collect();
    let (Some(lp), Some(kind)) = (
        cols.iter().position(|c| *c == "local_path"),
        cols.iter().position(|c| *c == "kind"),
    ) else {
        return out;
    };
    for line in lines {
        let f: Vec<&str> = line.split('\t').collect();
        if f.get(kind) == Some(&"identity_derived")
            && let Some(p) = f.get(lp)
        {
            out.insert((*p).to_owned());
        }
    }
    out
}

/// Summary of a score distribution.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Distribution {
    pub count: usize,
    pub min: f32,
    pub p05: f32,
    pub median: f32,
    pub p95: f32,
    pub max: f32,
    pub mean: f32,
}

impl Distribution {
    pub fn of(values: &[f32]) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        let mut v = values.to_vec();
        v.sort_by(f32::total_cmp);
        let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
        Some(Self {
            count: v.len(),
            min: v[0],
            p05: q(0.05),
            median: q(0.5),
            p95: q(0.95),
            max: v[v.len() - 1],
            mean: v.iter().sum::<f32>() / v.len() as f32,
        })
    }
}

/// Error rates from genuine and impostor distances (accept when `distance < threshold`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rates {
    pub eer: f64,
    pub eer_threshold: f32,
    /// (target FAR, TAR, threshold, FAR actually reached)
    pub tar_at_far: Vec<(f64, f64, f32, f64)>,
}

/// EER and TAR at the given FARs. For a target FAR `f`, the threshold is the
/// `(floor(f·N)+1)`-th smallest impostor distance, accepting strictly smaller distances, so at
/// most `floor(f·N)` impostors pass.
pub fn rates(genuine: &[f32], impostor: &[f32], fars: &[f64]) -> Option<Rates> {
    if genuine.is_empty() || impostor.is_empty() {
        return None;
    }
    let mut g = genuine.to_vec();
    let mut im = impostor.to_vec();
    g.sort_by(f32::total_cmp);
    im.sort_by(f32::total_cmp);
    let (ng, ni) = (g.len() as f64, im.len() as f64);
    // count of values < t in a sorted slice
    let below = |v: &[f32], t: f32| v.partition_point(|&x| x < t) as f64;
    let mut tar_at_far = Vec::new();
    for &f in fars {
        let k = (f * ni).floor() as usize;
        let t = if k < im.len() { im[k] } else { f32::INFINITY };
        let far = below(&im, t) / ni;
        tar_at_far.push((f, below(&g, t) / ng, t, far));
    }
    // EER: scan every candidate threshold (each score, and just above it).
    let mut cands: Vec<f32> = g.iter().chain(&im).copied().collect();
    cands.push(f32::INFINITY);
    let mut best = (f64::INFINITY, 0.0, 0f32);
    for &t in &cands {
        for t in [t, next_up(t)] {
            let far = below(&im, t) / ni;
            let frr = 1.0 - below(&g, t) / ng;
            let gap = (far - frr).abs();
            if gap < best.0 {
                best = (gap, (far + frr) / 2.0, t);
            }
        }
    }
    Some(Rates {
        eer: best.1,
        eer_threshold: best.2,
        tar_at_far,
    })
}

fn next_up(x: f32) -> f32 {
    if x.is_finite() {
        f32::from_bits(if x >= 0.0 {
            x.to_bits() + 1
        } else {
            x.to_bits() - 1
        })
    } else {
        x
    }
}

/// A scored pair, for the report's extremes.
#[derive(Debug, Clone, Serialize)]
pub struct ScoredPair {
    pub a: String,
    pub b: String,
    pub distance: f32,
}

/// The full evaluation report. Field names of the headline numbers are fixed (CLI `--json`).
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub set: String,
    pub model: String,
    pub metric: crate::model::Metric,
    pub detector_input: u32,
    /// Identity images used (derived copies excluded).
    pub images: usize,
    pub derived_excluded: usize,
    pub decode_errors: usize,
    pub no_face: usize,
    pub no_face_files: Vec<String>,
    /// Images whose face was only found after adding a border (tight crops).
    pub needed_border: usize,
    pub genuine_pairs: usize,
    pub impostor_pairs: usize,
    pub eer: f64,
    pub eer_threshold: f32,
    #[serde(rename = "tar_at_far_1e-2")]
    pub tar_at_far_1e_2: f64,
    #[serde(rename = "threshold_at_far_1e-2")]
    pub threshold_at_far_1e_2: f32,
    #[serde(rename = "tar_at_far_1e-3")]
    pub tar_at_far_1e_3: f64,
    #[serde(rename = "threshold_at_far_1e-3")]
    pub threshold_at_far_1e_3: f32,
    /// Impostors accepted at the 1e-3 threshold (FAR 1e-3 rests on this few pairs).
    pub impostors_accepted_at_1e_3: usize,
    /// The shipped threshold (the model manifest's), accepting `distance <= threshold`;
    /// `None` (and the figures below with it) for a model not calibrated yet.
    pub threshold: Option<f32>,
    /// TAR and FAR of all pairs at the shipped threshold: what an employer gets.
    pub tar_at_threshold: Option<f64>,
    pub far_at_threshold: Option<f64>,
    pub genuine_accepted_at_threshold: Option<usize>,
    pub impostors_accepted_at_threshold: Option<usize>,
    pub genuine: Option<Distribution>,
    pub impostor: Option<Distribution>,
    /// The five farthest genuine pairs and the five closest impostor pairs.
    pub hardest_genuine: Vec<ScoredPair>,
    pub hardest_impostor: Vec<ScoredPair>,
    /// Mean embedding time per face, milliseconds (single thread).
    pub embed_ms: f64,
}

/// Every identity image of a set, detected and embedded once; the reports are computed from it.
#[derive(Debug, Clone)]
pub struct EmbeddedSet {
    pub set: String,
    pub model: String,
    pub metric: crate::model::Metric,
    /// The shipped 1:1 threshold (`None` for a model not calibrated yet) and 1:N margin of the
    /// model (manifest).
    pub threshold: Option<f32>,
    pub margin: f32,
    pub detector_input: u32,
    pub images: Vec<EvalImage>,
    pub derived_excluded: usize,
    pub decode_errors: usize,
    pub no_face_files: Vec<String>,
    pub needed_border: usize,
    /// (index into `images`, descriptor) of every embedded image.
    pub embedded: Vec<(usize, Vec<f32>)>,
    /// Descriptors of the same faces aligned with the model's unfitted template, when the
    /// shipped template was fitted on photos of one source (`FITTED_TEMPLATES`); same order.
    pub embedded_unfitted: Option<Vec<Vec<f32>>>,
    /// The source folder the shipped template was fitted on, if any.
    pub template_fitted_on: Option<String>,
    pub embed_ms: f64,
    /// Source folder names; `LabeledPair::source_*` index this list.
    pub sources: Vec<String>,
}

/// Templates fitted on photos of the set: (model id, source folder they were fitted on, the
/// unfitted template to use when that source is held out). dlib's template was measured on
/// `dlib/_annotations` (group photos of the `dlib` folder, no identity labels); the unfitted one
/// is derived from dlib's mean face (models/manifest.toml).
const FITTED_TEMPLATES: [(&str, &str, [[f32; 2]; 5]); 1] = [(
    "dlib_resnet_v1",
    "dlib",
    [
        [47.55, 46.60],
        [100.48, 46.60],
        [74.01, 76.56],
        [50.42, 103.02],
        [97.61, 103.02],
    ],
)];

/// Detect and embed every identity image of `dir` with one embedder (default when `None`).
pub fn embed_set(
    engine: &Engine,
    dir: &Path,
    embedder: Option<&str>,
    detector: &DetectorConfig,
) -> Result<EmbeddedSet, EvalError> {
    let emb = engine.embedder(embedder)?;
    let model = emb.model_id();
    let metric = emb.metric();
    let threshold = emb.threshold();
    let margin = emb.margin();
    let fitted = |id: &str| {
        FITTED_TEMPLATES
            .iter()
            .find(|(m, _, _)| *m == id)
            .map(|(_, src, t)| (*src, *t))
    };
    // A fusion whose component has a fitted template swaps that component's part (`Some(k)`).
    let (unfitted, fitted_component) = match emb.components() {
        None => (fitted(&model.0), None),
        Some(parts) => parts
            .iter()
            .enumerate()
            .find_map(|(k, p)| fitted(&p.model_id().0).map(|u| (Some(u), Some(k))))
            .unwrap_or((None, None)),
    };
    let (images, derived) = collect_images(dir)?;
    let mut decode_errors = 0;
    let mut no_face_files = Vec::new();
    let mut needed_border = 0;
    let mut embedded: Vec<(usize, Vec<f32>)> = Vec::new();
    let mut embedded_unfitted = Vec::new();
    let mut embed_time = std::time::Duration::ZERO;
    for (i, im) in images.iter().enumerate() {
        let rgb = match crate::decode::open(&im.path) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(path = %im.path.display(), error = %e, "cannot decode");
                decode_errors += 1;
                continue;
            }
        };
        let (dets, bordered) = engine.detect_with_border_retry(&rgb, detector)?;
        let Some(face) = detect::largest(&dets) else {
            no_face_files.push(im.path.display().to_string());
            continue;
        };
        if bordered {
            needed_border += 1;
        }
        let t = std::time::Instant::now();
        let d = emb
            .embed(&rgb, &face.landmarks)
            .map_err(EngineError::from)?;
        embed_time += t.elapsed();
        if let Some((_, template)) = &unfitted {
            let unfitted_values = |e: &crate::embed::Embedder| -> Result<Vec<f32>, EvalError> {
                let chip = e
                    .align_with_template(&rgb, &face.landmarks, template)
                    .map_err(EngineError::from)?;
                Ok(e.embed_chip(&chip.chip).map_err(EngineError::from)?.values)
            };
            let values = match (fitted_component, emb.components()) {
                (Some(k), Some(parts)) => {
                    let mut v = Vec::with_capacity(d.values.len());
                    for (j, part) in parts.iter().enumerate() {
                        if j == k {
                            v.extend(unfitted_values(part)?);
                        } else {
                            let own = emb.component_descriptor(&d, j).ok_or_else(|| {
                                EngineError::Match(crate::matching::MatchError::Dimension {
                                    expected: emb.dims(),
                                    found: d.values.len(),
                                })
                            })?;
                            v.extend(own.values);
                        }
                    }
                    v
                }
                _ => unfitted_values(emb)?,
            };
            embedded_unfitted.push(values);
        }
        embedded.push((i, d.values));
    }
    let mut sources: Vec<String> = images.iter().map(|i| i.source.clone()).collect();
    sources.sort();
    sources.dedup();
    Ok(EmbeddedSet {
        set: dir.display().to_string(),
        model: model.0,
        metric,
        threshold,
        margin,
        detector_input: detector.input_size,
        derived_excluded: derived.len(),
        decode_errors,
        no_face_files,
        needed_border,
        embed_ms: if embedded.is_empty() {
            0.0
        } else {
            embed_time.as_secs_f64() * 1000.0 / embedded.len() as f64
        },
        embedded_unfitted: unfitted.map(|_| embedded_unfitted),
        template_fitted_on: unfitted.map(|(s, _)| s.to_owned()),
        embedded,
        images,
        sources,
    })
}

impl EmbeddedSet {
    fn name(&self, i: usize) -> String {
        let im = &self.images[i];
        format!("{}/{}/{}", im.source, im.identity, file_name(&im.path))
    }

    /// All pairs of embedded images (same identity label = genuine), scored with the shipped
    /// template's descriptors, or the unfitted template's when `unfitted` (and there is one).
    pub fn pairs(&self, unfitted: bool) -> Vec<LabeledPair> {
        let src = |i: usize| {
            self.sources
                .binary_search(&self.images[i].source)
                .unwrap_or(0)
        };
        let values = |k: usize| -> &[f32] {
            match (&self.embedded_unfitted, unfitted) {
                (Some(u), true) => &u[k],
                _ => &self.embedded[k].1,
            }
        };
        let mut out = Vec::new();
        for a in 0..self.embedded.len() {
            for b in a + 1..self.embedded.len() {
                let (ia, ib) = (self.embedded[a].0, self.embedded[b].0);
                out.push(LabeledPair {
                    a: ia,
                    b: ib,
                    source_a: src(ia),
                    source_b: src(ib),
                    genuine: self.images[ia].identity == self.images[ib].identity,
                    distance: distance(self.metric, values(a), values(b)),
                });
            }
        }
        out
    }

    /// Samples for open-set identification (identity as an index).
    pub fn samples(&self) -> Vec<identify::Sample> {
        let mut ids: Vec<&str> = self.images.iter().map(|i| i.identity.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        self.embedded
            .iter()
            .map(|(i, v)| identify::Sample {
                identity: ids
                    .binary_search(&self.images[*i].identity.as_str())
                    .unwrap_or(0),
                values: v.clone(),
            })
            .collect()
    }
}

/// Run the evaluation with one embedder (default when `None`).
pub fn evaluate(
    engine: &Engine,
    dir: &Path,
    embedder: Option<&str>,
    detector: &DetectorConfig,
) -> Result<EvalReport, EvalError> {
    let set = embed_set(engine, dir, embedder, detector)?;
    report(&set).ok_or_else(|| EvalError::NoPairs(dir.into()))
}

/// The all-pairs report of an embedded set (`None` without genuine or impostor pairs).
pub fn report(set: &EmbeddedSet) -> Option<EvalReport> {
    let pairs = set.pairs(false);
    let (genuine, impostor) = protocol::split_scores(&pairs);
    let r = rates(&genuine, &impostor, &[1e-2, 1e-3])?;
    let mut gpairs: Vec<&LabeledPair> = pairs.iter().filter(|p| p.genuine).collect();
    let mut ipairs: Vec<&LabeledPair> = pairs.iter().filter(|p| !p.genuine).collect();
    gpairs.sort_by(|x, y| y.distance.total_cmp(&x.distance));
    ipairs.sort_by(|x, y| x.distance.total_cmp(&y.distance));
    let pair = |p: &&LabeledPair| ScoredPair {
        a: set.name(p.a),
        b: set.name(p.b),
        distance: p.distance,
    };
    let t3 = r.tar_at_far[1].2;
    let op = set
        .threshold
        .map(|t| protocol::operating_point(&genuine, &impostor, t));
    Some(EvalReport {
        set: set.set.clone(),
        model: set.model.clone(),
        metric: set.metric,
        detector_input: set.detector_input,
        images: set.images.len(),
        derived_excluded: set.derived_excluded,
        decode_errors: set.decode_errors,
        no_face: set.no_face_files.len(),
        no_face_files: set.no_face_files.clone(),
        needed_border: set.needed_border,
        genuine_pairs: genuine.len(),
        impostor_pairs: impostor.len(),
        eer: r.eer,
        eer_threshold: r.eer_threshold,
        tar_at_far_1e_2: r.tar_at_far[0].1,
        threshold_at_far_1e_2: r.tar_at_far[0].2,
        tar_at_far_1e_3: r.tar_at_far[1].1,
        threshold_at_far_1e_3: t3,
        impostors_accepted_at_1e_3: impostor.iter().filter(|&&d| d < t3).count(),
        threshold: set.threshold,
        tar_at_threshold: op.and_then(|p| p.tar),
        far_at_threshold: op.and_then(|p| p.far),
        genuine_accepted_at_threshold: op.map(|p| p.genuine_accepted),
        impostors_accepted_at_threshold: op.map(|p| p.impostors_accepted),
        genuine: Distribution::of(&genuine),
        impostor: Distribution::of(&impostor),
        hardest_genuine: gpairs.iter().take(5).map(pair).collect(),
        hardest_impostor: ipairs.iter().take(5).map(pair).collect(),
        embed_ms: set.embed_ms,
    })
}

/// Leave-one-source-out report of an embedded set.
#[derive(Debug, Clone, Serialize)]
pub struct LosoReport {
    pub set: String,
    pub model: String,
    pub metric: crate::model::Metric,
    pub protocol: &'static str,
    pub images: usize,
    pub no_face: usize,
    /// All pairs of the set (each fold measures the pairs involving its source).
    pub genuine_pairs: usize,
    pub impostor_pairs: usize,
    /// The operating point of all pairs at the shipped threshold (as in the default protocol).
    pub threshold: Option<f32>,
    pub tar_at_threshold: Option<f64>,
    pub far_at_threshold: Option<f64>,
    pub impostors_accepted_at_threshold: Option<usize>,
    /// Source the shipped alignment template was fitted on; its fold uses the unfitted one.
    pub template_fitted_on: Option<String>,
    #[serde(flatten)]
    pub loso: LeaveOneSourceOut,
}

/// Leave-one-source-out at `target_far` (see [`protocol`]).
pub fn leave_one_source_out(set: &EmbeddedSet, target_far: f64) -> LosoReport {
    let fitted = set.pairs(false);
    let unfitted = set.pairs(true);
    let fitted_on = set
        .template_fitted_on
        .as_ref()
        .and_then(|s| set.sources.iter().position(|x| x == s));
    let loso = protocol::leave_one_source_out(
        &set.sources,
        |k| {
            if Some(k) == fitted_on {
                &unfitted
            } else {
                &fitted
            }
        },
        target_far,
        set.threshold,
    );
    let (genuine, impostor) = protocol::split_scores(&fitted);
    let op = set
        .threshold
        .map(|t| protocol::operating_point(&genuine, &impostor, t));
    LosoReport {
        set: set.set.clone(),
        model: set.model.clone(),
        metric: set.metric,
        protocol: "leave-one-source-out",
        images: set.images.len(),
        no_face: set.no_face_files.len(),
        genuine_pairs: genuine.len(),
        impostor_pairs: impostor.len(),
        threshold: set.threshold,
        tar_at_threshold: op.and_then(|p| p.tar),
        far_at_threshold: op.and_then(|p| p.far),
        impostors_accepted_at_threshold: op.map(|p| p.impostors_accepted),
        template_fitted_on: set.template_fitted_on.clone(),
        loso,
    }
}

/// Leave-one-source-out of the score fusion of two embedders over the same photos.
#[derive(Debug, Clone, Serialize)]
pub struct FusedLosoReport {
    pub set: String,
    pub models: [String; 2],
    pub protocol: &'static str,
    pub images: usize,
    /// Pairs embedded by both (each fold measures the pairs involving its source).
    pub genuine_pairs: usize,
    pub impostor_pairs: usize,
    /// The fusion fitted on all pairs (shipped templates), as a `[[fusion]]` entry's
    /// normalisation and weight are (docs/face-engine.md, "The fusion embedder").
    pub all_pairs: Option<protocol::Fusion>,
    #[serde(flatten)]
    pub fused: protocol::FusedLeaveOneSourceOut,
}

/// The pairs of `a` and `b` that both embedded, in the same order.
fn common_pairs(a: &[LabeledPair], b: &[LabeledPair]) -> (Vec<LabeledPair>, Vec<LabeledPair>) {
    let index: HashMap<(usize, usize), &LabeledPair> = b.iter().map(|p| ((p.a, p.b), p)).collect();
    a.iter()
        .filter_map(|p| index.get(&(p.a, p.b)).map(|q| (*p, **q)))
        .unzip()
}

/// Leave-one-source-out of the fusion of `a` and `b` at `target_far`: each fold's
/// normalisation, weight and threshold are fitted without its source (and a template fitted on
/// the held-out source is swapped for the unfitted one, as in [`leave_one_source_out`]).
pub fn leave_one_source_out_fused(
    a: &EmbeddedSet,
    b: &EmbeddedSet,
    target_far: f64,
) -> FusedLosoReport {
    let fitted_on = |s: &EmbeddedSet| {
        s.template_fitted_on
            .as_ref()
            .and_then(|x| a.sources.iter().position(|y| y == x))
    };
    let (fa, fb) = (fitted_on(a), fitted_on(b));
    // Per fold: which of the two templates each embedder uses.
    let variants: Vec<(bool, bool)> = (0..a.sources.len())
        .map(|k| (Some(k) == fa, Some(k) == fb))
        .collect();
    let mut lists: HashMap<(bool, bool), (Vec<LabeledPair>, Vec<LabeledPair>)> = HashMap::new();
    for v in &variants {
        lists
            .entry(*v)
            .or_insert_with(|| common_pairs(&a.pairs(v.0), &b.pairs(v.1)));
    }
    let fused = protocol::leave_one_source_out_fused(
        &a.sources,
        |k| &lists[&variants[k]].0,
        |k| &lists[&variants[k]].1,
        target_far,
    );
    let (all_a, all_b) = &lists[&(false, false)];
    let all_pairs = protocol::fit_fusion(all_a, all_b, target_far);
    let (g, i) = protocol::split_scores(all_a);
    FusedLosoReport {
        all_pairs,
        set: a.set.clone(),
        models: [a.model.clone(), b.model.clone()],
        protocol: "leave-one-source-out",
        images: a.images.len(),
        genuine_pairs: g.len(),
        impostor_pairs: i.len(),
        fused,
    }
}

/// Open-set 1:N report of an embedded set at the model's threshold and margin.
#[derive(Debug, Clone, Serialize)]
pub struct IdentifyReport {
    pub set: String,
    pub model: String,
    pub metric: crate::model::Metric,
    pub threshold: f32,
    pub margin: f32,
    pub images: usize,
    pub identities: usize,
    /// Identities with at least two embedded photos (can be enrolled with a probe left).
    pub enrollable_identities: usize,
    pub repeats: usize,
    pub seed: u64,
    pub sizes: Vec<identify::SizeReport>,
    pub extrapolated: Vec<identify::Extrapolated>,
}

/// Open-set identification at every gallery size of `sizes` that the set allows, `repeats`
/// random galleries each, and the extrapolation to `extrapolate_to`. `None` when the model has
/// no shipped threshold (the kiosk could not run it either).
pub fn identification(
    set: &EmbeddedSet,
    sizes: &[usize],
    repeats: usize,
    extrapolate_to: &[usize],
    seed: u64,
) -> Option<IdentifyReport> {
    let threshold = set.threshold?;
    let samples = set.samples();
    let mut per: HashMap<usize, usize> = HashMap::new();
    for s in &samples {
        *per.entry(s.identity).or_insert(0) += 1;
    }
    Some(IdentifyReport {
        set: set.set.clone(),
        model: set.model.clone(),
        metric: set.metric,
        threshold,
        margin: set.margin,
        images: samples.len(),
        identities: per.len(),
        enrollable_identities: per.values().filter(|&&n| n >= 2).count(),
        repeats,
        seed,
        sizes: identify::evaluate_sizes(
            set.metric, &samples, sizes, repeats, threshold, set.margin, seed,
        ),
        extrapolated: identify::extrapolate(
            set.metric,
            &samples,
            extrapolate_to,
            threshold,
            set.margin,
        ),
    })
}

/// Count of images per identity (for reports).
pub fn identity_counts(images: &[EvalImage]) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for i in images {
        *m.entry(i.identity.clone()).or_insert(0) += 1;
    }
    m
}

/// One annotated face of an imglab XML file.
#[derive(Debug, Clone)]
pub struct AnnotatedFace {
    pub image: PathBuf,
    pub bbox: crate::types::BoundingBox,
    /// Parts by index (68-point scheme when complete).
    pub parts: Vec<Option<crate::types::Point>>,
}

fn attr(tag: &str, name: &str) -> Option<String> {
    for q in ['\'', '"'] {
        let key = format!("{name}={q}");
        if let Some(i) = tag.find(&key) {
            let rest = &tag[i + key.len()..];
            return rest.find(q).map(|j| rest[..j].to_owned());
        }
    }
    None
}

/// Parse dlib's imglab XML (`<image file=…><box top left width height><part name x y/>`).
/// Image paths are resolved next to the XML, else in `../_group/`.
pub fn parse_imglab(xml_path: &Path) -> Result<Vec<AnnotatedFace>, EvalError> {
    let text = std::fs::read(xml_path).map_err(|source| EvalError::Io {
        path: xml_path.to_owned(),
        source,
    })?;
    // ISO-8859-1 declared; the markup we read is ASCII.
    let text: String = text.iter().map(|&b| b as char).collect();
    let base = xml_path.parent().unwrap_or(Path::new("."));
    let mut faces = Vec::new();
    let mut current_image: Option<PathBuf> = None;
    for raw in text.split('<').skip(1) {
        let tag = raw.split('>').next().unwrap_or("");
        if let Some(rest) = tag.strip_prefix("image ") {
            current_image = attr(rest, "file").map(|f| {
                let direct = base.join(&f);
                if direct.is_file() {
                    direct
                } else {
                    base.join("../_group").join(&f)
                }
            });
        } else if let Some(rest) = tag.strip_prefix("box ") {
            let num = |n: &str| attr(rest, n).and_then(|v| v.parse::<f32>().ok());
            if attr(rest, "ignore").as_deref() == Some("1") {
                continue;
            }
            if let (Some(img), Some(t), Some(l), Some(w), Some(h)) = (
                current_image.clone(),
                num("top"),
                num("left"),
                num("width"),
                num("height"),
            ) {
                faces.push(AnnotatedFace {
                    image: img,
                    bbox: crate::types::BoundingBox {
                        x: l,
                        y: t,
                        width: w,
                        height: h,
                    },
                    parts: Vec::new(),
                });
            }
        } else if let Some(rest) = tag.strip_prefix("part ")
            && let Some(face) = faces.last_mut()
        {
            let (Some(n), Some(x), Some(y)) = (
                attr(rest, "name").and_then(|v| v.parse::<usize>().ok()),
                attr(rest, "x").and_then(|v| v.parse::<f32>().ok()),
                attr(rest, "y").and_then(|v| v.parse::<f32>().ok()),
            ) else {
                continue;
            };
            if face.parts.len() <= n {
                face.parts.resize(n + 1, None);
            }
            face.parts[n] = Some(crate::types::Point::new(x, y));
        }
    }
    Ok(faces)
}

/// dlib's mean face (points 17–67 of the 68-point scheme, unit frame), from
/// `dlib/image_transforms/interpolation.h`, `get_face_chip_details`.
const DLIB_MEAN_FACE_X: [f32; 51] = [
    0.000213256,
    0.0752622,
    0.18113,
    0.29077,
    0.393397,
    0.586856,
    0.689483,
    0.799124,
    0.904991,
    0.98004,
    0.490127,
    0.490127,
    0.490127,
    0.490127,
    0.36688,
    0.426036,
    0.490127,
    0.554217,
    0.613373,
    0.121737,
    0.187122,
    0.265825,
    0.334606,
    0.260918,
    0.182743,
    0.645647,
    0.714428,
    0.793132,
    0.858516,
    0.79751,
    0.719335,
    0.254149,
    0.340985,
    0.428858,
    0.490127,
    0.551395,
    0.639268,
    0.726104,
    0.642159,
    0.556721,
    0.490127,
    0.423532,
    0.338094,
    0.290379,
    0.428096,
    0.490127,
    0.552157,
    0.689874,
    0.553364,
    0.490127,
    0.42689,
];
const DLIB_MEAN_FACE_Y: [f32; 51] = [
    0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906, 0.0344891, 0.0187482, 0.038915,
    0.106454, 0.203352, 0.307009, 0.409805, 0.515625, 0.587326, 0.609345, 0.628106, 0.609345,
    0.587326, 0.216423, 0.178758, 0.179852, 0.231733, 0.245099, 0.244077, 0.231733, 0.179852,
    0.178758, 0.216423, 0.244077, 0.245099, 0.780233, 0.745405, 0.727388, 0.742578, 0.727388,
    0.745405, 0.780233, 0.864805, 0.902192, 0.909281, 0.902192, 0.864805, 0.784792, 0.778746,
    0.785343, 0.778746, 0.784792, 0.824182, 0.831803, 0.824182,
];

/// The image → chip-pixel transform of dlib's `extract_image_chip(img,
/// get_face_chip_details(shape, size, padding))` for a 68-point shape. dlib fits chip → image
/// by least squares over points 27–54 and 60–64 (eyebrows and lower lip ignored), then samples
/// the chip so that pixels 0 and size-1 sit on the edges of a `size·scale` wide rectangle
/// centred on the image of (size/2, size/2).
pub fn dlib_chip_transform(
    parts: &[Option<crate::types::Point>],
    size: f32,
    padding: f32,
) -> Option<crate::align::Similarity> {
    use crate::types::Point;
    if parts.len() < 68 {
        return None;
    }
    let mut chip = Vec::new();
    let mut img = Vec::new();
    for i in 17..68 {
        if (55..=59).contains(&i) || (65..=67).contains(&i) || (17..=26).contains(&i) {
            continue;
        }
        let p = parts[i]?;
        let x = (padding + DLIB_MEAN_FACE_X[i - 17]) / (2.0 * padding + 1.0) * size;
        let y = (padding + DLIB_MEAN_FACE_Y[i - 17]) / (2.0 * padding + 1.0) * size;
        chip.push(Point::new(x, y));
        img.push(p);
    }
    let chip_to_img = crate::align::Similarity::estimate(&chip, &img)?;
    // Chip pixel q samples image at chip_to_img(size/2 + (q - (size-1)/2) * size/(size-1)).
    let k = size as f64 / (size as f64 - 1.0);
    let c = size as f64 / 2.0;
    let h = (size as f64 - 1.0) / 2.0;
    let pixel_to_chip = crate::align::Similarity {
        a: k,
        b: 0.0,
        tx: c - h * k,
        ty: c - h * k,
    };
    chip_to_img.compose(&pixel_to_chip).inverse()
}

/// Result of measuring where YuNet's five landmarks fall in an embedder's chip.
#[derive(Debug, Clone, Serialize)]
pub struct TemplateFit {
    pub annotated: usize,
    pub matched: usize,
    pub mean: [[f32; 2]; 5],
    pub median: [[f32; 2]; 5],
    pub sd: [[f32; 2]; 5],
}

/// Measure a dlib-chip template for YuNet's landmarks: for every annotated face (68 points from
/// dlib's own shape predictor), compute dlib's 150 px / padding 0.25 chip transform, run YuNet
/// on the image, take the detection overlapping the face, and map its 5 landmarks into the
/// chip. No identity labels are involved.
pub fn fit_template_from_dlib_annotations(
    detector: &crate::detect::Detector,
    xml_files: &[PathBuf],
    config: &DetectorConfig,
) -> Result<TemplateFit, EvalError> {
    let mut faces = Vec::new();
    for x in xml_files {
        faces.extend(parse_imglab(x)?);
    }
    let faces: Vec<_> = faces.into_iter().filter(|f| f.parts.len() >= 68).collect();
    let mut by_image: HashMap<PathBuf, Vec<AnnotatedFace>> = HashMap::new();
    for f in &faces {
        by_image.entry(f.image.clone()).or_default().push(f.clone());
    }
    let mut samples: Vec<[[f32; 2]; 5]> = Vec::new();
    let mut images: Vec<_> = by_image.into_iter().collect();
    images.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, anns) in images {
        let rgb = match crate::decode::open(&path) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot decode");
                continue;
            }
        };
        let dets = detector
            .detect(&rgb, config)
            .map_err(|e| EvalError::Engine(e.into()))?;
        for a in anns {
            let Some(t) = dlib_chip_transform(&a.parts, 150.0, 0.25) else {
                continue;
            };
            let best = dets
                .iter()
                .map(|d| (d.bbox.iou(&a.bbox), d))
                .max_by(|x, y| x.0.total_cmp(&y.0));
            let Some((iou, d)) = best else { continue };
            if iou < 0.3 {
                continue;
            }
            let mapped: [[f32; 2]; 5] = std::array::from_fn(|i| {
                let p = t.apply(d.landmarks.0[i]);
                [p.x, p.y]
            });
            samples.push(mapped);
        }
    }
    let n = samples.len();
    let mut mean = [[0f32; 2]; 5];
    let mut median = [[0f32; 2]; 5];
    let mut sd = [[0f32; 2]; 5];
    if n > 0 {
        for i in 0..5 {
            for c in 0..2 {
                let mut v: Vec<f32> = samples.iter().map(|s| s[i][c]).collect();
                let m = v.iter().sum::<f32>() / n as f32;
                mean[i][c] = m;
                sd[i][c] = (v.iter().map(|x| (x - m) * (x - m)).sum::<f32>() / n as f32).sqrt();
                v.sort_by(f32::total_cmp);
                median[i][c] = if n % 2 == 1 {
                    v[n / 2]
                } else {
                    (v[n / 2 - 1] + v[n / 2]) / 2.0
                };
            }
        }
    }
    Ok(TemplateFit {
        annotated: faces.len(),
        matched: n,
        mean,
        median,
        sd,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_separation_has_zero_eer_and_full_tar() {
        let g = [0.1, 0.2, 0.3];
        let i: Vec<f32> = (0..1000).map(|k| 0.5 + k as f32 * 0.001).collect();
        let r = rates(&g, &i, &[1e-2, 1e-3]).expect("rates");
        assert_eq!(r.eer, 0.0);
        assert_eq!(r.tar_at_far[0].1, 1.0);
        // 1e-2 of 1000 = 10 impostors may pass: threshold is the 11th smallest.
        assert!((r.tar_at_far[0].2 - i[10]).abs() < 1e-6);
        assert!((r.tar_at_far[0].3 - 0.01).abs() < 1e-9);
        assert!((r.tar_at_far[1].2 - i[1]).abs() < 1e-6);
    }

    #[test]
    fn overlapping_distributions_give_the_crossing_point() {
        // Genuine 0..10, impostor 5..15 (step 1): at t=7.5 FRR = 2/10... check symmetric EER.
        let g: Vec<f32> = (0..10).map(|k| k as f32).collect();
        let i: Vec<f32> = (5..15).map(|k| k as f32).collect();
        let r = rates(&g, &i, &[0.1]).expect("rates");
        // Accept d < t. t = 7.5 -> FAR = 3/10 (5,6,7), FRR = 2/10 (8,9); t = 7 -> FAR 2/10,
        // FRR 3/10. The EER is 0.25.
        assert!((r.eer - 0.25).abs() < 1e-9, "{r:?}");
        // FAR 0.1 -> one impostor (5) may pass: threshold 6, TAR = 6/10.
        assert_eq!(r.tar_at_far[0].2, 6.0);
        assert!((r.tar_at_far[0].1 - 0.6).abs() < 1e-9);
        assert!(rates(&[], &i, &[0.1]).is_none());
    }

    /// Two sources, two identities each with two photos, 1-D descriptors; source `b`'s
    /// "unfitted" descriptors differ so the fold that holds `b` out can be told apart.
    fn hand_set(threshold: Option<f32>) -> EmbeddedSet {
        let im = |source: &str, identity: &str, f: &str| EvalImage {
            path: PathBuf::from(f),
            source: source.into(),
            identity: identity.into(),
        };
        let images = vec![
            im("a", "p", "1"),
            im("a", "p", "2"),
            im("a", "q", "3"),
            im("b", "q", "4"),
            im("b", "r", "5"),
            im("b", "r", "6"),
        ];
        let values = [0.0, 0.1, 1.0, 1.2, 3.0, 3.3];
        EmbeddedSet {
            set: "hand".into(),
            model: "m".into(),
            metric: crate::model::Metric::Euclidean,
            threshold,
            margin: 0.05,
            detector_input: 640,
            images,
            derived_excluded: 0,
            decode_errors: 0,
            no_face_files: Vec::new(),
            needed_border: 0,
            embedded: values
                .iter()
                .enumerate()
                .map(|(i, &v)| (i, vec![v]))
                .collect(),
            embedded_unfitted: Some(values.iter().map(|&v| vec![v * 10.0]).collect()),
            template_fitted_on: Some("b".into()),
            embed_ms: 0.0,
            sources: vec!["a".into(), "b".into()],
        }
    }

    #[test]
    fn report_carries_the_operating_point_at_the_shipped_threshold() {
        let r = report(&hand_set(Some(0.25))).expect("report");
        // Genuine: p 0.1, q 0.2 (1.0 ~ 1.2, across sources), r 0.3. Impostors: 12, the closest
        // 0.9 (0.1 ~ 1.0).
        assert_eq!((r.genuine_pairs, r.impostor_pairs), (3, 12));
        assert_eq!(r.threshold, Some(0.25));
        assert_eq!(r.genuine_accepted_at_threshold, Some(2));
        assert_eq!(r.impostors_accepted_at_threshold, Some(0));
        assert_eq!(r.far_at_threshold, Some(0.0));
        assert!((r.tar_at_threshold.expect("tar") - 2.0 / 3.0).abs() < 1e-12);
        let json = serde_json::to_value(&r).expect("json");
        for k in [
            "tar_at_threshold",
            "far_at_threshold",
            "impostors_accepted_at_threshold",
            "genuine_pairs",
            "impostor_pairs",
        ] {
            assert!(!json[k].is_null(), "{k}");
        }
        // A model not calibrated yet still gets its ROC figures, and no operating point.
        let u = report(&hand_set(None)).expect("report");
        assert_eq!(u.tar_at_threshold, None);
        assert_eq!(u.impostors_accepted_at_threshold, None);
        assert!(identification(&hand_set(None), &[1], 1, &[], 1).is_none());
    }

    #[test]
    fn the_fold_of_the_template_source_uses_the_unfitted_descriptors() {
        let r = leave_one_source_out(&hand_set(Some(0.25)), 0.0);
        assert_eq!(r.loso.folds.len(), 2);
        let (a, b) = (&r.loso.folds[0], &r.loso.folds[1]);
        // Fold a: fitted on b's pairs with the shipped descriptors (closest impostor 1.8).
        assert_eq!(a.fit_impostor_pairs, 2);
        assert!((a.chosen_threshold.expect("t") - 1.8).abs() < 1e-5, "{a:?}");
        // Fold b: everything ×10 (closest impostor among a's pairs 9.0, genuine r 3.0).
        assert!((b.chosen_threshold.expect("t") - 9.0).abs() < 1e-4, "{b:?}");
        assert_eq!(b.at_chosen.and_then(|p| p.tar), Some(1.0));
        assert_eq!(r.template_fitted_on.as_deref(), Some("b"));
    }

    #[test]
    fn distribution_summary() {
        let d = Distribution::of(&[3.0, 1.0, 2.0]).expect("dist");
        assert_eq!((d.min, d.median, d.max, d.count), (1.0, 2.0, 3.0, 3));
        assert!(Distribution::of(&[]).is_none());
    }
}
