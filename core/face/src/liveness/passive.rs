//! Passive liveness: the MiniFASNet V2 (context ×2.7) and V1SE (×4.0) ensemble from
//! minivision-ai/Silent-Face-Anti-Spoofing.
//!
//! Each model sees the face box scaled around its centre; when the scaled box does not fit,
//! the scale is reduced until it fits and the box is shifted back inside the image, exactly as
//! the original `CropImage._get_new_box` does (not simply clamped, which would change the
//! context the model was trained on). The crop is resized to 80×80, BGR, raw 0–255.
//!
//! The score is the mean of the two softmax "real" probabilities. It is one signal among
//! several: tight face crops with no context score as spoofs, so camera frames must reach it
//! uncropped.

use std::path::Path;
use std::sync::Arc;

use image::RgbImage;
use serde::Serialize;
use tract_onnx::prelude::*;

use crate::align::{Normalize, resize_region_into_nchw};
use crate::model::{Manifest, ModelError, ModelSpec, Plan, Task, VerifiedGraph};
use crate::types::{BoundingBox, Detection, ModelId};

#[derive(Debug, thiserror::Error)]
pub enum LivenessError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("no liveness model in the manifest")]
    NoModels,
    #[error("image is empty")]
    EmptyImage,
    #[error("face box is empty or not finite")]
    BadBox,
    #[error("liveness inference failed: {0}")]
    Inference(String),
}

/// Result of the passive check.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PassiveScore {
    /// Mean "real" probability of the models, 0..=1.
    pub score: f32,
    /// Threshold it was compared with.
    pub threshold: f32,
    pub live: bool,
    /// Per model: id and its "real" probability.
    pub models: Vec<(ModelId, f32)>,
}

struct LiveModel {
    spec: ModelSpec,
    plan: Plan,
    scale: f32,
    real_index: usize,
    classes: usize,
    norm: Normalize,
    size: usize,
}

/// The loaded ensemble; cheap to clone.
#[derive(Clone)]
pub struct PassiveLiveness {
    models: Arc<Vec<LiveModel>>,
    /// Decision threshold on the mean "real" probability.
    pub threshold: f32,
}

impl std::fmt::Debug for PassiveLiveness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PassiveLiveness")
            .field(
                "models",
                &self.models.iter().map(|m| &m.spec.id).collect::<Vec<_>>(),
            )
            .field("threshold", &self.threshold)
            .finish()
    }
}

/// Default decision threshold on the ensemble's mean "real" probability.
pub const DEFAULT_THRESHOLD: f32 = 0.5;

impl PassiveLiveness {
    /// Load every liveness model of the manifest.
    pub fn load(manifest: &Manifest, dir: &Path) -> Result<Self, LivenessError> {
        let mut models = Vec::new();
        for spec in manifest.by_task(Task::Liveness) {
            models.push(Self::load_one(spec, dir)?);
        }
        if models.is_empty() {
            return Err(LivenessError::NoModels);
        }
        Ok(Self {
            models: Arc::new(models),
            threshold: DEFAULT_THRESHOLD,
        })
    }

    fn load_one(spec: &ModelSpec, dir: &Path) -> Result<LiveModel, LivenessError> {
        let out = spec.output()?;
        let classes = out.dims;
        let real_index = out.real_index.ok_or(ModelError::IncompleteEntry {
            id: spec.id.clone(),
            what: "[model.output] real_index",
        })?;
        let scale = spec.crop_scale.ok_or(ModelError::IncompleteEntry {
            id: spec.id.clone(),
            what: "crop_scale",
        })?;
        if real_index >= classes {
            return Err(ModelError::IncompleteEntry {
                id: spec.id.clone(),
                what: "real_index < dims",
            }
            .into());
        }
        let [_, _, h, w] = spec.input.shape;
        let graph = VerifiedGraph::load(spec, dir)?;
        let expect = |shapes: &[Vec<usize>]| -> Result<(), String> {
            match shapes {
                [s] if s.iter().product::<usize>() == classes => Ok(()),
                _ => Err(format!("outputs {shapes:?}, expected one [1, {classes}]")),
            }
        };
        let (plan, _) = graph.plan(h, w, &expect)?;
        if h != w {
            return Err(ModelError::ShapeMismatch {
                id: spec.id.clone(),
                detail: "liveness input must be square".into(),
            }
            .into());
        }
        Ok(LiveModel {
            spec: spec.clone(),
            plan,
            scale,
            real_index,
            classes,
            norm: Normalize::from_spec(&spec.input),
            size: h,
        })
    }

    pub fn model_ids(&self) -> Vec<ModelId> {
        self.models.iter().map(|m| m.spec.model_id()).collect()
    }

    /// Score one detected face of `image` (the whole, uncropped frame).
    pub fn check(&self, image: &RgbImage, face: &Detection) -> Result<PassiveScore, LivenessError> {
        let (iw, ih) = image.dimensions();
        if iw == 0 || ih == 0 {
            return Err(LivenessError::EmptyImage);
        }
        let b = face.bbox;
        if !(b.width > 0.0 && b.height > 0.0 && b.x.is_finite() && b.y.is_finite()) {
            return Err(LivenessError::BadBox);
        }
        let mut per = Vec::with_capacity(self.models.len());
        for m in self.models.iter() {
            let real = self.run_one(m, image, &b)?;
            per.push((m.spec.model_id(), real));
        }
        let score = per.iter().map(|(_, p)| p).sum::<f32>() / per.len() as f32;
        Ok(PassiveScore {
            score,
            threshold: self.threshold,
            live: score >= self.threshold,
            models: per,
        })
    }

    /// The "real" probability of one model (exposed for benchmarks).
    pub fn score_model(
        &self,
        index: usize,
        image: &RgbImage,
        face: &Detection,
    ) -> Result<f32, LivenessError> {
        let m = self.models.get(index).ok_or(LivenessError::NoModels)?;
        self.run_one(m, image, &face.bbox)
    }

    fn run_one(
        &self,
        m: &LiveModel,
        image: &RgbImage,
        b: &BoundingBox,
    ) -> Result<f32, LivenessError> {
        let (iw, ih) = image.dimensions();
        let (x0, y0, x1, y1) = silent_face_crop_box(iw, ih, b, m.scale);
        let s = m.size;
        let mut data = vec![0f32; 3 * s * s];
        resize_region_into_nchw(
            image,
            (x0 as f32, y0 as f32, (x1 + 1) as f32, (y1 + 1) as f32),
            s,
            s,
            s,
            s,
            m.norm,
            &mut data,
        );
        let input = Tensor::from_shape(&[1, 3, s, s], &data)
            .map_err(|e| LivenessError::Inference(e.to_string()))?;
        let out = m
            .plan
            .run(tvec!(input.into()))
            .map_err(|e| LivenessError::Inference(format!("{e:#}")))?;
        let logits = out
            .first()
            .ok_or_else(|| LivenessError::Inference("no output".into()))?
            .to_plain_array_view::<f32>()
            .map_err(|e| LivenessError::Inference(e.to_string()))?
            .iter()
            .copied()
            .collect::<Vec<f32>>();
        if logits.len() != m.classes || logits.iter().any(|v| !v.is_finite()) {
            return Err(LivenessError::Inference(format!("bad logits {logits:?}")));
        }
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exps: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
        let sum: f32 = exps.iter().sum();
        Ok(exps[m.real_index] / sum)
    }
}

/// The context crop of Silent-Face-Anti-Spoofing (`CropImage._get_new_box`): the box scaled by
/// `scale` around its centre, the scale first reduced so the crop fits in the image, then the
/// crop shifted (not clipped) back inside. Returns inclusive pixel corners (x0, y0, x1, y1).
pub fn silent_face_crop_box(
    src_w: u32,
    src_h: u32,
    bbox: &BoundingBox,
    scale: f32,
) -> (u32, u32, u32, u32) {
    let (sw, sh) = (src_w as f32, src_h as f32);
    let (bw, bh) = (bbox.width.max(1.0), bbox.height.max(1.0));
    let scale = scale.min((sh - 1.0) / bh).min((sw - 1.0) / bw).max(0.0);
    let (nw, nh) = (bw * scale, bh * scale);
    let (cx, cy) = (bbox.x + bw / 2.0, bbox.y + bh / 2.0);
    let (mut l, mut t) = (cx - nw / 2.0, cy - nh / 2.0);
    let (mut r, mut btm) = (cx + nw / 2.0, cy + nh / 2.0);
    if l < 0.0 {
        r -= l;
        l = 0.0;
    }
    if t < 0.0 {
        btm -= t;
        t = 0.0;
    }
    if r > sw - 1.0 {
        l -= r - sw + 1.0;
        r = sw - 1.0;
    }
    if btm > sh - 1.0 {
        t -= btm - sh + 1.0;
        btm = sh - 1.0;
    }
    // int() in the original truncates toward zero; keep everything inside the image.
    let clampi = |v: f32, hi: f32| v.clamp(0.0, hi.max(0.0)).trunc() as u32;
    let (x0, y0) = (clampi(l, sw - 1.0), clampi(t, sh - 1.0));
    let (x1, y1) = (clampi(r, sw - 1.0), clampi(btm, sh - 1.0));
    (x0, y0, x1.max(x0), y1.max(y0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bb(x: f32, y: f32, w: f32, h: f32) -> BoundingBox {
        BoundingBox {
            x,
            y,
            width: w,
            height: h,
        }
    }

    #[test]
    fn crop_inside_the_image_is_just_scaled() {
        // 100x100 box centred at (500, 400) in a 1000x800 image, x2.7 -> 270 wide.
        let (x0, y0, x1, y1) =
            silent_face_crop_box(1000, 800, &bb(450.0, 350.0, 100.0, 100.0), 2.7);
        assert_eq!((x0, y0, x1, y1), (365, 265, 635, 535));
    }

    #[test]
    fn crop_near_the_edge_is_shifted_not_clipped() {
        // Box near the left edge: same width, moved right.
        let (x0, _, x1, _) = silent_face_crop_box(1000, 800, &bb(10.0, 350.0, 100.0, 100.0), 2.7);
        assert_eq!(x0, 0);
        assert_eq!(x1, 270);
    }

    #[test]
    fn crop_too_large_is_shrunk_to_fit() {
        // A 300x300 face in a 640x480 image: x4.0 would be 1200 px; the scale drops to
        // (480-1)/300 so the crop spans the full height, and is shifted inside.
        let (x0, y0, x1, y1) = silent_face_crop_box(640, 480, &bb(300.0, 100.0, 300.0, 300.0), 4.0);
        assert_eq!((y0, y1), (0, 479));
        assert_eq!(x1, 639);
        assert_eq!(x0, 639 - 479);
    }
}
