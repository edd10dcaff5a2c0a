//! The phone and the server measure a check-in identically: the same camera frames go through
//! the phone's capture (`faceid_client::checkin::FaceSession`, which measures the evidence it is
//! about to upload) and through the server's re-verification of that upload
//! (`faceid_server::attendance::measure`, the server's own `face::analyse` for a single photo),
//! and the measurements are equal field by field (descriptor, passive score, quality, challenge
//! frames and score). Needs the face models (models/fetch.sh) and ../shared/faces; skips with
//! a message otherwise.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;
use faceid_client::checkin::{FaceSession, engine_challenge};
use faceid_face::decode::decode_file;
use faceid_face::quality::QualityReason;
use faceid_face::{Engine, EngineConfig, MeasureRules};
use faceid_protocol::liveness::{HeadAction, LivenessChallenge};

fn setup() -> Option<(Arc<Engine>, PathBuf)> {
    let faces = faceid_face::model::workspace_root().join("../shared/faces");
    let Ok(cfg) = EngineConfig::from_env() else {
        eprintln!("SKIPPED: no face models (models/fetch.sh)");
        return None;
    };
    if !faces.is_dir() {
        eprintln!("SKIPPED: {} is missing", faces.display());
        return None;
    }
    Some((
        Arc::new(Engine::load(&cfg).expect("load the engine")),
        faces,
    ))
}

#[test]
fn phone_and_server_measure_the_same_frames_identically() {
    let Some((engine, faces)) = setup() else {
        return;
    };
    // A 1280×720 frame with a ~150 px face (the one the phone accepted and the server once
    // flagged `quality_face_too_small`) and a close portrait.
    for rel in [
        "face_recognition/barack_obama/obama-720p.jpg",
        "openface/john_lennon/lennon-2.jpg",
    ] {
        let img = decode_file(&faces.join(rel), &Default::default())
            .expect("decode")
            .rgb;
        let challenge = LivenessChallenge {
            nonce: "parity".into(),
            actions: vec![HeadAction::TurnLeft],
            expires_at: Utc::now() + chrono::Duration::seconds(60),
        };
        let t0 = u64::try_from(Utc::now().timestamp_millis()).expect("after 1970");

        // The phone: a capture with a challenge; two frames of the same face.
        let mut session =
            FaceSession::with_challenge(engine.clone(), Vec::new(), &challenge, Default::default())
                .expect("challenge");
        assert!(!session.push_rgb(img.clone(), t0).expect("frame").ready);
        session.push_rgb(img, t0 + 100).expect("frame");
        let captured = session.finish().expect("a usable capture");
        let phone = &captured.measurement;
        assert!(
            !phone
                .quality
                .iter()
                .any(|q| matches!(q, QualityReason::FaceTooSmall { .. })),
            "{rel}: {:?}",
            phone.quality
        );
        assert!(!captured.challenge_frames.is_empty(), "{rel}");

        // The server: the uploaded parts, measured by the handler's function, the challenge
        // scored at the time the phone scored it.
        let parts: Vec<axum::body::Bytes> = captured
            .challenge_frames
            .iter()
            .map(|f| axum::body::Bytes::from(f.jpeg.clone()))
            .collect();
        let times: Vec<u64> = captured
            .challenge_frames
            .iter()
            .map(|f| f.captured_at_ms)
            .collect();
        let mut server = faceid_server::attendance::measure(
            &engine,
            &captured.best_frame_jpeg,
            &parts,
            &times,
            &MeasureRules::check_in(),
        )
        .unwrap_or_else(|e| panic!("{rel}: the server refused the upload: {e}"));
        let scored_at = times.iter().copied().max().expect("frames");
        server
            .score_challenge(
                &engine,
                &engine_challenge(&challenge).expect("challenge"),
                scored_at,
            )
            .expect("score");
        assert_eq!(&server, phone, "{rel}");

        // The single-photo path (enrolment, kiosk) measures the best frame the same way.
        let single = faceid_server::face::analyse(
            &engine,
            &captured.best_frame_jpeg,
            &MeasureRules::check_in(),
        )
        .unwrap_or_else(|r| panic!("{rel}: {}", r.message));
        assert_eq!(single.descriptor, phone.descriptor, "{rel}");
        assert_eq!(single.passive, phone.passive, "{rel}");
        assert_eq!(single.quality, phone.quality, "{rel}");
        assert_eq!(single.face, phone.face, "{rel}");
    }
}
