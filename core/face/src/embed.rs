//! Face descriptors: align to the embedder's template, run the network, and tag the result with
//! the model id. Two 128-value embedders are supported: dlib's ResNet (150 px chip, Euclidean)
//! and MobileFaceNet (112 px, cosine; descriptors L2-normalised).

use std::path::Path;
use std::sync::Arc;

use image::RgbImage;
use tract_onnx::prelude::*;

use crate::align::{AlignedFace, Normalize, align, chip_to_nchw};
use crate::model::{Manifest, Metric, ModelError, ModelSpec, Plan, Task, VerifiedGraph};
use crate::types::{Descriptor, Landmarks, ModelId};

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("landmarks are degenerate; cannot align the face")]
    DegenerateLandmarks,
    #[error("chip is {found}x{found2}, the embedder needs {expected}x{expected}")]
    ChipSize {
        expected: u32,
        found: u32,
        found2: u32,
    },
    #[error("embedder inference failed: {0}")]
    Inference(String),
}

/// One embedder, loaded once; cheap to clone.
#[derive(Clone)]
pub struct Embedder {
    inner: Arc<EmbedderInner>,
}

struct EmbedderInner {
    spec: ModelSpec,
    plan: Plan,
    norm: Normalize,
    metric: Metric,
    dims: usize,
    size: u32,
    template: [[f32; 2]; 5],
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("model", &self.inner.spec.id)
            .finish()
    }
}

impl Embedder {
    pub fn load(manifest: &Manifest, id: &str, dir: &Path) -> Result<Self, EmbedError> {
        let spec = manifest.expect_task(id, Task::Embed)?;
        Self::load_spec(spec, dir)
    }

    pub fn load_spec(spec: &ModelSpec, dir: &Path) -> Result<Self, EmbedError> {
        let out = spec.output()?;
        let metric = out.metric.ok_or(ModelError::IncompleteEntry {
            id: spec.id.clone(),
            what: "[model.output] metric",
        })?;
        let dims = out.dims;
        let al = spec.alignment()?;
        let [_, _, h, w] = spec.input.shape;
        if h != w || h != al.size as usize {
            return Err(ModelError::ShapeMismatch {
                id: spec.id.clone(),
                detail: format!("input {h}x{w} but alignment size {}", al.size),
            }
            .into());
        }
        let graph = VerifiedGraph::load(spec, dir)?;
        let expect = |shapes: &[Vec<usize>]| -> Result<(), String> {
            match shapes {
                [s] if s.iter().product::<usize>() == dims && s.last() == Some(&dims) => Ok(()),
                _ => Err(format!("outputs {shapes:?}, expected one [1, {dims}]")),
            }
        };
        let (plan, _) = graph.plan(h, w, &expect)?;
        Ok(Self {
            inner: Arc::new(EmbedderInner {
                spec: spec.clone(),
                plan,
                norm: Normalize::from_spec(&spec.input),
                metric,
                dims,
                size: al.size,
                template: al.template,
            }),
        })
    }

    pub fn model_id(&self) -> ModelId {
        self.inner.spec.model_id()
    }

    pub fn spec(&self) -> &ModelSpec {
        &self.inner.spec
    }

    pub fn metric(&self) -> Metric {
        self.inner.metric
    }

    pub fn dims(&self) -> usize {
        self.inner.dims
    }

    pub fn chip_size(&self) -> u32 {
        self.inner.size
    }

    pub fn template(&self) -> &[[f32; 2]; 5] {
        &self.inner.template
    }

    /// Calibrated 1:1 threshold for this model (from the manifest).
    pub fn threshold(&self) -> Option<f32> {
        self.inner.spec.output.as_ref().and_then(|o| o.threshold)
    }

    /// Align the face into this embedder's chip.
    pub fn align(
        &self,
        image: &RgbImage,
        landmarks: &Landmarks,
    ) -> Result<AlignedFace, EmbedError> {
        self.align_with_template(image, landmarks, &self.inner.template)
    }

    /// Align with an explicit template (used to measure alternative templates).
    pub fn align_with_template(
        &self,
        image: &RgbImage,
        landmarks: &Landmarks,
        template: &[[f32; 2]; 5],
    ) -> Result<AlignedFace, EmbedError> {
        align(image, landmarks, template, self.inner.size).ok_or(EmbedError::DegenerateLandmarks)
    }

    /// Align and embed.
    pub fn embed(&self, image: &RgbImage, landmarks: &Landmarks) -> Result<Descriptor, EmbedError> {
        let aligned = self.align(image, landmarks)?;
        self.embed_chip(&aligned.chip)
    }

    /// Embed an already aligned chip of exactly the model's size.
    pub fn embed_chip(&self, chip: &RgbImage) -> Result<Descriptor, EmbedError> {
        let size = self.inner.size;
        if chip.dimensions() != (size, size) {
            return Err(EmbedError::ChipSize {
                expected: size,
                found: chip.width(),
                found2: chip.height(),
            });
        }
        let data = chip_to_nchw(chip, self.inner.norm);
        let s = size as usize;
        let input = Tensor::from_shape(&[1, 3, s, s], &data)
            .map_err(|e| EmbedError::Inference(e.to_string()))?;
        let out = self
            .inner
            .plan
            .run(tvec!(input.into()))
            .map_err(|e| EmbedError::Inference(format!("{e:#}")))?;
        let values = out
            .first()
            .ok_or_else(|| EmbedError::Inference("no output".into()))?
            .to_plain_array_view::<f32>()
            .map_err(|e| EmbedError::Inference(e.to_string()))?
            .iter()
            .copied()
            .collect::<Vec<f32>>();
        if values.len() != self.inner.dims || values.iter().any(|v| !v.is_finite()) {
            return Err(EmbedError::Inference(format!(
                "descriptor has {} values (finite: {})",
                values.len(),
                values.iter().all(|v| v.is_finite())
            )));
        }
        let values = match self.inner.metric {
            Metric::Cosine => l2_normalised(values),
            Metric::Euclidean => values,
        };
        Ok(Descriptor {
            model: self.model_id(),
            values,
        })
    }
}

pub fn l2_normalised(mut v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
    v
}
