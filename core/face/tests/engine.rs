//! Golden-value tests of the face engine on real photos and real model files. Each test skips
//! with a printed reason when the models or the photo set are absent.

mod common;

use std::path::Path;

use faceid_face::align::Similarity;
use faceid_face::detect::{self, DetectorConfig};
use faceid_face::model::{Manifest, ModelError, VerifiedGraph, read_verified};
use faceid_face::{Decision, EngineError, Gallery, Point, UnknownReason};

use common::{engine, engine_and_faces, load, model_dir};

#[test]
fn a_corrupted_or_mis_declared_model_is_refused() {
    let Some(dir) = model_dir() else {
        eprintln!("SKIPPED a_corrupted_or_mis_declared_model_is_refused: no model files");
        return;
    };
    let m = Manifest::builtin();
    // Every model of the manifest verifies.
    for spec in m.models() {
        read_verified(spec, &dir).unwrap_or_else(|e| panic!("{}: {e}", spec.id));
    }
    // One flipped byte: hash mismatch.
    let spec = m.get("yunet_2026may").expect("yunet");
    let tmp = std::env::temp_dir().join(format!("faceid-corrupt-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("tmp");
    let mut bytes = std::fs::read(dir.join(&spec.file)).expect("read");
    bytes[1000] ^= 0x40;
    std::fs::write(tmp.join(&spec.file), &bytes).expect("write");
    assert!(matches!(
        read_verified(spec, &tmp),
        Err(ModelError::HashMismatch { .. })
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    // A manifest that declares MobileFaceNet as 150 px: shape mismatch at load.
    let text = faceid_face::model::BUILTIN_MANIFEST.replace(
        "name = \"input0\"\nshape = [1, 3, 112, 112]",
        "name = \"input0\"\nshape = [1, 3, 150, 150]",
    );
    let bad = Manifest::parse(&text).expect("parses");
    let spec = bad.get("mobilefacenet_foamliu").expect("mfn");
    assert!(matches!(
        VerifiedGraph::load(spec, &dir),
        Err(ModelError::ShapeMismatch { .. })
    ));
    // Wrong input name.
    let text = faceid_face::model::BUILTIN_MANIFEST.replace("name = \"input0\"", "name = \"data\"");
    let bad = Manifest::parse(&text).expect("parses");
    assert!(matches!(
        VerifiedGraph::load(bad.get("mobilefacenet_foamliu").expect("mfn"), &dir),
        Err(ModelError::InputName { .. })
    ));
}

#[test]
fn one_face_on_a_portrait_with_landmarks_in_order() {
    let Some((e, faces)) = engine_and_faces("one_face_on_a_portrait_with_landmarks_in_order")
    else {
        return;
    };
    let img = load(&faces.join("face_recognition/barack_obama/obama.jpg"));
    for cfg in [DetectorConfig::CHECK_IN, DetectorConfig::ENROL] {
        let dets = e.detect(&img, &cfg).expect("detect");
        assert_eq!(dets.len(), 1, "at {}: {dets:?}", cfg.input_size);
        let d = dets[0];
        let lm = d.landmarks;
        // Image-left eye first, eyes above nose above mouth, all inside the box.
        assert!(lm.right_eye().x < lm.left_eye().x);
        assert!(lm.right_mouth().x < lm.left_mouth().x);
        assert!(lm.right_eye().y < lm.nose().y && lm.nose().y < lm.right_mouth().y);
        for p in lm.0 {
            assert!(p.x > d.bbox.x && p.x < d.bbox.x + d.bbox.width);
            assert!(p.y > d.bbox.y && p.y < d.bbox.y + d.bbox.height);
        }
        assert!(d.score > 0.8);
        // A face, not a speck: at least 15% of the image width.
        assert!(d.bbox.width > img.width() as f32 * 0.15, "{:?}", d.bbox);
    }
    // 320 and 640 agree on where the face is.
    let a = e.detect(&img, &DetectorConfig::CHECK_IN).expect("320")[0];
    let b = e.detect(&img, &DetectorConfig::ENROL).expect("640")[0];
    assert!(a.bbox.iou(&b.bbox) > 0.8);
}

#[cfg(feature = "eval")]
#[test]
fn group_photos_detection_matches_dlib_annotations() {
    let Some((e, faces)) = engine_and_faces("group_photos_detection_matches_dlib_annotations")
    else {
        return;
    };
    let ann = faces.join("dlib/_annotations");
    let mut annotated = 0;
    let mut found = 0;
    let mut extra = 0;
    for xml in ["training.xml", "testing.xml"] {
        let boxes = faceid_face::eval::parse_imglab(&ann.join(xml)).expect("xml");
        let mut by_image: std::collections::BTreeMap<_, Vec<_>> = Default::default();
        for b in boxes {
            by_image.entry(b.image.clone()).or_default().push(b.bbox);
        }
        for (path, truth) in by_image {
            let img = load(&path);
            let dets = e.detect(&img, &DetectorConfig::ENROL).expect("detect");
            annotated += truth.len();
            // Annotated boxes are tighter than YuNet's: match on centre inside + IoU > 0.2.
            let hit = |t: &faceid_face::BoundingBox| dets.iter().any(|d| d.bbox.iou(t) > 0.2);
            found += truth.iter().filter(|t| hit(t)).count();
            extra += dets
                .iter()
                .filter(|d| !truth.iter().any(|t| d.bbox.iou(t) > 0.2))
                .count();
        }
    }
    eprintln!("dlib group photos: {annotated} annotated faces, {found} found, {extra} extra");
    assert!(annotated >= 40);
    // YuNet finds nearly all of PASCAL's small faces at 640 and invents few.
    assert!(found * 10 >= annotated * 9, "{found}/{annotated}");
    assert!(extra * 10 <= annotated, "{extra} extra detections");
}

fn embed_path(e: &faceid_face::Engine, path: &Path, model: &str) -> faceid_face::Descriptor {
    let img = load(path);
    let (dets, _) = e
        .detect_with_border_retry(&img, &DetectorConfig::ENROL)
        .expect("detect");
    let face = detect::largest(&dets).expect("a face");
    e.embed(&img, face, Some(model)).expect("embed")
}

#[test]
fn same_person_is_below_threshold_and_different_people_above() {
    let Some((e, faces)) =
        engine_and_faces("same_person_is_below_threshold_and_different_people_above")
    else {
        return;
    };
    let obama1 = faces.join("face_recognition/barack_obama/obama.jpg");
    let obama2 = faces.join("face_recognition/barack_obama/obama2.jpg");
    let biden = faces.join("face_recognition/joe_biden/biden.jpg");
    for emb in e.embedders() {
        let id = emb.model_id().0;
        let a = embed_path(e, &obama1, &id);
        let b = embed_path(e, &obama2, &id);
        let c = embed_path(e, &biden, &id);
        assert_eq!(a.model.0, id);
        assert_eq!(a.values.len(), 128);
        let same = e.verify(&a, &b).expect("verify");
        let diff = e.verify(&a, &c).expect("verify");
        eprintln!(
            "{id}: obama~obama {:.4}, obama~biden {:.4}, threshold {:.4}",
            same.distance, diff.distance, same.threshold
        );
        assert!(same.same && same.distance < same.threshold);
        assert!(!diff.same && diff.distance > diff.threshold);
        // Deterministic.
        let a2 = embed_path(e, &obama1, &id);
        assert_eq!(a.values, a2.values);
        // Descriptors of different models never compare.
        let other = e
            .embedders()
            .iter()
            .find(|o| o.model_id() != emb.model_id());
        if let Some(o) = other {
            let x = embed_path(e, &obama1, &o.model_id().0);
            assert!(matches!(e.verify(&a, &x), Err(EngineError::Match(_))));
        }
    }
}

#[test]
fn descriptor_is_stable_under_rotation_and_scale_of_the_photo() {
    let Some((e, faces)) =
        engine_and_faces("descriptor_is_stable_under_rotation_and_scale_of_the_photo")
    else {
        return;
    };
    let img = load(&faces.join("face_recognition/barack_obama/obama.jpg"));
    let (w, h) = (img.width() as f64, img.height() as f64);
    // Rotate 12° and scale 0.8 about the centre, into a canvas of the same size.
    let ang = 12f64.to_radians();
    let s = 0.8;
    let (a, b) = (s * ang.cos(), s * ang.sin());
    let t = Similarity {
        a,
        b,
        tx: w / 2.0 - (a * w / 2.0 - b * h / 2.0),
        ty: h / 2.0 - (b * w / 2.0 + a * h / 2.0),
    };
    let rotated = faceid_face::align::warp(&img, &t, img.width(), img.height()).expect("warp");
    let d0 = e.detect(&img, &DetectorConfig::ENROL).expect("detect")[0];
    let d1 = e.detect(&rotated, &DetectorConfig::ENROL).expect("detect")[0];
    // The detector's landmarks follow the transform within a few pixels.
    for i in 0..5 {
        let expected = t.apply(d0.landmarks.0[i]);
        let err = expected.distance(d1.landmarks.0[i]);
        // YuNet's landmarks jitter by a few percent of the eye distance.
        assert!(
            err < 0.15 * d1.landmarks.interocular(),
            "landmark {i}: {err}"
        );
    }
    for emb in e.embedders() {
        let x = emb.embed(&img, &d0.landmarks).expect("embed");
        let y = emb.embed(&rotated, &d1.landmarks).expect("embed");
        let v = e.verify(&x, &y).expect("verify");
        eprintln!("{}: rotated/scaled copy at {:.4}", v.model, v.distance);
        assert!(v.distance < v.threshold * 0.6, "{v:?}");
    }
    // The aligned chip puts the eyes where the template says.
    let emb = e.embedder(None).expect("default");
    let al = emb.align(&rotated, &d1.landmarks).expect("align");
    let tpl = emb.template();
    let p = al.transform.apply(d1.landmarks.right_eye());
    assert!(p.distance(Point::new(tpl[0][0], tpl[0][1])) < 6.0);
}

#[test]
fn passive_liveness_passes_the_live_photo_and_fails_both_attacks() {
    let Some((e, faces)) =
        engine_and_faces("passive_liveness_passes_the_live_photo_and_fails_both_attacks")
    else {
        return;
    };
    let dir = faces.join("liveness");
    let mut scores = Vec::new();
    for (file, live) in [
        ("real_T1.jpg", true),
        ("spoof_F1.jpg", false),
        ("spoof_F2.jpg", false),
    ] {
        let img = load(&dir.join(file));
        let dets = e.detect(&img, &DetectorConfig::ENROL).expect("detect");
        let face = detect::largest(&dets).expect("face");
        let s = e.passive_liveness(&img, face).expect("liveness");
        eprintln!("{file}: {:.4} {:?}", s.score, s.models);
        assert_eq!(s.live, live, "{file}: {s:?}");
        scores.push(s.score);
    }
    assert!(scores[0] > 0.9, "live photo scores {}", scores[0]);
    // A tight crop of the live face, no context: the context crop shrinks to the whole
    // image; scored without panicking, printed for the record.
    let img = load(&dir.join("real_T1.jpg"));
    let face = e.detect(&img, &DetectorConfig::ENROL).expect("detect")[0];
    let b = face.bbox;
    let crop = image::imageops::crop_imm(
        &img,
        b.x.max(0.0) as u32,
        b.y.max(0.0) as u32,
        b.width as u32,
        b.height as u32,
    )
    .to_image();
    let (dets, _) = e
        .detect_with_border_retry(&crop, &DetectorConfig::ENROL)
        .expect("detect");
    if let Some(f) = detect::largest(&dets) {
        let s = e.passive_liveness(&crop, f).expect("liveness");
        eprintln!("tight crop of the live face: {:.4}", s.score);
        assert!((0.0..=1.0).contains(&s.score));
    }
}

#[test]
fn identify_finds_the_enrolled_person_and_rejects_a_stranger() {
    let Some((e, faces)) =
        engine_and_faces("identify_finds_the_enrolled_person_and_rejects_a_stranger")
    else {
        return;
    };
    let emb = e.embedder(None).expect("default");
    let id = emb.model_id().0;
    let (_, threshold, margin) = e.match_params(&emb.model_id()).expect("params");
    let mut g = Gallery::new(emb.model_id(), emb.metric(), emb.dims());
    let fr = faces.join("face_recognition");
    g.add(
        "obama",
        &embed_path(e, &fr.join("barack_obama/obama.jpg"), &id),
    )
    .expect("add");
    g.add(
        "biden",
        &embed_path(e, &fr.join("joe_biden/biden.jpg"), &id),
    )
    .expect("add");
    let probe = embed_path(e, &fr.join("barack_obama/obama2.jpg"), &id);
    let r = g.identify(&probe, threshold, margin).expect("identify");
    assert_eq!(
        r.decision,
        Decision::Match {
            person: "obama".into()
        },
        "{r:?}"
    );
    // Someone not enrolled: unknown, never the nearest employee.
    let stranger = embed_path(e, &faces.join("openface/amy_adams/adams.jpg"), &id);
    let r = g.identify(&stranger, threshold, margin).expect("identify");
    assert!(
        matches!(r.decision, Decision::Unknown { .. }),
        "stranger matched: {r:?}"
    );
    // The same probe against a gallery with two near-identical people: ambiguous.
    let mut twins = Gallery::new(emb.model_id(), emb.metric(), emb.dims());
    let o = embed_path(e, &fr.join("barack_obama/obama.jpg"), &id);
    twins.add("obama_a", &o).expect("add");
    twins.add("obama_b", &o).expect("add");
    let r = twins.identify(&probe, threshold, margin).expect("identify");
    assert_eq!(
        r.decision,
        Decision::Unknown {
            reason: UnknownReason::Ambiguous
        }
    );
}

#[test]
fn bad_images_give_no_face_or_typed_errors_never_a_panic() {
    let Some(e) = engine("bad_images_give_no_face_or_typed_errors_never_a_panic") else {
        return;
    };
    // Undecodable bytes: typed decode error.
    let tmp = std::env::temp_dir().join(format!("faceid-bad-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("tmp");
    let zero = tmp.join("zero.jpg");
    std::fs::write(&zero, b"").expect("write");
    assert_eq!(
        faceid_face::decode::open(&zero).err(),
        Some(faceid_face::decode::DecodeError::Empty)
    );
    if let Some(faces) = common::faces_dir() {
        let full =
            std::fs::read(faces.join("face_recognition/barack_obama/obama.jpg")).expect("read");
        let trunc = tmp.join("trunc.jpg");
        std::fs::write(&trunc, &full[..full.len() / 3]).expect("write");
        // Truncated JPEG: a typed error, not a partial image.
        assert!(matches!(
            faceid_face::decode::open(&trunc),
            Err(faceid_face::decode::DecodeError::Truncated { .. })
        ));
        // Grayscale photo (expanded to RGB by the decoder) still finds the face.
        let gray = image::DynamicImage::ImageRgb8(load(
            &faces.join("face_recognition/barack_obama/obama.jpg"),
        ))
        .to_luma8();
        let gray = image::DynamicImage::ImageLuma8(gray).to_rgb8();
        assert_eq!(
            e.detect(&gray, &DetectorConfig::ENROL)
                .expect("detect")
                .len(),
            1
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
    // Tiny and degenerate shapes.
    for (w, h) in [(1, 1), (2, 1), (1, 3000), (3000, 1), (31, 33)] {
        let img = image::RgbImage::from_pixel(w, h, image::Rgb([200, 180, 160]));
        let dets = e.detect(&img, &DetectorConfig::CHECK_IN).expect("detect");
        assert!(dets.is_empty(), "{w}x{h}");
        let (dets, _) = e
            .detect_with_border_retry(&img, &DetectorConfig::ENROL)
            .expect("detect");
        assert!(dets.is_empty(), "{w}x{h} bordered");
    }
    let empty = image::RgbImage::new(0, 0);
    assert!(e.detect(&empty, &DetectorConfig::CHECK_IN).is_err());
    let rules = faceid_face::MeasureRules::check_in();
    assert!(faceid_face::measure(e, b"", &[], None, &rules).is_err());
    // A furry, high-texture non-face (synthetic "cat fur" stripes and noise): no face.
    let mut seed = 7u32;
    let fur = image::RgbImage::from_fn(640, 480, |x, y| {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let n = (seed >> 16) as u8 / 4;
        let stripe = if ((x + y / 3) / 9) % 2 == 0 { 120 } else { 60 };
        image::Rgb([stripe + n, (stripe as f32 * 0.8) as u8 + n, 40 + n])
    });
    let mut png = std::io::Cursor::new(Vec::new());
    fur.write_to(&mut png, image::ImageFormat::Png)
        .expect("encode");
    assert!(matches!(
        faceid_face::measure(e, png.get_ref(), &[], None, &rules),
        Err(faceid_face::MeasureError::NoFace { .. })
    ));
    // Degenerate landmarks cannot be aligned: typed error.
    let emb = e.embedder(None).expect("default");
    let lm = faceid_face::Landmarks([Point::new(5.0, 5.0); 5]);
    assert!(emb.embed(&fur, &lm).is_err());
}

#[cfg(feature = "eval")]
#[test]
fn eval_on_the_photo_set_meets_the_anchor_with_no_detection_failures() {
    let Some((e, faces)) =
        engine_and_faces("eval_on_the_photo_set_meets_the_anchor_with_no_detection_failures")
    else {
        return;
    };
    let r = faceid_face::eval::evaluate(e, &faces, None, &DetectorConfig::ENROL).expect("eval");
    eprintln!(
        "{}: images {} no_face {} pairs {}/{} EER {:.4} TAR@1e-2 {:.4} TAR@1e-3 {:.4}",
        r.model,
        r.images,
        r.no_face,
        r.genuine_pairs,
        r.impostor_pairs,
        r.eer,
        r.tar_at_far_1e_2,
        r.tar_at_far_1e_3
    );
    assert_eq!(r.no_face, 0, "{:?}", r.no_face_files);
    assert_eq!(r.decode_errors, 0);
    assert_eq!(r.derived_excluded, 3);
    assert_eq!(r.images, 71);
    assert_eq!(r.genuine_pairs + r.impostor_pairs, 71 * 70 / 2);
    // The anchor for the default model (reference pipeline on this set): EER 0.68%,
    // TAR 100% at FAR 1%, 97.5% at FAR 0.1% (the better of both embedders).
    assert!(r.eer <= 0.02, "EER {}", r.eer);
    assert!(r.tar_at_far_1e_2 >= 0.98, "TAR@1% {}", r.tar_at_far_1e_2);
}

/// The phone uploads its best frame again as the challenge's neutral reference; the measurement
/// reuses the best frame's detection and descriptor for those identical bytes. What it reuses
/// must be what measuring the frame again gives: the same pixels sent as a PNG (other bytes, so
/// measured afresh) give the same challenge frame.
#[test]
fn a_challenge_frame_identical_to_the_best_frame_measures_as_if_measured_again() {
    let Some((e, faces)) = engine_and_faces(
        "a_challenge_frame_identical_to_the_best_frame_measures_as_if_measured_again",
    ) else {
        return;
    };
    use faceid_face::measure::TimedFrame;
    let dir = faces.join("face_recognition/barack_obama");
    let best = std::fs::read(dir.join("obama.jpg")).expect("read");
    let turned = std::fs::read(dir.join("obama1.jpg")).expect("read");
    let rules = faceid_face::MeasureRules::check_in();
    let pixels = faceid_face::decode::decode_with_limits(&best, &rules.decode)
        .expect("decode")
        .rgb;
    let mut png = std::io::Cursor::new(Vec::new());
    pixels
        .write_to(&mut png, image::ImageFormat::Png)
        .expect("encode");
    let png = png.into_inner();
    assert_ne!(png, best);

    let frame = |bytes: &'static [u8], at: u64| TimedFrame {
        bytes,
        captured_at_ms: Some(at),
    };
    let best: &'static [u8] = best.leak();
    let png: &'static [u8] = png.leak();
    let turned: &'static [u8] = turned.leak();
    let reused = faceid_face::measure(e, best, &[frame(best, 1), frame(turned, 2)], None, &rules)
        .expect("measure");
    let measured_again =
        faceid_face::measure(e, best, &[frame(png, 1), frame(turned, 2)], None, &rules)
            .expect("measure");
    assert_eq!(reused.challenge_frames.len(), 2);
    assert_eq!(reused, measured_again);
    // The reference frame is the best frame's face, not a default or another frame's.
    assert_eq!(reused.challenge_frames[0].landmarks, reused.face.landmarks);
    assert_eq!(
        reused.challenge_frames[0].descriptor.as_ref(),
        Some(&reused.descriptor)
    );
    assert_ne!(
        reused.challenge_frames[0].landmarks,
        reused.challenge_frames[1].landmarks
    );
}

/// The fusion embedder on real photos: one detection, both networks, the descriptors
/// concatenated under the fusion's id; the fused rule in `verify` and `Gallery::identify`; the
/// challenge frames of a measured check-in described by the challenge component only.
#[test]
fn the_fusion_embeds_both_networks_and_matches_on_the_fused_rule() {
    const FUSION: &str = "fusion_dlib_mfn_v1";
    let Some((e, faces)) =
        engine_and_faces("the_fusion_embeds_both_networks_and_matches_on_the_fused_rule")
    else {
        return;
    };
    let fusion = e.embedder(Some(FUSION)).expect("the fusion is loaded");
    assert!(fusion.is_fusion() && fusion.dims() == 256);
    assert!(e.fusions().iter().any(|f| f.model_id().0 == FUSION));
    assert!(e.embedders().iter().all(|x| !x.is_fusion()));
    let face = |rel: &str| {
        let img = load(&faces.join(rel));
        let dets = e.detect(&img, &DetectorConfig::ENROL).expect("detect");
        let f = *detect::largest(&dets).expect("a face");
        (img, f)
    };
    let (img, f) = face("face_recognition/barack_obama/obama.jpg");
    let d = e.embed(&img, &f, Some(FUSION)).expect("fused descriptor");
    let dlib = e.embed(&img, &f, Some("dlib_resnet_v1")).expect("dlib");
    let mfn = e
        .embed(&img, &f, Some("mobilefacenet_foamliu"))
        .expect("mfn");
    assert_eq!(d.model.0, FUSION);
    assert_eq!(d.values.len(), 256);
    assert_eq!(d.values[..128], dlib.values[..]);
    assert_eq!(d.values[128..], mfn.values[..]);
    assert_eq!(fusion.component_descriptor(&d, 0), Some(dlib.clone()));
    assert_eq!(e.challenge_descriptor(&d).expect("challenge part"), mfn);
    assert_eq!(
        e.challenge_embedder(Some(FUSION)).expect("id").0,
        "mobilefacenet_foamliu"
    );
    // A fusion has no single chip.
    assert!(matches!(
        fusion.align(&img, &f.landmarks),
        Err(faceid_face::embed::EmbedError::Composite(_))
    ));

    // The fused distance is the manifest's formula on the two components' own distances.
    let (img2, f2) = face("face_recognition/barack_obama/obama-720p.jpg");
    let same = e.embed(&img2, &f2, Some(FUSION)).expect("embed");
    let (img3, f3) = face("face_recognition/rose_leslie/img1.jpg");
    let other = e.embed(&img3, &f3, Some(FUSION)).expect("embed");
    let spec = e.manifest().fusion(FUSION).expect("entry");
    let part = |x: &faceid_face::Descriptor, k| fusion.component_descriptor(x, k).expect("part");
    let manual = |x: &faceid_face::Descriptor, y: &faceid_face::Descriptor| {
        let d0 = e.verify(&part(x, 0), &part(y, 0)).expect("dlib").distance;
        let d1 = e.verify(&part(x, 1), &part(y, 1)).expect("mfn").distance;
        spec.weight * (d0 - spec.mean[0]) / spec.std[0]
            + (1.0 - spec.weight) * (d1 - spec.mean[1]) / spec.std[1]
    };
    let v = e.verify(&d, &same).expect("verify");
    assert!((v.distance - manual(&d, &same)).abs() < 1e-4, "{v:?}");
    assert!(v.same && v.threshold == spec.threshold, "{v:?}");
    let v = e.verify(&d, &other).expect("verify");
    assert!((v.distance - manual(&d, &other)).abs() < 1e-4, "{v:?}");
    assert!(!v.same, "{v:?}");
    // A fused descriptor is never compared with a component's.
    assert!(e.verify(&d, &mfn).is_err());

    // 1:N on fused distances.
    let (metric, threshold, margin) = e.match_params(&d.model).expect("params");
    let mut g = Gallery::new(d.model.clone(), metric, fusion.dims());
    g.add("obama", &d).expect("add");
    g.add("rose", &other).expect("add");
    let named = |probe: &faceid_face::Descriptor| match g.identify(probe, threshold, margin) {
        Ok(r) => match r.decision {
            Decision::Match { person } => Some(person),
            Decision::Unknown { .. } => None,
        },
        Err(err) => panic!("identify: {err}"),
    };
    assert_eq!(named(&same).as_deref(), Some("obama"));
    let (img4, f4) = face("openface/eric_clapton/clapton-1.jpg");
    let stranger = e.embed(&img4, &f4, Some(FUSION)).expect("embed");
    assert_eq!(named(&stranger), None);

    // A check-in measured with the fusion as the embedder: the best frame fused, the challenge
    // frames by MobileFaceNet alone (the reused best frame as its MobileFaceNet part).
    let dir = common::model_dir().expect("models");
    let fused_engine = faceid_face::Engine::load(&faceid_face::EngineConfig {
        embedders: vec![FUSION.into()],
        default_embedder: FUSION.into(),
        liveness: false,
        ..faceid_face::EngineConfig::new(dir)
    })
    .expect("engine with the fusion as default");
    let bytes = |rel: &str| std::fs::read(faces.join(rel)).expect("photo");
    let best = bytes("face_recognition/barack_obama/obama.jpg");
    let next = bytes("face_recognition/barack_obama/obama1.jpg");
    let frames = [
        faceid_face::measure::TimedFrame {
            bytes: &best,
            captured_at_ms: None,
        },
        faceid_face::measure::TimedFrame {
            bytes: &next,
            captured_at_ms: None,
        },
    ];
    let m = faceid_face::measure(
        &fused_engine,
        &best,
        &frames,
        None,
        &faceid_face::MeasureRules::check_in(),
    )
    .expect("measure");
    assert_eq!(m.descriptor.model.0, FUSION);
    assert_eq!(m.descriptor.values.len(), 256);
    for c in &m.challenge_frames {
        let cd = c.descriptor.as_ref().expect("descriptor");
        assert_eq!(cd.model.0, "mobilefacenet_foamliu");
        assert_eq!(cd.values.len(), 128);
    }
    assert_eq!(
        m.challenge_frames[0].descriptor.as_ref(),
        Some(
            &fused_engine
                .challenge_descriptor(&m.descriptor)
                .expect("part")
        )
    );
    let rule = fused_engine.active_config(None).expect("config").same_face;
    assert_eq!(rule.model.0, "mobilefacenet_foamliu");
    // A default that names nothing loadable is refused, never replaced by another embedder.
    assert!(matches!(
        faceid_face::Engine::load(&faceid_face::EngineConfig {
            embedders: vec!["dlib_resnet_v1".into()],
            default_embedder: FUSION.into(),
            liveness: false,
            ..faceid_face::EngineConfig::new(common::model_dir().expect("models"))
        }),
        Err(EngineError::EmbedderNotLoaded(_))
    ));
}
