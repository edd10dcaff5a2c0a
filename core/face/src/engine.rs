//! The pipeline object: every model loaded and verified once, shared by `Arc`, used from any
//! thread. One `Engine` serves the phone's check-in and the server's re-verification.

use std::path::{Path, PathBuf};

use crate::decode::DecodeError;
use crate::detect::{self, DetectError, Detector, DetectorConfig};
use crate::embed::{EmbedError, Embedder};
use crate::liveness::active::ActiveConfig;
use crate::liveness::{LivenessError, PassiveLiveness, PassiveScore};
use crate::matching::{self, MatchError, Verification};
use crate::model::{Manifest, Metric, ModelError, Task};
use crate::types::{Descriptor, Detection, ModelId};
use image::RgbImage;

/// The embedder used when none is named. Chosen by the leave-one-source-out protocol on
/// `../shared/faces` with the rule written before the run (out-of-source FAR at most the
/// target, then TAR, then cost; docs/face-engine.md, "Score fusion and the decision"): the only
/// eligible single embedder. A change of default is a re-enrolment (`face.reenrol` job).
pub const DEFAULT_EMBEDDER: &str = "mobilefacenet_foamliu";

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Detect(#[from] DetectError),
    #[error(transparent)]
    Embed(#[from] EmbedError),
    #[error(transparent)]
    Liveness(#[from] LivenessError),
    #[error(transparent)]
    Match(#[from] MatchError),
    #[error("no model directory: set FACEID_MODEL_DIR or install the models with models/fetch.sh")]
    NoModelDir,
    #[error("embedder `{0}` is not loaded")]
    EmbedderNotLoaded(String),
    #[error("passive liveness models are not loaded")]
    LivenessNotLoaded,
    #[error("model `{0}` has no calibrated threshold in the manifest")]
    NoThreshold(String),
    #[error("no face found")]
    NoFace,
}

/// What to load.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub model_dir: PathBuf,
    /// Embedders to load (model or fusion ids; a fusion loads its components too); empty =
    /// every embedder and every fusion of the manifest.
    pub embedders: Vec<String>,
    /// The embedder used when a call names none.
    pub default_embedder: String,
    pub liveness: bool,
}

impl EngineConfig {
    pub fn new(model_dir: impl Into<PathBuf>) -> Self {
        Self {
            model_dir: model_dir.into(),
            embedders: Vec::new(),
            default_embedder: DEFAULT_EMBEDDER.to_owned(),
            liveness: true,
        }
    }

    /// Models from `FACEID_MODEL_DIR`, `models/cache` or the shared mirror.
    pub fn from_env() -> Result<Self, EngineError> {
        crate::model::default_model_dir()
            .map(Self::new)
            .ok_or(EngineError::NoModelDir)
    }
}

/// Everything loaded; `Clone` is cheap (all models are behind `Arc`).
#[derive(Clone, Debug)]
pub struct Engine {
    manifest: Manifest,
    detector: Detector,
    /// Single networks, then fusions (which share their components' networks).
    embedders: Vec<Embedder>,
    /// How many of `embedders` are single networks.
    singles: usize,
    default_embedder: usize,
    liveness: Option<PassiveLiveness>,
}

impl Engine {
    pub fn load(config: &EngineConfig) -> Result<Self, EngineError> {
        Self::load_with_manifest(Manifest::builtin(), config)
    }

    pub fn load_with_manifest(
        manifest: Manifest,
        config: &EngineConfig,
    ) -> Result<Self, EngineError> {
        let dir: &Path = &config.model_dir;
        let detector = Detector::load(&manifest, dir)?;
        let ids: Vec<String> = if config.embedders.is_empty() {
            manifest
                .by_task(Task::Embed)
                .map(|m| m.id.clone())
                .chain(manifest.fusions().iter().map(|f| f.id.clone()))
                .collect()
        } else {
            config.embedders.clone()
        };
        // Single networks first (a fusion's components too, each loaded once), then fusions
        // sharing them.
        let mut singles: Vec<&str> = Vec::new();
        for id in &ids {
            let needed: Vec<&str> = match manifest.fusion(id) {
                Some(f) => f.components.iter().map(String::as_str).collect(),
                None => vec![id.as_str()],
            };
            for n in needed {
                if !singles.contains(&n) {
                    singles.push(n);
                }
            }
        }
        let mut embedders = Vec::new();
        for id in &singles {
            embedders.push(Embedder::load(&manifest, id, dir)?);
        }
        let singles = embedders.len();
        for id in &ids {
            if let Some(f) = manifest.fusion(id) {
                let fused = Embedder::fusion(&manifest, f, &embedders)?;
                embedders.push(fused);
            }
        }
        // A default that names nothing loaded is an error, never silently another embedder
        // (a server configured with a mistyped embedder must not match with the wrong one).
        let default_embedder = embedders
            .iter()
            .position(|e| e.model_id().0 == config.default_embedder)
            .ok_or_else(|| EngineError::EmbedderNotLoaded(config.default_embedder.clone()))?;
        let liveness = if config.liveness {
            Some(PassiveLiveness::load(&manifest, dir)?)
        } else {
            None
        };
        tracing::info!(
            detector = %detector.model_id(),
            embedders = ?embedders.iter().map(|e| e.model_id().0).collect::<Vec<_>>(),
            liveness = liveness.is_some(),
            "face engine loaded"
        );
        Ok(Self {
            manifest,
            detector,
            embedders,
            singles,
            default_embedder,
            liveness,
        })
    }

    /// The same engine with another passive-liveness decision threshold.
    pub fn with_liveness_threshold(mut self, threshold: f32) -> Self {
        if let Some(l) = self.liveness.as_mut() {
            l.threshold = threshold;
        }
        self
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn detector(&self) -> &Detector {
        &self.detector
    }

    pub fn liveness(&self) -> Result<&PassiveLiveness, EngineError> {
        self.liveness.as_ref().ok_or(EngineError::LivenessNotLoaded)
    }

    /// The loaded single networks (each aligns its own chip); fusions are in
    /// [`Engine::fusions`]. Both are found by id with [`Engine::embedder`].
    pub fn embedders(&self) -> &[Embedder] {
        &self.embedders[..self.singles]
    }

    /// The loaded fusions of two embedders.
    pub fn fusions(&self) -> &[Embedder] {
        &self.embedders[self.singles..]
    }

    /// The named embedder, or the default one.
    pub fn embedder(&self, id: Option<&str>) -> Result<&Embedder, EngineError> {
        match id {
            None => Ok(&self.embedders[self.default_embedder]),
            Some(id) => self
                .embedders
                .iter()
                .find(|e| e.model_id().0 == id)
                .ok_or_else(|| EngineError::EmbedderNotLoaded(id.to_owned())),
        }
    }

    /// Detect faces (highest score first).
    pub fn detect(
        &self,
        image: &RgbImage,
        config: &DetectorConfig,
    ) -> Result<Vec<Detection>, EngineError> {
        Ok(self.detector.detect(image, config)?)
    }

    /// Detect; when nothing is found, retry once on the image with a grey border of half its
    /// longest side (tight face crops carry no context and detectors miss them). The bool is
    /// true when the border was needed. Coordinates are always in the original image.
    pub fn detect_with_border_retry(
        &self,
        image: &RgbImage,
        config: &DetectorConfig,
    ) -> Result<(Vec<Detection>, bool), EngineError> {
        let dets = self.detector.detect(image, config)?;
        if !dets.is_empty() {
            return Ok((dets, false));
        }
        let border = (image.width().max(image.height()) / 2).max(16);
        let padded = detect::with_border(image, border, [127, 127, 127]);
        let mut dets = self.detector.detect(&padded, config)?;
        detect::unshift(&mut dets, border);
        Ok((dets, true))
    }

    /// Align and embed one face with the named (or default) embedder.
    pub fn embed(
        &self,
        image: &RgbImage,
        face: &Detection,
        embedder: Option<&str>,
    ) -> Result<Descriptor, EngineError> {
        Ok(self.embedder(embedder)?.embed(image, &face.landmarks)?)
    }

    /// 1:1 verification with the model's calibrated threshold.
    pub fn verify(&self, a: &Descriptor, b: &Descriptor) -> Result<Verification, EngineError> {
        let e = self.embedder(Some(&a.model.0))?;
        let threshold = e
            .threshold()
            .ok_or_else(|| EngineError::NoThreshold(a.model.0.clone()))?;
        Ok(matching::verify(a, b, e.metric(), threshold)?)
    }

    /// Threshold, margin and metric of a model (or fusion), from the manifest.
    pub fn match_params(&self, model: &ModelId) -> Result<(Metric, f32, f32), EngineError> {
        let e = self.embedder(Some(&model.0))?;
        let threshold = e
            .threshold()
            .ok_or_else(|| EngineError::NoThreshold(model.0.clone()))?;
        Ok((e.metric(), threshold, e.margin()))
    }

    /// Active-liveness thresholds whose same-face rule is the calibrated verification rule of
    /// the named (or default) embedder's challenge embedder (for a fusion, its `challenge`
    /// component), so a challenge and `verify` agree on "same face".
    pub fn active_config(&self, embedder: Option<&str>) -> Result<ActiveConfig, EngineError> {
        let id = self.embedder(embedder)?.model_id();
        Ok(ActiveConfig::for_model(&self.manifest, &id.0)?)
    }

    /// The id of the embedder that describes challenge frames when `embedder` (or the
    /// default) matches: itself, or a fusion's `challenge` component. Only the frame matched
    /// against templates needs both networks of a fusion; "same face" between challenge frames
    /// is the component's own calibrated rule.
    pub fn challenge_embedder(&self, embedder: Option<&str>) -> Result<ModelId, EngineError> {
        Ok(self.embedder(embedder)?.challenge_embedder().model_id())
    }

    /// `d` as the challenge embedder of its model sees it: a fusion's descriptor becomes its
    /// `challenge` component's part (under that model's id); any other descriptor is returned
    /// as it is.
    pub fn challenge_descriptor(&self, d: &Descriptor) -> Result<Descriptor, EngineError> {
        let e = self.embedder(Some(&d.model.0))?;
        match e.fusion_spec() {
            None => Ok(d.clone()),
            Some(f) => e
                .component_descriptor(d, f.challenge_index())
                .ok_or_else(|| {
                    EngineError::Match(MatchError::Dimension {
                        expected: e.dims(),
                        found: d.values.len(),
                    })
                }),
        }
    }

    /// Passive liveness of one detected face in the full frame.
    pub fn passive_liveness(
        &self,
        image: &RgbImage,
        face: &Detection,
    ) -> Result<PassiveScore, EngineError> {
        Ok(self.liveness()?.check(image, face)?)
    }
}
