//! Face detection with YuNet: resize so the longest side is the configured input size, pad to a
//! multiple of 32, decode the per-stride outputs, NMS, and map back to image coordinates.
//!
//! The optimised tract plan depends on the padded input shape; plans are built once per shape
//! and cached (at most `2 * size / 32` shapes exist for one input size).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use image::RgbImage;
use tract_onnx::prelude::*;

use crate::align::{Normalize, resize_region_into_nchw};
use crate::model::{Manifest, ModelError, ModelSpec, Plan, Task, VerifiedGraph};
use crate::types::{BoundingBox, Detection, Landmarks, ModelId, Point};

const STRIDES: [usize; 3] = [8, 16, 32];

#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("detector input size {0} is not a multiple of 32 in 32..=2048")]
    BadInputSize(u32),
    #[error("image is empty ({width}x{height})")]
    EmptyImage { width: u32, height: u32 },
    #[error("detector inference failed: {0}")]
    Inference(String),
}

/// Detection settings. `input_size` is the longest side the image is resized to: 320 for
/// check-in, 640 for enrolment and kiosk.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectorConfig {
    pub input_size: u32,
    /// Candidates below this score are dropped before NMS.
    pub score_threshold: f32,
    /// NMS IoU threshold.
    pub nms_iou: f32,
    /// At most this many candidates enter NMS (highest scores first).
    pub top_k: usize,
}

impl DetectorConfig {
    pub const CHECK_IN: DetectorConfig = DetectorConfig {
        input_size: 320,
        score_threshold: 0.6,
        nms_iou: 0.3,
        top_k: 5000,
    };
    pub const ENROL: DetectorConfig = DetectorConfig {
        input_size: 640,
        ..Self::CHECK_IN
    };
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self::CHECK_IN
    }
}

/// YuNet, loaded once; cheap to share (`Arc` inside).
#[derive(Clone)]
pub struct Detector {
    inner: Arc<DetectorInner>,
}

/// Plans (and output index maps) per padded input shape (height, width).
type PlanCache = HashMap<(usize, usize), (Plan, Vec<usize>)>;

struct DetectorInner {
    graph: VerifiedGraph,
    output_names: Vec<String>,
    plans: Mutex<PlanCache>,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("model", &self.inner.graph.spec.id)
            .finish()
    }
}

impl Detector {
    /// Load the (single) detector of the manifest from `dir`, verified, and prepare the plans
    /// for the two standard sizes (square 320 and 640 inputs are built lazily per shape).
    pub fn load(manifest: &Manifest, dir: &Path) -> Result<Self, DetectError> {
        let spec = manifest
            .by_task(Task::Detect)
            .next()
            .ok_or_else(|| ModelError::UnknownModel("<detector>".into()))?;
        Self::load_spec(spec, dir)
    }

    pub fn load_spec(spec: &ModelSpec, dir: &Path) -> Result<Self, DetectError> {
        let graph = VerifiedGraph::load(spec, dir)?;
        let output_names = spec.output()?.names.clone();
        if output_names.len() != 12 {
            return Err(ModelError::IncompleteEntry {
                id: spec.id.clone(),
                what: "[model.output] names (12 YuNet outputs)",
            }
            .into());
        }
        let det = Self {
            inner: Arc::new(DetectorInner {
                graph,
                output_names,
                plans: Mutex::new(HashMap::new()),
            }),
        };
        // Build one plan now so that a graph whose outputs disagree with the manifest fails at
        // load time, not at the first punch.
        det.plan(320, 320)?;
        Ok(det)
    }

    pub fn model_id(&self) -> ModelId {
        self.inner.graph.spec.model_id()
    }

    fn plan(&self, h: usize, w: usize) -> Result<(Plan, Vec<usize>), DetectError> {
        let mut plans = self
            .inner
            .plans
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if let Some(p) = plans.get(&(h, w)) {
            return Ok(p.clone());
        }
        let expect = |shapes: &[Vec<usize>]| -> Result<(), String> {
            if shapes.len() != 12 {
                return Err(format!("{} outputs, expected 12", shapes.len()));
            }
            Ok(())
        };
        let (plan, got) = self.inner.graph.plan(h, w, &expect)?;
        // Index of each manifest output name among the graph's outputs.
        let mut idx = Vec::new();
        for name in &self.inner.output_names {
            match got.iter().position(|g| g == name) {
                Some(i) => idx.push(i),
                None => {
                    return Err(ModelError::ShapeMismatch {
                        id: self.inner.graph.spec.id.clone(),
                        detail: format!("output `{name}` missing (graph has {got:?})"),
                    }
                    .into());
                }
            }
        }
        tracing::debug!(h, w, "built detector plan");
        plans.insert((h, w), (plan.clone(), idx.clone()));
        Ok((plan, idx))
    }

    /// Detect faces, highest score first.
    pub fn detect(
        &self,
        image: &RgbImage,
        config: &DetectorConfig,
    ) -> Result<Vec<Detection>, DetectError> {
        let size = config.input_size;
        if !(32..=2048).contains(&size) || !size.is_multiple_of(32) {
            return Err(DetectError::BadInputSize(size));
        }
        let (iw, ih) = image.dimensions();
        if iw == 0 || ih == 0 {
            return Err(DetectError::EmptyImage {
                width: iw,
                height: ih,
            });
        }
        let scale = size as f32 / iw.max(ih) as f32;
        let rw = ((iw as f32 * scale).round() as usize).clamp(1, size as usize);
        let rh = ((ih as f32 * scale).round() as usize).clamp(1, size as usize);
        let tw = rw.div_ceil(32) * 32;
        let th = rh.div_ceil(32) * 32;
        let (plan, idx) = self.plan(th, tw)?;

        let norm = Normalize {
            bgr: true,
            mul: [1.0; 3],
            add: [0.0; 3],
        };
        // Resized straight into the input tensor (zeroed: the padding stays 0).
        let inference = |e: TractError| DetectError::Inference(e.to_string());
        let mut input = Tensor::zero::<f32>(&[1, 3, th, tw]).map_err(inference)?;
        {
            let mut view = input.try_as_plain_ram_mut().map_err(inference)?;
            resize_region_into_nchw(
                image,
                (0.0, 0.0, iw as f32, ih as f32),
                rw,
                rh,
                tw,
                th,
                norm,
                view.as_slice_mut::<f32>().map_err(inference)?,
            );
        }
        let outputs = plan
            .run(tvec!(input.into()))
            .map_err(|e| DetectError::Inference(format!("{e:#}")))?;
        let flat: Vec<Vec<f32>> = idx
            .iter()
            .map(|&i| -> Result<Vec<f32>, DetectError> {
                Ok(outputs
                    .get(i)
                    .ok_or_else(|| DetectError::Inference(format!("output {i} missing")))?
                    .to_plain_array_view::<f32>()
                    .map_err(|e| DetectError::Inference(e.to_string()))?
                    .iter()
                    .copied()
                    .collect())
            })
            .collect::<Result<_, _>>()?;
        let get = |k: usize| -> Result<&[f32], DetectError> { Ok(flat[k].as_slice()) };
        // Scale factors from the resized image back to the original.
        let sx = iw as f32 / rw as f32;
        let sy = ih as f32 / rh as f32;
        let mut cands = Vec::new();
        for (si, &s) in STRIDES.iter().enumerate() {
            let (cls, obj, bbox, kps) = (get(si)?, get(3 + si)?, get(6 + si)?, get(9 + si)?);
            let cols = tw / s;
            let rows = th / s;
            let n = rows * cols;
            if cls.len() < n || obj.len() < n || bbox.len() < 4 * n || kps.len() < 10 * n {
                return Err(DetectError::Inference(format!(
                    "stride {s}: output sizes {} {} {} {} for {n} cells",
                    cls.len(),
                    obj.len(),
                    bbox.len(),
                    kps.len()
                )));
            }
            let sf = s as f32;
            for r in 0..rows {
                for c in 0..cols {
                    let i = r * cols + c;
                    let score = (cls[i].clamp(0.0, 1.0) * obj[i].clamp(0.0, 1.0)).sqrt();
                    if score.is_nan() || score < config.score_threshold {
                        continue;
                    }
                    let b = &bbox[4 * i..4 * i + 4];
                    let cx = (c as f32 + b[0]) * sf;
                    let cy = (r as f32 + b[1]) * sf;
                    let w = b[2].exp() * sf;
                    let h = b[3].exp() * sf;
                    let k = &kps[10 * i..10 * i + 10];
                    let lm = Landmarks(std::array::from_fn(|j| {
                        Point::new(
                            (c as f32 + k[2 * j]) * sf * sx,
                            (r as f32 + k[2 * j + 1]) * sf * sy,
                        )
                    }));
                    let det = Detection {
                        bbox: BoundingBox {
                            x: (cx - w / 2.0) * sx,
                            y: (cy - h / 2.0) * sy,
                            width: w * sx,
                            height: h * sy,
                        },
                        landmarks: lm,
                        score,
                    };
                    if det.bbox.width.is_finite()
                        && det.bbox.height.is_finite()
                        && lm.0.iter().all(|p| p.x.is_finite() && p.y.is_finite())
                    {
                        cands.push(det);
                    }
                }
            }
        }
        Ok(nms(cands, config.nms_iou, config.top_k))
    }
}

/// Greedy non-maximum suppression, highest score first.
pub fn nms(mut cands: Vec<Detection>, iou: f32, top_k: usize) -> Vec<Detection> {
    cands.sort_by(|a, b| b.score.total_cmp(&a.score));
    cands.truncate(top_k);
    let mut keep: Vec<Detection> = Vec::new();
    for c in cands {
        if keep.iter().all(|k| k.bbox.iou(&c.bbox) <= iou) {
            keep.push(c);
        }
    }
    keep
}

/// Pad an image with a constant border on every side (for tight face crops with no context,
/// which a detector misses). Returns the padded image.
pub fn with_border(image: &RgbImage, border: u32, value: [u8; 3]) -> RgbImage {
    let (w, h) = image.dimensions();
    let mut out = RgbImage::from_pixel(w + 2 * border, h + 2 * border, image::Rgb(value));
    image::imageops::replace(&mut out, image, border as i64, border as i64);
    out
}

/// Shift detections found on a bordered image back to the original image.
pub fn unshift(dets: &mut [Detection], border: u32) {
    let b = border as f32;
    for d in dets {
        d.bbox.x -= b;
        d.bbox.y -= b;
        for p in d.landmarks.0.iter_mut() {
            p.x -= b;
            p.y -= b;
        }
    }
}

/// The largest detection by box area.
pub fn largest(dets: &[Detection]) -> Option<&Detection> {
    dets.iter()
        .max_by(|a, b| a.bbox.area().total_cmp(&b.bbox.area()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(x: f32, score: f32) -> Detection {
        Detection {
            bbox: BoundingBox {
                x,
                y: 0.0,
                width: 10.0,
                height: 10.0,
            },
            landmarks: Landmarks::default(),
            score,
        }
    }

    #[test]
    fn nms_keeps_best_of_overlapping_and_all_disjoint() {
        let out = nms(
            vec![det(0.0, 0.7), det(1.0, 0.9), det(50.0, 0.65)],
            0.3,
            100,
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].score, 0.9);
        assert_eq!(out[1].bbox.x, 50.0);
    }

    #[test]
    fn border_round_trip() {
        let img = RgbImage::from_pixel(3, 2, image::Rgb([9, 9, 9]));
        let b = with_border(&img, 4, [0, 0, 0]);
        assert_eq!(b.dimensions(), (11, 10));
        assert_eq!(b.get_pixel(4, 4)[0], 9);
        assert_eq!(b.get_pixel(0, 0)[0], 0);
        let mut d = [det(10.0, 1.0)];
        unshift(&mut d, 4);
        assert_eq!(d[0].bbox.x, 6.0);
    }
}
