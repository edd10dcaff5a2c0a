//! Matching: 1:1 verification with a per-model calibrated threshold, and 1:N identification
//! over a gallery held as one flat, contiguous `Vec<f32>` (row-major, `dims` values per
//! template), returning the best and the best *other* person with a margin rule and an
//! explicit "unknown".
//!
//! Distances: Euclidean for raw descriptors (dlib), `1 - cosine` for L2-normalised ones
//! (MobileFaceNet). Smaller is more similar; "same" means `distance <= threshold`.

use serde::Serialize;

use crate::model::Metric;
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

/// Distance between two descriptor value slices under `metric`.
pub fn distance(metric: Metric, a: &[f32], b: &[f32]) -> f32 {
    match metric {
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
    /// `len * dims` values, row-major.
    data: Vec<f32>,
    /// Squared norm of each row (Euclidean metric uses `|a|² + |b|² - 2 a·b`).
    norms2: Vec<f32>,
    /// Index into `people` for each row.
    owner: Vec<u32>,
    people: Vec<String>,
    person_index: std::collections::HashMap<String, u32>,
}

impl Gallery {
    pub fn new(model: ModelId, metric: Metric, dims: usize) -> Self {
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
        let mut n2: f32 = values.iter().map(|v| v * v).sum();
        if self.metric == Metric::Cosine && n2 > 0.0 {
            let n = n2.sqrt();
            self.data.extend(values.iter().map(|v| v / n));
            n2 = 1.0;
        } else {
            self.data.extend_from_slice(values);
        }
        self.norms2.push(n2);
        self.owner.push(idx);
        Ok(())
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
        for (row, (chunk, &n2)) in self
            .data
            .chunks_exact(self.dims)
            .zip(&self.norms2)
            .enumerate()
        {
            let dot = dot(chunk, &q);
            let s = match self.metric {
                Metric::Euclidean => (qn2 + n2 - 2.0 * dot).max(0.0),
                Metric::Cosine => 1.0 - dot,
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
            Metric::Cosine => s,
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
