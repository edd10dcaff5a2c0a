//! Capture quality: is this frame good enough to recognise someone from?
//!
//! [`assess`] takes the decoded image and the detector's faces and returns a [`QualityVerdict`]
//! with every reason that applies ([`QualityReason`]), so the shell can tell the user what to do
//! ("move closer", "too dark"), plus the measurements behind them. All thresholds live in
//! [`QualityConfig`].
//!
//! # Head pose from five landmarks
//! [`estimate_pose`] estimates yaw and pitch from the eyes, nose tip and mouth corners with a
//! generic 3-D face (the proportions of the usual OpenCV head-pose model: eye centres 450 units
//! apart, the nose tip 135 units in front of the eye plane, eye line → mouth line 320 units).
//! Roll is removed first by rotating the points so that the eye line is horizontal.
//! * **Yaw**: the nose tip shifts sideways relative to the face's mid-line (midpoint of the eye
//!   centre and the mouth centre) by `depth · sin(yaw)` while the eye distance shrinks with
//!   `cos(yaw)`, so `offset / interocular ≈ 0.3 · tan(yaw)`; yaw = atan(ratio / 0.3).
//! * **Pitch**: the nose tip moves between the eye line and the mouth line. For a frontal face
//!   it sits at `p0 =` [`QualityConfig::neutral_nose_ratio`] (0.495, the ArcFace 5-point
//!   template) of the way down; `p ≈ p0 − 0.42 · tan(pitch)`.
//!
//! Signs: **yaw > 0 means the person turned to their own left** (for an un-mirrored camera
//! image their nose moves towards image-right), **pitch > 0 means looking up**, roll > 0 means
//! the head tilts clockwise in the image. The estimate is rough (±10° on real faces: noses
//! differ), so the limits are generous; the active liveness check uses differences from a
//! neutral frame of the same person, which cancel most of the individual bias.

use image::{GrayImage, RgbImage};
use serde::{Deserialize, Serialize};

use crate::types::{BoundingBox, Detection, Landmarks};

/// Which faces the capture may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CaptureMode {
    /// A personal phone check-in: exactly one (significant) face, anything else is refused.
    CheckIn,
    /// A shared kiosk or enrolment camera: the largest face is the subject, others are ignored.
    Kiosk,
}

/// Every threshold of the quality check, with defaults tuned for a phone camera at arm's
/// length (640×480 to 1280×720 frames).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QualityConfig {
    /// Smallest accepted face: shorter side of the detection box, in image pixels. Below this
    /// the aligned 112–150 px crop is an upscale and loses detail. Default 80.
    pub min_face_px: f32,
    /// In check-in mode, other faces whose box width is below this fraction of the largest
    /// face's width are background people and ignored. Default 0.4.
    pub other_face_min_relative_size: f32,
    /// Largest distance of the face centre from the image centre, as a fraction of the image
    /// width (horizontally) and height (vertically). Default 0.3 (the centre must lie in the
    /// middle 60 %).
    pub max_centre_offset: f32,
    /// How far the face box may extend outside the image, as a fraction of its own width or
    /// height, before the face counts as cut off. Any landmark outside the image is always
    /// "cut off". Default 0.1.
    pub max_outside_fraction: f32,
    /// Largest |yaw| in degrees (see the module docs). Default 25.
    pub max_yaw_deg: f32,
    /// Largest |pitch| in degrees. Default 20.
    pub max_pitch_deg: f32,
    /// Where the nose tip lies between the eye line (0) and the mouth line (1) on a frontal
    /// face. Default 0.495 (ArcFace template).
    pub neutral_nose_ratio: f32,
    /// The face region is resampled to this square size before the sharpness measure, so the
    /// threshold does not depend on the face's size in pixels. Default 112.
    pub sharpness_size: u32,
    /// Smallest accepted variance of the Laplacian (4-neighbour kernel) of the grey face
    /// region at `sharpness_size`. Default 30. Measured on the 40 real 150 px face crops of
    /// the shared set (face-api.js), resized to 112: sharp 60–1034 (median ≈ 380); after a
    /// Gaussian blur of σ = 1 px: 18–122; σ = 2 px: 5–19. So 30 rejects clearly blurred faces
    /// with a 2× margin under the softest sharp crop; on the aligned crop the same scale holds.
    pub min_sharpness: f32,
    /// Mean luminance (0–255, BT.601) of the face region below this is too dark. Default 60.
    pub min_mean_luma: f32,
    /// Mean luminance above this is too bright. Default 210.
    pub max_mean_luma: f32,
    /// Luminance at or below this counts as crushed black. Default 8.
    pub dark_clip_level: u8,
    /// Luminance at or above this counts as blown-out white. Default 248.
    pub bright_clip_level: u8,
    /// Largest fraction of crushed-black pixels in the face region. Default 0.3.
    pub max_dark_fraction: f32,
    /// Largest fraction of blown-out pixels in the face region. Default 0.2.
    pub max_bright_fraction: f32,
}

impl Default for QualityConfig {
    fn default() -> Self {
        Self {
            min_face_px: 80.0,
            other_face_min_relative_size: 0.4,
            max_centre_offset: 0.3,
            max_outside_fraction: 0.1,
            max_yaw_deg: 25.0,
            max_pitch_deg: 20.0,
            neutral_nose_ratio: 0.495,
            sharpness_size: 112,
            min_sharpness: 30.0,
            min_mean_luma: 60.0,
            max_mean_luma: 210.0,
            dark_clip_level: 8,
            bright_clip_level: 248,
            max_dark_fraction: 0.3,
            max_bright_fraction: 0.2,
        }
    }
}

/// One reason a capture is not good enough. Several may apply at once.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum QualityReason {
    NoFace,
    /// Check-in mode only: more than one significant face.
    SeveralFaces {
        count: usize,
    },
    FaceTooSmall {
        size_px: f32,
        min_px: f32,
    },
    /// The face centre is too far from the image centre (fractions of width / height).
    OffCentre {
        dx: f32,
        dy: f32,
    },
    /// Part of the face is outside the image.
    CutOff,
    YawTooLarge {
        yaw_deg: f32,
        max_deg: f32,
    },
    PitchTooLarge {
        pitch_deg: f32,
        max_deg: f32,
    },
    /// The landmarks are degenerate (eyes on top of each other, NaN…): no pose estimate.
    BadLandmarks,
    TooBlurry {
        sharpness: f32,
        min: f32,
    },
    TooDark {
        mean_luma: f32,
        dark_fraction: f32,
    },
    TooBright {
        mean_luma: f32,
        bright_fraction: f32,
    },
}

impl QualityReason {
    /// Stable machine code for the shells' translations.
    pub fn code(&self) -> &'static str {
        match self {
            QualityReason::NoFace => "no_face",
            QualityReason::SeveralFaces { .. } => "several_faces",
            QualityReason::FaceTooSmall { .. } => "face_too_small",
            QualityReason::OffCentre { .. } => "off_centre",
            QualityReason::CutOff => "cut_off",
            QualityReason::YawTooLarge { .. } => "yaw_too_large",
            QualityReason::PitchTooLarge { .. } => "pitch_too_large",
            QualityReason::BadLandmarks => "bad_landmarks",
            QualityReason::TooBlurry { .. } => "too_blurry",
            QualityReason::TooDark { .. } => "too_dark",
            QualityReason::TooBright { .. } => "too_bright",
        }
    }

    /// A short English hint for the user.
    pub fn hint(&self) -> &'static str {
        match self {
            QualityReason::NoFace => "No face found: look at the camera",
            QualityReason::SeveralFaces { .. } => "Only one person in front of the camera, please",
            QualityReason::FaceTooSmall { .. } => "Move closer",
            QualityReason::OffCentre { .. } => "Centre your face in the frame",
            QualityReason::CutOff => "Your face is cut off: move into the frame",
            QualityReason::YawTooLarge { .. } => "Look straight at the camera",
            QualityReason::PitchTooLarge { .. } => "Hold your head level",
            QualityReason::BadLandmarks => "Face not clearly visible",
            QualityReason::TooBlurry { .. } => "Hold still: the image is blurry",
            QualityReason::TooDark { .. } => "Too dark: find more light",
            QualityReason::TooBright { .. } => "Too bright: avoid direct light",
        }
    }
}

/// Measurements of the assessed face.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct QualityMetrics {
    pub face_size_px: f32,
    pub yaw_deg: f32,
    pub pitch_deg: f32,
    pub roll_deg: f32,
    pub sharpness: f32,
    pub mean_luma: f32,
    pub dark_fraction: f32,
    pub bright_fraction: f32,
}

/// The outcome of [`assess`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityVerdict {
    /// True when no reason applies.
    pub ok: bool,
    /// Every reason that applies, in a fixed order (framing, pose, sharpness, exposure).
    pub reasons: Vec<QualityReason>,
    /// Index into the detections of the face that was assessed (the largest).
    pub face: Option<usize>,
    /// Measurements of that face, when there is one.
    pub metrics: Option<QualityMetrics>,
}

/// Head pose estimated from five landmarks (see the module docs for method and signs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PoseEstimate {
    /// > 0: turned to the person's own left.
    pub yaw_deg: f32,
    /// > 0: looking up.
    pub pitch_deg: f32,
    /// > 0: head tilted clockwise in the image.
    pub roll_deg: f32,
}

/// Ratio of nose depth (in front of the eyes) to the interocular distance in the model face.
const YAW_K: f32 = 135.0 / 450.0;
/// Ratio of nose depth to the eye-line → mouth-line distance in the model face.
const PITCH_K: f32 = 135.0 / 320.0;

/// Estimate yaw, pitch and roll from the five landmarks; `None` for degenerate landmarks.
/// `neutral_nose_ratio` is [`QualityConfig::neutral_nose_ratio`].
pub fn estimate_pose(lm: &Landmarks, neutral_nose_ratio: f32) -> Option<PoseEstimate> {
    if lm.0.iter().any(|p| !p.x.is_finite() || !p.y.is_finite()) {
        return None;
    }
    let re = lm.right_eye();
    let le = lm.left_eye();
    let (ex, ey) = (le.x - re.x, le.y - re.y);
    let iod = (ex * ex + ey * ey).sqrt();
    if iod < 1e-3 {
        return None;
    }
    // u: along the eye line from the right eye (image-left) to the left eye; v: perpendicular,
    // pointing down the face (image y grows downwards).
    let (ux, uy) = (ex / iod, ey / iod);
    let (vx, vy) = (-uy, ux);
    let eye_mid = ((re.x + le.x) / 2.0, (re.y + le.y) / 2.0);
    let mouth_mid = (
        (lm.right_mouth().x + lm.left_mouth().x) / 2.0,
        (lm.right_mouth().y + lm.left_mouth().y) / 2.0,
    );
    let nose = lm.nose();
    let proj = |p: (f32, f32)| {
        let (dx, dy) = (p.0 - eye_mid.0, p.1 - eye_mid.1);
        (dx * ux + dy * uy, dx * vx + dy * vy)
    };
    let (nu, nv) = proj((nose.x, nose.y));
    let (mu, mv) = proj(mouth_mid);
    if mv < 1e-3 {
        // Mouth above (or on) the eye line: not a face we can reason about.
        return None;
    }
    let mid_line_u = mu / 2.0; // eye midpoint is at u = 0
    let yaw = ((nu - mid_line_u) / iod / YAW_K).atan().to_degrees();
    let p = nv / mv;
    let pitch = ((neutral_nose_ratio - p) / PITCH_K).atan().to_degrees();
    let roll = uy.atan2(ux).to_degrees();
    let out = PoseEstimate {
        yaw_deg: yaw,
        pitch_deg: pitch,
        roll_deg: roll,
    };
    (out.yaw_deg.is_finite() && out.pitch_deg.is_finite()).then_some(out)
}

/// Variance of the 4-neighbour Laplacian over the interior of a grey image (0 for images
/// smaller than 3×3). Higher is sharper.
pub fn laplacian_variance(gray: &GrayImage) -> f64 {
    let (w, h) = gray.dimensions();
    if w < 3 || h < 3 {
        return 0.0;
    }
    let (w, h) = (w as usize, h as usize);
    let px = gray.as_raw();
    let mut sum = 0.0f64;
    let mut sum_sq = 0.0f64;
    for y in 1..h - 1 {
        let row = y * w;
        for x in 1..w - 1 {
            let c = i32::from(px[row + x]);
            let lap = i32::from(px[row + x - 1])
                + i32::from(px[row + x + 1])
                + i32::from(px[row - w + x])
                + i32::from(px[row + w + x])
                - 4 * c;
            let l = f64::from(lap);
            sum += l;
            sum_sq += l * l;
        }
    }
    let n = ((w - 2) * (h - 2)) as f64;
    let mean = sum / n;
    (sum_sq / n - mean * mean).max(0.0)
}

/// BT.601 luma of an RGB pixel.
fn luma(p: [u8; 3]) -> u8 {
    ((u32::from(p[0]) * 299 + u32::from(p[1]) * 587 + u32::from(p[2]) * 114 + 500) / 1000) as u8
}

/// The part of `bbox` inside the image, as integer pixel bounds `(x0, y0, x1, y1)` (exclusive
/// ends); `None` when it does not overlap the image.
fn clip_box(bbox: &BoundingBox, w: u32, h: u32) -> Option<(u32, u32, u32, u32)> {
    if !(bbox.x.is_finite()
        && bbox.y.is_finite()
        && bbox.width.is_finite()
        && bbox.height.is_finite())
    {
        return None;
    }
    let x0 = bbox.x.max(0.0).floor() as u32;
    let y0 = bbox.y.max(0.0).floor() as u32;
    let x1 = (bbox.x + bbox.width).min(w as f32).ceil().max(0.0) as u32;
    let y1 = (bbox.y + bbox.height).min(h as f32).ceil().max(0.0) as u32;
    (x1 > x0 && y1 > y0 && x0 < w && y0 < h).then_some((x0, y0, x1.min(w), y1.min(h)))
}

/// Grey crop of the face box (clipped to the image) resampled to `size`×`size`.
pub fn face_gray_crop(image: &RgbImage, bbox: &BoundingBox, size: u32) -> Option<GrayImage> {
    let (x0, y0, x1, y1) = clip_box(bbox, image.width(), image.height())?;
    let crop = GrayImage::from_fn(x1 - x0, y1 - y0, |x, y| {
        image::Luma([luma(image.get_pixel(x0 + x, y0 + y).0)])
    });
    let size = size.max(3);
    Some(image::imageops::resize(
        &crop,
        size,
        size,
        image::imageops::FilterType::Triangle,
    ))
}

/// Assess the capture with the default [`QualityConfig`].
pub fn assess(image: &RgbImage, detections: &[Detection], mode: CaptureMode) -> QualityVerdict {
    assess_with(image, detections, mode, &QualityConfig::default())
}

/// Assess the capture: pick the subject (the largest face), then check framing, pose,
/// sharpness and exposure. Returns every reason that applies.
pub fn assess_with(
    image: &RgbImage,
    detections: &[Detection],
    mode: CaptureMode,
    cfg: &QualityConfig,
) -> QualityVerdict {
    let mut reasons = Vec::new();
    let largest = detections
        .iter()
        .enumerate()
        .filter(|(_, d)| d.bbox.area().is_finite())
        .max_by(|a, b| a.1.bbox.area().total_cmp(&b.1.bbox.area()))
        .map(|(i, _)| i);
    let Some(idx) = largest else {
        return QualityVerdict {
            ok: false,
            reasons: vec![QualityReason::NoFace],
            face: None,
            metrics: None,
        };
    };
    let face = &detections[idx];
    if mode == CaptureMode::CheckIn {
        let min_w = face.bbox.width * cfg.other_face_min_relative_size;
        let count = detections
            .iter()
            .enumerate()
            .filter(|(i, d)| *i == idx || d.bbox.width >= min_w)
            .count();
        if count > 1 {
            reasons.push(QualityReason::SeveralFaces { count });
        }
    }

    let (iw, ih) = (image.width() as f32, image.height() as f32);
    let mut m = QualityMetrics {
        face_size_px: face.bbox.width.min(face.bbox.height),
        ..QualityMetrics::default()
    };

    // Framing.
    if m.face_size_px.is_nan() || m.face_size_px < cfg.min_face_px {
        reasons.push(QualityReason::FaceTooSmall {
            size_px: m.face_size_px,
            min_px: cfg.min_face_px,
        });
    }
    let c = face.bbox.center();
    let dx = if iw > 0.0 { (c.x - iw / 2.0) / iw } else { 0.0 };
    let dy = if ih > 0.0 { (c.y - ih / 2.0) / ih } else { 0.0 };
    if dx.abs() > cfg.max_centre_offset || dy.abs() > cfg.max_centre_offset {
        reasons.push(QualityReason::OffCentre { dx, dy });
    }
    let b = &face.bbox;
    let tol_x = b.width * cfg.max_outside_fraction;
    let tol_y = b.height * cfg.max_outside_fraction;
    let box_out =
        b.x < -tol_x || b.y < -tol_y || b.x + b.width > iw + tol_x || b.y + b.height > ih + tol_y;
    let landmark_out = face
        .landmarks
        .0
        .iter()
        .any(|p| !(p.x >= 0.0 && p.y >= 0.0 && p.x < iw && p.y < ih));
    if box_out || landmark_out {
        reasons.push(QualityReason::CutOff);
    }

    // Pose.
    match estimate_pose(&face.landmarks, cfg.neutral_nose_ratio) {
        Some(pose) => {
            m.yaw_deg = pose.yaw_deg;
            m.pitch_deg = pose.pitch_deg;
            m.roll_deg = pose.roll_deg;
            if pose.yaw_deg.abs() > cfg.max_yaw_deg {
                reasons.push(QualityReason::YawTooLarge {
                    yaw_deg: pose.yaw_deg,
                    max_deg: cfg.max_yaw_deg,
                });
            }
            if pose.pitch_deg.abs() > cfg.max_pitch_deg {
                reasons.push(QualityReason::PitchTooLarge {
                    pitch_deg: pose.pitch_deg,
                    max_deg: cfg.max_pitch_deg,
                });
            }
        }
        None => reasons.push(QualityReason::BadLandmarks),
    }

    // Pixels: sharpness and exposure on the face region.
    if let Some(gray) = face_gray_crop(image, &face.bbox, cfg.sharpness_size) {
        m.sharpness = laplacian_variance(&gray) as f32;
        if m.sharpness < cfg.min_sharpness {
            reasons.push(QualityReason::TooBlurry {
                sharpness: m.sharpness,
                min: cfg.min_sharpness,
            });
        }
    }
    if let Some((x0, y0, x1, y1)) = clip_box(&face.bbox, image.width(), image.height()) {
        let (mut sum, mut dark, mut bright, mut n) = (0u64, 0u64, 0u64, 0u64);
        for y in y0..y1 {
            for x in x0..x1 {
                let l = luma(image.get_pixel(x, y).0);
                sum += u64::from(l);
                dark += u64::from(l <= cfg.dark_clip_level);
                bright += u64::from(l >= cfg.bright_clip_level);
                n += 1;
            }
        }
        let n = n.max(1) as f32;
        m.mean_luma = sum as f32 / n;
        m.dark_fraction = dark as f32 / n;
        m.bright_fraction = bright as f32 / n;
        if m.mean_luma < cfg.min_mean_luma || m.dark_fraction > cfg.max_dark_fraction {
            reasons.push(QualityReason::TooDark {
                mean_luma: m.mean_luma,
                dark_fraction: m.dark_fraction,
            });
        }
        if m.mean_luma > cfg.max_mean_luma || m.bright_fraction > cfg.max_bright_fraction {
            reasons.push(QualityReason::TooBright {
                mean_luma: m.mean_luma,
                bright_fraction: m.bright_fraction,
            });
        }
    } else if !reasons.contains(&QualityReason::CutOff) {
        reasons.push(QualityReason::CutOff);
    }

    QualityVerdict {
        ok: reasons.is_empty(),
        reasons,
        face: Some(idx),
        metrics: Some(m),
    }
}

/// One verdict per detected face, each face assessed on its own (framing, pose, sharpness,
/// exposure; "several faces" is a property of the capture, see [`assess_with`]). `face` in each
/// verdict is the index into `detections`.
pub fn assess_each(
    image: &RgbImage,
    detections: &[Detection],
    cfg: &QualityConfig,
) -> Vec<QualityVerdict> {
    detections
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let mut v = assess_with(image, std::slice::from_ref(d), CaptureMode::Kiosk, cfg);
            v.face = Some(i);
            v
        })
        .collect()
}

/// Landmarks of the generic 3-D face used by [`estimate_pose`], posed and projected
/// orthographically: centred on `centre` (the eye midpoint), with `interocular` pixels between
/// the eyes when frontal. Meant for tests, simulations and UI previews: feeding the result to
/// [`estimate_pose`] gives back `pose` (exactly for roll, within a few degrees for yaw and
/// pitch, with `neutral_nose_ratio` 0.495).
pub fn model_landmarks(
    centre: crate::types::Point,
    interocular: f32,
    pose: PoseEstimate,
) -> Landmarks {
    use crate::types::Point;
    // x to image-right, y up, z towards the camera; the person's right eye is image-left.
    let nose_y = 170.0 - 0.495 * 320.0;
    let model: [(f32, f32, f32); 5] = [
        (-225.0, 170.0, -135.0),
        (225.0, 170.0, -135.0),
        (0.0, nose_y, 0.0),
        (-150.0, -150.0, -125.0),
        (150.0, -150.0, -125.0),
    ];
    let (sy, cy) = pose.yaw_deg.to_radians().sin_cos();
    let (sp, cp) = pose.pitch_deg.to_radians().sin_cos();
    let (sr, cr) = pose.roll_deg.to_radians().sin_cos();
    let s = interocular / 450.0;
    let mut pts = [Point::default(); 5];
    for (out, &(x, y, z)) in pts.iter_mut().zip(model.iter()) {
        // Pitch about x (looking up brings the nose tip up), then yaw about y.
        let (y1, z1) = (y * cp + z * sp, -y * sp + z * cp);
        let x2 = x * cy + z1 * sy;
        // Image coordinates (y down), relative to the eye midpoint, then roll (clockwise).
        let eye_y = 170.0 * cp - 135.0 * sp;
        let eye_x = (-170.0 * sp - 135.0 * cp) * sy;
        let (ix, iy) = ((x2 - eye_x) * s, -(y1 - eye_y) * s);
        let (rx, ry) = (ix * cr - iy * sr, ix * sr + iy * cr);
        *out = Point::new(centre.x + rx, centre.y + ry);
    }
    Landmarks(pts)
}
