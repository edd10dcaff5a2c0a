#!/usr/bin/env python3
"""Single-thread onnxruntime timings of every manifest model, the reference for tract's numbers.

    python models/bench_onnxruntime.py [--models DIR] [--runs N] [--json] [--image JPEG]

onnxruntime with intra_op_num_threads = inter_op_num_threads = 1, sequential execution and all
graph optimisations, on the cached model files (models/cache or $FACEID_MODEL_DIR; run
models/fetch.sh first). Each model is timed at its manifest input size; YuNet at the sizes the
engine uses for a 1280x720 frame: longest side 320 (check-in) and 640 (enrolment), padded up to
multiples of 32, i.e. 320x192 and 640x384. Inputs are random pixels (the cost of these networks
does not depend on the values). Reported: median, mean, min and 90th percentile per call in ms.

If opencv-python-headless is installed (models/requirements-bench.txt), also times the reference
check-in pipeline on a 1280x720 JPEG (default: ../shared/faces/face_recognition/barack_obama/
obama-720p.jpg): decode + YuNet at 320 (resize, pad, infer, decode, NMS) + similarity alignment +
MobileFaceNet + both MiniFASNet liveness models on their Silent-Face context crops. Otherwise it
says that part was skipped.

--json prints one JSON object on stdout instead of the table (fields documented in README).

--serve loads the reference pipeline, prints one JSON line {"ready": ...} and then answers each
line "N" on stdin with one JSON line {"wall_ms": [...], "cpu_ms": [...]} of N pipeline runs, until
end of input. The Rust bench alternates rounds of its own pipeline with rounds of this one, so the
two are compared over the same minutes of a noisy shared machine. With --fused each run also
aligns the face to dlib's template and embeds it with dlib's ResNet (the check-in identity step
of the dlib + MobileFaceNet score fusion), on the same decoded frame and landmarks.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import pathlib
import platform
import statistics
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import fetch  # noqa: E402  (manifest loading, cache location)

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover
    tomllib = None

FRAME_W, FRAME_H = 1280, 720


def load_models(manifest: pathlib.Path) -> list:
    if tomllib is None:
        raise SystemExit("bench_onnxruntime.py needs Python 3.11+ (tomllib) to read input shapes")
    return tomllib.loads(manifest.read_text())["model"]


def yunet_size(longest: int, w: int = FRAME_W, h: int = FRAME_H) -> tuple:
    """Input (width, height) for a frame resized so its longest side is `longest`, padded to x32."""
    s = longest / max(w, h)
    rw, rh = round(w * s), round(h * s)
    return (-(-rw // 32) * 32, -(-rh // 32) * 32), (rw, rh), s


def make_session(path: pathlib.Path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def time_calls(fn, runs: int, warmup: int) -> dict:
    """Wall-clock statistics, plus the calling thread's CPU time (onnxruntime with one intra-op
    thread runs in the caller), which is far less inflated than wall time on a busy machine."""
    for _ in range(warmup):
        fn()
    ts, cs = [], []
    for _ in range(runs):
        c0 = time.thread_time()
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1e3)
        cs.append((time.thread_time() - c0) * 1e3)
    ts.sort()
    return dict(
        median_ms=round(statistics.median(ts), 3),
        mean_ms=round(statistics.fmean(ts), 3),
        min_ms=round(ts[0], 3),
        p90_ms=round(ts[min(len(ts) - 1, int(0.9 * len(ts)))], 3),
        cpu_median_ms=round(statistics.median(cs), 3),
        runs=runs,
    )


def bench_models(models: list, model_dir: pathlib.Path, runs: int, warmup: int, only) -> list:
    rng = np.random.default_rng(0)
    rows = []
    for m in models:
        if only and m["id"] not in only:
            continue
        path = model_dir / m["file"]
        if not path.is_file():
            raise SystemExit(f"{path} missing: run `bash models/fetch.sh --mirror DIR` (or without --mirror) first")
        sess = make_session(path)
        inp = m["input"]["name"]
        n, c, h, w = m["input"]["shape"]
        if m["task"] == "detect":
            shapes = []
            for longest in (320, 640):
                (pw, ph), _, _ = yunet_size(longest)
                shapes.append((f"{m['id']}@{pw}x{ph}", (1, c, ph, pw)))
        else:
            shapes = [(m["id"], (n, c, h, w))]
        for label, shape in shapes:
            x = rng.uniform(0, 255, size=shape).astype(np.float32)
            stats = time_calls(lambda: sess.run(None, {inp: x}), runs, warmup)
            rows.append(dict(label=label, id=m["id"], task=m["task"], file=m["file"], input=list(shape), **stats))
    return rows


# ---------------------------------------------------------------------------------------
# reference pipeline (OpenCV + onnxruntime)
# ---------------------------------------------------------------------------------------


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (Umeyama) mapping src points onto dst points; 2x3 matrix."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s0, d0 = src - mu_s, dst - mu_d
    cov = d0.T @ s0 / len(src)
    u, sig, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1
    r = u @ np.diag(d) @ vt
    scale = (sig * d).sum() / (s0**2).sum() * len(src)
    t = mu_d - scale * r @ mu_s
    return np.hstack([scale * r, t[:, None]])


def silent_face_box(src_w, src_h, box, scale):
    """Silent-Face-Anti-Spoofing CropImage._get_new_box: scale the box, shrink to fit, shift inside."""
    x, y, bw, bh = box
    scale = min((src_h - 1) / bh, min((src_w - 1) / bw, scale))
    nw, nh = bw * scale, bh * scale
    cx, cy = bw / 2 + x, bh / 2 + y
    l, t, r, b = cx - nw / 2, cy - nh / 2, cx + nw / 2, cy + nh / 2
    if l < 0:
        r -= l
        l = 0
    if t < 0:
        b -= t
        t = 0
    if r > src_w - 1:
        l -= r - src_w + 1
        r = src_w - 1
    if b > src_h - 1:
        t -= b - src_h + 1
        b = src_h - 1
    return int(l), int(t), int(r), int(b)


class Pipeline:
    def __init__(self, models: list, model_dir: pathlib.Path, fused: bool = False):
        import cv2

        cv2.setNumThreads(1)
        self.cv2 = cv2
        by_id = {m["id"]: m for m in models}
        self.yunet_m = next(m for m in models if m["task"] == "detect")
        self.mfn_m = by_id["mobilefacenet_foamliu"]
        self.live_m = [m for m in models if m["task"] == "liveness"]
        self.yunet = make_session(model_dir / self.yunet_m["file"])
        self.mfn = make_session(model_dir / self.mfn_m["file"])
        self.live = [make_session(model_dir / m["file"]) for m in self.live_m]
        self.template = np.array(self.mfn_m["alignment"]["template"], np.float32)
        self.mean = np.array(self.mfn_m["input"]["mean"], np.float32)[:, None, None]
        self.std = np.array(self.mfn_m["input"]["std"], np.float32)[:, None, None]
        self.dlib_m = by_id["dlib_resnet_v1"] if fused else None
        if self.dlib_m is not None:
            self.dlib = make_session(model_dir / self.dlib_m["file"])
            self.dlib_template = np.array(self.dlib_m["alignment"]["template"], np.float64)

    def decode(self, data: bytes):
        img = self.cv2.imdecode(np.frombuffer(data, np.uint8), self.cv2.IMREAD_COLOR)
        if img is None:
            raise SystemExit("could not decode the benchmark image")
        return img

    def detect(self, img, times):
        cv2 = self.cv2
        t0 = time.perf_counter()
        h, w = img.shape[:2]
        s = 320 / max(w, h)
        rw, rh = round(w * s), round(h * s)
        pw, ph = -(-rw // 32) * 32, -(-rh // 32) * 32
        small = cv2.resize(img, (rw, rh), interpolation=cv2.INTER_LINEAR)
        small = cv2.copyMakeBorder(small, 0, ph - rh, 0, pw - rw, cv2.BORDER_CONSTANT, value=0)
        blob = small.transpose(2, 0, 1)[None].astype(np.float32)  # BGR, raw 0..255
        t1 = time.perf_counter()
        outs = dict(zip([o.name for o in self.yunet.get_outputs()], self.yunet.run(None, {"input": blob})))
        t2 = time.perf_counter()
        boxes, scores, kpss = [], [], []
        for stride in (8, 16, 32):
            cols, rows = pw // stride, ph // stride
            cls = np.clip(outs[f"cls_{stride}"].reshape(-1), 0, 1)
            obj = np.clip(outs[f"obj_{stride}"].reshape(-1), 0, 1)
            score = np.sqrt(cls * obj)
            keep = np.nonzero(score > 0.6)[0]
            if keep.size == 0:
                continue
            bbox = outs[f"bbox_{stride}"].reshape(-1, 4)[keep]
            kps = outs[f"kps_{stride}"].reshape(-1, 10)[keep]
            c = (keep % cols).astype(np.float32)[:, None]
            r = (keep // cols).astype(np.float32)[:, None]
            cx, cy = (c[:, 0] + bbox[:, 0]) * stride, (r[:, 0] + bbox[:, 1]) * stride
            bw, bh = np.exp(bbox[:, 2]) * stride, np.exp(bbox[:, 3]) * stride
            boxes.append(np.stack([cx - bw / 2, cy - bh / 2, bw, bh], 1))
            pts = np.empty((keep.size, 5, 2), np.float32)
            pts[:, :, 0] = (c + kps[:, 0::2]) * stride
            pts[:, :, 1] = (r + kps[:, 1::2]) * stride
            kpss.append(pts)
            scores.append(score[keep])
        faces = []
        if boxes:
            boxes, scores, kpss = np.concatenate(boxes), np.concatenate(scores), np.concatenate(kpss)
            idx = cv2.dnn.NMSBoxes(boxes.tolist(), scores.tolist(), 0.6, 0.3)
            for i in np.array(idx).reshape(-1):
                faces.append((scores[i], boxes[i] / s, kpss[i] / s))
        t3 = time.perf_counter()
        times["detect_resize"] += (t1 - t0) * 1e3
        times["detect_infer"] += (t2 - t1) * 1e3
        times["detect_post"] += (t3 - t2) * 1e3
        return faces

    def embed(self, img, kps):
        cv2 = self.cv2
        mat = similarity_transform(kps.astype(np.float64), self.template.astype(np.float64))
        chip = cv2.warpAffine(img, mat, (112, 112), flags=cv2.INTER_LINEAR, borderValue=0)
        x = (chip[:, :, ::-1].transpose(2, 0, 1).astype(np.float32) / 255.0 - self.mean) / self.std
        v = self.mfn.run(None, {self.mfn_m["input"]["name"]: x[None]})[0][0]
        return v / np.linalg.norm(v)

    def embed_dlib(self, img, kps):
        """dlib's chip (150 px, its template) and embedding; mean and scale are in the graph."""
        cv2 = self.cv2
        size = self.dlib_m["alignment"]["size"]
        mat = similarity_transform(kps.astype(np.float64), self.dlib_template)
        chip = cv2.warpAffine(img, mat, (size, size), flags=cv2.INTER_LINEAR, borderValue=0)
        x = chip[:, :, ::-1].transpose(2, 0, 1).astype(np.float32)  # RGB, raw 0..255
        return self.dlib.run(None, {self.dlib_m["input"]["name"]: x[None]})[0][0]

    def liveness(self, img, box):
        cv2 = self.cv2
        h, w = img.shape[:2]
        probs = []
        for m, sess in zip(self.live_m, self.live):
            l, t, r, b = silent_face_box(w, h, box, m["crop_scale"])
            crop = cv2.resize(img[t : b + 1, l : r + 1], (80, 80))
            x = crop.transpose(2, 0, 1)[None].astype(np.float32)  # BGR, raw 0..255
            logits = sess.run(None, {m["input"]["name"]: x})[0][0]
            e = np.exp(logits - logits.max())
            probs.append(float(e[1] / e.sum()))
        return float(np.mean(probs))

    def run(self, data: bytes, times: dict):
        c0 = time.thread_time()
        t0 = time.perf_counter()
        img = self.decode(data)
        t1 = time.perf_counter()
        faces = self.detect(img, times)
        t2 = time.perf_counter()
        if not faces:
            raise SystemExit("no face found in the benchmark image")
        score, box, kps = max(faces, key=lambda f: f[1][2] * f[1][3])  # the largest face
        self.embed(img, kps)
        if self.dlib_m is not None:
            self.embed_dlib(img, kps)
        t3 = time.perf_counter()
        live = self.liveness(img, box)
        t4 = time.perf_counter()
        times["decode"] += (t1 - t0) * 1e3
        times["detect"] += (t2 - t1) * 1e3
        times["align_embed"] += (t3 - t2) * 1e3
        times["liveness"] += (t4 - t3) * 1e3
        times["total"] += (t4 - t0) * 1e3
        times["total_cpu"] += (time.thread_time() - c0) * 1e3
        return len(faces), live


def bench_pipeline(models, model_dir, image: pathlib.Path, runs: int, warmup: int) -> dict:
    try:
        import cv2
    except ImportError:
        return dict(skipped="opencv-python-headless is not installed (pip install -r models/requirements-bench.txt)")
    if not image.is_file():
        return dict(skipped=f"no benchmark image at {image} (pass --image a 1280x720 JPEG)")
    data = image.read_bytes()
    pipe = Pipeline(models, model_dir)
    img = pipe.decode(data)
    keys = ["decode", "detect", "detect_resize", "detect_infer", "detect_post", "align_embed", "liveness", "total", "total_cpu"]
    for _ in range(warmup):
        pipe.run(data, {k: 0.0 for k in keys})
    per_run = []
    for _ in range(runs):
        t = {k: 0.0 for k in keys}
        n_faces, live = pipe.run(data, t)
        per_run.append(t)
    med = {f"{k}_ms": round(statistics.median(r[k] for r in per_run), 3) for k in keys}
    return dict(
        image=str(image),
        image_size=[int(img.shape[1]), int(img.shape[0])],
        image_bytes=len(data),
        faces=n_faces,
        live_score=round(live, 4),
        opencv=cv2.__version__,
        runs=runs,
        median=med,
    )


def serve_pipeline(models, model_dir, image: pathlib.Path, warmup: int, fused: bool = False) -> int:
    """Answer "N" lines on stdin with N timed reference-pipeline runs (see --serve)."""
    import cv2
    import onnxruntime as ort

    data = image.read_bytes()
    pipe = Pipeline(models, model_dir, fused=fused)
    for _ in range(warmup):
        pipe.run(data, collections.defaultdict(float))
    print(json.dumps(dict(ready=True, onnxruntime=ort.__version__, opencv=cv2.__version__,
                          python=platform.python_version())), flush=True)
    for line in sys.stdin:
        runs = int(line.strip() or 0)
        wall, cpu = [], []
        for _ in range(runs):
            t = collections.defaultdict(float)
            pipe.run(data, t)
            wall.append(round(t["total"], 4))
            cpu.append(round(t["total_cpu"], 4))
        print(json.dumps(dict(wall_ms=wall, cpu_ms=cpu)), flush=True)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", type=pathlib.Path, default=pathlib.Path(fetch.default_dest()), help="model cache")
    ap.add_argument("--manifest", type=pathlib.Path, default=HERE / "manifest.toml")
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--only", action="append", metavar="ID", help="only this model id (repeatable)")
    shared = pathlib.Path(os.environ.get("FACEID_SHARED_DIR") or ROOT.parent / "shared")
    ap.add_argument("--image", type=pathlib.Path, default=shared / "faces/face_recognition/barack_obama/obama-720p.jpg")
    ap.add_argument("--no-pipeline", action="store_true", help="skip the OpenCV reference pipeline")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    ap.add_argument("--serve", action="store_true", help="time reference-pipeline rounds on request (see above)")
    ap.add_argument("--fused", action="store_true", help="with --serve: add dlib's alignment and embedding to each run")
    args = ap.parse_args(argv)
    if args.serve:
        return serve_pipeline(load_models(args.manifest), args.models, args.image, args.warmup, args.fused)

    import onnxruntime as ort

    models = load_models(args.manifest)
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    rows = bench_models(models, args.models, args.runs, args.warmup, args.only)
    pipeline = (
        dict(skipped="--no-pipeline")
        if args.no_pipeline or args.only
        else bench_pipeline(models, args.models, args.image, args.runs, args.warmup)
    )
    result = dict(
        tool="onnxruntime",
        onnxruntime=ort.__version__,
        python=platform.python_version(),
        machine=platform.machine(),
        cpu_count=os.cpu_count(),
        threads=1,
        graph_optimization="ORT_ENABLE_ALL",
        # 1-minute load average before and after: figures taken on a busy machine are inflated
        load_average=[load_before, os.getloadavg()[0] if hasattr(os, "getloadavg") else None],
        models=rows,
        pipeline=pipeline,
    )
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
        return 0
    print(f"onnxruntime {ort.__version__}, 1 thread, ORT_ENABLE_ALL, {args.runs} runs after {args.warmup} warm-up")
    la = result["load_average"]
    if la[0] is not None:
        busy = " (busy machine: wall-clock medians are inflated; see min and cpu median)" if max(la) > (os.cpu_count() or 1) else ""
        print(f"load average {la[0]:.2f} -> {la[1]:.2f} on {os.cpu_count()} CPUs{busy}")
    print(f"{'model':<32} {'input':<18} {'median ms':>10} {'mean':>8} {'min':>8} {'p90':>8} {'cpu median':>11}")
    for r in rows:
        shape = "x".join(map(str, r["input"]))
        print(
            f"{r['label']:<32} {shape:<18} {r['median_ms']:>10.2f} {r['mean_ms']:>8.2f} {r['min_ms']:>8.2f} "
            f"{r['p90_ms']:>8.2f} {r['cpu_median_ms']:>11.2f}"
        )
    print()
    if "skipped" in pipeline:
        print(f"reference pipeline: skipped: {pipeline['skipped']}")
    else:
        p = pipeline["median"]
        print(
            f"reference pipeline (OpenCV {pipeline['opencv']} + onnxruntime, 1 thread) on "
            f"{pipeline['image_size'][0]}x{pipeline['image_size'][1]} JPEG ({pipeline['image_bytes']} bytes), "
            f"median of {pipeline['runs']}:"
        )
        print(
            f"  decode {p['decode_ms']:.2f} | detect@320 {p['detect_ms']:.2f} (resize+pad {p['detect_resize_ms']:.2f}, "
            f"infer {p['detect_infer_ms']:.2f}, decode+NMS {p['detect_post_ms']:.2f}) | align+MobileFaceNet "
            f"{p['align_embed_ms']:.2f} | liveness x2 {p['liveness_ms']:.2f} | total {p['total_ms']:.2f} ms "
            f"(thread CPU {p['total_cpu_ms']:.2f} ms)"
        )
        print(f"  faces found {pipeline['faces']}, live score {pipeline['live_score']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
