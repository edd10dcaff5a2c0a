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

#[derive(Debug, Clone, Copy, PartialEq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Raw descriptors, Euclidean distance.
    Euclidean,
    /// L2-normalised descriptors; distance = 1 - cosine similarity.
    Cosine,
    /// Score fusion of two embedders whose descriptors are concatenated (a `[[fusion]]` entry
    /// of the manifest); never written in a `[[model]]` entry.
    Fused(FusedMetric),
}

/// The metric of one component of a fusion (a single embedder's own metric).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ComponentMetric {
    Euclidean,
    Cosine,
}

impl ComponentMetric {
    pub fn metric(self) -> Metric {
        match self {
            Self::Euclidean => Metric::Euclidean,
            Self::Cosine => Metric::Cosine,
        }
    }
}

/// One component of a fused descriptor: `dims` values in its own metric, its distance
/// z-normalised by the impostor distances' `mean` and `std`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, serde::Serialize)]
pub struct FusedComponent {
    pub metric: ComponentMetric,
    pub dims: usize,
    pub mean: f32,
    pub std: f32,
}

/// The fused distance of two concatenated descriptors:
/// `weight · z(d₀) + (1 − weight) · z(d₁)`, `z(d) = (d − mean) / std` per component, each
/// component's distance `d` in its own metric over its own slice of the descriptor. Lower is
/// more alike, like a distance (it is negative for close pairs).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, serde::Serialize)]
pub struct FusedMetric {
    pub components: [FusedComponent; 2],
    pub weight: f32,
}

impl FusedMetric {
    /// Values of a fused descriptor.
    pub fn dims(&self) -> usize {
        self.components[0].dims + self.components[1].dims
    }

    /// The fused score of the two component distances.
    pub fn score(&self, d0: f32, d1: f32) -> f32 {
        let [a, b] = &self.components;
        self.weight * (d0 - a.mean) / a.std + (1.0 - self.weight) * (d1 - b.mean) / b.std
    }
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

/// A `[[fusion]]` entry: a composite embedder whose descriptor is its two components'
/// descriptors concatenated (in `components` order) under the fusion's own id, matched with the
/// fused distance ([`FusedMetric`]). Checked by [`Manifest::parse`]: both components are
/// embedders of the manifest with a metric, `0 <= weight <= 1`, deviations > 0, every value
/// finite, `challenge` one of the components.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FusionSpec {
    pub id: String,
    /// The two embedder model ids, in descriptor order.
    pub components: [String; 2],
    /// Impostor-distance mean of each component (z-normalisation).
    pub mean: [f32; 2],
    /// Impostor-distance standard deviation of each component (z-normalisation).
    pub std: [f32; 2],
    /// Weight of the first component; the second gets `1 - weight`.
    pub weight: f32,
    /// Same person when the fused distance <= threshold.
    pub threshold: f32,
    /// 1:N margin on fused distances.
    pub margin: f32,
    /// The component whose own calibrated rule checks "same face" between the frames of an
    /// active challenge (only the matched frame needs both embedders).
    pub challenge: String,
}

impl FusionSpec {
    pub fn model_id(&self) -> ModelId {
        ModelId(self.id.clone())
    }

    /// Index of the challenge component in `components`.
    pub fn challenge_index(&self) -> usize {
        usize::from(self.components[1] == self.challenge)
    }
}

#[derive(Debug, Deserialize)]
struct ManifestFile {
    schema: u32,
    #[serde(rename = "model", default)]
    models: Vec<ModelSpec>,
    #[serde(rename = "fusion", default)]
    fusions: Vec<FusionSpec>,
}

/// The parsed manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    models: BTreeMap<String, ModelSpec>,
    order: Vec<String>,
    fusions: Vec<FusionSpec>,
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
        let mut fusions: Vec<FusionSpec> = Vec::new();
        for f in file.fusions {
            check_fusion(&f, &models)?;
            if fusions.iter().any(|g| g.id == f.id) {
                return Err(ModelError::ManifestParse(format!(
                    "fusion `{}` appears twice",
                    f.id
                )));
            }
            fusions.push(f);
        }
        Ok(Self {
            models,
            order,
            fusions,
        })
    }

    pub fn builtin() -> Self {
        // The built-in manifest is part of the source tree and covered by tests.
        Self::parse(BUILTIN_MANIFEST).unwrap_or_else(|e| {
            tracing::error!(error = %e, "built-in model manifest is invalid");
            Self {
                models: BTreeMap::new(),
                order: Vec::new(),
                fusions: Vec::new(),
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

    /// Fusions in manifest order.
    pub fn fusions(&self) -> &[FusionSpec] {
        &self.fusions
    }

    /// The fusion with this id, if it is one.
    pub fn fusion(&self, id: &str) -> Option<&FusionSpec> {
        self.fusions.iter().find(|f| f.id == id)
    }

    /// The fused metric of a fusion entry (component metrics and sizes from their models).
    pub fn fused_metric(&self, fusion: &FusionSpec) -> Result<FusedMetric, ModelError> {
        let component = |k: usize| -> Result<FusedComponent, ModelError> {
            let spec = self.expect_task(&fusion.components[k], Task::Embed)?;
            let out = spec.output()?;
            let metric = match out.metric {
                Some(Metric::Euclidean) => ComponentMetric::Euclidean,
                Some(Metric::Cosine) => ComponentMetric::Cosine,
                Some(Metric::Fused(_)) | None => {
                    return Err(ModelError::IncompleteEntry {
                        id: spec.id.clone(),
                        what: "[model.output] metric (euclidean or cosine)",
                    });
                }
            };
            Ok(FusedComponent {
                metric,
                dims: out.dims,
                mean: fusion.mean[k],
                std: fusion.std[k],
            })
        };
        Ok(FusedMetric {
            components: [component(0)?, component(1)?],
            weight: fusion.weight,
        })
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

/// The loader's checks of a `[[fusion]]` entry against the models parsed before it.
fn check_fusion(f: &FusionSpec, models: &BTreeMap<String, ModelSpec>) -> Result<(), ModelError> {
    let bad = |why: String| {
        Err(ModelError::ManifestParse(format!(
            "fusion `{}`: {why}",
            f.id
        )))
    };
    if models.contains_key(&f.id) {
        return bad("the id is also a model id".into());
    }
    if f.components[0] == f.components[1] {
        return bad("its two components are the same model".into());
    }
    for c in &f.components {
        let Some(m) = models.get(c) else {
            return bad(format!("component `{c}` is not a model of the manifest"));
        };
        let usable = m.task == Task::Embed
            && m.output.as_ref().is_some_and(|o| {
                o.dims > 0 && matches!(o.metric, Some(Metric::Euclidean | Metric::Cosine))
            });
        if !usable {
            return bad(format!(
                "component `{c}` is not an embedder with dims and a metric"
            ));
        }
    }
    if !f.components.contains(&f.challenge) {
        return bad(format!(
            "challenge `{}` is not one of its components",
            f.challenge
        ));
    }
    if !(f.weight.is_finite() && (0.0..=1.0).contains(&f.weight)) {
        return bad(format!("weight {} is not within 0..=1", f.weight));
    }
    if f.std.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
        return bad(format!("deviations {:?} must be positive", f.std));
    }
    if f.mean.iter().any(|m| !m.is_finite()) || !f.threshold.is_finite() {
        return bad("means and threshold must be finite".into());
    }
    if !(f.margin.is_finite() && f.margin >= 0.0) {
        return bad(format!("margin {} must be >= 0", f.margin));
    }
    Ok(())
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
    fn builtin_fusion_names_two_embedders_of_128_values() {
        let m = Manifest::parse(BUILTIN_MANIFEST).expect("manifest parses");
        let f = m.fusion("fusion_dlib_mfn_v1").expect("fusion entry");
        assert_eq!(f.components, ["dlib_resnet_v1", "mobilefacenet_foamliu"]);
        let metric = m.fused_metric(f).expect("fused metric");
        assert_eq!(metric.dims(), 256);
        assert_eq!(metric.components[0].metric, ComponentMetric::Euclidean);
        assert_eq!(metric.components[1].metric, ComponentMetric::Cosine);
        assert_eq!(f.challenge_index(), 1);
        assert!(
            m.get("fusion_dlib_mfn_v1").is_err(),
            "a fusion is not a model file"
        );
    }

    #[test]
    fn fusion_entries_are_checked() {
        let entry = |components: &str, std: &str, weight: &str, challenge: &str| {
            format!(
                "{BUILTIN_MANIFEST}\n[[fusion]]\nid = \"f2\"\ncomponents = {components}\n\
                 mean = [0.8, 0.9]\nstd = {std}\nweight = {weight}\nthreshold = -2.0\n\
                 margin = 0.5\nchallenge = \"{challenge}\"\n"
            )
        };
        let ok = r#"["dlib_resnet_v1", "mobilefacenet_foamliu"]"#;
        let m = Manifest::parse(&entry(ok, "[0.1, 0.1]", "0.3", "dlib_resnet_v1")).expect("ok");
        assert_eq!(m.fusions().len(), 2);
        assert_eq!(m.fusion("f2").expect("f2").challenge_index(), 0);
        let refused = [
            // a component missing from the manifest
            entry(
                r#"["dlib_resnet_v1", "arcface_r100"]"#,
                "[0.1, 0.1]",
                "0.3",
                "dlib_resnet_v1",
            ),
            // a component that is not an embedder
            entry(
                r#"["dlib_resnet_v1", "yunet_2026may"]"#,
                "[0.1, 0.1]",
                "0.3",
                "dlib_resnet_v1",
            ),
            // twice the same model
            entry(
                r#"["dlib_resnet_v1", "dlib_resnet_v1"]"#,
                "[0.1, 0.1]",
                "0.3",
                "dlib_resnet_v1",
            ),
            entry(ok, "[0.1, 0.1]", "1.5", "dlib_resnet_v1"),
            entry(ok, "[0.1, 0.1]", "-0.1", "dlib_resnet_v1"),
            entry(ok, "[0.1, 0.0]", "0.3", "dlib_resnet_v1"),
            entry(ok, "[-0.1, 0.1]", "0.3", "dlib_resnet_v1"),
            entry(ok, "[0.1, nan]", "0.3", "dlib_resnet_v1"),
            entry(ok, "[0.1, 0.1]", "0.3", "yunet_2026may"),
        ];
        for text in refused {
            assert!(
                matches!(Manifest::parse(&text), Err(ModelError::ManifestParse(_))),
                "accepted: {}",
                &text[BUILTIN_MANIFEST.len()..]
            );
        }
        // A fusion id that is also a model id, and a fusion listed twice.
        let clash =
            BUILTIN_MANIFEST.replacen("id = \"fusion_dlib_mfn_v1\"", "id = \"dlib_resnet_v1\"", 1);
        assert!(Manifest::parse(&clash).is_err());
        let twice = format!(
            "{BUILTIN_MANIFEST}\n{}",
            &BUILTIN_MANIFEST[BUILTIN_MANIFEST.find("[[fusion]]").expect("entry")..]
        );
        assert!(Manifest::parse(&twice).is_err());
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
