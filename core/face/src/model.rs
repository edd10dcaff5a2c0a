//! The model manifest (`models/manifest.toml`) and model loading.
//!
//! Every model file is checked against the manifest before tract sees it: byte size first
//! (cheap), then SHA-256, then the tensor shapes once the graph is typed for the manifest's
//! input shape. Any mismatch is a typed [`ModelError`]; nothing is loaded half-way.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use tract_onnx::prelude::*;

use crate::types::ModelId;

/// A runnable, optimised tract plan for one fixed input shape.
pub type Plan = Arc<TypedRunnableModel>;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read model manifest {path}: {source}")]
    ManifestIo {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid model manifest: {0}")]
    ManifestParse(String),
    #[error("model manifest has schema {found}, this engine understands schema 1")]
    ManifestSchema { found: u32 },
    #[error("model `{0}` is not in the manifest")]
    UnknownModel(String),
    #[error("model `{id}` is a {found} model, expected a {expected} model")]
    WrongTask {
        id: String,
        expected: &'static str,
        found: &'static str,
    },
    #[error("model `{id}`: manifest entry incomplete: {what}")]
    IncompleteEntry { id: String, what: &'static str },
    #[error(
        "model file {path} for `{id}` is missing (install the models with models/fetch.sh or set FACEID_MODEL_DIR)"
    )]
    Missing { id: String, path: PathBuf },
    #[error("cannot read model file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("model file {path} has {found} bytes, the manifest says {expected}")]
    SizeMismatch {
        path: PathBuf,
        expected: u64,
        found: u64,
    },
    #[error("model file {path} has SHA-256 {found}, the manifest says {expected}")]
    HashMismatch {
        path: PathBuf,
        expected: String,
        found: String,
    },
    #[error("model `{id}`: input is named `{found}`, the manifest says `{expected}`")]
    InputName {
        id: String,
        expected: String,
        found: String,
    },
    #[error("model `{id}`: tensor shape mismatch: {detail}")]
    ShapeMismatch { id: String, detail: String },
    #[error("model `{id}`: tract could not load or optimise the graph: {detail}")]
    Tract { id: String, detail: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    Detect,
    Embed,
    Liveness,
}

impl Task {
    pub fn name(self) -> &'static str {
        match self {
            Task::Detect => "detect",
            Task::Embed => "embed",
            Task::Liveness => "liveness",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channels {
    Rgb,
    Bgr,
}

/// How pixels become input values: `((pixel / divisor) - mean[c]) / std[c]`, in `channels`
/// order, NCHW.
#[derive(Debug, Clone, Deserialize)]
pub struct InputSpec {
    pub name: String,
    /// N, C, H, W; 0 means "any multiple of 32" (detector).
    pub shape: [usize; 4],
    pub channels: Channels,
    pub mean: [f32; 3],
    pub std: [f32; 3],
    #[serde(default = "one")]
    pub divisor: f32,
}

fn one() -> f32 {
    1.0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Raw descriptors, Euclidean distance.
    Euclidean,
    /// L2-normalised descriptors; distance = 1 - cosine similarity.
    Cosine,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OutputSpec {
    /// Output tensor names in order (detector: 12 outputs).
    #[serde(default)]
    pub names: Vec<String>,
    /// Values per output (embedder: descriptor length; liveness: classes).
    #[serde(default)]
    pub dims: usize,
    pub metric: Option<Metric>,
    /// 1:1 decision threshold on the distance (same person when distance <= threshold),
    /// calibrated by `faceid face eval` and recorded here per model id.
    pub threshold: Option<f32>,
    /// 1:N margin: the best match must beat the best other person by at least this distance.
    pub margin: Option<f32>,
    /// Liveness: index of the "real" class.
    pub real_index: Option<usize>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AlignmentSpec {
    pub size: u32,
    pub template: [[f32; 2]; 5],
}

#[derive(Debug, Clone, Deserialize)]
pub struct ModelSpec {
    pub id: String,
    pub task: Task,
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
    #[serde(default)]
    pub licence: Option<String>,
    pub input: InputSpec,
    #[serde(default)]
    pub output: Option<OutputSpec>,
    #[serde(default)]
    pub alignment: Option<AlignmentSpec>,
    #[serde(default)]
    pub crop_scale: Option<f32>,
}

impl ModelSpec {
    pub fn model_id(&self) -> ModelId {
        ModelId(self.id.clone())
    }

    pub fn output(&self) -> Result<&OutputSpec, ModelError> {
        self.output.as_ref().ok_or(ModelError::IncompleteEntry {
            id: self.id.clone(),
            what: "[model.output]",
        })
    }

    pub fn alignment(&self) -> Result<&AlignmentSpec, ModelError> {
        self.alignment.as_ref().ok_or(ModelError::IncompleteEntry {
            id: self.id.clone(),
            what: "[model.alignment]",
        })
    }
}

#[derive(Debug, Deserialize)]
struct ManifestFile {
    schema: u32,
    #[serde(rename = "model", default)]
    models: Vec<ModelSpec>,
}

/// The parsed manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    models: BTreeMap<String, ModelSpec>,
    order: Vec<String>,
}

/// The manifest shipped with this source tree (`models/manifest.toml`), compiled in so the
/// engine and the files it checks can never disagree silently.
pub const BUILTIN_MANIFEST: &str = include_str!("../../../models/manifest.toml");

impl Manifest {
    pub fn parse(text: &str) -> Result<Self, ModelError> {
        let file: ManifestFile =
            toml::from_str(text).map_err(|e| ModelError::ManifestParse(e.to_string()))?;
        if file.schema != 1 {
            return Err(ModelError::ManifestSchema { found: file.schema });
        }
        let mut models = BTreeMap::new();
        let mut order = Vec::new();
        for m in file.models {
            if m.sha256.len() != 64 || !m.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(ModelError::ManifestParse(format!(
                    "model `{}`: sha256 must be 64 hex digits",
                    m.id
                )));
            }
            if models.contains_key(&m.id) {
                return Err(ModelError::ManifestParse(format!(
                    "model `{}` appears twice",
                    m.id
                )));
            }
            order.push(m.id.clone());
            models.insert(m.id.clone(), m);
        }
        Ok(Self { models, order })
    }

    pub fn builtin() -> Self {
        // The built-in manifest is part of the source tree and covered by tests.
        Self::parse(BUILTIN_MANIFEST).unwrap_or_else(|e| {
            tracing::error!(error = %e, "built-in model manifest is invalid");
            Self {
                models: BTreeMap::new(),
                order: Vec::new(),
            }
        })
    }

    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::ManifestIo {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text)
    }

    pub fn get(&self, id: &str) -> Result<&ModelSpec, ModelError> {
        self.models
            .get(id)
            .ok_or_else(|| ModelError::UnknownModel(id.to_owned()))
    }

    /// Models in manifest order.
    pub fn models(&self) -> impl Iterator<Item = &ModelSpec> {
        self.order.iter().filter_map(|id| self.models.get(id))
    }

    pub fn by_task(&self, task: Task) -> impl Iterator<Item = &ModelSpec> {
        self.models().filter(move |m| m.task == task)
    }

    pub fn expect_task(&self, id: &str, task: Task) -> Result<&ModelSpec, ModelError> {
        let spec = self.get(id)?;
        if spec.task != task {
            return Err(ModelError::WrongTask {
                id: id.to_owned(),
                expected: task.name(),
                found: spec.task.name(),
            });
        }
        Ok(spec)
    }
}

/// Where model files are looked for: `FACEID_MODEL_DIR`, else `<workspace>/models/cache`, else
/// the shared mirror `<workspace>/../shared/models`. Returns the first that exists.
pub fn default_model_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("FACEID_MODEL_DIR") {
        return Some(PathBuf::from(dir));
    }
    let ws = workspace_root();
    [ws.join("models/cache"), ws.join("../shared/models")]
        .into_iter()
        .find(|d| d.join("face_detection_yunet_2026may.onnx").is_file())
}

/// The workspace root this crate was built from (used to find models and test data when no
/// environment variable says otherwise).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Read a model file, verifying its size and SHA-256 against the manifest.
pub fn read_verified(spec: &ModelSpec, dir: &Path) -> Result<Vec<u8>, ModelError> {
    let path = dir.join(&spec.file);
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ModelError::Missing {
                id: spec.id.clone(),
                path,
            });
        }
        Err(source) => return Err(ModelError::Io { path, source }),
    };
    if meta.len() != spec.bytes {
        return Err(ModelError::SizeMismatch {
            path,
            expected: spec.bytes,
            found: meta.len(),
        });
    }
    let bytes = std::fs::read(&path).map_err(|source| ModelError::Io {
        path: path.clone(),
        source,
    })?;
    let found = hex::encode(Sha256::digest(&bytes));
    if !found.eq_ignore_ascii_case(&spec.sha256) {
        return Err(ModelError::HashMismatch {
            path,
            expected: spec.sha256.clone(),
            found,
        });
    }
    Ok(bytes)
}

fn tract_err(id: &str) -> impl Fn(TractError) -> ModelError + '_ {
    move |e| ModelError::Tract {
        id: id.to_owned(),
        detail: format!("{e:#}"),
    }
}

/// Checks the output shapes of a typed graph; `Err` carries the reason.
pub type OutputCheck<'a> = dyn Fn(&[Vec<usize>]) -> Result<(), String> + 'a;

/// A verified ONNX graph, not yet specialised to an input shape.
#[derive(Clone)]
pub struct VerifiedGraph {
    pub spec: ModelSpec,
    graph: InferenceModel,
    /// Output names as declared in the ONNX file, in output order (optimisation renames
    /// nodes but keeps the order).
    output_names: Vec<String>,
}

impl std::fmt::Debug for VerifiedGraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedGraph")
            .field("id", &self.spec.id)
            .finish()
    }
}

impl VerifiedGraph {
    /// Verify the file and parse the graph; checks the input name.
    pub fn load(spec: &ModelSpec, dir: &Path) -> Result<Self, ModelError> {
        let bytes = read_verified(spec, dir)?;
        let graph = crate::onnx_ops::model_for_bytes(&bytes).map_err(tract_err(&spec.id))?;
        let inputs = graph.input_outlets().map_err(tract_err(&spec.id))?;
        if inputs.len() != 1 {
            return Err(ModelError::ShapeMismatch {
                id: spec.id.clone(),
                detail: format!("{} inputs, expected 1", inputs.len()),
            });
        }
        let name = graph.node(inputs[0].node).name.clone();
        if name != spec.input.name {
            return Err(ModelError::InputName {
                id: spec.id.clone(),
                expected: spec.input.name.clone(),
                found: name,
            });
        }
        // The graph's own declared input shape must agree with the manifest wherever both are
        // fixed (a 112 px embedder listed as 150 px is refused here).
        let declared = graph.input_fact(0).map_err(tract_err(&spec.id))?;
        if let Ok(Some(dims)) = declared.shape.as_concrete_finite() {
            let agree = dims.len() == 4
                && dims
                    .iter()
                    .zip(spec.input.shape)
                    .all(|(&d, m)| m == 0 || d == m);
            if !agree {
                return Err(ModelError::ShapeMismatch {
                    id: spec.id.clone(),
                    detail: format!(
                        "graph input is {:?}, manifest declares {:?}",
                        dims, spec.input.shape
                    ),
                });
            }
        }
        let output_names = graph
            .output_outlets()
            .map_err(tract_err(&spec.id))?
            .iter()
            .map(|o| {
                graph
                    .outlet_label(*o)
                    .map(str::to_owned)
                    .unwrap_or_else(|| graph.node(o.node).name.clone())
            })
            .collect();
        tracing::debug!(model = %spec.id, bytes = bytes.len(), "model file verified");
        Ok(Self {
            spec: spec.clone(),
            graph,
            output_names,
        })
    }

    /// Type and optimise the graph for a fixed N×C×H×W input, check the output shapes, and
    /// return the runnable plan with the output names in order.
    pub fn plan(
        &self,
        height: usize,
        width: usize,
        expect_outputs: &OutputCheck<'_>,
    ) -> Result<(Plan, Vec<String>), ModelError> {
        let id = &self.spec.id;
        let [n, c, h, w] = self.spec.input.shape;
        let ok_dim = |declared: usize, actual: usize| declared == 0 || declared == actual;
        if n != 1 || c != 3 || !ok_dim(h, height) || !ok_dim(w, width) {
            return Err(ModelError::ShapeMismatch {
                id: id.clone(),
                detail: format!(
                    "requested input 1x3x{height}x{width}, manifest declares {n}x{c}x{h}x{w}"
                ),
            });
        }
        let typed = self
            .graph
            .clone()
            .with_input_fact(0, f32::fact([1, 3, height, width]).into())
            .and_then(|g| g.into_optimized())
            .and_then(|mut g| crate::onnx_ops::swap_in_kernels(&mut g).map(|_| g))
            .map_err(|e| ModelError::ShapeMismatch {
                id: id.clone(),
                detail: format!("graph does not accept input 1x3x{height}x{width}: {e:#}"),
            })?;
        let mut shapes = Vec::new();
        let names = self.output_names.clone();
        let outlets = typed.output_outlets().map_err(tract_err(id))?.to_vec();
        for outlet in outlets {
            let fact = typed.outlet_fact(outlet).map_err(tract_err(id))?;
            let shape = fact
                .shape
                .as_concrete()
                .ok_or_else(|| ModelError::ShapeMismatch {
                    id: id.clone(),
                    detail: format!("output shape {:?} is not concrete", fact.shape),
                })?
                .to_vec();
            shapes.push(shape);
        }
        expect_outputs(&shapes).map_err(|detail| ModelError::ShapeMismatch {
            id: id.clone(),
            detail,
        })?;
        let plan = typed.into_runnable().map_err(tract_err(id))?;
        Ok((plan, names))
    }
}

/// Run a plan on one NCHW f32 input and return all outputs.
pub fn run(plan: &Plan, input: Tensor) -> Result<TVec<TValue>, String> {
    plan.run(tvec!(input.into())).map_err(|e| format!("{e:#}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_manifest_parses_and_has_every_task() {
        let m = Manifest::parse(BUILTIN_MANIFEST).expect("manifest parses");
        assert_eq!(m.by_task(Task::Detect).count(), 1);
        assert!(m.by_task(Task::Embed).count() >= 2);
        assert_eq!(m.by_task(Task::Liveness).count(), 2);
        for e in m.by_task(Task::Embed) {
            let out = e.output().expect("embedder has output");
            assert_eq!(out.dims, 128);
            assert!(out.metric.is_some());
            assert!(out.threshold.is_some(), "{} has no threshold", e.id);
            let a = e.alignment().expect("embedder has alignment");
            assert_eq!(a.size as usize, e.input.shape[2]);
        }
        for l in m.by_task(Task::Liveness) {
            assert!(l.crop_scale.is_some());
        }
    }

    #[test]
    fn manifest_rejects_bad_hash_and_schema() {
        let bad = BUILTIN_MANIFEST.replacen(
            "ebafce4e3c118d6554634be5c27ab333b4c047a9a8c3faf1d7cf93101c22f0f0",
            "xyz",
            1,
        );
        assert!(matches!(
            Manifest::parse(&bad),
            Err(ModelError::ManifestParse(_))
        ));
        let bad = BUILTIN_MANIFEST.replacen("schema = 1", "schema = 7", 1);
        assert!(matches!(
            Manifest::parse(&bad),
            Err(ModelError::ManifestSchema { found: 7 })
        ));
        assert!(matches!(
            Manifest::parse("this is = = not toml"),
            Err(ModelError::ManifestParse(_))
        ));
    }

    #[test]
    fn missing_and_corrupt_files_are_refused_with_typed_errors() {
        let m = Manifest::builtin();
        let spec = m.get("yunet_2026may").expect("yunet in manifest");
        let dir = std::env::temp_dir().join(format!("faceid-model-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        assert!(matches!(
            read_verified(spec, &dir),
            Err(ModelError::Missing { .. })
        ));
        // Wrong size.
        std::fs::write(dir.join(&spec.file), b"not a model").expect("write");
        assert!(matches!(
            read_verified(spec, &dir),
            Err(ModelError::SizeMismatch { .. })
        ));
        // Right size, wrong content.
        std::fs::write(dir.join(&spec.file), vec![0u8; spec.bytes as usize]).expect("write");
        assert!(matches!(
            read_verified(spec, &dir),
            Err(ModelError::HashMismatch { .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
