//! Pure arithmetic over scored pairs: the operating point at a fixed threshold, the threshold
//! chosen at a target FAR, and the leave-one-source-out protocol. No model runs here, so the
//! tests can use hand-made distances.
//!
//! Decision rule everywhere in this module: a pair is accepted when `distance <= threshold`,
//! exactly as [`crate::matching::verify`] decides "same".

use serde::Serialize;

/// One scored pair of the set, with the source folder of each photo (indices into the list of
/// source names) and the photos themselves (indices into the image list, for naming).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabeledPair {
    pub a: usize,
    pub b: usize,
    pub source_a: usize,
    pub source_b: usize,
    pub genuine: bool,
    pub distance: f32,
}

impl LabeledPair {
    /// Whether either photo comes from `source`.
    pub fn involves(&self, source: usize) -> bool {
        self.source_a == source || self.source_b == source
    }
}

/// What a fixed threshold does on a set of pairs: the counts behind TAR and FAR.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct OperatingPoint {
    pub threshold: f32,
    pub genuine_pairs: usize,
    pub impostor_pairs: usize,
    pub genuine_accepted: usize,
    pub impostors_accepted: usize,
    /// `genuine_accepted / genuine_pairs`; `None` without genuine pairs.
    pub tar: Option<f64>,
    /// `impostors_accepted / impostor_pairs`; `None` without impostor pairs.
    pub far: Option<f64>,
}

fn ratio(n: usize, d: usize) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

impl OperatingPoint {
    /// Sum of several operating points' counts (the threshold of the first is kept; TAR and FAR
    /// are recomputed from the summed counts).
    pub fn pooled(points: &[OperatingPoint]) -> Option<OperatingPoint> {
        let first = points.first()?;
        let g: usize = points.iter().map(|p| p.genuine_pairs).sum();
        let i: usize = points.iter().map(|p| p.impostor_pairs).sum();
        let ga: usize = points.iter().map(|p| p.genuine_accepted).sum();
        let ia: usize = points.iter().map(|p| p.impostors_accepted).sum();
        Some(OperatingPoint {
            threshold: first.threshold,
            genuine_pairs: g,
            impostor_pairs: i,
            genuine_accepted: ga,
            impostors_accepted: ia,
            tar: ratio(ga, g),
            far: ratio(ia, i),
        })
    }
}

/// TAR and FAR at `threshold` (accept `distance <= threshold`).
pub fn operating_point(genuine: &[f32], impostor: &[f32], threshold: f32) -> OperatingPoint {
    let ga = genuine.iter().filter(|&&d| d <= threshold).count();
    let ia = impostor.iter().filter(|&&d| d <= threshold).count();
    OperatingPoint {
        threshold,
        genuine_pairs: genuine.len(),
        impostor_pairs: impostor.len(),
        genuine_accepted: ga,
        impostors_accepted: ia,
        tar: ratio(ga, genuine.len()),
        far: ratio(ia, impostor.len()),
    }
}

/// Operating point of a list of labelled pairs.
pub fn operating_point_of(pairs: &[LabeledPair], threshold: f32) -> OperatingPoint {
    let (g, i) = split_scores(pairs);
    operating_point(&g, &i, threshold)
}

/// Genuine and impostor distances of `pairs`.
pub fn split_scores(pairs: &[LabeledPair]) -> (Vec<f32>, Vec<f32>) {
    let mut g = Vec::new();
    let mut i = Vec::new();
    for p in pairs {
        if p.genuine {
            g.push(p.distance)
        } else {
            i.push(p.distance)
        }
    }
    (g, i)
}

/// The largest threshold at which at most `floor(target_far · N)` of the `N` impostor distances
/// are accepted (`distance <= threshold`): just below the `(floor(f·N)+1)`-th smallest. The
/// same point as [`super::rates`] reports, expressed for the `<=` rule. `None` without
/// impostors.
pub fn threshold_at_far(impostor: &[f32], target_far: f64) -> Option<f32> {
    if impostor.is_empty() {
        return None;
    }
    let mut im = impostor.to_vec();
    im.sort_by(f32::total_cmp);
    let k = (target_far * im.len() as f64).floor() as usize;
    Some(match im.get(k) {
        Some(&t) => next_down(t),
        None => f32::INFINITY,
    })
}

fn next_down(x: f32) -> f32 {
    if !x.is_finite() {
        return x;
    }
    if x == 0.0 {
        return -f32::from_bits(1);
    }
    f32::from_bits(if x > 0.0 {
        x.to_bits() - 1
    } else {
        x.to_bits() + 1
    })
}

/// Fitting pairs (neither photo from `held_out`) and measured pairs (at least one photo from
/// it). Every pair lands in exactly one of the two.
pub fn split_fold(pairs: &[LabeledPair], held_out: usize) -> (Vec<LabeledPair>, Vec<LabeledPair>) {
    pairs.iter().partition(|p| !p.involves(held_out))
}

/// One fold of leave-one-source-out.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Fold {
    pub source: String,
    /// Pairs the threshold was chosen on (no photo of this source).
    pub fit_genuine_pairs: usize,
    pub fit_impostor_pairs: usize,
    pub target_far: f64,
    /// Threshold chosen on the fitting pairs at `target_far`.
    pub chosen_threshold: Option<f32>,
    /// The held-out pairs at the chosen threshold.
    pub at_chosen: Option<OperatingPoint>,
    /// The held-out pairs at the shipped threshold (nothing chosen on any pairs of this run);
    /// `None` when the model has no shipped threshold.
    pub at_shipped: Option<OperatingPoint>,
    /// EER of the held-out pairs (threshold-free; `None` without both kinds of pairs).
    pub eer: Option<f64>,
}

/// Run one fold: choose on pairs not involving `held_out`, measure on pairs involving it.
pub fn run_fold(
    pairs: &[LabeledPair],
    held_out: usize,
    source_name: &str,
    target_far: f64,
    shipped_threshold: Option<f32>,
) -> Fold {
    let (fit, test) = split_fold(pairs, held_out);
    let (fit_g, fit_i) = split_scores(&fit);
    let chosen = threshold_at_far(&fit_i, target_far);
    let (test_g, test_i) = split_scores(&test);
    Fold {
        source: source_name.to_owned(),
        fit_genuine_pairs: fit_g.len(),
        fit_impostor_pairs: fit_i.len(),
        target_far,
        chosen_threshold: chosen,
        at_chosen: chosen.map(|t| operating_point(&test_g, &test_i, t)),
        at_shipped: shipped_threshold.map(|t| operating_point(&test_g, &test_i, t)),
        eer: super::rates(&test_g, &test_i, &[]).map(|r| r.eer),
    }
}

/// Mean and worst over folds of one rate, and the pooled counts.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Pooled {
    /// Mean over the folds that have genuine pairs.
    pub mean_tar: Option<f64>,
    /// Lowest fold TAR.
    pub worst_tar: Option<f64>,
    pub worst_tar_source: Option<String>,
    pub mean_far: Option<f64>,
    /// Highest fold FAR.
    pub worst_far: Option<f64>,
    pub worst_far_source: Option<String>,
    /// Counts summed over the folds (a pair between two sources is measured in both of its
    /// folds, each time at that fold's threshold).
    pub counts: Option<OperatingPoint>,
}

fn pool(folds: &[(String, OperatingPoint)]) -> Pooled {
    let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    let tars: Vec<(f64, &str)> = folds
        .iter()
        .filter_map(|(s, p)| p.tar.map(|t| (t, s.as_str())))
        .collect();
    let fars: Vec<(f64, &str)> = folds
        .iter()
        .filter_map(|(s, p)| p.far.map(|f| (f, s.as_str())))
        .collect();
    let worst_tar = tars.iter().min_by(|a, b| a.0.total_cmp(&b.0));
    let worst_far = fars.iter().max_by(|a, b| a.0.total_cmp(&b.0));
    let points: Vec<OperatingPoint> = folds.iter().map(|(_, p)| *p).collect();
    Pooled {
        mean_tar: mean(&tars.iter().map(|t| t.0).collect::<Vec<_>>()),
        worst_tar: worst_tar.map(|t| t.0),
        worst_tar_source: worst_tar.map(|t| t.1.to_owned()),
        mean_far: mean(&fars.iter().map(|t| t.0).collect::<Vec<_>>()),
        worst_far: worst_far.map(|t| t.0),
        worst_far_source: worst_far.map(|t| t.1.to_owned()),
        counts: OperatingPoint::pooled(&points),
    }
}

/// Leave-one-source-out over every source that has at least one pair.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LeaveOneSourceOut {
    pub target_far: f64,
    pub shipped_threshold: Option<f32>,
    pub folds: Vec<Fold>,
    /// Held-out figures at each fold's own chosen threshold.
    pub pooled_at_chosen: Pooled,
    /// Held-out figures at the shipped threshold.
    pub pooled_at_shipped: Pooled,
    /// Spread of the chosen thresholds over the folds.
    pub chosen_threshold_min: Option<f32>,
    pub chosen_threshold_max: Option<f32>,
}

/// Run every fold. `pairs_for(k)` gives the pairs scored for fold `k` (usually the same list
/// for every fold; different when something fitted on source `k` must be swapped out, like an
/// alignment template).
pub fn leave_one_source_out<'a>(
    sources: &[String],
    pairs_for: impl Fn(usize) -> &'a [LabeledPair],
    target_far: f64,
    shipped_threshold: Option<f32>,
) -> LeaveOneSourceOut {
    let mut folds = Vec::new();
    for (k, name) in sources.iter().enumerate() {
        let pairs = pairs_for(k);
        if !pairs.iter().any(|p| p.involves(k)) {
            continue;
        }
        folds.push(run_fold(pairs, k, name, target_far, shipped_threshold));
    }
    let chosen: Vec<(String, OperatingPoint)> = folds
        .iter()
        .filter_map(|f| f.at_chosen.map(|p| (f.source.clone(), p)))
        .collect();
    let shipped: Vec<(String, OperatingPoint)> = folds
        .iter()
        .filter_map(|f| f.at_shipped.map(|p| (f.source.clone(), p)))
        .collect();
    let ts: Vec<f32> = folds.iter().filter_map(|f| f.chosen_threshold).collect();
    LeaveOneSourceOut {
        target_far,
        shipped_threshold,
        pooled_at_chosen: pool(&chosen),
        pooled_at_shipped: pool(&shipped),
        chosen_threshold_min: ts.iter().copied().min_by(f32::total_cmp),
        chosen_threshold_max: ts.iter().copied().max_by(f32::total_cmp),
        folds,
    }
}

/// Score fusion of two embedders: each distance is z-normalised by the impostor distances of
/// the fitting pairs (mean and standard deviation), then mixed as
/// `weight · z_a + (1 − weight) · z_b`; lower is "more alike", like a distance.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Fusion {
    pub weight: f32,
    pub mean: [f32; 2],
    pub std: [f32; 2],
}

impl Fusion {
    pub fn score(&self, a: f32, b: f32) -> f32 {
        self.weight * (a - self.mean[0]) / self.std[0]
            + (1.0 - self.weight) * (b - self.mean[1]) / self.std[1]
    }
}

/// Grid of fusion weights tried: 0, 0.05, …, 1 (0 and 1 are the single embedders).
pub const FUSION_WEIGHTS: usize = 21;

fn mean_std(v: &[f32]) -> (f32, f32) {
    let n = v.len().max(1) as f64;
    let m = v.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = v.iter().map(|&x| (x as f64 - m).powi(2)).sum::<f64>() / n;
    (m as f32, (var.sqrt() as f32).max(1e-6))
}

/// Separation of genuine and impostor scores: (mean_i − mean_g) / sqrt((var_g + var_i) / 2).
fn d_prime(g: &[f32], i: &[f32]) -> f64 {
    let (mg, sg) = mean_std(g);
    let (mi, si) = mean_std(i);
    (mi - mg) as f64 / (((sg * sg + si * si) / 2.0) as f64).sqrt()
}

/// Fit a fusion on pairs scored by two embedders (`a[k]` and `b[k]` are the same image pair):
/// normalisation from the impostors, then the weight with the highest TAR at `target_far`
/// (threshold chosen on the same pairs); ties go to the larger d′. `None` without both kinds of
/// pairs.
pub fn fit_fusion(a: &[LabeledPair], b: &[LabeledPair], target_far: f64) -> Option<Fusion> {
    assert_eq!(
        a.len(),
        b.len(),
        "fusion needs the same pairs from both embedders"
    );
    let (ga, ia) = split_scores(a);
    let (gb, ib) = split_scores(b);
    if ga.is_empty() || ia.is_empty() {
        return None;
    }
    let (ma, sa) = mean_std(&ia);
    let (mb, sb) = mean_std(&ib);
    let mut best: Option<(f64, f64, Fusion)> = None;
    for k in 0..FUSION_WEIGHTS {
        let f = Fusion {
            weight: k as f32 / (FUSION_WEIGHTS - 1) as f32,
            mean: [ma, mb],
            std: [sa, sb],
        };
        let g: Vec<f32> = ga.iter().zip(&gb).map(|(&x, &y)| f.score(x, y)).collect();
        let i: Vec<f32> = ia.iter().zip(&ib).map(|(&x, &y)| f.score(x, y)).collect();
        let t = threshold_at_far(&i, target_far)?;
        let tar = operating_point(&g, &i, t).tar.unwrap_or(0.0);
        let dp = d_prime(&g, &i);
        if best.is_none_or(|(bt, bd, _)| tar > bt || (tar == bt && dp > bd)) {
            best = Some((tar, dp, f));
        }
    }
    best.map(|b| b.2)
}

/// The pairs of `a` with their distance replaced by the fused score.
pub fn fuse_pairs(a: &[LabeledPair], b: &[LabeledPair], f: &Fusion) -> Vec<LabeledPair> {
    a.iter()
        .zip(b)
        .map(|(p, q)| {
            debug_assert_eq!((p.a, p.b), (q.a, q.b));
            LabeledPair {
                distance: f.score(p.distance, q.distance),
                ..*p
            }
        })
        .collect()
}

/// Leave-one-source-out of the fusion: for each fold, the normalisation, the weight and the
/// threshold are all fitted on the pairs without the held-out source.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FusedLeaveOneSourceOut {
    /// The fusion fitted for each fold (by held-out source).
    pub fusions: Vec<(String, Fusion)>,
    #[serde(flatten)]
    pub loso: LeaveOneSourceOut,
}

/// Run the fused protocol; `a_for(k)` and `b_for(k)` give the two embedders' pairs for fold `k`
/// (same pairs in the same order).
pub fn leave_one_source_out_fused<'a>(
    sources: &[String],
    a_for: impl Fn(usize) -> &'a [LabeledPair],
    b_for: impl Fn(usize) -> &'a [LabeledPair],
    target_far: f64,
) -> FusedLeaveOneSourceOut {
    let mut fused: Vec<Vec<LabeledPair>> = Vec::new();
    let mut fusions = Vec::new();
    for (k, name) in sources.iter().enumerate() {
        let (a, b) = (a_for(k), b_for(k));
        let (fa, _) = split_fold(a, k);
        let (fb, _) = split_fold(b, k);
        match fit_fusion(&fa, &fb, target_far) {
            Some(f) => {
                fusions.push((name.clone(), f));
                fused.push(fuse_pairs(a, b, &f));
            }
            None => fused.push(Vec::new()),
        }
    }
    let loso = leave_one_source_out(sources, |k| &fused[k], target_far, None);
    FusedLeaveOneSourceOut { fusions, loso }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(sa: usize, sb: usize, genuine: bool, d: f32) -> LabeledPair {
        LabeledPair {
            a: 0,
            b: 0,
            source_a: sa,
            source_b: sb,
            genuine,
            distance: d,
        }
    }

    #[test]
    fn operating_point_counts_known_scores() {
        // 4 genuine, 2 at or below 0.5; 5 impostors, 1 at or below 0.5 (0.5 itself: `<=`).
        let g = [0.1, 0.5, 0.6, 0.9];
        let i = [0.5, 0.7, 0.8, 1.0, 1.2];
        let p = operating_point(&g, &i, 0.5);
        assert_eq!((p.genuine_pairs, p.impostor_pairs), (4, 5));
        assert_eq!((p.genuine_accepted, p.impostors_accepted), (2, 1));
        assert_eq!(p.tar, Some(0.5));
        assert_eq!(p.far, Some(0.2));
        let none = operating_point(&[], &i, 0.5);
        assert_eq!(none.tar, None);
        assert_eq!(none.far, Some(0.2));
        // Pooling sums the counts, it does not average the rates.
        let q = operating_point(&[0.1], &[2.0, 2.0, 2.0], 0.5);
        let pooled = OperatingPoint::pooled(&[p, q]).expect("pooled");
        assert_eq!((pooled.genuine_accepted, pooled.genuine_pairs), (3, 5));
        assert_eq!(pooled.far, Some(1.0 / 8.0));
    }

    #[test]
    fn threshold_at_far_lets_through_at_most_the_allowed_impostors() {
        let i: Vec<f32> = (0..1000).map(|k| 1.0 + k as f32 * 0.001).collect();
        // FAR 1e-3 of 1000: one impostor may pass.
        let t = threshold_at_far(&i, 1e-3).expect("t");
        assert_eq!(operating_point(&[], &i, t).impostors_accepted, 1);
        assert!(t < i[1] && t >= i[0]);
        // FAR 0 accepts none, even the closest.
        let t0 = threshold_at_far(&i, 0.0).expect("t");
        assert_eq!(operating_point(&[], &i, t0).impostors_accepted, 0);
        assert!(threshold_at_far(&[], 1e-3).is_none());
        // Ties: three impostors at 0.4, target allows one; none of the tied may pass.
        let tied = [0.4, 0.4, 0.4, 0.9];
        let t = threshold_at_far(&tied, 0.25).expect("t");
        assert_eq!(operating_point(&[], &tied, t).impostors_accepted, 0);
    }

    #[test]
    fn split_puts_every_pair_in_exactly_one_side() {
        let pairs = vec![
            pair(0, 0, true, 0.1),
            pair(0, 1, false, 0.9),
            pair(1, 1, true, 0.2),
            pair(1, 2, false, 0.8),
            pair(2, 2, false, 0.7),
        ];
        let (fit, test) = split_fold(&pairs, 1);
        assert_eq!(fit.len() + test.len(), pairs.len());
        assert!(fit.iter().all(|p| !p.involves(1)));
        assert!(test.iter().all(|p| p.involves(1)));
        assert_eq!(test.len(), 3);
    }

    /// Three sources with genuine and impostor pairs inside and across them.
    fn three_sources() -> Vec<LabeledPair> {
        let mut v = Vec::new();
        for s in 0..3 {
            for k in 0..20 {
                v.push(pair(s, s, true, 0.3 + 0.01 * k as f32 + 0.05 * s as f32));
            }
            for t in s..3 {
                for k in 0..200 {
                    v.push(pair(s, t, false, 0.55 + 0.002 * k as f32 + 0.01 * t as f32));
                }
            }
        }
        v
    }

    #[test]
    fn chosen_threshold_does_not_move_when_the_held_out_source_changes() {
        let pairs = three_sources();
        let names: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        for (k, name) in names.iter().enumerate() {
            let base = run_fold(&pairs, k, name, 1e-2, Some(0.6));
            // Perturb every score that involves source k: push its impostors right onto the
            // genuine range and its genuine pairs far out. The measurement must change, the
            // threshold must not.
            let perturbed: Vec<LabeledPair> = pairs
                .iter()
                .map(|p| {
                    let mut q = *p;
                    if p.involves(k) {
                        q.distance = if p.genuine { 5.0 } else { 0.01 };
                    }
                    q
                })
                .collect();
            let moved = run_fold(&perturbed, k, name, 1e-2, Some(0.6));
            assert_eq!(base.chosen_threshold, moved.chosen_threshold, "fold {k}");
            assert_eq!(base.fit_impostor_pairs, moved.fit_impostor_pairs);
            assert_ne!(
                base.at_chosen, moved.at_chosen,
                "fold {k} measures source {k}"
            );
            assert_eq!(moved.at_chosen.and_then(|p| p.tar), Some(0.0));
            // And perturbing another source does move it (the test can fail).
            let other = (k + 1) % 3;
            let elsewhere: Vec<LabeledPair> = pairs
                .iter()
                .map(|p| {
                    let mut q = *p;
                    if !p.involves(k) && p.involves(other) && !p.genuine {
                        q.distance -= 0.5;
                    }
                    q
                })
                .collect();
            let shifted = run_fold(&elsewhere, k, name, 1e-2, Some(0.6));
            assert_ne!(base.chosen_threshold, shifted.chosen_threshold, "fold {k}");
        }
    }

    #[test]
    fn leave_one_source_out_pools_mean_and_worst() {
        let pairs = three_sources();
        let names: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let r = leave_one_source_out(&names, |_| &pairs, 1e-2, Some(0.6));
        assert_eq!(r.folds.len(), 3);
        // Shipped threshold 0.6: source c's genuine pairs reach 0.3 + 0.19 + 0.10 = 0.59, all in;
        // impostors start at 0.55 + 0.01·t, so some pass in every fold.
        for f in &r.folds {
            let shipped = f.at_shipped.expect("shipped");
            assert_eq!(shipped.tar, Some(1.0), "{f:?}");
            assert!(shipped.impostors_accepted > 0, "{f:?}");
        }
        let tars: Vec<f64> = r
            .folds
            .iter()
            .filter_map(|f| f.at_chosen.and_then(|p| p.tar))
            .collect();
        let worst = tars.iter().copied().fold(f64::INFINITY, f64::min);
        assert_eq!(r.pooled_at_chosen.worst_tar, Some(worst));
        let mean = tars.iter().sum::<f64>() / tars.len() as f64;
        assert!((r.pooled_at_chosen.mean_tar.expect("mean") - mean).abs() < 1e-12);
        // Pooled counts: every fold's held-out pairs summed.
        let total: usize = r
            .folds
            .iter()
            .filter_map(|f| f.at_shipped.map(|p| p.impostor_pairs))
            .sum();
        assert_eq!(
            r.pooled_at_shipped.counts.expect("counts").impostor_pairs,
            total
        );
        // A source with no pairs at all gets no fold.
        let four: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        assert_eq!(
            leave_one_source_out(&four, |_| &pairs, 1e-2, Some(0.6))
                .folds
                .len(),
            3
        );
    }

    #[test]
    fn fusion_is_fitted_without_the_held_out_source() {
        let a = three_sources();
        // The second embedder: same pairs, scores mirrored around the middle of each source so
        // the best weight is not trivially 0 or 1.
        let b: Vec<LabeledPair> = a
            .iter()
            .map(|p| LabeledPair {
                distance: p.distance * 0.5 + 0.02 * p.source_a as f32,
                ..*p
            })
            .collect();
        let names: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let base = leave_one_source_out_fused(&names, |_| &a, |_| &b, 1e-2);
        assert_eq!(base.fusions.len(), 3);
        for k in 0..3 {
            let perturb = |v: &[LabeledPair]| -> Vec<LabeledPair> {
                v.iter()
                    .map(|p| {
                        let mut q = *p;
                        if p.involves(k) {
                            q.distance = if p.genuine { 5.0 } else { 0.01 };
                        }
                        q
                    })
                    .collect()
            };
            let (pa, pb) = (perturb(&a), perturb(&b));
            let moved = leave_one_source_out_fused(&names, |_| &pa, |_| &pb, 1e-2);
            // Fold k's fusion and threshold are unchanged; its measurement changes.
            assert_eq!(base.fusions[k], moved.fusions[k], "fold {k}");
            assert_eq!(
                base.loso.folds[k].chosen_threshold,
                moved.loso.folds[k].chosen_threshold
            );
            assert_ne!(base.loso.folds[k].at_chosen, moved.loso.folds[k].at_chosen);
            // Another fold sees the change (the test can fail).
            let other = (k + 1) % 3;
            assert_ne!(base.fusions[other], moved.fusions[other], "fold {other}");
        }
        // The fused score of a pair is the weighted z-scores.
        let f = Fusion {
            weight: 0.25,
            mean: [1.0, 2.0],
            std: [0.5, 2.0],
        };
        assert!((f.score(2.0, 4.0) - (0.25 * 2.0 + 0.75 * 1.0)).abs() < 1e-6);
    }
}
