//! The FaceID face engine: decode, detect, align, embed, liveness, quality and matching.
//! Pure Rust on tract-onnx; the same code runs on the phone and in the backend.

pub mod decode;
pub mod liveness;
pub mod quality;
pub mod types;

pub use types::{BoundingBox, Descriptor, Detection, Landmarks, ModelId, Point};
