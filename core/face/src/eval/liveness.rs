//! Passive liveness on bona fide photos: every identity photo of the set is a real face (a
//! photograph of a person, not a presentation attack), so each one the policy calls "spoof" is
//! a false reject. Reported next to the scores of the set's `liveness/` samples (`real_*` live
//! captures, `spoof_*` attacks).

use std::path::Path;

use serde::Serialize;

use super::{Distribution, EvalError, EvalImage, collect_images, file_name};
use crate::detect::{self, DetectorConfig};
use crate::engine::Engine;
use crate::measure::{MeasureError, MeasureRules, measure};

/// One scored photo.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LivenessSample {
    /// `<source>/<identity>/<file>` or `liveness/<file>`.
    pub name: String,
    pub source: String,
    /// `bona_fide` (identity photo), `live` (`liveness/real_*`) or `attack` (`liveness/spoof_*`).
    pub kind: String,
    /// Mean "real" probability of the ensemble; `None` when no face was found.
    pub score: Option<f32>,
    /// Per model: id and "real" probability.
    pub models: Vec<(String, f32)>,
}

/// Rejections of one group of bona fide photos at the threshold.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RejectCount {
    pub source: String,
    pub scored: usize,
    pub rejected: usize,
    pub frr: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LivenessReport {
    pub set: String,
    pub threshold: f32,
    pub models: Vec<String>,
    pub detector_input: u32,
    /// Identity photos scored (derived copies included: they are bona fide photos too).
    pub bona_fide_scored: usize,
    pub bona_fide_no_face: usize,
    pub bona_fide_decode_errors: usize,
    /// Bona fide photos scored below the threshold.
    pub false_rejects: usize,
    pub frr: Option<f64>,
    pub by_source: Vec<RejectCount>,
    pub bona_fide_scores: Option<Distribution>,
    /// The rejected bona fide photos, lowest score first.
    pub rejected: Vec<LivenessSample>,
    /// `liveness/` samples (live captures and attacks), with their scores.
    pub reference: Vec<LivenessSample>,
    /// Attack samples scored at or above the threshold (accepted attacks).
    pub attacks_accepted: usize,
    pub attacks: usize,
    /// The same photos as camera frames through the product's own capture paths
    /// ([`camera_path`]): the phone's check-in and the kiosk.
    pub camera_path: Vec<CameraPathReport>,
}

/// Passive liveness on the camera path: each photo, whole and uncropped, goes through
/// [`measure`] with a capture path's rules exactly as a captured frame does (decode limits,
/// detection with the border retry, the quality gate's choice of subject, the default embedder,
/// the passive ensemble at the engine's threshold), and the verdict is `Measurement::live`, the
/// one the server rejects `liveness_failed` on.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CameraPathReport {
    /// `phone_check_in` ([`MeasureRules::check_in`], 320 px: the phone's capture and the
    /// server's re-measurement of a punch) or `kiosk` ([`MeasureRules::enrol`], 640 px: the
    /// kiosk's frames).
    pub path: String,
    pub detector_input: u32,
    pub threshold: f32,
    /// Identity photos fed as frames.
    pub frames: usize,
    /// Frames `measure` refused before liveness (undecodable, no face, several faces), with
    /// the reason.
    pub refused: Vec<(String, String)>,
    /// Frames measured (a liveness verdict given).
    pub measured: usize,
    /// Measured frames that also carry a quality reason (blur, pose, light, size...).
    pub quality_flagged: usize,
    /// Measured frames judged not live: false rejects of bona fide faces.
    pub false_rejects: usize,
    pub frr: Option<f64>,
    /// The uncropped frames only (face box at most [`UNCROPPED_MAX_SHARE`] of the frame's width
    /// and height, the context a camera frame has; the set's tight face crops are left out):
    /// the false-reject rate a camera frame of a real face gets.
    pub uncropped: RejectCount,
    pub by_source: Vec<RejectCount>,
    pub scores: Option<Distribution>,
    /// The rejected frames, lowest score first.
    pub rejected: Vec<LivenessSample>,
    /// The `liveness/` samples through the same path (score `None` when refused).
    pub reference: Vec<LivenessSample>,
    pub attacks_accepted: usize,
    pub attacks: usize,
}

/// The product's capture paths, named as in [`CameraPathReport::path`].
pub fn capture_paths() -> [(&'static str, MeasureRules); 2] {
    [
        ("phone_check_in", MeasureRules::check_in()),
        ("kiosk", MeasureRules::enrol()),
    ]
}

/// Count false rejects (`score < threshold`) per source and overall. Pure.
pub fn reject_counts(
    samples: &[LivenessSample],
    threshold: f32,
) -> (RejectCount, Vec<RejectCount>) {
    let mut sources: Vec<String> = samples.iter().map(|s| s.source.clone()).collect();
    sources.sort();
    sources.dedup();
    let count = |name: &str, it: &mut dyn Iterator<Item = &LivenessSample>| {
        let scores: Vec<f32> = it.filter_map(|s| s.score).collect();
        let rejected = scores.iter().filter(|&&x| x < threshold).count();
        RejectCount {
            source: name.to_owned(),
            scored: scores.len(),
            rejected,
            frr: (!scores.is_empty()).then(|| rejected as f64 / scores.len() as f64),
        }
    };
    let all = count("all", &mut samples.iter());
    let per = sources
        .iter()
        .map(|src| count(src, &mut samples.iter().filter(|s| &s.source == src)))
        .collect();
    (all, per)
}

fn score_file(
    engine: &Engine,
    path: &Path,
    detector: &DetectorConfig,
) -> Result<Option<Option<crate::liveness::PassiveScore>>, EvalError> {
    let rgb = match crate::decode::open(path) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot decode");
            return Ok(None);
        }
    };
    // As the check-in measurement does: the border retry for tight crops, the largest face,
    // the score on the original (uncropped) image.
    let (dets, _) = engine.detect_with_border_retry(&rgb, detector)?;
    let Some(face) = detect::largest(&dets) else {
        return Ok(Some(None));
    };
    Ok(Some(Some(engine.passive_liveness(&rgb, face)?)))
}

fn sample(
    name: String,
    source: &str,
    kind: &str,
    s: Option<crate::liveness::PassiveScore>,
) -> LivenessSample {
    LivenessSample {
        name,
        source: source.to_owned(),
        kind: kind.to_owned(),
        score: s.as_ref().map(|s| s.score),
        models: s
            .map(|s| s.models.into_iter().map(|(m, p)| (m.0, p)).collect())
            .unwrap_or_default(),
    }
}

/// Every identity photo of `dir`, derived copies included (they are bona fide photos too; they
/// only must not make independent pairs).
fn bona_fide_images(dir: &Path) -> Result<Vec<EvalImage>, EvalError> {
    let (mut images, derived) = collect_images(dir)?;
    for p in derived {
        let rel = p.strip_prefix(dir).unwrap_or(&p).to_path_buf();
        let mut parts = rel.iter().map(|c| c.to_string_lossy().into_owned());
        let (Some(source), Some(identity)) = (parts.next(), parts.next()) else {
            continue;
        };
        images.push(EvalImage {
            path: p,
            source,
            identity,
        });
    }
    Ok(images)
}

/// The `liveness/` samples of `dir`: path and kind (`live` for `real_*`, `attack` for
/// `spoof_*`), sorted by name.
fn liveness_samples(dir: &Path) -> Result<Vec<(std::path::PathBuf, &'static str)>, EvalError> {
    let ldir = dir.join("liveness");
    if !ldir.is_dir() {
        return Ok(Vec::new());
    }
    let mut files: Vec<_> = std::fs::read_dir(&ldir)
        .map_err(|source| EvalError::Io {
            path: ldir.clone(),
            source,
        })?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    Ok(files
        .into_iter()
        .filter_map(|f| {
            let n = file_name(&f);
            let kind = if n.starts_with("spoof") {
                "attack"
            } else if n.starts_with("real") {
                "live"
            } else {
                return None;
            };
            Some((f, kind))
        })
        .collect())
}

fn rejected_sorted(samples: &[LivenessSample], threshold: f32) -> Vec<LivenessSample> {
    let mut rejected: Vec<LivenessSample> = samples
        .iter()
        .filter(|s| s.score.is_some_and(|x| x < threshold))
        .cloned()
        .collect();
    rejected.sort_by(|a, b| a.score.unwrap_or(0.0).total_cmp(&b.score.unwrap_or(0.0)));
    rejected
}

/// (attacks accepted, attacks) among `reference`.
fn attack_counts(reference: &[LivenessSample], threshold: f32) -> (usize, usize) {
    let attacks: Vec<&LivenessSample> = reference.iter().filter(|s| s.kind == "attack").collect();
    let accepted = attacks
        .iter()
        .filter(|s| s.score.is_some_and(|x| x >= threshold))
        .count();
    (accepted, attacks.len())
}

/// Score every identity photo of `dir` (and its `liveness/` samples) with the engine's passive
/// liveness at its threshold: the largest face, found at `detector`'s size, on the uncropped
/// photo; then the same photos through every capture path ([`camera_path`]).
pub fn evaluate_liveness(
    engine: &Engine,
    dir: &Path,
    detector: &DetectorConfig,
) -> Result<LivenessReport, EvalError> {
    let live = engine.liveness()?;
    let threshold = live.threshold;
    let images = bona_fide_images(dir)?;
    let mut bona = Vec::new();
    let mut no_face = 0;
    let mut decode_errors = 0;
    for im in &images {
        let name = format!("{}/{}/{}", im.source, im.identity, file_name(&im.path));
        match score_file(engine, &im.path, detector)? {
            None => decode_errors += 1,
            Some(None) => no_face += 1,
            Some(s) => bona.push(sample(name, &im.source, "bona_fide", s)),
        }
    }
    let mut reference = Vec::new();
    for (f, kind) in liveness_samples(dir)? {
        if let Some(s) = score_file(engine, &f, detector)? {
            let n = file_name(&f);
            reference.push(sample(format!("liveness/{n}"), "liveness", kind, s));
        }
    }
    let (all, by_source) = reject_counts(&bona, threshold);
    let scores: Vec<f32> = bona.iter().filter_map(|s| s.score).collect();
    let (attacks_accepted, attacks) = attack_counts(&reference, threshold);
    let camera_path = capture_paths()
        .into_iter()
        .map(|(name, rules)| camera_path(engine, dir, name, &rules))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(LivenessReport {
        set: dir.display().to_string(),
        threshold,
        models: live.model_ids().into_iter().map(|m| m.0).collect(),
        detector_input: detector.input_size,
        bona_fide_scored: all.scored,
        bona_fide_no_face: no_face,
        bona_fide_decode_errors: decode_errors,
        false_rejects: all.rejected,
        frr: all.frr,
        by_source,
        bona_fide_scores: Distribution::of(&scores),
        rejected: rejected_sorted(&bona, threshold),
        attacks_accepted,
        attacks,
        reference,
        camera_path,
    })
}

/// A frame is uncropped (a camera frame, not a face crop) when the face's box spans at most
/// this share of its width and of its height: a phone's front camera at arm's length or a
/// kiosk's camera has the face at about a fifth to a half of the width, a face crop fills it.
pub const UNCROPPED_MAX_SHARE: f32 = 0.5;

/// What the liveness evaluation keeps of one measured frame.
struct MeasuredFrame {
    passive: Option<crate::liveness::PassiveScore>,
    quality_flagged: bool,
    uncropped: bool,
}

/// One frame through `measure`: `Ok(Err(reason))` when it was refused before liveness;
/// otherwise the passive score, whether a quality reason came with it, and whether the frame
/// is uncropped ([`UNCROPPED_MAX_SHARE`]).
fn measure_file(
    engine: &Engine,
    path: &Path,
    rules: &MeasureRules,
) -> Result<Result<MeasuredFrame, String>, EvalError> {
    let bytes = std::fs::read(path).map_err(|source| EvalError::Io {
        path: path.to_owned(),
        source,
    })?;
    let m = match measure(engine, &bytes, &[], None, rules) {
        Ok(m) => m,
        Err(MeasureError::Engine(e)) => return Err(e.into()),
        Err(e @ MeasureError::Decode { .. }) => return Ok(Err(format!("decode: {e}"))),
        Err(MeasureError::NoFace { .. }) => return Ok(Err("no_face".into())),
        Err(MeasureError::SeveralFaces { count, .. }) => {
            return Ok(Err(format!("several_faces ({count})")));
        }
    };
    let rgb = crate::decode::decode_with_limits(&bytes, &rules.decode)
        .map_err(|e| EvalError::Engine(crate::engine::EngineError::from(e)))?
        .rgb;
    let b = m.face.bbox;
    let uncropped = b.width <= UNCROPPED_MAX_SHARE * rgb.width() as f32
        && b.height <= UNCROPPED_MAX_SHARE * rgb.height() as f32;
    Ok(Ok(MeasuredFrame {
        passive: m.passive,
        quality_flagged: !m.quality.is_empty(),
        uncropped,
    }))
}

/// Every identity photo of `dir` and every `liveness/` sample as a camera frame of the capture
/// path `name` (see [`CameraPathReport`]).
pub fn camera_path(
    engine: &Engine,
    dir: &Path,
    name: &str,
    rules: &MeasureRules,
) -> Result<CameraPathReport, EvalError> {
    let threshold = engine.liveness()?.threshold;
    let images = bona_fide_images(dir)?;
    let mut refused = Vec::new();
    let mut measured = Vec::new();
    let mut uncropped = Vec::new();
    let mut quality_flagged = 0;
    for im in &images {
        let id = format!("{}/{}/{}", im.source, im.identity, file_name(&im.path));
        match measure_file(engine, &im.path, rules)? {
            Err(reason) => refused.push((id, reason)),
            Ok(frame) => {
                quality_flagged += usize::from(frame.quality_flagged);
                let s = sample(id, &im.source, "bona_fide", frame.passive);
                if frame.uncropped {
                    uncropped.push(s.clone());
                }
                measured.push(s);
            }
        }
    }
    let mut reference = Vec::new();
    for (f, kind) in liveness_samples(dir)? {
        let id = format!("liveness/{}", file_name(&f));
        let score = measure_file(engine, &f, rules)?
            .ok()
            .and_then(|m| m.passive);
        reference.push(sample(id, "liveness", kind, score));
    }
    let (all, by_source) = reject_counts(&measured, threshold);
    let (mut uncropped_count, _) = reject_counts(&uncropped, threshold);
    uncropped_count.source = "uncropped".into();
    let scores: Vec<f32> = measured.iter().filter_map(|s| s.score).collect();
    let (attacks_accepted, attacks) = attack_counts(&reference, threshold);
    Ok(CameraPathReport {
        path: name.to_owned(),
        detector_input: rules.detector.input_size,
        threshold,
        frames: images.len(),
        refused,
        measured: all.scored,
        quality_flagged,
        false_rejects: all.rejected,
        frr: all.frr,
        uncropped: uncropped_count,
        by_source,
        scores: Distribution::of(&scores),
        rejected: rejected_sorted(&measured, threshold),
        reference,
        attacks_accepted,
        attacks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(source: &str, score: Option<f32>) -> LivenessSample {
        LivenessSample {
            name: String::new(),
            source: source.into(),
            kind: "bona_fide".into(),
            score,
            models: Vec::new(),
        }
    }

    #[test]
    fn false_rejects_are_scores_below_the_threshold_per_source() {
        let v = [
            s("a", Some(0.9)),
            s("a", Some(0.49)),
            s("a", Some(0.5)), // at the threshold: live (`score >= threshold`)
            s("b", Some(0.1)),
            s("b", None), // no face: not scored
        ];
        let (all, per) = reject_counts(&v, 0.5);
        assert_eq!((all.scored, all.rejected), (4, 2));
        assert_eq!(all.frr, Some(0.5));
        assert_eq!(per.len(), 2);
        assert_eq!(
            (per[0].source.as_str(), per[0].scored, per[0].rejected),
            ("a", 3, 1)
        );
        assert_eq!(per[1].frr, Some(1.0));
    }
}
