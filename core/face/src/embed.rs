//! Face descriptors: align to the embedder's template, run the network, and tag the result with
//! the model id. Two 128-value embedders are supported: dlib's ResNet (150 px chip, Euclidean)
//! and MobileFaceNet (112 px, cosine; descriptors L2-normalised); and the fusion of two of them
//! (a manifest `[[fusion]]` entry): one detection, each component's own alignment and
//! network, the two descriptors concatenated under the fusion's id.

use std::path::Path;
use std::sync::Arc;

use image::RgbImage;
use tract_onnx::prelude::*;

use crate::align::{AlignedFace, Normalize, align, chip_to_nchw};
use crate::model::{
    FusedMetric, FusionSpec, Manifest, Metric, ModelError, ModelSpec, Plan, Task, VerifiedGraph,
};
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
    #[error(
        "`{0}` is a fusion of two embedders: it has no single chip; align and embed each component"
    )]
    Composite(String),
    #[error("fusion `{fusion}` needs its component `{component}` loaded")]
    ComponentMissing { fusion: String, component: String },
}

/// One embedder, loaded once; cheap to clone. Either one network, or the fusion of two
/// ([`Embedder::components`]).
#[derive(Clone)]
pub struct Embedder {
    inner: Arc<EmbedderInner>,
    fused: Option<Arc<Fused>>,
}

/// A fusion: its manifest entry, its metric and its two loaded components.
struct Fused {
    spec: FusionSpec,
    metric: FusedMetric,
    components: [Embedder; 2],
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
            .field("model", &self.model_id().0)
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
            fused: None,
        })
    }

    /// The fusion `spec` of two loaded single embedders (`loaded` must hold both components;
    /// they are shared, not loaded again).
    pub fn fusion(
        manifest: &Manifest,
        spec: &FusionSpec,
        loaded: &[Embedder],
    ) -> Result<Self, EmbedError> {
        let metric = manifest.fused_metric(spec)?;
        let find = |k: usize| {
            loaded
                .iter()
                .find(|e| !e.is_fusion() && e.inner.spec.id == spec.components[k])
                .cloned()
                .ok_or_else(|| EmbedError::ComponentMissing {
                    fusion: spec.id.clone(),
                    component: spec.components[k].clone(),
                })
        };
        let components = [find(0)?, find(1)?];
        // The first component's network stands in `inner` (never run through it for a fusion).
        Ok(Self {
            inner: components[0].inner.clone(),
            fused: Some(Arc::new(Fused {
                spec: spec.clone(),
                metric,
                components,
            })),
        })
    }

    pub fn model_id(&self) -> ModelId {
        match &self.fused {
            Some(f) => f.spec.model_id(),
            None => self.inner.spec.model_id(),
        }
    }

    /// Whether this is a fusion of two embedders.
    pub fn is_fusion(&self) -> bool {
        self.fused.is_some()
    }

    /// A fusion's two component embedders, in descriptor order (`None` for a single one).
    pub fn components(&self) -> Option<&[Embedder; 2]> {
        self.fused.as_ref().map(|f| &f.components)
    }

    /// A fusion's manifest entry (`None` for a single embedder).
    pub fn fusion_spec(&self) -> Option<&FusionSpec> {
        self.fused.as_ref().map(|f| &f.spec)
    }

    /// The embedder whose own rule says "same face" between the frames of an active challenge:
    /// itself, or a fusion's `challenge` component (only the matched frame needs the fusion).
    pub fn challenge_embedder(&self) -> &Embedder {
        match &self.fused {
            Some(f) => &f.components[f.spec.challenge_index()],
            None => self,
        }
    }

    /// The model entry of a single embedder (`None` for a fusion, which has no model file).
    pub fn spec(&self) -> Option<&ModelSpec> {
        match self.fused {
            Some(_) => None,
            None => Some(&self.inner.spec),
        }
    }

    pub fn metric(&self) -> Metric {
        match &self.fused {
            Some(f) => Metric::Fused(f.metric),
            None => self.inner.metric,
        }
    }

    pub fn dims(&self) -> usize {
        match &self.fused {
            Some(f) => f.metric.dims(),
            None => self.inner.dims,
        }
    }

    /// Chip side in pixels (a fusion: its first component's).
    pub fn chip_size(&self) -> u32 {
        self.inner.size
    }

    /// Alignment template (a fusion: its first component's).
    pub fn template(&self) -> &[[f32; 2]; 5] {
        &self.inner.template
    }

    /// Calibrated 1:1 threshold for this model (from the manifest).
    pub fn threshold(&self) -> Option<f32> {
        match &self.fused {
            Some(f) => Some(f.spec.threshold),
            None => self.inner.spec.output.as_ref().and_then(|o| o.threshold),
        }
    }

    /// 1:N margin for this model (from the manifest; 0 when none is recorded).
    pub fn margin(&self) -> f32 {
        match &self.fused {
            Some(f) => f.spec.margin,
            None => self
                .inner
                .spec
                .output
                .as_ref()
                .and_then(|o| o.margin)
                .unwrap_or(0.0),
        }
    }

    /// Align the face into this embedder's chip (a fusion has none: [`EmbedError::Composite`]).
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
        if self.is_fusion() {
            return Err(EmbedError::Composite(self.model_id().0));
        }
        align(image, landmarks, template, self.inner.size).ok_or(EmbedError::DegenerateLandmarks)
    }

    /// Align and embed. A fusion aligns the face once per component (each with its own
    /// template and size), embeds it with both and concatenates the descriptors.
    pub fn embed(&self, image: &RgbImage, landmarks: &Landmarks) -> Result<Descriptor, EmbedError> {
        if let Some(f) = &self.fused {
            let parts = [
                f.components[0].embed(image, landmarks)?,
                f.components[1].embed(image, landmarks)?,
            ];
            return Ok(self.concatenate(&parts));
        }
        let aligned = self.align(image, landmarks)?;
        self.embed_chip(&aligned.chip)
    }

    /// A fusion's descriptor from its components' descriptors (in component order).
    fn concatenate(&self, parts: &[Descriptor; 2]) -> Descriptor {
        let mut values = Vec::with_capacity(parts[0].values.len() + parts[1].values.len());
        values.extend_from_slice(&parts[0].values);
        values.extend_from_slice(&parts[1].values);
        Descriptor {
            model: self.model_id(),
            values,
        }
    }

    /// The part of a descriptor of this embedder that component `k` of the fusion produced,
    /// under the component's model id (`None` when this is not a fusion, `k` > 1, or the
    /// descriptor is not this fusion's).
    pub fn component_descriptor(&self, d: &Descriptor, k: usize) -> Option<Descriptor> {
        let f = self.fused.as_ref()?;
        let component = f.components.get(k)?;
        if d.model != self.model_id() || d.values.len() != f.metric.dims() {
            return None;
        }
        let start = if k == 0 {
            0
        } else {
            f.metric.components[0].dims
        };
        let end = start + f.metric.components[k].dims;
        Some(Descriptor {
            model: component.model_id(),
            values: d.values[start..end].to_vec(),
        })
    }

    /// Embed an already aligned chip of exactly the model's size (a fusion has none:
    /// [`EmbedError::Composite`]).
    pub fn embed_chip(&self, chip: &RgbImage) -> Result<Descriptor, EmbedError> {
        if self.is_fusion() {
            return Err(EmbedError::Composite(self.model_id().0));
        }
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
            Metric::Euclidean | Metric::Fused(_) => values,
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
