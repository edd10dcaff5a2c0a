//! Single-thread benchmarks of the face engine on a 1280×720 JPEG (a photo of the shared set).
//! Run: `cargo bench -p faceid-face --bench face` (models and `../shared/faces` required;
//! skips with a message otherwise). Also prints the engine's resident memory.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use faceid_face::detect::{self, DetectorConfig};
use faceid_face::{Descriptor, Engine, EngineConfig, Gallery, ModelId};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn image_path() -> Option<PathBuf> {
    let shared = std::env::var_os("FACEID_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("../shared"));
    let p = shared.join("faces/face_recognition/barack_obama/obama-720p.jpg");
    p.is_file().then_some(p)
}

fn rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn decode(bytes: &[u8]) -> image::RgbImage {
    // The same path as the engine's file loader (format sniffed, EXIF orientation applied).
    use image::ImageDecoder;
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .expect("format");
    let mut dec = reader.into_decoder().expect("decoder");
    let o = dec.orientation().expect("orientation");
    let mut img = image::DynamicImage::from_decoder(dec).expect("decode");
    img.apply_orientation(o);
    img.to_rgb8()
}

fn bench(c: &mut Criterion) {
    let (Some(dir), Some(path)) = (faceid_face::model::default_model_dir(), image_path()) else {
        eprintln!("SKIPPED face benchmarks: models or ../shared/faces missing");
        return;
    };
    let before = rss_kib().unwrap_or(0);
    let engine = Engine::load(&EngineConfig::new(&dir)).expect("engine");
    let bytes = std::fs::read(&path).expect("read");
    let img = decode(&bytes);
    // Warm the plan caches for both sizes before measuring memory.
    engine
        .detect(&img, &DetectorConfig::CHECK_IN)
        .expect("detect");
    engine.detect(&img, &DetectorConfig::ENROL).expect("detect");
    let after = rss_kib().unwrap_or(0);
    println!(
        "engine memory: RSS {:.1} MB before load, {:.1} MB after loading every model (+{:.1} MB)",
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        (after.saturating_sub(before)) as f64 / 1024.0
    );
    assert_eq!(img.dimensions(), (1280, 720));

    let mut g = c.benchmark_group("face");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    g.bench_function("decode_jpeg_1280x720", |b| {
        b.iter(|| decode(black_box(&bytes)))
    });
    for cfg in [DetectorConfig::CHECK_IN, DetectorConfig::ENROL] {
        g.bench_function(format!("detect_{}", cfg.input_size), |b| {
            b.iter(|| engine.detect(black_box(&img), &cfg).expect("detect"))
        });
    }
    let face = *detect::largest(&engine.detect(&img, &DetectorConfig::CHECK_IN).expect("det"))
        .expect("face");
    for emb in engine.embedders() {
        let id = emb.model_id().0;
        g.bench_function(format!("align_{id}"), |b| {
            b.iter(|| emb.align(black_box(&img), &face.landmarks).expect("align"))
        });
        let chip = emb.align(&img, &face.landmarks).expect("align").chip;
        g.bench_function(format!("embed_{id}"), |b| {
            b.iter(|| emb.embed_chip(black_box(&chip)).expect("embed"))
        });
    }
    let live = engine.liveness().expect("liveness");
    for (i, id) in live.model_ids().iter().enumerate() {
        g.bench_function(format!("liveness_{id}"), |b| {
            b.iter(|| live.score_model(i, black_box(&img), &face).expect("live"))
        });
    }
    for emb in engine.embedders() {
        let id = emb.model_id().0;
        g.bench_function(format!("check_in_pipeline_{id}"), |b| {
            b.iter(|| {
                let img = decode(black_box(&bytes));
                let dets = engine
                    .detect(&img, &DetectorConfig::CHECK_IN)
                    .expect("detect");
                let f = detect::largest(&dets).expect("face");
                let d = emb.embed(&img, &f.landmarks).expect("embed");
                let l = live.check(&img, f).expect("live");
                (d, l)
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("identify");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for n in [10_000usize, 100_000] {
        for (model, metric) in [
            ("dlib_resnet_v1", faceid_face::Metric::Euclidean),
            ("mobilefacenet_foamliu", faceid_face::Metric::Cosine),
        ] {
            let mut gallery = Gallery::with_capacity(ModelId(model.into()), metric, 128, n);
            let mut seed = 99u32;
            let mut rnd = move || {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            };
            let mut row = vec![0f32; 128];
            for i in 0..n {
                row.iter_mut().for_each(|v| *v = rnd());
                gallery
                    .add_values(&format!("p{}", i / 5), &row)
                    .expect("add");
            }
            let probe = Descriptor {
                model: ModelId(model.into()),
                values: (0..128).map(|_| rnd()).collect(),
            };
            g.bench_function(format!("1toN_{n}_{model}"), |b| {
                b.iter(|| gallery.identify(black_box(&probe), 0.6, 0.05).expect("id"))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
