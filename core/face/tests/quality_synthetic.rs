//! Quality verdicts on synthetic images and landmark sets: each reason on its own, several at
//! once, and the pose estimate's accuracy and sign convention.

use faceid_face::quality::{
    CaptureMode, PoseEstimate, QualityConfig, QualityReason, assess, assess_with, estimate_pose,
    laplacian_variance, model_landmarks,
};
use faceid_face::{BoundingBox, Detection, Landmarks, Point};
use image::{GrayImage, Luma, Rgb, RgbImage};

const W: u32 = 640;
const H: u32 = 480;

/// A 640×480 image whose every pixel is a sharp checkerboard of `lo` / `hi` with 4 px cells.
fn checkerboard(lo: u8, hi: u8) -> RgbImage {
    RgbImage::from_fn(W, H, |x, y| {
        let v = if (x / 4 + y / 4) % 2 == 0 { lo } else { hi };
        Rgb([v, v, v])
    })
}

fn face_at(cx: f32, cy: f32, size: f32, pose: PoseEstimate) -> Detection {
    let iod = size * 0.4;
    let landmarks = model_landmarks(Point::new(cx, cy - size * 0.1), iod, pose);
    Detection {
        bbox: BoundingBox {
            x: cx - size / 2.0,
            y: cy - size / 2.0,
            width: size,
            height: size,
        },
        landmarks,
        score: 0.95,
    }
}

fn frontal() -> PoseEstimate {
    PoseEstimate {
        yaw_deg: 0.0,
        pitch_deg: 0.0,
        roll_deg: 0.0,
    }
}

fn pose(yaw: f32, pitch: f32, roll: f32) -> PoseEstimate {
    PoseEstimate {
        yaw_deg: yaw,
        pitch_deg: pitch,
        roll_deg: roll,
    }
}

fn centred() -> Detection {
    face_at(W as f32 / 2.0, H as f32 / 2.0, 200.0, frontal())
}

fn codes(reasons: &[QualityReason]) -> Vec<&'static str> {
    reasons.iter().map(|r| r.code()).collect()
}

#[test]
fn good_capture_has_no_reasons() {
    let v = assess(&checkerboard(60, 190), &[centred()], CaptureMode::CheckIn);
    assert!(v.ok, "{:?}", v.reasons);
    assert!(v.reasons.is_empty());
    assert_eq!(v.face, Some(0));
    let m = v.metrics.expect("metrics");
    assert!(m.yaw_deg.abs() < 1.0 && m.pitch_deg.abs() < 1.0, "{m:?}");
    assert!((m.mean_luma - 125.0).abs() < 2.0);
}

#[test]
fn no_face() {
    let v = assess(&checkerboard(60, 190), &[], CaptureMode::Kiosk);
    assert!(!v.ok);
    assert_eq!(v.reasons, vec![QualityReason::NoFace]);
    assert_eq!(v.face, None);
}

#[test]
fn several_faces_in_check_in_but_largest_in_kiosk() {
    let img = checkerboard(60, 190);
    let small = face_at(200.0, 240.0, 150.0, frontal());
    let big = centred();
    let faces = [small, big];
    let v = assess(&img, &faces, CaptureMode::CheckIn);
    assert_eq!(codes(&v.reasons), vec!["several_faces"]);
    assert_eq!(v.reasons[0], QualityReason::SeveralFaces { count: 2 });
    assert_eq!(v.face, Some(1), "the largest face is assessed");

    let v = assess(&img, &faces, CaptureMode::Kiosk);
    assert!(v.ok, "{:?}", v.reasons);
    assert_eq!(v.face, Some(1));

    // A distant background face (under 40 % of the subject's width) does not count.
    let tiny = face_at(60.0, 60.0, 50.0, frontal());
    let v = assess(&img, &[tiny, big], CaptureMode::CheckIn);
    assert!(v.ok, "{:?}", v.reasons);
}

#[test]
fn face_too_small() {
    let d = face_at(W as f32 / 2.0, H as f32 / 2.0, 60.0, frontal());
    let v = assess(&checkerboard(60, 190), &[d], CaptureMode::CheckIn);
    assert_eq!(codes(&v.reasons), vec!["face_too_small"]);
    match v.reasons[0] {
        QualityReason::FaceTooSmall { size_px, min_px } => {
            assert_eq!(size_px, 60.0);
            assert_eq!(min_px, 80.0);
        }
        ref r => panic!("{r:?}"),
    }
}

#[test]
fn off_centre_and_cut_off() {
    let img = checkerboard(60, 190);
    // Well inside the image but far from the centre.
    let d = face_at(110.0, 240.0, 200.0, frontal());
    let v = assess(&img, &[d], CaptureMode::CheckIn);
    assert_eq!(codes(&v.reasons), vec!["off_centre"]);
    // Half out of the image on the right: off centre and cut off.
    let d = face_at(620.0, 240.0, 200.0, frontal());
    let v = assess(&img, &[d], CaptureMode::CheckIn);
    assert_eq!(codes(&v.reasons), vec!["off_centre", "cut_off"]);
    // Slightly over the top edge (under the 10 % tolerance) is fine when landmarks are inside.
    let d = face_at(320.0, 90.0, 200.0, frontal());
    let cfg = QualityConfig {
        max_centre_offset: 0.5,
        ..QualityConfig::default()
    };
    let v = assess_with(&img, &[d], CaptureMode::CheckIn, &cfg);
    assert!(v.ok, "{:?}", v.reasons);
}

#[test]
fn yaw_and_pitch_limits() {
    let img = checkerboard(60, 190);
    let c = (W as f32 / 2.0, H as f32 / 2.0);
    for (p, want) in [
        (pose(40.0, 0.0, 0.0), "yaw_too_large"),
        (pose(-40.0, 0.0, 0.0), "yaw_too_large"),
        (pose(0.0, 30.0, 0.0), "pitch_too_large"),
        (pose(0.0, -30.0, 0.0), "pitch_too_large"),
    ] {
        let v = assess(&img, &[face_at(c.0, c.1, 200.0, p)], CaptureMode::CheckIn);
        assert_eq!(codes(&v.reasons), vec![want], "{p:?}");
    }
    let v = assess(
        &img,
        &[face_at(c.0, c.1, 200.0, pose(45.0, 35.0, 0.0))],
        CaptureMode::CheckIn,
    );
    assert_eq!(codes(&v.reasons), vec!["yaw_too_large", "pitch_too_large"]);
    // Within limits, with roll: fine.
    let v = assess(
        &img,
        &[face_at(c.0, c.1, 200.0, pose(15.0, -10.0, 20.0))],
        CaptureMode::CheckIn,
    );
    assert!(v.ok, "{:?}", v.reasons);
}

#[test]
fn pose_estimate_recovers_the_model_pose() {
    for yaw in [-40.0f32, -20.0, -5.0, 0.0, 10.0, 30.0] {
        for pitch in [-25.0f32, -10.0, 0.0, 15.0, 25.0] {
            for roll in [-30.0f32, 0.0, 25.0] {
                let lm = model_landmarks(Point::new(300.0, 200.0), 80.0, pose(yaw, pitch, roll));
                let p = estimate_pose(&lm, 0.495).expect("pose");
                assert!((p.roll_deg - roll).abs() < 0.5, "roll {roll}: {p:?}");
                assert!(
                    (p.yaw_deg - yaw).abs() < 4.0,
                    "yaw {yaw} pitch {pitch}: {p:?}"
                );
                assert!(
                    (p.pitch_deg - pitch).abs() < 4.0,
                    "yaw {yaw} pitch {pitch}: {p:?}"
                );
            }
        }
    }
}

#[test]
fn yaw_sign_is_the_persons_own_left() {
    // Turning to their own left, a person's nose moves towards image-right (un-mirrored camera).
    let lm = model_landmarks(Point::new(300.0, 200.0), 80.0, pose(30.0, 0.0, 0.0));
    let eye_mid_x = (lm.right_eye().x + lm.left_eye().x) / 2.0;
    assert!(lm.nose().x > eye_mid_x + 5.0);
    // Hand-written landmarks (no model): nose to the image-right of the mid-line → yaw > 0.
    let hand = Landmarks([
        Point::new(100.0, 100.0),
        Point::new(160.0, 100.0),
        Point::new(145.0, 130.0),
        Point::new(108.0, 160.0),
        Point::new(152.0, 160.0),
    ]);
    let p = estimate_pose(&hand, 0.495).expect("pose");
    assert!(p.yaw_deg > 15.0, "{p:?}");
    // Looking up brings the nose tip towards the eye line → pitch > 0.
    let up = Landmarks([
        Point::new(100.0, 100.0),
        Point::new(160.0, 100.0),
        Point::new(130.0, 110.0),
        Point::new(108.0, 160.0),
        Point::new(152.0, 160.0),
    ]);
    assert!(estimate_pose(&up, 0.495).expect("pose").pitch_deg > 15.0);
}

#[test]
fn degenerate_landmarks() {
    let img = checkerboard(60, 190);
    let mut d = centred();
    d.landmarks = Landmarks([Point::new(320.0, 240.0); 5]);
    let v = assess(&img, &[d], CaptureMode::CheckIn);
    assert_eq!(codes(&v.reasons), vec!["bad_landmarks"]);
    d.landmarks.0[2] = Point::new(f32::NAN, 1.0);
    assert!(estimate_pose(&d.landmarks, 0.495).is_none());
}

#[test]
fn laplacian_variance_orders_sharp_and_blurred() {
    let sharp = GrayImage::from_fn(112, 112, |x, y| {
        Luma([if (x / 4 + y / 4) % 2 == 0 { 60 } else { 190 }])
    });
    let blurred = image::imageops::blur(&sharp, 3.0);
    let flat = GrayImage::from_pixel(112, 112, Luma([128]));
    let (s, b, f) = (
        laplacian_variance(&sharp),
        laplacian_variance(&blurred),
        laplacian_variance(&flat),
    );
    assert!(s > 1000.0, "sharp {s}");
    assert!(b < 30.0, "blurred {b}");
    assert_eq!(f, 0.0);
    assert_eq!(laplacian_variance(&GrayImage::new(2, 2)), 0.0);
    // A single bright pixel: Laplacian values -4·100 at the centre, +100 at 4 neighbours.
    let mut dot = GrayImage::new(5, 5);
    dot.put_pixel(2, 2, Luma([100]));
    let n = 9.0;
    let mean = 0.0 / n;
    let want = (160_000.0 + 4.0 * 10_000.0) / n - mean * mean;
    assert!((laplacian_variance(&dot) - want).abs() < 1e-6);
}

#[test]
fn blurred_face_is_too_blurry() {
    let sharp = checkerboard(60, 190);
    let blurred = image::imageops::blur(&sharp, 4.0);
    let v = assess(&blurred, &[centred()], CaptureMode::CheckIn);
    assert_eq!(codes(&v.reasons), vec!["too_blurry"]);
    let v = assess(&sharp, &[centred()], CaptureMode::CheckIn);
    assert!(v.ok);
}

#[test]
fn dark_and_bright() {
    // Textured but dark (mean ~30) and bright (mean ~230) checkerboards.
    let v = assess(&checkerboard(5, 55), &[centred()], CaptureMode::CheckIn);
    assert_eq!(codes(&v.reasons), vec!["too_dark"]);
    let v = assess(&checkerboard(200, 255), &[centred()], CaptureMode::CheckIn);
    assert_eq!(codes(&v.reasons), vec!["too_bright"]);
    // Mean is fine but half the face is blown out (hard side light): too bright.
    let v = assess(&checkerboard(0, 250), &[centred()], CaptureMode::CheckIn);
    let c = codes(&v.reasons);
    assert!(
        c.contains(&"too_bright") && c.contains(&"too_dark"),
        "{c:?}"
    );
}

#[test]
fn several_reasons_at_once() {
    // A flat black fill, a small turned face near the corner: everything is wrong.
    let img = RgbImage::from_pixel(W, H, Rgb([3, 3, 3]));
    let d = face_at(50.0, 50.0, 60.0, pose(40.0, 0.0, 0.0));
    let v = assess(&img, &[d], CaptureMode::CheckIn);
    assert_eq!(
        codes(&v.reasons),
        vec![
            "face_too_small",
            "off_centre",
            "yaw_too_large",
            "too_blurry",
            "too_dark"
        ]
    );
    assert!(!v.ok);
    // Every reason has a user hint and serialises with its code.
    for r in &v.reasons {
        assert!(!r.hint().is_empty());
        let json = serde_json::to_string(r).expect("json");
        assert!(json.contains(r.code()), "{json}");
    }
}

#[test]
fn face_entirely_outside_the_image_is_cut_off_not_a_panic() {
    let mut d = centred();
    d.bbox.x = 5_000.0;
    d.landmarks = model_landmarks(Point::new(5_100.0, 300.0), 80.0, frontal());
    let v = assess(&checkerboard(60, 190), &[d], CaptureMode::CheckIn);
    assert!(codes(&v.reasons).contains(&"cut_off"), "{:?}", v.reasons);
    let mut nan = centred();
    nan.bbox.width = f32::NAN;
    let v = assess(&checkerboard(60, 190), &[nan], CaptureMode::CheckIn);
    assert!(!v.ok);
}
