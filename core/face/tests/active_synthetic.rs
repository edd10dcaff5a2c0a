//! Active liveness on synthetic landmark trajectories: correct sequences pass; wrong order,
//! no movement, a face change, expiry, time disorder and the rest fail with the right reason.

use faceid_face::liveness::active::SameFaceRule;
use faceid_face::liveness::active::{
    ActiveConfig, ActiveFailure, Challenge, ChallengeFrame, ChallengeProgress, HeadMovement,
    ProgressState, verify_challenge, verify_challenge_at,
};
use faceid_face::quality::{PoseEstimate, model_landmarks};
use faceid_face::{Descriptor, Landmarks, Manifest, Metric, ModelError, ModelId, Point};
use proptest::prelude::*;

use HeadMovement::{LookDown, LookUp, TurnLeft, TurnRight};

const T0: u64 = 1_700_000_000_000;

fn challenge(actions: &[HeadMovement]) -> Challenge {
    Challenge {
        nonce: "n-123".into(),
        actions: actions.to_vec(),
        issued_at_ms: T0,
        expires_at_ms: T0 + 10_000,
    }
}

/// The Euclidean embedder these synthetic descriptors are made for (the cosine one is covered
/// by `a_cosine_embedder_is_checked_with_its_own_metric_and_model_id`).
const DLIB: &str = "dlib_resnet_v1";

fn descriptor(person: u32, jitter: f32) -> Descriptor {
    // Unit-ish 128-d vectors; different people are far apart.
    let values = (0..128)
        .map(|i| {
            ((i as f32 * 0.37 + person as f32 * 1.9).sin() + jitter * ((i * 7) as f32).cos()) / 8.0
        })
        .collect();
    Descriptor {
        model: ModelId(DLIB.into()),
        values,
    }
}

/// The default thresholds with dlib's calibrated same-face rule.
fn cfg() -> ActiveConfig {
    ActiveConfig::for_model(&Manifest::builtin(), DLIB).expect("manifest rule")
}

fn lm(yaw: f32, pitch: f32) -> Landmarks {
    model_landmarks(
        Point::new(320.0, 220.0),
        90.0,
        PoseEstimate {
            yaw_deg: yaw,
            pitch_deg: pitch,
            roll_deg: 0.0,
        },
    )
}

/// Frames 100 ms apart from (yaw, pitch) pairs, all with person 1's descriptor.
fn frames(poses: &[(f32, f32)]) -> Vec<ChallengeFrame> {
    poses
        .iter()
        .enumerate()
        .map(|(i, &(y, p))| ChallengeFrame {
            captured_at_ms: T0 + 500 + 100 * i as u64,
            landmarks: lm(y, p),
            descriptor: Some(descriptor(1, (i % 3) as f32 * 0.05)),
        })
        .collect()
}

const LEFT_THEN_UP: [(f32, f32); 9] = [
    (0.0, 0.0),
    (8.0, 0.0),
    (18.0, 1.0),
    (28.0, 2.0), // left reached (frame 3)
    (12.0, 0.0),
    (2.0, 0.0), // neutral (frame 5)
    (0.0, 9.0),
    (1.0, 20.0), // up reached (frame 7)
    (0.0, 3.0),
];

#[test]
fn correct_order_passes() {
    let v = verify_challenge(
        &challenge(&[TurnLeft, LookUp]),
        &frames(&LEFT_THEN_UP),
        &cfg(),
    );
    assert!(v.passed, "{v:?}");
    assert_eq!(v.failure, None);
    assert_eq!(v.score, 1.0);
    assert_eq!(v.completed, 2);
    assert_eq!(v.frames_used, vec![0, 3, 5, 7]);
}

#[test]
fn three_movements_including_opposites_pass() {
    let poses = [
        (0.0, 0.0),
        (-25.0, 0.0), // right
        (-3.0, 0.0),
        (26.0, 0.0), // left
        (4.0, 0.0),
        (0.0, -20.0), // down
        (0.0, 0.0),
    ];
    let v = verify_challenge(
        &challenge(&[TurnRight, TurnLeft, LookDown]),
        &frames(&poses),
        &cfg(),
    );
    assert!(v.passed, "{v:?}");
    assert_eq!(v.frames_used, vec![0, 1, 2, 3, 4, 5]);
}

#[test]
fn wrong_order_fails() {
    let poses = [
        (0.0, 0.0),
        (25.0, 0.0),
        (0.0, 0.0),
        (-25.0, 0.0),
        (0.0, 0.0),
    ];
    let v = verify_challenge(&challenge(&[TurnRight, TurnLeft]), &frames(&poses), &cfg());
    assert!(!v.passed);
    assert_eq!(
        v.failure,
        Some(ActiveFailure::WrongOrder {
            index: 0,
            expected: TurnRight,
            got: TurnLeft,
            frame: 1
        })
    );
    assert_eq!(v.score, 0.0);
    // First movement right, second wrong.
    let poses = [(0.0, 0.0), (25.0, 0.0), (0.0, 0.0), (0.0, -25.0)];
    let v = verify_challenge(&challenge(&[TurnLeft, LookUp]), &frames(&poses), &cfg());
    assert!(matches!(
        v.failure,
        Some(ActiveFailure::WrongOrder {
            index: 1,
            expected: LookUp,
            got: LookDown,
            frame: 3
        })
    ));
    assert_eq!(v.score, 0.5);
}

#[test]
fn no_movement_fails() {
    let poses = [(0.0, 0.0), (2.0, 1.0), (-3.0, 0.0), (4.0, -2.0), (1.0, 0.0)];
    let v = verify_challenge(&challenge(&[TurnLeft, LookUp]), &frames(&poses), &cfg());
    assert_eq!(v.failure, Some(ActiveFailure::NoMovement));
    assert!(!v.passed);
    assert!(v.score < 0.15, "{}", v.score);
}

#[test]
fn missing_movement_and_partial_score() {
    // Left done, then only a half-hearted look up (10° of 15°).
    let poses = [(0.0, 0.0), (25.0, 0.0), (0.0, 0.0), (0.0, 10.0), (0.0, 0.0)];
    let v = verify_challenge(&challenge(&[TurnLeft, LookUp]), &frames(&poses), &cfg());
    assert_eq!(
        v.failure,
        Some(ActiveFailure::MissingMovement {
            index: 1,
            action: LookUp
        })
    );
    assert!(v.score > 0.75 && v.score < 0.9, "{}", v.score);
    assert_eq!(v.completed, 1);
}

#[test]
fn a_different_face_mid_sequence_fails() {
    let mut f = frames(&LEFT_THEN_UP);
    f[4].descriptor = Some(descriptor(2, 0.0));
    let v = verify_challenge(&challenge(&[TurnLeft, LookUp]), &f, &cfg());
    match v.failure {
        Some(ActiveFailure::FaceChanged { frame: 4, distance }) => {
            assert!(distance > cfg().same_face.threshold)
        }
        ref other => panic!("{other:?}"),
    }
    assert!(!v.passed);
    assert_eq!(v.score, 0.0);
    // Same person with small jitter is fine (that is what `frames` does), and so are frames
    // without a descriptor as long as enough carry one.
    let mut f = frames(&LEFT_THEN_UP);
    for fr in f.iter_mut().skip(1).step_by(2) {
        fr.descriptor = None;
    }
    assert!(verify_challenge(&challenge(&[TurnLeft, LookUp]), &f, &cfg()).passed);
}

#[test]
fn descriptors_of_another_model_or_missing_fail() {
    let mut f = frames(&LEFT_THEN_UP);
    if let Some(d) = f[2].descriptor.as_mut() {
        d.model = ModelId("other".into());
    }
    let v = verify_challenge(&challenge(&[TurnLeft, LookUp]), &f, &cfg());
    assert_eq!(
        v.failure,
        Some(ActiveFailure::DescriptorMismatch { frame: 2 })
    );

    let mut f = frames(&LEFT_THEN_UP);
    for fr in &mut f {
        fr.descriptor = None;
    }
    let v = verify_challenge(&challenge(&[TurnLeft, LookUp]), &f, &cfg());
    assert_eq!(
        v.failure,
        Some(ActiveFailure::MissingDescriptors { have: 0, need: 2 })
    );
    let guidance = ActiveConfig {
        min_descriptor_frames: 0,
        ..cfg()
    };
    assert!(verify_challenge(&challenge(&[TurnLeft, LookUp]), &f, &guidance).passed);
}

#[test]
fn expired_fails() {
    let mut f = frames(&LEFT_THEN_UP);
    let c = challenge(&[TurnLeft, LookUp]);
    f[6].captured_at_ms = c.expires_at_ms + 1;
    f[7].captured_at_ms = c.expires_at_ms + 2;
    f[8].captured_at_ms = c.expires_at_ms + 3;
    let v = verify_challenge(&c, &f, &cfg());
    assert_eq!(v.failure, Some(ActiveFailure::Expired { frame: Some(6) }));
    assert_eq!(v.score, 0.0);
    // Good frames, but the evidence reaches the server too late.
    let f = frames(&LEFT_THEN_UP);
    let v = verify_challenge_at(&c, &f, &cfg(), c.expires_at_ms + 1);
    assert_eq!(v.failure, Some(ActiveFailure::Expired { frame: None }));
    assert!(verify_challenge_at(&c, &f, &cfg(), c.expires_at_ms).passed);
}

#[test]
fn frames_out_of_time_order_fail() {
    let mut f = frames(&LEFT_THEN_UP);
    f.swap(3, 4);
    let v = verify_challenge(&challenge(&[TurnLeft, LookUp]), &f, &cfg());
    assert_eq!(
        v.failure,
        Some(ActiveFailure::NonMonotonicTime { frame: 4 })
    );
    // A duplicated timestamp is not accepted either.
    let mut f = frames(&LEFT_THEN_UP);
    f[2].captured_at_ms = f[1].captured_at_ms;
    let v = verify_challenge(&challenge(&[TurnLeft, LookUp]), &f, &cfg());
    assert_eq!(
        v.failure,
        Some(ActiveFailure::NonMonotonicTime { frame: 2 })
    );
    // Captured before the challenge existed (a pre-recorded sequence).
    let mut f = frames(&LEFT_THEN_UP);
    f[0].captured_at_ms = T0 - 1;
    let v = verify_challenge(&challenge(&[TurnLeft, LookUp]), &f, &cfg());
    assert_eq!(
        v.failure,
        Some(ActiveFailure::FrameBeforeIssue { frame: 0 })
    );
}

#[test]
fn too_few_frames() {
    let c = challenge(&[TurnLeft, LookUp]);
    let v = verify_challenge(&c, &[], &cfg());
    assert_eq!(
        v.failure,
        Some(ActiveFailure::TooFewFrames { got: 0, need: 3 })
    );
    let v = verify_challenge(&c, &frames(&[(0.0, 0.0), (25.0, 0.0)]), &cfg());
    assert_eq!(
        v.failure,
        Some(ActiveFailure::TooFewFrames { got: 2, need: 3 })
    );
}

#[test]
fn return_to_neutral_between_movements() {
    // Left straight into right, never back to the centre.
    let poses = [
        (0.0, 0.0),
        (25.0, 0.0),
        (15.0, 0.0),
        (-25.0, 0.0),
        (-28.0, 0.0),
    ];
    let c = challenge(&[TurnLeft, TurnRight]);
    let v = verify_challenge(&c, &frames(&poses), &cfg());
    assert_eq!(
        v.failure,
        Some(ActiveFailure::NoReturnToNeutral { index: 1 })
    );
    // Allowed when only leaving the previous zone is required.
    let relaxed = ActiveConfig {
        require_return_to_neutral: false,
        ..cfg()
    };
    let v = verify_challenge(&c, &frames(&poses), &relaxed);
    assert!(v.passed, "{v:?}");
    // Held in the first movement's zone, the second one is not counted twice.
    let c2 = challenge(&[TurnLeft, TurnLeft]);
    let held = [(0.0, 0.0), (25.0, 0.0), (27.0, 0.0), (26.0, 0.0)];
    let v = verify_challenge(&c2, &frames(&held), &relaxed);
    assert_eq!(
        v.failure,
        Some(ActiveFailure::MissingMovement {
            index: 1,
            action: TurnLeft
        })
    );
}

#[test]
fn left_is_the_persons_left_and_a_mirrored_camera_swaps_it() {
    // Person turns to their own left: nose moves to image-right, TurnLeft passes.
    let poses = [(0.0, 0.0), (25.0, 0.0), (0.0, 0.0)];
    let f = frames(&poses);
    let eye_mid = (f[1].landmarks.right_eye().x + f[1].landmarks.left_eye().x) / 2.0;
    assert!(f[1].landmarks.nose().x > eye_mid);
    let c = challenge(&[TurnLeft]);
    assert!(verify_challenge(&c, &f, &cfg()).passed);
    // The same motion seen through a mirrored preview: x flipped, and the detector labels the
    // image-left eye/mouth corner as the "right" ones again.
    let mirrored: Vec<ChallengeFrame> = f
        .iter()
        .map(|fr| {
            let p = fr.landmarks.0.map(|p| Point::new(640.0 - p.x, p.y));
            ChallengeFrame {
                landmarks: Landmarks([p[1], p[0], p[2], p[4], p[3]]),
                ..fr.clone()
            }
        })
        .collect();
    let v = verify_challenge(&c, &mirrored, &cfg());
    assert!(
        matches!(
            v.failure,
            Some(ActiveFailure::WrongOrder { got: TurnRight, .. })
        ),
        "{v:?}"
    );
}

#[test]
fn start_must_be_frontal_and_landmarks_valid() {
    let v = verify_challenge(
        &challenge(&[TurnLeft]),
        &frames(&[(40.0, 0.0), (10.0, 0.0), (0.0, 0.0)]),
        &cfg(),
    );
    assert!(
        matches!(v.failure, Some(ActiveFailure::NotFrontalAtStart { .. })),
        "{v:?}"
    );
    let mut f = frames(&LEFT_THEN_UP);
    f[2].landmarks = Landmarks([Point::new(f32::NAN, 0.0); 5]);
    let v = verify_challenge(&challenge(&[TurnLeft, LookUp]), &f, &cfg());
    assert_eq!(
        v.failure,
        Some(ActiveFailure::InvalidLandmarks { frame: 2 })
    );
}

#[test]
fn invalid_challenges() {
    let f = frames(&LEFT_THEN_UP);
    let mut c = challenge(&[]);
    assert!(matches!(
        verify_challenge(&c, &f, &cfg()).failure,
        Some(ActiveFailure::InvalidChallenge { .. })
    ));
    c = challenge(&[TurnLeft; 6]);
    assert!(matches!(
        verify_challenge(&c, &f, &cfg()).failure,
        Some(ActiveFailure::InvalidChallenge { .. })
    ));
    c = challenge(&[TurnLeft]);
    c.expires_at_ms = c.issued_at_ms;
    assert!(matches!(
        verify_challenge(&c, &f, &cfg()).failure,
        Some(ActiveFailure::InvalidChallenge { .. })
    ));
}

#[test]
fn random_challenges_never_repeat_a_movement_twice_in_a_row() {
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..200 {
        let c = Challenge::random(&mut rng, "nonce", 3, T0, 8_000);
        assert_eq!(c.actions.len(), 3);
        assert_eq!(c.expires_at_ms, T0 + 8_000);
        assert!(
            c.actions.windows(2).all(|w| w[0] != w[1]),
            "{:?}",
            c.actions
        );
        seen.insert(c.actions.clone());
    }
    assert!(seen.len() > 20, "only {} distinct challenges", seen.len());
}

#[test]
fn streaming_progress_guides_the_user() {
    let mut p = ChallengeProgress::new(challenge(&[TurnLeft, LookUp]), cfg());
    assert_eq!(p.state(), ProgressState::Start);
    let states: Vec<ProgressState> = frames(&LEFT_THEN_UP)
        .iter()
        .map(|f| p.push(f).state)
        .collect();
    let perform = |index, action| ProgressState::Perform { index, action };
    let back = ProgressState::ReturnToNeutral {
        next_index: 1,
        next_action: LookUp,
    };
    assert_eq!(
        states,
        vec![
            perform(0, TurnLeft),
            perform(0, TurnLeft),
            perform(0, TurnLeft),
            back.clone(),
            back,
            perform(1, LookUp),
            perform(1, LookUp),
            ProgressState::Completed,
            ProgressState::Completed,
        ]
    );
    assert_eq!(p.next_action(), None);
    assert!(p.verdict().passed);

    // A wrong movement is reported at once, and the state stays failed.
    let mut p = ChallengeProgress::new(challenge(&[TurnLeft, LookUp]), cfg());
    let f = frames(&[(0.0, 0.0), (-25.0, 0.0), (25.0, 0.0)]);
    p.push(&f[0]);
    let u = p.push(&f[1]);
    assert!(matches!(
        u.state,
        ProgressState::Failed {
            failure: ActiveFailure::WrongOrder { .. }
        }
    ));
    assert!(u.yaw_rel_deg.expect("yaw") < -20.0);
    assert!(matches!(p.push(&f[2]).state, ProgressState::Failed { .. }));
}

#[test]
fn verdict_round_trips_through_json() {
    let v = verify_challenge(
        &challenge(&[TurnLeft, LookUp]),
        &frames(&LEFT_THEN_UP[..4]),
        &cfg(),
    );
    let json = serde_json::to_string(&v).expect("json");
    assert!(json.contains("missing_movement"), "{json}");
    let back: faceid_face::liveness::active::ActiveVerdict =
        serde_json::from_str(&json).expect("parse");
    assert_eq!(back, v);
}

proptest! {
    /// Any frame sequence (random poses, NaN, shuffled times, random descriptors) gives a
    /// verdict without panicking, and a pass always comes with every movement completed.
    #[test]
    fn arbitrary_sequences_never_panic(
        steps in proptest::collection::vec(
            (-60.0f32..60.0, -40.0f32..40.0, 0u64..400, any::<bool>(), 0u32..3, any::<bool>()),
            0..30,
        ),
        actions in proptest::collection::vec(0usize..4, 1..4),
    ) {
        let c = challenge(&actions.iter().map(|&i| HeadMovement::ALL[i]).collect::<Vec<_>>());
        let mut t = T0 + 100;
        let fs: Vec<ChallengeFrame> = steps
            .iter()
            .map(|&(y, p, dt, has_d, person, nan)| {
                t = t.wrapping_add(dt).wrapping_sub(50);
                let mut landmarks = lm(y, p);
                if nan && dt % 7 == 0 {
                    landmarks.0[1].x = f32::NAN;
                }
                ChallengeFrame {
                    captured_at_ms: t,
                    landmarks,
                    descriptor: has_d.then(|| descriptor(person, 0.0)),
                }
            })
            .collect();
        let v = verify_challenge(&c, &fs, &cfg());
        prop_assert!((0.0..=1.0).contains(&v.score));
        prop_assert_eq!(v.passed, v.failure.is_none());
        if v.passed {
            prop_assert_eq!(v.completed, c.actions.len());
            prop_assert_eq!(v.score, 1.0);
        }
        prop_assert!(v.frames_used.windows(2).all(|w| w[0] < w[1]));
    }
}

#[test]
fn the_frames_used_alone_verify_on_the_server() {
    // The phone streams everything through ChallengeProgress and uploads only the frames it
    // used; the server must reach the same verdict from those.
    let c = challenge(&[TurnLeft, LookUp]);
    let all = frames(&LEFT_THEN_UP);
    let mut p = ChallengeProgress::new(c.clone(), cfg());
    for f in &all {
        p.push(f);
    }
    let on_phone = p.verdict();
    assert!(on_phone.passed);
    let evidence: Vec<ChallengeFrame> = on_phone
        .frames_used
        .iter()
        .map(|&i| all[i].clone())
        .collect();
    let on_server = verify_challenge_at(&c, &evidence, &cfg(), T0 + 5_000);
    assert!(on_server.passed, "{on_server:?}");
    assert_eq!(on_server.frames_used, vec![0, 1, 2, 3]);
    // Dropping the neutral frame between the movements breaks the evidence.
    let without_neutral = [
        evidence[0].clone(),
        evidence[1].clone(),
        evidence[3].clone(),
    ];
    let v = verify_challenge(&c, &without_neutral, &cfg());
    assert_eq!(
        v.failure,
        Some(ActiveFailure::NoReturnToNeutral { index: 1 })
    );
}

#[test]
fn the_same_face_rule_is_the_embedders_calibrated_verification_rule() {
    let manifest = Manifest::builtin();
    let out = manifest
        .get(DLIB)
        .and_then(|m| m.output())
        .expect("manifest entry");
    let rule = cfg().same_face;
    assert_eq!(rule.model, ModelId(DLIB.into()));
    assert_eq!(Some(rule.metric), out.metric);
    assert_eq!(Some(rule.threshold), out.threshold);

    // A frame just inside the verification threshold is the same face; just outside is not.
    let c = challenge(&[TurnLeft, LookUp]);
    let shifted = |k: f32| {
        let mut f = frames(&LEFT_THEN_UP);
        let mut d = descriptor(1, 0.0);
        d.values[0] += k * rule.threshold;
        f[4].descriptor = Some(d);
        f
    };
    assert!(verify_challenge(&c, &shifted(0.95), &cfg()).passed);
    match verify_challenge(&c, &shifted(1.05), &cfg()).failure {
        Some(ActiveFailure::FaceChanged { frame: 4, distance }) => {
            assert!(
                (distance - 1.05 * rule.threshold).abs() < 1e-3,
                "{distance}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_cosine_embedder_is_checked_with_its_own_metric_and_model_id() {
    let mfn = "mobilefacenet_foamliu";
    let cfg = ActiveConfig::for_model(&Manifest::builtin(), mfn).expect("manifest rule");
    assert_eq!(cfg.same_face.metric, Metric::Cosine);
    let c = challenge(&[TurnLeft, LookUp]);
    // Descriptors of the dlib model are refused by a MobileFaceNet rule.
    assert_eq!(
        verify_challenge(&c, &frames(&LEFT_THEN_UP), &cfg).failure,
        Some(ActiveFailure::DescriptorMismatch { frame: 0 })
    );
    let as_mfn = |mut f: Vec<ChallengeFrame>| {
        for fr in &mut f {
            if let Some(d) = fr.descriptor.as_mut() {
                d.model = ModelId(mfn.into());
            }
        }
        f
    };
    // Cosine ignores length: the same direction three times longer is the same face (the
    // Euclidean distance would be far above any threshold).
    let mut f = as_mfn(frames(&LEFT_THEN_UP));
    if let Some(d) = f[4].descriptor.as_mut() {
        d.values.iter_mut().for_each(|v| *v *= 3.0);
    }
    assert!(
        verify_challenge(&c, &f, &cfg).passed,
        "{:?}",
        verify_challenge(&c, &f, &cfg)
    );
    // Another person is refused by the cosine threshold.
    let mut f = as_mfn(frames(&LEFT_THEN_UP));
    let mut other = descriptor(2, 0.0);
    other.model = ModelId(mfn.into());
    f[6].descriptor = Some(other);
    match verify_challenge(&c, &f, &cfg).failure {
        Some(ActiveFailure::FaceChanged { frame: 6, distance }) => {
            assert!(distance > cfg.same_face.threshold)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn only_embedders_with_a_calibrated_rule_give_an_active_config() {
    let m = Manifest::builtin();
    assert!(matches!(
        ActiveConfig::for_model(&m, "yunet_2026may"),
        Err(ModelError::WrongTask { .. })
    ));
    assert!(matches!(
        SameFaceRule::from_manifest(&m, "no_such_model"),
        Err(ModelError::UnknownModel(_))
    ));
}
