//! Passive liveness on bona fide photos: every identity photo of the set is a real face (a
//! photograph of a person, not a presentation attack), so each one the policy calls "spoof" is
//! a false reject. Reported next to the scores of the set's `liveness/` samples (`real_*` live
//! captures, `spoof_*` attacks).

use std::path::Path;

use serde::Serialize;

use super::{Distribution, EvalError, collect_images, file_name};
use crate::detect::{self, DetectorConfig};
use crate::engine::Engine;

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

/// Score every identity photo of `dir` (and its `liveness/` samples) with the engine's passive
/// liveness at its threshold.
pub fn evaluate_liveness(
    engine: &Engine,
    dir: &Path,
    detector: &DetectorConfig,
) -> Result<LivenessReport, EvalError> {
    let live = engine.liveness()?;
    let threshold = live.threshold;
    let (mut images, derived) = collect_images(dir)?;
    // Derived copies are bona fide photos too (they only must not make independent pairs).
    for p in derived {
        let rel = p.strip_prefix(dir).unwrap_or(&p).to_path_buf();
        let mut parts = rel.iter().map(|c| c.to_string_lossy().into_owned());
        let (Some(source), Some(identity)) = (parts.next(), parts.next()) else {
            continue;
        };
        images.push(super::EvalImage {
            path: p,
            source,
            identity,
        });
    }
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
    let ldir = dir.join("liveness");
    if ldir.is_dir() {
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
        for f in files {
            let n = file_name(&f);
            let kind = if n.starts_with("spoof") {
                "attack"
            } else if n.starts_with("real") {
                "live"
            } else {
                continue;
            };
            if let Some(s) = score_file(engine, &f, detector)? {
                reference.push(sample(format!("liveness/{n}"), "liveness", kind, s));
            }
        }
    }
    let (all, by_source) = reject_counts(&bona, threshold);
    let scores: Vec<f32> = bona.iter().filter_map(|s| s.score).collect();
    let mut rejected: Vec<LivenessSample> = bona
        .iter()
        .filter(|s| s.score.is_some_and(|x| x < threshold))
        .cloned()
        .collect();
    rejected.sort_by(|a, b| a.score.unwrap_or(0.0).total_cmp(&b.score.unwrap_or(0.0)));
    let attacks: Vec<&LivenessSample> = reference.iter().filter(|s| s.kind == "attack").collect();
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
        rejected,
        attacks_accepted: attacks
            .iter()
            .filter(|s| s.score.is_some_and(|x| x >= threshold))
            .count(),
        attacks: attacks.len(),
        reference,
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
