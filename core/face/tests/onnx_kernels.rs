//! The engine's ONNX front end (`faceid_face::onnx_ops`: PReLU rewritten, 2×2 max-pooling on
//! our kernel) on the real models: what is routed, and that every model computes the same
//! outputs as with tract's stock front end.

mod common;

use std::path::Path;

use faceid_face::onnx_ops::{RoutedNodes, model_for_bytes, route_to_kernels};
use tract_onnx::prelude::*;

/// Deterministic values in [0, 1) (an image-like input; no random crate needed).
fn input(h: usize, w: usize, seed: u32) -> Tensor {
    let mut s = seed;
    let values: Vec<f32> = (0..3 * h * w)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 8) as f32 / (1u32 << 24) as f32
        })
        .collect();
    tract_ndarray::Array4::from_shape_vec((1, 3, h, w), values)
        .expect("shape")
        .into_tensor()
}

fn outputs(model: InferenceModel, x: &Tensor) -> Vec<Vec<f32>> {
    let (h, w) = (x.shape()[2], x.shape()[3]);
    let plan = model
        .with_input_fact(0, f32::fact([1, 3, h, w]).into())
        .and_then(|m| m.into_optimized())
        .and_then(|m| m.into_runnable())
        .expect("plan");
    plan.run(tvec!(x.clone().into()))
        .expect("run")
        .iter()
        .map(|t| {
            t.to_plain_array_view::<f32>()
                .expect("f32")
                .iter()
                .copied()
                .collect()
        })
        .collect()
}

/// Runs `file` both ways on two inputs; returns what was routed.
fn compare(dir: &Path, file: &str, h: usize, w: usize) -> RoutedNodes {
    let bytes = std::fs::read(dir.join(file)).expect("model file");
    let mut proto = tract_onnx::onnx()
        .proto_model_for_read(&mut bytes.as_slice())
        .expect("proto");
    let routed = route_to_kernels(proto.graph.as_mut().expect("graph"));
    for seed in [1, 2] {
        let x = input(h, w, seed);
        let stock = outputs(
            tract_onnx::onnx()
                .model_for_read(&mut bytes.as_slice())
                .expect("stock model"),
            &x,
        );
        let ours = outputs(model_for_bytes(&bytes).expect("our model"), &x);
        assert_eq!(stock.len(), ours.len(), "{file}: output count");
        for (i, (a, b)) in stock.iter().zip(&ours).enumerate() {
            assert_eq!(a.len(), b.len(), "{file}: output {i} length");
            let scale = a.iter().fold(1f32, |m, v| m.max(v.abs()));
            let worst = a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0f32, f32::max);
            assert!(
                worst <= 1e-4 * scale,
                "{file}: output {i} differs by {worst} (scale {scale})"
            );
        }
    }
    routed
}

#[test]
fn every_model_computes_the_same_with_our_kernels() {
    let Some(dir) = common::model_dir() else {
        eprintln!("SKIPPED every_model_computes_the_same_with_our_kernels: no model files");
        return;
    };
    // YuNet at the check-in and the enrolment sizes: its four pools go to our kernel.
    for (h, w) in [(192, 320), (384, 640)] {
        let r = compare(&dir, "face_detection_yunet_2026may.onnx", h, w);
        assert_eq!(r.max_pool, 4, "{r:?}");
    }
    // The others keep tract's pooling but load through the same front end (PReLU rewritten).
    for file in [
        "mobilefacenet_foamliu.onnx",
        "minifasnet_v2_2.7_80x80.onnx",
        "minifasnet_v1se_4.0_80x80.onnx",
        "dlib_resnet_v1_128.onnx",
    ] {
        let size = match file {
            f if f.starts_with("dlib") => 150,
            f if f.starts_with("mobilefacenet") => 112,
            _ => 80,
        };
        compare(&dir, file, size, size);
    }
}
