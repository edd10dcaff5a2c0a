//! The capture flow on real photos from `../shared/faces` with the real models (installed by
//! `models/fetch.sh`; tests/run.sh does it). Photos play the camera: they are converted to the
//! RGBA frames a shell passes.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use chrono::{TimeZone, Utc};
use faceid_face::decode::{Frame, PixelFormat, Rotation, decode_file};
use faceid_face::liveness::active::{ActiveFailure, ProgressState};
use faceid_face::{Engine, EngineConfig};
use faceid_protocol::attendance::{
    BEST_FRAME_PART, CheckInEvidence, GpsFix, LocationProvider, PunchKind,
};
use faceid_protocol::liveness::{HeadAction, LivenessChallenge};
use image::RgbImage;

use super::*;
use crate::clock::{Clock, ManualClock};

fn faces_dir() -> Option<PathBuf> {
    let dir = faceid_face::model::workspace_root().join("../shared/faces");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIPPED: {} is missing (real face photos)", dir.display());
        None
    }
}

fn engine() -> Arc<Engine> {
    static ENGINE: OnceLock<Arc<Engine>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let cfg = EngineConfig::from_env()
                .expect("face models missing: run models/fetch.sh --mirror ../shared/models");
            Arc::new(Engine::load(&cfg).expect("load the face engine"))
        })
        .clone()
}

fn photo(rel: &str) -> Option<RgbImage> {
    let path = faces_dir()?.join(rel);
    Some(
        decode_file(&path, &Default::default())
            .expect("decode test photo")
            .rgb,
    )
}

fn rgba(img: &RgbImage) -> Vec<u8> {
    img.pixels()
        .flat_map(|p| [p.0[0], p.0[1], p.0[2], 255])
        .collect()
}

fn frame<'a>(img: &RgbImage, bytes: &'a [u8]) -> Frame<'a> {
    Frame {
        width: img.width(),
        height: img.height(),
        stride: img.width() * 4,
        format: PixelFormat::Rgba8,
        rotation: Rotation::R0,
        bytes,
    }
}

fn template(rel: &str) -> Option<Descriptor> {
    let bytes = std::fs::read(faces_dir()?.join(rel)).expect("read test photo");
    Some(
        faceid_face::measure(&engine(), &bytes, &[], None, &MeasureRules::enrol())
            .expect("template photo has a face")
            .descriptor,
    )
}

const A_ENROLLED: &str = "openface/john_lennon/lennon-1.jpg";
const A_CAMERA: &str = "openface/john_lennon/lennon-2.jpg";
const B: &str = "facenet-pytorch/paul_rudd/1.jpg";

#[test]
fn a_clear_face_is_ready_and_matches_the_same_person_only() {
    let (Some(img), Some(own), Some(other)) = (photo(A_CAMERA), template(A_ENROLLED), template(B))
    else {
        return;
    };
    let bytes = rgba(&img);
    let mut session = FaceSession::new(
        engine(),
        vec![other.clone(), own.clone()],
        Default::default(),
    );
    let fb = session.push_frame(&frame(&img, &bytes), 1_000).unwrap();
    assert_eq!(fb.faces, 1, "{fb:?}");
    assert!(fb.face.is_some());
    assert!(fb.quality_ok, "hints: {:?}", fb.hints);
    assert!(fb.ready);
    assert!(fb.challenge.is_none());
    let captured = session.finish().unwrap();
    let v = captured
        .verification
        .expect("1:1 against the cached templates");
    assert!(v.same, "same person: {v:?}");
    // The closest template is the employee's own, not the other person's.
    let to_own = engine()
        .verify(&captured.measurement.descriptor, &own)
        .unwrap()
        .distance;
    assert_eq!(v.distance, to_own);
    assert!(
        captured.measurement.passive.is_some(),
        "passive liveness ran"
    );
    assert!(captured.challenge.is_none() && captured.nonce.is_none());
    assert_eq!(
        &captured.best_frame_jpeg[..2],
        &[0xFF, 0xD8],
        "evidence is a JPEG"
    );

    // Someone else in front of the camera does not match the employee's template.
    let Some(other_face) = photo(B) else { return };
    let mut session = FaceSession::new(engine(), vec![own], Default::default());
    session.push_rgb(other_face, 2_000).unwrap();
    let v = session.finish().unwrap().verification.unwrap();
    assert!(!v.same, "another person: {v:?}");
}

#[test]
fn an_empty_frame_gives_no_face_hints_and_no_capture() {
    let img = RgbImage::from_pixel(640, 480, image::Rgb([90, 90, 90]));
    let bytes = rgba(&img);
    let mut session = FaceSession::new(engine(), Vec::new(), Default::default());
    let fb = session.push_frame(&frame(&img, &bytes), 1_000).unwrap();
    assert_eq!(fb.faces, 0);
    assert!(!fb.ready && !fb.quality_ok);
    assert_eq!(fb.hints.first().map(|h| h.code()), Some("no_face"));
    match session.finish() {
        Err(CheckInError::NoUsableFrame { reasons }) => {
            assert_eq!(reasons.first().map(|r| r.code()), Some("no_face"))
        }
        other => panic!("expected NoUsableFrame, got {other:?}"),
    }
    // A frame whose buffer is shorter than width × height × 4 is a typed error.
    let mut session = FaceSession::new(engine(), Vec::new(), Default::default());
    let err = session
        .push_frame(&frame(&img, &bytes[..bytes.len() - 1]), 1_000)
        .unwrap_err();
    assert!(matches!(err, CheckInError::Frame(_)), "{err:?}");
}

fn challenge(actions: Vec<HeadAction>) -> LivenessChallenge {
    LivenessChallenge {
        nonce: "nonce-1".into(),
        actions,
        expires_at: Utc::now() + chrono::Duration::seconds(100),
    }
}

#[test]
fn a_challenge_is_driven_and_a_face_swap_mid_sequence_fails_it() {
    let (Some(a), Some(b)) = (photo(A_CAMERA), photo(B)) else {
        return;
    };
    let c = challenge(vec![HeadAction::TurnLeft, HeadAction::LookUp]);
    let mut session =
        FaceSession::with_challenge(engine(), Vec::new(), &c, Default::default()).unwrap();
    let t0 = u64::try_from(Utc::now().timestamp_millis()).unwrap();
    let fb = session.push_rgb(a.clone(), t0).unwrap();
    let update = fb.challenge.expect("challenge progress");
    assert_eq!(
        update.state,
        ProgressState::Perform {
            index: 0,
            action: HeadMovement::TurnLeft
        }
    );
    assert!(!fb.ready, "the movements are not done yet");
    session.push_rgb(a, t0 + 100).unwrap();
    // Another person steps in.
    let fb = session.push_rgb(b, t0 + 200).unwrap();
    match fb.challenge.map(|u| u.state) {
        Some(ProgressState::Failed {
            failure: ActiveFailure::FaceChanged { .. },
        }) => {}
        other => panic!("expected FaceChanged, got {other:?}"),
    }
    let captured = session.finish().unwrap();
    let verdict = captured.challenge.unwrap();
    assert!(!verdict.passed);
    assert_eq!(verdict.score, 0.0);
    assert_eq!(captured.nonce.as_deref(), Some("nonce-1"));
    // The reference frame is evidence the server can re-check.
    assert_eq!(captured.challenge_frames.len(), 1);
    assert_eq!(captured.challenge_frames[0].captured_at_ms, t0);

    // A challenge with no movements is refused up front.
    let err =
        FaceSession::with_challenge(engine(), Vec::new(), &challenge(vec![]), Default::default())
            .unwrap_err();
    assert!(matches!(err, CheckInError::InvalidChallenge(_)), "{err:?}");
}

/// During a challenge the best frame is one the challenge keeps, sent as the same bytes, so the
/// server measures that frame once: here a sharper frame that the challenge does not keep comes
/// after the (slightly blurred) neutral reference and is not taken as the best frame.
#[test]
fn the_best_frame_is_the_challenges_reference_sent_as_the_same_bytes() {
    let Some(a) = photo(A_CAMERA) else { return };
    let soft = image::imageops::blur(&a, 0.8);
    let c = challenge(vec![HeadAction::TurnLeft, HeadAction::LookUp]);
    let mut session =
        FaceSession::with_challenge(engine(), Vec::new(), &c, Default::default()).unwrap();
    let t0 = u64::try_from(Utc::now().timestamp_millis()).unwrap();
    let fb = session.push_rgb(soft, t0).unwrap();
    assert!(
        fb.quality_ok,
        "the reference passes the quality gate: {:?}",
        fb.hints
    );
    let fb = session.push_rgb(a, t0 + 100).unwrap();
    assert!(fb.quality_ok);
    let captured = session.finish().unwrap();
    assert_eq!(
        captured.challenge_frames.len(),
        1,
        "only the reference is kept"
    );
    assert_eq!(captured.challenge_frames[0].captured_at_ms, t0);
    assert_eq!(captured.challenge_frames[0].jpeg, captured.best_frame_jpeg);
    // Measured once, the reference carries the best frame's face.
    let m = &captured.measurement;
    assert_eq!(m.challenge_frames[0].landmarks, m.face.landmarks);
}

#[test]
fn a_sealed_punch_is_in_the_outbox_with_its_frames() {
    let Some(img) = photo(A_CAMERA) else { return };
    let mut session = FaceSession::new(engine(), Vec::new(), Default::default());
    session.push_rgb(img, 1_000).unwrap();
    let captured = session.finish().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let employee = Uuid::now_v7();
    let outbox = Outbox::open_in(dir.path(), employee).unwrap();
    let device = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap(),
    ));
    let clock = ServerClock::new(device.clone());
    clock.observe(Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 30).unwrap());
    device.advance(std::time::Duration::from_secs(60));
    let gps = GpsFix {
        lat: 38.5598,
        lon: 68.7870,
        accuracy_m: 12.0,
        fix_time: device.now(),
        mock: false,
        provider: LocationProvider::Fused,
    };
    let key = seal_punch(&outbox, &captured, PunchKind::In, Some(gps.clone()), &clock).unwrap();
    assert_eq!(outbox.stats().unwrap().punch, 1);

    let entry = outbox
        .claim_next(device.now(), std::time::Duration::from_secs(60))
        .unwrap()
        .expect("the punch is queued");
    assert_eq!(entry.idempotency_key, key);
    assert_eq!(entry.kind, EntryKind::Punch);
    let evidence: CheckInEvidence = serde_json::from_str(&entry.payload).unwrap();
    assert_eq!(evidence.idempotency_key, key);
    assert_eq!(evidence.kind, PunchKind::In);
    assert_eq!(evidence.gps, Some(gps));
    assert_eq!(
        evidence.clock.estimated_server_time(),
        Some(Utc.with_ymd_and_hms(2026, 11, 23, 8, 1, 30).unwrap()),
        "server time at the last sync plus monotonic time since"
    );
    let d = evidence.descriptor.unwrap();
    assert_eq!(d.values, captured.measurement.descriptor.values);
    assert_eq!(d.model, captured.measurement.descriptor.model.0);
    assert_eq!(entry.blobs.len(), 1);
    assert_eq!(entry.blobs[0].name, BEST_FRAME_PART);
    assert_eq!(entry.blobs[0].data, captured.best_frame_jpeg);

    // Evidence the shared rules refuse is not written.
    let bad = GpsFix {
        lat: f64::NAN,
        ..evidence.gps.clone().unwrap_or_else(|| unreachable!())
    };
    let err = seal_punch(&outbox, &captured, PunchKind::Out, Some(bad), &clock).unwrap_err();
    assert!(matches!(err, CheckInError::Invalid(_)), "{err:?}");
    assert_eq!(outbox.stats().unwrap().punch, 1);
}

#[test]
fn the_evidence_keeps_a_small_face_above_the_servers_minimum() {
    // 1280×720 with a ~150 px face: scaled to 640 px the face would fall under 80 px and the
    // server would flag a frame the device accepted.
    let (Some(small), Some(large)) = (
        photo("face_recognition/barack_obama/obama-720p.jpg"),
        photo(A_CAMERA),
    ) else {
        return;
    };
    let min_px = MeasureRules::check_in().quality.min_face_px;
    for (img, expect_scaled_to_default) in [(small, false), (large, true)] {
        let mut session = FaceSession::new(engine(), Vec::new(), Default::default());
        assert!(session.push_rgb(img, 1_000).unwrap().ready);
        let jpeg = session.finish().unwrap().best_frame_jpeg;
        let evidence = faceid_face::decode::decode(&jpeg).unwrap();
        let longer = evidence.width().max(evidence.height());
        assert_eq!(
            longer == 640,
            expect_scaled_to_default,
            "evidence {longer} px"
        );
        let faces = engine()
            .detect(&evidence, &MeasureRules::check_in().detector)
            .unwrap();
        let face = faces.first().expect("the server finds the face");
        let size = face.bbox.width.min(face.bbox.height);
        assert!(size >= min_px, "face {size} px in a {longer} px evidence");
    }
}
