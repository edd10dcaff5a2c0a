"""Smoke test of models/bench_onnxruntime.py (a couple of runs, JSON output)."""

import json
import subprocess
import sys

import pytest

from conftest import MODELS


def test_bench_json_smoke(mirror, tmp_path):
    cache = tmp_path / "cache"
    r = subprocess.run(["bash", str(MODELS / "fetch.sh"), "--mirror", str(mirror), "--dest", str(cache)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, str(MODELS / "bench_onnxruntime.py"), "--models", str(cache),
                        "--runs", "2", "--warmup", "1", "--json"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["threads"] == 1
    labels = [m["label"] for m in out["models"]]
    assert labels == ["yunet_2026may@320x192", "yunet_2026may@640x384", "dlib_resnet_v1",
                      "mobilefacenet_foamliu", "minifasnet_v2_2.7", "minifasnet_v1se_4.0"]
    assert out["models"][0]["input"] == [1, 3, 192, 320]
    assert all(m["median_ms"] > 0 and m["cpu_median_ms"] > 0 for m in out["models"])
    p = out["pipeline"]
    try:
        import cv2  # noqa: F401
    except ImportError:
        assert "opencv" in p["skipped"]
        return
    if "skipped" in p:
        pytest.skip(f"pipeline skipped: {p['skipped']}")
    assert p["faces"] >= 1 and p["median"]["total_ms"] > 0


def test_bench_serve_answers_rounds(mirror, tmp_path):
    try:
        import cv2  # noqa: F401
    except ImportError:
        pytest.skip("opencv-python-headless is not installed: no reference pipeline to serve")
    cache = tmp_path / "cache"
    r = subprocess.run(["bash", str(MODELS / "fetch.sh"), "--mirror", str(mirror), "--dest", str(cache)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, str(MODELS / "bench_onnxruntime.py"), "--models", str(cache),
                        "--warmup", "1", "--serve"], input="2\n3\n", capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert lines[0]["ready"] is True
    assert [len(x["cpu_ms"]) for x in lines[1:]] == [2, 3]
    assert all(v > 0 for x in lines[1:] for v in x["wall_ms"] + x["cpu_ms"])
