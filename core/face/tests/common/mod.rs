//! Shared test helpers: find the models and the photo set, or say clearly why a test skips.
#![allow(dead_code, clippy::print_stderr)]

use std::path::PathBuf;
use std::sync::OnceLock;

use faceid_face::{Engine, EngineConfig};
use image::RgbImage;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `FACEID_MODEL_DIR`, else `<workspace>/models/cache`, else the mirror `../shared/models`.
pub fn model_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("FACEID_MODEL_DIR") {
        return Some(PathBuf::from(d));
    }
    let ws = workspace();
    [ws.join("models/cache"), ws.join("../shared/models")]
        .into_iter()
        .find(|d| d.join("face_detection_yunet_2026may.onnx").is_file())
}

/// `FACEID_SHARED_DIR` (default `<workspace>/../shared`) + `/faces`, when present.
pub fn faces_dir() -> Option<PathBuf> {
    let shared = std::env::var_os("FACEID_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("../shared"));
    let d = shared.join("faces");
    d.is_dir().then_some(d)
}

/// The engine with every model, loaded once per test binary; `None` (with a printed reason)
/// when the models are not installed.
pub fn engine(test: &str) -> Option<&'static Engine> {
    static ENGINE: OnceLock<Option<Engine>> = OnceLock::new();
    let e = ENGINE.get_or_init(|| {
        let dir = model_dir()?;
        match Engine::load(&EngineConfig::new(dir)) {
            Ok(e) => Some(e),
            Err(err) => panic!("models present but the engine does not load: {err}"),
        }
    });
    if e.is_none() {
        eprintln!("SKIPPED {test}: no model files (set FACEID_MODEL_DIR or run models/fetch.sh)");
    }
    e.as_ref()
}

/// Engine and photo set, or `None` with a printed reason.
pub fn engine_and_faces(test: &str) -> Option<(&'static Engine, PathBuf)> {
    let e = engine(test)?;
    match faces_dir() {
        Some(f) => Some((e, f)),
        None => {
            eprintln!("SKIPPED {test}: no photo set (set FACEID_SHARED_DIR; see shared/faces)");
            None
        }
    }
}

pub fn load(path: &std::path::Path) -> RgbImage {
    faceid_face::eval::load_rgb(path)
        .unwrap_or_else(|e| panic!("cannot decode {}: {e}", path.display()))
}
