//! The FaceID face engine: decode, detect, align, embed, liveness, quality and matching.
//! Pure Rust on tract-onnx; the same code runs on the phone and in the backend.
//!
//! Start with [`engine::Engine`]: it loads and verifies every model once (see [`model`]) and
//! runs the pipeline: [`detect`] (YuNet) → [`align`] → [`embed`] (dlib ResNet or MobileFaceNet)
//! → [`liveness`] (MiniFASNet ensemble) → [`matching`] (1:1 and 1:N). [`measure`] is the
//! check-in measurement the phone and the server share. `eval` (feature `eval`, enabled by
//! the CLI) measures verification accuracy on a labelled photo set.

pub mod align;
pub mod cpu;
pub mod decode;
pub mod detect;
pub mod embed;
pub mod engine;
#[cfg(feature = "eval")]
pub mod eval;
pub mod liveness;
pub mod matching;
pub mod measure;
pub mod model;
pub mod onnx_ops;
pub mod quality;
pub mod types;

pub use detect::{Detector, DetectorConfig};
pub use embed::Embedder;
pub use engine::{DEFAULT_EMBEDDER, Engine, EngineConfig, EngineError};
pub use matching::{Decision, Gallery, Identification, UnknownReason, Verification};
pub use measure::{MeasureError, MeasureRules, Measurement, measure};
pub use model::{Manifest, Metric, ModelError};
pub use types::{BoundingBox, Descriptor, Detection, Landmarks, ModelId, Point};
