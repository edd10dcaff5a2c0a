//! Matching: 1:1 verification with a per-model calibrated threshold, and 1:N identification
//! over a gallery held as one flat, contiguous `Vec<f32>` (row-major, `dims` values per
//! template), returning the best and the best *other* person with a margin rule and an
//! explicit "unknown".
//!
//! Distances: Euclidean for raw descriptors (dlib), `1 - cosine` for L2-normalised ones
//! (MobileFaceNet), and for a fusion's concatenated descriptor the weighted z-normalised
//! component distances ([`FusedMetric::score`], each component in its own metric over its own
//! slice). Smaller is more similar; "same" means `distance <= threshold`; the margin rule
//! works on the same distances.

use serde::Serialize;

use crate::model::{FusedMetric, Metric};
use crate::types::{Descriptor, ModelId};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MatchError {
    #[error("descriptors come from different models ({a} vs {b}); re-enrol instead of comparing")]
    ModelMismatch { a: ModelId, b: ModelId },
    #[error("descriptor has {found} values, expected {expected}")]
    Dimension { expected: usize, found: usize },
    #[error("descriptor contains a non-finite value")]
    NotFinite,
}

/// Distance between two descriptor value slices under `metric` (NaN when a fused descriptor
/// has the wrong length, so no rule accepts it).
pub fn distance(metric: Metric, a: &[f32], b: &[f32]) -> f32 {
    match metric {
        Metric::Fused(f) => {
            if a.len() != f.dims() || b.len() != f.dims() {
                return f32::NAN;
            }
            let [c0, c1] = f.components;
            let (a0, a1) = a.split_at(c0.dims);
            let (b0, b1) = b.split_at(c0.dims);
            f.score(
                distance(c0.metric.metric(), a0, b0),
                distance(c1.metric.metric(), a1, b1),
            )
        }
        Metric::Euclidean => a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y) * (x - y))
            .sum::<f32>()
            .sqrt(),
        Metric::Cosine => {
            let (mut dot, mut na, mut nb) = (0f32, 0f32, 0f32);
            for (x, y) in a.iter().zip(b) {
                dot += x * y;
                na += x * x;
                nb += y * y;
            }
            let d = (na * nb).sqrt();
            if d > 0.0 { 1.0 - dot / d } else { 1.0 }
        }
    }
}

/// 1:1 verdict.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Verification {
    pub distance: f32,
    pub threshold: f32,
    pub same: bool,
    pub model: ModelId,
}

/// Compare two descriptors of the same model.
pub fn verify(
    a: &Descriptor,
    b: &Descriptor,
    metric: Metric,
    threshold: f32,
) -> Result<Verification, MatchError> {
    if a.model != b.model {
        return Err(MatchError::ModelMismatch {
            a: a.model.clone(),
            b: b.model.clone(),
        });
    }
    if a.values.len() != b.values.len() {
        return Err(MatchError::Dimension {
            expected: a.values.len(),
            found: b.values.len(),
        });
    }
    if let Metric::Fused(f) = metric
        && a.values.len() != f.dims()
    {
        return Err(MatchError::Dimension {
            expected: f.dims(),
            found: a.values.len(),
        });
    }
    if a.values.iter().chain(&b.values).any(|v| !v.is_finite()) {
        return Err(MatchError::NotFinite);
    }
    let d = distance(metric, &a.values, &b.values);
    Ok(Verification {
        distance: d,
        threshold,
        same: d <= threshold,
        model: a.model.clone(),
    })
}

/// A candidate of a 1:N search.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Candidate {
    pub person: String,
    /// Index of the closest template of that person in the gallery.
    pub template: usize,
    pub distance: f32,
}

/// Why a 1:N search answered "unknown".
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum UnknownReason {
    EmptyGallery,
    /// The closest person is farther than the threshold.
    AboveThreshold,
    /// Two different people are about equally close (margin rule).
    Ambiguous,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Match { person: String },
    Unknown { reason: UnknownReason },
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Identification {
    pub decision: Decision,
    pub best: Option<Candidate>,
    /// The closest template of a person other than `best`.
    pub second: Option<Candidate>,
    pub threshold: f32,
    pub margin: f32,
    pub model: ModelId,
}

/// Templates of one model in one contiguous array, with the person of each row.
#[derive(Debug, Clone)]
pub struct Gallery {
    model: ModelId,
    metric: Metric,
    dims: usize,
    /// `len * dims` values, row-major; cosine rows (and cosine components of fused rows)
    /// L2-normalised.
    data: Vec<f32>,
    /// Squared norm of each row (Euclidean metric uses `|a|² + |b|² - 2 a·b`); a fused row has
    /// one per component.
    norms2: Vec<f32>,
    /// Index into `people` for each row.
    owner: Vec<u32>,
    people: Vec<String>,
    person_index: std::collections::HashMap<String, u32>,
}

impl Gallery {
    /// An empty gallery. A fused metric fixes the row length itself (its components' sum).
    pub fn new(model: ModelId, metric: Metric, dims: usize) -> Self {
        let dims = match metric {
            Metric::Fused(f) => f.dims(),
            _ => dims,
        };
        Self {
            model,
            metric,
            dims,
            data: Vec::new(),
            norms2: Vec::new(),
            owner: Vec::new(),
            people: Vec::new(),
            person_index: std::collections::HashMap::new(),
        }
    }

    pub fn with_capacity(model: ModelId, metric: Metric, dims: usize, n: usize) -> Self {
        let mut g = Self::new(model, metric, dims);
        g.data.reserve(n * dims);
        g.norms2.reserve(n);
        g.owner.reserve(n);
        g
    }

    pub fn model(&self) -> &ModelId {
        &self.model
    }

    pub fn len(&self) -> usize {
        self.owner.len()
    }

    pub fn is_empty(&self) -> bool {
        self.owner.is_empty()
    }

    /// The flat template array (`len() * dims` values).
    pub fn as_flat(&self) -> &[f32] {
        &self.data
    }

    /// Add one template of `person`. Cosine galleries store normalised rows.
    pub fn add(&mut self, person: &str, d: &Descriptor) -> Result<(), MatchError> {
        if d.model != self.model {
            return Err(MatchError::ModelMismatch {
                a: self.model.clone(),
                b: d.model.clone(),
            });
        }
        self.add_values(person, &d.values)
    }

    pub fn add_values(&mut self, person: &str, values: &[f32]) -> Result<(), MatchError> {
        if values.len() != self.dims {
            return Err(MatchError::Dimension {
                expected: self.dims,
                found: values.len(),
            });
        }
        if values.iter().any(|v| !v.is_finite()) {
            return Err(MatchError::NotFinite);
        }
        let idx = match self.person_index.get(person) {
            Some(&i) => i,
            None => {
                let i = self.people.len() as u32;
                self.people.push(person.to_owned());
                self.person_index.insert(person.to_owned(), i);
                i
            }
        };
        for (part, metric) in segments(self.metric, values) {
            let mut n2: f32 = part.iter().map(|v| v * v).sum();
            if metric == Metric::Cosine && n2 > 0.0 {
                let n = n2.sqrt();
                self.data.extend(part.iter().map(|v| v / n));
                n2 = 1.0;
            } else {
                self.data.extend_from_slice(part);
            }
            self.norms2.push(n2);
        }
        self.owner.push(idx);
        Ok(())
    }

    /// Fused search: the fused distance of every row (each component scored on its slice).
    fn fused_scores(&self, f: &FusedMetric, q: &[f32]) -> Vec<f32> {
        let qs: Vec<(Vec<f32>, f32, Metric)> = segments(Metric::Fused(*f), q)
            .into_iter()
            .map(|(part, metric)| {
                let mut v = part.to_vec();
                let mut n2: f32 = v.iter().map(|x| x * x).sum();
                if metric == Metric::Cosine && n2 > 0.0 {
                    let n = n2.sqrt();
                    v.iter_mut().for_each(|x| *x /= n);
                    n2 = 1.0;
                }
                (v, n2, metric)
            })
            .collect();
        let d0 = f.components[0].dims;
        self.data
            .chunks_exact(self.dims)
            .zip(self.norms2.chunks_exact(2))
            .map(|(row, n2)| {
                let (r0, r1) = row.split_at(d0);
                let d = |k: usize, r: &[f32]| {
                    let (qv, qn2, metric) = &qs[k];
                    let dot = dot(r, qv);
                    match metric {
                        Metric::Cosine => 1.0 - dot,
                        _ => (qn2 + n2[k] - 2.0 * dot).max(0.0).sqrt(),
                    }
                };
                f.score(d(0, r0), d(1, r1))
            })
            .collect()
    }

    /// 1:N search: the best person and the best other person, then the decision:
    /// unknown when the best is above `threshold`, or when the second person is within
    /// `margin` of the best.
    pub fn identify(
        &self,
        probe: &Descriptor,
        threshold: f32,
        margin: f32,
    ) -> Result<Identification, MatchError> {
        if probe.model != self.model {
            return Err(MatchError::ModelMismatch {
                a: self.model.clone(),
                b: probe.model.clone(),
            });
        }
        if probe.values.len() != self.dims {
            return Err(MatchError::Dimension {
                expected: self.dims,
                found: probe.values.len(),
            });
        }
        if probe.values.iter().any(|v| !v.is_finite()) {
            return Err(MatchError::NotFinite);
        }
        // A fused gallery scores in distance space directly; a single one in "score" space.
        let fused = match self.metric {
            Metric::Fused(f) => Some(self.fused_scores(&f, &probe.values)),
            _ => None,
        };
        let mut q = probe.values.clone();
        let mut qn2: f32 = q.iter().map(|v| v * v).sum();
        if self.metric == Metric::Cosine && qn2 > 0.0 {
            let n = qn2.sqrt();
            q.iter_mut().for_each(|v| *v /= n);
            qn2 = 1.0;
        }
        // Scan: keep the best row and the best row of a different person, in "score" space
        // (squared Euclidean or 1 - dot), both monotonic in the final distance.
        let mut best: Option<(f32, usize)> = None;
        let mut second: Option<(f32, usize)> = None;
        for row in 0..self.owner.len() {
            let s = match &fused {
                Some(scores) => scores[row],
                None => {
                    let chunk = &self.data[row * self.dims..(row + 1) * self.dims];
                    let dot = dot(chunk, &q);
                    match self.metric {
                        Metric::Cosine => 1.0 - dot,
                        _ => (qn2 + self.norms2[row] - 2.0 * dot).max(0.0),
                    }
                }
            };
            match best {
                None => best = Some((s, row)),
                Some((bs, br)) => {
                    if self.owner[row] == self.owner[br] {
                        if s < bs {
                            best = Some((s, row));
                        }
                    } else if s < bs {
                        second = Some((bs, br));
                        best = Some((s, row));
                    } else if second.is_none_or(|(ss, _)| s < ss) {
                        second = Some((s, row));
                    }
                }
            }
        }
        let to_dist = |s: f32| match self.metric {
            Metric::Euclidean => s.sqrt(),
            Metric::Cosine | Metric::Fused(_) => s,
        };
        let cand = |(s, row): (f32, usize)| Candidate {
            person: self.people[self.owner[row] as usize].clone(),
            template: row,
            distance: to_dist(s),
        };
        let best = best.map(cand);
        let second = second.map(cand);
        let decision = match (&best, &second) {
            (None, _) => Decision::Unknown {
                reason: UnknownReason::EmptyGallery,
            },
            (Some(b), _) if b.distance.is_nan() || b.distance > threshold => Decision::Unknown {
                reason: UnknownReason::AboveThreshold,
            },
            (Some(b), Some(s)) if s.distance - b.distance < margin => Decision::Unknown {
                reason: UnknownReason::Ambiguous,
            },
            (Some(b), _) => Decision::Match {
                person: b.person.clone(),
            },
        };
        Ok(Identification {
            decision,
            best,
            second,
            threshold,
            margin,
            model: self.model.clone(),
        })
    }
}

/// The slices of a descriptor and their metric: the whole descriptor, or a fusion's components.
fn segments(metric: Metric, values: &[f32]) -> Vec<(&[f32], Metric)> {
    match metric {
        Metric::Fused(f) if values.len() == f.dims() => {
            let (a, b) = values.split_at(f.components[0].dims);
            vec![
                (a, f.components[0].metric.metric()),
                (b, f.components[1].metric.metric()),
            ]
        }
        _ => vec![(values, metric)],
    }
}

#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    // Eight independent accumulators so the compiler vectorises without fast-math.
    let mut acc = [0f32; 8];
    let (ca, ra) = a.as_chunks::<8>();
    let (cb, rb) = b.as_chunks::<8>();
    for (x, y) in ca.iter().zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(model: &str, v: &[f32]) -> Descriptor {
        Descriptor {
            model: ModelId(model.into()),
            values: v.to_vec(),
        }
    }

    #[test]
    fn verify_thresholds_and_refuses_mixed_models() {
        let a = d("m", &[0.0, 0.0, 0.0]);
        let b = d("m", &[0.3, 0.4, 0.0]);
        let v = verify(&a, &b, Metric::Euclidean, 0.6).expect("verify");
        assert!((v.distance - 0.5).abs() < 1e-6 && v.same);
        let v = verify(&a, &b, Metric::Euclidean, 0.4).expect("verify");
        assert!(!v.same);
        assert!(matches!(
            verify(&a, &d("other", &[0.0; 3]), Metric::Euclidean, 0.6),
            Err(MatchError::ModelMismatch { .. })
        ));
        assert!(matches!(
            verify(&a, &d("m", &[0.0; 2]), Metric::Euclidean, 0.6),
            Err(MatchError::Dimension { .. })
        ));
        assert_eq!(
            verify(&a, &d("m", &[f32::NAN, 0.0, 0.0]), Metric::Euclidean, 0.6),
            Err(MatchError::NotFinite)
        );
        // Cosine: orthogonal = 1, identical = 0.
        let c = verify(
            &d("m", &[1.0, 0.0]),
            &d("m", &[0.0, 2.0]),
            Metric::Cosine,
            0.5,
        )
        .expect("cos");
        assert!((c.distance - 1.0).abs() < 1e-6 && !c.same);
    }

    /// dlib-like Euclidean part (2 values) + MobileFaceNet-like cosine part (2 values).
    fn fused() -> Metric {
        use crate::model::{ComponentMetric, FusedComponent};
        Metric::Fused(FusedMetric {
            components: [
                FusedComponent {
                    metric: ComponentMetric::Euclidean,
                    dims: 2,
                    mean: 1.0,
                    std: 0.1,
                },
                FusedComponent {
                    metric: ComponentMetric::Cosine,
                    dims: 2,
                    mean: 0.9,
                    std: 0.1,
                },
            ],
            weight: 0.5,
        })
    }

    #[test]
    fn fused_verify_weighs_both_components() {
        let f = fused();
        let a = d("f", &[0.0, 0.0, 1.0, 0.0]);
        // dlib part 0.5 apart (z = -5), MobileFaceNet part 1 - 0.6 = 0.4 (z = -5): fused -5.
        let both = verify(&a, &d("f", &[0.3, 0.4, 0.6, 0.8]), f, -3.0).expect("verify");
        assert!((both.distance + 5.0).abs() < 1e-4 && both.same, "{both:?}");
        // The Euclidean part alone accepts (0.5 <= 0.59) but the cosine part is orthogonal
        // (z = +1): fused 0.5·(−5) + 0.5·1 = −2 > −3, rejected.
        let b = d("f", &[0.3, 0.4, 0.0, 1.0]);
        let single = distance(Metric::Euclidean, &a.values[..2], &b.values[..2]);
        assert!(single <= 0.59);
        let v = verify(&a, &b, f, -3.0).expect("verify");
        assert!((v.distance + 2.0).abs() < 1e-4 && !v.same, "{v:?}");
        // The Euclidean part alone rejects (0.7 > 0.59), the cosine part is close (z = −7):
        // fused −5, accepted.
        let c = d("f", &[0.0, 0.7, 0.8, 0.6]);
        let v = verify(&a, &c, f, -3.0).expect("verify");
        assert!((v.distance + 5.0).abs() < 1e-4 && v.same, "{v:?}");
        // The cosine part ignores scale, the Euclidean part does not.
        let scaled = d("f", &[0.0, 0.7, 8.0, 6.0]);
        let w = verify(&a, &scaled, f, -3.0).expect("verify");
        assert!((w.distance - v.distance).abs() < 1e-4);
        // Weight 1 is the Euclidean part alone, z-normalised.
        let Metric::Fused(mut only_first) = f else {
            unreachable!()
        };
        only_first.weight = 1.0;
        let v = verify(&a, &b, Metric::Fused(only_first), -3.0).expect("verify");
        assert!((v.distance + 5.0).abs() < 1e-4 && v.same);
        // A fused descriptor must have both parts.
        assert_eq!(
            verify(&d("f", &[0.0; 3]), &d("f", &[0.0; 3]), f, -3.0),
            Err(MatchError::Dimension {
                expected: 4,
                found: 3
            })
        );
        assert!(distance(f, &[0.0; 3], &[0.0; 3]).is_nan());
    }

    #[test]
    fn fused_identify_agrees_with_fused_verify_and_keeps_the_margin() {
        let f = fused();
        let mut g = Gallery::new(ModelId("f".into()), f, 0);
        g.add_values("alice", &[0.0, 0.0, 1.0, 0.0]).expect("add");
        g.add_values("bob", &[0.3, 0.4, 0.0, 1.0]).expect("add");
        g.add_values("carol", &[0.0, 0.7, 0.8, 0.6]).expect("add");
        // Cosine parts are stored normalised; the Euclidean part as is.
        g.add_values("alice", &[5.0, 5.0, 3.0, 0.0]).expect("add");
        assert_eq!(g.as_flat()[12..], [5.0, 5.0, 1.0, 0.0]);
        let probe = d("f", &[0.3, 0.4, 0.6, 0.8]);
        let want = |row: &[f32]| distance(f, row, &probe.values);
        // bob: dlib part 0 (z −10), cosine 1 − 0.8 (z −7): −8.5. carol: dlib part 0.424
        // (z −5.76), cosine 1 − 0.96 (z −8.6): −7.18. alice: −5 (and +55.8 for her far row).
        let r = g.identify(&probe, -3.0, 0.5).expect("identify");
        assert_eq!(
            r.decision,
            Decision::Match {
                person: "bob".into()
            }
        );
        let best = r.best.clone().expect("best");
        assert_eq!(best.template, 1);
        assert!((best.distance + 8.5).abs() < 1e-4, "{best:?}");
        let second = r.second.clone().expect("second");
        assert_eq!(second.person, "carol");
        assert!((second.distance - want(&[0.0, 0.7, 0.8, 0.6])).abs() < 1e-4);
        assert!((second.distance + 7.1787).abs() < 1e-3, "{second:?}");
        // The margin rule on fused distances: bob and carol are 1.32 apart.
        let r = g.identify(&probe, -3.0, 2.0).expect("identify");
        assert_eq!(
            r.decision,
            Decision::Unknown {
                reason: UnknownReason::Ambiguous
            }
        );
        let r = g.identify(&probe, -9.0, 0.5).expect("identify");
        assert_eq!(
            r.decision,
            Decision::Unknown {
                reason: UnknownReason::AboveThreshold
            }
        );
        assert!(g.identify(&d("f", &[0.0; 3]), -3.0, 0.5).is_err());
    }

    #[test]
    fn fused_gallery_agrees_with_brute_force() {
        use crate::model::{ComponentMetric, FusedComponent};
        let f = Metric::Fused(FusedMetric {
            components: [
                FusedComponent {
                    metric: ComponentMetric::Euclidean,
                    dims: 128,
                    mean: 2.3,
                    std: 0.2,
                },
                FusedComponent {
                    metric: ComponentMetric::Cosine,
                    dims: 128,
                    mean: 1.0,
                    std: 0.09,
                },
            ],
            weight: 0.35,
        });
        let mut g = Gallery::new(ModelId("f".into()), f, 256);
        let mut seed = 777u32;
        let mut rnd = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        let rows: Vec<Vec<f32>> = (0..300)
            .map(|_| (0..256).map(|_| rnd()).collect())
            .collect();
        for (i, r) in rows.iter().enumerate() {
            g.add_values(&format!("p{}", i / 3), r).expect("add");
        }
        let probe: Vec<f32> = (0..256).map(|_| rnd()).collect();
        let r = g.identify(&d("f", &probe), 100.0, 0.0).expect("identify");
        let mut all: Vec<(f32, usize)> = rows
            .iter()
            .enumerate()
            .map(|(i, row)| (distance(f, row, &probe), i))
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0));
        let best = r.best.expect("best");
        assert_eq!(best.template, all[0].1);
        assert!((best.distance - all[0].0).abs() < 1e-3);
        let other = all
            .iter()
            .find(|(_, i)| i / 3 != all[0].1 / 3)
            .expect("other");
        assert_eq!(r.second.expect("second").template, other.1);
    }

    fn gallery() -> Gallery {
        let mut g = Gallery::new(ModelId("m".into()), Metric::Euclidean, 2);
        g.add_values("alice", &[0.0, 0.0]).expect("add");
        g.add_values("alice", &[0.1, 0.0]).expect("add");
        g.add_values("bob", &[1.0, 0.0]).expect("add");
        g.add_values("carol", &[0.0, 1.0]).expect("add");
        g
    }

    #[test]
    fn identify_returns_best_and_best_other_person() {
        let g = gallery();
        let r = g
            .identify(&d("m", &[0.08, 0.0]), 0.6, 0.1)
            .expect("identify");
        assert_eq!(
            r.decision,
            Decision::Match {
                person: "alice".into()
            }
        );
        let best = r.best.expect("best");
        assert_eq!(best.template, 1);
        assert!((best.distance - 0.02).abs() < 1e-5);
        // Second is bob, not alice's other template.
        let second = r.second.expect("second");
        assert_eq!(second.person, "bob");
        assert!((second.distance - 0.92).abs() < 1e-5);
    }

    #[test]
    fn identify_says_unknown_for_strangers_and_ambiguity() {
        let g = gallery();
        let far = g
            .identify(&d("m", &[5.0, 5.0]), 0.6, 0.1)
            .expect("identify");
        assert_eq!(
            far.decision,
            Decision::Unknown {
                reason: UnknownReason::AboveThreshold
            }
        );
        // Equidistant from bob and carol (1.0 each, alice 1.35): within threshold, no margin.
        let mid = g
            .identify(&d("m", &[1.0, 1.0]), 1.1, 0.05)
            .expect("identify");
        assert_eq!(
            mid.decision,
            Decision::Unknown {
                reason: UnknownReason::Ambiguous
            }
        );
        let empty = Gallery::new(ModelId("m".into()), Metric::Euclidean, 2);
        assert_eq!(
            empty
                .identify(&d("m", &[0.0, 0.0]), 0.6, 0.1)
                .expect("id")
                .decision,
            Decision::Unknown {
                reason: UnknownReason::EmptyGallery
            }
        );
        assert!(g.identify(&d("x", &[0.0, 0.0]), 0.6, 0.1).is_err());
    }

    #[test]
    fn flat_gallery_agrees_with_brute_force() {
        // Pseudo-random but deterministic rows; compare against direct distances.
        let dims = 128;
        let mut g = Gallery::new(ModelId("m".into()), Metric::Cosine, dims);
        let mut seed = 12345u32;
        let mut rnd = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        let rows: Vec<Vec<f32>> = (0..500)
            .map(|_| (0..dims).map(|_| rnd()).collect())
            .collect();
        for (i, r) in rows.iter().enumerate() {
            g.add_values(&format!("p{}", i / 3), r).expect("add");
        }
        assert_eq!(g.as_flat().len(), 500 * dims);
        let probe: Vec<f32> = (0..dims).map(|_| rnd()).collect();
        let r = g.identify(&d("m", &probe), 2.0, 0.0).expect("identify");
        let mut all: Vec<(f32, usize)> = rows
            .iter()
            .enumerate()
            .map(|(i, row)| (distance(Metric::Cosine, row, &probe), i))
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0));
        let best = r.best.expect("best");
        assert_eq!(best.template, all[0].1);
        assert!((best.distance - all[0].0).abs() < 1e-4);
        let other = all
            .iter()
            .find(|(_, i)| i / 3 != all[0].1 / 3)
            .expect("other");
        assert_eq!(r.second.expect("second").template, other.1);
    }
}
