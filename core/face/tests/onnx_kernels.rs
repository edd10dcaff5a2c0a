//! The engine's ONNX front end (`faceid_face::onnx_ops`: PReLU rewritten, max-pooling,
//! pointwise, depthwise and dense 3×3 convolutions and constant padding on our kernels) on the
//! real models: what is routed, and that every model computes the same outputs as with tract's
//! stock front end.

mod common;

use std::path::Path;

use faceid_face::onnx_ops::{
    RoutedNodes, model_for_bytes, route_to_kernels, swap_in_kernels, wide_pointwise_available,
};
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

/// Outputs of `model` on `x`; `ours` also swaps in the engine's typed-model kernels (and
/// returns how many nodes it swapped).
fn outputs(model: InferenceModel, x: &Tensor, ours: bool) -> (Vec<Vec<f32>>, usize) {
    let (h, w) = (x.shape()[2], x.shape()[3]);
    let mut typed = model
        .with_input_fact(0, f32::fact([1, 3, h, w]).into())
        .and_then(|m| m.into_optimized())
        .expect("typed model");
    let swapped = if ours {
        swap_in_kernels(&mut typed).expect("swap")
    } else {
        0
    };
    let plan = typed.into_runnable().expect("plan");
    let values = plan
        .run(tvec!(x.clone().into()))
        .expect("run")
        .iter()
        .map(|t| {
            t.to_plain_array_view::<f32>()
                .expect("f32")
                .iter()
                .copied()
                .collect()
        })
        .collect();
    (values, swapped)
}

/// Runs `file` both ways on two inputs; returns what was routed and how many typed-model
/// nodes were swapped.
fn compare(dir: &Path, file: &str, h: usize, w: usize) -> (RoutedNodes, usize) {
    let bytes = std::fs::read(dir.join(file)).expect("model file");
    let mut proto = tract_onnx::onnx()
        .proto_model_for_read(&mut bytes.as_slice())
        .expect("proto");
    let routed = route_to_kernels(proto.graph.as_mut().expect("graph"));
    let mut swapped = 0;
    for seed in [1, 2] {
        let x = input(h, w, seed);
        let (stock, _) = outputs(
            tract_onnx::onnx()
                .model_for_read(&mut bytes.as_slice())
                .expect("stock model"),
            &x,
            false,
        );
        let ours;
        (ours, swapped) = outputs(model_for_bytes(&bytes).expect("our model"), &x, true);
        assert_eq!(stock.len(), ours.len(), "{file}: output count");
        for (i, (a, b)) in stock.iter().zip(&ours).enumerate() {
            assert_eq!(a.len(), b.len(), "{file}: output {i} length");
            let scale = a.iter().fold(1f32, |m, v| m.max(v.abs()));
            let worst = a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(
                    0f32,
                    |m, d| if d.is_nan() { f32::INFINITY } else { m.max(d) },
                );
            assert!(
                worst <= 1e-4 * scale,
                "{file}: output {i} differs by {worst} (scale {scale})"
            );
        }
    }
    (routed, swapped)
}

#[test]
fn every_model_computes_the_same_with_our_kernels() {
    let Some(dir) = common::model_dir() else {
        eprintln!("SKIPPED every_model_computes_the_same_with_our_kernels: no model files");
        return;
    };
    // Pointwise convolutions with more than 32 input channels go to our kernel only where it
    // runs with AVX-512.
    let wide = |n: usize| if wide_pointwise_available() { n } else { 0 };
    // YuNet at the check-in and the enrolment sizes: its four pools, its pointwise
    // convolutions (five with 16–32 input channels, 21 wider) and its 26 depthwise 3×3 convolutions (20 grouped,
    // six single-channel heads) and its first layer (3 → 16, 3×3/2) go to our kernels, and
    // the `Relu` after that one and 14 of the depthwise ones is folded into them. (With the stock front end tract lowers the
    // six single-channel ones to im2col behind a pad; none of those pads is left.)
    for (h, w) in [(192, 320), (384, 640)] {
        let (routed, swapped) = compare(&dir, "face_detection_yunet_2026may.onnx", h, w);
        let want = RoutedNodes {
            max_pool: 4,
            conv1x1: 5 + wide(21),
            depthwise: 26,
            conv3x3: 1,
            conv3x3_blocked: 0,
            fused_activations: 15,
        };
        assert_eq!((routed, swapped), (want, 0));
    }
    // dlib: its 3×3/2 pool and its five pads; with AVX-512 its 28 3×3 convolutions (32–256
    // channels, 24 with padding 1, four with stride 2), with the `Relu` after the first of each
    // of its 14 residual blocks folded in. Without AVX-512 tract runs those and puts a pad in
    // front of each of the 24 padded ones, which is ours too.
    let (routed, swapped) = compare(&dir, "dlib_resnet_v1_128.onnx", 150, 150);
    let want = RoutedNodes {
        max_pool: 1,
        conv3x3_blocked: wide(28),
        fused_activations: wide(14),
        ..RoutedNodes::default()
    };
    let pads = if wide_pointwise_available() { 5 } else { 29 };
    assert_eq!((routed, swapped), (want, pads));
    // MiniFASNet: its first layer (3×3 over the colour planes), its pointwise convolutions
    // (10 and 12 with up to 32 input channels, the others wider) and its 16 depthwise 3×3
    // convolutions.
    // V1SE's three squeeze-and-excitation `Relu`s follow wide pointwise convolutions.
    for (file, conv1x1, fused_activations) in [
        ("minifasnet_v2_2.7_80x80.onnx", 10 + wide(21), 0),
        ("minifasnet_v1se_4.0_80x80.onnx", 12 + wide(25), wide(3)),
    ] {
        let (routed, _) = compare(&dir, file, 80, 80);
        let want = RoutedNodes {
            max_pool: 0,
            conv1x1,
            depthwise: 16,
            conv3x3: 1,
            conv3x3_blocked: 0,
            fused_activations,
        };
        assert_eq!(routed, want, "{file}");
    }
    // MobileFaceNet: its 33 pointwise convolutions (64–512 input channels) and its 16
    // depthwise 3×3 convolutions (stride 1 and 2); the 7×7 one stays with tract. The ReLU6
    // (`Clip`) or `Relu` after 17 of the pointwise and all 16 depthwise ones is folded into
    // them, and so is the one after its first layer (3 → 64, 3×3/2), which is ours too.
    let (routed, _) = compare(&dir, "mobilefacenet_foamliu.onnx", 112, 112);
    let want = RoutedNodes {
        conv1x1: wide(33),
        depthwise: 16,
        conv3x3: 1,
        fused_activations: 17 + wide(17),
        ..RoutedNodes::default()
    };
    assert_eq!(routed, want);
}
