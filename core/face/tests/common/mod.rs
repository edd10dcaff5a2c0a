//! Shared test helpers: find the models and the photo set, or say clearly why a test skips.
#![allow(dead_code, clippy::print_stderr)]

use std::path::PathBuf;
use std::sync::OnceLock;

use faceid_face::{Engine, EngineConfig};
use image::RgbImage;
use proptest::prelude::*;

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
    faceid_face::decode::open(path)
        .unwrap_or_else(|e| panic!("cannot decode {}: {e}", path.display()))
}

/// One edit of an encoded image, for the fuzz-like property tests.
#[derive(Debug, Clone)]
pub enum Mutation {
    Flip(usize, u8),
    Truncate(usize),
    Insert(usize, Vec<u8>),
    Overwrite(usize, Vec<u8>),
}

pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(i, x)| Mutation::Flip(i, x)),
        any::<usize>().prop_map(Mutation::Truncate),
        (
            any::<usize>(),
            proptest::collection::vec(any::<u8>(), 1..16)
        )
            .prop_map(|(i, v)| Mutation::Insert(i, v)),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(i, v)| Mutation::Overwrite(i, v)),
    ]
}

pub fn apply(mut b: Vec<u8>, muts: &[Mutation]) -> Vec<u8> {
    for m in muts {
        if b.is_empty() {
            break;
        }
        match m {
            Mutation::Flip(i, x) => {
                let i = i % b.len();
                b[i] ^= x;
            }
            Mutation::Truncate(i) => b.truncate(i % b.len()),
            Mutation::Insert(i, v) => {
                let i = i % b.len();
                b.splice(i..i, v.iter().copied());
            }
            Mutation::Overwrite(i, v) => {
                let i = i % b.len();
                for (k, x) in v.iter().enumerate() {
                    if let Some(slot) = b.get_mut(i + k) {
                        *slot = *x;
                    }
                }
            }
        }
    }
    b
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

pub fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = Vec::new();
    c.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    c.extend_from_slice(&body);
    c.extend_from_slice(&crc32(&body).to_be_bytes());
    c
}

/// A syntactically valid PNG whose header claims `w`×`h` 8-bit RGB, with a tiny IDAT.
pub fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    out.extend(png_chunk(b"IHDR", &ihdr));
    // zlib stream of a few zero bytes.
    out.extend(png_chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01],
    ));
    out.extend(png_chunk(b"IEND", &[]));
    out
}
