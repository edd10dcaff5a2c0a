"""models/convert_dlib.py against the reference ONNX in the mirror, on real face chips."""

import hashlib
import pathlib
import sys

import numpy as np
import pytest

from conftest import MEASURED, MODELS

sys.path.insert(0, str(MODELS))
import convert_dlib  # noqa: E402

ort = pytest.importorskip("onnxruntime")
Image = pytest.importorskip("PIL.Image")

TOLERANCE = 1e-5
DAT = "dlib/dlib_face_recognition_resnet_model_v1.dat"
REF = "dlib_resnet_v1_128.onnx"


def manifest_entry(model_id):
    sys.path.insert(0, str(MODELS))
    import fetch

    return next(m for m in fetch.load_manifest() if m["id"] == model_id)


@pytest.fixture(scope="module")
def converted(mirror, tmp_path_factory):
    dat = mirror / DAT
    if not dat.is_file():
        pytest.skip(f"no dlib .dat in the mirror at {dat}")
    out = tmp_path_factory.mktemp("convert") / "dlib.onnx"
    digest = convert_dlib.convert(str(dat), str(out))
    return out, digest


def session(path):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def face_chips(faces):
    """The face-api.js crops (150x150, dlib-style chips) plus a few colour photos resized to 150x150."""
    chips, names = [], []
    for p in sorted((faces / "face-api.js").glob("*/*")):
        if p.parent.name.startswith("_"):
            continue
        im = Image.open(p).convert("RGB")
        if im.size != (150, 150):
            im = im.resize((150, 150), Image.BILINEAR)
        chips.append(np.asarray(im, dtype=np.float32))
        names.append(f"{p.parent.name}/{p.name}")
    colour = [p for p in sorted((faces / "face_recognition").glob("*/*")) if not p.parent.name.startswith("_")]
    for p in colour[:6]:
        im = Image.open(p).convert("RGB").resize((150, 150), Image.BILINEAR)
        chips.append(np.asarray(im, dtype=np.float32))
        names.append(f"{p.parent.name}/{p.name} (resized)")
    return names, [c.transpose(2, 0, 1)[None] for c in chips]


def test_source_dat_matches_manifest(mirror):
    m = manifest_entry("dlib_resnet_v1")
    data = (mirror / DAT).read_bytes()
    assert len(data) == m["source_bytes"]
    assert hashlib.sha256(data).hexdigest() == m["source_sha256"]


def test_converted_file_is_byte_identical_to_the_pinned_one(converted):
    out, digest = converted
    m = manifest_entry("dlib_resnet_v1")
    assert hashlib.sha256(out.read_bytes()).hexdigest() == digest
    assert out.stat().st_size == m["bytes"]
    assert digest == m["sha256"], "the converter's output differs from the manifest's pinned bytes"
    MEASURED["convert_dlib output"] = f"byte-identical to {REF} (sha256 {digest[:16]}…)"


def test_descriptors_match_reference_on_real_chips_and_random_inputs(converted, mirror, faces):
    ours, ref = session(converted[0]), session(mirror / REF)
    names, chips = face_chips(faces)
    assert len(chips) >= 40, f"expected the face-api.js chips under {faces / 'face-api.js'}, found {len(chips)}"
    rng = np.random.default_rng(20261123)
    randoms = [rng.uniform(0, 255, size=(1, 3, 150, 150)).astype(np.float32) for _ in range(4)]
    randoms.append(np.zeros((1, 3, 150, 150), np.float32))
    randoms.append(np.full((1, 3, 150, 150), 255, np.float32))
    worst, worst_name = 0.0, None
    for name, x in list(zip(names, chips)) + [(f"random {i}", r) for i, r in enumerate(randoms)]:
        a = ours.run(None, {"input": x})[0]
        b = ref.run(None, {"input": x})[0]
        assert a.shape == b.shape == (1, 128)
        assert np.all(np.isfinite(a))
        d = float(np.max(np.abs(a - b)))
        if d >= worst:
            worst, worst_name = d, name
        assert d <= TOLERANCE, f"{name}: max abs difference {d:.3g} > {TOLERANCE}"
    # Sanity: real descriptors look like dlib's (length ~1.3-1.5 is typical, not normalised).
    lengths = [float(np.linalg.norm(ours.run(None, {"input": x})[0])) for x in chips[:5]]
    assert all(0.5 < n < 3.0 for n in lengths), lengths
    MEASURED["convert_dlib max abs diff vs reference"] = (
        f"{worst:.3g} over {len(chips)} real chips + {len(randoms)} synthetic inputs (worst: {worst_name})"
    )


def test_rejects_a_truncated_or_foreign_file(mirror, tmp_path):
    data = (mirror / DAT).read_bytes()
    with pytest.raises(convert_dlib.DlibFormatError):
        convert_dlib.parse_dat(data[: len(data) // 2])
    with pytest.raises(convert_dlib.DlibFormatError):
        convert_dlib.parse_dat(data + b"\x00")
    with pytest.raises(convert_dlib.DlibFormatError):
        convert_dlib.parse_dat(b"\x01\x01\x01\x05hello")
    bad = tmp_path / "bad.dat"
    bad.write_bytes(data[:1000])
    assert convert_dlib.main([str(bad), str(tmp_path / "out.onnx")]) == 1
    assert not (tmp_path / "out.onnx").exists()


def test_shapes_follow_dlib_semantics(mirror):
    """Spatial sizes 150 -> 72 -> 35 -> 17 -> 8 -> 4 -> 2 and the zero-padded residual adds."""
    net = convert_dlib.parse_dat((mirror / DAT).read_bytes())
    np.testing.assert_allclose(net["mean"], [122.782, 117.001, 104.298], atol=1e-4)
    model = convert_dlib.build_onnx(net)
    import onnx

    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    shapes = {vi.name: [d.dim_value for d in vi.type.tensor_type.shape.dim] for vi in inferred.graph.value_info}
    adds = {}
    for n in model.graph.node:
        if n.op_type == "Add":
            _, c, h, w = shapes[n.output[0]]
            assert h == w
            adds.setdefault(h, set()).add(c)
    assert adds == {35: {32}, 17: {64}, 8: {128}, 4: {256}, 2: {256}}
    assert shapes["relu_8"] == [1, 32, 72, 72]
    pads = [n for n in model.graph.node if n.op_type == "Pad"]
    assert len(pads) == 5  # 3 channel pads (32->64, 64->128, 128->256) + 2 bottom/right spatial pads


def test_descriptors_match_dlib_itself(converted, faces):
    """Optional: against dlib's own forward pass (`pip install dlib`, a ~10-minute C++ build).

    Not in models/requirements.txt, so CI skips it; run it in a venv that has dlib with
    FACEID_DLIB_PYTHONPATH pointing at that venv's site-packages, or from that venv directly.
    """
    import os

    extra = os.environ.get("FACEID_DLIB_PYTHONPATH")
    if extra and extra not in sys.path:
        sys.path.append(extra)
    try:
        import dlib
    except ImportError:
        pytest.skip("dlib's Python module is not installed (optional cross-check: pip install dlib)")
    dat = converted[0].parent / "src.dat"
    if not dat.exists():
        import shutil

        from conftest import shared_dir

        shutil.copy(shared_dir() / "models" / DAT, dat)
    net = dlib.face_recognition_model_v1(str(dat))
    ours = session(converted[0])
    _, chips = face_chips(faces)
    worst = 0.0
    for x in chips:
        img = np.ascontiguousarray(x[0].transpose(1, 2, 0).astype(np.uint8))
        want = np.array(net.compute_face_descriptor(img), dtype=np.float32)
        got = ours.run(None, {"input": x})[0][0]
        worst = max(worst, float(np.max(np.abs(want - got))))
    MEASURED[f"convert_dlib max abs diff vs dlib {dlib.__version__} itself"] = f"{worst:.3g} over {len(chips)} real chips"
    assert worst <= TOLERANCE
