//! Open-set 1:N identification as the kiosk does it: one template per enrolled person, every
//! probe searched with [`Gallery::identify`] (threshold and margin rule), the answer a person
//! or "unknown". Mated probes are photos of enrolled people (not the enrolled photo); non-mated
//! probes are photos of people who are not in the gallery.
//!
//! Gallery sizes beyond the set's number of identities are not simulated with made-up
//! descriptors: [`extrapolate`] takes each real probe's real distances to every photo of
//! other people and asks how likely `N` such templates leave it alone, assuming the gallery's
//! people are drawn independently from the same population as the set's.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde::Serialize;

use crate::matching::{Decision, Gallery, distance};
use crate::model::Metric;
use crate::types::ModelId;

/// One embedded photo: its identity (index) and descriptor.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub identity: usize,
    pub values: Vec<f32>,
}

/// Outcome counts of probes against one or more galleries.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct OpenSetCounts {
    pub mated_probes: usize,
    /// Mated probes answered with their own person (threshold and margin passed).
    pub mated_identified: usize,
    /// Mated probes whose closest template is their own person, whatever the decision.
    pub mated_rank1: usize,
    /// Mated probes answered with somebody else (a wrong punch).
    pub mated_misidentified: usize,
    pub non_mated_probes: usize,
    /// Non-mated probes answered with a person (an unenrolled person named as someone).
    pub non_mated_named: usize,
}

impl OpenSetCounts {
    fn add(&mut self, o: &OpenSetCounts) {
        self.mated_probes += o.mated_probes;
        self.mated_identified += o.mated_identified;
        self.mated_rank1 += o.mated_rank1;
        self.mated_misidentified += o.mated_misidentified;
        self.non_mated_probes += o.non_mated_probes;
        self.non_mated_named += o.non_mated_named;
    }
}

/// Search every probe in a gallery of `gallery` samples with the kiosk's rule.
pub fn score_gallery(
    metric: Metric,
    gallery: &[&Sample],
    probes: &[&Sample],
    threshold: f32,
    margin: f32,
) -> OpenSetCounts {
    let model = ModelId("eval".into());
    let dims = gallery.first().map_or(0, |s| s.values.len());
    let mut g = Gallery::with_capacity(model.clone(), metric, dims, gallery.len());
    for s in gallery {
        // Rows of one eval run have one length and finite values (the embedder checks both).
        let _ = g.add_values(&s.identity.to_string(), &s.values);
    }
    let enrolled: std::collections::HashSet<usize> = gallery.iter().map(|s| s.identity).collect();
    let mut c = OpenSetCounts::default();
    for p in probes {
        let probe = crate::types::Descriptor {
            model: model.clone(),
            values: p.values.clone(),
        };
        let Ok(r) = g.identify(&probe, threshold, margin) else {
            continue;
        };
        let own = p.identity.to_string();
        let named = match &r.decision {
            Decision::Match { person } => Some(person.clone()),
            Decision::Unknown { .. } => None,
        };
        if enrolled.contains(&p.identity) {
            c.mated_probes += 1;
            if r.best.as_ref().is_some_and(|b| b.person == own) {
                c.mated_rank1 += 1;
            }
            match named {
                Some(n) if n == own => c.mated_identified += 1,
                Some(_) => c.mated_misidentified += 1,
                None => {}
            }
        } else {
            c.non_mated_probes += 1;
            if named.is_some() {
                c.non_mated_named += 1;
            }
        }
    }
    c
}

/// One gallery: the enrolled sample of each gallery identity, and every other sample as probe.
#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    pub gallery: Vec<usize>,
    pub probes: Vec<usize>,
}

/// `repeats` random galleries of `size` identities (among those with at least two samples, so
/// each has a mated probe), one random sample each; probes are all the other samples. Seeded:
/// the same input gives the same trials.
pub fn trials(samples: &[Sample], size: usize, repeats: usize, seed: u64) -> Vec<Trial> {
    let mut by_id: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for (i, s) in samples.iter().enumerate() {
        by_id.entry(s.identity).or_default().push(i);
    }
    let eligible: Vec<usize> = by_id
        .iter()
        .filter(|(_, v)| v.len() >= 2)
        .map(|(&k, _)| k)
        .collect();
    if size == 0 || size > eligible.len() {
        return Vec::new();
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ size as u64);
    let mut out = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let mut ids = eligible.clone();
        ids.shuffle(&mut rng);
        let mut gallery: Vec<usize> = Vec::with_capacity(size);
        for id in &ids[..size] {
            let mut photos = by_id[id].clone();
            photos.shuffle(&mut rng);
            gallery.push(photos[0]);
        }
        gallery.sort_unstable();
        let probes = (0..samples.len())
            .filter(|i| gallery.binary_search(i).is_err())
            .collect();
        out.push(Trial { gallery, probes });
    }
    out
}

/// Figures of one gallery size over its trials.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SizeReport {
    pub gallery_size: usize,
    pub trials: usize,
    pub counts: OpenSetCounts,
    /// Mated probes identified as themselves (threshold and margin) / mated probes.
    pub identification_rate: Option<f64>,
    /// Closed-set rank-1: closest template is their own / mated probes.
    pub rank1_rate: Option<f64>,
    /// Mated probes named as somebody else / mated probes.
    pub misidentification_rate: Option<f64>,
    /// Non-mated probes named as somebody / non-mated probes (FPIR).
    pub fpir: Option<f64>,
}

fn ratio(n: usize, d: usize) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

/// Run `repeats` trials at each size.
pub fn evaluate_sizes(
    metric: Metric,
    samples: &[Sample],
    sizes: &[usize],
    repeats: usize,
    threshold: f32,
    margin: f32,
    seed: u64,
) -> Vec<SizeReport> {
    let mut out = Vec::new();
    for &size in sizes {
        let ts = trials(samples, size, repeats, seed);
        if ts.is_empty() {
            continue;
        }
        let mut c = OpenSetCounts::default();
        for t in &ts {
            let g: Vec<&Sample> = t.gallery.iter().map(|&i| &samples[i]).collect();
            let p: Vec<&Sample> = t.probes.iter().map(|&i| &samples[i]).collect();
            c.add(&score_gallery(metric, &g, &p, threshold, margin));
        }
        out.push(SizeReport {
            gallery_size: size,
            trials: ts.len(),
            identification_rate: ratio(c.mated_identified, c.mated_probes),
            rank1_rate: ratio(c.mated_rank1, c.mated_probes),
            misidentification_rate: ratio(c.mated_misidentified, c.mated_probes),
            fpir: ratio(c.non_mated_named, c.non_mated_probes),
            counts: c,
        });
    }
    out
}

/// Estimated figures for a gallery of `gallery_size` people, from real distances.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Extrapolated {
    pub gallery_size: usize,
    /// Mean over mated (probe, enrolled photo) pairs of `[g <= threshold] · (1 - q)^(N-1)`,
    /// `q` = the probe's share of other-person photos closer than `g + margin`.
    pub identification_rate: Option<f64>,
    /// Mean over probes of `1 - (1 - p)^N`, `p` = the probe's share of other-person photos
    /// within the threshold (the margin is ignored, so this errs high).
    pub fpir: Option<f64>,
    /// The same if `p` were the rule-of-three bound `3 / M` (M = impostor comparisons seen
    /// when none was accepted): what the set can rule out at 95% confidence at best.
    pub fpir_resolution_limit: Option<f64>,
    /// Impostor comparisons the estimate rests on.
    pub impostor_comparisons: usize,
    pub impostors_within_threshold: usize,
}

/// Extrapolate to larger galleries from every probe's distances to all photos of other people.
pub fn extrapolate(
    metric: Metric,
    samples: &[Sample],
    sizes: &[usize],
    threshold: f32,
    margin: f32,
) -> Vec<Extrapolated> {
    // Per probe: its sorted distances to other people's photos, and its genuine distances.
    let mut per_probe: Vec<(Vec<f32>, Vec<f32>)> = Vec::with_capacity(samples.len());
    for (i, s) in samples.iter().enumerate() {
        let mut imp = Vec::new();
        let mut gen_ = Vec::new();
        for (j, t) in samples.iter().enumerate() {
            if i == j {
                continue;
            }
            let d = distance(metric, &s.values, &t.values);
            if s.identity == t.identity {
                gen_.push(d)
            } else {
                imp.push(d)
            }
        }
        imp.sort_by(f32::total_cmp);
        per_probe.push((imp, gen_));
    }
    let m: usize = per_probe.iter().map(|(i, _)| i.len()).sum();
    let within: usize = per_probe
        .iter()
        .map(|(i, _)| i.partition_point(|&d| d <= threshold))
        .sum();
    sizes
        .iter()
        .map(|&n| {
            let mut ir_sum = 0.0;
            let mut ir_n = 0usize;
            let mut fp_sum = 0.0;
            let mut fp_n = 0usize;
            for (imp, gens) in &per_probe {
                if imp.is_empty() {
                    continue;
                }
                let share = |x: usize| x as f64 / imp.len() as f64;
                let p = share(imp.partition_point(|&d| d <= threshold));
                fp_sum += 1.0 - (1.0 - p).powi(n as i32);
                fp_n += 1;
                for &g in gens {
                    ir_n += 1;
                    if g <= threshold {
                        let q = share(imp.partition_point(|&d| d < g + margin));
                        ir_sum += (1.0 - q).powi(n.saturating_sub(1) as i32);
                    }
                }
            }
            Extrapolated {
                gallery_size: n,
                identification_rate: (ir_n > 0).then(|| ir_sum / ir_n as f64),
                fpir: (fp_n > 0).then(|| fp_sum / fp_n as f64),
                fpir_resolution_limit: (m > 0).then(|| {
                    let p = (3.0 / m as f64).min(1.0);
                    1.0 - (1.0 - p).powi(n as i32)
                }),
                impostor_comparisons: m,
                impostors_within_threshold: within,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(identity: usize, x: f32, y: f32) -> Sample {
        Sample {
            identity,
            values: vec![x, y],
        }
    }

    #[test]
    fn open_set_scoring_counts_each_outcome() {
        // Gallery: person 0 at the origin, person 1 at (1, 0). Threshold 0.3, margin 0.1.
        let g0 = s(0, 0.0, 0.0);
        let g1 = s(1, 1.0, 0.0);
        let gallery = [&g0, &g1];
        let mated_ok = s(0, 0.1, 0.0); // 0.1 from 0, 0.9 from 1: identified
        let mated_far = s(1, 1.0, 0.5); // 0.5 from its own: unknown, but rank-1 correct
        let mated_wrong = s(1, 0.2, 0.0); // closer to person 0 (0.2 vs 0.8): a wrong name
        let stranger_close = s(2, 0.0, 0.25); // 0.25 from person 0, 1.03 from 1: named (FP)
        let stranger_far = s(3, 0.0, 0.35); // 0.35 > threshold: unknown
        let stranger_mid = s(4, 0.5, 0.0); // 0.5 from both: above threshold
        let probes = [
            &mated_ok,
            &mated_far,
            &mated_wrong,
            &stranger_close,
            &stranger_far,
            &stranger_mid,
        ];
        let c = score_gallery(Metric::Euclidean, &gallery, &probes, 0.3, 0.1);
        assert_eq!(
            c,
            OpenSetCounts {
                mated_probes: 3,
                mated_identified: 1,
                mated_rank1: 2,
                mated_misidentified: 1,
                non_mated_probes: 3,
                non_mated_named: 1,
            }
        );
        // The margin rule: a stranger within the threshold of two people about equally is
        // "unknown" (ambiguous), not a name.
        let g2 = s(5, 0.0, 0.5);
        let between = s(6, 0.0, 0.26); // 0.26 from person 0, 0.24 from person 5: gap 0.02
        let c = score_gallery(Metric::Euclidean, &[&g0, &g2], &[&between], 0.3, 0.1);
        assert_eq!(c.non_mated_named, 0);
        // Without the margin it would be named.
        let c = score_gallery(Metric::Euclidean, &[&g0, &g2], &[&between], 0.3, 0.0);
        assert_eq!(c.non_mated_named, 1);
    }

    #[test]
    fn trials_keep_the_enrolled_photo_out_of_the_probes() {
        let samples: Vec<Sample> = (0..12).map(|i| s(i / 3, i as f32, 0.0)).collect();
        let ts = trials(&samples, 2, 10, 7);
        assert_eq!(ts.len(), 10);
        for t in &ts {
            assert_eq!(t.gallery.len(), 2);
            assert_eq!(t.gallery.len() + t.probes.len(), samples.len());
            assert!(t.gallery.iter().all(|g| !t.probes.contains(g)));
            let ids: std::collections::HashSet<usize> =
                t.gallery.iter().map(|&g| samples[g].identity).collect();
            assert_eq!(ids.len(), 2, "one photo per enrolled identity");
        }
        assert_eq!(ts, trials(&samples, 2, 10, 7), "seeded");
        assert!(trials(&samples, 5, 1, 7).is_empty(), "only 4 identities");
    }

    #[test]
    fn separated_identities_are_all_identified_and_strangers_refused() {
        // Four people far apart, three photos each, tight clusters.
        let mut samples = Vec::new();
        for id in 0..4 {
            for k in 0..3 {
                samples.push(s(id, id as f32 * 10.0 + k as f32 * 0.01, 0.0));
            }
        }
        let r = evaluate_sizes(Metric::Euclidean, &samples, &[1, 3], 5, 0.5, 0.05, 1);
        assert_eq!(r.len(), 2);
        for x in &r {
            assert_eq!(x.identification_rate, Some(1.0));
            assert_eq!(x.fpir, Some(0.0));
        }
        // One gallery person of size 1: 2 mated probes and 9 non-mated per trial.
        assert_eq!(r[0].counts.mated_probes, 5 * 2);
        assert_eq!(r[0].counts.non_mated_probes, 5 * 9);
        let e = extrapolate(Metric::Euclidean, &samples, &[10_000], 0.5, 0.05);
        assert_eq!(e[0].fpir, Some(0.0));
        assert_eq!(e[0].identification_rate, Some(1.0));
        assert_eq!(e[0].impostors_within_threshold, 0);
        // 12 probes × 9 other-person photos: the rule of three bounds p at 3/108.
        assert_eq!(e[0].impostor_comparisons, 108);
        assert!(e[0].fpir_resolution_limit.expect("limit") > 0.99);
    }

    #[test]
    fn extrapolation_grows_with_the_gallery() {
        // Person 0 and person 1 overlap a little: one of person 1's photos is within the
        // threshold of person 0's.
        let samples = vec![
            s(0, 0.0, 0.0),
            s(0, 0.1, 0.0),
            s(1, 0.45, 0.0),
            s(1, 0.9, 0.0),
            s(2, 5.0, 0.0),
            s(2, 5.1, 0.0),
        ];
        let e = extrapolate(Metric::Euclidean, &samples, &[1, 100], 0.5, 0.0);
        let (f1, f100) = (e[0].fpir.expect("f"), e[1].fpir.expect("f"));
        assert!(f1 > 0.0 && f100 > f1, "{e:?}");
        assert!(e[0].impostors_within_threshold > 0);
    }
}
